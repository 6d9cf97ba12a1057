"""Figures of the live-twin view: real vs virtual, envelope, T²/SPE and contributions.

Every function takes xarray data and returns a ``plotly.graph_objects.Figure``;
no figure here computes physics. Long series are downsampled (M4, see
:mod:`viz._downsample`) to ``n_out`` points for the visible range.

Residual band
    The band drawn around the virtual trend is ``virtual ± limit`` where
    ``limit`` is the per-tag residual limit in the trace attrs
    (``residual_limits``: JSON ``{tag: limit}``) when the twin recorded one, and
    otherwise ``3 · 1.4826 · MAD(residual)`` (the MAD-based robust estimate of
    σ for normal data, Rousseeuw & Croux 1993, JASA 88:1273) over the trace.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

import workbench.dataset  # noqa: F401  (registers ds.wb)
from viz._downsample import downsample, visible_slice

__all__ = [
    "residual_limit",
    "trend_figure",
    "envelope_figure",
    "mspc_figure",
    "contribution_figure",
    "overview_figure",
    "note_figure",
    "envelope_match",
    "time_axis",
    "COLORS",
]

COLORS = {"real": "#1f77b4", "virtual": "#ff7f0e", "band": "rgba(255,127,14,0.18)", "alarm": "#d62728",
          "quality": "#9467bd", "limit": "#d62728", "envelope": "rgba(44,160,44,0.20)", "mean": "#2ca02c",
          "fan_outer": "rgba(148,103,189,0.16)", "fan_inner": "rgba(148,103,189,0.32)", "fan_median": "#6a3d9a"}


def residual_limit(trace: xr.Dataset, tag: str) -> float:
    """Half width of the residual band of ``tag`` (see module docstring)."""
    raw = trace.attrs.get("residual_limits")
    if raw:
        try:
            limits = json.loads(raw) if isinstance(raw, str) else dict(raw)
            if tag in limits and np.isfinite(float(limits[tag])):
                return float(limits[tag])
        except (TypeError, ValueError):
            pass
    r = trace["residual"].sel(tag=tag).values.astype(float)
    r = r[np.isfinite(r)]
    if r.size < 2:
        return float("nan")
    mad = float(np.median(np.abs(r - np.median(r))))
    return 3.0 * 1.4826 * mad


def time_axis(t: np.ndarray, mode: str = "clock") -> tuple[np.ndarray, str]:
    """x values and axis title for trace times ``t``.

    ``"clock"`` keeps datetime64 times (plotly shows them as dates, in UTC); ``"batch"``
    (and any float time, which is elapsed seconds) gives the time since the first row, in
    minutes for up to 2 h, else hours — never raw seconds since 1970.
    """
    t = np.asarray(t)
    if mode == "clock" and np.issubdtype(t.dtype, np.datetime64):
        return t, "clock time (UTC)"
    s = _elapsed(t)
    span = float(s[-1] - s[0]) if s.size else 0.0
    scale, unit = (60.0, "min") if span <= 7200.0 else (3600.0, "h")
    return s / scale, f"batch time [{unit}]"


def _flag_points(x: np.ndarray, flags: np.ndarray, y: np.ndarray, max_points: int = 400):
    """Samples where ``flags`` is set: run starts plus an even subsample (bounded count)."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return x[:0], y[:0], flags[:0]
    starts = idx[np.r_[True, np.diff(idx) > 1]]
    if idx.size > max_points:
        keep = np.unique(np.r_[starts[:max_points], idx[:: max(1, idx.size // max_points)]])
        idx = keep[: 2 * max_points]
    return x[idx], y[idx], flags[idx]


def trend_figure(
    trace: xr.Dataset,
    tag: str,
    *,
    n_out: int = 1500,
    x0=None,
    x1=None,
    uirevision: str | None = None,
    xmode: str = "clock",
) -> go.Figure:
    """Real vs virtual trend of one tag with residual band, alarm and quality markers.

    Parameters
    ----------
    trace
        Twin trace (``value(time, source, tag)``, ``residual``, ``alarm``, ``quality``).
    tag
        Tag to show.
    n_out
        Points per line after downsampling (for the visible range).
    x0, x1
        Visible x-range (from a zoom); ``None`` shows everything.
    uirevision
        Kept by plotly across updates so zoom survives live refreshes.
    xmode
        ``"clock"`` or ``"batch"`` time on the x axis (:func:`time_axis`); ``x0``/``x1`` are in it.

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows: values (real, virtual, band, markers) and the residual.
    """
    unit = trace.wb.tag_units().get(tag, "")
    t, xtitle = time_axis(trace["time"].values, xmode)
    real = trace["value"].sel(source="real", tag=tag).values.astype(float)
    virt = trace["value"].sel(source="virtual", tag=tag).values.astype(float)
    resid = trace["residual"].sel(tag=tag).values.astype(float) if "residual" in trace else real - virt
    lim = residual_limit(trace, tag) if "residual" in trace else float("nan")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.05)
    xv, yv = downsample(t, virt, n_out, x0=x0, x1=x1)
    if np.isfinite(lim):
        fig.add_trace(go.Scatter(x=xv, y=yv + lim, mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, name="band upper"), row=1, col=1)
        fig.add_trace(go.Scatter(x=xv, y=yv - lim, mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=COLORS["band"], hoverinfo="skip", name=f"virtual ± {lim:.3g} {unit}"),
                      row=1, col=1)
    xr_, yr_ = downsample(t, real, n_out, x0=x0, x1=x1)
    fig.add_trace(go.Scatter(x=xr_, y=yr_, mode="lines", name="real", line={"color": COLORS["real"]}), row=1, col=1)
    fig.add_trace(go.Scatter(x=xv, y=yv, mode="lines", name="virtual",
                             line={"color": COLORS["virtual"], "dash": "dash"}), row=1, col=1)
    sl = visible_slice(t, x0, x1)
    if "alarm" in trace:
        alarm = trace["alarm"].sel(tag=tag).values[sl]
        ax, ay, af = _flag_points(t[sl], alarm != 0, np.where(np.isfinite(real[sl]), real[sl], virt[sl]))
        fig.add_trace(go.Scatter(x=ax, y=ay, mode="markers", name="alarm",
                                 marker={"color": COLORS["alarm"], "symbol": "x", "size": 8}), row=1, col=1)
    if "quality" in trace:
        q = trace["quality"].sel(tag=tag).values[sl]
        qx, qy, qf = _flag_points(t[sl], q != 0, virt[sl])
        fig.add_trace(go.Scatter(x=qx, y=qy, mode="markers", name="data quality flag",
                                 customdata=np.asarray(qf, dtype=int),
                                 hovertemplate="quality bits %{customdata}<extra></extra>",
                                 marker={"color": COLORS["quality"], "symbol": "triangle-down", "size": 8}),
                      row=1, col=1)
    xres, yres = downsample(t, resid, n_out, x0=x0, x1=x1)
    fig.add_trace(go.Scatter(x=xres, y=yres, mode="lines", name="residual", line={"color": "#444"}), row=2, col=1)
    if np.isfinite(lim):
        for s in (1, -1):
            fig.add_hline(y=s * lim, line={"color": COLORS["limit"], "dash": "dot", "width": 1}, row=2, col=1)
    fig.update_yaxes(title_text=f"{tag} [{unit}]" if unit else tag, row=1, col=1)
    fig.update_yaxes(title_text=f"residual [{unit}]" if unit else "residual", row=2, col=1)
    fig.update_xaxes(title_text=xtitle, row=2, col=1)
    fig.update_layout(title={"text": f"{tag}: real vs virtual", "y": 0.98, "yanchor": "top"},
                      margin={"l": 60, "r": 20, "t": 80, "b": 40},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"}, uirevision=uirevision or f"{tag}-{xmode}",
                      hovermode="x unified")
    if x0 is not None and x1 is not None:
        fig.update_xaxes(range=[x0, x1])
    return fig


def _elapsed(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.datetime64):
        return (t - t[0]) / np.timedelta64(1, "s")
    return t.astype(float) - (float(t[0]) if t.size else 0.0)


def _to_unit(values: np.ndarray, unit: str, target: str) -> np.ndarray:
    """``values`` in ``unit`` converted to ``target`` (pint, :mod:`workbench.units`); as is if either is empty."""
    if not unit or not target or unit == target:
        return values
    from workbench.units import normalise_unit, ureg

    q = ureg.Quantity(np.asarray(values, dtype=float), normalise_unit(unit))
    return np.asarray(q.to(normalise_unit(target)).magnitude, dtype=float)


def envelope_match(envelope: xr.Dataset, tags: list[str], mapping: dict[str, str] | None = None,
                   prefer: str | None = None) -> tuple[str, str] | None:
    """``(tag, variable)``: the trace tag drawn against an envelope variable, or ``None``.

    A tag matches the variable of the same name, or the one ``mapping`` (tag → variable,
    ``twin dashboard --envelope-map``) names. ``prefer`` (the tag the page shows) wins when
    it matches.
    """
    names = [str(v) for v in envelope["variable"].values]
    mapping = mapping or {}
    pairs = [(t, mapping.get(t, t)) for t in tags if mapping.get(t, t) in names]
    for t, v in pairs:
        if t == prefer:
            return t, v
    return pairs[0] if pairs else None


def envelope_figure(envelope: xr.Dataset, *, trace: xr.Dataset | None = None,
                    trajectory: xr.Dataset | None = None, variable: str | None = None,
                    title: str | None = None, tag: str | None = None, projection: xr.Dataset | None = None,
                    projection_label: str = "") -> go.Figure:
    """A running (or best-recipe) batch over its golden envelope, one variable.

    Parameters
    ----------
    envelope
        ``Envelope.to_dataset()`` output: ``envelope_mean/lower/upper(time, variable)``;
        ``envelope_mean`` is optional (a campaign's own band has none, see
        :func:`viz._figures_results.campaign_envelope`), ``attrs["label"]`` names the band
        (default ``"golden envelope"``).
    trace
        Twin trace; its ``real`` values of ``tag`` are drawn against batch time (elapsed
        time since the first row, the batch start), converted to the variable's unit.
    trajectory
        Alternatively a Dataset with ``time`` (s) and a variable named ``variable``
        (e.g. a campaign's best recipe).
    variable
        Envelope variable (default: the first one that the trace/trajectory has).
    tag
        Trace tag that measures ``variable`` (default: the tag named ``variable``).
    projection
        The twin's latest look-ahead projection (:func:`viz._loop.read_projection`): its 5–95 %
        and 25–75 % bands and median of ``variable`` are drawn as a fan from the projection's start
        on, at reference time (projected time + ``offset``), converted to the variable's unit.
    projection_label
        Goes into the fan's legend entries, e.g. ``"20 runs, made at 01:20 UTC"``.
    """
    names = [str(v) for v in envelope["variable"].values]
    if variable is None:
        have = set()
        if trace is not None:
            have = {str(t) for t in trace["tag"].values}
        elif trajectory is not None:
            have = set(map(str, trajectory.data_vars))
        variable = next((n for n in names if n in have), names[0])
    tag = tag or variable
    env = envelope.sel(variable=variable)
    te = envelope["time"].values.astype(float)
    units = ""
    if "variable_units" in envelope:
        units = str(envelope["variable_units"].sel(variable=variable).values)
    has_batch = trace is not None and tag in set(map(str, trace["tag"].values)) and trace.sizes["time"] > 0
    fan = None
    if projection is not None:
        from viz._loop import projection_bands

        fan = projection_bands(projection, variable)
    if has_batch:  # the live page: batch time in min or h, as its other charts
        span = max(float(te[-1] - te[0]) if te.size else 0.0, float(_elapsed(trace["time"].values)[-1]),
                   float(np.nanmax(fan["x"])) if fan is not None and fan["x"].size else 0.0)
        scale, tunit = (60.0, "min") if span <= 7200.0 else (3600.0, "h")
    else:  # a stored trajectory (campaign reports and pages) keeps its seconds
        scale, tunit = 1.0, "s"
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=te / scale, y=env["envelope_upper"].values, mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=te / scale, y=env["envelope_lower"].values, mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor=COLORS["envelope"],
                             name=str(envelope.attrs.get("label", "golden envelope"))))
    if "envelope_mean" in env:
        fig.add_trace(go.Scatter(x=te / scale, y=env["envelope_mean"].values, mode="lines", name="golden mean",
                                 line={"color": COLORS["mean"], "dash": "dash"}))
    if has_batch:
        y = trace["value"].sel(source="real", tag=tag).values.astype(float)
        y = _to_unit(y, trace.wb.tag_units().get(tag, ""), units)
        x = _elapsed(trace["time"].values) / scale
        xd, yd = downsample(x, y, 2000)
        fig.add_trace(go.Scatter(x=xd, y=yd, mode="lines", name=f"running batch ({tag})" if tag != variable
                                 else "running batch", line={"color": COLORS["real"]}))
    if fan is not None and fan["x"].size:
        _add_fan(fig, fan, units, scale, projection_label)
    if trajectory is not None and variable in trajectory:
        x = trajectory["time"].values.astype(float) / scale
        fig.add_trace(go.Scatter(x=x, y=trajectory[variable].values.astype(float).ravel(), mode="lines",
                                 name=trajectory.attrs.get("label", "trajectory"), line={"color": COLORS["real"]}))
    shown = f"{tag} as {variable}" if has_batch and tag != variable else variable
    fig.update_layout(title=title or f"{shown} against the golden envelope",
                      xaxis_title=f"batch time [{tunit}]",
                      yaxis_title=f"{variable} [{units}]" if units and units != "1" else f"{variable} [–]",
                      margin={"l": 60, "r": 20, "t": 80, "b": 40},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
    return fig


def _add_fan(fig: go.Figure, fan: dict, units: str, scale: float, label: str) -> None:
    """The look-ahead fan: 5–95 % and 25–75 % bands (filled between their edges) and the median."""
    x = fan["x"] / scale
    q = {k: _to_unit(fan[k], fan["unit"], units) for k in ("q05", "q25", "q50", "q75", "q95")}
    tail = f" ({label})" if label else ""
    for lo, hi, color, name in (("q05", "q95", COLORS["fan_outer"], f"projection 5–95 %{tail}"),
                                ("q25", "q75", COLORS["fan_inner"], "projection 25–75 %")):
        fig.add_trace(go.Scatter(x=x, y=q[hi], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip", legendgroup=name))
        fig.add_trace(go.Scatter(x=x, y=q[lo], mode="lines", line={"width": 0}, fill="tonexty", fillcolor=color,
                                 name=name, legendgroup=name, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=q["q50"], mode="lines", name="projection median",
                             line={"color": COLORS["fan_median"], "dash": "dot"}))


def _limit(da: xr.DataArray) -> float | None:
    for key in ("limit", "upper_limit", "control_limit"):
        if key in da.attrs:
            try:
                return float(da.attrs[key])
            except (TypeError, ValueError):
                return None
    return None


def mspc_figure(monitor: xr.Dataset, *, uirevision: str = "mspc") -> go.Figure:
    """T² and SPE over time with their control limits (two rows); points are clickable.

    Parameters
    ----------
    monitor
        Dataset with ``t2(time)`` and ``spe(time)``; each may carry its limit in
        ``attrs["limit"]`` or as a variable ``t2_limit``/``spe_limit`` (scalar or
        over time). Each point's ``customdata`` is ``[time index, 0 (T²) or 1 (SPE)]``,
        which the dashboard uses to show the contributions at that point.
    """
    t = monitor["time"].values
    tu = str(monitor["time"].attrs.get("units", "s"))
    if tu == "s" and not np.issubdtype(np.asarray(t).dtype, np.datetime64):
        span = float(np.nanmax(t) - np.nanmin(t)) if t.size else 0.0
        scale, unit = (60.0, "min") if span <= 7200.0 else (3600.0, "h")
        t, xtitle = np.asarray(t, dtype=float) / scale, f"batch time [{unit}]"
    elif np.issubdtype(np.asarray(t).dtype, np.datetime64):
        xtitle = "clock time (UTC)"
    else:
        xtitle = str(monitor["time"].attrs.get("long_name", "sample"))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=("Hotelling T²", "SPE (Q)"))
    for row, name in ((1, "t2"), (2, "spe")):
        y = monitor[name].values.astype(float)
        lim_var = f"{name}_limit"
        limit = monitor[lim_var].values.astype(float) if lim_var in monitor else _limit(monitor[name])
        over = y > (np.asarray(limit) if limit is not None else np.inf)
        colors = np.where(over, COLORS["alarm"], COLORS["real"])
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines+markers", name="T²" if name == "t2" else "SPE",
                                 customdata=[[i, row - 1] for i in range(t.size)], marker={"size": 5, "color": colors},
                                 line={"color": COLORS["real"], "width": 1},
                                 legendgroup=name, showlegend=True,
                                 hovertemplate="%{x}<br>%{y:.3g}<extra>click for contributions</extra>"),
                      row=row, col=1)
        if limit is not None:
            lim_y = np.broadcast_to(np.asarray(limit, dtype=float), t.shape)
            fig.add_trace(go.Scatter(x=t, y=lim_y, mode="lines", name=f"{'T²' if name == 't2' else 'SPE'} limit",
                                     line={"color": COLORS["limit"], "dash": "dash"}, hoverinfo="skip",
                                     legendgroup=name, showlegend=True),
                          row=row, col=1)
    fig.update_xaxes(title_text=xtitle, row=2, col=1)
    fig.update_yaxes(title_text="T² [–]", row=1, col=1)
    fig.update_yaxes(title_text="SPE [–]", row=2, col=1)
    fig.update_layout(margin={"l": 60, "r": 20, "t": 80, "b": 40}, showlegend=True, uirevision=uirevision,
                      clickmode="event", title={"text": "T² and SPE with their limits<br><sup>red points: above "
                                                        "the limit · click a point for its contributions</sup>"})
    return fig


def contribution_figure(monitor: xr.Dataset, index: int | None, *, statistic: str = "t2") -> go.Figure:
    """Bar chart of the contributions of each variable to T² or SPE at time index ``index``.

    Reads ``t2_contribution(time, variable)`` / ``spe_contribution(time, variable)``
    (as written by ``golden_batch.BatchPCA.contributions``, one batch selected).
    """
    fig = go.Figure()
    var = f"{statistic}_contribution"
    label = "T²" if statistic == "t2" else "SPE"
    if var not in monitor or index is None:
        text = (f"this monitor has no {label} contributions ({var}): clicking a point shows none"
                if var not in monitor else "click a T² or SPE point to see its contributions")
        return note_figure(text, title=text)
    c = monitor[var]
    if "batch" in c.dims:
        c = c.isel(batch=-1)
    row = c.isel(time=int(index))
    names = [str(v) for v in row["variable"].values]
    vals = row.values.astype(float)
    order = np.argsort(-np.abs(vals))
    when = monitor["time"].values[int(index)]
    if np.issubdtype(np.asarray(when).dtype, np.datetime64):
        at = np.datetime_as_string(when, unit="s").replace("T", " ") + " UTC"
    elif str(monitor["time"].attrs.get("units", "s")) == "s":
        at = f"batch time {float(when) / 60.0:.1f} min"
    else:
        at = f"sample {float(when):g}"
    fig.add_trace(go.Bar(x=[names[i] for i in order], y=vals[order], name=label,
                         marker={"color": np.where(vals[order] >= 0, COLORS["alarm"], COLORS["real"])}))
    fig.update_layout(title=f"contributions to {label} at {at}",
                      yaxis_title=f"contribution to {label} [–]", margin={"l": 60, "r": 20, "t": 50, "b": 60})
    return fig


def note_figure(text: str, *, title: str = "") -> go.Figure:
    """An empty chart that says why it is empty (the sentence in the middle of the axes)."""
    fig = go.Figure()
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": "#52606d"})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False},
                      margin={"l": 40, "r": 20, "t": 50, "b": 40}, meta={"note": text})
    return fig


def overview_figure(ds: xr.Dataset, n_out: int, *, xmode: str = "clock") -> go.Figure:
    """Residual / band half-width of every measured tag over time (one line per tag, with a legend)."""
    fig = go.Figure()
    t, xtitle = time_axis(ds["time"].values, xmode)
    for tag in map(str, ds["tag"].values):
        r = ds["residual"].sel(tag=tag).values.astype(float)
        if not np.isfinite(r).any():
            continue
        lim = residual_limit(ds, tag)
        y = r / lim if np.isfinite(lim) and lim > 0 else r
        x, yd = downsample(t, y, n_out)
        # SVG lines: one <path> per tag draws faster than 50 WebGL traces in a software-GL browser
        fig.add_trace(go.Scatter(x=x, y=yd, mode="lines", name=tag, line={"width": 1}))
    fig.add_hrect(y0=-1, y1=1, fillcolor="rgba(44,160,44,0.12)", line_width=0)
    fig.update_layout(title="all tags: residual / band half-width (inside ±1, the green band, is normal)",
                      yaxis_title="normalised residual [–]", xaxis_title=xtitle,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40},
                      showlegend=True, legend={"title": {"text": "tag"}}, uirevision=f"overview-{xmode}")
    return fig
