"""The live page's alarm log: rows from a trace's alarm events, acknowledgements, CSV export.

Alarm events are what the twin writes to ``events.jsonl`` in its trace store
(:func:`twin.read_events`; ``attrs["alarm_events"]`` of stores closed before that file
existed). Their ``start``/``end`` are float seconds on the trace's clock: seconds since
1970-01-01 UTC in a ``datetime`` trace, elapsed seconds otherwise. The log shows them as
ISO UTC timestamps (datetime traces) and as batch time (since the trace's first row).

Acknowledgements are an append-only JSON-lines log (:class:`AckLog`) kept *beside* the
trace store, never inside it (the store belongs to the twin that writes it): by default
``<store>.acks.jsonl`` (``run.zarr`` → ``run.zarr.acks.jsonl``), or ``twin dashboard
--acks PATH``. Each line records which alarm (tag, test, start) and when it was
acknowledged, so a page reload, another browser or a restarted dashboard shows the same state.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from viz._tables import fmt

__all__ = ["AckLog", "alarm_key", "alarm_log_rows", "rows_to_csv", "default_ack_path", "trace_events"]


def default_ack_path(trace: str | Path) -> Path:
    """``<store>.acks.jsonl`` beside the trace store."""
    trace = Path(trace)
    return trace.with_name(trace.name + ".acks.jsonl")


def alarm_key(event: dict[str, Any]) -> str:
    """Stable id of one alarm event: tag, test and start time (what :func:`twin.read_events` merges on)."""
    return f"{event.get('tag', '')}|{event.get('kind', '')}|{float(event.get('start', float('nan'))):.6f}"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class AckLog:
    """Append-only acknowledgement log (JSON lines, see module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """Alarm key → its (first) acknowledgement record; a torn last line is skipped."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "key" in rec:
                out.setdefault(str(rec["key"]), rec)
        return out

    def acknowledge(self, key: str, **fields: Any) -> dict[str, Any]:
        """Record that alarm ``key`` is acknowledged now (UTC); a second call keeps the first record."""
        with self._lock:
            have = self.load()
            if key in have:
                return have[key]
            rec = {"key": key, "acknowledged_at": datetime.now(tz=UTC).isoformat(timespec="seconds"), **fields}
            with self.path.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            return rec


def trace_events(path: str | Path, attrs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Alarm events of a trace store: ``events.jsonl``, else the ``alarm_events`` attr (JSON)."""
    from twin import read_events

    events = read_events(path)
    if events or not attrs or not attrs.get("alarm_events"):
        return events
    raw = attrs["alarm_events"]
    try:
        got = json.loads(raw) if isinstance(raw, str) else list(raw)
    except (TypeError, ValueError):
        return []
    return sorted((e for e in got if isinstance(e, dict) and "start" in e), key=lambda e: (e["start"], e.get("tag", "")))


def alarm_log_rows(events: list[dict[str, Any]], *, time0: float, clock: bool,
                   acks: dict[str, dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """The alarm log, newest first: one row per event, with its acknowledgement.

    Parameters
    ----------
    events
        Merged alarm events (``tag``, ``kind``, ``start``, ``end``, ``magnitude``, ``direction``, ``unit``).
    time0
        The trace's first row on the events' clock (s): batch time is ``start − time0``.
    clock
        True when the times are epoch seconds (a ``datetime`` trace): a UTC clock column is shown.
    acks
        Alarm key → acknowledgement record (:meth:`AckLog.load`).
    """
    acks = acks or {}
    rows = []
    for e in events:
        start = float(e.get("start", np.nan))
        end = e.get("end")
        end = float(end) if isinstance(end, int | float) else None
        row = {"key": alarm_key(e), "tag": str(e.get("tag", "")), "test": str(e.get("kind", ""))}
        if clock:
            row["start (UTC)"] = _iso(start)
            row["end (UTC)"] = _iso(end) if end is not None else "active"
        row["start, batch time [min]"] = fmt((start - time0) / 60.0)
        if not clock:
            row["end, batch time [min]"] = fmt((end - time0) / 60.0) if end is not None else "active"
        row["duration [min]"] = fmt((end - start) / 60.0) if end is not None else "–"
        mag = e.get("magnitude")
        sign = "+" if int(e.get("direction", 0) or 0) >= 0 else "−"
        row["largest |residual|"] = (f"{sign}{fmt(mag)} {e.get('unit', '')}".strip()
                                     if isinstance(mag, int | float) else "–")
        ack = acks.get(row["key"])
        row["acknowledged"] = ack["acknowledged_at"].replace("T", " ").replace("+00:00", " UTC") if ack else ""
        rows.append(row)
    return rows[::-1]


def rows_to_csv(rows: list[dict[str, str]], *, drop: tuple[str, ...] = ("key",)) -> str:
    """Table rows as CSV text (header from the first row's keys)."""
    buf = io.StringIO()
    if not rows:
        return ""
    cols = [c for c in rows[0] if c not in drop]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
    return buf.getvalue()
