"""`twin replay`, `twin calibrate`, `twin plant serve`, `twin monitor`: thin CLI over the package."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _reactor import TWIN_YAML, need_fmu, plant
from _synthetic import free_port

from twin.emulator import PlantEmulator, PlantServer
from twin_app.cli.main import main


def _history(tmp_path, **overrides):
    rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}}
            for f in PlantEmulator(plant(**overrides)).frames()]
    path = tmp_path / "history.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_replay_json_reports_alarm_on_biased_history(tmp_path, capsys):
    need_fmu()
    data = _history(tmp_path, duration="40 min",
                    faults=[{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}])
    code = main(["replay", str(TWIN_YAML), str(data), "--trace", str(tmp_path / "r.zarr"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["samples"] == 241
    assert [(e["tag"], e["kind"]) for e in out["events"]][:1] == [("TI_reactor", "cusum")]
    assert (tmp_path / "r.zarr" / "zarr.json").exists()


def test_calibrate_table_and_json(tmp_path, capsys):
    need_fmu()
    data = _history(tmp_path, duration="1 h", parameters={"U": 400.0, "R_fouling": 2.5e-4,
                                                          "controller_enabled": True})
    assert main(["calibrate", str(TWIN_YAML), str(data), "--param", "U", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    p = out["parameters"][0]
    # (interval coverage is validated in tests/validation/test_twin_reactor.py)
    assert p["name"] == "U" and abs(p["estimate"] - 1 / (1 / 400 + 2.5e-4)) < 2.0
    assert p["ci_low"] < p["estimate"] < p["ci_high"] and out["success"]
    assert main(["calibrate", str(TWIN_YAML), str(data), "--end", "30 min"]) == 0
    text = capsys.readouterr().out
    assert "95% CI" in text and "TI_reactor" in text and "s² =" in text


def test_bad_binding_exits_2_with_location(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWIN_YAML.read_text().replace("sample_period: 10 s", "sample_period: ten seconds"))
    assert main(["replay", str(bad), str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "sample_period" in err


def test_plant_serve_help(capsys):
    assert main(["plant", "serve", "--help"]) == 0
    assert "--speed" in capsys.readouterr().out


def test_replay_with_lookahead(tmp_path, capsys):
    need_fmu()
    data = _history(tmp_path, duration="30 min")
    code = main(["replay", str(TWIN_YAML), str(data), "--trace", str(tmp_path / "l.zarr"), "--lookahead", "2 h",
                 "--param-sd", "U=20", "--runs", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["samples"] == 181
    s = out["lookahead"]["yield_C"]
    assert 0 < s["final_mean"] < 1 and s["final_std"] > 0 and s["unit"] == "1"


@pytest.mark.opcua
def test_monitor_json_is_only_the_report_on_stdout(tmp_path, capfd):
    """`twin monitor --json`: alarms as they start go to stderr; stdout is one JSON document."""
    need_fmu()
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    sc = plant(duration="40 min", faults=[{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}])
    server = PlantServer(sc, endpoint=url, speed=200, start_on_subscribe=True)
    server.start_thread()
    try:
        code = main(["monitor", str(TWIN_YAML), "--url", url, "--trace", str(tmp_path / "m.zarr"),
                     "--duration", "25 min", "--set", "opcua.plant_time_scale=200",
                     "--set", "opcua.publishing_interval=0.05 s", "--json"])
    finally:
        server.stop_thread()
    captured = capfd.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)  # nothing before or after the document
    assert any(e["tag"] == "TI_reactor" for e in out["events"]), out["events"]
    assert "ALARM" in captured.err and "TI_reactor" in captured.err
