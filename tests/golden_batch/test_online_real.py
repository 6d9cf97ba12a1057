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


def test_sessions_reach_the_end_and_agree_with_the_offline_verdict(split):
    model, test = split
    sd = float(np.median(model.envelope_.std_[:, model.variables_.index("Tag05")]))

    def drift(n):
        return 4 * sd * np.clip((np.arange(n) - n / 2) / (n / 2), 0, None)

    normal_rates, bad_rates, reached = [], [], 0
    offline = model.check(test)
    for b in test["batch"].values:
        session, rate = _feed(model, test.sel(batch=b))
        reached += session.reached_end
        normal_rates.append(rate)
        end = session.finish(str(b))
        for key in ("in_control", "in_envelope"):
            assert bool(end[key].item()) == bool(offline[key].sel(batch=b)), (b, key)
        _, bad = _feed(model, test.sel(batch=b), drift)
        bad_rates.append(bad)
    print("per-sample alarm rate normal", np.round(normal_rates, 3), "perturbed", np.round(bad_rates, 3),
          "reached", reached)
    assert reached >= 8  # open-end DTW reaches the end of the reference for (almost) every batch
    # the drift raises the alarm rate of every batch (paired). Known gap, measured and documented: the
    # per-sample rate of the normal held-out batches is far above α on line (median 0.20 at α = 0.05),
    # while the same batches aligned off line give 0.02 – the open-end DTW position is the weak part.
    diff = np.asarray(bad_rates) - np.asarray(normal_rates)
    assert (diff > 0).all() and np.median(diff) > 0.08, diff
