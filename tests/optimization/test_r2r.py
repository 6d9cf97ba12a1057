"""Run-to-run control between batches: EWMA theory under drift, double EWMA, stability, Cpk, spreading.

Theory checked (see optimization/_r2r.py): with e_t = y_t − T, drift δ per batch, white noise σ²
and ξ = true gain / model gain, the EWMA loop is e_t = (1 − λξ) e_{t−1} + δ + ε_t − ε_{t−1}
(Sachs, Hu & Ingolfsson 1995; del Castillo 2002, ch. 7), so E[e_t] → δ/(λξ) and
Var e_t → 2σ²/(2 − λξ); without control e_t = δt + ε_t, E[e_t²] = δ²t² + σ².
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimization import (
    R2RConfig,
    R2RController,
    double_ewma_roots,
    ewma_drift_theory,
    r2r_history,
    r2r_stability,
)
from workbench.errors import ConfigError

B = np.array([0.5, 2.0])  # model gains of two recipe parameters
TARGET, ALPHA = 10.0, 3.0


def _run(cfg: R2RConfig | None, xi: float, drift: float, sigma: float, n: int, rng) -> np.ndarray:
    """Deviations y_t − T of n batches on y_t = α + δt + ξ b·u_t + ε_t (ξ: true/model gain ratio).

    The first recipe puts the true process on target at t = 0; the controller starts from the
    offset its model gives for that recipe, so e_1 = δ + ε_1 for every ξ (the start of the theory).
    """
    beta = xi * B
    u = np.array([1.0, (TARGET - ALPHA - beta[0]) / beta[1]])  # α + β·u = T
    ctl = None if cfg is None else R2RController(cfg, offset0=TARGET - float(B @ u))
    e = np.empty(n)
    for t in range(1, n + 1):
        y = ALPHA + drift * t + float(beta @ u) + sigma * rng.standard_normal()
        e[t - 1] = y - TARGET
        if ctl is not None:
            u = np.array(list(ctl.observe(y, u).next_recipe().recipe.values()))
    return e


def _cfg(lam: float, lam2: float | None = None, **kw) -> R2RConfig:
    return R2RConfig(target=TARGET, gains={"temp": B[0], "time": B[1]}, lam=lam, lam2=lam2, **kw)


@pytest.mark.parametrize("xi", [1.0, 1.5])
def test_ewma_under_drift_matches_theory(xi):
    """≥ 30 batches, 300 seeds: the MSE, its cut against no control and the asymptotic offset δ/(λξ)
    agree with the closed-loop formulas within a 4-SE interval of the seed mean."""
    lam, drift, sigma, n, seeds = 0.3, 0.2, 1.0, 40, 300
    cfg = _cfg(lam, gain_ratio=(1.0, xi))
    closed = np.empty((seeds, n))
    opened = np.empty((seeds, n))
    for s in range(seeds):
        closed[s] = _run(cfg, xi, drift, sigma, n, np.random.default_rng(s))
        opened[s] = _run(None, xi, drift, sigma, n, np.random.default_rng(s))  # paired noise
    mean_t, mse_t = ewma_drift_theory(lam, xi, drift, sigma, n, first_mean=drift)
    t = np.arange(1, n + 1)
    open_mse = float(np.mean(drift**2 * t**2 + sigma**2))

    def within(per_seed, expected):
        se = per_seed.std(ddof=1) / np.sqrt(per_seed.size)
        assert abs(per_seed.mean() - expected) < 4 * se, (per_seed.mean(), expected, se)

    within((closed**2).mean(axis=1), float(mse_t.mean()))
    within((opened**2).mean(axis=1) - (closed**2).mean(axis=1), open_mse - float(mse_t.mean()))
    assert open_mse - mse_t.mean() > 0.5 * open_mse  # the cut is large, not a rounding effect
    tail = slice(30, n)  # (1 − λξ)^30 < 1e-4: the asymptotic regime
    assert np.allclose(mean_t[tail], drift / (lam * xi), rtol=1e-3)
    within(closed[:, tail].mean(axis=1), drift / (lam * xi))
    v_asym = 2 * sigma**2 / (2 - lam * xi)
    d = closed[:, tail] - drift / (lam * xi)
    within((d**2).mean(axis=1), v_asym)


def test_double_ewma_removes_the_drift_offset():
    lam, lam2, drift, sigma, n, seeds = 0.3, 0.1, 0.2, 1.0, 150, 60
    single, double = np.empty(seeds), np.empty(seeds)
    for s in range(seeds):
        single[s] = _run(_cfg(lam), 1.0, drift, sigma, n, np.random.default_rng(s))[110:].mean()
        double[s] = _run(_cfg(lam, lam2), 1.0, drift, sigma, n, np.random.default_rng(s))[110:].mean()
    se = double.std(ddof=1) / np.sqrt(seeds)
    assert abs(double.mean()) < 4 * se
    assert abs(single.mean() - drift / lam) < 4 * single.std(ddof=1) / np.sqrt(seeds)
    assert single.mean() - double.mean() > 10 * se


@pytest.mark.parametrize(("lam", "lam2", "xi"), [(0.3, 0.1, 1.0), (0.5, 0.3, 2.0), (0.8, 0.6, 1.4), (0.9, 0.9, 2.2),
                                                 (0.6, 0.5, 2.6), (0.2, 0.05, 4.0), (0.7, 0.2, 0.5), (0.4, 0.4, 3.2)])
def test_double_ewma_stability_region_by_simulation(lam, lam2, xi):
    """The root condition (del Castillo 1999) says stable ⇔ the noise-free loop on a process with
    gain ratio ξ converges after a step; cases well inside or outside the region only."""
    radius = float(np.max(np.abs(double_ewma_roots(lam, lam2, xi))))
    assert abs(radius - 1) > 0.03
    assert r2r_stability(lam, lam2, (xi, xi))["stable"] == (radius < 1)
    e = _run(_cfg(lam, lam2), xi, 0.05, 0.0, 400, np.random.default_rng(0))  # drift excites the loop
    if radius < 1:
        assert abs(e[-1]) < 1e-3
    else:
        assert abs(e[-1]) > 1e3
    # the transient decays (or grows) at the spectral radius: max |e| over batches 31-40 vs 11-20
    rate = (np.log(np.abs(e[30:40]).max()) - np.log(np.abs(e[10:20]).max())) / 20
    assert rate == pytest.approx(np.log(radius), abs=0.02)


def test_unstable_gain_is_refused_with_the_bound():
    with pytest.raises(ConfigError) as err:
        _cfg(0.8, gain_ratio=(0.5, 2.6))
    msg = str(err.value)
    assert "lam" in msg and "0 < λ·ξ < 2" in msg and "λ < 0.769231" in msg and "2.08" in msg
    with pytest.raises(ConfigError, match="λ·ξ = 2"):
        _cfg(1.0, gain_ratio=(1.0, 2.0))  # on the bound: not asymptotically stable
    _cfg(0.76, gain_ratio=(0.5, 2.6))  # just inside: accepted
    # the bound is real: λξ just above 2 diverges, just below converges (noise free, drift step)
    assert abs(_run(_cfg(0.5), 4.1, 0.05, 0.0, 300, np.random.default_rng(0))[-1]) > 1e2
    assert abs(_run(_cfg(0.5), 3.9, 0.05, 0.0, 300, np.random.default_rng(0))[-1] - 0.05 / (0.5 * 3.9)) < 1e-3
    with pytest.raises(ConfigError, match="lam2") as err:
        _cfg(0.9, 0.9, gain_ratio=(1.0, 2.5))
    assert "unit circle" in str(err.value)


def test_cpk_improves_with_r2r():
    from spc import capability

    lam, drift, sigma, n, seeds = 0.3, 0.1, 1.0, 40, 100
    diff = np.empty(seeds)
    for s in range(seeds):
        kw = {"lsl": TARGET - 4 * sigma, "usl": TARGET + 4 * sigma}
        y_on = TARGET + _run(_cfg(lam), 1.0, drift, sigma, n, np.random.default_rng(s))
        y_off = TARGET + _run(None, 1.0, drift, sigma, n, np.random.default_rng(s))
        diff[s] = capability(y_on, **kw).indices["Cpk"][0] - capability(y_off, **kw).indices["Cpk"][0]
    lo = diff.mean() - 1.96 * diff.std(ddof=1) / np.sqrt(seeds)
    assert lo > 0, (diff.mean(), lo)


def test_minimum_norm_spread_and_clipping():
    cfg = R2RConfig(target=10.0, gains={"a": 1.0, "b": 2.0}, lam=1.0, weights={"a": 1.0, "b": 4.0})
    step = r2r_history([7.0], [[1.0, 1.0]], cfg)  # offset 4, needs b·Δu = 3
    du = np.array(list(step.correction.values()))
    assert np.allclose(du, np.array([1.0, 2.0]) / np.array([1.0, 4.0]) * 3 / 2)  # W⁻¹b·need/(bᵀW⁻¹b)
    assert step.predicted == pytest.approx(10.0) and step.clipped == []
    clip = R2RConfig(target=10.0, gains={"a": 1.0, "b": 2.0}, lam=1.0, limits={"b": (0.0, 1.5)})
    step = r2r_history([7.0], [[1.0, 1.0]], clip)
    assert step.clipped == ["b"] and step.recipe["b"] == 1.5 and step.recipe["a"] == pytest.approx(3.0)
    assert step.predicted == pytest.approx(10.0)
    tight = R2RConfig(target=10.0, gains={"a": 1.0, "b": 2.0}, lam=1.0, limits={"a": (0, 1.2), "b": (0, 1.5)})
    step = r2r_history([7.0], [[1.0, 1.0]], tight)
    assert sorted(step.clipped) == ["a", "b"] and step.summary()["shortfall"] == pytest.approx(10 - (4 + 1.2 + 3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5).filter(lambda v: abs(v) > 0.05), min_size=1, max_size=4),
       st.floats(-20, 20), st.floats(0.05, 1.0), st.data())
def test_spread_stays_in_limits_and_reaches_target_when_it_can(gains, y, lam, data):
    names = [f"p{i}" for i in range(len(gains))]
    half = data.draw(st.lists(st.floats(0.1, 10), min_size=len(gains), max_size=len(gains)))
    cfg = R2RConfig(target=1.0, gains=dict(zip(names, gains, strict=True)), lam=lam,
                    limits={n: (-h, h) for n, h in zip(names, half, strict=True)})
    step = r2r_history([y, y + 0.5], [[0.0] * len(gains)] * 2, cfg)
    u = np.array(list(step.recipe.values()))
    assert np.all(np.abs(u) <= np.array(half) + 1e-9)
    if not step.clipped:
        assert step.predicted == pytest.approx(1.0, abs=1e-9)
    else:  # every clipped parameter sits at a limit
        assert all(abs(abs(step.recipe[n]) - half[names.index(n)]) < 1e-9 for n in step.clipped)


def test_bad_configuration_names_the_field():
    with pytest.raises(ConfigError, match="gains.a"):
        R2RConfig(target=1.0, gains={"a": 0.0}, lam=0.3)
    with pytest.raises(ConfigError, match=r"lam: the EWMA weight must be in \(0, 1\]"):
        R2RConfig(target=1.0, gains={"a": 1.0}, lam=1.5)
    with pytest.raises(ConfigError, match="limits.x"):
        R2RConfig(target=1.0, gains={"a": 1.0}, lam=0.3, limits={"x": (0, 1)})
    with pytest.raises(ConfigError, match="needs 1 values"):
        R2RController(R2RConfig(target=1.0, gains={"a": 1.0}, lam=0.3)).observe(1.0, [1.0, 2.0])
