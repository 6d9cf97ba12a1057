"""``monitor_line`` over a real OPC UA server serving the line emulator."""

from __future__ import annotations

import json

import pytest
from _line import BINDING, PLANT, free_port

from twin import open_trace
from twin.line import line_plant_server, load_line_plant, monitor_line

pytestmark = pytest.mark.opcua


def test_monitor_line_follows_the_served_line(tmp_path):
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/line"
    sc = load_line_plant(PLANT).model_copy(update={"duration": 3600.0})
    server = line_plant_server(sc, endpoint=url, speed=200)
    server.start_thread()
    try:
        report = monitor_line(BINDING, endpoint=url, trace=tmp_path / "l.zarr", time_scale=200, until=600.0,
                              connect_timeout=20)
    finally:
        server.stop_thread()
    assert report.samples >= 100 and report.forecasts
    fc = report.forecasts[0]
    assert fc.low <= fc.median <= fc.high and fc.expected_bottleneck == "press"
    ds = open_trace(tmp_path / "l.zarr")
    forecasts = open_trace(tmp_path / "l.zarr", group="forecast")
    assert ds.sizes["time"] == report.samples
    assert forecasts.sizes["time"] and json.loads(ds.attrs["snapshots"])
    assert ds["value"].sel(source="real", tag="line.shipped").values[-1] > 0
