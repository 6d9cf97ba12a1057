"""Self-contained HTML report of a life simulation, a life-data fit and a PM optimisation.

Reads the datasets produced by :mod:`simulation.life` (computes nothing new):
R(t) with confidence bounds (and the analytic curve when present), point
availability A(t), component importance, the Weibull (or other) probability
plot of a fit, and the cost-rate curve of a PM interval search. Plotly's
JavaScript is embedded once, so the file opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from workbench.units import convert

__all__ = ["write_life_report", "life_figures"]


def _scale(unit: str) -> float:
    return convert(1.0, "s", from_unit=unit)


def _band(fig: go.Figure, x, da: xr.DataArray, name: str, color: str) -> None:
    lo, hi = da.sel(bound="lower").values, da.sel(bound="upper").values
    fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                             fillcolor=color, opacity=0.25, line={"width": 0}, name=f"{name} CI", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=da.sel(bound="estimate").values, name=name, line={"color": color}))


def _life_fig(ds: xr.Dataset, var: str, unit: str, title: str) -> go.Figure:
    x = ds["time"].values / _scale(unit)
    fig = go.Figure()
    _band(fig, x, ds[var], ds[var].attrs.get("long_name", var), "#1f77b4")
    if var == "reliability" and "reliability_analytic" in ds:
        fig.add_trace(go.Scatter(x=x, y=ds["reliability_analytic"].values, name="analytic",
                                 line={"dash": "dash", "color": "black"}))
    fig.update_layout(title=title, xaxis_title=f"time [{unit}]", yaxis_title=f"{var} [1]", yaxis_range=[0, 1.02])
    return fig


def _component_fig(ds: xr.Dataset) -> go.Figure | None:
    var = "birnbaum_importance" if "birnbaum_importance" in ds else "failure_share"
    if var not in ds:
        return None
    est = ds[var].sel(bound="estimate").values
    err_hi = ds[var].sel(bound="upper").values - est
    err_lo = est - ds[var].sel(bound="lower").values
    fig = go.Figure(go.Bar(x=list(map(str, ds["component"].values)), y=est,
                           error_y={"type": "data", "array": err_hi, "arrayminus": err_lo}))
    fig.update_layout(title=ds[var].attrs.get("long_name", var), yaxis_title=f"{var} [1]")
    return fig


def _probability_fig(plot: xr.Dataset) -> go.Figure:
    dist = plot.attrs.get("distribution", "weibull")
    unit = plot.attrs.get("time_unit", "")
    weibull = dist.startswith("weibull")

    def y(F):
        F = np.clip(np.asarray(F, dtype=float), 1e-12, 1 - 1e-12)
        return np.log(-np.log1p(-F)) if weibull else F

    fig = go.Figure()
    t = plot["time"].values
    fit = plot["fitted_unreliability"]
    for b, dash in (("lower", "dot"), ("upper", "dot"), ("estimate", "solid")):
        fig.add_trace(go.Scatter(x=t, y=y(fit.sel(bound=b).values), name=f"fit {b}", line={"dash": dash}))
    fig.add_trace(go.Scatter(x=plot["observed_time"].values, y=y(plot["observed_unreliability"].values),
                             mode="markers", name="median ranks"))
    ticks = np.array([0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.632, 0.9, 0.99, 0.999])
    fig.update_xaxes(type="log", title=f"time [{unit}]")
    if weibull:
        fig.update_yaxes(tickvals=y(ticks), ticktext=[f"{p:g}" for p in ticks], title="unreliability F(t) (Weibull scale)")
    else:
        fig.update_yaxes(title="unreliability F(t)")
    fig.update_layout(title=f"{dist} probability plot ({html.escape(plot.attrs.get('parameters', ''))})")
    return fig


def _policy_fig(pol: xr.Dataset, unit: str) -> go.Figure:
    x = pol["interval"].values / _scale(unit)
    fig = go.Figure()
    cr = pol["cost_rate"]
    fig.add_trace(go.Scatter(x=x, y=cr.sel(bound="estimate").values, mode="lines+markers", name="simulated",
                             error_y={"type": "data", "array": cr.sel(bound="upper").values - cr.sel(bound="estimate").values,
                                      "arrayminus": cr.sel(bound="estimate").values - cr.sel(bound="lower").values}))
    if "cost_rate_analytic" in pol:
        fig.add_trace(go.Scatter(x=x, y=pol["cost_rate_analytic"].values, name="renewal-reward", line={"dash": "dash"}))
    fig.update_layout(title=f"cost rate vs {pol['interval'].attrs.get('long_name', 'interval')}",
                      xaxis_title=f"interval [{unit}]", yaxis_title=f"cost rate [{cr.attrs.get('units', '')}]")
    return fig


def life_figures(result: xr.Dataset | None = None, *, fit_plot: xr.Dataset | None = None,
                 policy: xr.Dataset | None = None, unit: str | None = None) -> list[go.Figure]:
    """The report's plotly figures (R(t), A(t), importance, probability plot, cost curve)."""
    figs: list[go.Figure] = []
    unit = unit or (result.attrs.get("report_unit", "h") if result is not None else "h")
    if result is not None:
        if "reliability" in result:
            figs.append(_life_fig(result, "reliability", unit, "System reliability R(t)"))
        if "availability" in result:
            figs.append(_life_fig(result, "availability", unit, "Point availability A(t)"))
        comp = _component_fig(result)
        if comp is not None:
            figs.append(comp)
    if fit_plot is not None:
        figs.append(_probability_fig(fit_plot))
    if policy is not None:
        figs.append(_policy_fig(policy, unit))
    return figs


def _kpi_rows(ds: xr.Dataset, unit: str) -> list[tuple[str, str]]:
    from simulation.life import kpi_rows

    return [(r["description"] or r["kpi"], f"{r['estimate']:.4g} [{r['lower']:.4g}, {r['upper']:.4g}] {r['unit']}")
            for r in kpi_rows(ds, unit)]


def write_life_report(path: str | Path, result: xr.Dataset | None = None, *, fit_plot: xr.Dataset | None = None,
                      policy: xr.Dataset | None = None, title: str | None = None, unit: str | None = None) -> Path:
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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    unit = unit or (result.attrs.get("report_unit", "h") if result is not None else "h")
    title = title or (result.attrs.get("scenario", "life report") if result is not None else "life report")
    parts = [f"<h1>{html.escape(str(title))}</h1>"]
    if result is not None:
        conf = result.attrs.get("confidence", 0.95)
        parts.append(f"<p>engine: {html.escape(str(result.attrs.get('engine', '')))}; seed {result.attrs.get('seed', '')}; "
                     f"{float(conf) * 100:g} % confidence intervals</p><table>")
        parts += [f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in _kpi_rows(result, unit)]
        parts.append("</table>")
    for k, fig in enumerate(life_figures(result, fit_plot=fit_plot, policy=policy, unit=unit)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(k == 0)))
    doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(str(title)) +
           "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}td{padding:2px 12px}</style>"
           "</head><body>" + "\n".join(parts) + "</body></html>")
    path.write_text(doc, encoding="utf-8")
    return path

