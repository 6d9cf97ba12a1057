"""Self-contained HTML report of an optimisation campaign (plotly, JavaScript inlined).

Reads the trials dataset of :class:`optimization.CampaignResult` (``trials.nc``): optimisation
history with the running best, parameters against the first objective, the Pareto front for two
objectives, parameter importances and the best recipe's trajectory, against the campaign's own
envelope band when ``trials.nc`` stores one (or a golden-batch envelope given here). Computes no physics.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["write_campaign_report"]


def _label(da: xr.DataArray, name: str) -> str:
    u = da.attrs.get("units", "")
    return f"{da.attrs.get('long_name', name)} [{u}]" if u and u != "1" else da.attrs.get("long_name", name)


def write_campaign_report(trials: xr.Dataset | str | Path, path: str | Path, *,
                          best_trajectory: xr.Dataset | None = None,
                          reference: dict[str, Any] | None = None,
                          envelope: xr.Dataset | str | Path | None = None) -> Path:
    """Write the campaign report.

    Parameters
    ----------
    trials
        Trials dataset (or a NetCDF path) with ``objective_<k>``, ``param_<name>``, ``feasible``,
        ``state`` over ``trial`` and attrs ``status``, ``message``, ``best``, ``importances``.
    path
        HTML file to write.
    best_trajectory
        Trajectory of the best recipe (variables over ``time`` in s) to plot; default: the
        ``best_<var>(time)`` variables stored in ``trials`` (:mod:`optimization._results`).
    reference
        Optional model-based optimum (e.g. ``ReactorOptimum.as_dict()``) shown as a line/table.
    envelope
        Optional golden-batch envelope (``Envelope.to_dataset()``, or its NetCDF path) to draw the
        best recipe against; default: the campaign's own band stored in ``trials``
        (:func:`viz._figures_results.best_recipe_figure`).

    Returns
    -------
    Path
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from viz._figures_results import best_recipe_figure, campaign_best_trajectory

    if not isinstance(trials, xr.Dataset):
        from workbench.dataset import read_netcdf

        trials = read_netcdf(trials)
    if envelope is not None and not isinstance(envelope, xr.Dataset):
        from workbench.dataset import read_netcdf

        envelope = read_netcdf(envelope)
    ds = trials
    if best_trajectory is None:
        best_trajectory = campaign_best_trajectory(ds)
    figs: list[str] = []
    objs = [v for v in ds.data_vars if str(v).startswith("objective_")]
    params = [v for v in ds.data_vars if str(v).startswith("param_")]
    directions = str(ds.attrs.get("directions", "maximize")).split(",")
    feas = ds["feasible"].values.astype(bool) if "feasible" in ds else np.ones(ds.sizes["trial"], bool)
    n = ds["trial"].values
    first = True

    def add(fig) -> None:
        nonlocal first
        figs.append(fig.to_html(full_html=False, include_plotlyjs="inline" if first else False))
        first = False

    if objs:
        y = ds[objs[0]].values
        fig = go.Figure()
        fig.add_scatter(x=n[feas], y=y[feas], mode="markers", name="feasible")
        fig.add_scatter(x=n[~feas], y=y[~feas], mode="markers", name="infeasible / pruned",
                        marker={"color": "lightgrey"})
        yy = np.where(feas, y, np.nan)
        if np.any(np.isfinite(yy)):
            best = np.fmax.accumulate(yy) if directions[0] == "maximize" else np.fmin.accumulate(yy)
            fig.add_scatter(x=n, y=best, mode="lines", name="best so far")
        if reference and "predicted" in reference:
            metric = objs[0]
            key = str(ds[metric].attrs.get("long_name", "")).split(" ")[1] if " " in str(ds[metric].attrs.get("long_name", "")) else ""
            if key in reference["predicted"]:
                fig.add_hline(y=reference["predicted"][key], line_dash="dash", annotation_text="Ipopt optimum")
        fig.update_layout(title="optimisation history", xaxis_title="trial", yaxis_title=_label(ds[objs[0]], objs[0]))
        add(fig)
        if params:
            fig = make_subplots(rows=1, cols=len(params), shared_yaxes=True,
                                subplot_titles=[_label(ds[p], p) for p in params])
            for i, p in enumerate(params, start=1):
                fig.add_scatter(x=ds[p].values[feas], y=y[feas], mode="markers", row=1, col=i,
                                showlegend=False, marker={"color": "steelblue"})
                fig.add_scatter(x=ds[p].values[~feas], y=y[~feas], mode="markers", row=1, col=i,
                                showlegend=False, marker={"color": "lightgrey"})
            fig.update_layout(title="parameters against the objective (grey: infeasible)")
            add(fig)
    if len(objs) == 2:
        fig = go.Figure()
        fig.add_scatter(x=ds[objs[0]].values[feas], y=ds[objs[1]].values[feas], mode="markers", name="feasible")
        fig.update_layout(title="objective space (Pareto front)", xaxis_title=_label(ds[objs[0]], objs[0]),
                          yaxis_title=_label(ds[objs[1]], objs[1]))
        add(fig)
    imp = json.loads(ds.attrs.get("importances", "{}") or "{}")
    if imp:
        fig = go.Figure(go.Bar(x=list(imp.values()), y=list(imp.keys()), orientation="h"))
        fig.update_layout(title="parameter importances (fANOVA)", xaxis_title="importance [1]")
        add(fig)
    if best_trajectory is not None:
        names = [v for v in ("T", "T_jacket", "T_jacket_in") if v in best_trajectory]
        if names:
            fig = go.Figure()
            t = best_trajectory["time"].values / 3600.0
            for v in names:
                fig.add_scatter(x=t, y=best_trajectory[v].values, mode="lines", name=_label(best_trajectory[v], v))
            fig.update_layout(title="best recipe: temperatures", xaxis_title="elapsed time [h]", yaxis_title="[K]")
            add(fig)
    recipe = best_recipe_figure(ds, envelope=envelope, trajectory=best_trajectory)
    if recipe is not None:
        add(recipe)
    best = ds.attrs.get("best", "")
    states = [str(s) for s in ds["state"].values] if "state" in ds else []
    summary = (f"<p><b>status:</b> {html.escape(str(ds.attrs.get('status', '')))} — "
               f"{html.escape(str(ds.attrs.get('message', '')))}</p>"
               f"<p>{len(states)} trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, "
               f"{states.count('FAIL')} failed; {int(feas.sum())} feasible.</p>")
    if best:
        summary += f"<pre>{html.escape(json.dumps(json.loads(best), indent=2))}</pre>"
    if reference:
        summary += f"<h2>model-based optimum</h2><pre>{html.escape(json.dumps(reference, indent=2, default=str))}</pre>"
    if first:  # no figure: still embed plotly so the page is uniform
        figs.append("")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>campaign "
            f"{html.escape(str(ds.attrs.get('scenario', '')))}</title></head><body>"
            f"<h1>campaign {html.escape(str(ds.attrs.get('scenario', '')))}</h1>{summary}{''.join(figs)}</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
