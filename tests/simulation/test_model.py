"""Model semantics checked against hand-computed answers (deterministic cases)."""

from __future__ import annotations

import math

import pytest

from simulation.line import (
    LineModel,
    LineScenario,
    LineSnapshot,
    littles_law_gap,
    run_replication,
    simulate,
)
from simulation.line._calendar import WorkingTime


def scenario(**kw) -> LineScenario:
    data = {
        "name": "t",
        "source": {"saturated": True},
        "stations": [{"name": "m", "buffer": 2, "process_time": "1 min"}],
        "experiment": {"horizon": "2 d", "replications": 2, "seed": 1},
    }
    data.update(kw)
    return LineScenario.model_validate(data)


def test_deterministic_single_machine():
    r = run_replication(scenario(), 1)
    assert r.line["throughput"] == pytest.approx(60.0, rel=1e-3)
    assert r.stations["m"]["utilisation"] == pytest.approx(1.0, abs=1e-9)
    assert r.stations["m"]["oee"] == pytest.approx(1.0, rel=1e-3)


def test_shift_calendar_stops_work_off_shift():
    sc = scenario(
        stations=[{"name": "m", "buffer": 2, "process_time": "1 min", "calendar": "day"}],
        calendars=[{"name": "day", "period": "24 h", "shifts": [{"start": "6 h", "end": "14 h"},
                                                                  {"start": "14 h", "end": "22 h"}]}],
    )
    r = run_replication(sc, 1)
    # 16 h of 24 h working, 1 part/min
    assert r.line["throughput"] == pytest.approx(60 * 16 / 24, rel=2e-3)
    assert r.state_fraction["m"]["off_shift"] == pytest.approx(8 / 24, rel=2e-3)
    assert r.stations["m"]["availability"] == pytest.approx(1.0, abs=1e-6)


def test_working_time_arithmetic():
    cal = WorkingTime(100.0, [(10, 20), (15, 30), (50, 60)])
    assert cal.windows == [(10.0, 30.0), (50.0, 60.0)]
    assert cal.window_at(25) == (10, 30) and cal.window_at(35) is None
    assert cal.next_start(35) == 50 and cal.next_start(65) == 110
    assert cal.working_between(0, 250) == pytest.approx(30 + 30 + 20)


def test_batch_unit_and_changeover():
    # batch of 4 in 10 min: 24 parts/h; 2 products alternate via orders
    sc = scenario(stations=[{"name": "oven", "buffer": 8, "process_time": "10 min",
                             "batch": {"size": 4}}])
    assert run_replication(sc, 1).line["throughput"] == pytest.approx(24, rel=5e-3)  # last batch ends at the horizon
    sc2 = LineScenario.model_validate({
        "name": "co",
        "products": [{"name": "A"}, {"name": "B"}],
        "source": {"orders": [{"product": p, "quantity": 1, "release": 0} for p in "ABABAB"]},
        "stations": [{"name": "m", "process_time": "10 min", "changeover": {"default": "5 min",
                                                                           "pairs": {"B->A": "1 min"}}}],
        "experiment": {"horizon": "2 h", "replications": 2},
    })
    m = LineModel(sc2, 1, trace=True).run()
    # 6 jobs (60 min) + changeovers A->B 3x5 min and B->A 2x1 min = 77 min: last exit at 77 min
    assert max(t for t, _, _ in m.exits) == pytest.approx(77 * 60)
    co = sum(e - s for (_, _, state, s, e) in m.trace if state == "changeover")
    assert co == pytest.approx(17 * 60)


def test_scrap_and_rework_yield():
    sc = scenario(stations=[
        {"name": "m", "buffer": 2, "process_time": "1 min"},
        {"name": "test", "buffer": 50, "process_time": "0.1 min",
         "quality": {"scrap": 0.1, "rework": 0.2, "rework_to": "m"}},
    ], experiment={"horizon": "3 d", "warmup": "2 h", "replications": 4, "seed": 3})
    ds = simulate(sc)
    y_lo, y_hi = ds["ci"].sel(kpi="yield").values
    # each pass: scrap 0.1, good 0.7, rework 0.2 -> P(good eventually) = 0.7 / 0.8
    assert y_lo <= 0.875 <= y_hi
    assert float(littles_law_gap(ds).max()) < 0.02


def test_failures_with_shared_crew_and_pm():
    base = {"name": "m", "buffer": 2, "process_time": "1 min",
            "failures": [{"ttf": "exponential(mean=2 h)", "ttr": "30 min", "crew": "fitters"}]}
    sc = scenario(stations=[base, {**base, "name": "n"}], crews=[{"name": "fitters", "size": 1}],
                  experiment={"horizon": "8 d", "warmup": "1 d", "replications": 4, "seed": 2})
    ds = simulate(sc)
    down = float(ds["mean"].sel(kpi="down[m]"))
    # isolated machine: down fraction = 0.5/(2+0.5) = 0.2 of busy+down time; waiting for the
    # single fitter adds to it, blocking/starving reduce the exposure: stays within [0.1, 0.3]
    assert 0.1 < down < 0.3
    two = simulate(sc.model_copy(update={"crews": [sc.crews[0].model_copy(update={"size": 2})]}))
    assert float(two["mean"].sel(kpi="throughput")) > float(ds["mean"].sel(kpi="throughput"))
    pm = scenario(stations=[{"name": "m", "buffer": 2, "process_time": "1 min",
                             "maintenance": {"interval": "8 h", "duration": "1 h"}}])
    r = run_replication(pm, 1)
    # due at 8, 16, 24, 32, 40 h of the 48 h horizon: 5 h of maintenance
    assert r.state_fraction["m"]["maintenance"] == pytest.approx(5 / 48, rel=1e-6)
    assert r.stations["m"]["availability"] == pytest.approx(1.0, abs=1e-6)  # planned stop


def test_calendar_failures_interrupt_and_resume():
    sc = scenario(stations=[{"name": "m", "buffer": 2, "process_time": "10 min",
                             "failures": [{"basis": "calendar", "ttf": "3 h", "ttr": "1 h"}]}],
                  experiment={"horizon": "4 d", "replications": 2})
    r = run_replication(sc, 1)
    # every 4 h: 3 h working then 1 h down -> 18 parts per 4 h
    assert r.line["throughput"] == pytest.approx(18 / 4, rel=0.01)
    assert r.state_fraction["m"]["down"] == pytest.approx(0.25, rel=0.01)


def test_count_based_run_length():
    sc = scenario(experiment={"count": 100, "replications": 2})
    r = run_replication(sc, 1)
    assert r.line["good_parts"] == 100
    assert r.end_time == pytest.approx(100 * 60)


def test_start_from_snapshot():
    sc = LineScenario.model_validate({
        "name": "snap",
        "source": {"orders": [{"product": "part", "release": "100 d"}]},
        "stations": [{"name": "a", "process_time": "10 min"}, {"name": "b", "process_time": "10 min"}],
        "experiment": {"horizon": "2 h", "replications": 2},
    })
    snap = LineSnapshot.model_validate({
        "time": "6 h",
        "buffers": {"a": 5},
        "stations": {"b": [{"state": "busy", "remaining": "30 min", "age": "1 h"}]},
    })
    m = LineModel(sc, 1, snapshot=snap).run()
    times = sorted((t - 6 * 3600) / 60 for t, _, _ in m.exits)
    assert times == pytest.approx([30, 40, 50, 60, 70, 80])
    first = min(m.exits)
    assert first[1] == pytest.approx(3600 + 1800)  # age + remaining work
    down = LineSnapshot.model_validate({"stations": {"m": [{"state": "down", "repair_remaining": "2 h",
                                                            "remaining": "0.5 min"}]}})
    sc2 = scenario(stations=[{"name": "m", "buffer": 1, "process_time": "1 min",
                              "failures": [{"ttf": "1000 h", "ttr": "1 h"}]}],
                   experiment={"horizon": "3 h", "replications": 2})
    m2 = LineModel(sc2, 1, snapshot=down).run()
    assert min(t for t, _, _ in m2.exits) == pytest.approx(2 * 3600 + 30)


def test_snapshot_errors():
    from workbench.errors import SimulationError

    with pytest.raises(SimulationError, match="did you mean 'm'"):
        LineModel(scenario(), 1, snapshot=LineSnapshot.model_validate({"buffers": {"mm": 1}}))
    with pytest.raises(SimulationError, match="capacity"):
        LineModel(scenario(), 1, snapshot=LineSnapshot.model_validate({"buffers": {"m": 5}}))


def test_parallel_routing_balances():
    sc = LineScenario.model_validate({
        "name": "par",
        "source": {"saturated": True},
        "stations": [
            {"name": "split", "buffer": 1, "process_time": "1 min", "next": ["x", "y"]},
            {"name": "x", "buffer": 2, "process_time": "2 min", "next": "exit"},
            {"name": "y", "buffer": 2, "process_time": "2 min", "next": "exit"},
        ],
        "experiment": {"horizon": "1 d", "replications": 2},
    })
    r = run_replication(sc, 1)
    assert r.line["throughput"] == pytest.approx(60, rel=5e-3)  # 3 min to fill the line
    assert r.stations["x"]["utilisation"] == pytest.approx(1.0, rel=5e-3)
    assert not math.isnan(r.stations["y"]["oee"])


def test_snapshot_round_trip_conserves_wip():
    from simulation.line import load_scenario
    from tests.simulation.test_config import SCENARIOS

    sc = load_scenario(SCENARIOS / "assembly_line.yaml")
    m = LineModel(sc, 3)
    m.run(until=30 * 3600.0)
    snap = m.snapshot()
    held = sum(len(v) if isinstance(v, list) else v for v in snap.buffers.values())
    held += sum(r.items for rows in snap.stations.values() for r in rows if r.state in ("busy", "blocked", "down")
                and r.product is not None)
    assert held == m.wip
    assert snap.time == pytest.approx(30 * 3600.0)
    forecast = sc.model_copy(update={"experiment": sc.experiment.model_copy(update={"warmup": 0.0, "horizon": 8 * 3600.0})})
    again = LineModel(forecast, 4, snapshot=LineSnapshot.model_validate_json(snap.model_dump_json()))
    assert again.wip == sum(len(st.store.items) for st in again.stations.values())
    again.run()
    assert again.wip >= 0 and again.good_count > 0
    # a forecast of the rest of the shift keeps every part: nothing lost, nothing invented
    released = again.released
    assert len([e for e in again.exits]) + again.wip == held + released


def test_count_not_reachable_is_a_clear_error():
    from workbench.errors import SimulationError

    sc = LineScenario.model_validate({
        "name": "few", "source": {"orders": [{"product": "part", "quantity": 3}]},
        "stations": [{"name": "m", "process_time": "1 min"}],
        "experiment": {"count": 10, "replications": 2},
    })
    with pytest.raises(SimulationError, match="ran out of work .* 3 of the 10"):
        run_replication(sc, 1)


@pytest.mark.parametrize("cycles", ["geometric(mean=50)", {"distribution": "poisson", "mean": 50},
                                    {"distribution": "empirical", "values": [20, 80]}])
def test_cycles_to_failure_can_be_a_count_distribution(cycles):
    """Renewal reward: E[jobs between failures] = 50 jobs of 1 min, then 10 min down → 50 parts/h."""
    sc = scenario(stations=[{"name": "m", "buffer": 2, "process_time": "1 min",
                             "failures": [{"basis": "cycles", "cycles": cycles, "ttr": "10 min"}]}],
                  experiment={"horizon": "120 d", "replications": 2, "seed": 3})
    assert sc.stations[0].failures[0].cycles.is_discrete
    r = run_replication(sc, 1)
    # geometric: sd of the jobs ≈ 49.5, ~2900 failures → 1.8 % standard error of the mean
    assert r.line["throughput"] == pytest.approx(50.0, rel=0.04)
    assert r.state_fraction["m"]["down"] == pytest.approx(10 / 60, rel=0.08)


def test_count_families_are_not_durations():
    with pytest.raises(ValueError, match="poisson draws counts"):
        scenario(stations=[{"name": "m", "process_time": "poisson(mean=3)"}])
