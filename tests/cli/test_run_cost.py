"""Estimated run cost: absurd runs are refused before they start unless --yes is given."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulation.life import load_life_model
from simulation.line import load_scenario
from twin_app.cli import _cost
from twin_app.cli._cost import confirm_run, estimate_cost
from twin_app.cli.main import main
from workbench.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SMALL_LINE = SCENARIOS / "assembly_line_twin_model.yaml"


def test_shipped_scenarios_are_under_the_limit():
    from optimization import load_campaign

    costs = [
        estimate_cost(load_scenario(p))
        for p in SCENARIOS.glob("*line*.yaml")
        if "twin" not in p.name or p.name == SMALL_LINE.name
    ]
    costs += [estimate_cost(load_scenario(p)) for p in SCENARIOS.glob("reactor_train*.yaml")]
    costs += [
        estimate_cost(load_life_model(p))
        for p in (
            "pump_station_life.yaml",
            "pump_station_mission.yaml",
            "bearing_age_replacement.yaml",
        )
        for p in [SCENARIOS / p]
    ]
    costs += [estimate_cost(load_campaign(SCENARIOS / "reactor_campaign.yaml"))]
    assert len(costs) >= 10
    for cost in costs:
        assert 0 < cost.seconds < _cost.COST_LIMIT_S, cost.describe()


def test_line_cost_grows_with_horizon_and_replications():
    base = estimate_cost(load_scenario(SMALL_LINE))
    longer = estimate_cost(load_scenario(SMALL_LINE, overrides={"experiment.horizon": "80 h"}))
    more = estimate_cost(load_scenario(SMALL_LINE), replications=100)
    assert longer.seconds == pytest.approx(base.seconds * 10)
    assert more.seconds == pytest.approx(base.seconds * 10)


def test_long_horizon_is_refused_with_the_estimate_and_the_hint(capsys):
    code = main(["run", str(SCENARIOS / "assembly_line.yaml"), "--set", "experiment.horizon=900 a"])
    err = capsys.readouterr().err
    assert code == 2
    assert "estimated cost 10 replications" in err and "days of CPU" in err and "--yes" in err


def test_absurd_counts_on_the_command_line_are_refused(capsys):
    assert main(["run", str(SMALL_LINE), "-n", "1" + "0" * 30]) == 2
    assert "--replications 1.000e+30 is out of range" in capsys.readouterr().err
    assert (
        main(
            [
                "optimize",
                "run",
                str(SCENARIOS / "reactor_campaign.yaml"),
                "--trials",
                "1" + "0" * 20,
            ]
        )
        == 2
    )
    assert "--trials 1.000e+20 is out of range" in capsys.readouterr().err
    assert (
        main(["optimize", "run", str(SCENARIOS / "reactor_campaign.yaml"), "--trials", "900000"])
        == 2
    )
    assert "estimated cost 900000 trials" in capsys.readouterr().err


def test_long_repairable_life_is_refused(capsys):
    life = str(SCENARIOS / "pump_station_life.yaml")
    code = main(
        [
            "life",
            "run",
            life,
            "--set",
            "simulation.horizon=900 a",
            "--set",
            "simulation.replications=100000",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "100000 replications" in err and "events" in err and "--yes" in err


def test_yes_runs_above_the_limit_and_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(_cost, "COST_LIMIT_S", 1e-3)
    args = ["run", str(SMALL_LINE), "-n", "2", "--json"]
    assert main(args) == 2
    assert "pass --yes to run anyway" in capsys.readouterr().err
    assert main([*args, "--yes"]) == 0
    out = capsys.readouterr()
    assert "running anyway (--yes)" in out.err and '"replications": 2' in out.out


def test_no_question_without_a_terminal(monkeypatch):
    asked = []
    monkeypatch.setattr(_cost.typer, "confirm", lambda *a, **k: asked.append(a) or True)
    with pytest.raises(ConfigError, match="pass --yes"):
        confirm_run(load_scenario(SMALL_LINE), yes=False, limit_s=1e-6)
    assert asked == []  # pytest's stdin is not a TTY


def test_terminal_asks(monkeypatch):
    monkeypatch.setattr(_cost.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(_cost.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(_cost.typer, "confirm", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="not run"):
        confirm_run(load_scenario(SMALL_LINE), yes=False, limit_s=1e-6)
    monkeypatch.setattr(_cost.typer, "confirm", lambda *a, **k: True)
    assert confirm_run(load_scenario(SMALL_LINE), yes=False, limit_s=1e-6).seconds > 0


def test_a_line_that_never_advances_time_is_refused():
    n = len(load_scenario(SMALL_LINE).stations)
    sc = load_scenario(
        SMALL_LINE, overrides={f"stations[{i}].process_time": "0 s" for i in range(n)}
    )
    cost = estimate_cost(sc)
    assert math.isinf(cost.seconds)
    with pytest.raises(ConfigError, match="forever"):
        confirm_run(sc, yes=False)
