#!/usr/bin/env python3
"""Small seed models for scripts/fuzz.sh (Tests/Fixtures/fuzz/{lightgbm,xgboost}): a LightGBM
binary model and an XGBoost softprob model of a few shallow trees, with a NaN and a
categorical feature, so the fuzzer starts from every branch kind the loaders read.

    /root/.cache/hp-models/bin/python tools/fuzz_seeds.py
"""
import numpy as np, lightgbm as lgb, xgboost as xgb

rng = np.random.default_rng(5)
X = rng.normal(size=(200, 4))
X[::7, 1] = np.nan
X[:, 2] = rng.integers(0, 4, 200)
y = (X[:, 0] + (X[:, 2] == 1) > 0).astype(int)
lgb.train(dict(objective="binary", num_leaves=4, verbose=-1, min_data_in_leaf=5),
          lgb.Dataset(X, y, categorical_feature=[2]), num_boost_round=3) \
    .save_model("Tests/Fixtures/fuzz/lightgbm/binary.txt")
d = xgb.DMatrix(X, label=y % 3 + (X[:, 3] > 1))
xgb.train(dict(objective="multi:softprob", num_class=3, max_depth=2), d, num_boost_round=2) \
    .save_model("Tests/Fixtures/fuzz/xgboost/softprob.json")
