#!/usr/bin/env python3
"""River's progressive predictions on three streams, for `hotpath learn` and OnlineLinear:

    synthetic-drift   6 features of mixed scales, binary and 3-class labels whose rule
                      changes halfway (a concept drift)
    synthetic-mixed   5 features, labels from a noisy linear score in 3 bands
    esh4              real: `hotpath features` over ESH4 MBO (2023-12-25, horizon 5s), the
                      first 4,000 rows with every feature defined, 12 features; the 3-class
                      label is up/flat/down by half a tick of log mid-return, the binary one up

For each stream and each model — logreg (binary label "up"), softmax (label "class"), each
with and without a StandardScaler — it writes Tests/Fixtures/adaptive/{stream}.csv and
{stream}-{model}[-scaled].ref.csv (predict_proba_one before learn_one on every row, River
0.26.1). Run from the repository root after `swift build -c release`:

    /root/.cache/hp-models/bin/python tools/adaptive/make_online_fixtures.py
"""
import csv, math, os, subprocess, tempfile
import numpy as np
import river
from river import compose, linear_model, optim, preprocessing

OUT = os.path.join("Tests", "Fixtures", "adaptive")
SETTINGS = dict(lr=0.05, l2=0.001, intercept_lr=0.01)  # `hotpath learn --lr 0.05 --l2 0.001`
ESH4 = os.path.join("..", "shared", "data", "dbn", "esh4-glbx-mdp3-20231225.mbo.dbn.zst")
ESH4_FEATURES = ["spread_bps", "imbalance_l1", "imbalance_l5", "bid_depth_5", "ask_depth_5", "ofi", "ofi_1s",
                 "ofi_5s", "signed_volume_5s", "return_1s", "return_5s", "event_rate_1s"]


def synthetic(seed, n, drift):
    rng = np.random.default_rng(seed)
    F = 6 if drift else 5
    X = rng.standard_normal((n, F)) * rng.uniform(0.2, 10, F) + rng.uniform(-3, 3, F)
    z = (X - X.mean(0)) / X.std(0)
    score = z[:, 0] - 0.7 * z[:, 1] + 0.4 * z[:, 2] + 0.5 * rng.standard_normal(n)
    if drift:
        score[n // 2:] = -z[n // 2:, 0] + 0.8 * z[n // 2:, 3] + 0.5 * rng.standard_normal(n - n // 2)
    cls = np.digitize(score, [-0.5, 0.5])
    return [f"x{j}" for j in range(F)], X, cls


def esh4():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.csv")
        subprocess.run([".build/release/hotpath", "features", ESH4, "--out", path, "--horizon", "5s"], check=True,
                       capture_output=True)
        rows = list(csv.DictReader(open(path)))
    keep = [r for r in rows if r["label"] != "" and all(r[f] != "" for f in ESH4_FEATURES)][:4000]
    X = np.array([[float(r[f]) for f in ESH4_FEATURES] for r in keep])
    ret = np.array([float(r["label"]) for r in keep])
    half_tick = math.log(1 + 0.125 / 4800)
    cls = np.digitize(ret, [-half_tick, half_tick])
    return ESH4_FEATURES, X, cls


def progressive(model, X, names, labels):
    out = []
    for i in range(len(X)):
        x = {n: float(v) for n, v in zip(names, X[i])}
        out.append(model.predict_proba_one(x))
        model.learn_one(x, labels[i])
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    streams = [("synthetic-drift", *synthetic(41, 4000, True)), ("synthetic-mixed", *synthetic(42, 4000, False))]
    if os.path.exists(ESH4):
        streams.append(("esh4", *esh4()))
    for name, features, X, cls in streams:
        up = (cls == 2).astype(int)
        with open(os.path.join(OUT, f"{name}.csv"), "w") as f:
            f.write(",".join(features + ["up", "class"]) + "\n")
            for i in range(len(X)):
                f.write(",".join(repr(float(v)) for v in X[i]) + f",{up[i]},{cls[i]}\n")
        for kind in ("logreg", "softmax"):
            for scaled in (False, True):
                if kind == "logreg":
                    model = linear_model.LogisticRegression(optimizer=optim.SGD(SETTINGS["lr"]), l2=SETTINGS["l2"],
                                                            intercept_lr=SETTINGS["intercept_lr"])
                    labels = [bool(v) for v in up]
                else:
                    model = linear_model.SoftmaxRegression(optimizer=optim.SGD(SETTINGS["lr"]), l2=SETTINGS["l2"])
                    labels = [int(v) for v in cls]
                if scaled:
                    model = compose.Pipeline(preprocessing.StandardScaler(), model)
                preds = progressive(model, X, features, labels)
                ref = os.path.join(OUT, f"{name}-{kind}{'-scaled' if scaled else ''}.ref.csv")
                with open(ref, "w") as f:
                    if kind == "logreg":
                        f.write("p_1\n")
                        for p in preds:
                            f.write(repr(float(p.get(True, 0.0))) + "\n")
                    else:
                        f.write("p_0,p_1,p_2\n")
                        for p in preds:
                            f.write(",".join(repr(float(p.get(k, 0.0))) for k in range(3)) + "\n")
        print(name, len(X), "rows, river", river.__version__)


if __name__ == "__main__":
    main()
