"""Self-contained HTML report of line-simulation results and what-if comparisons.

Reads the Datasets of :func:`simulation.line.simulate` and :func:`simulation.line.compare`;
computes no simulation itself. Charts: KPI means with t-confidence intervals per
scenario, a table of paired differences with their CIs and significance, machine state
fractions per station, WIP over time (mean and range over replications) and a Gantt
chart of the machine states of replication 0.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

__all__ = ["write_line_report", "kpi_figure", "gantt_figure", "wip_figure", "state_figure"]

_STATE_COLOURS = {
    "busy": "#2ca02c", "starved": "#c7c7c7", "blocked": "#ff7f0e", "down": "#d62728",
    "changeover": "#9467bd", "maintenance": "#1f77b4", "off_shift": "#7f7f7f",
}
_LINE_KPIS = ["throughput", "lead_time", "wip", "yield"]


def kpi_figure(results: Mapping[str, xr.Dataset], kpis: list[str] | None = None) -> go.Figure:
    """Bar chart of KPI means with CI error bars, one subplot per KPI, one bar per scenario."""
    kpis = kpis or [k for k in _LINE_KPIS if all(k in r["kpi"].values for r in results.values())]
    fig = make_subplots(rows=1, cols=len(kpis), subplot_titles=[
        f"{k} [{next(iter(results.values()))['kpi_units'].sel(kpi=k).item()}]" for k in kpis])
    names = list(results)
    for j, k in enumerate(kpis, start=1):
        means = [float(results[n]["mean"].sel(kpi=k)) for n in names]
        hws = [float(results[n]["half_width"].sel(kpi=k)) for n in names]
        fig.add_trace(go.Bar(x=names, y=means, error_y={"type": "data", "array": hws},
                             marker_color="#4c78a8", showlegend=False,
                             hovertemplate="%{x}: %{y:.4g} ± %{error_y.array:.3g}<extra></extra>"),
                      row=1, col=j)
    conf = next(iter(results.values())).attrs.get("confidence", 0.95)
    fig.update_layout(title=f"KPI means with {float(conf):.0%} confidence intervals", height=380)
    return fig


def state_figure(ds: xr.Dataset, title: str = "") -> go.Figure:
    """Stacked bars: mean fraction of machine time in each state, per station."""
    frac = ds["state_fraction"].mean("replication")
    fig = go.Figure()
    for state in map(str, ds["state"].values):
        fig.add_trace(go.Bar(name=state, x=list(map(str, ds["station"].values)),
                             y=frac.sel(state=state).values, marker_color=_STATE_COLOURS.get(state)))
    fig.update_layout(barmode="stack", title=title or "Machine states", yaxis_title="fraction of time",
                      height=360)
    return fig


def wip_figure(results: Mapping[str, xr.Dataset]) -> go.Figure:
    """WIP over time: mean over replications with min–max band, per scenario."""
    fig = go.Figure()
    for name, ds in results.items():
        if "wip_series" not in ds:
            continue
        t = ds["time"].values / 3600.0
        w = ds["wip_series"]
        fig.add_trace(go.Scatter(x=np.r_[t, t[::-1]], y=np.r_[w.max("replication"), w.min("replication")[::-1]],
                                 fill="toself", opacity=0.2, line={"width": 0}, name=f"{name} range",
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=t, y=w.mean("replication"), name=name, mode="lines"))
    fig.update_layout(title="Work in process (mean over replications, band = min–max)",
                      xaxis_title="time [h]", yaxis_title="WIP [parts]", height=360)
    return fig


def gantt_figure(ds: xr.Dataset, *, title: str = "", max_hours: float | None = 48.0) -> go.Figure:
    """Gantt chart of machine states of replication 0 (first ``max_hours`` after the start)."""
    fig = go.Figure()
    if "gantt_state" not in ds:
        fig.update_layout(title="no state trace recorded")
        return fig
    start = ds["gantt_start"].values
    t0 = float(start.min()) if start.size else 0.0
    end = ds["gantt_end"].values
    keep = np.ones(start.shape, dtype=bool) if max_hours is None else start < t0 + max_hours * 3600
    rows = np.char.add(np.char.add(ds["gantt_station"].values.astype(str), " #"),
                       ds["gantt_server"].values.astype(str))
    states = ds["gantt_state"].values.astype(str)
    for state in _STATE_COLOURS:
        sel = keep & (states == state)
        if not sel.any():
            continue
        fig.add_trace(go.Bar(
            base=(start[sel] - t0) / 3600.0, x=(end[sel] - start[sel]) / 3600.0, y=rows[sel],
            orientation="h", name=state, marker_color=_STATE_COLOURS[state],
            hovertemplate="%{y}: " + state + " from %{base:.2f} h for %{x:.2f} h<extra></extra>",
        ))
    fig.update_layout(barmode="overlay", title=title or "Machine states (replication 0)",
                      xaxis_title="time since start [h]", height=120 + 28 * len(set(rows.tolist())))
    fig.update_yaxes(autorange="reversed")
    return fig


def _comparison_table(cmp: xr.Dataset) -> str:
    kpis = list(map(str, cmp["kpi"].values))
    line = [k for k in kpis if "[" not in k]
    station = [k for k in kpis if "[" in k]
    conf = float(cmp.attrs.get("confidence", 0.95))
    absent = json.loads(str(cmp.attrs.get("absent_stations", "{}")))
    notes = "".join(
        f"<p class='note'>{html.escape(scenario)} has no station {html.escape(', '.join(stations))}: "
        "its KPIs are NaN on that side.</p>" for scenario, stations in absent.items())
    return (
        f"<h2>What-if differences (paired, common random numbers, {conf:.0%} CI)</h2>"
        + notes + _table(cmp, line)
        + "<details><summary>station KPIs (utilisation, blocked, starved, down, OEE)</summary>"
        + _table(cmp, station) + "</details>"
    )


def _table(cmp: xr.Dataset, kpis: list[str]) -> str:
    rows = []
    absent = json.loads(str(cmp.attrs.get("absent_stations", "{}")))
    base = str(cmp.attrs.get("base", ""))

    def cell(scenario: str, kpi: str, value) -> str:
        return "absent" if kpi.partition("[")[2].rstrip("]") in absent.get(scenario, []) else f"{float(value):.4g}"

    for v in map(str, cmp["variant"].values):
        for k in kpis:
            c = cmp.sel(variant=v, kpi=k)
            sig = int(c["significant"])
            lo, hi = (float(x) for x in c["delta_ci"].values)
            rows.append(
                f"<tr class='{'sig' if sig else ''}'><td>{html.escape(v)}</td><td>{html.escape(k)}</td>"
                f"<td>{cell(base, k, c['base_mean'])}</td><td>{cell(v, k, c['variant_mean'])}</td>"
                f"<td>{float(c['delta']):+.4g}</td><td>[{lo:+.4g}, {hi:+.4g}]</td>"
                f"<td>{float(c['p_value']):.3g}</td><td>{'yes' if sig else 'no'}</td>"
                f"<td>{html.escape(str(c['kpi_units'].item()))}</td></tr>"
            )
    return (
        "<table><tr><th>variant</th><th>KPI</th><th>base</th><th>variant</th><th>Δ</th>"
        "<th>CI of Δ</th><th>p</th><th>significant</th><th>units</th></tr>" + "".join(rows) + "</table>"
    )


def write_line_report(results: Mapping[str, xr.Dataset], path: str | Path, *,
                      comparison: xr.Dataset | None = None, title: str | None = None) -> Path:
    """Write a self-contained HTML report (plotly.js embedded once; opens offline).

    Parameters
    ----------
    results
        Scenario name → result Dataset of :func:`simulation.line.simulate` (base first).
    path
        Output ``.html`` file.
    comparison
        Optional Dataset of :func:`simulation.line.compare`.
    title
        Page title (default: the scenario names).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    title = title or "Line simulation: " + ", ".join(results)
    parts: list[str] = []
    figs = [kpi_figure(results), wip_figure(results)]
    for name, ds in results.items():
        figs.append(state_figure(ds, f"Machine states: {name}"))
    for name, ds in results.items():
        figs.append(gantt_figure(ds, title=f"Machine states over time (replication 0): {name}"))
    for i, fig in enumerate(figs):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    cmp_html = _comparison_table(comparison) if comparison is not None else ""
    meta = []
    for name, ds in results.items():
        a = ds.attrs
        meta.append(f"<li><b>{html.escape(name)}</b>: {int(a.get('replications', ds.sizes['replication']))} "
                    f"replications, seed {a.get('seed')}, hash {html.escape(str(a.get('scenario_hash', '')))}, "
                    f"warm-up {float(a.get('warmup_s', 0)) / 3600:.3g} h, horizon "
                    f"{float(a.get('horizon_s', -1)) / 3600:.3g} h</li>")
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} tr.sig td{{background:#eef7ee}}</style>
</head><body><h1>{html.escape(title)}</h1><ul>{''.join(meta)}</ul>{cmp_html}{''.join(parts)}</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path

