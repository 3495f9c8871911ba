#!/usr/bin/env python3
"""A LightGBM multiclass model in which one class's trees are single leaves (num_leaves=1: the
library found no split worth making for that class), trained by the real library on rows with
missing values, with its predictions. Two fixtures, wider than the blocked walk's first rank
table (64 slots, two per feature): lgb-stump over 48 features and lgb-wide over 100. Writes
Tests/Fixtures/models/NAME/{model.txt,X.f64,ref.f64,meta.json}. From the repository root:

    PY=$(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python
    $PY tools/models/make_stump_model.py lgb-stump 48
    $PY tools/models/make_stump_model.py lgb-wide 100
"""
import json, os, sys
import numpy as np
import lightgbm as lgb

NAME, F = sys.argv[1], int(sys.argv[2])
OUT = os.path.join("Tests", "Fixtures", "models", NAME)
rng = np.random.default_rng(11)
N, ROWS = 20000, 500

def data(n):
    X = rng.standard_normal((n, F))
    X[rng.random((n, F)) < 0.05] = np.nan
    z = np.nan_to_num(X)
    y = np.where(z[:, 0] + 0.5 * z[:, 1] * z[:, 2] + rng.standard_normal(n) * 0.3 > 0, 1, 0)
    y[rng.random(n) < 0.002] = 2  # a class with no signal and too few rows to split on
    return X, y

X, y = data(N)
Xt, _ = data(ROWS)
params = dict(objective="multiclass", num_class=3, num_leaves=127, max_depth=10, min_data_in_leaf=20,
              min_gain_to_split=2.0, verbose=-1, num_threads=2, seed=3)
b = lgb.train(params, lgb.Dataset(X, y), num_boost_round=40)
os.makedirs(OUT, exist_ok=True)
b.save_model(os.path.join(OUT, "model.txt"))
text = open(os.path.join(OUT, "model.txt")).read()
stumps = text.count("\nnum_leaves=1\n")
assert stumps > 0, "no single-leaf trees: adjust the parameters"
Xt.astype("<f8").tofile(os.path.join(OUT, "X.f64"))
np.asarray(b.predict(Xt), dtype=np.float64).astype("<f8").tofile(os.path.join(OUT, "ref.f64"))
json.dump(dict(kind=NAME, features=F, rows=ROWS, outputs=3, model="model.txt", single_leaf_trees=stumps),
          open(os.path.join(OUT, "meta.json"), "w"), indent=1)
print("ok", stumps, "single-leaf trees of", text.count("\nTree="))
