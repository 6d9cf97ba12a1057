"""On-line monitoring with open-end DTW on real batches (issue 19 §5).

Nylon (process-improve, MIT) has no quality labels, so the off-spec case is built:
each held-out real batch is copied with a slow drift added to one tag (Tag05) from
the middle of the batch to its end, growing linearly to 4 times that tag's median
per-time standard deviation over the golden batches – a documented perturbation of
real data, not a real off-spec batch.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

import golden_batch as gb

DATA = importlib.resources.files("process_improve") / "datasets" / "batch"


@pytest.fixture(scope="module")
def split():
    nylon = gb.read_history(DATA / "nylon.csv", phase="Tag01", sample_period=60.0)
    ids = np.sort(nylon["batch"].values)
    test = np.random.default_rng(0).choice(ids, 10, replace=False)
    train = np.setdiff1d(ids, test)
    model = gb.GoldenBatchModel(mpca=gb.BatchPCA(0.8, alpha=0.05), quality_model="drop").fit(nylon.sel(batch=train))
    return model, nylon.sel(batch=test)


def _feed(model, batch, drift=None):
    names = model.aligner_.variables_
    el = batch["elapsed"].values
    ok = np.isfinite(el)
    x = np.stack([batch[v].values[ok] for v in names], axis=-1)
    if drift is not None:
        x = x + drift(x.shape[0])[:, None] * (np.asarray(names) == "Tag05")[None, :]
    session = model.start()
    phases = batch["phase"].values[ok]
    alarms = [session.update(t, row, phase=int(p)) for t, row, p in zip(el[ok], x, phases, strict=True)]
    rate = np.mean([(s.t2 > s.t2_limit) or (s.spe > s.spe_limit) for s in alarms if s.index >= 0])
    return session, rate


@pytest.fixture(scope="module")
def runs(split):
    """Every held-out batch fed on line, normal and with the drift; the off-line verdicts beside."""
    model, test = split
    sd = float(np.median(model.envelope_.std_[:, model.variables_.index("Tag05")]))

    def drift(n):
        return 4 * sd * np.clip((np.arange(n) - n / 2) / (n / 2), 0, None)

    offline = model.check(test)
    out = {"normal": [], "bad": [], "reached": 0, "disagree": []}
    for b in test["batch"].values:
        session, rate = _feed(model, test.sel(batch=b))
        out["reached"] += session.reached_end
        out["normal"].append(rate)
        end = session.finish(str(b))
        for key in ("in_control", "in_envelope"):
            if bool(end[key].item()) != bool(offline[key].sel(batch=b)):
                out["disagree"].append((b, key))
        _, bad = _feed(model, test.sel(batch=b), drift)
        out["bad"].append(bad)
    print("per-sample alarm rate normal", np.round(out["normal"], 3), "perturbed", np.round(out["bad"], 3),
          "reached", out["reached"])
    return out


def test_online_verdict_at_the_end_agrees_with_the_offline_verdict(runs):
    assert runs["disagree"] == []


def test_the_drift_raises_the_online_alarm_rate_of_every_batch(runs):
    # paired. Known gap, measured and documented: the per-sample rate of the normal held-out batches is
    # above α on line (median 0.09 at α = 0.05 with the asymmetric open-end rows; 0.02 off line).
    diff = np.asarray(runs["bad"]) - np.asarray(runs["normal"])
    assert (diff > 0).all() and np.median(diff) > 0.08, diff


@pytest.mark.xfail(strict=True, reason="issue 19 §5 open: 7 of 10 held-out nylon sessions reach the reference's "
                   "last grid point (one ends one point short, one lags 8 points)")
def test_sessions_reach_the_end_of_the_reference(runs):
    assert runs["reached"] >= 8  # open-end DTW reaches the end of the reference for (almost) every batch
