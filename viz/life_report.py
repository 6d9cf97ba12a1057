"""Self-contained HTML report of a life simulation, a life-data fit and a PM optimisation.

Reads the datasets produced by :mod:`simulation.life` (computes nothing new): the KPI table
with confidence intervals, R(t) and A(t) with their bounds (and the analytic curve when
present), component importance, the probability plot of a fit on its distribution's own
paper with the fit line and confidence band, the parameter table with bounds and the B1/B10
lives (:mod:`viz._figures_life`), and the cost-rate curve of a PM interval search with its
optimum marked and a warning when the optimum sits on the edge of the searched grid. One
report style (:func:`viz.render_report`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from viz._figures_life import (
    b_life_rows,
    edge_warning,
    fit_parameter_rows,
    pm_cost_figure,
    pm_optimum,
    probability_plot,
)
from viz._format import fmt_number, unit_label
from viz._html import note_html, render_report, table_html
from workbench.units import convert

__all__ = ["write_life_report", "life_figures", "life_sections", "pm_optimum", "pm_edge_warning"]


def _scale(unit: str) -> float:
    return convert(1.0, "s", from_unit=unit)


def pm_edge_warning(policy: xr.Dataset, unit: str = "h") -> str | None:
    """The warning printed when the PM optimum sits on the edge of the searched grid (``None`` otherwise)."""
    return edge_warning(policy, unit, _scale(unit))


def _band(fig: go.Figure, x, da: xr.DataArray, name: str, color: str, conf: float | None) -> None:
    lo, hi = da.sel(bound="lower").values, da.sel(bound="upper").values
    band = f"{name}: {conf:.0%} confidence band" if conf else f"{name}: confidence band"
    fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                             fillcolor=color, opacity=0.3, line={"width": 0}, name=band, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=da.sel(bound="estimate").values, name=f"{name} (estimate)", line={"color": color}))


def _life_fig(ds: xr.Dataset, var: str, unit: str, title: str) -> go.Figure:
    x = ds["time"].values / _scale(unit)
    fig = go.Figure()
    conf = ds.attrs.get("confidence")
    short = {"reliability": "R(t)", "availability": "A(t)"}.get(var, var)
    _band(fig, x, ds[var], short, "#1f77b4", float(conf) if conf else None)
    if var == "reliability" and "reliability_analytic" in ds:
        fig.add_trace(go.Scatter(x=x, y=ds["reliability_analytic"].values, name="analytic R(t)",
                                 line={"dash": "dash", "color": "black"}))
    fig.update_layout(title=title, xaxis_title=f"time [{unit}]", yaxis_title=f"{short} [–]", yaxis_range=[0, 1.02])
    return fig


def _component_fig(ds: xr.Dataset) -> go.Figure | None:
    var = "birnbaum_importance" if "birnbaum_importance" in ds else "failure_share"
    if var not in ds:
        return None
    est = ds[var].sel(bound="estimate").values
    err_hi = ds[var].sel(bound="upper").values - est
    err_lo = est - ds[var].sel(bound="lower").values
    fig = go.Figure(go.Bar(x=list(map(str, ds["component"].values)), y=est, name=var.replace("_", " "),
                           error_y={"type": "data", "array": err_hi, "arrayminus": err_lo}))
    fig.update_layout(title=ds[var].attrs.get("long_name", var),
                      yaxis_title=f"{var.replace('_', ' ')} [{unit_label(ds[var].attrs.get('units'))}]")
    return fig


def life_figures(result: xr.Dataset | None = None, *, fit_plot: xr.Dataset | None = None,
                 policy: xr.Dataset | None = None, unit: str | None = None) -> list[go.Figure]:
    """The report's plotly figures (R(t), A(t), importance, probability plot, cost curve)."""
    return [c for _, c, _ in life_sections(result, fit_plot=fit_plot, policy=policy, unit=unit)
            if isinstance(c, go.Figure)]


def _kpi_table(ds: xr.Dataset, unit: str) -> str:
    from simulation.life import kpi_rows

    rows = [{"KPI": r["description"] or r["kpi"], "estimate": r["estimate"], "lower bound": r["lower"],
             "upper bound": r["upper"], "unit": unit_label(r["unit"])} for r in kpi_rows(ds, unit)]
    return table_html(rows, csv_name="life_kpis")


def life_sections(result: xr.Dataset | None = None, *, fit_plot: xr.Dataset | None = None,
                  policy: xr.Dataset | None = None, unit: str | None = None) -> list[tuple[str, object, str]]:
    """The report's ``(heading, content, what)`` sections."""
    unit = unit or (result.attrs.get("report_unit", "h") if result is not None else "h")
    out: list[tuple[str, object, str]] = []
    if result is not None:
        conf = float(result.attrs.get("confidence", 0.95))
        out.append(("Key figures", _kpi_table(result, unit),
                    f"Monte-Carlo estimates with {conf:.0%} confidence intervals (engine "
                    f"{result.attrs.get('engine', '–')}, seed {result.attrs.get('seed', '–')}); a wide interval "
                    "means more replications are needed before deciding."))
        if "reliability" in result:
            out.append(("System reliability R(t)", _life_fig(result, "reliability", unit, "System reliability R(t)"),
                        "Probability that the system has not failed by time t; read the mission time off the curve."))
        if "availability" in result:
            out.append(("Point availability A(t)", _life_fig(result, "availability", unit, "Point availability A(t)"),
                        "Probability that the system is up at time t, with repairs and maintenance."))
        comp = _component_fig(result)
        if comp is not None:
            out.append(("Component importance", comp, "Which components limit the system: improve the tallest bar first."))
    if fit_plot is not None:
        dist = str(fit_plot.attrs.get("distribution", ""))
        out.append(("Probability plot", probability_plot(fit_plot),
                    "Failures at their median ranks on the distribution's own paper: if the points follow the "
                    "straight fit line inside its band, the distribution fits; a bend suggests another distribution "
                    "or mixed failure modes."))
        rows = fit_parameter_rows(fit_plot)
        if rows:
            conf = fit_plot.attrs.get("confidence")
            method = str(fit_plot.attrs.get("bound_method", ""))
            out.append((f"{dist} parameters", table_html(rows, csv_name="fit_parameters"),
                        f"Maximum-likelihood estimates with {float(conf):.0%} {method} bounds from "
                        f"{fit_plot.attrs.get('failures', '?')} failures of {fit_plot.attrs.get('n', '?')} items."
                        if conf else "Maximum-likelihood estimates with their bounds."))
        brows = b_life_rows(fit_plot)
        if brows:
            out.append(("B-lives", table_html(brows, csv_name="b_lives"),
                        "The time by which 1 % and 10 % of the items have failed; plan replacement or warranty "
                        "before the lower bound."))
    if policy is not None:
        scale = _scale(unit)
        best, _, _ = pm_optimum(policy)
        warn = edge_warning(policy, unit, scale)
        content: list = [pm_cost_figure(policy, unit, scale)]
        if warn:
            content.insert(0, note_html(warn))
        rows = [{"quantity": "simulated optimum interval", "value": best / scale, "unit": unit}]
        if "analytic_optimum_s" in policy.attrs:
            rows.append({"quantity": "renewal-reward optimum interval",
                         "value": float(policy.attrs["analytic_optimum_s"]) / scale, "unit": unit})
        content.append(table_html(rows, csv_name="pm_optimum"))
        out.append(("Preventive-maintenance interval", content,
                    f"Cost per hour against the PM interval; the star marks the cheapest interval searched "
                    f"({fmt_number(best / scale)} {unit}). Use it only if it is not on the edge of the grid."))
    return out


def write_life_report(path: str | Path, result: xr.Dataset | None = None, *, fit_plot: xr.Dataset | None = None,
                      policy: xr.Dataset | None = None, title: str | None = None, unit: str | None = None,
                      inputs=None) -> Path:
    """Write one self-contained HTML file (plotly.js embedded) and return its path.

    Parameters
    ----------
    path
        Output ``.html`` file.
    result
        Dataset from ``simulate_missions`` / ``simulate_operation``.
    fit_plot
        ``LifeFit.plot_data()`` dataset.
    policy
        ``optimize_pm`` dataset.
    title
        Page title (default: the scenario name).
    unit
        Time unit of the axes (default: the result's ``report_unit`` or hours).
    inputs
        Input files named in the report's header (paths, hashed there).
    """
    unit = unit or (result.attrs.get("report_unit", "h") if result is not None else "h")
    main = next((d for d in (result, fit_plot, policy) if d is not None), None)
    title = title or (str(main.attrs.get("scenario", "life report")) if main is not None else "life report")
    attrs = dict(main.attrs) if main is not None else None
    if attrs is not None:
        attrs.pop("parameters", None)  # shown as the parameter table
    return render_report(str(title), life_sections(result, fit_plot=fit_plot, policy=policy, unit=unit), path,
                         attrs=attrs, what=f"reliability report: {title}", inputs=inputs)
