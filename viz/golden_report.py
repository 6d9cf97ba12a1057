"""Self-contained HTML report of a golden-batch model (``twin golden report``).

Reads the model Dataset written by ``twin golden build`` and, optionally, the
outputs of checking batches against it (aligned batches, batch-level check,
on-line statistics, contributions) – all computed by :mod:`golden_batch`; this
module only draws them: envelope bands per variable, T²/SPE charts with their
limits, SPE contributions, and the golden-batch selection table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from viz._format import unit_label
from viz._html import render_report

__all__ = ["write_golden_report", "golden_figures"]

_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def _envelope_fig(model: xr.Dataset, var: str, unit: str, aligned: xr.Dataset | None) -> go.Figure:
    t = model["time"].values / 3600.0
    env = model.sel(variable=var)
    fig = go.Figure()
    if "envelope_q_upper" in env and "envelope_q_lower" in env:
        fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]),
                                 y=np.concatenate([env["envelope_q_upper"].values,
                                                   env["envelope_q_lower"].values[::-1]]),
                                 fill="toself", fillcolor="rgba(31,119,180,0.12)", line={"width": 0},
                                 name="quantile band", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t, y=env["envelope_upper"].values, line={"color": "#1f77b4", "dash": "dot"},
                             name=f"mean + {model.attrs.get('envelope_k', 3)}σ"))
    fig.add_trace(go.Scatter(x=t, y=env["envelope_lower"].values, line={"color": "#1f77b4", "dash": "dot"},
                             name=f"mean − {model.attrs.get('envelope_k', 3)}σ"))
    fig.add_trace(go.Scatter(x=t, y=env["envelope_mean"].values, line={"color": "#1f77b4"}, name="golden mean"))
    if aligned is not None and var in aligned:
        for i, b in enumerate(aligned["batch"].values[:8]):
            fig.add_trace(go.Scatter(x=t, y=aligned[var].sel(batch=b).values, name=str(b),
                                     line={"color": _COLORS[i % len(_COLORS)], "width": 1.5}))
    fig.update_layout(title=f"{var} envelope", xaxis_title="aligned time [h]",
                      yaxis_title=f"{var} [{unit_label(unit)}]",
                      height=360, margin={"t": 40, "b": 40})
    return fig


def _limit_bar(check: xr.Dataset, stat: str, label: str) -> go.Figure:
    names = [str(b) for b in check["batch"].values]
    vals = check[stat].values
    limit = float(check[f"{stat}_limit"])
    fig = go.Figure(go.Bar(x=names, y=vals, marker_color=["#d62728" if v > limit else "#1f77b4" for v in vals],
                           name=label))
    fig.add_hline(y=limit, line_dash="dash", annotation_text=f"limit {limit:.3g}")
    fig.update_layout(title=f"batch-level {label}", yaxis_title=f"{label} [–]", height=320)
    return fig


def _online_fig(monitor: xr.Dataset, stat: str, label: str) -> go.Figure:
    t = monitor["time"].values / 3600.0
    fig = go.Figure()
    for i, b in enumerate(monitor["batch"].values[:8]):
        fig.add_trace(go.Scatter(x=t, y=monitor[f"online_{stat}"].sel(batch=b).values, name=str(b),
                                 line={"color": _COLORS[i % len(_COLORS)]}))
    lim = monitor[f"{stat}_limit"]
    y = np.broadcast_to(lim.values, t.shape)
    fig.add_trace(go.Scatter(x=t, y=y, name="limit", line={"color": "black", "dash": "dash"}))
    fig.update_layout(title=f"on-line {label}", xaxis_title="aligned time [h]", yaxis_title=f"{label} [–]",
                      yaxis_type="log", height=340)
    return fig


def _contribution_fig(contrib: xr.Dataset) -> go.Figure:
    spe = contrib["spe_contribution"].sum("time")
    fig = go.Figure()
    for i, b in enumerate(spe["batch"].values[:8]):
        fig.add_trace(go.Bar(x=[str(v) for v in spe["variable"].values], y=spe.sel(batch=b).values, name=str(b),
                             marker_color=_COLORS[i % len(_COLORS)]))
    fig.update_layout(title="SPE contributions per variable (summed over time)", barmode="group",
                      yaxis_title="contribution [–]", height=340)
    return fig


def golden_figures(model: xr.Dataset, *, aligned=None, check=None, monitor=None, contributions=None) -> list:
    """The report's ``(heading, content)`` sections."""
    names = list(map(str, model["variable"].values))
    if "variable_units" in model:
        units = dict(zip(names, map(str, model["variable_units"].values), strict=True))
    else:
        units = {v: str(model["envelope_mean"].attrs.get("units", "")) for v in names}
    sections: list = [("Envelopes", [_envelope_fig(model, v, units[v], aligned) for v in units],
                       "The golden band of each variable over aligned batch time (mean ± kσ, and the quantile band); "
                       "a batch that leaves it deserves a look at that time.")]
    if check is not None:
        tab = check.to_dataframe()
        sections.append(("Batch check (T², SPE)", [_limit_bar(check, "t2", "T²"), _limit_bar(check, "spe", "SPE"),
                                                   tab.reset_index()],
                         "Whole-batch distance from the golden batches (T²) and unexplained variation (SPE); "
                         "red bars exceed their limit: release those batches only after investigation."))
    if monitor is not None:
        sections.append(("On-line T² and SPE", [_online_fig(monitor, "t2", "T²"), _online_fig(monitor, "spe", "SPE")],
                         "The same statistics as the batch runs; the first crossing of a limit is when to act."))
    if contributions is not None:
        sections.append(("Contributions", _contribution_fig(contributions),
                         "Which variables carry the SPE: start the diagnosis with the tallest bars."))
    sel_cols = [str(v) for v in model.data_vars if str(v).startswith("selection_")]
    if sel_cols:
        table = pd.DataFrame({c[len("selection_"):]: model[c].values for c in sel_cols},
                             index=pd.Index(model["batch"].values.astype(str), name="batch")).reset_index()
        sections.append((f"Golden-batch selection (spec: {model.attrs.get('selection_spec') or 'none'})", table,
                         "Which historical batches met the specification and built the envelope."))
    return sections


def write_golden_report(model: xr.Dataset, path: str | Path, *, aligned=None, check=None, monitor=None,
                        contributions=None, inputs=None) -> Path:
    """Write the HTML report of a golden-batch model (and of checked batches, if given).

    Parameters
    ----------
    model
        Dataset of a golden-batch model (``GoldenBatchModel.to_dataset()`` / ``envelope.nc``).
    path
        Output HTML file.
    aligned, check, monitor, contributions
        Optional outputs of ``model.align``, ``model.check``, ``model.monitor_aligned``
        and ``model.mpca_.contributions`` for batches to show against the envelope.
    inputs
        Input files named in the report's header (paths, hashed there).
    """
    n_golden = len([b for b in str(model.attrs.get("golden_batches", "")).split(",") if b])
    if model.attrs.get("kind") == "envelope" or "mpca_alpha" not in model.attrs:
        sub = f"envelope of {model.sizes.get('variable', 0)} variables"
    else:
        sub = (f"{n_golden} golden batches, α = {model.attrs.get('mpca_alpha')}, "
               f"alignment: {model.attrs.get('align_method')}")
    attrs = {k: v for k, v in model.attrs.items() if k in ("workbench_version", "created", "golden_model_params",
                                                            "selection_spec", "mpca_t2_limit", "mpca_spe_limit",
                                                            "kind", "timezone", "scenario")}
    return render_report("Golden-batch report", golden_figures(model, aligned=aligned, check=check, monitor=monitor,
                                                              contributions=contributions),
                         path, subtitle=sub, attrs=attrs, what=f"golden-batch model: {sub}", inputs=inputs)
