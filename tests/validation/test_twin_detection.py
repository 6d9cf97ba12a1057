"""EWMA and CUSUM run lengths of the twin's detectors against theory and published tables.

References
----------
Lucas, J. M. & Saccucci, M. S. (1990). Exponentially weighted moving average control
schemes: properties and enhancements. Technometrics 32(1), 1-12 (Table 3).
Montgomery, D. C. (2013). Introduction to Statistical Quality Control, 7th ed.,
Wiley: Table 9.11 (EWMA ARLs), Table 9.3 (CUSUM ARLs, k = 1/2).
Brook, D. & Evans, D. A. (1972). An approach to the probability distribution of
CUSUM run length. Biometrika 59(3), 539-549 (Markov-chain method).
Siegmund, D. (1985). Sequential Analysis. Springer (ARL approximation).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin import DetectorBank, cusum_arl_siegmund, ewma_arl


def _run_lengths(method: str, shift: float, n: int, seed: int, max_steps: int = 8000, **kw) -> np.ndarray:
    """Simulate n independent residual streams N(shift, 1) in one vectorised bank."""
    rng = np.random.default_rng(seed)
    bank = DetectorBank(
        [f"s{i}" for i in range(n)], sigma=np.ones(n), limit=np.full(n, np.nan), method=[method] * n,
        track_events=False, **kw,
    )
    rl = np.full(n, max_steps, dtype=float)
    alive = np.ones(n, bool)
    bit = 2 if method == "ewma" else 4
    for step in range(1, max_steps + 1):
        bits = bank.update(float(step), rng.normal(shift, 1.0, n))
        hit = alive & ((bits & bit) > 0)
        rl[hit] = step
        alive &= ~hit
        if not alive.any():
            break
    assert not alive.any(), "some streams never signalled; raise max_steps"
    return rl


@pytest.mark.parametrize(
    ("lam", "L", "shift", "table"),
    [(0.2, 2.962, 0.0, 500.0), (0.2, 2.962, 1.0, 10.5), (0.1, 2.814, 0.0, 500.0), (0.1, 2.814, 1.0, 10.3)],
)
def test_ewma_markov_chain_matches_published_table(lam, L, shift, table):
    # Montgomery Table 9.11 / Lucas & Saccucci: values are rounded to 3 significant digits
    assert ewma_arl(lam, L, shift) == pytest.approx(table, rel=0.02)


def test_cusum_siegmund_matches_published_table():
    # Montgomery Table 9.3 (k = 0.5): h = 5 -> ARL0 465, ARL(1 sigma) 10.4; h = 4 -> 168, 8.38
    assert cusum_arl_siegmund(0.5, 5.0, 0.0) == pytest.approx(465, rel=0.02)
    assert cusum_arl_siegmund(0.5, 5.0, 1.0) == pytest.approx(10.4, rel=0.03)
    assert cusum_arl_siegmund(0.5, 4.0, 0.0) == pytest.approx(168, rel=0.03)


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_ewma_simulated_arl_matches_markov_chain(shift):
    n = 2000
    rl = _run_lengths("ewma", shift, n, seed=11 + int(shift), lam=0.2, L=2.962)
    theory = ewma_arl(0.2, 2.962, shift)
    se = rl.std(ddof=1) / np.sqrt(n)
    assert abs(rl.mean() - theory) < 4 * se, (rl.mean(), theory, se)


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_cusum_simulated_arl_matches_siegmund(shift):
    n = 2000
    rl = _run_lengths("cusum", shift, n, seed=21 + int(shift), k=0.5, h=5.0)
    theory = cusum_arl_siegmund(0.5, 5.0, shift)
    se = rl.std(ddof=1) / np.sqrt(n)
    # Siegmund's approximation itself is good to about 2 % here (Montgomery 2013, §9.1.4)
    assert abs(rl.mean() - theory) < 4 * se + 0.02 * theory, (rl.mean(), theory, se)


def test_alarm_events_have_start_end_tag_magnitude():
    bank = DetectorBank(["T", "F"], sigma=np.array([0.1, np.nan]), limit=np.array([1.0, np.nan]),
                        method=["cusum", "ewma"], units=["K", "m3/s"], warmup=5)
    rng = np.random.default_rng(0)
    for k in range(40):
        r = np.array([rng.normal(0, 0.1) + (2.0 if 10 <= k < 20 else 0.0), rng.normal(0, 1e-4)])
        bank.update(float(k), r)
    bank.close(40.0)
    assert bank.sigma[1] == pytest.approx(1e-4, rel=0.8)  # estimated in warm-up
    lim = [e for e in bank.events if e.kind == "limit"]
    assert [(e.tag, e.start, e.end, e.direction) for e in lim] == [("T", 10.0, 20.0, 1)]
    assert lim[0].magnitude == pytest.approx(2.0, abs=0.4) and lim[0].unit == "K"
    cus = [e for e in bank.events if e.kind == "cusum"]
    assert cus and cus[0].start == 10.0 and cus[0].tag == "T"
