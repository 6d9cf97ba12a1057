"""Injectable clocks for the live paths: the same code runs in real, scaled or virtual time.

In the spirit of SimPy's ``RealtimeEnvironment`` (``simpy/rt.py``), which pairs
the simulation clock with the wall clock by a ``factor``: a :class:`Clock`
tells the *plant time* (epoch seconds) and sleeps in plant seconds.

* :class:`WallClock` – plant time runs ``speed`` times as fast as the wall clock
  from an ``origin`` (the plant emulator's anchor); ``speed=1`` is real time.
  :meth:`WallClock.step` makes the clock jump (an NTP correction, a PLC clock
  set back by hand) without touching the wall clock.
* :class:`ManualClock` – virtual time for tests: :meth:`~ManualClock.sleep`
  advances the clock at once, so a paced loop runs as fast as the machine
  allows and nothing depends on how fast that is.

The emulator (:class:`~twin.emulator.PlantServer`) stamps and paces its samples
with a clock; :class:`~twin.sources.OpcUaSource` measures its waits (hold,
stall, reconnect deadlines) on one.
"""

from __future__ import annotations

import asyncio
import threading
import time as _time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "WallClock", "ManualClock", "PacedClock", "clock_events"]


@runtime_checkable
class Clock(Protocol):
    """Plant time (epoch s) and sleeping in plant seconds."""

    def now(self) -> float:
        """Plant time now (epoch seconds)."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of plant time."""

    async def asleep(self, seconds: float) -> None:
        """Await ``seconds`` of plant time."""

    def wall(self, seconds: float) -> float:
        """Wall seconds that ``seconds`` of plant time take (0 for virtual time)."""


class WallClock:
    """Plant time ``origin + speed · (wall − wall at origin) + steps``.

    Parameters
    ----------
    speed
        Plant seconds per wall second (> 0).
    origin
        Plant epoch at the moment the clock is made (default: the wall time then).

    Examples
    --------
    >>> c = WallClock(speed=100.0, origin=1000.0)
    >>> 1000.0 <= c.now() < 1000.0 + 100.0 * 60
    True
    >>> c.wall(50.0)
    0.5
    """

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"`speed > 0` must hold, but got speed={speed!r}")
        self.speed = float(speed)
        self._wall0 = _time.time()
        self.origin = self._wall0 if origin is None else float(origin)
        self.offset = 0.0

    def now(self) -> float:
        return self.origin + (_time.time() - self._wall0) * self.speed + self.offset

    def step(self, seconds: float) -> None:
        """Make the clock jump by ``seconds`` (negative: back in time)."""
        self.offset += float(seconds)

    def wall(self, seconds: float) -> float:
        return max(float(seconds), 0.0) / self.speed

    def sleep(self, seconds: float) -> None:
        _time.sleep(self.wall(seconds))

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(self.wall(seconds))

    def __repr__(self) -> str:
        return f"WallClock(speed={self.speed:g}, origin={self.origin!r})"


class ManualClock:
    """Virtual time: :meth:`sleep` and :meth:`advance` move it, nothing else does.

    Thread-safe (the emulator and a source may share one).

    Parameters
    ----------
    start
        Plant epoch at the start.

    Examples
    --------
    >>> c = ManualClock(start=100.0)
    >>> c.sleep(10.0); c.now()
    110.0
    >>> c.step(-300.0); c.now()
    -190.0
    """

    speed = float("inf")

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (≥ 0)."""
        if seconds < 0:
            raise ValueError(
                f"`seconds >= 0` must hold for advance(), but got {seconds!r}; use step() to go back"
            )
        with self._lock:
            self._now += float(seconds)

    def step(self, seconds: float) -> None:
        """Make the clock jump by ``seconds`` (negative: back in time)."""
        with self._lock:
            self._now += float(seconds)

    def wall(self, seconds: float) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.advance(max(float(seconds), 0.0))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(float(seconds), 0.0))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now()!r})"


class PacedClock(ManualClock):
    """Virtual time that a producer (the emulator) may run ahead of its consumer (the twin) by at most
    ``lead`` samples: its sleeps wait, without blocking the producer's event loop, while ``ahead()``
    (samples produced minus samples consumed, set by the caller) exceeds ``lead``.

    On a bare :class:`ManualClock` an in-process emulator runs as fast as the machine allows and can
    get further ahead of the twin than an OPC UA subscription queue holds. ``lead=0`` is lock-step:
    the plant steps only once the twin has taken the last sample, so a set-point the twin writes
    while processing sample k takes effect from the plant's step after k, whatever the machine's
    speed (the batch loop, :func:`~twin.run_batch_loop`).
    """

    def __init__(self, start: float = 0.0, *, lead: int = 100) -> None:
        super().__init__(start)
        self.lead = int(lead)
        self.ahead = lambda: 0

    async def asleep(self, seconds: float) -> None:
        while self.ahead() > self.lead:
            await asyncio.sleep(0.002)
        await super().asleep(seconds)


def clock_events(frame) -> list[dict]:
    """Event-log records (``events.jsonl``) of a frame's clock marks: ``CLOCK_STEP``, ``NEW_TIMELINE``.

    Tag ``*`` (the whole source), start = end = the frame time, magnitude = seconds the
    clock jumped (0 for a new timeline, whose old and new times are not comparable).
    """
    t = float(frame.time)
    out = []
    step = float(getattr(frame, "clock_step", 0.0) or 0.0)
    if step:
        out.append(
            {
                "tag": "*",
                "kind": "CLOCK_STEP",
                "start": t,
                "end": t,
                "magnitude": abs(step),
                "direction": -1 if step < 0 else 1,
                "unit": "s",
            }
        )
    if getattr(frame, "new_timeline", False):
        out.append(
            {
                "tag": "*",
                "kind": "NEW_TIMELINE",
                "start": t,
                "end": t,
                "magnitude": 0.0,
                "direction": -1,
                "unit": "s",
            }
        )
    return out
