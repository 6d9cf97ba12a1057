"""Self-contained HTML report of a soft sensor and of its predictions.

Draws what :mod:`spc` computed (``twin spc softsensor predict --report``): the held-out
(grouped cross-validation) predictions against the lab values with the conformal band, the
cross-validated RMSE of each candidate model and the baseline, and – for predictions – the
predicted quality over the samples with its interval, the lab values and the samples flagged
out of the applicability domain, with the domain's T² and SPE against their limits. Computes
no statistic itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from viz._html import render_report

__all__ = ["write_softsensor_report", "softsensor_figures"]

_PRED, _LAB, _OUT = "#1f77b4", "#2ca02c", "#d62728"


def _held_out_plot(model: xr.Dataset) -> go.Figure:
    y, p = model["y"].values, model["cv_prediction"].values
    q = float(model.attrs["conformal_quantile"])
    lo, hi = float(np.nanmin([y.min(), p.min()])), float(np.nanmax([y.max(), p.max()]))
    fig = go.Figure(go.Scattergl(x=y, y=p, mode="markers", name="held-out prediction", marker={"color": _PRED, "size": 5},
                                 text=model["group"].values, hovertemplate="group %{text}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="prediction = lab value",
                             line={"color": "black"}))
    if np.isfinite(q):
        for sign in (-1, 1):
            fig.add_trace(go.Scatter(x=[lo, hi], y=[lo + sign * q, hi + sign * q], mode="lines",
                                     line={"color": "black", "dash": "dash"}, name="conformal band",
                                     showlegend=sign > 0))
    target = json.loads(model.attrs["params"]).get("target", "target")
    fig.update_layout(title=f"{target}: prediction with its group held out vs lab value", height=440,
                      xaxis_title=f"lab {target}", yaxis_title=f"predicted {target}")
    return fig


def _rmse_plot(model: xr.Dataset) -> go.Figure:
    rmse = json.loads(model.attrs["cv_rmse"])
    chosen = str(model.attrs["model"])
    fig = go.Figure(go.Bar(x=list(rmse), y=list(rmse.values()),
                           marker={"color": [_OUT if k == chosen else _PRED for k in rmse]}))
    fig.update_layout(title=f"grouped cross-validated RMSE ({model.attrs['cv_scheme']}; chosen: {chosen})",
                      yaxis_title="RMSE [target unit]", height=320)
    return fig


def _prediction_plot(pred: xr.Dataset) -> go.Figure:
    x = pred["sample"].values
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=pred["upper"].values, mode="lines", line={"width": 0}, showlegend=False))
    fig.add_trace(go.Scatter(x=x, y=pred["lower"].values, mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor="rgba(31,119,180,0.2)", name=f"{100 * (1 - float(pred.attrs['alpha'])):g} % interval"))
    fig.add_trace(go.Scattergl(x=x, y=pred["prediction"].values, mode="lines", line={"color": _PRED}, name="prediction"))
    if "measured" in pred:
        fig.add_trace(go.Scattergl(x=x, y=pred["measured"].values, mode="markers", marker={"color": _LAB, "size": 6},
                                   name="lab value"))
    out = ~pred["in_domain"].values & np.isfinite(pred["prediction"].values)
    if out.any():
        fig.add_trace(go.Scattergl(x=x[out], y=pred["prediction"].values[out], mode="markers",
                                   marker={"color": _OUT, "size": 7, "symbol": "x"}, name="out of domain"))
    fig.update_layout(title=f"predicted {pred.attrs['target']}", height=420, yaxis_title=str(pred.attrs["target"]))
    return fig


def _domain_plot(pred: xr.Dataset, stat: str, label: str) -> go.Figure:
    lim = float(pred.attrs[f"{stat}_limit"])
    fig = go.Figure(go.Scattergl(x=pred["sample"].values, y=pred[stat].values, mode="lines", name=label,
                                 line={"color": _PRED, "width": 1}))
    fig.add_hline(y=lim, line_dash="dash", line_color="black", annotation_text="limit")
    fig.update_layout(title=f"applicability domain: {label} of the inputs", yaxis_title=f"{label} [1]", height=280)
    return fig


def _summary(model: xr.Dataset | None, pred: xr.Dataset | None) -> pd.DataFrame:
    rows = []
    if model is not None:
        rows += [("model", str(model.attrs["model"]).upper()), ("parameters", model.attrs["params"]),
                 ("PLS components (by grouped CV)", model.attrs.get("n_components")),
                 ("training rows", int(model.sizes["row"])), ("groups", len(np.unique(model["group"].values))),
                 ("cross-validation", model.attrs["cv_scheme"]), ("grouped-CV RMSE", model.attrs["cv_rmse"]),
                 ("interval half-width", model.attrs["conformal_quantile"]),
                 ("interval", model.attrs["interval_source"]), ("leakage allowed", model.attrs.get("leakage"))]
    if pred is not None:
        flag = pred["flag"].values.astype(str)
        rows += [("samples predicted", int(np.isfinite(pred["prediction"].values).sum())),
                 ("samples out of domain", int(np.char.startswith(flag, "out of domain").sum())),
                 ("samples with a missing input", int(np.char.startswith(flag, "missing").sum()))]
    return pd.DataFrame(rows, columns=["quantity", "value"]).astype({"value": str})


def softsensor_figures(model: xr.Dataset | None = None, pred: xr.Dataset | None = None) -> list:
    """The report's ``(heading, content)`` sections."""
    sections: list = [("Summary", _summary(model, pred))]
    if pred is not None:
        sections.append(("Predictions", _prediction_plot(pred)))
        sections.append(("Applicability domain", [_domain_plot(pred, "t2", "T²"), _domain_plot(pred, "spe", "SPE")]))
    if model is not None:
        sections.append(("Cross-validation", [_held_out_plot(model), _rmse_plot(model)]))
    return sections


def write_softsensor_report(model: xr.Dataset | None, pred: xr.Dataset | None, path: str | Path) -> Path:
    """Write the HTML report of a soft sensor (``SoftSensor.to_dataset()``) and/or its predictions."""
    src = model if model is not None else pred
    sub = f"{str(src.attrs.get('model', '')).upper()} soft sensor" + (
        f", {pred.sizes['sample']} samples predicted" if pred is not None else "")
    return render_report("Soft-sensor report", softsensor_figures(model, pred), path, subtitle=sub,
                         attrs={k: v for k, v in (model.attrs if model is not None else {}).items()
                                if k in ("workbench_version", "created", "params")})
