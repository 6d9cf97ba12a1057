"""Residual Hotelling T² (``detection.residual_t2``): false-alarm rate ≈ α, a sensor bias found and located.

False-alarm rate. Input: synthetic standardised innovations, N(0, R) white, 40 seeds × 2,500
samples (1,000 for the correlated and missing cases, whose per-row solve is slower), fed straight to :class:`twin.ResidualT2` — the model the χ² limit assumes, which the
shipped EKF twin's innovations meet (``test_twin_false_alarms.py``: std 0.99–1.00, white). A full
emulator run costs about 2 s per simulated hour, so 30+ clean seeds of it would not fit this file's
time budget. Per sample, ``T² > χ²_{q, 1−α}`` is a Bernoulli(α) trial, so the pooled count over
all samples must lie within the binomial (Clopper–Pearson) interval of α — for R = I, for a
correlated R given to the detector, and with 10 % of residuals missing (the sub-vector rule).

Bias. A +3 σ bias on one of four sensors for 300 samples: every seed raises an alarm during the
bias, and the largest contribution at the raising sample (Westerhuis et al. 2000) is the biased
sensor in most runs (share printed and asserted). The emulated reactor (EKF twin, +0.5 K bias on
``TI_reactor``) does the same on 3 plant seeds.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "twin"))
from _reactor import binding as make_binding  # noqa: E402
from _reactor import plant  # noqa: E402

from twin import ResidualT2, Twin  # noqa: E402
from twin.emulator import PlantEmulator  # noqa: E402

SEEDS = range(1, 41)
N = 2500
TAGS = ["a", "b", "c", "d"]
R = np.array([[1.0, 0.5, 0.3, 0.0],
              [0.5, 1.0, 0.4, 0.1],
              [0.3, 0.4, 1.0, 0.2],
              [0.0, 0.1, 0.2, 1.0]])


def _innovations(seed: int, corr: np.ndarray | None) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal((N, len(TAGS)))
    return z if corr is None else z @ np.linalg.cholesky(corr).T


def _exceedances(corr, missing: float, alpha: float, rows: int) -> tuple[int, int]:
    k = n = 0
    for seed in SEEDS:
        z = _innovations(seed, corr)[:rows]
        if missing:
            z[np.random.default_rng(1000 + seed).random(z.shape) < missing] = np.nan
        det = ResidualT2(TAGS, alpha=alpha)
        for row in z:
            det.update(0.0, row, corr)
            if np.isfinite(det.limit) and np.isfinite(row).any():
                n += 1
                k += det.t2 > det.limit
    return k, n


@pytest.mark.parametrize(("case", "alpha", "n"), [("identity", 0.01, N), ("identity", 0.001, N),
                                                  ("correlated", 0.01, 1000), ("missing", 0.01, 1000)])
def test_clean_false_alarm_rate_is_alpha(case, alpha, n):
    corr = None if case == "identity" else R
    k, n = _exceedances(corr, 0.1 if case == "missing" else 0.0, alpha, n)
    ci = stats.binomtest(k, n, alpha).proportion_ci(0.999, method="exact")
    print(f"\n{case}, α={alpha}: {k}/{n} = {k / n:.5f} above the χ² limit, 99.9 % CI [{ci.low:.5f}, {ci.high:.5f}]")
    assert ci.low <= alpha <= ci.high


def test_correlation_ignored_is_not_alpha():
    """The check above can fail: correlated innovations scored as independent (R = I) miss α."""
    k = 0
    for seed in SEEDS:
        det = ResidualT2(TAGS, alpha=0.01)
        det.update_block(np.arange(N, dtype=float), _innovations(seed, R))
        k += len(det.events)  # min_run 1: an event starts at every excursion above the limit
    ci = stats.binomtest(k, len(SEEDS) * N, 0.01).proportion_ci(0.999, method="exact")
    assert ci.low > 0.01, (k, ci)


@pytest.mark.parametrize("corr", [None, R], ids=["identity", "correlated"])
def test_bias_on_one_sensor_is_found_and_located(corr):
    hits, top = 0, 0
    for seed in SEEDS:
        z = _innovations(seed, corr)[:1300]
        z[1000:1300, 2] += 3.0
        det = ResidualT2(TAGS, alpha=0.001, min_run=2)
        for i, row in enumerate(z):
            det.update(float(i), row, corr)
        during = [e for e in det.events if 1000 <= e.start < 1300]
        hits += bool(during)
        top += bool(during) and during[0].tag == "c"
    share = top / len(SEEDS)
    print(f"\n+3σ bias on sensor c: alarm in {hits}/{len(SEEDS)} seeds, top contribution c in {share:.0%}")
    assert hits == len(SEEDS)
    assert share >= 0.8


def test_emulated_reactor_bias_found_and_located():
    faults = [{"kind": "bias", "tag": "TI_reactor", "at": "15 min", "until": "30 min", "value": 0.5}]
    found, top = 0, 0
    seeds = range(11, 14)
    for seed in seeds:
        twin = Twin(make_binding(**{"detection.residual_t2": {"enabled": True, "alpha": 0.001, "min_run": 2}}))
        for f in PlantEmulator(plant(duration="32 min", seed=seed, faults=faults)).frames():
            twin.process(f)
        ev = [e for e in twin.close().events if e.kind == "residual-t2" and 900 <= e.start <= 1800]
        found += bool(ev)
        top += bool(ev) and ev[0].tag == "TI_reactor"
    print(f"\nreactor +0.5 K on TI_reactor: residual-t2 alarm in {found}/3 seeds, top TI_reactor in {top}/3")
    assert found == 3 and top == 3


def test_estimated_covariance_phase_ii_limit_keeps_alpha():
    """``reference: m``: mean and covariance from m = 30 clean samples, then one new sample per seed.

    Each of 2,000 seeds has its own reference window, so the new samples are independent
    Bernoulli trials of the unconditional false-alarm rate, which the Tracy–Young–Mason F limit
    makes α; the χ² limit (estimation ignored) exceeds α several times over.
    """
    alpha, m, k_f, k_chi2, seeds = 0.01, 30, 0, 0, 2000
    for seed in range(seeds):
        z = _innovations(10_000 + seed, R)[: m + 1]
        det = ResidualT2(TAGS, alpha=alpha, reference=m)
        for row in z:
            det.update(0.0, row)
        k_f += det.t2 > det.limit
        k_chi2 += det.t2 > stats.chi2.ppf(1 - alpha, len(TAGS))
    ci_f = stats.binomtest(k_f, seeds, alpha).proportion_ci(0.999, method="exact")
    ci_chi2 = stats.binomtest(k_chi2, seeds, alpha).proportion_ci(0.999, method="exact")
    print(f"\nPhase II, m={m}: {k_f}/{seeds} above the F limit, {k_chi2}/{seeds} above χ² (α = {alpha})")
    assert ci_f.low <= alpha <= ci_f.high
    assert ci_chi2.low > alpha


def test_estimated_covariance_bias_found_and_located():
    top = 0
    for seed in SEEDS:
        z = _innovations(seed, R)[:400]
        z[200:400, 2] += 3.0
        det = ResidualT2(TAGS, alpha=0.001, min_run=2, reference=100)
        for i, row in enumerate(z):
            det.update(float(i), row)
        during = [e for e in det.events if 200 <= e.start < 400]
        assert during, seed
        top += during[0].tag == "c"
    print(f"\nreference 100, +3σ bias on c: top contribution c in {top / len(SEEDS):.0%}")
    assert top / len(SEEDS) >= 0.8
