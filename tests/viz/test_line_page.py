"""The line page's figures on a real line-twin trace (``twin_app.tours.line_twin.demo_tour``), no browser."""

from __future__ import annotations

import json

import numpy as np

from twin import open_trace
from viz import _figures_line as fline
from viz._data import read_line_events, read_line_forecast


def test_state_names_match_the_line_twin():
    from twin.line import STATE_CODES

    assert fline.LINE_STATE_NAMES == {v: k for k, v in STATE_CODES.items()}


def test_state_segments_cover_the_samples():
    clock = np.arange(8.0) * 5.0
    s, e, c = fline.state_segments(clock, np.array([1, 1, 2, 2, 2, np.nan, 1, 1]))
    assert list(c) == [1, 2, -1, 1] and list(s) == [0, 10, 25, 30] and list(e) == [10, 25, 30, 35]


def test_line_figures_on_a_real_line_twin_trace(line_tour):
    ds = open_trace(line_tour["trace"])
    fc = read_line_forecast(line_tour["trace"])
    events = read_line_events(line_tour["trace"])
    summary = json.loads(line_tour["summary"].read_text())

    gantt = fline.line_gantt_figure(ds)
    rows = {y for t in gantt.data for y in t.y}
    assert rows == {"kitting", "press", "test", "pack"}
    # the bars tile each machine's time line: per row, the durations add up to the span of the trace
    clock = fline.plant_clock(ds) / 3600.0
    for row in rows:
        total = sum(float(np.sum(np.asarray(t.x)[np.asarray(t.y) == row])) for t in gantt.data)
        assert abs(total - (clock[-1] - clock[0])) < 1e-3, row
    running = next(t for t in gantt.data if t.name == "running")
    assert len(running.x) > 10

    buffers = fline.buffer_figure(ds)
    assert {t.name for t in buffers.data} == {"kitting", "press", "test", "pack"}
    press = next(t for t in buffers.data if t.name == "press")
    assert np.nanmax(press.y) == np.nanmax(ds["value"].sel(source="real", tag="press.buffer").values)

    fan = fline.forecast_fan_figure(fc, ds)
    median = next(t for t in fan.data if t.name == "forecast median")
    assert list(median.y) == [f["median"] for f in summary["forecasts"]]
    assert any(t.name == "shipped in the shift so far" and len(t.x) > 100 for t in fan.data)
    # the actual shift output, re-based on the forecasts, equals what each forecast was told
    x, y = fline._shift_output(ds, fc)  # noqa: SLF001
    for f in summary["forecasts"]:
        k = int(np.argmin(np.abs(x - f["time_s"])))
        assert x[k] == f["time_s"] and y[k] == f["shipped_so_far"]
    assert np.nanmax(y) == ds["value"].sel(source="real", tag="line.shipped").values[-1]  # shift 0 from plant start

    assert events and events[0]["station"] == "press"
    rows = fline.alarm_rows(events)
    assert rows[-1]["alarm"] == "press.process_time" and float(rows[-1]["start [h]"]) > 3.0


def test_line_page_without_store_says_how_to_start():
    from viz import DashboardSources, create_app

    client = create_app(DashboardSources()).server.test_client()
    assert client.get("/line").status_code == 200
