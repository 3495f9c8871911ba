#!/usr/bin/env python3
"""The regime session's HMM: hmmlearn 0.3.3's GaussianHMM (3 states, diagonal covariances)
fitted on the bars HotPath's engine sees over a training session of `hotpath gen itch
--regimes`, for RegimeSessionTests and demo/config-regimes.toml.

    1. hotpath gen itch --regimes --seed 11 --messages 1200000   (the training session)
    2. hotpath regime --feed train.itch --inputs range,log_volume (per bar: its range and volume)
    3. GaussianHMM(3, "diag").fit; the states reordered by their mean range, so state 0 is
       calm, 1 normal, 2 volatile, as the generator numbers its regimes;
    4. writes Tests/Fixtures/adaptive/regime-session-hmm.json (and demo/regime-hmm.json), then
       scores the fitted filter with hysteresis on a session of another seed (the test's)
       through `hotpath regime --feed --hmm`, against that session's --truth.

Run from the repository root after `swift build -c release`:

    /root/.cache/hp-models/bin/python tools/adaptive/make_regime_session.py
"""
import csv, json, os, shutil, subprocess, sys, tempfile
import numpy as np
import hmmlearn
from hmmlearn.hmm import GaussianHMM

HOTPATH = os.environ.get("HOTPATH", ".build/release/hotpath")
TRAIN_SEED, TEST_SEED, MESSAGES = 11, 0x4E61, 1_200_000
INPUTS = ["range", "log_volume"]


def run(*args):
    return subprocess.run([HOTPATH, *args], check=True, capture_output=True, text=True).stdout


def truth_at(path):
    segments = [(int(r["start_ns"]), int(r["end_ns"] or 2**63), int(r["regime"])) for r in csv.DictReader(open(path))]
    return lambda t: next(r for a, b, r in segments if a <= t < b)


def main():
    tmp = tempfile.mkdtemp()
    try:
        train = os.path.join(tmp, "train.itch")
        run("gen", "itch", "--regimes", "--seed", str(TRAIN_SEED), "--messages", str(MESSAGES), "--out", train)
        rows = list(csv.DictReader(run("regime", "--feed", train, "--inputs", ",".join(INPUTS)).splitlines()))
        X = np.array([[float(r[c]) for c in INPUTS] for r in rows])
        lengths = [sum(1 for r in rows if r["instrument_id"] == i) for i in sorted({r["instrument_id"] for r in rows})]
        order = sorted({r["instrument_id"] for r in rows})
        X = np.concatenate([X[[k for k, r in enumerate(rows) if r["instrument_id"] == i]] for i in order])
        hmm = GaussianHMM(n_components=3, covariance_type="diag", n_iter=200, random_state=7).fit(X, lengths)
        p = np.argsort(hmm.means_[:, INPUTS.index("range")])  # calm, normal, volatile by mean range
        model = dict(covariance_type="diag", startprob=hmm.startprob_[p].tolist(),
                     transmat=hmm.transmat_[np.ix_(p, p)].tolist(), means=hmm.means_[p].tolist(),
                     covars=[np.diag(hmm.covars_[k]).tolist() for k in p], hmmlearn=hmmlearn.__version__,
                     inputs=INPUTS, bar_seconds=1,
                     made_by=f"tools/adaptive/make_regime_session.py: gen itch --regimes --seed {TRAIN_SEED} "
                             f"--messages {MESSAGES}")
        out = os.path.join("Tests", "Fixtures", "adaptive", "regime-session-hmm.json")
        json.dump(model, open(out, "w"), indent=1)
        shutil.copy(out, os.path.join("demo", "regime-hmm.json"))
        test, truth = os.path.join(tmp, "test.itch"), os.path.join(tmp, "truth.csv")
        run("gen", "itch", "--regimes", "--seed", str(TEST_SEED), "--messages", str(MESSAGES // 2), "--out", test,
            "--truth", truth)
        regime = truth_at(truth)
        scored = list(csv.DictReader(run("regime", "--feed", test, "--hmm", out, "--inputs", ",".join(INPUTS), "--hold", "0.65", "--bars", "2")
                                     .splitlines()))
        agree = sum(int(r["regime"]) == regime(int(r["bar_start_ns"])) for r in scored)
        print(f"{out}: fitted on {len(X)} bars (converged {hmm.monitor_.converged}); "
              f"seed {TEST_SEED:#x}: {agree}/{len(scored)} bars agree ({agree / len(scored):.1%})")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
