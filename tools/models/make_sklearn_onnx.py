#!/usr/bin/env python3
"""scikit-learn models through skl2onnx, with ONNX Runtime's own outputs as the reference:

    skl-rf-binary     RandomForestClassifier, 2 classes, NaNs in the rows (ZipMap left on)
    skl-rf-3class     RandomForestClassifier, 3 classes (zipmap=False)
    skl-rf-reg        RandomForestRegressor (AVERAGE)
    skl-et-reg        ExtraTreesRegressor
    skl-gb-binary     GradientBoostingClassifier, 2 classes (one score, LOGISTIC)
    skl-gb-3class     GradientBoostingClassifier, 3 classes (SOFTMAX)
    skl-gb-reg        GradientBoostingRegressor
    skl-scaler-lr     Pipeline(StandardScaler, LogisticRegression), 2 classes
    skl-scaler-lr3    Pipeline(StandardScaler, LogisticRegression), 3 classes (Normalizer L1)
    oml-lgb-binary    LightGBM LGBMClassifier through onnxmltools, NaNs in the rows
    oml-lgb-reg       LightGBM LGBMRegressor through onnxmltools
    oml-xgb-3class    XGBoost XGBClassifier, 3 classes, through onnxmltools
    cat-binary        CatBoost's own ONNX export, 2 classes

Each directory gets model.onnx + X.f64 (float32 values, NaN = missing) + ref.f64 (ONNX
Runtime's probabilities or values) + meta.json. Run from the repository root:

    /root/.cache/hp-models/bin/python tools/models/make_sklearn_onnx.py
"""
import json, os
import numpy as np
import onnxruntime as ort
import sklearn, skl2onnx
from sklearn.ensemble import (RandomForestClassifier, RandomForestRegressor, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx

OUT = os.path.join("Tests", "Fixtures", "models")
F, N, ROWS = 8, 4000, 500


def data(n, rng, missing):
    X = rng.standard_normal((n, F)).astype(np.float32)
    if missing:
        X[rng.random((n, F)) < 0.03] = np.nan
    z = np.nan_to_num(X)
    y = 1.5 * z[:, 0] - z[:, 1] + 0.5 * z[:, 3] * z[:, 4] + rng.standard_normal(n) * 0.3
    return X, y


def main():
    rng = np.random.default_rng(23)
    X, y = data(N, rng, missing=False)
    Xn, yn = data(N, rng, missing=True)
    Xt, _ = data(ROWS, rng, missing=False)
    Xtn, _ = data(ROWS, rng, missing=True)
    two, three = (y > 0).astype(int), np.digitize(y, [-1, 1])
    models = [
        ("skl-rf-binary", RandomForestClassifier(30, max_depth=8, random_state=1), Xn, (yn > 0).astype(int), Xtn, {}),
        ("skl-rf-3class", RandomForestClassifier(30, max_depth=8, random_state=1), X, three, Xt, {"zipmap": False}),
        ("skl-rf-reg", RandomForestRegressor(30, max_depth=8, random_state=1), X, y, Xt, {}),
        ("skl-et-reg", ExtraTreesRegressor(30, max_depth=8, random_state=1), X, y, Xt, {}),
        ("skl-gb-binary", GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=1), X, two, Xt, {}),
        ("skl-gb-3class", GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=1), X, three, Xt,
         {"zipmap": False}),
        ("skl-gb-reg", GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=1), X, y, Xt, {}),
        ("skl-scaler-lr", make_pipeline(StandardScaler(), LogisticRegression()), X, two, Xt, {}),
        ("skl-scaler-lr3", make_pipeline(StandardScaler(), LogisticRegression()), X, three, Xt, {}),
    ]
    import lightgbm, xgboost, catboost, onnxmltools, onnx
    from onnxmltools.convert.common.data_types import FloatTensorType
    kinds = [("input", FloatTensorType([None, F]))]
    lgb_binary = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1).fit(Xn, (yn > 0).astype(int))
    lgb_reg = lightgbm.LGBMRegressor(n_estimators=40, num_leaves=15, verbose=-1).fit(X, y)
    xgb_three = xgboost.XGBClassifier(n_estimators=30, max_depth=4).fit(X, three)
    cat = catboost.CatBoostClassifier(iterations=40, depth=4, verbose=0, random_seed=1,
                                      allow_writing_files=False).fit(X, two)
    cat_path = "/tmp/cat-binary.onnx"
    cat.save_model(cat_path, format="onnx")
    converted = [
        ("oml-lgb-binary", onnxmltools.convert_lightgbm(lgb_binary, initial_types=kinds, zipmap=False, target_opset=15), Xtn),
        ("oml-lgb-reg", onnxmltools.convert_lightgbm(lgb_reg, initial_types=kinds, target_opset=15), Xt),
        ("oml-xgb-3class", onnxmltools.convert_xgboost(xgb_three, initial_types=kinds, target_opset=15), Xt),
        ("cat-binary", onnx.load(cat_path), Xt),
    ]
    for name, model, Xtrain, ytrain, Xtest, options in models + [(n, o, None, None, x, None) for n, o, x in converted]:
        if Xtrain is None:
            onx = model
        else:
            model.fit(Xtrain, ytrain)
            onx = to_onnx(model, Xtrain[:1], options={id(model): options} if options else None,
                          target_opset={"": 17, "ai.onnx.ml": 3})
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(onx.SerializeToString())
        session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        target = "probabilities" if "probabilities" in names else names[-1]
        out = session.run([target], {session.get_inputs()[0].name: Xtest})[0]
        if isinstance(out, list):  # ZipMap: a list of {class: probability}
            out = np.array([[row[k] for k in sorted(row)] for row in out])
        ref = np.asarray(out, dtype=np.float64).reshape(len(Xtest), -1)
        Xtest.astype("<f8").tofile(os.path.join(d, "X.f64"))
        ref.astype("<f8").tofile(os.path.join(d, "ref.f64"))
        meta = dict(kind=name, features=F, rows=len(Xtest), outputs=int(ref.shape[1]), model="model.onnx",
                    sklearn=sklearn.__version__, skl2onnx=skl2onnx.__version__, onnxruntime=ort.__version__,
                    onnxmltools=onnxmltools.__version__, lightgbm=lightgbm.__version__, xgboost=xgboost.__version__,
                    catboost=catboost.__version__)
        json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=1)
        print(name, ref.shape)


if __name__ == "__main__":
    main()
