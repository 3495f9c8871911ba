#!/usr/bin/env python3
"""Exports a fitted scikit-learn CalibratedClassifierCV (method "isotonic" or "sigmoid") to the
JSON HotPath's `Calibration` reads, and makes the test fixtures.

The calibrators must have been fitted on the classifier's probabilities (predict_proba): the
engine calibrates the ensemble's probabilities. A classifier with decision_function is
calibrated on that instead, and is refused here, as are several folds (ensemble=True over a
cv: each fold has its own classifier) and the temperature method.

    from export_calibration import export
    export(calibrated, "calibration.json")

Fixtures (from the repository root; scikit-learn 1.9.1):

    /root/.cache/hp-models/bin/python tools/models/export_calibration.py

writes Tests/Fixtures/models/calibration/{isotonic,sigmoid}-{2,3}.json with P-*.f64 (the
classifier's probabilities on test rows) and ref-*.f64 (CalibratedClassifierCV.predict_proba).
"""
import json, os, sys
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator


def export(calibrated, path):
    if len(calibrated.calibrated_classifiers_) != 1:
        sys.exit(f"{len(calibrated.calibrated_classifiers_)} folds: fit with FrozenEstimator(clf) (one classifier)")
    c = calibrated.calibrated_classifiers_[0]
    if c.method not in ("isotonic", "sigmoid"):
        sys.exit(f"method {c.method} is not supported (isotonic, sigmoid)")
    if hasattr(c.estimator, "decision_function"):
        sys.exit("the classifier has decision_function: its calibrators take margins, not probabilities")
    if c.method == "isotonic":
        cal = [dict(x=[float(v) for v in k.X_thresholds_], y=[float(v) for v in k.y_thresholds_]) for k in c.calibrators]
    else:
        cal = [dict(a=float(k.a_), b=float(k.b_)) for k in c.calibrators]
    with open(path, "w") as f:
        json.dump(dict(method=c.method, classes=len(c.classes), calibrators=cal, sklearn=sklearn.__version__), f)


def main():
    out = os.path.join("Tests", "Fixtures", "models", "calibration")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(31)
    X = rng.standard_normal((6000, 6))
    y = X[:, 0] - 0.7 * X[:, 1] + rng.standard_normal(6000) * 0.8
    for classes in (2, 3):
        label = (y > 0).astype(int) if classes == 2 else np.digitize(y, [-0.7, 0.7])
        clf = RandomForestClassifier(40, max_depth=6, random_state=1).fit(X[:3000], label[:3000])
        for method in ("isotonic", "sigmoid"):
            cal = CalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(X[3000:5000], label[3000:5000])
            name = f"{method}-{classes}"
            export(cal, os.path.join(out, name + ".json"))
            Xt = X[5000:]
            clf.predict_proba(Xt).astype("<f8").tofile(os.path.join(out, f"P-{name}.f64"))
            cal.predict_proba(Xt).astype("<f8").tofile(os.path.join(out, f"ref-{name}.f64"))
            print(name)


if __name__ == "__main__":
    main()
