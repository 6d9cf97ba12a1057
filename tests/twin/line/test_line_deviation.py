"""Deviation tests: Anderson–Darling p-values against published tables, CUSUM scores,
rate tests raising alarms that name station and parameter."""

from __future__ import annotations

import numpy as np
import pytest
from _line import binding, follow, model, plant
from scipy import stats

from twin.line import DeviationMonitor, LineTwin, Observation, ad_pvalue, anderson_darling


@pytest.mark.parametrize(("a2", "tail"), [(1.933, 0.10), (2.492, 0.05), (3.070, 0.025), (3.857, 0.01)])
def test_ad_pvalue_matches_stephens_table(a2, tail):
    """Upper percentage points of A² for a fully specified distribution (Stephens 1974,
    *JASA* 69:730–737, Table 1, case 0)."""
    assert ad_pvalue(a2) == pytest.approx(tail, abs=0.002)


def test_ad_statistic_matches_the_definition_and_has_uniform_pvalues():
    rng = np.random.default_rng(4)
    u = rng.random(200)
    a2, _ = anderson_darling(u)
    # the same statistic through scipy's k-sample machinery is not comparable; use the textbook sum
    x = np.sort(u)
    n = len(x)
    i = np.arange(1, n + 1)
    assert a2 == pytest.approx(-n - np.sum((2 * i - 1) * (np.log(x) + np.log(1 - x[::-1]))) / n)
    p = np.array([anderson_darling(rng.random(40))[1] for _ in range(600)])
    assert stats.kstest(p, "uniform").pvalue > 1e-3  # p-values uniform under H0 (n = 40)


def test_normal_scores_are_standard_normal_under_the_model():
    sc = model()
    mon = DeviationMonitor(sc, binding().deviation)
    d = sc.station("test").process_time
    x = d.sample(np.random.default_rng(2), 3000)
    z = np.array([mon.score("test", v) for v in x])
    assert abs(z.mean()) < 0.06 and abs(z.std() - 1) < 0.05


def _records(station, n, value, t0=0.0, dt=60.0, parameter="process_time"):
    return [Observation(t0 + i * dt, station, parameter, value) for i in range(n)]


def test_scrap_increase_alarm_names_station_and_parameter():
    sc = model()
    mon = DeviationMonitor(sc, binding().deviation)
    obs = _records("test", 200, 1.0, parameter="processed") + _records("test", 20, 1.0, parameter="scrap")
    mon.observe(obs)
    new = mon.evaluate(200 * 60.0)
    assert [(a.station, a.parameter, a.test) for a in new] == [("test", "scrap", "binomial")]
    assert "test" in new[0].message and "scrap" in new[0].message


def test_failure_burst_is_a_poisson_alarm_on_ttf():
    sc = model()
    mon = DeviationMonitor(sc, binding().deviation)
    obs = _records("press", 1440, 5.0, t0=5.0, dt=5.0, parameter="busy_time")  # 2 h busy: 0.67 failures expected
    obs += _records("press", 8, 1.0, dt=900.0, parameter="failure")
    mon.observe(obs)
    new = mon.evaluate(7200.0)
    assert [(a.station, a.parameter, a.test) for a in new] == [("press", "ttf", "Poisson")]
    assert new[0].expected == pytest.approx(7200 / 10800)


def test_failure_burst_from_the_emulator_is_caught():
    b = binding()
    p = plant(seed=2, duration=4 * 3600.0,
              changes=[{"kind": "failure_burst", "station": "press", "at": 3600.0, "until": 3 * 3600.0, "factor": 12}])
    alarms = follow(p, LineTwin(b, scenario=model(), forecast=False))
    assert ("press", "ttf") in {(a.station, a.parameter) for a in alarms}, [a.message for a in alarms]
    assert all(a.station == "press" for a in alarms)


def test_changeover_overrun_on_a_multi_machine_line():
    """The shipped five-station line (two products, changeovers, a 2-robot weld cell, a crew):
    per-machine state tags, and a changeover overrun raises the alarm on the press."""
    from _line import ROOT

    from simulation.line import load_scenario
    from twin.line import LineBinding, LinePlant

    sc = load_scenario(ROOT / "scenarios" / "assembly_line.yaml")
    b = LineBinding(name="a", scenario="-", stations=[s.name for s in sc.stations])
    p = LinePlant(sc, seed=2, duration=4 * 3600.0,
                  changes=[{"kind": "changeover", "station": "press", "at": 3600.0, "factor": 3.0}])
    assert {"weld.state.0", "weld.state.1"} <= set(p.tags)
    twin = LineTwin(b, scenario=sc, forecast=False)
    alarms = follow(p, twin)
    hits = [a for a in alarms if (a.station, a.parameter) == ("press", "changeover")]
    assert hits and hits[0].start > 3600.0 and hits[0].observed > hits[0].expected
    assert len(twin.state.snapshot().stations["weld"]) == 2
