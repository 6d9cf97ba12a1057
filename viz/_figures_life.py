"""Reliability figures and tables: probability plots on the distribution's own paper, PM cost curves.

Probability paper (Nelson 1982, *Applied Life Data Analysis*, ch. 3; Abernethy 2006, *The New
Weibull Handbook*, 5th ed., ch. 2–3): the axes are transformed so that the fitted distribution
is a straight line —

* Weibull: ``ln(−ln(1 − F))`` against ``ln t`` (slope β, crossing F = 63.2 % at η);
* lognormal: ``Φ⁻¹(F)`` against ``ln t``; normal: ``Φ⁻¹(F)`` against ``t``;
* exponential: ``−ln(1 − F)`` against ``t``;
* gamma has no linearising paper: it is drawn on Weibull paper (the fit line then bends).

Plotting positions are median ranks from Bernard's approximation ``(j − 0.3)/(n + 0.4)`` on
Johnson's adjusted ranks for right-censored data (Abernethy 2006, §2.4 and §2.11), as
:func:`simulation.life.LifeFit.plot_data` computes them; the fit line and its bands are the
fit's own (Fisher-matrix bounds on ``ln(−ln R)``, delta method; parameter bounds Fisher or
likelihood-ratio as the fit records in ``attrs['bound_method']``).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from scipy import stats

from viz._format import fmt_number, unit_label

__all__ = ["probability_plot", "paper", "fit_parameter_rows", "b_life_rows", "pm_optimum", "pm_cost_figure"]

_TICKS = np.array([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.632, 0.8, 0.9, 0.95, 0.99, 0.999])


def paper(distribution: str) -> tuple[str, bool, str]:
    """``(y transform name, log time axis?, paper name)`` of a life distribution."""
    d = distribution.lower()
    if d in ("lognormal",):
        return "normal", True, "lognormal paper: Φ⁻¹(F) against ln t"
    if d == "normal":
        return "normal", False, "normal paper: Φ⁻¹(F) against t"
    if d == "exponential":
        return "exponential", False, "exponential paper: −ln(1 − F) against t"
    if d.startswith("weibull"):
        return "weibull", True, "Weibull paper: ln(−ln(1 − F)) against ln t"
    return "weibull", True, f"Weibull paper ({distribution} has no paper of its own; its fit line bends)"


def _y(kind: str, F) -> np.ndarray:
    F = np.clip(np.asarray(F, dtype=float), 1e-9, 1 - 1e-9)
    with np.errstate(all="ignore"):
        if kind == "normal":
            return stats.norm.ppf(F)
        if kind == "exponential":
            return -np.log1p(-F)
        return np.log(-np.log1p(-F))


def probability_plot(plot: xr.Dataset) -> go.Figure:
    """Probability plot of a life-data fit (``LifeFit.plot_data()``) on its distribution's paper.

    Median-rank points, the fitted line, its confidence band and the B1/B10 lives (when the
    dataset has ``b_life``); the unreliability axis is labelled in %.
    """
    dist = str(plot.attrs.get("distribution", "weibull"))
    unit = str(plot.attrs.get("time_unit", plot["time"].attrs.get("units", "")))
    kind, logx, name = paper(dist)
    conf = plot.attrs.get("confidence")
    fig = go.Figure()  # trace order: points, band, B-lives, fit line (last, drawn on top)
    t = plot["time"].values.astype(float)
    fit = plot["fitted_unreliability"]
    fig.add_trace(go.Scatter(x=plot["observed_time"].values, y=_y(kind, plot["observed_unreliability"].values),
                             mode="markers", marker={"color": "#d62728", "size": 7},
                             name="failures at median ranks (Johnson, Bernard)"))
    if "bound" in fit.dims and {"lower", "upper"} <= set(map(str, fit["bound"].values)):
        lo, hi = _y(kind, fit.sel(bound="lower").values), _y(kind, fit.sel(bound="upper").values)
        ok = np.isfinite(lo) & np.isfinite(hi)
        label = f"{float(conf):.0%} confidence band (Fisher matrix)" if conf else "confidence band (Fisher matrix)"
        fig.add_trace(go.Scatter(x=np.r_[t[ok], t[ok][::-1]], y=np.r_[hi[ok], lo[ok][::-1]], fill="toself",
                                 fillcolor="rgba(31,119,180,0.22)", line={"width": 1, "color": "rgba(31,119,180,0.5)"},
                                 name=label, hoverinfo="skip"))
    if "b_life" in plot:
        ps = plot["b_percent"].values.astype(float)
        bl = plot["b_life"].sel(bound="estimate").values
        fig.add_trace(go.Scatter(x=bl, y=_y(kind, ps / 100.0), mode="markers+text", name="B-lives",
                                 text=[f"B{fmt_number(p)}" for p in ps], textposition="middle left",
                                 marker={"symbol": "diamond", "size": 10, "color": "#2ca02c"}))
    est = fit.sel(bound="estimate").values if "bound" in fit.dims else fit.values
    fig.add_trace(go.Scatter(x=t, y=_y(kind, est), mode="lines", line={"color": "#1f77b4", "width": 2},
                             name=f"{dist} fit (maximum likelihood)"))
    ticks = _TICKS
    fig.update_xaxes(type="log" if logx else "linear", title=f"time [{unit_label(unit)}]")
    fig.update_yaxes(title="unreliability F(t) [%]", tickvals=_y(kind, ticks),
                     ticktext=[f"{100 * p:g}" for p in ticks], zeroline=False)
    fig.update_layout(title=f"{dist} probability plot — {name}", legend={"orientation": "h", "y": -0.2}, height=560)
    return fig


def fit_parameter_rows(plot: xr.Dataset) -> list[dict]:
    """Rows of the parameter table (estimate, lower, upper, unit) of a ``plot_data()`` dataset."""
    if "parameter_value" not in plot:
        return []
    units = plot["parameter_units"].values if "parameter_units" in plot.coords else [""] * plot.sizes["parameter"]
    rows = []
    for name, unit in zip(map(str, plot["parameter"].values), map(str, units), strict=True):
        v = plot["parameter_value"].sel(parameter=name)
        rows.append({"parameter": name, "estimate": float(v.sel(bound="estimate")),
                     "lower bound": float(v.sel(bound="lower")), "upper bound": float(v.sel(bound="upper")),
                     "unit": unit_label(unit)})
    return rows


def b_life_rows(plot: xr.Dataset) -> list[dict]:
    """Rows of the B-life table (B1, B10 with bounds) of a ``plot_data()`` dataset."""
    if "b_life" not in plot:
        return []
    unit = unit_label(plot["b_life"].attrs.get("units", plot.attrs.get("time_unit", "")))
    rows = []
    for p in plot["b_percent"].values:
        v = plot["b_life"].sel(b_percent=p)
        rows.append({"B-life": f"B{fmt_number(p)} ({fmt_number(p)} % failed)", "estimate": float(v.sel(bound="estimate")),
                     "lower bound": float(v.sel(bound="lower")), "upper bound": float(v.sel(bound="upper")),
                     "unit": unit})
    return rows


def pm_optimum(policy: xr.Dataset) -> tuple[float, int, bool]:
    """The simulated cost-rate optimum of an ``optimize_pm`` dataset.

    Returns
    -------
    (float, int, bool)
        Best interval in s, its index in the grid and whether it sits on the grid's edge (first
        or last interval: the true optimum may lie outside the searched grid).
    """
    cr = policy["cost_rate"]
    est = cr.sel(bound="estimate").values if "bound" in cr.dims else cr.values
    x = policy["interval"].values.astype(float)
    i = int(np.nanargmin(est))
    order = np.argsort(x)
    return float(x[i]), i, bool(len(x) > 1 and i in (int(order[0]), int(order[-1])))


def edge_warning(policy: xr.Dataset, unit: str, scale: float) -> str | None:
    """The warning text when the optimum sits on the edge of the searched grid, else ``None``."""
    best, i, edge = pm_optimum(policy)
    if not edge:
        return None
    x = policy["interval"].values.astype(float) / scale
    side = "shortest" if i == int(np.argmin(x)) else "longest"
    return (f"The lowest cost rate is at the {side} interval searched ({fmt_number(best / scale)} {unit}): the "
            f"optimum may lie outside the grid {fmt_number(x.min())}–{fmt_number(x.max())} {unit}. Widen the grid "
            "(twin life optimize-pm --intervals) before using this interval.")


def pm_cost_figure(policy: xr.Dataset, unit: str, scale: float) -> go.Figure:
    """Simulated cost rate against the PM interval with CI bars, the renewal-reward curve, the
    optimum marked, and a warning in the title when the optimum is on the grid's edge."""
    x = policy["interval"].values.astype(float) / scale
    cr = policy["cost_rate"]
    est = cr.sel(bound="estimate").values
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=est, mode="lines+markers", name="simulated (mean, CI)",
                             error_y={"type": "data", "array": cr.sel(bound="upper").values - est,
                                      "arrayminus": est - cr.sel(bound="lower").values}))
    if "cost_rate_analytic" in policy:
        fig.add_trace(go.Scatter(x=x, y=policy["cost_rate_analytic"].values, name="renewal-reward (analytic)",
                                 line={"dash": "dash"}))
    best, i, edge = pm_optimum(policy)
    fig.add_trace(go.Scatter(x=[best / scale], y=[est[i]], mode="markers+text", name="simulated optimum",
                             text=[f"optimum {fmt_number(best / scale)} {unit}" + (" (grid edge!)" if edge else "")],
                             textposition="top center",
                             marker={"symbol": "star", "size": 16, "color": "#d62728" if edge else "#2ca02c"}))
    if "analytic_optimum_s" in policy.attrs:
        a = float(policy.attrs["analytic_optimum_s"]) / scale
        fig.add_vline(x=a, line_dash="dot", annotation_text=f"analytic optimum {fmt_number(a)} {unit}")
    cu = cr.attrs.get("units", "")
    title = f"cost rate vs {policy['interval'].attrs.get('long_name', 'interval')}"
    if edge:
        title += " — optimum at the edge of the searched grid"
    fig.update_layout(title=title, xaxis_title=f"interval [{unit}]", yaxis_title=f"cost rate [{unit_label(cu)}]")
    return fig
