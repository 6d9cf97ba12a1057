"""Line allocation MILP (HiGHS): IDAES-style ladder, optimality by enumeration; line campaigns."""

from __future__ import annotations

import itertools

import pytest

from optimization import (
    create_line_allocation_model,
    line_capacity_data,
    load_campaign,
    optimize_line_allocation,
    solve_line_allocation,
)
from workbench.errors import ConfigError

COST = {"cut": 2.0, "weld": 3.0, "pack": 1.0}


def _stations(path):
    from simulation.line import load_scenario

    return line_capacity_data(load_scenario(path))


def test_capacity_data_follows_the_availability_formula(line_scenario):
    st = {s.name: s for s in _stations(line_scenario)}
    # busy-time failures: A = 1 / (1 + MTTR/MTTF) (Hopp & Spearman 2011, eq. 8.6)
    assert st["weld"].availability == pytest.approx(1.0 / (1.0 + 30.0 / 180.0))
    assert st["cut"].effective_time == pytest.approx(90.0 * (1.0 + 20.0 / 240.0))
    assert st["pack"].availability == 1.0


def test_model_ladder_counts_status_and_values(line_scenario):
    import pyomo.environ as pyo

    stations = _stations(line_scenario)
    m = create_line_allocation_model(stations, budget=14.0, cost=COST, rho_max=0.85)
    # ladder 1: size — 3 integer machine counts + the rate; 3 capacity rows + the budget
    free = [v for v in m.component_data_objects(pyo.Var) if not v.fixed]
    assert len(free) == 4 and sum(v.is_integer() for v in free) == 3
    assert sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True)) == 4
    # ladder 2: solve status
    sol = solve_line_allocation(m)
    assert sol.status == "optimal" and sol.stats["integer_variables"] == 3
    # ladder 3: solution values against enumeration of every affordable allocation
    te = {s.name: s.effective_time / 3600.0 for s in stations}
    best = max(
        (min(0.85 * n / te[s] for s, n in zip(te, ns, strict=True)), ns)
        for ns in itertools.product(range(1, 8), repeat=3)
        if sum(COST[s] * n for s, n in zip(te, ns, strict=True)) <= 14.0
    )
    assert sol.rate == pytest.approx(best[0], rel=1e-6)
    assert sol.cost <= 14.0 + 1e-9
    # the rate is the bottleneck's: some station sits exactly at rho_max
    assert max(sol.utilisation[s] / stations[i].availability
               for i, s in enumerate(sol.servers)) == pytest.approx(0.85, rel=1e-6)


def test_budget_too_small_is_a_clear_error(line_scenario):
    with pytest.raises(ConfigError, match="budget"):
        create_line_allocation_model(_stations(line_scenario), budget=2.0)
    with pytest.raises(ConfigError, match="weld"):
        create_line_allocation_model(_stations(line_scenario), budget=9.0, cost={"wled": 1.0})


LINE_CAMPAIGN = """\
kind: campaign
name: line-servers
model: {{type: line, scenario: {scenario}, horizon: 2 d, warmup: 12 h}}
parameters:
  - {{name: stations.weld.servers, type: int, low: 2, high: 4}}
objectives: [{{metric: throughput, direction: maximize}}]
constraints: [{{metric: "utilisation[pack]", max: 0.95}}]
sampler: {{name: random, seed: 3}}
budget: {{trials: 5}}
noise: {{min_repeats: 2, max_repeats: 6, ci_halfwidth: 1.5}}
pruning: {{enabled: false}}
"""


def test_line_campaign_repeats_until_the_ci_target(line_scenario, tmp_path):
    path = tmp_path / "line_campaign.yaml"
    path.write_text(LINE_CAMPAIGN.format(scenario=line_scenario))
    camp = load_campaign(path)
    res = camp.run(workers=1, progress=False)
    ds = res.trials
    done = ds.isel(trial=(ds["state"] == "COMPLETE").values)
    assert done.sizes["trial"] >= 4
    reps = done["repeats"].values
    assert ((reps >= 2) & (reps <= 6)).all()
    study = camp.study()
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "COMPLETE":
            # stopped because the Student-t half-width met the target, or at max_repeats
            assert t.user_attrs["ci_halfwidth"] <= 1.5 or t.user_attrs["repeats"] == 6
    # 2 welders: capacity 2 / (2.6 min / A) = 39.6 /h < the 60 /h demand; 3-4 welders do better
    best = res.best["params"]["stations.weld.servers"]
    assert best >= 3
    by = {int(s): float(v) for s, v in zip(done["param_stations.weld.servers"].values,
                                            done["objective_0"].values, strict=True)}
    if 2 in by:
        assert by[2] == pytest.approx(2 * 3600 / (156.0 * 7 / 6), rel=0.08)
    paths = res.write(tmp_path / "out")  # station KPIs such as utilisation[pack] survive NetCDF
    assert "utilisation[pack]" in __import__("xarray").open_dataset(paths[0])


def test_unknown_line_metric_is_named(line_scenario, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(LINE_CAMPAIGN.format(scenario=line_scenario).replace("metric: throughput", "metric: thruput"))
    with pytest.raises(ConfigError, match="throughput"):
        _ = load_campaign(path).problem


def test_optimize_line_allocation_default_budget(line_scenario):
    from simulation.line import load_scenario

    sol = optimize_line_allocation(load_scenario(line_scenario), extra=3, rho_max=0.9)
    assert sum(sol.servers.values()) == 6  # 3 machines in the scenario + 3 extra
