"""``twin life`` commands end to end, and the self-contained HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from simulation.life import load_fitted
from twin_app.cli.main import main
from workbench.dataset import read_netcdf

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def test_life_run_json_and_outputs(tmp_path, capsys):
    out, rep = tmp_path / "r.nc", tmp_path / "r.html"
    code = main(["life", "run", str(SCENARIOS / "pump_station_mission.yaml"), "--set", "simulation.missions=20000",
                 "--set", "simulation.importance_missions=2000", "-o", str(out), "--report", str(rep), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    kpis = {r["kpi"]: r for r in data["kpis"]}
    assert kpis["mttf"]["unit"] == "h" and kpis["mttf"]["lower"] < kpis["mttf"]["estimate"] < kpis["mttf"]["upper"]
    ds = read_netcdf(out)
    assert ds.attrs["engine"] == "vectorised" and "birnbaum_importance" in ds
    html = rep.read_text()
    # self-contained: plotly.js embedded (megabytes), no external script tags
    assert len(html) > 1_000_000 and "<script" in html
    assert not re.search(r"<script[^>]*\ssrc=", html)


def test_life_run_repairable_table(capsys):
    code = main(["life", "run", str(SCENARIOS / "pump_station_life.yaml"), "--set", "simulation.replications=4"])
    assert code == 0
    out = capsys.readouterr().out
    assert "mean_availability" in out and "EUR/h" in out


def test_life_run_bad_override_is_config_error(capsys):
    code = main(["life", "run", str(SCENARIOS / "pump_station_life.yaml"), "--set", "simulation.missions=-3"])
    assert code == 2


def test_life_fit_writes_model_ready_yaml(tmp_path, capsys):
    rng = np.random.default_rng(5)
    t = rng.weibull(1.8, 60) * 5000
    c = rng.uniform(0, 8000, 60)
    csv = tmp_path / "field.csv"
    csv.write_text("time,status\n" + "\n".join(f"{min(a, b):.3f},{int(a <= b)}" for a, b in zip(t, c, strict=True)))
    out, rep = tmp_path / "fitted.yaml", tmp_path / "fit.html"
    assert main(["life", "fit", str(csv), "-d", "weibull", "-o", str(out), "--report", str(rep), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["best"] == "weibull" and data["fits"][0]["failures"] == int((t <= c).sum())
    fitted = load_fitted(out)
    assert fitted.life.distribution == "weibull"
    assert 1.2 < fitted.life.shape < 2.6
    # the fitted file drops straight into a model
    model = tmp_path / "m.yaml"
    model.write_text("kind: life\nname: m\ncomponents:\n  - {name: seal, life: fitted.yaml}\nsystem: seal\n"
                     "simulation: {mission_time: 1000 h, missions: 2000, importance_missions: 100}\n")
    assert main(["life", "run", str(model), "--json"]) == 0
    assert main(["life", "fit", str(csv)]) == 0  # auto: ranked table
    assert "weibull" in capsys.readouterr().out


def test_life_fit_missing_file(tmp_path):
    assert main(["life", "fit", str(tmp_path / "nope.csv")]) == 2


def test_optimize_pm_cli(tmp_path, capsys):
    code = main(["life", "optimize-pm", str(SCENARIOS / "bearing_age_replacement.yaml"), "--intervals",
                 "200 h, 400 h, 900 h", "-n", "6", "--json", "--report", str(tmp_path / "pm.html")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["unit"] == "h" and len(data["trials"]) == 3
    assert data["summary"]["analytic_optimum"] == pytest.approx(354.6, rel=0.01)
    assert (tmp_path / "pm.html").exists()
