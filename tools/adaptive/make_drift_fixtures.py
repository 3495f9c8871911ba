#!/usr/bin/env python3
"""Drift detections of River 0.26.1's ADWIN and Page-Hinkley on five streams with known change
points, for HotPath's `ADWIN`, `PageHinkley` and `hotpath drift`:

    mean-shift     N(0, 1) then N(1, 1) from 1,500
    bernoulli      errors of rate 0.2, then 0.6 from 2,000 (a classifier's 0/1 loss)
    steps          means 0, 2, -1, 3, 0 in blocks of 800
    gradual        a mean sliding from 0 to 2 over 1,000..2,000, noise 0.5
    variance       N(5, 0.3) then N(5, 3) from 1,500, then N(8, 3) from 3,000

Writes Tests/Fixtures/adaptive/drift-{stream}.csv (one value per line) and drift.json (per
stream, per detector setting: the indices where drift_detected is true). Run from the
repository root:

    /root/.cache/hp-models/bin/python tools/adaptive/make_drift_fixtures.py
"""
import json, os
import numpy as np
import river
from river import drift

OUT = os.path.join("Tests", "Fixtures", "adaptive")
SETTINGS = {
    "adwin": dict(),
    "adwin-fast": dict(delta=0.01, clock=4, max_buckets=3, min_window_length=8, grace_period=20),
    "page-hinkley": dict(),
    "page-hinkley-up": dict(min_instances=20, delta=0.01, threshold=15.0, alpha=0.999, mode="up"),
    "page-hinkley-down": dict(min_instances=20, delta=0.01, threshold=15.0, alpha=0.999, mode="down"),
}


def streams():
    rng = np.random.default_rng(77)
    yield "mean-shift", np.concatenate([rng.normal(0, 1, 1500), rng.normal(1, 1, 1500)])
    yield "bernoulli", np.concatenate([rng.random(2000) < 0.2, rng.random(2000) < 0.6]).astype(float)
    yield "steps", np.concatenate([rng.normal(m, 1, 800) for m in (0, 2, -1, 3, 0)])
    ramp = np.concatenate([np.zeros(1000), np.linspace(0, 2, 1000), np.full(1000, 2.0)])
    yield "gradual", ramp + rng.normal(0, 0.5, 3000)
    yield "variance", np.concatenate([rng.normal(5, 0.3, 1500), rng.normal(5, 3, 1500), rng.normal(8, 3, 1500)])


def main():
    result = dict(river=river.__version__, settings=SETTINGS, detections={})
    for name, values in streams():
        with open(os.path.join(OUT, f"drift-{name}.csv"), "w") as f:
            f.write("\n".join(repr(float(v)) for v in values) + "\n")
        result["detections"][name] = {}
        for setting, params in SETTINGS.items():
            d = (drift.ADWIN if setting.startswith("adwin") else drift.PageHinkley)(**params)
            hits = []
            for i, v in enumerate(values):
                d.update(float(v))
                if d.drift_detected:
                    hits.append(i)
            result["detections"][name][setting] = hits
        print(name, {k: len(v) for k, v in result["detections"][name].items()})
    json.dump(result, open(os.path.join(OUT, "drift.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
