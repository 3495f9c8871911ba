#!/usr/bin/env python3
"""Per-update cost of the adaptive layer beside River 0.26.1's, in the same run: runs
`hotpath bench adaptive --json`, then times River on the same kinds of data (32-feature rows
for LogisticRegression.learn_one / predict_proba_one; a normal stream with a mean shift every
10,000 values for ADWIN and PageHinkley), each the best of three loops. hmmlearn and arch have
no per-update call (their filters and forecasts run over whole arrays), so the HMM step and
GARCH update have no library figure beside them. Run from the repository root, pinned:

    taskset -c 1 /root/.cache/hp-models/bin/python tools/adaptive/bench_river.py
"""
import json, os, subprocess, time
import numpy as np
from river import drift, linear_model, optim

HOTPATH = os.environ.get("HOTPATH", ".build/release/hotpath")


def best_of_three(n, body):
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        body()
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def main():
    ours = json.loads(subprocess.run([HOTPATH, "bench", "adaptive", "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    rng = np.random.default_rng(17)
    rows = [{f"x{j}": float(v) for j, v in enumerate(r)} for r in rng.standard_normal((1024, 32))]
    labels = [r["x0"] + 0.5 * r["x1"] > 0 for r in rows]
    n = 50_000
    model = linear_model.LogisticRegression(optimizer=optim.SGD(0.01), l2=0.001)

    def learn():
        for i in range(n):
            model.learn_one(rows[i & 1023], labels[i & 1023])

    def predict():
        for i in range(n):
            model.predict_proba_one(rows[i & 1023])

    stream = (rng.standard_normal(200_000) + (np.arange(200_000) // 10_000) % 2).tolist()

    def detector(make):
        def body():
            d = make()
            for v in stream:
                d.update(v)
        return body

    theirs = {
        "logistic_learn_32": best_of_three(n, learn),
        "logistic_predict_32": best_of_three(n, predict),
        "adwin_update": best_of_three(len(stream), detector(drift.ADWIN)),
        "page_hinkley_update": best_of_three(len(stream), detector(drift.PageHinkley)),
    }
    print(f"{'update':24s} {'hotpath ns':>11s} {'river ns':>10s} {'river / hotpath':>16s}")
    for key, value in ours.items():
        river = theirs.get(key)
        print(f"{key:24s} {value:11.2f} {river if river else float('nan'):10.0f} "
              f"{(river / value) if river else float('nan'):16.0f}")


if __name__ == "__main__":
    main()
