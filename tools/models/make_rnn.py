#!/usr/bin/env python3
"""Small recurrent classifiers as ONNX graphs (LSTM, GRU with linear_before_reset 0 and 1),
built with onnx.helper from seeded random weights, with ONNX Runtime's outputs on random rows.
Each row is a sequence of T steps × F features, flattened step-major. Graph: X[T,1,F] → LSTM/GRU
→ Y_h[1,1,H] → Reshape[1,H] → MatMul + Add → Softmax ("probabilities").
Run from the repository root:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/models/make_rnn.py
"""
import json, os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import onnxruntime as ort

OUT = os.path.join("Tests", "Fixtures", "models")
T, F, H, C, ROWS = 8, 6, 16, 3, 500

def build(kind, lbr, rng):
    gates = 4 if kind == "LSTM" else 3
    W = (rng.standard_normal((1, gates * H, F)) * 0.4).astype(np.float32)
    R = (rng.standard_normal((1, gates * H, H)) * 0.4).astype(np.float32)
    B = (rng.standard_normal((1, 2 * gates * H)) * 0.1).astype(np.float32)
    W2 = (rng.standard_normal((H, C)) * 0.5).astype(np.float32)
    b2 = (rng.standard_normal((C,)) * 0.1).astype(np.float32)
    attrs = dict(hidden_size=H)
    if kind == "GRU":
        attrs["linear_before_reset"] = lbr
    nodes = [
        helper.make_node(kind, ["X", "W", "R", "B"], ["Y", "Y_h"] + (["Y_c"] if kind == "LSTM" else []), name="rnn", **attrs),
        helper.make_node("Reshape", ["Y_h", "shape"], ["h"], name="flatten"),
        helper.make_node("MatMul", ["h", "W2"], ["z"], name="dense"),
        helper.make_node("Add", ["z", "b2"], ["logits"], name="bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in [(W, "W"), (R, "R"), (B, "B"), (W2, "W2"), (b2, "b2"),
                                                        (np.array([1, H], dtype=np.int64), "shape")]]
    graph = helper.make_graph(nodes, f"{kind.lower()}-classifier",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, 1, F])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, C])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model

for name, kind, lbr in [("rnn-lstm", "LSTM", 0), ("rnn-gru", "GRU", 0), ("rnn-gru-lbr", "GRU", 1)]:
    rng = np.random.default_rng(5)
    model = build(kind, lbr, rng)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    s = ort.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
    X = rng.standard_normal((ROWS, T, F)).astype(np.float32)
    ref = np.concatenate([s.run(["probabilities"], {"X": X[i].reshape(T, 1, F)})[0] for i in range(ROWS)]).astype(np.float32)
    X.reshape(ROWS, T * F).astype("<f4").tofile(os.path.join(d, "X.f32"))
    ref.astype("<f4").tofile(os.path.join(d, "ref.f32"))
    json.dump(dict(kind=kind, linear_before_reset=lbr, steps=T, inputs=F, hidden=H, classes=C, rows=ROWS, features=T * F),
              open(os.path.join(d, "meta.json"), "w"), indent=1)
print("ok")
