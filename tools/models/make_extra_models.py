#!/usr/bin/env python3
"""Extra reference models for loader features make_tree_models.py does not exercise, trained
with the real libraries: a LightGBM linear-tree regression, a LightGBM multiclassova model, an
XGBoost binary:logistic with a categorical feature (scalar base_score), an XGBoost
reg:squarederror. Each directory gets model + X.f64 (NaN = missing) + ref.f64 + meta.json.
Run from the repository root:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/models/make_extra_models.py
"""
import json, os
import numpy as np
import lightgbm as lgb
import xgboost as xgb

OUT = os.path.join("Tests", "Fixtures", "models")
rng = np.random.default_rng(11)
F, N, ROWS = 8, 20000, 500

def data(n, cat=False, rng=rng):
    X = rng.standard_normal((n, F))
    X[rng.random((n, F)) < 0.03] = np.nan
    if cat:
        X[:, 2] = rng.integers(0, 12, n).astype(float)
    z = np.nan_to_num(X)
    y = 1.5 * z[:, 0] - z[:, 1] + 0.5 * z[:, 3] * z[:, 4] + rng.standard_normal(n) * 0.3
    if cat:
        y += np.where(np.isin(X[:, 2], [1, 4, 7]), 1.2, -0.4)
    return X, y

def write(name, model_file, Xt, ref, meta):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    Xt.astype("<f8").tofile(os.path.join(d, "X.f64"))
    np.asarray(ref, dtype=np.float64).reshape(len(Xt), -1).astype("<f8").tofile(os.path.join(d, "ref.f64"))
    meta.update(features=F, rows=len(Xt), outputs=int(np.asarray(ref).reshape(len(Xt), -1).shape[1]), model=model_file)
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=1)

def main():
    X, y = data(N); Xt, _ = data(ROWS)
    b = lgb.train(dict(objective="regression", linear_tree=True, num_leaves=15, verbose=-1, num_threads=2, seed=1),
                  lgb.Dataset(X, y), num_boost_round=30)
    os.makedirs(os.path.join(OUT, "lgb-linear"), exist_ok=True)
    b.save_model(os.path.join(OUT, "lgb-linear", "model.txt"))
    write("lgb-linear", "model.txt", Xt, b.predict(Xt), dict(kind="lgb-linear"))

    cls = np.digitize(y, [-1, 1])
    b = lgb.train(dict(objective="multiclassova", num_class=3, num_leaves=15, verbose=-1, num_threads=2, seed=1),
                  lgb.Dataset(X, cls), num_boost_round=20)
    os.makedirs(os.path.join(OUT, "lgb-ova"), exist_ok=True)
    b.save_model(os.path.join(OUT, "lgb-ova", "model.txt"))
    write("lgb-ova", "model.txt", Xt, b.predict(Xt), dict(kind="lgb-ova"))

    Xc, yc = data(N, cat=True); Xct, _ = data(ROWS, cat=True)
    dm = xgb.DMatrix(Xc, (yc > 0).astype(int), feature_types=["q", "q", "c"] + ["q"] * (F - 3), enable_categorical=True)
    m = xgb.train(dict(objective="binary:logistic", max_depth=5, tree_method="hist", max_cat_to_onehot=1, nthread=2, seed=1), dm, 40)
    os.makedirs(os.path.join(OUT, "xgb-cat"), exist_ok=True)
    m.save_model(os.path.join(OUT, "xgb-cat", "model.json"))
    ref = m.predict(xgb.DMatrix(Xct, feature_types=["q", "q", "c"] + ["q"] * (F - 3), enable_categorical=True))
    write("xgb-cat", "model.json", Xct, ref, dict(kind="xgb-cat"))

    m = xgb.train(dict(objective="reg:squarederror", max_depth=4, tree_method="hist", nthread=2, seed=1), xgb.DMatrix(X, y), 40)
    os.makedirs(os.path.join(OUT, "xgb-reg"), exist_ok=True)
    m.save_model(os.path.join(OUT, "xgb-reg", "model.json"))
    write("xgb-reg", "model.json", Xt, m.predict(xgb.DMatrix(Xt)), dict(kind="xgb-reg"))
    print("ok")

if __name__ == "__main__":
    main()
