"""Injectable clocks, and the OPC UA source's accounting of every sample (fed directly, no server)."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from twin import Clock, GateTag, ManualClock, QualityFlag, QualityGate, WallClock
from twin.sources import OpcUaSource
from workbench.errors import ConnectionLostError


def test_manual_clock_moves_only_when_told():
    c = ManualClock(start=1000.0)
    assert c.now() == 1000.0
    c.sleep(10.0)
    asyncio.run(c.asleep(5.0))
    assert c.now() == 1015.0 and c.wall(100.0) == 0.0
    c.step(-300.0)
    assert c.now() == 715.0
    with pytest.raises(ValueError, match="seconds >= 0"):
        c.advance(-1.0)
    assert isinstance(c, Clock) and isinstance(WallClock(), Clock)


def test_wall_clock_scales_and_steps():
    c = WallClock(speed=1000.0, origin=0.0)
    assert c.wall(50.0) == pytest.approx(0.05)
    t0 = c.now()
    c.sleep(100.0)  # 0.1 s of wall time
    assert (
        c.now() - t0 >= 100.0 - 1e-6
    )  # never less plant time than slept (no upper bound: the machine may be slow)
    c.step(-300.0)
    assert c.now() < t0 + 1e6 and c.offset == -300.0
    with pytest.raises(ValueError, match="speed > 0"):
        WallClock(speed=0.0)


# -- the source's bookkeeping, fed through its queue as the client thread would ---------------
class _Fed(OpcUaSource):
    """An OpcUaSource whose client thread is replaced by the test (values put on its queue)."""

    def __init__(self, **kw):
        super().__init__(
            "opc.tcp://127.0.0.1:1/none", ["A", "B"], period=10.0, clock=ManualClock(), **kw
        )

    def _start(self):
        self._thread = threading.current_thread()  # alive: the test is the client
        self._connected.set()

    def close(self):
        self._stop.set()

    n = 0

    def put(self, t, tags=("A", "B"), value=None):
        """Values at time ``t``; each call a new sample (values differ) unless ``value`` repeats one."""
        self.n += 1
        for tag in tags:
            self._queue.put((self._generation, tag, self.n if value is None else value, t, True))

    def reconnect(self):
        self._queue.put("reconnected")


def _take(src, n):
    out = []
    for f in src.frames():
        out.append(f)
        if len(out) == n:
            break
    return out


def test_clock_step_back_keeps_every_sample_and_marks_the_step():
    src = _Fed()
    times = [1000.0 + 10 * k for k in range(40)]  # 400 s ...
    times += [
        times[-1] + 10 - 300 + 10 * k for k in range(50)
    ]  # ... then the clock is set back 300 s
    for t in times:
        src.put(t)
    frames = _take(src, len(times))
    assert [f.time for f in frames] == times  # nothing dropped, nothing reordered
    steps = [f.clock_step for f in frames if f.clock_step]
    assert steps == [pytest.approx(-300.0)] and frames[40].clock_step
    gate = QualityGate([GateTag("A", "1"), GateTag("B", "1")], period=10.0)
    results = [gate.check(f) for f in frames]
    rejected = [r for r in results if not r.accepted]
    assert len(rejected) == 30  # 29 before the last accepted time, 1 equal to it
    assert sum(int(r.flags[0]) == QualityFlag.OUT_OF_ORDER for r in rejected) == 29
    assert sum(int(r.flags[0]) == QualityFlag.DUPLICATE for r in rejected) == 1
    accepted = sum(r.accepted for r in results)
    gaps = sum(round(r.gap / 10.0) for r in results)
    assert accepted + len(rejected) + gaps == len(times)  # every published sample accounted for


def test_resent_initial_values_after_reconnect_are_counted_not_doubled():
    src = _Fed()
    for t in (0.0, 10.0, 20.0):
        src.put(t)
    src.reconnect()
    src.put(20.0, value=3)  # the new subscription's initial values: the instant already emitted
    for t in (60.0, 70.0):
        src.put(t)
    frames = _take(src, 5)
    assert [f.time for f in frames] == [0.0, 10.0, 20.0, 60.0, 70.0]
    assert src.late_values == 2 and frames[3].reconnected and not frames[3].new_timeline
    assert not any(f.clock_step for f in frames)


def test_time_going_back_after_a_reconnect_is_a_new_timeline():
    src = _Fed()
    for t in (5000.0, 5010.0, 5020.0):
        src.put(t)
    src.reconnect()
    for t in (100.0, 110.0, 120.0):  # a restarted plant with a new anchor
        src.put(t)
    frames = _take(src, 6)
    assert [f.time for f in frames] == [5000.0, 5010.0, 5020.0, 100.0, 110.0, 120.0]
    assert frames[3].new_timeline and frames[3].reconnected and not frames[3].clock_step
    assert src.timelines == 1 and not src.clock_steps
    gate = QualityGate([GateTag("A", "1"), GateTag("B", "1")], period=10.0)
    results = [gate.check(f) for f in frames]
    assert all(r.accepted for r in results)  # the new timeline is recorded, flagged
    assert results[3].flags[0] & QualityFlag.GAP and gate.timelines == 1


def test_straggler_of_an_instant_emitted_without_it_is_counted():
    src = _Fed()
    src.put(0.0)
    src.put(10.0, tags=("A",))
    src.put(20.0)
    src.put(30.0)  # two later instants pending: 10 s is emitted without B
    src.put(10.0, tags=("B",), value=2)  # ... which arrives late
    src.put(40.0)
    frames = _take(src, 5)
    assert [f.time for f in frames] == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert frames[1].samples["B"].time == 0.0  # held, with its old time (the gate may flag it LATE)
    assert src.late_values == 1 and not src.clock_steps


def test_no_data_ends_in_a_named_error_not_a_hang():
    src = _Fed(data_timeout=0.3)
    src.put(0.0)
    t0 = time.monotonic()
    with pytest.raises(
        ConnectionLostError,
        match=r"no data from OPC UA server opc\.tcp://127\.0\.0\.1:1/none .*A, B",
    ):
        for _ in src.frames():
            pass
    assert time.monotonic() - t0 < 60  # bounded (generously: the machine may be loaded)


def test_dead_client_thread_ends_in_a_named_error():
    src = _Fed()
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    src._start = lambda: (setattr(src, "_thread", dead), src._connected.set())
    src.error = OSError("boom")
    with pytest.raises(
        ConnectionLostError, match=r"client of opc\.tcp://127\.0\.0\.1:1/none stopped.*boom"
    ):
        next(iter(src.frames()))


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(1, 30), st.integers(-60, 0)), min_size=1, max_size=5))
@example(steps=[(3, -1), (2, -1), (1, 0)])  # repeated times: the same instant time, new samples
def test_every_fed_sample_is_emitted_once(steps):
    """Whatever the clock does (runs, steps back, repeats), frames = instants published."""
    src = _Fed()
    t, times = 1000.0, []
    for run, back in steps:
        for _ in range(run):
            times.append(t)
            t += 10.0
        t += 10.0 * back
    for x in times:
        src.put(x)
    frames = _take(src, len(times))
    assert [f.time for f in frames] == times and src.instants == len(times) and src.late_values == 0
    assert all(math.isfinite(f.time) for f in frames)
