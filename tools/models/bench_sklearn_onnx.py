#!/usr/bin/env python3
"""Per-row latency of the skl2onnx fixtures: ONNX Runtime (Python API, one row per run(),
one intra-op thread, pinned with taskset by the caller) beside `hotpath bench model`, in
the same run, alternating A/B rounds. ORT's figure includes its Python call overhead, which
a C++ caller would not pay; the empty-call row (a 1-wide Identity graph) measures that
overhead in the same run so it can be subtracted. Run from the repository root:

    taskset -c 1 /root/.cache/hp-models/bin/python tools/models/bench_sklearn_onnx.py [ROUNDS]
"""
import json, os, subprocess, sys, time
import numpy as np
import onnx, onnxruntime as ort
from onnx import helper, TensorProto

KINDS = ["skl-rf-binary", "skl-rf-3class", "skl-rf-reg", "skl-et-reg", "skl-gb-binary", "skl-gb-3class",
         "skl-gb-reg", "skl-scaler-lr", "skl-scaler-lr3", "oml-lgb-binary", "oml-lgb-reg", "oml-xgb-3class", "cat-binary"]
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
HOTPATH = os.environ.get("HOTPATH", ".build/release/hotpath")


def session(model_bytes):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def ort_p50(s, X, target):
    name = s.get_inputs()[0].name
    times = []
    for _ in range(3):  # the last of three passes, as bench model does
        times = []
        for r in range(len(X)):
            row = X[r:r + 1]
            t0 = time.perf_counter_ns()
            s.run([target], {name: row})
            times.append(time.perf_counter_ns() - t0)
    return float(np.median(times))


def main():
    identity = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "empty",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])]), ir_version=8,
        opset_imports=[helper.make_opsetid("", 17)])
    empty = session(identity.SerializeToString())
    rows = []
    for kind in KINDS:
        d = os.path.join("Tests", "Fixtures", "models", kind)
        X = np.fromfile(os.path.join(d, "X.f64")).reshape(-1, 8).astype(np.float32)
        s = session(open(os.path.join(d, "model.onnx"), "rb").read())
        names = [o.name for o in s.get_outputs()]
        target = "probabilities" if "probabilities" in names else names[-1]
        ours, theirs, overhead = [], [], []
        for _ in range(ROUNDS):
            out = subprocess.run([HOTPATH, "bench", "model", "--model", os.path.join(d, "model.onnx"), "--input",
                                  os.path.join(d, "X.f64"), "--features", "8", "--ref", os.path.join(d, "ref.f64"),
                                  "--json"], check=True, capture_output=True, text=True).stdout
            ours.append(json.loads(out)["p50_ns"])
            theirs.append(ort_p50(s, X, target))
            overhead.append(ort_p50(empty, X, "y"))
        o, t, e = np.median(ours), np.median(theirs), np.median(overhead)
        rows.append((kind, o, t, e))
        print(f"{kind:16s} hotpath p50 {o:8.0f} ns   onnxruntime p50 {t:8.0f} ns (empty call {e:6.0f} ns, "
              f"net {t - e:7.0f} ns)   ratio ort-net/hotpath {(t - e) / o:6.1f}", flush=True)


if __name__ == "__main__":
    main()
