"""End to end over a real OPC UA server: emulator → twin → trace → alarm; kill/restart resilience."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from _reactor import ROOT, plant
from _reactor import binding as make_binding
from _synthetic import free_port

from twin import ManualClock, QualityFlag, Twin, open_trace
from twin.emulator import PlantServer
from twin.sources import OpcUaSource

pytestmark = pytest.mark.opcua


def _source(b, url, scale, clock=None):
    return OpcUaSource(url, [t.tag for t in b.tags] + [b.batch_time_tag], period=b.sample_period,
                       namespace=b.opcua.namespace, units={t.tag: t.unit for t in b.tags},
                       publishing_interval=0.05, time_scale=scale, reconnect_initial=0.1, reconnect_max=0.8,
                       connect_timeout=120, clock=clock)


def test_live_twin_catches_sensor_bias_over_opcua(tmp_path):
    """On virtual time (the emulator as fast as the machine allows): no LATE/STALE, whatever the load."""
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twin/plant"
    sc = plant(duration="40 min", faults=[{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}])
    clock = ManualClock(1.8e9)
    server = PlantServer(sc, endpoint=url, clock=clock, start_on_subscribe=True)
    server.start_thread()
    b = make_binding(tmp_path)
    twin = Twin(b, trace=tmp_path / "live.zarr", time_kind="datetime")
    src = _source(b, url, 200, clock)
    try:
        def stop_after_alarm(step):
            if any(e.tag == "TI_reactor" for e in twin.detector.events) and twin.batch_time > 1300:
                raise StopIteration

        try:
            twin.run(src, on_step=stop_after_alarm, until=server.anchor + 2400 - 10)
        except StopIteration:
            pass
    finally:
        src.close()
        server.stop_thread()
    report = twin.close()
    alarms = [e for e in report.events if e.tag == "TI_reactor"]
    assert alarms, [e.as_dict() for e in report.events]
    t_alarm = alarms[0].start - server.anchor  # plant time of the alarm
    events = [{**e.as_dict(), "plant_time": e.start - server.anchor} for e in report.events]
    assert 1200.0 - 1e-3 <= t_alarm <= 1230.0, (t_alarm, events, report.quality)  # timestamps carry microseconds
    assert all(e.start - server.anchor >= 1200.0 - 1e-3 for e in report.events)
    ds = open_trace(tmp_path / "live.zarr")
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
    assert ds.sizes["time"] == report.samples >= 120
    assert ds["alarm"].sel(tag="TI_reactor").values.max() > 0
    flagged = {name for flags in report.quality["tags"].values() for name in flags}
    assert not flagged & {"LATE", "STALE", "OUT_OF_ORDER", "DUPLICATE"}, report.quality["tags"]


def test_emulator_killed_and_restarted_twin_keeps_trace_and_flags_gap(tmp_path):
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twin/plant"
    sc = plant(duration="8 h")
    scenario_file = tmp_path / "plant.yaml"
    scenario_file.write_text(yaml.safe_dump({"kind": "plant-emulator", **sc.model_dump(mode="json")}))
    anchor = time.time() + 12.0  # plant time 0 when the first server is surely up
    cmd = [sys.executable, "-m", "twin.emulator", str(scenario_file), "--endpoint", url, "--speed", "100",
           "--anchor", repr(anchor)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    b = make_binding(tmp_path)
    twin = Twin(b, trace=tmp_path / "resilient.zarr", time_kind="datetime")
    twin.trace.flush_interval = 0.0  # flush every sample: what was recorded is on disk
    src = _source(b, url, 100)
    recorded = {}
    try:
        state = {"killed": None}

        def on_step(step):
            if not step.accepted:
                return
            if state["killed"] is None:
                recorded[step.time] = step.real.copy()
                if len(recorded) == 20:
                    procs[0].kill()  # SIGKILL mid-run
                    procs[0].wait(10)
                    state["killed"] = step.time
                    time.sleep(1.0)
                    procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL))
            elif step.gap > 0 or state.get("after"):
                state["after"] = state.get("after", 0) + 1
                if state["after"] >= 10:
                    raise StopIteration

        try:
            twin.run(src, on_step=on_step)
        except StopIteration:
            pass
    finally:
        src.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    report = twin.close()
    assert src.reconnects >= 1
    ds = open_trace(tmp_path / "resilient.zarr")
    times = ds["time"].values.astype("datetime64[ns]").astype(np.int64) / 1e9
    # nothing recorded before the outage is lost
    for t, real in recorded.items():
        k = int(np.argmin(np.abs(times - t)))
        assert abs(times[k] - t) < 1e-3
        np.testing.assert_array_equal(ds["value"].sel(source="real").values[k], real)
    # samples are contiguous up to the outage; the first sample after it carries the gap
    jumps = np.flatnonzero(np.diff(times) > 15.0)
    assert len(jumps) == 1 and times[jumps[0]] >= state["killed"] - 1e-3  # ns rounding of the trace axis
    k_after = jumps[0] + 1
    assert ds["gap"].values[k_after] == pytest.approx(times[k_after] - times[k_after - 1] - 10.0, abs=1e-3)
    assert ds["quality"].values[k_after].max() & QualityFlag.GAP
    assert not ds["gap"].values[:k_after].any() and not ds["gap"].values[k_after + 1:].any()
    assert report.gaps and report.samples >= 30
    # the twin re-synced its measured states right after the gap and resumed comparing
    res = ds["residual"].sel(tag=["TI_reactor", "TI_jacket"]).values
    assert np.all(np.abs(res[k_after]) < 0.3), res[k_after]
    assert np.isfinite(res[k_after:]).all()
