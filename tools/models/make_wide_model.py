#!/usr/bin/env python3
"""A LightGBM binary model of 40 trees × 63 leaves (trees wider than 32 leaves: QuickScorer's
64-bit words), trained by the real library on rows with missing values, with its predictions.
Writes Tests/Fixtures/models/lgb-63/{model.txt,X.f64,ref.f64,meta.json}. From the repository root:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/models/make_wide_model.py
"""
import json, os
import numpy as np
import lightgbm as lgb

OUT = os.path.join("Tests", "Fixtures", "models", "lgb-63")
rng = np.random.default_rng(63)
F, N, ROWS = 12, 40000, 500

def data(n):
    X = rng.standard_normal((n, F))
    X[rng.random((n, F)) < 0.03] = np.nan
    z = np.nan_to_num(X)
    y = (z[:, 0] - 0.7 * z[:, 1] + 0.4 * z[:, 2] * z[:, 3] + np.sin(2 * z[:, 4]) + rng.standard_normal(n) * 0.5) > 0
    return X, y.astype(int)

X, y = data(N)
Xt, _ = data(ROWS)
b = lgb.train(dict(objective="binary", num_leaves=63, min_data_in_leaf=5, verbose=-1, num_threads=2, seed=1),
              lgb.Dataset(X, y), num_boost_round=40)
os.makedirs(OUT, exist_ok=True)
b.save_model(os.path.join(OUT, "model.txt"))
Xt.astype("<f8").tofile(os.path.join(OUT, "X.f64"))
ref = b.predict(Xt)
np.asarray(ref, dtype=np.float64).astype("<f8").tofile(os.path.join(OUT, "ref.f64"))
json.dump(dict(kind="lgb-63", features=F, rows=ROWS, outputs=1, model="model.txt"), open(os.path.join(OUT, "meta.json"), "w"), indent=1)
print("ok")
