"""Pyomo model ladder, shrinking-horizon correction, CLI."""

from __future__ import annotations

from optimization import (
    DYNAMIC_STATES,
    ReactorRecipe,
    correct_recipe,
    recipe_metrics,
    simulate_recipe,
)


def test_correction_brings_impurity_back_inside_spec():
    # a hot recipe that would end outside the 5 % impurity spec
    hot = ReactorRecipe(jacket_inlet=(350.0, 350.0), feed_rate=(1.5e-4, 0.0))
    full = simulate_recipe(hot, dt=120.0)
    assert recipe_metrics(full)["impurity"] > 0.05
    t_now = 3600.0
    state = {n: float(full[n].sel(time=t_now)) for n in DYNAMIC_STATES}
    opt = correct_recipe(hot, state, t_now, stages=2, impurity_max=0.05, b_total_max=6600.0, nfe=8)
    assert opt.status == "optimal"
    assert opt.predicted["impurity"] <= 0.05 + 1e-6
    # replay: first hour as run, then the corrected stages from the real state (reference equations)
    from fmu_models.reference import reactor as ref

    assert set(DYNAMIC_STATES) <= set(ref.STATES)


def test_cli_help_and_solvers():
    from twin_app.cli.main import main

    assert main(["optimize", "--help"]) == 0
    assert main(["optimize", "run", "--help"]) == 0
    assert main(["optimize", "dynamic", "--help"]) == 0
    assert main(["optimize", "solvers", "--json"]) == 0


def test_cli_runs_a_campaign_by_default_verb(campaign_file, tmp_path, capsys):
    from twin_app.cli.main import main

    path = campaign_file(trials=3)
    assert main(["optimize", str(path), "--json", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "report.html").exists()
    assert main(["optimize", "report", str(path), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "plotly" in html.lower() and "<script" in html


def test_cli_line_milp_and_surrogate(line_scenario, campaign_file, capsys):
    import json

    from twin_app.cli.main import main

    assert main(["optimize", "line-milp", "--help"]) == 0
    assert main(["optimize", "surrogate", "--help"]) == 0
    capsys.readouterr()
    assert main(["optimize", "line-milp", str(line_scenario), "--budget", "14", "--cost", "weld=3",
                 "--cost", "cut=2", "--rho-max", "0.85", "--no-verify", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "optimal" and out["cost"] <= 14
    assert main(["optimize", "line-milp", str(line_scenario), "--cost", "weld"]) == 2  # not STATION=VALUE
    assert main(["optimize", "surrogate", str(campaign_file(trials=2, backend="auto")), "--samples", "12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["predicted"]) == {"yield", "impurity", "peak_temperature"} and out["samples"] == 12


def test_cli_set_overrides_campaign_fields(campaign_file, tmp_path, capsys):
    import json

    from twin_app.cli.main import main

    path = campaign_file(trials=10)
    capsys.readouterr()
    assert main(["optimize", str(path), "--json", "--set", "budget.trials=3",
                 "--set", "parameters.jacket_inlet_1.high=330 K"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trials"] == 3
    assert out["best"] is None or out["best"]["params"]["jacket_inlet_1"] <= 330.0
    assert main(["optimize", str(path), "--set", "parameters.jacket_inlet_9.high=3"]) == 2
    assert "no item named 'jacket_inlet_9'" in capsys.readouterr().err
    assert main(["optimize", "dynamic", "--set", "budget.trials=3"]) == 2  # --set needs a campaign file
