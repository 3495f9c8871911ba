#!/usr/bin/env python3
"""Regime references: a 3-state GaussianHMM (hmmlearn 0.3.3, diagonal covariances) over 4 bar
features, and GARCH(1,1) (arch 8.0.0) over the bar returns, for HotPath's GaussianHMMFilter,
GARCH11 and `hotpath regime`.

The bars are synthetic with regimes the generator controls (calm, trending, volatile; sticky
switches): return (0.1 %), realised volatility, spread (bps) and volume (log). Writes to
Tests/Fixtures/adaptive/:

    regime-bars.csv     return,realized_vol,spread,log_volume,state   (1,200 bars; state = truth)
    regime-hmm.json     export_hmm(): startprob, transmat, means, covars (fitted on the first 800)
    regime-hmm.ref.csv  per bar t: the last row of model.predict_proba(X[:t+1]) (the filter)
    regime-garch.json   mu, omega, alpha, beta, backcast (fitted on every return)
    regime-garch.ref.csv per bar t: res.forecast(horizon=1, start=0).variance at t

Run from the repository root:

    /root/.cache/hp-models/bin/python tools/adaptive/make_regime_fixtures.py
"""
import json, os
import numpy as np
import arch, hmmlearn
from arch import arch_model
from hmmlearn.hmm import GaussianHMM

OUT = os.path.join("Tests", "Fixtures", "adaptive")


def export_hmm(model, path):
    """A fitted diagonal GaussianHMM as the JSON GaussianHMMFilter.load reads."""
    if model.covariance_type != "diag":
        raise SystemExit(f"covariance_type {model.covariance_type}: export a diag model")
    json.dump(dict(covariance_type="diag", startprob=model.startprob_.tolist(), transmat=model.transmat_.tolist(),
                   means=model.means_.tolist(), covars=[np.diag(c).tolist() for c in model.covars_],
                   hmmlearn=hmmlearn.__version__), open(path, "w"), indent=1)


def bars(n, rng):
    # per state: return mean, return sd, spread, volume
    spec = [(0.0, 0.5, 1.0, 6.0), (0.8, 1.2, 1.5, 7.0), (-0.5, 4.0, 4.0, 8.0)]
    stay = 0.97
    state, states = 0, []
    for _ in range(n):
        if rng.random() > stay:
            state = int(rng.choice([s for s in range(3) if s != state]))
        states.append(state)
    states = np.array(states)
    mu, sd, spread, vol = (np.array([s[i] for s in spec])[states] for i in range(4))
    r = mu + sd * rng.standard_normal(n)
    rv = np.abs(r) * 0.5 + sd * 0.5 + 0.1 * rng.standard_normal(n)
    return np.column_stack([r, rv, spread + 0.3 * rng.standard_normal(n), vol + 0.4 * rng.standard_normal(n)]), states


def main():
    rng = np.random.default_rng(2024)
    X, states = bars(1200, rng)
    with open(os.path.join(OUT, "regime-bars.csv"), "w") as f:
        f.write("return,realized_vol,spread,log_volume,state\n")
        for row, s in zip(X, states):
            f.write(",".join(repr(float(v)) for v in row) + f",{s}\n")
    hmm = GaussianHMM(n_components=3, covariance_type="diag", n_iter=200, random_state=7).fit(X[:800])
    export_hmm(hmm, os.path.join(OUT, "regime-hmm.json"))
    with open(os.path.join(OUT, "regime-hmm.ref.csv"), "w") as f:
        f.write("p_0,p_1,p_2\n")
        for t in range(len(X)):
            f.write(",".join(repr(float(p)) for p in hmm.predict_proba(X[:t + 1])[-1]) + "\n")
    model = arch_model(X[:, 0], mean="Constant", vol="GARCH", p=1, q=1)
    res = model.fit(disp="off")
    p = res.params
    backcast = float(model.volatility.backcast(np.asarray(X[:, 0] - p["mu"])))
    json.dump(dict(mu=float(p["mu"]), omega=float(p["omega"]), alpha=float(p["alpha[1]"]), beta=float(p["beta[1]"]),
                   backcast=backcast, arch=arch.__version__), open(os.path.join(OUT, "regime-garch.json"), "w"), indent=1)
    variance = res.forecast(horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]
    with open(os.path.join(OUT, "regime-garch.ref.csv"), "w") as f:
        f.write("variance\n" + "\n".join(repr(float(v)) for v in variance) + "\n")
    decoded = hmm.predict_proba(X).argmax(1)
    print("hmm", hmm.monitor_.converged, "garch", dict(p), "rows", len(variance))


if __name__ == "__main__":
    main()
