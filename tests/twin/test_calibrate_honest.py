"""Honest calibration (issue 26 part 1): flagged windows left out, robust loss, dispersion check,
identifiability. The reproduction: a twin trace with a +0.5 K bias on TI_reactor fitted through
gives an interval for U that excludes the true 400; left out, it covers it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr
from _reactor import TWIN_YAML, binding, need_fmu, plant
from hypothesis import given
from hypothesis import strategies as hs
from scipy.stats import chi2

from twin import (
    CalibrationParameter,
    ExcludedWindow,
    Twin,
    calibrate,
    parse_window,
    windows_from_faults,
)
from twin._calib_stats import DEFAULT_F_SCALE, _normal_d0, dispersion, profile
from twin._calib_windows import apply_windows, windows_from_trace
from twin.emulator import PlantEmulator
from twin.sources import MemorySource
from twin_app.cli.main import main
from workbench.errors import ConfigError

BIAS = [{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}]


@pytest.fixture(scope="module")
def biased_trace(tmp_path_factory):
    """The demo's situation in virtual time: 40 min, +0.5 K bias on TI_reactor from 20 min, U = 400."""
    need_fmu()
    tmp = tmp_path_factory.mktemp("cal")
    path = tmp / "biased.zarr"
    twin = Twin(binding(tmp), trace=path)
    twin.run(MemorySource(PlantEmulator(plant(duration="40 min", seed=3, faults=BIAS)).frames()))
    report = twin.close()
    assert [e.tag for e in report.events] == ["TI_reactor"]
    return path


# -- windows ---------------------------------------------------------------------------------------------


def test_parse_window_forms_and_errors():
    assert parse_window("1 h..1.5 h") == ExcludedWindow(3600.0, 5400.0, None, "operator")
    assert parse_window("TI_reactor@30 min..", tags=["TI_reactor"]) == ExcludedWindow(1800.0, np.inf, "TI_reactor")
    assert parse_window("..600").end == 600.0
    with pytest.raises(ConfigError, match="did you mean 'TI_reactor'"):
        parse_window("TI_reactr@1 h..2 h", tags=["TI_reactor", "TI_jacket"])
    with pytest.raises(ConfigError, match="before START"):
        parse_window("2 h..1 h")
    with pytest.raises(ConfigError, match=r"\[TAG@\]START..END"):
        parse_window("1 h-2 h")


@given(hs.text(max_size=30))
def test_parse_window_never_raises_anything_but_config_error(text):
    try:
        w = parse_window(text)
    except ConfigError:
        return
    assert w.start <= w.end


@given(hs.floats(0, 1e5), hs.floats(0, 1e5))
def test_parse_window_reads_seconds(a, b):
    lo, hi = sorted((a, b))
    w = parse_window(f"{lo!r}..{hi!r}")
    assert w.start == pytest.approx(lo) and w.end == pytest.approx(hi)


def test_window_on_output_removes_that_tag_on_input_or_none_every_tag():
    t = np.arange(10.0)
    mask = np.ones((10, 2), bool)
    out = apply_windows(mask, t, [ExcludedWindow(2, 4, "A"), ExcludedWindow(7, 8, "FI_feed")], ["A", "B"])
    assert out[:, 0].tolist() == [True, True, False, False, False, True, True, False, False, True]
    assert out[:, 1].tolist() == [True] * 7 + [False, False, True]


def test_alarm_window_goes_back_to_the_cusum_change_point_and_quality_runs_are_windows():
    times = np.arange(0.0, 200.0, 10.0)
    stat = np.zeros((20, 2))
    stat[8:, 0] = [0.1, 0.4, 1.2] + [2.0] * 9  # rises from row 8, alarm (> 1) at row 10
    q = np.zeros((20, 2), np.uint16)
    q[3:5, 1] = 8  # STALE
    ds = xr.Dataset({"statistic": (("time", "tag"), stat), "quality": (("time", "tag"), q)},
                    coords={"time": times, "tag": ["A", "B"]},
                    attrs={"alarm_events": json.dumps([{"tag": "A", "kind": "cusum", "start": 100.0, "end": None}])})
    w = windows_from_trace(ds, 0.0)
    assert ExcludedWindow(30.0, 40.0, "B", "quality: STALE") in w
    assert ExcludedWindow(70.0, 190.0, "A", "alarm: cusum") in w  # last zero statistic at row 7


def test_known_events_from_a_plant_scenarios_faults():
    sc = plant(faults=BIAS + [{"kind": "valve", "at": 600.0, "until": 900.0, "value": 0.3}])
    w = windows_from_faults(sc.faults, t_end=3600.0)
    assert w == [ExcludedWindow(1200.0, 3600.0, "TI_reactor", "known: bias"),
                 ExcludedWindow(600.0, 900.0, None, "known: valve")]


# -- the reproduction on a twin trace ----------------------------------------------------------------------


def test_flagged_alarm_window_is_left_out_and_the_interval_covers_the_truth(biased_trace):
    b = binding()
    through = calibrate(b, biased_trace, include_flagged=True)
    assert not through.ci_low[0] <= 400.0 <= through.ci_high[0]  # the issue: precise and wrong
    assert through.interval == "scaled" and through.s2 > through.dispersion_interval[1]
    assert "TI_reactor" in through.warnings[0] and "scaled" in through.warnings[0]
    honest = calibrate(b, biased_trace)
    assert [(w.tag, w.reason) for w in honest.excluded] == [("TI_reactor", "alarm: cusum")]
    assert honest.excluded[0].start <= 1200.0 and honest.n_excluded > 100
    assert honest.interval == "sigma" and honest.ci_low[0] <= 400.0 <= honest.ci_high[0]
    assert not honest.warnings


def test_refuse_names_the_worst_misfitting_tag_and_times(biased_trace):
    res = calibrate(binding(), biased_trace, include_flagged=True, on_misfit="refuse")
    assert res.interval == "refused" and np.isnan(res.ci_low[0]) and np.isnan(res.ci_high[0])
    assert res.misfits[0]["tag"] == "TI_reactor" and res.misfits[0]["start"] >= 1200.0 - 200.0
    assert "interval refused" in res.warnings[0]
    assert re.search(r"worst misfits: TI_reactor \d+\.\d–\d+\.\d min \(mean \+\d", res.warnings[0])


def test_robust_loss_resists_the_bias_and_checks_its_arguments(biased_trace):
    b = binding()
    ls = calibrate(b, biased_trace, include_flagged=True)
    hub = calibrate(b, biased_trace, include_flagged=True, loss="huber")
    assert hub.loss == "huber" and hub.f_scale == DEFAULT_F_SCALE["huber"]
    assert abs(hub.estimate[0] - 400.0) < 0.6 * abs(ls.estimate[0] - 400.0)
    with pytest.raises(ConfigError, match="huber, cauchy"):
        calibrate(b, biased_trace, loss="l1")
    with pytest.raises(ConfigError, match="f_scale"):
        calibrate(b, biased_trace, loss="cauchy", f_scale=0.0)


def test_confounded_parameters_are_reported_not_determined(biased_trace):
    # the twin sees U only through the effective 1/(1/U + R_fouling): U and R_fouling cannot both be fitted
    params = [CalibrationParameter(name="U", initial=400.0, low=100.0, high=1000.0),
              CalibrationParameter(name="R_fouling", initial=1e-5, low=0.0, high=1e-2)]
    res = calibrate(binding(), biased_trace, parameters=params)
    assert res.identifiability == ["not determined", "not determined"]
    assert np.isnan(res.ci_low).all() and np.isinf(res.std_error).all()
    assert abs(res.correlation[0, 1]) > 0.99 and res.condition_number > 1e10
    assert not res.profiles["U"]["bounded"]
    assert sum("not determined" in w for w in res.warnings) == 2


def test_cli_table_lists_left_out_windows_and_json_is_pure(biased_trace, capsys):
    assert main(["calibrate", str(TWIN_YAML), str(biased_trace), "--param", "U", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["interval"] == "sigma" and out["excluded"][0]["reason"] == "alarm: cusum"
    assert out["parameters"][0]["identifiability"] == "determined"
    assert out["parameters"][0]["ci_low"] <= 400.0 <= out["parameters"][0]["ci_high"]
    assert main(["calibrate", str(TWIN_YAML), str(biased_trace), "--include-flagged", "--misfit", "refuse",
                 "--exclude", "LI_volume@0..10 min"]) == 0
    cap = capsys.readouterr()
    assert "refused" in cap.out and "left out" in cap.out and "operator" in cap.out
    assert "interval refused" in cap.err and "TI_reactor" in cap.err
    assert main(["calibrate", str(TWIN_YAML), str(biased_trace), "--exclude", "TI_reactr@1 h.."]) == 2
    assert "did you mean 'TI_reactor'" in capsys.readouterr().err
    assert main(["calibrate", str(TWIN_YAML), str(biased_trace), "--misfit", "ignore"]) == 2


# -- the statistics against theory ----------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["huber", "cauchy"])
def test_default_tuning_constants_have_95_percent_efficiency(loss):
    """Holland & Welsch (1977): c = 1.345 (Huber) and 2.385 (Cauchy) give 95 % efficiency at the normal,
    i.e. an asymptotic variance factor E[ψ²]/E[ψ']² of 1/0.95."""
    assert _normal_d0(loss, DEFAULT_F_SCALE[loss]) == pytest.approx(1 / 0.95, abs=2e-3)


def test_dispersion_interval_is_the_chi2_interval_and_holds_its_level():
    rng = np.random.default_rng(0)
    d = dispersion(rng.normal(size=500), 2, "linear", 1.0, 0.95)
    assert d.low == pytest.approx(chi2.ppf(0.025, 498) / 498) and d.high == pytest.approx(chi2.ppf(0.975, 498) / 498)
    inside = [dispersion(rng.normal(size=200), 1, "huber", 1.345, 0.95).inside for _ in range(400)]
    assert 0.92 <= np.mean(inside) <= 0.98  # the robust dispersion check holds its level
    assert not dispersion(2 * rng.normal(size=200), 1, "linear", 1.0, 0.95).inside


def test_profile_interval_of_a_quadratic_cost_is_the_wald_interval():
    # cost = ½((θ − 3)/0.5)²: Δ = ((θ − 3)/0.5)², crossing χ²₁(0.95) = 1.96² at 3 ± 0.98
    def refit(i, v, start):
        return 0.5 * ((v - 3.0) / 0.5) ** 2, start

    p = profile(0, np.array([3.0]), 0.5, np.array([-np.inf]), np.array([np.inf]), 0.0, 1.0, refit, 0.95)
    assert p["bounded"] and p["ci_low"] == pytest.approx(3 - 0.98, abs=0.02) and p["ci_high"] == pytest.approx(3.98, abs=0.02)
    flat = profile(0, np.array([3.0]), 0.5, np.array([0.0]), np.array([10.0]), 0.0, 1.0, lambda i, v, s: (0.0, s), 0.95)
    assert not flat["bounded"] and flat["ci_low"] is None and flat["values"][0] == 0.0 and flat["values"][-1] == 10.0


def test_weak_parameter_gets_a_profile_interval_and_an_undetermined_one_is_said_so():
    # E2 (activation energy of C -> D, true 100 kJ/mol) is weakly seen by the temperatures
    params = [CalibrationParameter(name="U", initial=400.0, low=100.0, high=1000.0),
              CalibrationParameter(name="E2", initial=100000.0, low=5e4, high=2e5)]
    b = binding()
    long = calibrate(b, list(PlantEmulator(plant(duration="3 h", seed=11)).frames()), parameters=params)
    assert long.identifiability == ["determined", "weak"]
    prof = long.profiles["E2"]
    assert prof["bounded"] and (long.ci_low[1], long.ci_high[1]) == (prof["ci_low"], prof["ci_high"])
    assert long.ci_low[1] <= 100000.0 <= long.ci_high[1]
    short = calibrate(b, list(PlantEmulator(plant(duration="40 min", seed=3)).frames()), parameters=params)
    assert short.identifiability == ["determined", "not determined"] and np.isnan(short.ci_low[1])
    assert not short.profiles["E2"]["bounded"] and "'E2' is not determined" in short.warnings[0]
