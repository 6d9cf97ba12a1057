"""Clock faults over a real OPC UA server, on virtual time: every published sample is accounted for.

The emulator runs on a :class:`~twin.ManualClock` (virtual time: as fast as the machine
allows), so nothing here depends on how fast this machine is; a lost sample would end the
run in a named ``ConnectionLostError`` after ``data_timeout``, not in a hang.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest
from _reactor import binding as make_binding
from _reactor import plant
from _synthetic import T0, SinePlant, free_port, sine_scenario, virtual_sine_server, virtual_source

from twin import GateTag, ManualClock, QualityFlag, QualityGate, Twin, read_events
from twin.emulator import PlantServer
from twin.sources import OpcUaSource
from workbench.errors import ConnectionLostError

sys.path.insert(0, os.path.dirname(__file__))
pytestmark = pytest.mark.opcua



class _StepAt:
    """A plant that, when it reaches plant time ``at``, makes its server's clock jump by ``seconds``."""

    def __init__(self, inner, server_ref: list, at: float, seconds: float) -> None:
        self.inner, self.server_ref, self.at, self.seconds = inner, server_ref, at, seconds
        self.tags, self.units = inner.tags, inner.units

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def advance(self):
        out = self.inner.advance()
        if self.at is not None and self.inner.time >= self.at:
            self.server_ref[0].step_clock(self.seconds)
            self.at = None
        return out


def _read_counter(url: str, namespace: str) -> int:
    from asyncua import Client

    async def read() -> int:
        async with Client(url, timeout=10) as client:
            idx = await client.get_namespace_index(namespace)
            return int(await client.get_node(f"ns={idx};s={PlantServer.COUNTER}").read_value())

    return asyncio.run(asyncio.wait_for(read(), 60))


def test_clock_step_back_on_the_emulator_every_sample_accounted_for(tmp_path):
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    sc = plant(duration="40 min")
    clock = ManualClock(T0)
    ref: list = []
    from twin.emulator import PlantEmulator

    server = PlantServer(
        sc,
        endpoint=url,
        clock=clock,
        start_on_subscribe=True,
        plant=_StepAt(PlantEmulator(sc), ref, at=1200.0, seconds=-300.0),
    )
    ref.append(server)
    server.start_thread()
    b = make_binding(tmp_path)
    twin = Twin(b, trace=tmp_path / "step.zarr", time_kind="datetime")
    src = OpcUaSource(
        url,
        [t.tag for t in b.tags] + [b.batch_time_tag],
        period=b.sample_period,
        namespace=b.opcua.namespace,
        units={t.tag: t.unit for t in b.tags},
        publishing_interval=0.05,
        clock=clock,
        connect_timeout=120,
        data_timeout=60,
    )
    r = twin.report

    def until_all_seen(step):
        if server.plant.done and r.samples + r.rejected + r.gap_samples >= server.samples_published:
            raise StopIteration

    try:
        try:
            twin.run(src, on_step=until_all_seen)
        except StopIteration:
            pass
        published = _read_counter(url, sc.namespace)
    finally:
        src.close()
        server.stop_thread()
    report = twin.close()
    assert published == server.samples_published == 241  # 0 .. 40 min every 10 s
    # the invariant: rows recorded + rows flagged rejected + samples in flagged gaps = samples published
    assert report.samples + report.rejected + report.gap_samples == published
    assert report.rows_recorded == report.samples and report.gap_samples == 0
    assert report.rejected == 30  # 300 s of samples whose time was already recorded
    q = report.quality["tags"]["TI_reactor"]
    assert q["OUT_OF_ORDER"] == 29 and q["DUPLICATE"] == 1
    assert (
        "LATE" not in q and "STALE" not in q
    )  # judged on plant time: virtual time cannot make them
    assert [s for _, s in report.clock_steps] == [pytest.approx(-300.0, abs=1e-3)]
    events = [e for e in read_events(tmp_path / "step.zarr") if e["kind"] == "CLOCK_STEP"]
    assert len(events) == 1 and events[0]["magnitude"] == pytest.approx(300.0, abs=1e-3)
    assert events[0]["start"] - server.anchor == pytest.approx(
        1200.0 - 300.0, abs=1e-3
    )  # sample of plant time 1200
    assert src.late_values == 0 and src.instants == published


def test_restart_without_anchor_is_a_new_timeline_with_a_flagged_discontinuity():
    port = free_port()
    sc = sine_scenario(port)
    servers = [virtual_sine_server(sc, 300.0)]
    src = virtual_source(sc.endpoint, reconnect_initial=0.1, reconnect_max=0.5)
    gate = QualityGate([GateTag("A", "K"), GateTag("B", "K")], period=10.0)
    frames, results = [], []
    try:
        for f in src.frames():
            frames.append(f)
            results.append(gate.check(f))
            if len(frames) == 31:  # the first plant run is over (0 .. 300 s)
                servers[0].stop_thread()
                deadline = time.monotonic() + 60  # a bound for a hang: the loss is seen within seconds
                while not src.disconnects and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert src.disconnects, "the source never noticed that its server stopped"
                # restarted without its anchor: plant time 0 is now, on a clock 5 s after the old origin
                servers.append(
                    PlantServer(
                        sc,
                        plant=SinePlant(duration=300.0),
                        clock=ManualClock(T0 + 5.0),
                        start_on_subscribe=True,
                    )
                )
                servers[1].start_thread()
            if len(frames) == 62:
                break
    finally:
        src.close()
        for s in servers:
            if s._thread.is_alive():
                s.stop_thread()
    published = sum(s.samples_published for s in servers)
    assert published == 62
    first = frames[31]
    assert first.reconnected and first.new_timeline and first.time == pytest.approx(T0 + 5.0)
    assert src.timelines == 1 and not src.clock_steps and src.reconnects >= 1
    assert all(
        r.accepted for r in results
    )  # both timelines recorded: nothing rejected, nothing lost
    assert results[31].flags[0] & QualityFlag.GAP and gate.timelines == 1
    assert not any(r.flags[0] & QualityFlag.GAP for i, r in enumerate(results) if i != 31)
    assert [f.time for f in frames[31:]] == pytest.approx([T0 + 5.0 + 10 * k for k in range(31)])


def test_silent_subscription_is_renewed_then_ends_in_a_named_error():
    """The server answers but publishes nothing new: re-subscribe, then a named error, never a hang."""
    sc = sine_scenario(free_port())
    server = virtual_sine_server(sc, 50.0)
    src = virtual_source(sc.endpoint, data_timeout=8.0, resubscribe_after=1.0)
    frames = []
    try:
        with pytest.raises(
            ConnectionLostError,
            match=r"no data from OPC UA server opc\.tcp://127\.0\.0\.1:\d+/twin/plant",
        ):
            for f in src.frames():
                frames.append(f)
    finally:
        src.close()
        server.stop_thread()
    assert [f.time - T0 for f in frames] == pytest.approx(
        [0, 10, 20, 30, 40, 50]
    )  # every sample, once
    assert (
        src.resubscribes >= 1 and src.late_values >= 2
    )  # the renewed subscription re-sent the last values


def test_a_tag_the_server_does_not_have_does_not_hold_the_frames_back():
    """Without the node check at connect (e.g. a node removed later): the tag is MISSING, frames flow."""
    sc = sine_scenario(free_port())
    server = virtual_sine_server(sc, 100.0)
    src = virtual_source(sc.endpoint, ["A", "B", "NOPE"], check_nodes=False)
    frames = []
    try:
        for f in src.frames():
            frames.append(f)
            if len(frames) == 11:
                break
    finally:
        src.close()
        server.stop_thread()
    assert [f.time - T0 for f in frames] == pytest.approx([10.0 * k for k in range(11)])
    assert all(set(f.samples) == {"A", "B"} for f in frames) and src._unmonitored == {"NOPE"}


def test_stop_does_not_wait_for_the_clock():
    """A stop cuts the server's sleep short: real time with an hour-long sample period, and a
    virtual clock that never returns (as a paced test clock waiting for a client that is busy
    stopping the server) both stop at once. The line reconnect test once hung on this."""
    from twin import WallClock

    class Stuck(ManualClock):
        async def asleep(self, seconds):
            await asyncio.Event().wait()  # waits for ever

    sc = sine_scenario(free_port())
    for clock in (WallClock(speed=1.0), Stuck(T0)):
        server = PlantServer(sc.model_copy(update={"sample_period": 3600.0}), plant=SinePlant(period=3600.0),
                             clock=clock)
        server.start_thread()
        server.stop_thread(timeout=30.0)  # raises ConnectionLostError if the server is still asleep
        assert server.samples_published == 1 and not server._thread.is_alive()
