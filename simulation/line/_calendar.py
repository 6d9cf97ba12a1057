"""Shift calendars: periodic working windows and the arithmetic of working time."""

from __future__ import annotations

import bisect
import math

__all__ = ["WorkingTime"]


class WorkingTime:
    """Periodic working windows ``[start, end)`` within a period (e.g. three 8 h shifts a day
    minus breaks, or Mon–Fri of a 168 h week).

    Parameters
    ----------
    period
        Length of the cycle in seconds.
    windows
        ``(start, end)`` pairs in seconds within ``[0, period]``; overlapping
        windows are merged.
    offset
        Clock time (s) that corresponds to the start of the period (a snapshot taken
        at 10:30 into a day-long calendar has ``offset = -10.5 h``).
    """

    def __init__(self, period: float, windows: list[tuple[float, float]], offset: float = 0.0):
        if period <= 0:
            raise ValueError("period must be > 0")
        merged: list[list[float]] = []
        for s, e in sorted(windows):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.period = float(period)
        self.windows = [(float(s), float(e)) for s, e in merged]
        self.offset = float(offset)
        self._starts = [s for s, _ in self.windows]
        self.working_per_period = sum(e - s for s, e in self.windows)

    def _split(self, t: float) -> tuple[float, float]:
        u = t - self.offset
        k = math.floor(u / self.period)
        return k * self.period + self.offset, u - k * self.period

    def window_at(self, t: float) -> tuple[float, float] | None:
        """Absolute ``(start, end)`` of the working window containing ``t``, else None."""
        base, r = self._split(t)
        i = bisect.bisect_right(self._starts, r) - 1
        if i >= 0:
            s, e = self.windows[i]
            if s <= r < e:
                return base + s, base + e
        return None

    def next_start(self, t: float) -> float:
        """Earliest working instant ``>= t``."""
        if self.window_at(t) is not None:
            return t
        base, r = self._split(t)
        i = bisect.bisect_right(self._starts, r)
        if i < len(self.windows):
            return base + self.windows[i][0]
        return base + self.period + self.windows[0][0]

    def working_between(self, a: float, b: float) -> float:
        """Working seconds in ``[a, b)``."""
        if b <= a:
            return 0.0

        def cum(t: float) -> float:
            base, r = self._split(t)
            k = round((base - self.offset) / self.period)
            inside = sum(max(0.0, min(e, r) - s) for s, e in self.windows)
            return k * self.working_per_period + inside

        return cum(b) - cum(a)
