"""Line twin against the line emulator: a cycle-time degradation is caught on the right
station within the stated delay, a clean run raises nothing, and the re-calibrated
cycle-time distribution recovers the true one within its confidence interval.

Stated delay. The CUSUM runs on normal scores z = Φ⁻¹(F₀(x)) of the press cycle
times; a ×1.3 slow-down of a lognormal cycle time with cv 0.15 shifts z by
δ = ln 1.3 / σ_ln with σ_ln = √ln(1 + 0.15²). Siegmund's approximation gives the
out-of-control ARL for (k, h) of the binding (Montgomery 2013, §9.1.4); the alarm must
come within 3 × ARL₁ slowed cycles (plus one sample). The in-control ARL of the same
chart is > 5·10⁴ cycles per station, so 4 stations × ~500 cycles of a clean run
alarm with probability < 4 % (and the window tests at family level 0.001 per
evaluation add < 1 %).
"""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "twin", "line"))

import pytest  # noqa: E402
from _line import binding, follow, model, plant  # noqa: E402

from twin import cusum_arl_siegmund  # noqa: E402
from twin.line import LineTwin, calibrate_line  # noqa: E402

CHANGE_AT = 7200.0
FACTOR = 1.3
HOURS = 4.0


def _expected_delay(b) -> tuple[float, float]:
    sigma = math.sqrt(math.log(1 + 0.15**2))
    delta = math.log(FACTOR) / sigma
    arl1 = cusum_arl_siegmund(b.deviation.cusum_k, b.deviation.cusum_h, delta)
    arl0 = cusum_arl_siegmund(b.deviation.cusum_k, b.deviation.cusum_h, 0.0)
    return arl1, arl0


@pytest.mark.parametrize("seed", [3, 11])
def test_cycle_time_drift_alarm_then_recalibration(seed, tmp_path):
    b = binding()
    arl1, arl0 = _expected_delay(b)
    assert arl0 > 5e4 and arl1 < 12
    p = plant(seed=seed, duration=HOURS * 3600,
              changes=[{"kind": "cycle_time", "station": "press", "at": CHANGE_AT, "factor": FACTOR}])
    twin = LineTwin(b, scenario=model(), forecast=False)
    alarms = follow(p, twin)
    assert alarms, "no alarm after a 30 % cycle-time degradation"
    first = alarms[0]
    assert (first.station, first.parameter) == ("press", "process_time"), first.message
    assert "press" in first.message and "process_time" in first.message
    cycle = 60.0 * FACTOR
    delay = first.start - CHANGE_AT
    assert 0 < delay <= 3 * arl1 * cycle + b.sample_period, (delay, arl1)
    assert all(a.station == "press" for a in alarms), [a.message for a in alarms]
    # re-calibrate from the data after the alarm: the true distribution is lognormal(78 s, cv 0.15)
    cal = calibrate_line(b, twin.observations, start=first.start, stations=["press"], parameters=("process_time",))
    est = cal.estimates[0]
    true_mean = 60.0 * FACTOR
    true_sigma = math.sqrt(math.log(1 + 0.15**2))
    assert est.distribution == "lognormal" and est.n >= 60
    assert est.mean_ci[0] <= true_mean <= est.mean_ci[1], (est.mean_ci, true_mean)
    assert est.bounds["sigma"][0] <= true_sigma <= est.bounds["sigma"][1], est.bounds
    assert est.bounds["median"][0] <= true_mean / math.sqrt(1 + 0.15**2) <= est.bounds["median"][1]
    # the written scenario validates and carries the new distribution
    from simulation.line import load_scenario

    new = load_scenario(cal.write(tmp_path / "calibrated.yaml"))
    assert new.station("press").process_time.mean() == pytest.approx(est.mean, rel=1e-4)
    assert new.station("kitting").process_time.mean() == pytest.approx(50.0)


@pytest.mark.parametrize("seed", [3, 11])
def test_clean_run_raises_no_alarm(seed):
    b = binding()
    p = plant(seed=seed, duration=HOURS * 3600)
    twin = LineTwin(b, scenario=model(), forecast=False)
    alarms = follow(p, twin)
    assert alarms == [], [a.message for a in alarms]
    assert twin.deviation.tests_run >= 20  # the window tests did run
