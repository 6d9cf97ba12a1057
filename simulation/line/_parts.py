"""Run-time parts of a line model: buffers, items, machines (with time-weighted state) and stations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import simpy

from simulation.line._calendar import WorkingTime
from simulation.line._distributions import Stream
from simulation.line.config import Station

__all__ = ["STATES", "Buffer", "Item", "Server", "StationRuntime"]

STATES = ("busy", "starved", "blocked", "down", "changeover", "maintenance", "off_shift")
"""Machine states, in the order of the ``state`` dim."""


class Buffer(simpy.Store):
    """A station's input buffer; rework re-enters on a rework rack that ignores the capacity
    (otherwise a rework loop through finite buffers can deadlock)."""

    def force_put(self, item: Item) -> None:
        """Add ``item`` regardless of the capacity and wake a waiting machine."""
        self.items.append(item)
        self._trigger_get(None)


class Item:
    """A part or batch of material moving through the line."""

    __slots__ = ("id", "product", "t_in", "values", "reworks")

    def __init__(self, id: int, product: str, t_in: float, values: dict[str, float]):
        self.id = id
        self.product = product
        self.t_in = t_in
        self.values = values
        self.reworks = 0


class Server:
    """One machine of a station, with its state bookkeeping (time-weighted)."""

    __slots__ = ("station", "index", "logical", "down", "since", "acc", "ttf", "cycles_left",
                 "last_product", "pm_due", "up_event", "in_work", "proc", "jobs", "trace", "env",
                 "trace_until", "batch", "work_left", "seg_start", "stop_end")

    def __init__(self, env: simpy.Environment, station: StationRuntime, index: int, trace: list | None,
                 trace_until: float = math.inf):
        self.env = env
        self.trace_until = trace_until
        self.station = station
        self.index = index
        self.logical = "starved"
        self.down = False
        self.since = env.now
        self.acc = dict.fromkeys(STATES, 0.0)
        self.ttf: dict[int, float] = {}
        self.cycles_left: dict[int, int] = {}
        self.last_product: str | None = None
        self.pm_due = False
        self.up_event: simpy.Event | None = None
        self.in_work = False
        self.proc: simpy.Process | None = None
        self.jobs = 0
        self.batch: list[Item] = []  # items held (being worked on or blocked)
        self.work_left = 0.0  # work left at the start of the current segment
        self.seg_start = 0.0
        self.stop_end: float | None = None  # end of the running repair / maintenance
        self.trace = trace

    def _close(self) -> None:
        now = self.env.now
        state = "down" if self.down else self.logical
        dt = now - self.since
        if dt > 0:
            self.acc[state] += dt
            if self.trace is not None and self.since < self.trace_until:
                self.trace.append((self.station.name, self.index, state, self.since, now))
        self.since = now

    def set(self, state: str) -> None:
        """Enter logical state ``state`` (busy, starved, blocked, changeover, …)."""
        if state != self.logical:
            if not self.down:
                self._close()
            self.logical = state

    def set_down(self, down: bool) -> None:
        """Mark the machine failed (``down``) or repaired."""
        if down != self.down:
            self._close()
            self.down = down
            if down:
                self.up_event = self.env.event()
            elif self.up_event is not None:
                self.up_event.succeed()
                self.up_event = None


@dataclass
class StationRuntime:
    """Run-time objects of a station: buffer, machines, random streams, counters."""

    cfg: Station
    name: str
    store: Buffer
    calendar: WorkingTime | None
    process: dict[str, Stream]
    changeover: dict[tuple[str, str], Stream]
    changeover_default: Stream | None
    quality: Stream
    route: Stream
    successors: list[str]
    servers: list[Server] = field(default_factory=list)
    unit: Any = None
    processed: int = 0
    jobs_after_warmup: int = 0
    good_out: int = 0
    scrapped: int = 0
    reworked: int = 0
    rr: int = 0
