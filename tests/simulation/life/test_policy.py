"""Maintenance policy: renewal function, age/block replacement formulas and the simulated search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from simulation.life import (
    LifeDistribution,
    age_replacement_cost_rate,
    block_replacement_cost_rate,
    optimal_age_replacement,
    optimize_pm,
    renewal_function,
)
from tests.simulation.life.conftest import expo, make_model
from workbench.errors import ConfigError

H = 3600.0
WEIBULL = LifeDistribution(distribution="weibull", shape=2.5, scale="1000 h")


def test_renewal_function_exponential_and_asymptote():
    t, M = renewal_function(LifeDistribution(distribution="exponential", mean="100 h"), 1000 * H)
    np.testing.assert_allclose(M, t / (100 * H), rtol=1e-4, atol=1e-4)
    # Weibull: M(t) ≈ t/μ + (σ²/μ² − 1)/2 for large t (Cox 1962, Renewal Theory, §4.5)
    rv = WEIBULL.frozen()
    t, M = renewal_function(WEIBULL, 8000 * H, steps=3000)
    assert M[-1] == pytest.approx(t[-1] / rv.mean() + (rv.var() / rv.mean() ** 2 - 1) / 2, abs=2e-3)


def test_age_replacement_formula_limits():
    cp, cf = 100.0, 1000.0
    # T → ∞: run to failure, cost rate = C_f / MTTF
    assert age_replacement_cost_rate(WEIBULL, 20000 * H, cp, cf) == pytest.approx(cf / WEIBULL.mean_life() * H, rel=1e-6)
    opt = optimal_age_replacement(WEIBULL, cp, cf)
    grid = np.linspace(100, 2000, 400) * H
    brute = age_replacement_cost_rate(WEIBULL, grid, cp, cf)
    assert opt["cost_rate"] <= brute.min() + 1e-9
    assert opt["interval"] == pytest.approx(grid[np.argmin(brute)], rel=0.01)
    # first-order condition (Barlow & Proschan 1965): h(T)·∫R − F(T) = C_p/(C_f − C_p)
    rv = WEIBULL.frozen()
    T = opt["interval"]
    lhs = rv.pdf(T) / rv.sf(T) * integrate.quad(rv.sf, 0, T)[0] - rv.cdf(T)
    assert lhs == pytest.approx(cp / (cf - cp), rel=1e-3)


def test_block_replacement_formula():
    rate = block_replacement_cost_rate(LifeDistribution(distribution="exponential", mean="100 h"),
                                       np.array([50, 200]) * H, 10.0, 100.0)
    # exponential: M(T) = T/θ ⇒ C(T) = C_p/T + C_f/θ
    np.testing.assert_allclose(rate, 10.0 / np.array([50, 200]) + 1.0, rtol=1e-4)


def test_optimize_pm_needs_preventive():
    m = make_model("a", [expo("a")])
    with pytest.raises(ConfigError, match="preventive"):
        optimize_pm(m)


def test_optimize_pm_grid_and_analytic():
    comp = {"name": "a", "life": {"distribution": "weibull", "shape": 2.5, "scale": "1000 h"},
            "preventive": {"policy": "age", "interval": "400 h", "cost": 100}, "costs": {"failure": 1000}}
    m = make_model("a", [comp], mission_time="30000 h", replications=8)
    ds = optimize_pm(m, intervals=np.array([150, 400, 1500]) * H)
    assert ds.attrs["analytic_applies"] == 1
    assert ds.attrs["best_interval_s"] == 400 * H
    assert "cost_rate_analytic" in ds and ds["cost_rate"].dims == ("bound", "trial")
