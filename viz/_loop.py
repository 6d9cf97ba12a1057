"""The live page's view of the quality loop: the look-ahead projection and the advice audit.

**Projection.** At every look-ahead the live twin replaces ``<trace store>/projection.nc``
(atomically) with its latest Monte-Carlo projection of the rest of the batch: coords
``quantile`` (0.05, 0.25, 0.5, 0.75, 0.95) and ``time`` (projected batch time, s); one variable
per judged golden-model variable over ``(quantile, time)`` with its ``units``; attrs ``start``
(batch time the projection starts from, s), ``offset`` (aligned reference time − batch time, s),
``p_leave`` (probability of leaving the envelope), ``time_to_violation`` (s, NaN if none),
``replications``, ``made_at`` (the trace ``time`` of the sample it was made at: epoch seconds
in a ``datetime`` trace) and ``p_miss_<spec>`` per quality spec. :func:`read_projection` reads
it, :func:`projection_bands` gives the fan of one variable, :func:`projection_caption` the
sentence under the chart.

**Advice.** The advice channel (:class:`twin.AdviceChannel`) logs ``ADVICE_*`` events, one per
set-point, to the trace's ``events.jsonl``. :func:`advice_proposals` folds them into one record
per proposal with its outcome; :func:`pending_proposal` is the latest proposal nobody settled;
:func:`advice_history_rows` the table of the last ones.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from viz._tables import fmt
from workbench.errors import DatasetError

__all__ = ["PROJECTION_FILE", "QUANTILES", "read_projection", "projection_bands", "projection_caption",
           "made_at_label", "readable_duration", "advice_proposals", "pending_proposal", "advice_history_rows",
           "change_text", "when_label"]

PROJECTION_FILE = "projection.nc"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_ATTRS = ("start", "offset", "p_leave", "time_to_violation", "replications", "made_at")


def read_projection(trace: str | Path) -> xr.Dataset | None:
    """The latest look-ahead projection of the twin writing ``trace`` (``None`` if it made none).

    Raises
    ------
    DatasetError
        The file is not a projection (names the file and what is missing).
    """
    from workbench.dataset import read_netcdf

    path = Path(trace) / PROJECTION_FILE
    if not path.exists():
        return None
    ds = read_netcdf(path)
    problems = [f"no '{c}' coordinate" for c in ("quantile", "time") if c not in ds.coords]
    if not problems:
        have = np.asarray(ds["quantile"].values, dtype=float)
        lost = [q for q in QUANTILES if not np.isclose(have, q).any()]
        if lost:
            problems.append(f"quantiles {', '.join(f'{q:g}' for q in lost)} missing (has {', '.join(map(fmt, have))})")
    problems += [f"no '{a}' attr" for a in _ATTRS if a not in ds.attrs]
    if not [v for v in ds.data_vars if set(ds[v].dims) == {"quantile", "time"}]:
        problems.append("no variable over (quantile, time)")
    if problems:
        raise DatasetError(f"{path}: not a look-ahead projection: {'; '.join(problems)} (the live twin writes "
                           "quantile × time bands of each judged variable and the attrs start, offset, p_leave, "
                           "time_to_violation, replications, made_at)")
    return ds


def projection_bands(proj: xr.Dataset, variable: str) -> dict[str, Any] | None:
    """The fan of ``variable`` from the projection's start on (``None`` if it has no such variable).

    Returns
    -------
    dict
        ``x``: reference time (projected batch time + ``offset``, s); ``q05``, ``q25``,
        ``q50``, ``q75``, ``q95``: the quantiles in ``unit`` (the variable's ``units`` attr).
    """
    if variable not in proj.data_vars:
        return None
    t = np.asarray(proj["time"].values, dtype=float)
    keep = t >= float(proj.attrs["start"]) - 1e-9
    da = proj[variable].transpose("quantile", "time")
    qs = np.asarray(proj["quantile"].values, dtype=float)
    out: dict[str, Any] = {"x": t[keep] + float(proj.attrs.get("offset", 0.0) or 0.0),
                           "unit": str(da.attrs.get("units", ""))}
    for q in QUANTILES:
        row = int(np.argmin(np.abs(qs - q)))
        out[f"q{round(q * 100):02d}"] = np.asarray(da.values[row], dtype=float)[keep]
    return out


def readable_duration(seconds: float) -> str:
    """``42 min``, ``1.5 h``, ``30 s`` — a span in the unit a reader thinks in."""
    s = abs(float(seconds))
    if s < 60.0:
        return f"{s:.0f} s"
    if s < 3600.0:
        return f"{s / 60.0:.0f} min" if s >= 600.0 else f"{s / 60.0:.1f} min"
    return f"{s / 3600.0:.1f} h"


def _clock(seconds: float, *, seconds_shown: bool = True) -> str:
    d = datetime.fromtimestamp(float(seconds), tz=UTC)
    return d.strftime("%H:%M:%S UTC" if seconds_shown or d.second else "%H:%M UTC")


def when_label(seconds: float, *, time0: float, clock: bool) -> str:
    """A plant time on the trace's clock for a reader: UTC date and time, or batch time in min."""
    if clock:
        return datetime.fromtimestamp(float(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"batch time {fmt((float(seconds) - time0) / 60.0)} min"


def made_at_label(proj: xr.Dataset, *, time0: float, clock: bool) -> str:
    """``made at 01:20 UTC`` (a ``datetime`` trace) or ``made at batch time 80 min``."""
    made = float(proj.attrs["made_at"])
    if clock:
        return f"made at {_clock(made, seconds_shown=False)}"
    return f"made at batch time {fmt((made - time0) / 60.0)} min"


def projection_caption(proj: xr.Dataset, *, time0: float, clock: bool, last: float,
                       interval: float | None = None) -> str:
    """The sentence under the fan: probability of leaving the envelope, expected first violation, spec risks.

    Parameters
    ----------
    time0, clock
        The trace's first row (s on the trace's clock) and whether that clock is UTC epoch seconds.
    last
        The trace's last row (same clock): a projection made long before it is called stale.
    interval
        Time between projections (s; the binding's ``lookahead.every_min``): a projection more than
        two intervals older than the last row is marked *stale*. Unknown: only its age is stated.
    """
    a = proj.attrs
    made = float(a["made_at"])
    runs = int(a["replications"])
    parts = [f"Look-ahead {made_at_label(proj, time0=time0, clock=clock)} ({runs} runs"
             + (f", from batch time {readable_duration(float(a['start']))}" if float(a["start"]) > 0 else "") + ")"]
    age = last - made
    if interval is not None and age > 2.0 * interval:
        parts[0] += f" — STALE: {readable_duration(age)} before the last sample (look-ahead every " \
                    f"{readable_duration(interval)})"
    elif age >= 1.0:
        parts[0] += f", {readable_duration(age)} before the last sample"
    p_leave = float(a["p_leave"])
    parts.append(f"probability of leaving the envelope {100.0 * p_leave:.0f} %")
    ttv = float(a["time_to_violation"])
    if math.isfinite(ttv):
        parts.append(f"expected first violation in {readable_duration(ttv)}")
    else:
        parts.append("no violation expected within the projection")
    for key in sorted(k for k in a if str(k).startswith("p_miss_")):
        parts.append(f"probability of missing {key[len('p_miss_'):]} {100.0 * float(a[key]):.0f} %")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------------- advice
_SETTLING = ("ADVICE_WRITE_FAILED", "ADVICE_WRITTEN", "ADVICE_REFUSED", "ADVICE_REJECTED", "ADVICE_EXPIRED",
             "ADVICE_CONFIRMED")
_OUTCOME = {"ADVICE_WRITE_FAILED": "write failed", "ADVICE_WRITTEN": "written", "ADVICE_REFUSED": "refused",
            "ADVICE_REJECTED": "rejected", "ADVICE_EXPIRED": "expired",
            "ADVICE_CONFIRMED": "confirmed (write not logged yet)"}


def _aside(e: dict[str, Any]) -> bool:
    """An event about the confirm node (a refused confirmation, an unreadable node), not a set-point."""
    return (e.get("value") is None and not e.get("why") and not e.get("predicted_effect")
            and str(e.get("tag", "")).rsplit("/", 1)[-1] == "confirm")


def advice_proposals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per proposal (oldest first) from a trace's events (others are ignored).

    Each record: ``id``, ``at`` (plant time of its first event), ``by`` (who proposed), ``why``,
    ``effect``, ``changes`` (node → ``value``, ``previous``, ``unit``), ``outcome`` (``pending``,
    ``confirmed (write not logged yet)``, ``written``, ``refused``, ``rejected``, ``expired``,
    ``superseded``, ``write failed``; ``no outcome logged`` for an unsettled proposal a newer
    recommended one followed, as after a restart of the twin), ``outcome_by``, ``outcome_at``, ``message`` and ``notes`` (events about the confirm
    node: refused confirmations, an unreadable node).
    """
    props: dict[str, dict[str, Any]] = {}
    for e in events:
        kind = str(e.get("kind", ""))
        pid = e.get("proposal")
        if not kind.startswith("ADVICE_") or not pid:
            continue
        p = props.setdefault(str(pid), {"id": str(pid), "at": float(e["start"]), "by": None, "why": "", "effect": "",
                                        "changes": {}, "kinds": {}, "notes": []})
        if _aside(e):
            p["notes"].append(e)
            continue
        p["at"] = min(p["at"], float(e["start"]))
        if kind == "ADVICE_PROPOSED" or p["by"] is None and kind in ("ADVICE_REFUSED", "ADVICE_WRITTEN",
                                                                     "ADVICE_WRITE_FAILED"):
            p["by"] = e.get("by")
        p["why"] = p["why"] or str(e.get("why") or "")
        p["effect"] = p["effect"] or str(e.get("predicted_effect") or "")
        node = str(e.get("tag", ""))
        ch = p["changes"].setdefault(node, {"value": None, "previous": None, "unit": str(e.get("unit") or "")})
        for k in ("value", "previous"):
            if e.get(k) is not None:
                ch[k] = float(e[k])
        p["kinds"].setdefault(kind, e)
    out = sorted(props.values(), key=lambda p: p["at"])
    # a newer proposal that went to the recommendation nodes replaces a pending one (the channel logs
    # that); a refused or closed-loop one does not
    recommended_after = [any("ADVICE_PROPOSED" in q["kinds"] for q in out[i + 1:]) for i in range(len(out))]
    for i, p in enumerate(out):
        settle = next((k for k in _SETTLING if k in p["kinds"]), None)
        if settle is None:
            p["outcome"] = "no outcome logged" if recommended_after[i] else "pending"
            p["outcome_by"], p["outcome_at"], p["message"] = None, None, ""
            continue
        e = p["kinds"][settle]
        p["outcome"] = ("superseded" if settle == "ADVICE_EXPIRED" and e.get("result") == "superseded"
                        else _OUTCOME[settle])
        p["outcome_by"], p["outcome_at"], p["message"] = e.get("by"), float(e["start"]), str(e.get("message") or "")
    return out


def pending_proposal(proposals: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The proposal waiting for an operator: the latest one nothing settled (a refused proposal after it
    leaves it pending)."""
    return next((p for p in reversed(proposals) if p["outcome"] == "pending"), None)


def _unit(u: str) -> str:
    return "" if u in ("", "1") else f" {u}"


def change_text(node: str, ch: dict[str, Any]) -> str:
    """``SP_T_reactor 71.85 → 72.5 degC`` (``–`` for a value not known)."""
    return f"{node} {fmt(ch['previous'])} → {fmt(ch['value'])}{_unit(ch['unit'])}"


def advice_history_rows(proposals: list[dict[str, Any]], *, time0: float, clock: bool,
                        n: int = 10) -> list[dict[str, str]]:
    """The last ``n`` proposals, newest first: when, what, why, outcome, by whom."""
    when = "proposed (UTC)" if clock else "proposed, batch time [min]"
    settled = "settled (UTC)" if clock else "settled, batch time [min]"

    def t(s: float | None) -> str:
        if s is None:
            return "–"
        return when_label(s, time0=time0, clock=True) if clock else fmt((s - time0) / 60.0)

    rows = []
    for p in proposals[-n:][::-1]:
        detail = p["message"] if p["outcome"] in ("refused", "write failed", "superseded") else ""
        rows.append({when: t(p["at"]),
                     "set-point change": "; ".join(change_text(k, v) for k, v in p["changes"].items()),
                     "why": p["why"] or "–", "outcome": p["outcome"],
                     "by": str(p["outcome_by"] or "–"), settled: t(p["outcome_at"]), "details": detail or "–"})
    return rows

