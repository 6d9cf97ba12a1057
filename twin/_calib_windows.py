"""Windows a calibration leaves out: what the twin flagged, what is known, what the operator excludes.

A calibration that fits through a sensor fault returns a precise, wrong answer (issue 26: a
+0.5 K bias pulled ``U`` to 409 with an interval excluding the true 400). Windows come from

* the trace's data-quality flags (any :class:`~twin.QualityFlag` bit on a measured tag),
* the trace's alarm log (each event's tag, from the CUSUM change point before the alarm —
  the last time the statistic was zero, Page's estimate of the change time (Page 1954;
  Montgomery, *Introduction to Statistical Quality Control*, 7th ed., §9.1.3) — to its end),
* known / scripted events (a plant scenario's ``faults``),
* operator windows (``--exclude [TAG@]START..END``).

A window on a measured output removes that tag's residuals; a window on an input tag, or on
no tag, removes every output's residuals (the twin is driven by the inputs, so a wrong input
spoils every prediction).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from workbench.errors import ConfigError

__all__ = ["ExcludedWindow", "parse_window", "windows_from_faults", "windows_from_trace", "apply_windows"]


@dataclass(frozen=True)
class ExcludedWindow:
    """A stretch of data left out of a calibration.

    Attributes
    ----------
    start, end
        Seconds since the first sample of the data (``end`` inclusive).
    tag
        Tag it applies to; ``None``: every measured tag.
    reason
        Where it came from: ``"quality: STALE"``, ``"alarm: cusum"``, ``"known: bias"``, ``"operator"``.
    """

    start: float
    end: float
    tag: str | None = None
    reason: str = "operator"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        span = f"{self.start / 60:.1f}–{self.end / 60:.1f} min"
        return f"{self.tag or 'all tags'} {span} ({self.reason})"


_WINDOW = re.compile(r"^\s*(?:(?P<tag>[^@]+)@)?(?P<span>.*)$", re.DOTALL)


def parse_window(text: str, *, tags: Sequence[str] = ()) -> ExcludedWindow:
    """``"[TAG@]START..END"`` (durations since the first sample, e.g. ``"TI_reactor@1 h..1.5 h"``).

    An empty START is the first sample, an empty END the last.

    Raises
    ------
    ConfigError
        Not of that form, an unreadable duration, END before START or an unknown tag.
    """
    from workbench.units import convert

    m = _WINDOW.match(text)
    if not m or ".." not in m["span"]:
        raise ConfigError(f"--exclude '{text}': expected [TAG@]START..END, e.g. '1 h..1.5 h' or "
                          "'TI_reactor@3 h..4 h'")
    tag = m["tag"].strip() if m["tag"] else None
    if tag is not None and tags and tag not in tags:
        from workbench.errors import did_you_mean

        raise ConfigError(f"--exclude '{text}': '{tag}' is not a tag of the binding; {did_you_mean(tag, tags)}")
    a, b = m["span"].split("..", 1)
    try:
        start = convert(a, "s") if a.strip() else 0.0
        end = convert(b, "s") if b.strip() else float("inf")
    except ConfigError as exc:
        raise ConfigError(f"--exclude '{text}': {exc.message}; give durations such as '30 min'") from exc
    if end < start:
        raise ConfigError(f"--exclude '{text}': END ({end:g} s) is before START ({start:g} s)")
    return ExcludedWindow(start, end, tag, "operator")


def windows_from_faults(faults: Sequence[Any], *, t_end: float = float("inf")) -> list[ExcludedWindow]:
    """Known events: a plant scenario's scripted faults (``bias``/``stuck``/``dropout`` on a tag,
    ``valve``/``parameter`` on the process, i.e. every tag)."""
    out = []
    for f in faults:
        end = float(f.until) if f.until is not None else t_end
        tag = f.tag if f.kind in ("bias", "stuck", "dropout") else None
        out.append(ExcludedWindow(float(f.at), end, tag, f"known: {f.kind}"))
    return out


def windows_from_trace(ds: Any, t0: float, *, margin: float = 0.0) -> list[ExcludedWindow]:
    """Windows the twin flagged in a trace store: quality flags and alarm events.

    Parameters
    ----------
    ds
        Trace Dataset (from :func:`~twin.open_trace`, ``alarm_events`` in its attrs).
    t0
        Time of the first sample (epoch seconds for a datetime trace), the origin of the windows.
    margin
        Seconds added before each alarm window (beyond the CUSUM change point).
    """
    from twin._quality import QualityFlag

    times = _seconds(ds["time"].values)
    tags = [str(t) for t in ds["tag"].values]
    out: list[ExcludedWindow] = []
    if "quality" in ds:
        q = np.asarray(ds["quality"].transpose("time", "tag").values).astype(np.int64)
        for j, tag in enumerate(tags):
            for a, b in _runs(q[:, j] != 0):
                bits = int(np.bitwise_or.reduce(q[a:b, j]))
                names = "|".join(f.name for f in QualityFlag if f and bits & int(f))
                out.append(ExcludedWindow(times[a] - t0, times[b - 1] - t0, tag, f"quality: {names}"))
    stat = ds["statistic"].transpose("time", "tag").values if "statistic" in ds else None
    for ev in json.loads(ds.attrs.get("alarm_events", "[]")):
        start, end = float(ev["start"]), ev.get("end")
        end = float(end) if end is not None else times[-1]
        tag = ev.get("tag")
        if stat is not None and tag in tags:  # back to the CUSUM/EWMA change point: last zero statistic
            col = stat[:, tags.index(tag)]
            k = int(np.searchsorted(times, start))
            while k > 0 and not (np.isfinite(col[k - 1]) and col[k - 1] <= 1e-12):
                k -= 1
            start = min(start, times[max(k - 1, 0)])
        out.append(ExcludedWindow(max(start - margin - t0, 0.0), end - t0, tag, f"alarm: {ev.get('kind', '?')}"))
    return out


def apply_windows(mask: np.ndarray, times: np.ndarray, windows: Sequence[ExcludedWindow],
                  output_tags: Sequence[str]) -> np.ndarray:
    """``mask`` (samples × outputs, True = used) with the windows' residuals removed.

    ``times`` are seconds since the first sample. A window whose tag is not a measured
    output (an input tag, or none) removes every output.
    """
    mask = mask.copy()
    for w in windows:
        rows = (times >= w.start - 1e-9) & (times <= w.end + 1e-9)
        if w.tag in output_tags:
            mask[rows, list(output_tags).index(w.tag)] = False
        else:
            mask[rows, :] = False
    return mask


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    """``[a, b)`` index ranges where ``flag`` is True."""
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _seconds(t: np.ndarray) -> np.ndarray:
    if np.issubdtype(t.dtype, np.datetime64):
        return t.astype("datetime64[ns]").astype(np.int64) / 1e9
    return t.astype(float)
