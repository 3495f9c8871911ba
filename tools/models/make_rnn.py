#!/usr/bin/env python3
"""Small recurrent classifiers as ONNX graphs (LSTM, GRU with linear_before_reset 0 and 1),
built with onnx.helper from seeded random weights, with ONNX Runtime's outputs on random rows.
Each row is a sequence of T steps × F features, flattened step-major. Graph: X[T,1,F] → LSTM/GRU
→ Y_h[1,1,H] → Reshape[1,H] → MatMul + Add → Softmax ("probabilities").
Stacked ones (rnn-lstm2, rnn-gru2): each layer's whole sequence Y[T,1,1,H] → Squeeze → the next
layer, with zero initial states given as PyTorch writes them (rnn-lstm2). rnn-lstm-60x16 is the
engine's windowed model: 60 steps of 16 features, H = 32.
Run from the repository root:

    /root/.cache/hp-models/bin/python tools/models/make_rnn.py   (onnxruntime 1.31.1, onnx 1.23.2)
"""
import json, os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import onnxruntime as ort

OUT = os.path.join("Tests", "Fixtures", "models")
T, F, H, C, ROWS = 8, 6, 16, 3, 500

def recurrent(kind, name, x, inputs, hidden, rng, lbr=0, zero_states=False):
    """One LSTM/GRU layer's nodes and weights over tensor x; returns (nodes, inits, Y, Y_h)."""
    gates = 4 if kind == "LSTM" else 3
    W = (rng.standard_normal((1, gates * hidden, inputs)) * 0.4).astype(np.float32)
    R = (rng.standard_normal((1, gates * hidden, hidden)) * 0.4).astype(np.float32)
    B = (rng.standard_normal((1, 2 * gates * hidden)) * 0.1).astype(np.float32)
    ins = [x, name + "W", name + "R", name + "B"]
    inits = [numpy_helper.from_array(a, name + n) for a, n in [(W, "W"), (R, "R"), (B, "B")]]
    if zero_states:
        ins += ["", name + "h0"] + ([name + "c0"] if kind == "LSTM" else [])
        inits += [numpy_helper.from_array(np.zeros((1, 1, hidden), np.float32), name + n) for n in ["h0", "c0"]]
    attrs = dict(hidden_size=hidden)
    if kind == "GRU":
        attrs["linear_before_reset"] = lbr
    outs = [name + "Y", name + "Y_h"] + ([name + "Y_c"] if kind == "LSTM" else [])
    return [helper.make_node(kind, ins, outs, name=name, **attrs)], inits, outs[0], outs[1]

def build(kind, hiddens, steps, features, rng, zero_states=False, lbr=0):
    nodes, inits, x, width = [], [], "X", features
    for i, h in enumerate(hiddens):
        n, w, y, yh = recurrent(kind, f"rnn{i}", x, width, h, rng, lbr=lbr, zero_states=zero_states)
        nodes += n; inits += w; width = h
        if i < len(hiddens) - 1:
            nodes.append(helper.make_node("Squeeze", [y, f"axes{i}"], [f"seq{i}"], name=f"squeeze{i}"))
            inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), f"axes{i}"))
            x = f"seq{i}"
        else:
            last = yh
    W2 = (rng.standard_normal((width, C)) * 0.5).astype(np.float32)
    b2 = (rng.standard_normal((C,)) * 0.1).astype(np.float32)
    nodes += [helper.make_node("Reshape", [last, "shape"], ["h"], name="flatten"),
              helper.make_node("MatMul", ["h", "W2"], ["z"], name="dense"),
              helper.make_node("Add", ["z", "b2"], ["logits"], name="bias"),
              helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1)]
    inits += [numpy_helper.from_array(a, n) for a, n in [(W2, "W2"), (b2, "b2"), (np.array([1, width], dtype=np.int64), "shape")]]
    graph = helper.make_graph(nodes, f"stacked-{kind.lower()}",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [steps, 1, features])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, C])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model

def save(name, model, steps, features, rows, rng, meta):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    s = ort.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
    X = rng.standard_normal((rows, steps, features)).astype(np.float32)
    ref = np.concatenate([s.run(["probabilities"], {"X": X[i].reshape(steps, 1, features)})[0] for i in range(rows)])
    X.reshape(rows, steps * features).astype("<f4").tofile(os.path.join(d, "X.f32"))
    ref.astype("<f4").tofile(os.path.join(d, "ref.f32"))
    json.dump(dict(meta, steps=steps, inputs=features, classes=C, rows=rows, features=steps * features),
              open(os.path.join(d, "meta.json"), "w"), indent=1)

for name, kind, hiddens, steps, features, rows, zero, lbr in [
        ("rnn-lstm2", "LSTM", [16, 12], T, F, ROWS, True, 0), ("rnn-gru2", "GRU", [16, 12, 8], T, F, ROWS, False, 0),
        ("rnn-lstm-60x16", "LSTM", [32], 60, 16, 100, False, 0)]:
    rng = np.random.default_rng(7)
    save(name, build(kind, hiddens, steps, features, rng, zero, lbr), steps, features, rows, rng,
         dict(kind=kind, hidden=hiddens))

# The single-layer classifiers (seeded 5, as they were first made).
for name, kind, lbr in [("rnn-lstm", "LSTM", 0), ("rnn-gru", "GRU", 0), ("rnn-gru-lbr", "GRU", 1)]:
    rng = np.random.default_rng(5)
    save(name, build(kind, [H], T, F, rng, lbr=lbr), T, F, ROWS, rng, dict(kind=kind, linear_before_reset=lbr, hidden=H))
print("ok")
