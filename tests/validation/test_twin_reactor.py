"""The twin against the emulated reactor plant: fault detection delay, false alarms, calibration.

Stated performance (reactor_twin.yaml: EKF sync, CUSUM k = 0.5, h = 10 on the
innovations standardised by the filter's √S ≈ σ = 0.05 K):

* a +0.5 K (10 σ) bias on the reactor temperature sensor raises a CUSUM alarm on
  ``TI_reactor`` within 3 samples (30 s); theory: the statistic grows by
  δ − k = 9.5 per sample, so it passes h = 10 at the 1st or 2nd biased sample;
* a clean run of the same length raises no alarm; the false-alarm count is
  printed (theory: two-sided ARL₀ ≈ 7·10⁴ samples per tag by Siegmund's
  approximation, i.e. 0.03 expected false alarms over 3 tags × 721 samples); the
  rate over many seeds is tested against theory in test_twin_false_alarms.py;
* calibration of the heat-transfer coefficient on 3 h of plant data with a
  hidden fouling resistance recovers the true effective U (UA per wetted area)
  within its 95 % confidence interval.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "twin"))
from _reactor import binding as make_binding  # noqa: E402
from _reactor import plant  # noqa: E402

from twin import Twin, calibrate, cusum_arl_siegmund  # noqa: E402
from twin.emulator import PlantEmulator  # noqa: E402
from twin.sources import MemorySource  # noqa: E402

BIAS_AT = 3600.0
DURATION = "2 h"


def _run(tmp_path, faults, name):
    sc = plant(duration=DURATION, faults=faults, seed=11)
    twin = Twin(make_binding(tmp_path), trace=tmp_path / f"{name}.zarr")
    twin.run(MemorySource(PlantEmulator(sc).frames()))
    return twin.close()


def test_sensor_bias_alarm_delay_and_clean_run_false_alarms(tmp_path):
    faulty = _run(tmp_path, [{"kind": "bias", "tag": "TI_reactor", "at": BIAS_AT, "value": 0.5}], "bias")
    clean = _run(tmp_path, [], "clean")
    assert faulty.samples == clean.samples == 721
    # no alarm of any kind before the fault
    assert all(e.start >= BIAS_AT for e in faulty.events), [e.as_dict() for e in faulty.events]
    on_tag = [e for e in faulty.events if e.tag == "TI_reactor" and e.kind == "cusum"]
    assert on_tag, "bias not detected"
    delay = on_tag[0].start - BIAS_AT
    print(f"\nbias +0.5 K on TI_reactor detected after {delay:.0f} s ({delay / 10:.0f} samples)")
    assert delay <= 30.0
    assert on_tag[0].direction == 1 and on_tag[0].magnitude == pytest.approx(0.5, abs=0.2)
    # the alarm holds while the bias lasts: state sync must not absorb the fault
    assert on_tag[0].end is None or on_tag[0].end >= 7200.0 - 10.0
    # clean run of the same length: false-alarm count
    false_alarms = len(clean.events)
    expected = 3 * 721 / cusum_arl_siegmund(0.5, 10.0)
    print(f"clean run: {false_alarms} false alarms in 3 tags x 721 samples (expected {expected:.3f})")
    assert false_alarms == 0


def test_calibration_recovers_true_heat_transfer_within_ci(tmp_path):
    r_fouling = 2.5e-4  # hidden from the twin, which starts from U = 400, R_fouling = 0
    sc = plant(duration="3 h", seed=5, parameters={"U": 400.0, "R_fouling": r_fouling, "controller_enabled": True})
    frames = list(PlantEmulator(sc).frames())
    b = make_binding(tmp_path)
    result = calibrate(b, frames, fixed={"R_fouling": 0.0})
    u_true = 1.0 / (1.0 / 400.0 + r_fouling)  # effective U = UA / wetted area
    est, lo, hi = result.estimate[0], result.ci_low[0], result.ci_high[0]
    print(f"\nU: estimate {est:.2f} W/m2/K, 95% CI [{lo:.2f}, {hi:.2f}], true {u_true:.2f}; "
          f"s2 = {result.s2:.2f}, RMSE {result.rmse}")
    assert result.success
    assert lo <= u_true <= hi
    assert hi - lo < 0.05 * u_true  # informative, not a vacuous interval
    assert abs(est - 400.0) > (hi - lo)  # the fouling was really detected as a change
    assert 0.7 < result.s2 < 1.5  # residuals are white noise of the stated σ
    assert np.all(np.array(list(result.rmse.values())) < 0.2)


@pytest.mark.slow
def test_calibration_interval_coverage_over_seeds(tmp_path):
    """z = (estimate − truth)/std error over 10 noise seeds is ≈ N(0, 1): the intervals are honest."""
    u_true = 1.0 / (1.0 / 400.0 + 2.5e-4)
    b = make_binding(tmp_path)
    z = []
    for seed in range(1, 11):
        sc = plant(duration="3 h", seed=seed, parameters={"U": 400.0, "R_fouling": 2.5e-4, "controller_enabled": True})
        res = calibrate(b, list(PlantEmulator(sc).frames()), fixed={"R_fouling": 0.0})
        z.append((res.estimate[0] - u_true) / res.std_error[0])
    z = np.array(z)
    print(f"\nz over 10 seeds: mean {z.mean():.2f}, std {z.std(ddof=1):.2f}")
    assert np.sum(np.abs(z) > 1.96) <= 2  # binomial(10, 0.05): P(> 2) < 1.2 %
    assert abs(z.mean()) < 1.0 and 0.5 < z.std(ddof=1) < 1.8


@pytest.mark.slow
def test_ekf_innovations_are_calibrated_and_bias_still_caught(tmp_path):
    """EKF sync: innovation std matches the filter's predicted √S; the bias alarm is not filtered away."""
    results = {}
    for name, faults in (("clean", []), ("bias", [{"kind": "bias", "tag": "TI_reactor", "at": BIAS_AT, "value": 0.5}])):
        sc = plant(duration=DURATION, faults=faults, seed=11)
        twin = Twin(make_binding(tmp_path, **{"sync.method": "ekf"}))
        steps = []
        twin.run(MemorySource(PlantEmulator(sc).frames()), on_step=steps.append)
        results[name] = (twin.close(), np.array([s.residual[4:6] for s in steps]), twin.ekf.innovation_var)
    clean, res, var = results["clean"]
    assert not clean.events
    ratio = np.nanstd(res[1:], axis=0) / np.sqrt(var[:2])
    print(f"\nEKF innovation std / predicted sqrt(S): {ratio.round(3)}")
    assert np.all((ratio > 0.85) & (ratio < 1.2))
    assert np.all(np.abs(np.nanmean(res[1:], axis=0)) < 0.01)
    bias, _, _ = results["bias"]
    hits = [e for e in bias.events if e.tag == "TI_reactor"]
    assert hits and 0 <= hits[0].start - BIAS_AT <= 30.0 and hits[0].end >= 7200.0 - 10.0
