"""Self-contained HTML report of a PCA/PLS monitor and of samples checked against it.

Draws what :mod:`spc` computed (``twin spc mspc check --report``, ``twin report model.nc``):
the score plot t1 vs t2 with its T² ellipse, T² and SPE over the samples with their limits,
contribution bars of the worst samples (a drop-down picks the sample), the loadings and the
cross-validation curve of the model. Computes no statistic itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from viz._html import render_report

__all__ = ["write_mspc_report", "mspc_figures"]

_OK, _ALARM = "#1f77b4", "#d62728"


def _x(check: xr.Dataset) -> np.ndarray:
    return check["sample"].values


def _label(sample) -> str:
    return str(pd.Timestamp(sample)) if isinstance(sample, np.datetime64) else str(sample)


def _score_plot(check: xr.Dataset) -> go.Figure:
    t = check["scores"].values
    lam = check["score_variance"].values
    lim = float(check.attrs.get("t2_limit_plane", np.nan))
    alarm = (check["t2_alarm"] | check["spe_alarm"]).values
    fig = go.Figure()
    for mask, name, color in ((~alarm, "in control", _OK), (alarm, "above a limit", _ALARM)):
        fig.add_trace(go.Scattergl(x=t[mask, 0], y=t[mask, 1], mode="markers", name=name,
                                   marker={"color": color, "size": 5},
                                   text=[_label(s) for s in _x(check)[mask]], hovertemplate="%{text}<extra></extra>"))
    if np.isfinite(lim):
        a = np.linspace(0, 2 * np.pi, 200)
        fig.add_trace(go.Scatter(x=np.sqrt(lim * lam[0]) * np.cos(a), y=np.sqrt(lim * lam[1]) * np.sin(a),
                                 mode="lines", line={"color": "black", "dash": "dash"},
                                 name=f"T² ellipse (A = 2, {100 * (1 - float(check.attrs['alpha'])):g} %)"))
    fig.update_layout(title="score plot", xaxis_title="t1 [1]", yaxis_title="t2 [1]", height=460,
                      yaxis={"scaleanchor": "x", "scaleratio": 1})
    return fig


def _time_plot(check: xr.Dataset, stat: str, label: str) -> go.Figure:
    y = check[stat].values
    lim = float(check[f"{stat}_limit"])
    alarm = y > lim
    x = _x(check)
    fig = go.Figure(go.Scattergl(x=x, y=y, mode="lines+markers", name=label, line={"color": _OK, "width": 1},
                                 marker={"size": 4, "color": np.where(alarm, _ALARM, _OK)}))
    fig.add_hline(y=lim, line_dash="dash", line_color="black",
                  annotation_text=f"limit {lim:.4g} ({check[f'{stat}_limit'].attrs.get('long_name', '')})")
    fig.update_layout(title=f"{label}: {int(alarm.sum())} of {len(y)} samples above the limit",
                      xaxis_title=str(check["sample"].attrs.get("long_name", check["sample"].name)),
                      yaxis_title=f"{label} [1]", height=340)
    return fig


def _contribution_plot(check: xr.Dataset, n_worst: int = 20) -> go.Figure | None:
    ratio = np.fmax(check["t2"].values / float(check["t2_limit"]), check["spe"].values / float(check["spe_limit"]))
    ratio = np.where(np.isnan(ratio), -np.inf, ratio)
    worst = np.argsort(-ratio, kind="stable")[:n_worst]
    worst = worst[np.isfinite(ratio[worst])]
    if not len(worst):
        return None
    names = [str(v) for v in check["variable"].values]
    fig = go.Figure()
    buttons = []
    for k, i in enumerate(worst):
        for stat, color in (("t2", "#ff7f0e"), ("spe", "#9467bd")):
            fig.add_trace(go.Bar(x=names, y=check[f"{stat}_contribution"].values[i], marker_color=color,
                                 name=f"{'T²' if stat == 't2' else 'SPE'} contribution", visible=k == 0))
        vis = [j // 2 == k for j in range(2 * len(worst))]
        sample = _label(_x(check)[i])
        buttons.append({"label": f"{sample} ({check['flag'].values[i]})", "method": "update",
                        "args": [{"visible": vis}, {"title": f"contributions at {sample}: T² {check['t2'].values[i]:.3g}, "
                                                             f"SPE {check['spe'].values[i]:.3g}"}]})
    first = worst[0]
    fig.update_layout(
        title=f"contributions at {_label(_x(check)[first])}: T² {check['t2'].values[first]:.3g}, SPE {check['spe'].values[first]:.3g}",
        barmode="group", yaxis_title="contribution [1]", height=400,
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.18}])
    return fig


def _loadings_plot(model: xr.Dataset) -> go.Figure:
    fig = go.Figure()
    for a in model["component"].values[:4]:
        fig.add_trace(go.Bar(x=[str(v) for v in model["variable"].values], y=model["loadings"].sel(component=a).values,
                             name=f"p{int(a)}"))
    fig.update_layout(title="loadings", barmode="group", yaxis_title="loading [1]", height=340)
    return fig


def _press_plot(model: xr.Dataset) -> go.Figure | None:
    press = model["cv_press"].values
    if not len(press):
        return None
    fig = go.Figure(go.Scatter(x=np.arange(1, len(press) + 1), y=press, mode="lines+markers", name="PRESS"))
    fig.add_vline(x=int(model.attrs["n_components"]), line_dash="dash", annotation_text="chosen A")
    fig.update_layout(title="cross-validation", xaxis_title="components A", yaxis_title="PRESS [1]",
                      yaxis_type="log", height=320)
    return fig


def _summary(model: xr.Dataset | None, check: xr.Dataset | None) -> pd.DataFrame:
    rows = []
    if model is not None:
        params = model.attrs.get("params", "{}")
        rows += [("model", str(model.attrs.get("model", "")).upper()), ("parameters", params),
                 ("components", model.attrs.get("n_components")), ("reference samples", model.attrs.get("n_samples")),
                 ("T² limit (Phase II)", model.attrs.get("t2_limit")), ("T² limit (Phase I)", model.attrs.get("t2_limit_phase1")),
                 ("T² limit source", model.attrs.get("t2_limit_source")), ("SPE limit", model.attrs.get("spe_limit")),
                 ("SPE limit source", model.attrs.get("spe_limit_source"))]
    if check is not None:
        alarm = (check["t2_alarm"] | check["spe_alarm"]).values
        rows += [("samples checked", int(check.sizes["sample"])), ("samples above a limit", int(alarm.sum())),
                 ("samples with missing values", int((check["n_missing"] > 0).sum())),
                 ("missing values scored by", check.attrs.get("missing"))]
    return pd.DataFrame(rows, columns=["quantity", "value"]).astype({"value": str})


def mspc_figures(model: xr.Dataset | None = None, check: xr.Dataset | None = None) -> list:
    """The report's ``(heading, content)`` sections."""
    sections: list = [("Summary", _summary(model, check))]
    if check is not None:
        if check.sizes.get("component", 0) >= 2:
            sections.append(("Score plot", _score_plot(check)))
        sections.append(("Hotelling T² and SPE", [_time_plot(check, "t2", "T²"), _time_plot(check, "spe", "SPE")]))
        contrib = _contribution_plot(check)
        if contrib is not None:
            sections.append(("Contributions of the worst samples (pick one in the menu)", contrib))
    if model is not None:
        sections.append(("Model", [f for f in (_loadings_plot(model), _press_plot(model)) if f is not None]))
    return sections


def write_mspc_report(model: xr.Dataset | None, check: xr.Dataset | None, path: str | Path) -> Path:
    """Write the HTML report of an MSPC model and/or of checked samples.

    Parameters
    ----------
    model
        ``PCAMonitor.to_dataset()`` / the ``model.nc`` of ``twin spc mspc build`` (or None).
    check
        ``score_samples`` output for the checked samples (or None).
    path
        Output HTML file.
    """
    src = model if model is not None else check
    sub = f"{str(src.attrs.get('model', '')).upper()} monitor" + (
        f", {check.sizes['sample']} samples checked" if check is not None else "")
    return render_report("MSPC report", mspc_figures(model, check), path, subtitle=sub,
                         attrs={k: v for k, v in (model.attrs if model is not None else {}).items()
                                if k in ("workbench_version", "created", "params")})
