#!/usr/bin/env python3
"""Reference models for the objectives HotPath once got wrong or refused, trained with the
real libraries, each with its test rows and the library's own predict(). Once wrong:
LightGBM rf summed its trees where LightGBM averages them; XGBoost binary:logitraw took
base_score through the logit; multi:softmax gave probabilities where predict() gives the
class index. Once refused: the log-link, hinge and ranking objectives.

    lgb-rf-binary   LightGBM boosting=rf, objective=binary
    lgb-rf-reg      LightGBM boosting=rf, objective=regression
    lgb-lambdarank  LightGBM lambdarank (groups of 50 rows)
    xgb-logitraw    XGBoost binary:logitraw (base_score fitted by the library, not 0.5)
    xgb-softmax     XGBoost multi:softmax, 3 classes (ref: one column, the class index)
    xgb-gamma, xgb-tweedie, xgb-poisson, xgb-cox   XGBoost's log-link objectives
    xgb-hinge       XGBoost binary:hinge (0 or 1)
    xgb-pairwise    XGBoost rank:pairwise (groups of 50 rows)
    xgb-dart        XGBoost booster=dart, binary:logistic (trees weighted by weight_drop)
    xgb-aft         XGBoost survival:aft (interval-censored times, a fifth right-censored)

Each directory gets model + X.f64 (NaN = missing) + ref.f64 + meta.json. Run from the
repository root:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/models/make_objective_fixes.py
"""
import os, sys
import numpy as np
import lightgbm as lgb
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra_models import OUT, N, ROWS, data, write  # the same rows and files as the other fixtures

rng = np.random.default_rng(19)
VERSIONS = dict(lightgbm=lgb.__version__, xgboost=xgb.__version__)

def lgb_model(name, objective, label):
    os.makedirs(os.path.join(OUT, name), exist_ok=True)
    params = dict(boosting="rf", objective=objective, num_leaves=31, bagging_fraction=0.7, bagging_freq=1,
                  feature_fraction=0.8, verbose=-1, num_threads=2, seed=1)
    b = lgb.train(params, lgb.Dataset(X, label), num_boost_round=40)
    b.save_model(os.path.join(OUT, name, "model.txt"))
    write(name, "model.txt", Xt, b.predict(Xt), dict(kind=name, **VERSIONS))

def xgb_model(name, params, label, groups=None):
    os.makedirs(os.path.join(OUT, name), exist_ok=True)
    train = xgb.DMatrix(X, label)
    if groups is not None:
        train.set_group(groups)
    m = xgb.train(dict(params, max_depth=4, tree_method="hist", nthread=2, seed=1), train, 30)
    m.save_model(os.path.join(OUT, name, "model.json"))
    write(name, "model.json", Xt, m.predict(xgb.DMatrix(Xt)), dict(kind=name, **VERSIONS))

X, y = data(N, rng=rng)
Xt, _ = data(ROWS, rng=rng)
lgb_model("lgb-rf-binary", "binary", (y > 0).astype(int))
lgb_model("lgb-rf-reg", "regression", y)
xgb_model("xgb-logitraw", dict(objective="binary:logitraw"), (y > 0.8).astype(int))
xgb_model("xgb-softmax", dict(objective="multi:softmax", num_class=3), np.digitize(y, [-1, 1]))

# Log-link targets: positive, with the signal in their mean.
positive = np.exp(0.4 * np.tanh(y)) * rng.gamma(2.0, 1.0, len(y))
xgb_model("xgb-gamma", dict(objective="reg:gamma"), positive)
xgb_model("xgb-tweedie", dict(objective="reg:tweedie"), positive)
xgb_model("xgb-poisson", dict(objective="count:poisson"), np.floor(positive))
xgb_model("xgb-cox", dict(objective="survival:cox"), np.where(rng.random(len(y)) < 0.8, 1, -1) * positive)
xgb_model("xgb-hinge", dict(objective="binary:hinge"), (y > 0).astype(int))
grades = np.digitize(y, [-1, 0, 1])
xgb_model("xgb-pairwise", dict(objective="rank:pairwise"), grades, groups=[50] * (len(y) // 50))
os.makedirs(os.path.join(OUT, "lgb-lambdarank"), exist_ok=True)
b = lgb.train(dict(objective="lambdarank", num_leaves=15, verbose=-1, num_threads=2, seed=1),
              lgb.Dataset(X, grades, group=[50] * (len(y) // 50)), num_boost_round=30)
b.save_model(os.path.join(OUT, "lgb-lambdarank", "model.txt"))
write("lgb-lambdarank", "model.txt", Xt, b.predict(Xt), dict(kind="lgb-lambdarank", **VERSIONS))
xgb_model("xgb-dart", dict(objective="binary:logistic", booster="dart", rate_drop=0.2, skip_drop=0.3), (y > 0).astype(int))

# survival:aft: the label is an interval [lower, upper]; right-censored rows have upper = inf.
os.makedirs(os.path.join(OUT, "xgb-aft"), exist_ok=True)
train = xgb.DMatrix(X)
train.set_float_info("label_lower_bound", positive)
train.set_float_info("label_upper_bound", np.where(rng.random(len(y)) < 0.2, np.inf, positive))
m = xgb.train(dict(objective="survival:aft", aft_loss_distribution="normal", aft_loss_distribution_scale=1.2,
                   max_depth=4, tree_method="hist", nthread=2, seed=1), train, 30)
m.save_model(os.path.join(OUT, "xgb-aft", "model.json"))
write("xgb-aft", "model.json", Xt, m.predict(xgb.DMatrix(Xt)), dict(kind="xgb-aft", **VERSIONS))
