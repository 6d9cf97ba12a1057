"""`twin replay`, `twin calibrate`, `twin plant serve`, `twin monitor`: thin CLI over the package."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from _reactor import TWIN_YAML, need_fmu, plant
from _synthetic import free_port

from twin import open_trace, read_events
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


# -- nothing lost: --overwrite / --resume, output = input, a failing disk (issue 23) ---------------------------


def test_existing_trace_is_refused_then_resumed_or_overwritten(tmp_path, capsys):
    need_fmu()
    full = _history(tmp_path, duration="40 min",
                    faults=[{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}])
    first = tmp_path / "first.csv"
    pd.read_csv(full).iloc[:181].to_csv(first, index=False)  # the run that crashed after 30 min
    trace = tmp_path / "r.zarr"
    args = ["replay", str(TWIN_YAML)]
    assert main([*args, str(first), "--trace", str(trace), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_recorded"] == 181
    times1 = open_trace(trace)["time"].values
    events1 = {(e["tag"], e["kind"], e["start"]) for e in read_events(trace)}
    assert events1  # the bias at 20 min was seen

    assert main([*args, str(first), "--trace", str(trace)]) == 2
    err = capsys.readouterr().err
    assert str(trace) in err.replace("\n", "") and "--overwrite" in err and "--resume" in err
    assert main([*args, str(first), "--trace", str(trace), "--overwrite", "--resume"]) == 2
    assert "--overwrite and --resume exclude each other" in capsys.readouterr().err
    assert main(["monitor", str(TWIN_YAML), "--trace", str(trace)]) == 2  # refused before connecting
    assert "--resume" in capsys.readouterr().err
    assert np.array_equal(open_trace(trace)["time"].values, times1)  # refusals touched nothing

    # the same historian again, complete now: rows continue after the last recorded one
    assert main([*args, str(full), "--trace", str(trace), "--resume", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["skipped"], out["samples"], out["rows_recorded"], out["rows_lost"]) == (181, 60, 60, 0)
    ds = open_trace(trace)
    assert ds.sizes["time"] == 241 and np.array_equal(ds["time"].values[:181], times1)
    index = ds["time"].to_index()
    assert index.is_monotonic_increasing and index.is_unique
    assert events1 <= {(e["tag"], e["kind"], e["start"]) for e in read_events(trace)}  # the alarm log continues

    assert main([*args, str(full), "--trace", str(trace), "--resume"]) == 0  # nothing new: all skipped
    text = " ".join(capsys.readouterr().out.split())
    assert "241 samples at or before it skipped" in text and "0 rows recorded" in text
    assert open_trace(trace).sizes["time"] == 241

    assert main([*args, str(full), "--trace", str(trace), "--overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_recorded"] == 241
    assert open_trace(trace).sizes["time"] == 241


def _digest(path):
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_trace_that_is_the_input_is_refused_and_input_untouched(tmp_path, capsys):
    data = tmp_path / "history.csv"
    data.write_text("time,TI_reactor\n0,20.0\n10,20.1\n")
    hist = tmp_path / "hist.zarr"  # a Zarr historian directory
    hist.mkdir()
    (hist / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    before = {**_digest(data), **_digest(hist)}
    for source, trace in ((data, data), (data, data / "t.zarr"), (hist, tmp_path / "x" / ".." / "hist.zarr"),
                          (hist, hist / "trace.zarr"), (hist / "zarr.json", hist)):
        for extra in ([], ["--overwrite"], ["--resume"]):
            assert main(["replay", str(TWIN_YAML), str(source), "--trace", str(trace), *extra]) == 2
            err = capsys.readouterr().err.replace("\n", "")
            assert "historian being replayed" in err and "--trace" in err
    assert {**_digest(data), **_digest(hist)} == before and sorted(p.name for p in hist.iterdir()) == ["zarr.json"]


def test_replay_on_a_failing_disk_keeps_going_and_exits_1(tmp_path, capsys, monkeypatch):
    need_fmu()
    from test_trace import FailingDisk

    data = _history(tmp_path, duration="20 min")
    FailingDisk(monkeypatch).full = True  # every write of the store fails, to the end
    code = main(["replay", str(TWIN_YAML), str(data), "--trace", str(tmp_path / "x.zarr"), "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 1 and "Traceback" not in captured.err and "trace not persisted" in " ".join(captured.err.split())
    assert (out["samples"], out["rows_recorded"], out["rows_lost"], out["trace_persisted"]) == (121, 0, 121, False)
    assert "No space left" in out["trace_error"]
    assert [e["kind"] for e in out["events"]] == ["trace-not-persisted"]
    code = main(["replay", str(TWIN_YAML), str(data), "--trace", str(tmp_path / "y.zarr")])
    captured = capsys.readouterr()
    assert code == 1 and "0 rows recorded, 121 rows lost" in " ".join(captured.out.split())
    assert "trace not persisted at the end of the run" in " ".join(captured.err.split()) and "Traceback" not in captured.err


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
