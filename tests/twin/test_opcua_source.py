"""OPC UA source against a real asyncua server: exact values, reconnect with backoff, gap marked."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time

import pytest

from twin import GateTag, QualityFlag, QualityGate
from twin.emulator import PlantServer
from twin.sources import OpcUaSource

sys.path.insert(0, os.path.dirname(__file__))
from _synthetic import SinePlant, free_port, sine_scenario  # noqa: E402

pytestmark = pytest.mark.opcua
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_frames_carry_every_sample_exactly():
    port = free_port()
    sc = sine_scenario(port, speed=200)
    server = PlantServer(sc, plant=SinePlant())
    server.start_thread()
    src = OpcUaSource(sc.endpoint, ["A", "B"], period=10.0, publishing_interval=0.05, time_scale=200,
                      units={"A": "K", "B": "K"}, connect_timeout=20)
    try:
        frames = []
        for f in src.frames():
            frames.append(f)
            if len(frames) >= 30:
                break
    finally:
        src.close()
        server.stop_thread()
    times = [f.time - server.anchor for f in frames]
    assert all(abs(b - a - 10.0) < 1e-3 for a, b in zip(times, times[1:], strict=False)), times
    for f, t in zip(frames, times, strict=True):
        assert f.samples["A"].value == pytest.approx(math.sin(t / 100.0), abs=1e-6)
        assert f.samples["B"].value == pytest.approx(2.0 + math.cos(t / 100.0), abs=1e-6)
        assert f.samples["A"].unit == "K" and not f.reconnected


SERVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
    from _synthetic import SinePlant, sine_scenario
    from twin.emulator import PlantServer
    sc = sine_scenario({port}, speed=100)
    PlantServer(sc, plant=SinePlant(), anchor={anchor!r}).run()
    """
)


def _spawn(port: int, anchor: float) -> subprocess.Popen:
    code = SERVER.format(root=ROOT, here=os.path.dirname(os.path.abspath(__file__)), port=port, anchor=anchor)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_kill_and_restart_server_reconnects_and_flags_gap():
    port = free_port()
    anchor = time.time() + 1.0
    proc = _spawn(port, anchor)
    procs = [proc]
    src = OpcUaSource(f"opc.tcp://127.0.0.1:{port}/twin/plant", ["A", "B"], period=10.0,
                      publishing_interval=0.05, time_scale=100, reconnect_initial=0.1, reconnect_max=0.8,
                      connect_timeout=40)
    gate = QualityGate([GateTag("A", "K"), GateTag("B", "K")], period=10.0)
    seen, flags = [], []
    try:
        killed_at = None
        for f in src.frames():
            r = gate.check(f)
            seen.append(f)
            flags.append((f.time, int(r.flags[0]), f.reconnected))
            if killed_at is None and len(seen) == 20:
                proc.kill()  # SIGKILL: no goodbye to the client
                proc.wait(10)
                killed_at = f.time
                time.sleep(1.0)  # plant keeps running: ~100 s of plant time are lost
                proc = _spawn(port, anchor)
                procs.append(proc)
            if killed_at is not None and f.time > killed_at + 300:
                break
    finally:
        src.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    assert src.reconnects >= 1 and src.disconnects
    # the first frame after the outage is marked and the gate flags the gap
    after = [(t, fl, rec) for t, fl, rec in flags if t > killed_at]
    assert after[0][2] is True and after[0][1] & QualityFlag.GAP
    assert after[0][0] - killed_at > 20.0  # plant time moved on while the server was down
    # nothing before the outage was lost: 20 consecutive samples, 10 s apart
    before = [f.time for f in seen[:20]]
    assert all(abs(b - a - 10.0) < 1e-3 for a, b in zip(before, before[1:], strict=False))
    # values after the restart are the same plant run (same anchor): exact sine values
    for f in seen[-5:]:
        t = f.time - anchor
        assert f.samples["A"].value == pytest.approx(math.sin(t / 100.0), abs=1e-6)
