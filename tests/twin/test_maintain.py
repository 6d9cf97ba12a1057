"""`twin.maintenance_forecast` on synthetic paths (no FMU): scales, the wrong-side check, the cleaning plan."""

from __future__ import annotations

import numpy as np
import pytest

from twin import ParameterPath, maintenance_forecast
from workbench.errors import DataError

T = np.arange(0.0, 48 * 3600.0, 1800.0)


def _path(y, se=0.5):
    return ParameterPath("U", T, T + 1800.0, np.asarray(y, float), np.full(T.size, se), ["sigma"] * T.size, [], [],
                         0.95, 0.0, float(T[-1] + 1800.0))


def test_falling_linear_path_crosses_and_cleans_on_the_flipped_degradation():
    rng = np.random.default_rng(4)
    b = -2e-4  # W/(m2.K) per s
    p = _path(400 + b * (T + 900) + rng.normal(0, 0.5, T.size))
    fc = maintenance_forecast(p, 300.0, cleaning_cost=5000.0, loss_rate=1e-3, downtime=3600.0)
    truth = 100 / 2e-4
    assert fc.crossing.bounded and fc.crossing.low < truth < fc.crossing.high
    in_, lo, hi = fc.reaches_in
    assert lo < in_ < hi and in_ == pytest.approx(fc.crossing.time - p.t_end)
    slope = -fc.fit.slope  # degradation = U lost, growing
    tau = -3600.0 + np.sqrt(3600.0**2 + 2 * 5000.0 / (1e-3 * slope))
    assert fc.plan.interval == pytest.approx(min(tau, (400 - 300) / slope), rel=0.02)


def test_reciprocal_band_is_back_transformed_in_order():
    p = _path(1 / (1 / 400 + 2e-9 * (T + 900)), se=0.2)
    fc = maintenance_forecast(p, 300.0, scale="reciprocal")
    band = fc.band(np.array([0.0, 1e5, 5e5]))
    assert (band["low"] <= band["mean"]).all() and (band["mean"] <= band["high"]).all()
    assert fc.crossing.time == pytest.approx((1 / 300 - 1 / 400) / 2e-9, rel=1e-6)


@pytest.mark.parametrize("limit, scale", [(450.0, "linear"), (450.0, "reciprocal"), (450.0, "exponential")])
def test_a_limit_behind_the_drift_is_refused(limit, scale):
    p = _path(400 - 2e-4 * (T + 900))
    with pytest.raises(DataError, match="wrong side.*falling.*below"):
        maintenance_forecast(p, limit, scale=scale)


def test_rising_parameter_needs_a_limit_above():
    p = _path(1.0 + 1e-6 * (T + 900), se=1e-3)
    with pytest.raises(DataError, match="rising.*above"):
        maintenance_forecast(p, 0.5)
    assert maintenance_forecast(p, 1.5).crossing.bounded


def test_too_few_windows_and_unknown_model():
    p = _path(400 - 2e-4 * (T + 900))
    short = ParameterPath("U", T[:2], T[:2] + 1800, p.estimate[:2], p.std_error[:2], ["sigma"] * 2,
                          [{"start": 0, "end": 1, "reason": "x"}], [], 0.95, 0.0, 3600.0)
    with pytest.raises(DataError, match="at least 3"):
        maintenance_forecast(short, 300.0)
    with pytest.raises(DataError, match="not known"):
        maintenance_forecast(p, 300.0, scale="quadratic")
    fc = maintenance_forecast(p, 300.0, scale="exponential", cleaning_cost=1.0, loss_rate=1.0)
    assert fc.plan is None and "linear drift" in fc.plan_note
