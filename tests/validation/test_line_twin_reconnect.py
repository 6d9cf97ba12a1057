"""Losing the OPC UA connection mid-shift: the line twin rebuilds its snapshot on
reconnect, flags the gap, and loses nothing it recorded (nor any production count).

The line-mode emulator is served by a real asyncua server on 127.0.0.1 (free port) on
virtual time (:class:`PacedClock`: the line runs as fast as the machine allows, at most
100 samples ahead of the twin, so nothing depends on how fast that is). It is stopped
mid-run, the plant runs on for ``OUTAGE`` plant seconds, and a new server for the *same*
running line (same plant object, same time anchor) is started on the same port, as when a
PLC gateway restarts while the line keeps producing: the restarted server catches the line
up, so the gap is known to the sample.

No wait here is unbounded: the old server must have stopped before the new one starts
(``stop_thread`` raises otherwise: two servers would share the port and the plant), and
the source ends with a ``ConnectionLostError`` naming the endpoint if no data arrives
for ``data_timeout`` (this test once hung for pytest's 600 s instead, on 100x wall time).
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "twin", "line"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "twin"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _line import PLANT, binding, free_port, model  # noqa: E402
from _synthetic import T0, PacedClock  # noqa: E402

from twin import ManualClock, QualityFlag, open_trace  # noqa: E402
from twin.line import LinePlant, LineTwin, line_plant_server, load_line_plant  # noqa: E402
from twin.sources import OpcUaSource  # noqa: E402

pytestmark = pytest.mark.opcua

OUTAGE = 300.0  # plant seconds the server is down while the line produces


def test_reconnect_rebuilds_snapshot_flags_gap_and_keeps_counts(tmp_path):
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twin/line"
    sc = load_line_plant(PLANT).model_copy(update={"changes": [], "truth": {}, "duration": 4 * 3600.0})
    line = LinePlant.from_scenario(sc)
    clock = PacedClock(T0)
    servers = [line_plant_server(sc, endpoint=url, plant=line, clock=clock, start_on_subscribe=True)]
    servers[0].start_thread()
    anchor = servers[0].anchor
    b = binding()
    twin = LineTwin(b, scenario=model(), trace=tmp_path / "line.zarr", forecast=False, flush_interval=0.0)
    src = OpcUaSource(url, twin.tags, period=b.sample_period, namespace=b.opcua.namespace,
                      publishing_interval=0.05, clock=ManualClock(T0), reconnect_initial=0.1, reconnect_max=0.5,
                      connect_timeout=120, data_timeout=60)  # no data for 60 s: a named error, not a hang
    recorded: dict[float, dict] = {}
    state = {"stopped": None, "after": 0, "first_cycles": None, "resync_clock": None, "steps": 0, "base": 0,
             "resumed_at": None}
    clock.ahead = lambda: servers[-1].samples_published - (state["steps"] - state["base"])
    try:
        def on_step(step):
            state["steps"] += 1
            if state["first_cycles"] is None:
                state["first_cycles"] = twin.state.stations["pack"].cycles
            if state["stopped"] is None:
                recorded[step.time] = {"shipped": twin.state.shipped}
                if len(recorded) == 40:
                    servers[0].stop_thread()
                    state["stopped"] = step.clock
                    clock.advance(OUTAGE)  # the line produces on while its server is down
                    state["base"] = state["steps"]
                    servers.append(line_plant_server(sc, endpoint=url, plant=line, anchor=anchor, clock=clock,
                                                     start_on_subscribe=True))
                    servers[-1].start_thread()  # it caught the line up to the clock before it listens
                    state["resumed_at"] = line.time
            elif step.gap > 0 or state["after"]:
                if step.gap > 0:
                    state["resync_clock"] = step.clock
                state["after"] += 1
                if state["after"] >= 30:
                    raise StopIteration

        twin.run(src, on_step=on_step)
    finally:
        src.close()
        for s in servers:
            if getattr(s, "_thread", None) is not None and s._thread.is_alive():
                s.stop_thread()
    report = twin.close()
    assert src.reconnects >= 1
    assert report.resyncs == 1 and len(report.gaps) == 1
    ds = open_trace(tmp_path / "line.zarr")
    snaps = json.loads(ds.attrs["snapshots"])
    times = ds["time"].values.astype("datetime64[ns]").astype(np.int64) / 1e9
    # nothing recorded before the outage is lost
    for t, rec in recorded.items():
        k = int(np.argmin(np.abs(times - t)))
        assert abs(times[k] - t) < 1e-3
        assert ds["value"].sel(source="real", tag="line.shipped").values[k] == rec["shipped"]
    # one gap, flagged on the first sample after it
    gaps = np.flatnonzero(ds["gap"].values > 0)
    assert len(gaps) == 1
    k = gaps[0]
    assert ds["gap"].values[k] == pytest.approx(times[k] - times[k - 1] - b.sample_period, abs=1e-3)
    # the gap is what the twin did not see: the outage, plus what the old server published but the
    # twin had not received when it stopped; the first row after it is where the new server resumed
    assert times[k] - anchor == pytest.approx(state["resumed_at"], abs=1e-3)
    assert ds["gap"].values[k] >= OUTAGE - b.sample_period - 1e-3
    assert np.all(ds["quality"].values[k] & QualityFlag.GAP)
    # the snapshot was rebuilt at the reconnect, from the tags after the gap
    rebuilt = [s for s in snaps if s["reason"] == "reconnect"]
    assert len(rebuilt) == 1 and rebuilt[0]["clock"] == state["resync_clock"] > state["stopped"]
    row = {str(t): v for t, v in zip(ds["tag"].values, ds["value"].sel(source="real").values[k], strict=True)}
    snap = rebuilt[0]["snapshot"]
    for st in ("kitting", "press", "test", "pack"):
        assert snap["buffers"].get(st, 0) == min(int(row[f"{st}.buffer"]), model().station(st).buffer)
    # no production count lost: the processed observations add up to the counter increase
    pack = [o.value for o in twin.observations if o.station == "pack" and o.parameter == "processed"]
    assert sum(pack) == twin.state.stations["pack"].cycles - state["first_cycles"]
    # no duration observation spans the gap
    t_gap0, t_gap1 = state["stopped"], state["resync_clock"]
    for o in twin.observations:
        if o.parameter in ("down", "setup", "maintenance"):
            assert not (o.time - o.value < t_gap1 and o.time >= t_gap1), o
    assert t_gap1 - t_gap0 > 0
