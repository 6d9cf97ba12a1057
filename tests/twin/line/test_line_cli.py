"""``twin calibrate-line`` end to end on a trace written by the line twin."""

from __future__ import annotations

import json

import pytest
from _line import binding, follow, model, plant

from simulation.line import load_scenario
from twin.line import LineTwin
from twin_app.cli.main import main


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("line") / "line.zarr"
    p = plant(seed=9, duration=2 * 3600.0,
              changes=[{"kind": "cycle_time", "station": "press", "at": 1800.0, "factor": 1.25}])
    twin = LineTwin(binding(), scenario=model(), trace=path, forecast=False, time_kind="elapsed")
    follow(p, twin)
    twin.close()
    return path


def test_calibrate_line_writes_a_valid_scenario(trace, tmp_path, capsys):
    from _line import BINDING

    out = tmp_path / "new.yaml"
    code = main(["calibrate-line", str(BINDING), str(trace), "--start", "40 min", "--station", "press",
                 "--parameter", "process_time", "-o", str(out), "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    (est,) = res["estimates"]
    assert est["station"] == "press" and est["n"] >= 60
    assert est["mean_ci"][0] <= 75.0 <= est["mean_ci"][1]
    sc = load_scenario(out)
    assert sc.station("press").process_time.mean() == pytest.approx(est["mean"], rel=1e-4)
    code = main(["calibrate-line", str(BINDING), str(trace), "--start", "40 min", "-o", str(out)])
    assert code == 0 and "re-calibrated" in capsys.readouterr().out


def test_calibrate_line_rejects_bad_options(trace, capsys):
    from _line import BINDING

    assert main(["calibrate-line", str(BINDING), str(trace), "--parameter", "proces_time"]) == 2
    assert "did you mean 'process_time'" in capsys.readouterr().err
    assert main(["calibrate-line", "--help"]) == 0
