#!/usr/bin/env python3
"""Trains the demo's bundled models on features that HotPath itself computes.

1. `hotpath gen itch --demo` writes the demo market (the same simulator `hotpath demo` runs);
2. `hotpath features --horizon 100ms` replays it through the engine's book and feature code
   and writes each book event's feature vector with its forward mid return;
3. the label is the return's sign: 0 down, 1 flat, 2 up;
4. LightGBM multiclass, 34 rounds x 3 classes = 102 trees of up to 31 leaves, on the
   configured features (NaN = missing, which LightGBM handles);
5. a scikit-learn MLP (16 -> 32 -> 16 -> 3, relu, softmax) on the same features with NaN as
   0; the standardisation is folded into the first layer's weights, so the ONNX file holds
   only Gemm/Relu/Softmax, exported with skl2onnx.

6. for config-vector.toml, LightGBM as in 4 on its 70 configured columns (fixed features, per-event columns and
   TA-Lib indicators on 1s, 5s and 15s bars), from `hotpath features --config`.

Trained on the first 70% of the session, scored on the rest (accuracy printed). Run from the
repository root after `swift build -c release`:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python demo/train.py [vector]

With `vector`, only step 6 runs (the other models stay as they are).
"""
import csv, os, subprocess, sys
import numpy as np
import lightgbm as lgb

HOTPATH = os.environ.get("HOTPATH", ".build/release/hotpath")
OUT = "demo"
FEATURES = ["spread_bps", "imbalance_l1", "imbalance_l5", "bid_depth_5", "ask_depth_5", "ofi", "ofi_1s", "ofi_5s",
            "signed_volume_5s", "return_1s", "return_5s", "realized_vol_60s", "event_rate_1s", "trade_count_5s",
            "levels_bid", "levels_ask"]
MESSAGES = 600_000

work = os.path.join(OUT, ".work")
os.makedirs(work, exist_ok=True)
itch = os.path.join(work, "demo.itch")
subprocess.run([HOTPATH, "gen", "itch", "--demo", "--messages", str(MESSAGES), "--out", itch], check=True)


def table(name, names=None, config=None):
    """`hotpath features` of the demo market: the rows with a label, as X (the columns `names`,
    or every feature column) and y (the label's sign: 0 down, 1 flat, 2 up)."""
    path = os.path.join(work, name)
    extra = ["--config", config] if config else []
    subprocess.run([HOTPATH, "features", itch, "--out", path, "--horizon", "100ms"] + extra, check=True)
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        label_col = header.index("label")
        cols = [header.index(n) for n in names] if names else list(range(2, label_col))
        X, y = [], []
        for row in reader:
            if row[label_col] == "":
                continue
            X.append([float(row[c]) if row[c] != "" else np.nan for c in cols])
            r = float(row[label_col])
            y.append(0 if r < 0 else 2 if r > 0 else 1)
    return np.array(X), np.array(y)


def lightgbm(X, y, cut, out, names=None):
    """34 rounds x 3 classes on the first `cut` rows; held-out accuracy on the rest."""
    data = lgb.Dataset(X[:cut], y[:cut], feature_name=names) if names else lgb.Dataset(X[:cut], y[:cut])
    booster = lgb.train(dict(objective="multiclass", num_class=3, num_leaves=31, learning_rate=0.1,
                             min_data_in_leaf=50, verbose=-1, num_threads=2, seed=7, deterministic=True),
                        data, num_boost_round=34)
    booster.save_model(os.path.join(OUT, out))
    acc = (booster.predict(X[cut:]).argmax(1) == y[cut:]).mean()
    print(f"{out}: {X.shape[1]} features, {booster.num_trees()} trees, held-out accuracy {acc:.3f}", file=sys.stderr)


if sys.argv[1:] != ["vector"]:
    from sklearn.neural_network import MLPClassifier
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    X, y = table("demo.csv", FEATURES)
    cut = int(len(X) * 0.7)
    print(f"{len(X)} rows, classes {np.bincount(y)}", file=sys.stderr)
    lightgbm(X, y, cut, "model-lgb.txt", FEATURES)

    Z = np.nan_to_num(X)
    mu, sigma = Z[:cut].mean(0), Z[:cut].std(0) + 1e-9
    mlp = MLPClassifier(hidden_layer_sizes=(32, 16), activation="relu", max_iter=60, random_state=7)
    mlp.fit((Z[:cut] - mu) / sigma, y[:cut])
    print(f"MLP: held-out accuracy {(mlp.predict((Z[cut:] - mu) / sigma) == y[cut:]).mean():.3f}", file=sys.stderr)
    # Fold the standardisation into the first layer: W' = W / sigma, b' = b - (mu / sigma) @ W.
    W, b = mlp.coefs_[0], mlp.intercepts_[0]
    mlp.coefs_[0] = W / sigma[:, None]
    mlp.intercepts_[0] = b - (mu / sigma) @ W
    onx = convert_sklearn(mlp, initial_types=[("input", FloatTensorType([None, len(FEATURES)]))],
                          options={id(mlp): {"zipmap": False}}, target_opset=15)
    with open(os.path.join(OUT, "model-mlp.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    print("wrote demo/model-lgb.txt, demo/model-mlp.onnx", file=sys.stderr)

# The configured-vector demo (config-vector.toml): its 70 columns as `hotpath features --config`
# writes them. LightGBM does not store names with commas ("MACD(12,26,9).hist@1s"), so this
# model keeps its Column_i placeholders and the engine checks it by its feature count.
X, y = table("demo-vector.csv", config=os.path.join(OUT, "config-vector.toml"))
lightgbm(X, y, int(len(X) * 0.7), "model-lgb-vector.txt")
