"""Clean-run false alarms of the shipped reactor twin over many plant seeds, against CUSUM theory.

The twin (``scenarios/reactor_twin.yaml``) runs an EKF on the FMU states with the
input sensors' noise as process noise, and its CUSUM sees the innovations
standardised by the filter's predicted √S. If the filter is consistent those are
white N(0, 1) (Mehra & Peschon, *Automatica* 7, 1971), so

* a two-sided tabular CUSUM (k = 0.5) restarted after each signal signals on
  average once per ARL samples, ARL from Siegmund's approximation
  (Siegmund, *Sequential Analysis*, 1985; Montgomery, *Introduction to Statistical
  Quality Control*, 7th ed., 2013, §9.1.4). A CUSUM with h = 4 (ARL ≈ 168
  samples) on the recorded innovations signals often enough to test the rate;
* the shipped h = 10 (ARL₀ ≈ 7·10⁴ samples two-sided per tag) raises about
  ``runs · 3 tags · 721 / 7·10⁴`` alarms, a Poisson count;
* the variance of 30-sample means is that of white noise.

Before the input noise entered the filter (and still with ``sync.method: reset``)
the residuals carried minutes-long episodes of about 1 σ driven by the noisy
measured inputs (variance of 30-sample means 1.2–1.5 × white): 8–9 of 30 clean
runs raised an alarm, against 0.9 alarms expected (docs/twin-monitoring.md,
"False alarms").
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

from twin import Twin, cusum_arl_siegmund  # noqa: E402
from twin.emulator import PlantEmulator  # noqa: E402

SEEDS = range(101, 113)  # 12 clean 2-h runs, none of them used to tune anything
TAGS = 3


def _cusum_signals(z: np.ndarray, k: float, h: float) -> int:
    """Signals of a two-sided tabular CUSUM on a standardised series, restarted after each signal."""
    cp = cm = 0.0
    n = 0
    for v in z:
        cp = max(0.0, cp + v - k)
        cm = max(0.0, cm - v - k)
        if cp > h or cm > h:
            n += 1
            cp = cm = 0.0
    return n


@pytest.fixture(scope="module")
def clean_runs():
    """Standardised innovations (runs × samples × tags) and the alarm events of each clean run."""
    z, events = [], []
    for seed in SEEDS:
        twin = Twin(make_binding())
        rows = []
        for frame in PlantEmulator(plant(duration="2 h", seed=seed)).frames():
            step = twin.process(frame)
            rows.append(step.residual[-TAGS:] / twin.residual_scale())
        events.append(twin.close().events)
        z.append(np.array(rows[1:]))
    return np.array(z), events


@pytest.mark.slow
def test_innovations_are_white_unit_variance(clean_runs):
    z, _ = clean_runs
    assert np.isfinite(z).all()
    n = z.shape[0] * z.shape[1]
    std = z.std(axis=(0, 1))
    mean = z.mean(axis=(0, 1))
    # variance of a sample of n N(0,1): chi2; means within 4 standard errors
    lo, hi = (np.sqrt(stats.chi2.ppf(q, n - 1) / (n - 1)) for q in (1e-4, 1 - 1e-4))
    print(f"\nstandardised innovations over {z.shape[0]} runs: std {std.round(3)}, mean {mean.round(3)}")
    assert np.all((std > lo - 0.03) & (std < hi + 0.03)), (std, lo, hi)
    assert np.all(np.abs(mean) < 4 / np.sqrt(n)), mean
    # slow episodes: the variance of 30-sample means is that of white noise (ratio 1), not inflated
    w = 30
    m = z[:, : z.shape[1] // w * w].reshape(z.shape[0], -1, w, TAGS).mean(axis=2)
    ratio = m.var(axis=(0, 1)) * w
    blocks = m.shape[0] * m.shape[1]
    upper = stats.chi2.ppf(1 - 1e-3, blocks) / blocks
    print(f"variance of 30-sample means × 30: {ratio.round(2)} (white: 1, 99.9 % bound {upper:.2f})")
    assert np.all(ratio < upper), ratio


@pytest.mark.slow
def test_cusum_signal_rate_on_innovations_matches_siegmund(clean_runs):
    z, _ = clean_runs
    h = 4.0
    samples = z.shape[0] * z.shape[1] * TAGS
    arl = cusum_arl_siegmund(0.5, h)  # two-sided
    expected = samples / arl
    seen = sum(_cusum_signals(z[r, :, j], 0.5, h) for r in range(z.shape[0]) for j in range(TAGS))
    print(f"\nCUSUM k=0.5, h={h} on {samples} standardised innovations: {seen} signals, "
          f"expected {expected:.0f} (two-sided ARL {arl:.1f} samples)")
    # run lengths are close to geometric, so the count is close to Poisson; Siegmund ±3 %
    assert abs(seen - expected) < 4 * np.sqrt(expected) + 0.03 * expected


@pytest.mark.slow
def test_shipped_twin_false_alarm_count_is_poisson_consistent(clean_runs):
    _, events = clean_runs
    alarms = sum(len(e) for e in events)
    samples = len(events) * 721 * TAGS
    expected = samples / cusum_arl_siegmund(0.5, 10.0)
    print(f"\n{len(events)} clean 2-h runs: {alarms} false alarms "
          f"({sum(bool(e) for e in events)} runs with any), expected {expected:.2f}")
    # P(N >= 4 | Poisson(expected ≈ 0.37)) < 0.1 %; the old residuals gave ~9 per 12 runs
    assert stats.poisson.sf(alarms - 1, expected) > 1e-3, [ev.as_dict() for e in events for ev in e]
