"""What a twin returns: one :class:`TwinStep` per processed frame and a :class:`TwinReport` per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin._detect import AlarmEvent

__all__ = ["TwinStep", "TwinReport"]


@dataclass
class TwinStep:
    """What the twin made of one frame (all arrays over ``Twin.tags``)."""

    time: float
    accepted: bool
    real: np.ndarray
    virtual: np.ndarray
    residual: np.ndarray
    alarm: np.ndarray
    quality: np.ndarray
    gap: float = 0.0
    synced: bool = False


@dataclass
class TwinReport:
    """Summary of a twin run.

    Attributes
    ----------
    samples
        Frames accepted and processed.
    rejected
        Frames rejected by the gate (duplicate / out-of-order time).
    events
        Alarm events (:class:`~twin.AlarmEvent`).
    quality
        Gate summary (counts per dimension and per tag/flag).
    gaps
        ``(start, end)`` times of data gaps.
    syncs
        Number of state re-syncs (resets, or samples with an EKF correction).
    wall_time
        Seconds of wall time spent.
    trace
        Trace store path, if any.
    skipped
        Frames skipped by a resumed run: at or before :attr:`resumed_after`.
    resumed_after
        Time of the last complete row of the trace this run resumed (None: not resumed).
    rows_recorded
        Trace rows this run wrote to the store.
    rows_buffered_then_written
        Of those, rows that waited in memory while the disk failed.
    rows_lost
        Rows that never reached the store (buffer bound exceeded, or the last flush failed).
    trace_error
        Why the trace is not persisted at the end of the run (None when it is).
    gap_samples
        Samples missing in the flagged gaps (gap length / sample period, summed).
    clock_steps
        ``(time, seconds)`` of every backward step of the source clock (``CLOCK_STEP`` events).
    timelines
        New timelines started (a restarted plant whose time went back; flagged discontinuities).
    joined_at
        Batch time (s) the twin joined a running batch at (None: it started at the batch start).
    settled_at, settle_reason
        Time of the last sample held by the settling after the join, and why it ended
        (``"consistent"`` residuals or the ``"max"`` hold); None while holding or without a join.

    Every sample a live source publishes is accounted for:
    ``samples + rejected + gap_samples`` = samples published (within one timeline).
    """

    samples: int = 0
    rejected: int = 0
    events: list[AlarmEvent] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    syncs: int = 0
    wall_time: float = 0.0
    trace: str | None = None
    skipped: int = 0
    resumed_after: float | None = None
    rows_recorded: int = 0
    rows_buffered_then_written: int = 0
    rows_lost: int = 0
    trace_error: str | None = None
    gap_samples: int = 0
    clock_steps: list[tuple[float, float]] = field(default_factory=list)
    timelines: int = 0
    joined_at: float | None = None
    settled_at: float | None = None
    settle_reason: str | None = None

    @property
    def trace_persisted(self) -> bool:
        """True unless the trace's last flush failed (see :attr:`trace_error`)."""
        return self.trace_error is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "samples": self.samples,
            "rejected": self.rejected,
            "events": [e.as_dict() for e in self.events],
            "quality": self.quality,
            "gaps": self.gaps,
            "syncs": self.syncs,
            "wall_time_s": self.wall_time,
            "samples_per_s": self.samples / self.wall_time if self.wall_time > 0 else None,
            "trace": self.trace,
            "skipped": self.skipped,
            "resumed_after": self.resumed_after,
            "rows_recorded": self.rows_recorded,
            "rows_buffered_then_written": self.rows_buffered_then_written,
            "rows_lost": self.rows_lost,
            "trace_persisted": self.trace_persisted,
            "trace_error": self.trace_error,
            "gap_samples": self.gap_samples,
            "clock_steps": self.clock_steps,
            "timelines": self.timelines,
            "joined_at": self.joined_at,
            "settled_at": self.settled_at,
            "settle_reason": self.settle_reason,
        }
