#!/usr/bin/env python3
"""The objective and booster matrix: every LightGBM objective and boosting type, every XGBoost
objective and booster, each trained on 3 seeds with the real library, with NaNs in every
feature and a categorical feature (column 2) wherever the library takes one. For each row and
seed it writes the model and the library's own Booster.predict() on that seed's test rows:

    Tests/Fixtures/models/matrix/X-s{seed}.f64         test rows (float64, NaN = missing)
    Tests/Fixtures/models/matrix/{row}-s{seed}.{txt,json}
    Tests/Fixtures/models/matrix/{row}-s{seed}.ref.f64 predict(), rows x outputs
    Tests/Fixtures/models/matrix/manifest.json         the rows, their files and shapes

Run from the repository root (lightgbm 4.7.0, xgboost 3.2.0):

    /root/.cache/hp-models/bin/python tools/models/make_matrix.py
"""
import json, os
import numpy as np
import lightgbm as lgb
import xgboost as xgb

OUT = os.path.join("Tests", "Fixtures", "models", "matrix")
F, N, ROWS, ROUNDS, SEEDS = 8, 3000, 200, 10, (1, 2, 3)
XGB_TYPES = ["q", "q", "c"] + ["q"] * (F - 3)


def data(n, rng):
    X = rng.standard_normal((n, F))
    X[rng.random((n, F)) < 0.03] = np.nan
    X[:, 2] = np.where(rng.random(n) < 0.03, np.nan, rng.integers(0, 12, n).astype(float))
    z = np.nan_to_num(X)
    y = 1.5 * z[:, 0] - z[:, 1] + 0.5 * z[:, 3] * z[:, 4] + np.where(np.isin(X[:, 2], [1, 4, 7]), 1.2, -0.4)
    return X, y + rng.standard_normal(n) * 0.3


def labels(y, rng):
    """The label each kind of objective trains on."""
    positive = np.exp(0.4 * np.tanh(y)) * rng.gamma(2.0, 1.0, len(y))
    grades = np.digitize(y, [-1, 0, 1])
    return dict(
        real=y, positive=positive, count=np.floor(positive), binary=(y > 0).astype(int),
        fraction=1 / (1 + np.exp(-y)), classes=np.digitize(y, [-1, 1]), grades=grades,
        relevant=(grades > 1).astype(int),
        cox=np.where(rng.random(len(y)) < 0.8, 1, -1) * positive)


GROUPS = [50] * (N // 50)

# (row name, parameters, label kind); boosting gbdt unless the row names another.
LIGHTGBM = [
    ("regression", {}, "real"), ("regression_l1", {}, "real"), ("huber", {}, "real"), ("fair", {}, "real"),
    ("quantile", dict(alpha=0.8), "real"), ("mape", {}, "positive"), ("poisson", {}, "count"),
    ("gamma", {}, "positive"), ("tweedie", {}, "positive"), ("binary", {}, "binary"),
    ("multiclass", dict(num_class=3), "classes"), ("multiclassova", dict(num_class=3), "classes"),
    ("cross_entropy", {}, "fraction"), ("cross_entropy_lambda", {}, "fraction"),
    ("lambdarank", {}, "grades"), ("rank_xendcg", {}, "grades"),
    ("regression", dict(reg_sqrt=True), "positive", "regression-sqrt"),
    ("binary", dict(boosting="rf", bagging_fraction=0.7, bagging_freq=1, feature_fraction=0.8), "binary", "rf"),
    ("regression", dict(boosting="dart", drop_rate=0.2), "real", "dart"),
    ("binary", dict(boosting="dart", drop_rate=0.3, xgboost_dart_mode=True), "binary", "dart-xgboost-mode"),
    ("multiclass", dict(num_class=3, data_sample_strategy="goss"), "classes", "goss"),
]
XGBOOST = [
    ("reg:squarederror", {}, "real"), ("reg:squaredlogerror", {}, "positive"), ("reg:logistic", {}, "fraction"),
    ("reg:pseudohubererror", {}, "real"), ("reg:absoluteerror", {}, "real"),
    ("reg:quantileerror", dict(quantile_alpha=0.8), "real"),
    ("reg:quantileerror", dict(quantile_alpha=[0.1, 0.5, 0.9]), "real", "quantiles"),
    ("binary:logistic", {}, "binary"), ("binary:logitraw", {}, "binary"), ("binary:hinge", {}, "binary"),
    ("count:poisson", {}, "count"), ("survival:cox", {}, "cox"), ("survival:aft", {}, "aft"),
    ("multi:softmax", dict(num_class=3), "classes"), ("multi:softprob", dict(num_class=3), "classes"),
    ("rank:ndcg", {}, "grades"), ("rank:map", {}, "relevant"), ("rank:pairwise", {}, "grades"),
    ("reg:gamma", {}, "positive"), ("reg:tweedie", dict(tweedie_variance_power=1.3), "positive"),
    ("binary:logistic", dict(booster="dart", rate_drop=0.2, skip_drop=0.3), "binary", "dart"),
    ("multi:softprob", dict(num_class=3, booster="dart", rate_drop=0.2), "classes", "dart-softprob"),
    ("reg:squarederror", dict(booster="gblinear"), "real", "gblinear"),
    ("binary:logistic", dict(booster="gblinear"), "binary", "gblinear-logistic"),
    ("multi:softprob", dict(booster="gblinear", num_class=3), "classes", "gblinear-softprob"),
    ("count:poisson", dict(booster="gblinear", updater="coord_descent"), "count", "gblinear-poisson"),
]


def lightgbm_row(spec, X, lab, Xt, seed):
    objective, extra, kind = spec[:3]
    params = dict(objective=objective, num_leaves=15, verbose=-1, num_threads=2, seed=seed, **extra)
    ds = lgb.Dataset(X, lab[kind], categorical_feature=[2], group=GROUPS if kind == "grades" else None)
    b = lgb.train(params, ds, num_boost_round=ROUNDS)
    return b.model_to_string(), b.predict(Xt), "txt"


def xgboost_row(spec, X, lab, Xt, seed, rng):
    objective, extra, kind = spec[:3]
    linear = extra.get("booster") == "gblinear"
    types = None if linear else XGB_TYPES  # gblinear takes no categorical features
    train = xgb.DMatrix(X, None if kind == "aft" else lab[kind], feature_types=types, enable_categorical=not linear)
    if kind == "aft":
        train.set_float_info("label_lower_bound", lab["positive"])
        upper = np.where(rng.random(len(X)) < 0.2, np.inf, lab["positive"])
        train.set_float_info("label_upper_bound", upper)
    if kind in ("grades", "relevant"):
        train.set_group(GROUPS)
    params = dict(objective=objective, nthread=2, seed=seed, **extra)
    if not linear:
        params.update(max_depth=4, tree_method="hist", max_cat_to_onehot=1)
    m = xgb.train(params, train, ROUNDS)
    raw = m.save_raw(raw_format="json").decode()
    return raw, m.predict(xgb.DMatrix(Xt, feature_types=types, enable_categorical=not linear)), "json"


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = dict(features=F, rows=ROWS, seeds=list(SEEDS), lightgbm=lgb.__version__, xgboost=xgb.__version__,
                    models=[])
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        X, y = data(N, rng)
        Xt, _ = data(ROWS, rng)
        lab = labels(y, rng)
        Xt.astype("<f8").tofile(os.path.join(OUT, f"X-s{seed}.f64"))
        rows = [("lgb", s, lightgbm_row(s, X, lab, Xt, seed)) for s in LIGHTGBM]
        rows += [("xgb", s, xgboost_row(s, X, lab, Xt, seed, rng)) for s in XGBOOST]
        for library, spec, (text, ref, ext) in rows:
            name = f"{library}-{spec[3] if len(spec) > 3 else spec[0].replace(':', '-')}"
            stem = f"{name}-s{seed}"
            with open(os.path.join(OUT, f"{stem}.{ext}"), "w") as f:
                f.write(text)
            ref = np.asarray(ref, dtype=np.float64).reshape(ROWS, -1)
            ref.astype("<f8").tofile(os.path.join(OUT, f"{stem}.ref.f64"))
            manifest["models"].append(dict(row=name, seed=seed, model=f"{stem}.{ext}", ref=f"{stem}.ref.f64",
                                           x=f"X-s{seed}.f64", width=int(ref.shape[1]),
                                           linear="gblinear" in name))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(len(manifest["models"]), "models")


if __name__ == "__main__":
    main()
