#!/usr/bin/env python3
"""Edge rows for the categorical fixtures (lgb-cat, xgb-cat) and the libraries' predictions on
them: every feature set to a value the category rules must handle — huge, infinite, NaN, in
(-1, 0), exactly -1, just below 0, fractional, past every bitset. Writes edge-X.f64 and
edge-ref.f64 beside each model. From the repository root:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/models/make_category_edges.py
"""
import json, os
import numpy as np
import lightgbm as lgb
import xgboost as xgb

VALUES = [1e20, -1e20, np.inf, -np.inf, np.nan, -0.5, -1.0, -1e-300, 0.0, 0.75, 3.999, 7.5, 1e6, 2.0**31, 2.0**40]
D = os.path.join("Tests", "Fixtures", "models")

def rows(base, features, cat_columns, values=VALUES):
    out = []
    for v in values:
        for c in cat_columns:
            r = base.copy()
            r[c] = v
            out.append(r)
    return np.array(out)

# lgb-cat: its categorical columns are read from the model; base row = the first test row.
X = np.fromfile(os.path.join(D, "lgb-cat", "X.f64")).reshape(-1, 32)
b = lgb.Booster(model_file=os.path.join(D, "lgb-cat", "model.txt"))
info = b.dump_model()
def walk(n, acc):
    if "split_feature" in n:
        if n.get("decision_type") == "==": acc.add(int(n["split_feature"]))
        walk(n["left_child"], acc); walk(n["right_child"], acc)
acc = set()
for t in info["tree_info"]: walk(t["tree_structure"], acc)
cat_columns = sorted(acc)
E = rows(np.nan_to_num(X[0]), 32, cat_columns)
E.astype("<f8").tofile(os.path.join(D, "lgb-cat", "edge-X.f64"))
b.predict(E).astype("<f8").tofile(os.path.join(D, "lgb-cat", "edge-ref.f64"))
print("lgb-cat categorical columns", cat_columns, "rows", len(E))

# xgb-cat: feature 2 is categorical (make_extra_models.py). XGBoost refuses infinite inputs.
X = np.fromfile(os.path.join(D, "xgb-cat", "X.f64")).reshape(-1, 8)
m = xgb.Booster(model_file=os.path.join(D, "xgb-cat", "model.json"))
E = rows(np.nan_to_num(X[0]), 8, [2], [v for v in VALUES if not np.isinf(v)])
ft = ["q", "q", "c"] + ["q"] * 5
m.predict(xgb.DMatrix(E, feature_types=ft, enable_categorical=True)).astype("<f8").tofile(os.path.join(D, "xgb-cat", "edge-ref.f64"))
E.astype("<f8").tofile(os.path.join(D, "xgb-cat", "edge-X.f64"))
print("xgb-cat rows", len(E))
