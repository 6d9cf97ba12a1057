"""Self-contained HTML report of line-simulation results and what-if comparisons.

Reads the Datasets of :func:`simulation.line.simulate` and :func:`simulation.line.compare`;
computes no simulation itself. Charts: KPI means with t-confidence intervals per
scenario, a table of paired differences with their CIs and significance, machine state
fractions per station, WIP over time (mean and range over replications) and a Gantt
chart of the machine states of replication 0 in flow order over its first shift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from viz._format import unit_label
from viz._html import note_html, render_report, table_html

__all__ = ["write_line_report", "kpi_figure", "gantt_figure", "wip_figure", "state_figure", "flow_order"]

_STATE_COLOURS = {
    "busy": "#2ca02c", "starved": "#c7c7c7", "blocked": "#ff7f0e", "down": "#d62728",
    "changeover": "#9467bd", "maintenance": "#1f77b4", "off_shift": "#7f7f7f",
}
_LINE_KPIS = ["throughput", "lead_time", "wip", "yield"]


def kpi_figure(results: Mapping[str, xr.Dataset], kpis: list[str] | None = None) -> go.Figure:
    """Bar chart of KPI means with CI error bars, one subplot per KPI, one bar per scenario."""
    kpis = kpis or [k for k in _LINE_KPIS if all(k in r["kpi"].values for r in results.values())]
    fig = make_subplots(rows=1, cols=len(kpis), subplot_titles=[
        f"{k} [{unit_label(next(iter(results.values()))['kpi_units'].sel(kpi=k).item())}]" for k in kpis])
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
    fig.update_layout(barmode="stack", title=title or "Machine states", yaxis_title="fraction of time [–]",
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


def flow_order(ds: xr.Dataset) -> list[str]:
    """Stations in the line's flow order: the ``station`` coordinate (the scenario's order), then any
    other station of the Gantt trace in order of first appearance."""
    order = [str(s) for s in ds["station"].values] if "station" in ds.coords else []
    if "gantt_station" in ds:
        order += [s for s in dict.fromkeys(map(str, ds["gantt_station"].values)) if s not in order]
    return order


def gantt_figure(ds: xr.Dataset, *, title: str = "", max_hours: float | None = 8.0) -> go.Figure:
    """Gantt chart of machine states of replication 0: one row per machine in flow order (first station
    on top), covering the first ``max_hours`` (default 8 h, one shift) of the recorded trace."""
    fig = go.Figure()
    if "gantt_state" not in ds:
        fig.update_layout(title="no state trace recorded (run with a trace to see machine states over time)")
        return fig
    start = ds["gantt_start"].values.astype(float)
    t0 = float(start.min()) if start.size else 0.0
    end = ds["gantt_end"].values.astype(float)
    keep = np.ones(start.shape, dtype=bool) if max_hours is None else start < t0 + max_hours * 3600
    if max_hours is not None:
        end = np.minimum(end, t0 + max_hours * 3600)
    stations = ds["gantt_station"].values.astype(str)
    servers = ds["gantt_server"].values.astype(int)
    rows = np.char.add(np.char.add(stations, " #"), servers.astype(str))
    rank = {s: i for i, s in enumerate(flow_order(ds))}
    order = sorted(set(rows[keep].tolist()), key=lambda r: (rank.get(r.rsplit(" #", 1)[0], len(rank)),
                                                            int(r.rsplit(" #", 1)[1])))
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
    span = "" if max_hours is None else f", first {max_hours:g} h"
    fig.update_layout(barmode="overlay", title=title or f"Machine states (replication 0{span})",
                      xaxis_title="time since the start of the trace [h]", height=140 + 28 * len(order),
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1], "title": "machine (flow order)"})
    if max_hours is not None:
        fig.update_xaxes(range=[0, max_hours])
    return fig


def _comparison_rows(cmp: xr.Dataset, kpis: list[str]) -> list[dict]:
    absent = json.loads(str(cmp.attrs.get("absent_stations", "{}")))
    base = str(cmp.attrs.get("base", ""))

    def cell(scenario: str, kpi: str, value):
        return "absent" if kpi.partition("[")[2].rstrip("]") in absent.get(scenario, []) else float(value)

    rows = []
    for v in map(str, cmp["variant"].values):
        for k in kpis:
            c = cmp.sel(variant=v, kpi=k)
            lo, hi = (float(x) for x in c["delta_ci"].values)
            rows.append({"variant": v, "KPI": k, "base": cell(base, k, c["base_mean"]),
                         "variant mean": cell(v, k, c["variant_mean"]), "Δ": float(c["delta"]),
                         "Δ lower": lo, "Δ upper": hi, "p": float(c["p_value"]),
                         "significant": "yes" if int(c["significant"]) else "no",
                         "unit": unit_label(c["kpi_units"].item())})
    return rows


def _comparison_section(cmp: xr.Dataset) -> tuple[str, str, str]:
    kpis = list(map(str, cmp["kpi"].values))
    line = [k for k in kpis if "[" not in k]
    station = [k for k in kpis if "[" in k]
    conf = float(cmp.attrs.get("confidence", 0.95))
    absent = json.loads(str(cmp.attrs.get("absent_stations", "{}")))
    notes = "".join(note_html(f"{scenario} has no station {', '.join(stations)}: its KPIs are absent on that side.")
                    for scenario, stations in absent.items())
    body = (notes + table_html(_comparison_rows(cmp, line), csv_name="what_if_line_kpis")
            + "<details><summary>station KPIs (utilisation, blocked, starved, down, OEE)</summary>"
            + table_html(_comparison_rows(cmp, station), csv_name="what_if_station_kpis") + "</details>")
    return (f"What-if differences (paired, common random numbers, {conf:.0%} CI)", body,
            "Each variant minus the base, replication by replication; act on a difference only where "
            "'significant' says yes (its CI excludes 0).")


def _kpi_table(results: Mapping[str, xr.Dataset]) -> str:
    rows = []
    for name, ds in results.items():
        conf = float(ds.attrs.get("confidence", 0.95))
        for k in [k for k in _LINE_KPIS if k in ds["kpi"].values]:
            lo, hi = (float(x) for x in ds["ci"].sel(kpi=k).values) if "ci" in ds else (np.nan, np.nan)
            rows.append({"scenario": name, "KPI": k, "mean": float(ds["mean"].sel(kpi=k)),
                         f"{conf:.0%} CI lower": lo, f"{conf:.0%} CI upper": hi,
                         "unit": unit_label(ds["kpi_units"].sel(kpi=k).item())})
    return table_html(rows, csv_name="line_kpis")


def _runs_table(results: Mapping[str, xr.Dataset]) -> str:
    rows = []
    for name, ds in results.items():
        a = ds.attrs
        rows.append({"scenario": name, "replications": int(a.get("replications", ds.sizes["replication"])),
                     "seed": str(a.get("seed", "–")), "scenario hash": str(a.get("scenario_hash", "–")),
                     "warm-up [h]": float(a.get("warmup_s", 0)) / 3600, "horizon [h]": float(a.get("horizon_s", -1)) / 3600})
    return table_html(rows, csv_name="runs")


def write_line_report(results: Mapping[str, xr.Dataset], path: str | Path, *,
                      comparison: xr.Dataset | None = None, title: str | None = None,
                      gantt_hours: float | None = 8.0) -> Path:
    """Write a self-contained HTML report (plotly.js embedded once; opens offline), in the report style.

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
    gantt_hours
        Window of the machine-state Gantt charts from the start of the trace (default 8 h, a
        shift; ``None``: the whole trace).

    Returns
    -------
    pathlib.Path
    """
    title = title or "Line simulation: " + ", ".join(results)
    sections: list = [("Runs", _runs_table(results), "What was simulated: replications, seeds and horizon.")]
    sections.append(("Key figures", [kpi_figure(results), _kpi_table(results)],
                     "Mean KPIs over the replications with confidence intervals; overlapping intervals "
                     "mean the scenarios are not told apart by this many replications."))
    if comparison is not None:
        sections.append(_comparison_section(comparison))
    sections.append(("Work in process", wip_figure(results),
                     "Parts in the line over time; a WIP that keeps rising means the line cannot keep up."))
    for name, ds in results.items():
        if "state_fraction" in ds:
            sections.append((f"Machine states: {name}", state_figure(ds, f"Machine states: {name}"),
                             "Share of time per state and station, in flow order; the bottleneck is the "
                             "station busy most, the one before it is blocked and the one after it starved."))
    span = "the whole trace" if gantt_hours is None else f"the first {gantt_hours:g} h (one shift)"
    for name, ds in results.items():
        sections.append((f"Machine states over time: {name}",
                         gantt_figure(ds, title=f"Machine states of replication 0, {span}: {name}",
                                      max_hours=gantt_hours),
                         f"One row per machine in flow order, {span} of replication 0 from the start of its trace: "
                         "look for long blocked/starved stretches behind a stopped machine."))
    first = next(iter(results.values()))
    attrs = {k: v for k, v in first.attrs.items() if k not in ("snapshot",)}
    return render_report(title, sections, path, attrs=attrs, what=f"line simulation report: {', '.join(results)}")
