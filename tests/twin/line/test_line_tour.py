"""The demo tour runs and writes real outputs (drift alarm, re-calibrated scenario)."""

from __future__ import annotations

import json

from simulation.line import load_scenario
from twin_app.tours.line_twin import demo_tour


def test_demo_tour(tmp_path):
    paths = demo_tour(tmp_path, hours=4.5, replications=9)
    assert [p.name for p in paths] == ["line_twin.zarr", "assembly_line_twin_model_calibrated.yaml",
                                       "line_twin_summary.json"]
    summary = json.loads(paths[-1].read_text())
    assert summary["alarms"][0]["station"] == "press" and summary["alarms"][0]["start"] > 3 * 3600
    (est,) = summary["recalibration"]
    assert est["mean_ci"][0] <= 78.0 <= est["mean_ci"][1]
    assert load_scenario(paths[1]).station("press").process_time.mean() > 70
