"""The line twin's trace: an existing store refused unless --overwrite/--resume; a failing disk
degrades the trace, not the twin (issue 23)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from _line import BINDING, binding, model, plant

from twin import TRACE_NOT_PERSISTED, TraceExistsError, open_trace, read_events
from twin.line import LineTwin
from twin.sources import Frame, MemorySource, Sample
from twin_app.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_trace import FailingDisk  # noqa: E402


def _frames(duration=3600.0, seed=3):
    return [Frame(t, {k: Sample(k, v, t) for k, v in values.items()})
            for t, values in plant(seed=seed, duration=duration).frames()]


def _source(frames, actions=None):
    def gen():
        for k, frame in enumerate(frames):
            if actions and k in actions:
                actions[k]()
            yield frame

    return MemorySource(gen())


def _twin(path, **kw):
    b = binding()
    b = b.model_copy(update={"forecast": b.forecast.model_copy(update={"replications": 3})})
    return LineTwin(b, scenario=model(), trace=path, time_kind="elapsed", **kw)


def test_line_trace_refused_then_resumed_with_forecasts_kept_then_overwritten(tmp_path):
    frames = _frames()
    path = tmp_path / "line.zarr"
    tw = _twin(path)
    tw.run(_source(frames[:400]))
    first = tw.close()
    assert open_trace(path).sizes["time"] == 400 and first.rows_recorded == 400
    n_fc = open_trace(path, group="forecast").sizes["time"]
    assert n_fc == len(first.forecasts) >= 1
    with pytest.raises(TraceExistsError, match="line.zarr"):
        _twin(path)
    tw = _twin(path, resume=True)
    tw.run(_source(frames))
    rep = tw.close()
    assert (rep.skipped, rep.samples, rep.rows_recorded, rep.rows_lost) == (400, len(frames) - 400,
                                                                            len(frames) - 400, 0)
    ds = open_trace(path)
    assert np.array_equal(ds["time"].values, [f.time for f in frames])
    fc = open_trace(path, group="forecast")
    assert fc.sizes["time"] == n_fc + len(rep.forecasts) and (np.diff(fc["time"].values) > 0).all()
    tw = _twin(path, overwrite=True, forecast=False)
    tw.run(_source(frames[:10]))
    tw.close()
    assert open_trace(path).sizes["time"] == 10 and not (path / "forecast").exists()


def test_line_twin_on_a_failing_disk_counts_what_it_drops(tmp_path, monkeypatch):
    disk = FailingDisk(monkeypatch)
    frames = _frames(1800.0)
    path = tmp_path / "line.zarr"
    tw = _twin(path, forecast=False, flush_interval=0.0, max_buffer_rows=20)
    tw.run(_source(frames, {100: lambda: setattr(disk, "full", True), 200: lambda: setattr(disk, "full", False)}))
    rep = tw.close()
    assert rep.samples == len(frames) and rep.trace_persisted
    assert rep.rows_lost == 101 - 20 and rep.rows_recorded == len(frames) - 81
    (ev,) = rep.trace_events
    assert ev.kind == TRACE_NOT_PERSISTED and ev.start == frames[100].time and ev.end == frames[200].time
    assert [e["kind"] for e in read_events(path)].count(TRACE_NOT_PERSISTED) == 1
    t = open_trace(path)["time"].values
    assert np.array_equal(t, [f.time for k, f in enumerate(frames) if not 100 <= k < 181])
    d = rep.as_dict()
    assert (d["rows_lost"], d["trace_persisted"]) == (81, True)


def test_line_monitor_refuses_an_existing_trace_and_both_options(tmp_path, capsys):
    path = tmp_path / "line.zarr"
    tw = _twin(path, forecast=False)
    tw.run(_source(_frames(60.0)))
    tw.close()
    assert main(["monitor", str(BINDING), "--trace", str(path), "--overwrite", "--resume"]) == 2
    assert "--overwrite and --resume exclude each other" in capsys.readouterr().err
    assert main(["monitor", str(BINDING), "--trace", str(path)]) == 2  # before any connection
    err = capsys.readouterr().err.replace("\n", "")
    assert str(path) in err and "--overwrite" in err and "--resume" in err
    assert open_trace(path).sizes["time"] == 13
