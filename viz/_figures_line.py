"""Figures of a line-twin trace (``twin monitor LINE_BINDING.yaml``): station states, buffers, forecasts.

Layout read here (written by :class:`twin.line.LineTwin`, see :mod:`twin.line._monitor`):

* the trace store: ``value(time, source, tag)`` with ``source="real"`` holding the
  line's tags — ``<station>.state`` (or ``<station>.state.<k>`` per machine) as codes
  of :data:`twin.line.STATE_CODES`, ``<station>.buffer`` (items in the input buffer),
  the plant clock (a tag ``*.clock`` in s) and the shipped counter (``*.shipped``);
* the ``forecast`` group: ``shipped(time, replication)`` (end-of-shift good parts per
  replication, forecast made at plant clock ``time``), ``interval(time, bound)``,
  ``median``, ``shipped_so_far``, ``shift_end`` and ``actual`` (NaN until the shift ends);
* alarm events (``events.jsonl``, merged by :func:`twin.read_events`).

All charts use the plant clock in hours on x, so live (epoch-stamped) and replayed
(elapsed) traces look the same and the forecasts (stamped with the plant clock) line up.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from viz._downsample import downsample

__all__ = ["LINE_STATE_NAMES", "line_tags", "plant_clock", "state_segments", "line_gantt_figure",
           "buffer_figure", "forecast_fan_figure", "alarm_rows"]

#: State code → name, as :data:`twin.line.STATE_CODES` (kept here so a viewer needs no SimPy import;
#: ``tests/viz`` checks the two agree).
LINE_STATE_NAMES = {0: "idle", 1: "running", 2: "blocked", 3: "starved", 4: "down", 5: "setup",
                    6: "maintenance", 7: "off_shift"}
_COLORS = {"running": "#2ca02c", "starved": "#ffbf00", "blocked": "#d62728", "down": "#7f0000",
           "setup": "#1f77b4", "maintenance": "#9467bd", "off_shift": "#c7c7c7", "idle": "#b0b0b0",
           "unknown": "#ffffff"}
_MARGIN = {"l": 70, "r": 20, "t": 50, "b": 45}


def line_tags(tags: list[str]) -> dict[str, list[str]]:
    """Group a line trace's tags: ``state`` (one row per machine), ``buffer``, ``clock``, ``shipped``."""
    state = [t for t in tags if t.endswith(".state") or ".state." in t]
    return {"state": state,
            "buffer": [t for t in tags if t.endswith(".buffer")],
            "clock": [t for t in tags if t.endswith(".clock")][:1],
            "shipped": [t for t in tags if t.endswith(".shipped")][:1]}


def _real(ds: xr.Dataset, tag: str) -> np.ndarray:
    return ds["value"].sel(source="real", tag=tag).values.astype(float)


def plant_clock(ds: xr.Dataset) -> np.ndarray:
    """Plant clock of every row in s: the clock tag, else seconds since the first sample."""
    tags = line_tags([str(t) for t in ds["tag"].values])
    if tags["clock"]:
        c = _real(ds, tags["clock"][0])
        if np.isfinite(c).any():
            # fill NaN clocks (bad samples) from the row time so the x axis stays monotonic
            t = _elapsed(ds)
            ok = np.isfinite(c)
            return np.where(ok, c, np.interp(t, t[ok], c[ok] - t[ok]) + t) if not ok.all() else c
    return _elapsed(ds)


def _elapsed(ds: xr.Dataset) -> np.ndarray:
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        return (t - t[0]).astype("timedelta64[ms]").astype(float) / 1000.0 if t.size else np.zeros(0)
    return t.astype(float)


def state_segments(clock: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length segments of a sampled state signal: ``(start, end, code)``; NaN codes → −1.

    A segment lasts from the sample where the state was first seen to the sample
    where the next state was first seen (the last one to the last sample).
    """
    codes = np.where(np.isfinite(codes), codes, -1).astype(int)
    if codes.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
    change = np.flatnonzero(np.diff(codes) != 0) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, codes.size - 1]
    return clock[starts], clock[ends], codes[starts]


def line_gantt_figure(ds: xr.Dataset | None, *, window_h: float | None = None,
                      max_segments: int = 6000) -> go.Figure:
    """Live station-state Gantt chart (one row per machine) over the plant clock.

    Parameters
    ----------
    ds
        Line trace (``None``: an empty chart saying so).
    window_h
        Show only the last ``window_h`` plant hours (``None``: everything).
    max_segments
        Keep at most this many segments per row (the longest ones) so a long trace stays light.
    """
    fig = go.Figure()
    if ds is None or ds.sizes.get("time", 0) == 0:
        return fig.update_layout(title="no line trace yet", margin=_MARGIN)
    clock = plant_clock(ds)
    rows = line_tags([str(t) for t in ds["tag"].values])["state"]
    t_end = clock[-1]
    per_state: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for tag in rows:
        s, e, c = state_segments(clock, _real(ds, tag))
        if window_h is not None:
            keep = e >= t_end - window_h * 3600.0
            s, e, c = s[keep], e[keep], c[keep]
        if s.size > max_segments:
            keep = np.sort(np.argsort(-(e - s))[:max_segments])
            s, e, c = s[keep], e[keep], c[keep]
        label = tag.rsplit(".state", 1)[0] + tag.rsplit(".state", 1)[1].replace(".", "/")
        for code in np.unique(c):
            name = LINE_STATE_NAMES.get(int(code), "unknown")
            m = c == code
            per_state.setdefault(name, []).append((label, s[m] / 3600.0, e[m] / 3600.0))
    order = [t.rsplit(".state", 1)[0] + t.rsplit(".state", 1)[1].replace(".", "/") for t in rows]
    for name in [n for n in _COLORS if n in per_state]:
        y = np.concatenate([np.full(len(s), label, dtype=object) for label, s, _ in per_state[name]])
        base = np.concatenate([s for _, s, _ in per_state[name]])
        width = np.concatenate([e - s for _, s, e in per_state[name]])
        fig.add_trace(go.Bar(y=y, x=np.maximum(width, 1e-4), base=base, orientation="h", name=name,
                             marker={"color": _COLORS[name], "line": {"width": 0}},
                             hovertemplate="%{y}: " + name + " from %{base:.3f} h for %{x:.3f} h<extra></extra>"))
    fig.update_layout(barmode="overlay", bargap=0.25, title="station states (live)", xaxis_title="plant clock [h]",
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1]}, margin=_MARGIN,
                      legend={"orientation": "h", "y": -0.2}, uirevision="line-gantt")
    return fig


def buffer_figure(ds: xr.Dataset | None, *, n_out: int = 1500) -> go.Figure:
    """Items in each station's input buffer over the plant clock (downsampled per line)."""
    fig = go.Figure()
    if ds is None or ds.sizes.get("time", 0) == 0:
        return fig.update_layout(title="no line trace yet", margin=_MARGIN)
    clock = plant_clock(ds) / 3600.0
    for tag in line_tags([str(t) for t in ds["tag"].values])["buffer"]:
        x, y = downsample(clock, _real(ds, tag), n_out)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=tag.rsplit(".buffer", 1)[0],
                                   line={"shape": "hv", "width": 1.5}))
    fig.update_layout(title="buffer levels", xaxis_title="plant clock [h]", yaxis_title="items in buffer [parts]",
                      margin=_MARGIN, uirevision="line-buffers")
    return fig


def _shift_output(ds: xr.Dataset, fc: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Good parts shipped in the running shift at every trace row, re-based on the forecasts.

    The shipped counter counts from the plant start; each forecast knows how much was
    shipped in its shift so far, so ``counter − shipped_so_far`` at the forecast is the
    counter at the shift start. Rows before the first forecast use the first base.
    """
    tags = line_tags([str(t) for t in ds["tag"].values])
    clock = plant_clock(ds)
    if not tags["shipped"] or fc is None or fc.sizes.get("time", 0) == 0:
        return clock, np.full(clock.size, np.nan)
    counter = _real(ds, tags["shipped"][0])
    ok = np.isfinite(counter)
    if not ok.any():
        return clock, np.full(clock.size, np.nan)
    ft = fc["time"].values.astype(float)
    at_fc = np.interp(ft, clock[ok], counter[ok])
    base = at_fc - fc["shipped_so_far"].values.astype(float)
    ends = fc["shift_end"].values.astype(float)
    k = np.clip(np.searchsorted(ft, clock, side="right") - 1, 0, len(ft) - 1)
    out = counter - base[k]
    out[clock >= ends[k]] = np.nan  # after that shift ended, until the next shift's first forecast
    return clock, out


def forecast_fan_figure(fc: xr.Dataset | None, ds: xr.Dataset | None = None, *,
                        n_out: int = 1500) -> go.Figure:
    """Fan chart of the end-of-shift forecasts against the actual output.

    At each forecast time (x) the bands span the 5–95 % and 25–75 % quantiles of the
    replications' shipped parts, with the median and the forecast's prediction
    interval; the line below rises with what the line actually shipped in the shift,
    and a diamond marks the actual end-of-shift output once the shift is over.
    """
    fig = go.Figure()
    if fc is None or fc.sizes.get("time", 0) == 0:
        return fig.update_layout(title="no forecast yet (the twin forecasts every forecast.every)", margin=_MARGIN)
    t = fc["time"].values.astype(float) / 3600.0
    shipped = fc["shipped"].values.astype(float)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(shipped, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    for (lo, hi), name, alpha in (((0, 4), "5–95 % of replications", 0.18), ((1, 3), "25–75 % of replications", 0.35)):
        fig.add_trace(go.Scatter(x=np.r_[t, t[::-1]], y=np.r_[q[hi], q[lo][::-1]], fill="toself", mode="lines",
                                 line={"width": 0, "shape": "hv"}, fillcolor=f"rgba(31,119,180,{alpha})",
                                 name=name, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t, y=fc["median"].values.astype(float), mode="lines+markers", name="forecast median",
                             line={"color": "#1f77b4", "shape": "hv"}))
    if "interval" in fc:
        iv = fc["interval"].values.astype(float)
        level = fc["interval"].attrs.get("long_name", "prediction interval")
        fig.add_trace(go.Scatter(x=t, y=iv[:, 0], mode="markers", marker={"symbol": "line-ew-open", "size": 12},
                                 name=level, legendgroup="pi", line={"color": "#1f4e79"}))
        fig.add_trace(go.Scatter(x=t, y=iv[:, 1], mode="markers", marker={"symbol": "line-ew-open", "size": 12},
                                 showlegend=False, legendgroup="pi", line={"color": "#1f4e79"}))
    if ds is not None and ds.sizes.get("time", 0):
        clock, out = _shift_output(ds, fc)
        if np.isfinite(out).any():
            x, y = downsample(clock / 3600.0, out, n_out)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="shipped in the shift so far",
                                       line={"color": "#2ca02c", "width": 2}))
    actual = fc["actual"].values.astype(float)
    ends = fc["shift_end"].values.astype(float) / 3600.0
    done = np.isfinite(actual)
    if done.any():
        _, first = np.unique(ends[done], return_index=True)
        fig.add_trace(go.Scatter(x=ends[done][first], y=actual[done][first], mode="markers", name="actual at shift end",
                                 marker={"symbol": "diamond", "size": 12, "color": "#d62728"}))
    for e in np.unique(ends):
        fig.add_vline(x=float(e), line={"dash": "dot", "color": "#888"})
    fig.update_layout(title="end-of-shift forecast of shipped parts vs actual output", xaxis_title="plant clock [h]",
                      yaxis_title="good parts shipped [parts]", margin=_MARGIN, uirevision="line-forecast",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def alarm_rows(events: list[dict]) -> list[dict]:
    """Alarm events as table rows (newest first): station.parameter, test, start/end [h], detail."""
    rows = []
    for e in events:
        start, end = e.get("start"), e.get("end")
        rows.append({
            "alarm": str(e.get("kind", e.get("tag", ""))),
            "test": str(e.get("test", "")),
            "start [h]": f"{float(start) / 3600.0:.2f}" if isinstance(start, int | float) else str(start),
            "end [h]": f"{float(end) / 3600.0:.2f}" if isinstance(end, int | float) else "open",
            "detail": str(e.get("message", e.get("detail", ""))),
        })
    return rows[::-1]
