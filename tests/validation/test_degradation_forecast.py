"""Degradation forecast (issue 26 part 3, the math): drift fit, limit-crossing interval, cleaning interval.

Truth: the emulator's fouling law (scenarios/reactor_plant.yaml): R_fouling grows linearly at
2·10⁻⁸ m²K/W per s, so the tracked ``1/U_eff = 1/U + R_fouling(t)`` is linear in time. The
tracked path is observed every 10 min over 2 days with a tracking noise of 2·10⁻⁵ m²K/W.

Claims:
* the Fieller interval of the limit-crossing time covers the true crossing time in a fraction
  whose exact binomial 95 % interval contains 0.95 (300 seeds; linear and exponential drift);
* the closed-form cleaning interval τ* = −d + √(d² + 2C/(k b)) is the minimiser of the
  renewal-reward cost rate (checked against a numerical minimiser), and the slope's interval
  maps onto an interval that covers τ*(true b) at the nominal rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import binomtest, linregress

from twin import cleaning_cost_rate, fit_drift, optimal_cleaning_interval
from workbench.errors import DataQualityError, SolverError

U, RATE, NOISE = 400.0, 2.0e-8, 2.0e-5
T = np.arange(0.0, 2 * 86400.0 + 1, 600.0)
LIMIT = 1 / U + 6.0e-3  # the jacket can no longer deliver the duty at R_fouling = 6e-3 m2K/W
T_TRUE = 6.0e-3 / RATE  # 3.47 days


def _ok(k: int, n: int) -> tuple[bool, tuple[float, float]]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return ci.low <= 0.95 <= ci.high, (round(ci.low, 3), round(ci.high, 3))


def test_linear_fit_matches_linregress_and_noise_free_crossing_is_exact():
    rng = np.random.default_rng(0)
    y = 1 / U + RATE * T + rng.normal(0, NOISE, T.size)
    fit = fit_drift(T, y)
    ref = linregress(T, y)
    assert fit.slope == pytest.approx(ref.slope) and fit.intercept == pytest.approx(ref.intercept)
    assert np.sqrt(fit.covariance[1, 1]) == pytest.approx(ref.stderr)
    exact = fit_drift(T, 1 / U + RATE * T + 1e-12 * np.sin(T))
    assert exact.crossing(LIMIT).time == pytest.approx(T_TRUE, rel=1e-6)


@pytest.mark.parametrize("model", ["linear", "exponential"])
def test_crossing_interval_covers_the_true_crossing_time(model):
    rng = np.random.default_rng(26)
    n, covered, widths = 300, 0, []
    for _ in range(n):
        if model == "linear":
            y = 1 / U + RATE * T + rng.normal(0, NOISE, T.size)
            limit, truth = LIMIT, T_TRUE
        else:  # multiplicative noise around an exponential path (e.g. a catalyst activity decay)
            y = np.exp(np.log(1.0) - 5e-6 * T + rng.normal(0, 0.02, T.size))
            limit, truth = 0.5, np.log(2) / 5e-6
        c = fit_drift(T, y, model=model).crossing(limit)
        assert c.bounded
        covered += c.low <= truth <= c.high
        widths.append((c.high - c.low) / truth)
    ok, ci = _ok(covered, n)
    print(f"\n{model}: crossing-time coverage {covered}/{n} = {covered / n:.3f}, exact 95 % CI {ci}, "
          f"median relative width {np.median(widths):.3f}")
    assert ok


def test_a_flat_path_has_no_bounded_crossing():
    rng = np.random.default_rng(1)
    c = fit_drift(T, 1 / U + rng.normal(0, NOISE, T.size)).crossing(LIMIT)
    assert not c.bounded and np.isnan(c.low) and "not determined" in c.describe()


def test_cleaning_interval_closed_form_is_the_cost_rate_minimum():
    fit = fit_drift(T, 1 / U + RATE * T + np.random.default_rng(2).normal(0, NOISE, T.size))
    C, k, d = 5000.0, 7.5, 8 * 3600.0  # cost per cleaning, cost per (m2K/W) per s, 8 h downtime
    plan = optimal_cleaning_interval(fit, cleaning_cost=C, loss_rate=k, downtime=d)
    num = minimize_scalar(lambda t: cleaning_cost_rate(t, fit.slope, C, k, d), bounds=(1.0, 1e8), method="bounded",
                          options={"xatol": 1.0})
    assert plan.interval == pytest.approx(num.x, rel=1e-4)
    assert plan.interval == pytest.approx(-d + np.sqrt(d * d + 2 * C / (k * fit.slope)))
    no_down = optimal_cleaning_interval(fit, cleaning_cost=C, loss_rate=k)
    assert no_down.interval == pytest.approx(np.sqrt(2 * C / (k * fit.slope)))
    assert plan.low < plan.interval < plan.high and plan.cost_curve.min() >= plan.cost_rate - 1e-12
    # a limit reached before the economic optimum caps the interval at the crossing
    capped = optimal_cleaning_interval(fit, cleaning_cost=C, loss_rate=k / 100, limit=1 / U + 1e-3)
    assert capped.limited and capped.interval == pytest.approx((1 / U + 1e-3 - fit.intercept) / fit.slope)


def test_cleaning_interval_bounds_cover_the_true_optimum():
    rng = np.random.default_rng(7)
    C, k, d = 5000.0, 7.5, 8 * 3600.0
    truth = -d + np.sqrt(d * d + 2 * C / (k * RATE))
    n = 300
    covered = 0
    for _ in range(n):
        fit = fit_drift(T, 1 / U + RATE * T + rng.normal(0, NOISE, T.size))
        plan = optimal_cleaning_interval(fit, cleaning_cost=C, loss_rate=k, downtime=d)
        covered += plan.low <= truth <= plan.high
    ok, ci = _ok(covered, n)
    print(f"\ncleaning interval: true optimum {truth / 86400:.2f} d covered {covered}/{n}, exact 95 % CI {ci}")
    assert ok


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(DataQualityError, match="at least 3"):
        fit_drift([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(DataQualityError, match="positive"):
        fit_drift(T, np.zeros_like(T), model="exponential")
    with pytest.raises(DataQualityError, match="not known"):
        fit_drift(T, T, model="quadratic")
    with pytest.raises(SolverError, match="never pays"):
        optimal_cleaning_interval(fit_drift(T, 1.0 - 1e-9 * T), cleaning_cost=1.0, loss_rate=1.0)
