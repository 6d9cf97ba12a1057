"""The block path of max-speed replay: clean stretches of columnar data go through
:meth:`~twin.Twin._process_block` at once (same results as frame by frame), everything else
through :meth:`~twin.Twin.process` one frame at a time."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from twin._quality import _ABSENT

__all__ = ["run_columns", "until_count"]


def run_columns(twin, source, columns, max_frames: int | None, until: float | None,
                on_progress: Callable[[int], Any] | None = None) -> None:
    """Replay the columns of ``source`` through ``twin``: blocks where the loop state allows, single
    frames (the reference path) elsewhere."""
    times, names, values, src_units = columns
    n = len(times)
    if max_frames is not None:
        n = min(n, max_frames)
    if until is not None:  # stop after the first accepted frame at or after `until`
        n_until = until_count(times, n, until, twin.gate._last_time)
        n = min(n, n_until)
    col = {name: j for j, name in enumerate(names)}
    gate = twin.gate
    idx = [col.get(t.name, -1) for t in gate.tags]
    raw = values[:, [j if j >= 0 else 0 for j in idx]] if values.shape[1] else np.full((len(times), len(idx)), np.nan)
    units = [src_units.get(t.name) if j >= 0 else _ABSENT for t, j in zip(gate.tags, idx, strict=True)]
    known = {t.name for t in gate.tags}
    unknown = [c for c in dict.fromkeys(names) if c not in known and c not in gate.ignore]
    finite = np.isfinite(times)
    i = 0
    if twin.resume_after is not None and not twin._started:  # rows the resumed trace has: skip
        done = np.asarray(times[:n] <= twin.resume_after)
        i = int(np.argmin(done)) if not done.all() else n
        twin.report.skipped += i
        if on_progress is not None and i:
            on_progress(i)
    while i < n:
        if getattr(source, "_closed", False):
            return
        m = 0
        if twin._started and twin._joining is None and twin._u_have.all() and twin.detector._all_ready:
            end = min(n, i + twin.block_rows)
            last = twin._last_t if math.isfinite(twin._last_t) else -math.inf
            t = times[i:end]
            prev = np.empty(end - i)
            prev[0] = gate._last_time if math.isfinite(gate._last_time) else -math.inf
            prev[1:] = t[:-1]
            bad = np.flatnonzero(~finite[i:end] | ~(t > prev) | ~(t > last))
            m = int(bad[0]) if bad.size else end - i
        if m > 0:
            twin._process_block(times[i:i + m], raw[i:i + m], units, unknown)
            i += m
        else:
            twin.process(source.frame(i))
            m = 1
            i += 1
        if on_progress is not None:
            on_progress(m)


def until_count(times: np.ndarray, n: int, until: float, last: float) -> int:
    """Frames of ``times[:n]`` up to the first accepted one at or after ``until`` (frames are accepted
    while time is finite and increasing; replicates ``step.time >= until`` of the frame loop)."""
    last = last if math.isfinite(last) else -math.inf
    for k in range(n):
        t = float(times[k])
        if math.isfinite(t) and t > last:
            if t >= until:
                return k + 1
            last = t
    return n
