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

__all__ = ["write_golden_report", "golden_figures", "phase_starts"]

_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def phase_starts(model: xr.Dataset) -> list[tuple[float, float, str]]:
    """The phases of the model's aligned time: ``(start_h, end_h, name)`` in order; [] without phases.

    Phases come from the phase of each sample of the DTW reference batch
    (``align_reference_phase``, written when the history had a phase column and DTW aligned phase by phase).
    """
    if "align_reference_phase" not in model or "time" not in model["align_reference_phase"].dims:
        return []
    codes = np.asarray(model["align_reference_phase"].values, dtype=int)
    t = np.asarray(model["time"].values, dtype=float) / 3600.0
    if codes.size == 0 or codes.size != t.size:
        return []
    names = [p for p in str(model["align_reference_phase"].attrs.get("phase_names", "")).split(",") if p]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], codes.size - 1]
    return [(float(t[s]), float(t[e]), names[codes[s]] if 0 <= codes[s] < len(names) else f"phase {codes[s]}")
            for s, e in zip(starts, ends, strict=True)]


def _mark_phases(fig: go.Figure, phases: list[tuple[float, float, str]]) -> go.Figure:
    """Vertical lines at the phase boundaries of aligned time and each phase's name at its start."""
    for k, (start, _, name) in enumerate(phases):
        if k:
            fig.add_vline(x=start, line={"color": "#555", "dash": "dashdot", "width": 1})
        fig.add_annotation(x=start, y=1.0, yref="paper", text=name, showarrow=False, xanchor="left",
                           yanchor="bottom", font={"size": 10, "color": "#555"})
    return fig


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
    return _mark_phases(fig, phase_starts(model))


def _limit_bar(check: xr.Dataset, stat: str, label: str) -> go.Figure:
    names = [str(b) for b in check["batch"].values]
    vals = check[stat].values
    limit = float(check[f"{stat}_limit"])
    fig = go.Figure(go.Bar(x=names, y=vals, marker_color=["#d62728" if v > limit else "#1f77b4" for v in vals],
                           name=label))
    fig.add_hline(y=limit, line_dash="dash", annotation_text=f"limit {limit:.3g}")
    fig.update_layout(title=f"batch-level {label}", yaxis_title=f"{label} [–]", height=320)
    return fig


def _online_fig(monitor: xr.Dataset, stat: str, label: str, phases=()) -> go.Figure:
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
    return _mark_phases(fig, list(phases))


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
    phases = phase_starts(model)
    if phases:
        sections.append(("Phases", pd.DataFrame([{"phase": n, "start [h]": a, "end [h]": b} for a, b, n in phases]),
                         "The phases of aligned time (from the reference batch; DTW aligned each phase on its own); "
                         "the dash-dotted lines in the charts are their boundaries."))
    if check is not None:
        tab = check.to_dataframe()
        sections.append(("Batch check (T², SPE)", [_limit_bar(check, "t2", "T²"), _limit_bar(check, "spe", "SPE"),
                                                   tab.reset_index()],
                         "Whole-batch distance from the golden batches (T²) and unexplained variation (SPE); "
                         "red bars exceed their limit: release those batches only after investigation."))
    if monitor is not None:
        sections.append(("On-line T² and SPE", [_online_fig(monitor, "t2", "T²", phases),
                                                 _online_fig(monitor, "spe", "SPE", phases)],
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
