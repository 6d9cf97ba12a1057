"""Self-contained HTML report of an optimisation campaign (the one report style of :mod:`viz._html`).

Reads the trials dataset of :class:`optimization.CampaignResult` (``trials.nc``): what the campaign
found (status, trial counts, the best recipe as a table with units), optimisation history with the
running best, parameters against the first objective, the Pareto front for two objectives, parameter
importances and the best recipe's trajectory, against the campaign's own envelope band when
``trials.nc`` stores one (or a golden-batch envelope given here). A campaign without trials says
so and shows nothing else. Computes no physics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from viz._format import strip_unit_one, unit_label
from viz._html import note_html, render_report, table_html

__all__ = ["write_campaign_report", "campaign_sections"]


def _label(da: xr.DataArray, name: str) -> str:
    return f"{da.attrs.get('long_name', name)} [{unit_label(da.attrs.get('units'))}]"


def _unit_of(ds: xr.Dataset, name: str) -> str:
    for cand in (name, f"param_{name}"):
        if cand in ds.variables:
            return str(ds[cand].attrs.get("units", ""))
    return ""


def _best(ds: xr.Dataset) -> dict[str, Any]:
    try:
        best = json.loads(str(ds.attrs.get("best", "") or "{}"))
    except ValueError:
        return {}
    return best if isinstance(best, dict) else {}


def _best_table(ds: xr.Dataset, best: Mapping[str, Any]) -> str:
    rows = [{"what": "parameter", "name": k, "value": float(v), "unit": unit_label(_unit_of(ds, k))}
            for k, v in (best.get("params") or {}).items()]
    rows += [{"what": "result", "name": k, "value": float(v), "unit": unit_label(_unit_of(ds, k))}
             for k, v in (best.get("metrics") or {}).items() if isinstance(v, int | float)]
    return table_html(rows, csv_name="best_recipe")


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [kv for k, v in value.items() for kv in _flat(f"{prefix}.{k}" if prefix else str(k), v)]
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return [(f"{prefix} (stage {i + 1})", v) for i, v in enumerate(value)]
    return [(prefix, value)]


def _reference_table(ds: xr.Dataset, reference: Mapping[str, Any]) -> str:
    rows = []
    for key, value in _flat("", reference):
        leaf, _, stage = key.rsplit(".", 1)[-1].partition(" (stage ")
        unit = _unit_of(ds, f"{leaf}_{stage.rstrip(')')}") if stage else _unit_of(ds, leaf)
        if leaf.endswith("_seconds"):
            unit = "s"
        rows.append({"quantity": key, "value": value, "unit": unit_label(unit) if isinstance(value, int | float) else ""})
    return table_html(rows, csv_name="model_based_optimum")


def _summary(ds: xr.Dataset, feas: np.ndarray) -> tuple[str, int]:
    n = int(ds.sizes.get("trial", 0))
    states = [str(s) for s in ds["state"].values] if "state" in ds else []
    counts = {s: states.count(s) for s in dict.fromkeys(states)}
    rows = [{"quantity": "status", "value": str(ds.attrs.get("status", "not recorded"))},
            {"quantity": "message", "value": strip_unit_one(str(ds.attrs.get("message", "")) or "–")},
            {"quantity": "trials", "value": n}]
    rows += [{"quantity": f"trials {s.lower()}", "value": c} for s, c in counts.items()]
    if not states and n:
        rows.append({"quantity": "trial states", "value": "not recorded in this file"})
    rows.append({"quantity": "feasible trials", "value": int(feas.sum()) if n else 0})
    return table_html(rows, csv_name="campaign_summary"), n


def campaign_sections(ds: xr.Dataset, *, best_trajectory: xr.Dataset | None = None,
                      reference: Mapping[str, Any] | None = None, envelope: xr.Dataset | None = None) -> list:
    """The report's ``(heading, content, what)`` sections of a campaign trials dataset."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from viz._figures_results import (
        _directions,
        _objective_vars,
        _objectives,
        _params,
        best_recipe_figure,
        campaign_best_trajectory,
        importance_figure,
        pareto_figure,
    )

    n = int(ds.sizes.get("trial", 0))
    feas = ds["feasible"].values.astype(bool) if "feasible" in ds else np.ones(n, bool)
    summary, n = _summary(ds, feas)
    if n == 0:
        return [("Summary", [note_html(
            "This campaign has no trials yet: nothing was evaluated, so there is no best recipe, history or "
            "Pareto front to show. Run the campaign (twin optimize CAMPAIGN.yaml) and write the report again.",
            level="empty"), summary], "What was run: nothing yet.")]
    sections: list = [("Summary", summary, "How many trials ran and how many met every constraint.")]
    best = _best(ds)
    if best:
        sections.append((f"Best recipe (trial {best.get('number', '?')})", _best_table(ds, best),
                         "The best feasible recipe and what it gives; run it on the plant only after "
                         "checking the trajectory against the envelope below."))
    else:
        sections.append(("Best recipe", note_html("No feasible trial: no best recipe. Widen the search space "
                                                  "or relax a constraint.", level="empty"), None))
    if reference:
        sections.append(("Model-based optimum", _reference_table(ds, reference),
                         "The optimum of the equation model (Pyomo/Ipopt): the campaign's best should come close."))
    obj, names = _objectives(ds)
    if obj.size:
        y = obj[:, 0]
        trials = ds["trial"].values
        maximize = _directions(ds, obj.shape[1])[0].startswith("max")
        unit = ds[_objective_vars(ds)[0]].attrs.get("units")
        ylabel = f"{names[0]} [{unit_label(unit)}]"
        fig = go.Figure()
        fig.add_scatter(x=trials[feas], y=y[feas], mode="markers", name="feasible trial")
        fig.add_scatter(x=trials[~feas], y=y[~feas], mode="markers", name="infeasible / pruned trial",
                        marker={"color": "lightgrey", "symbol": "x"})
        yy = np.where(feas & np.isfinite(y), y, np.nan)
        if np.any(np.isfinite(yy)):
            filled = np.where(np.isfinite(yy), yy, -np.inf if maximize else np.inf)
            run = np.maximum.accumulate(filled) if maximize else np.minimum.accumulate(filled)
            fig.add_scatter(x=trials, y=np.where(np.isfinite(run), run, np.nan), mode="lines",
                            name="best feasible so far", line={"shape": "hv"})
        if reference and isinstance(reference.get("predicted"), Mapping) and names[0] in reference["predicted"]:
            fig.add_hline(y=float(reference["predicted"][names[0]]), line_dash="dash",
                          annotation_text="model-based optimum")
        fig.update_layout(title="optimisation history", xaxis_title="trial", yaxis_title=ylabel)
        sections.append(("History", fig, "Each trial's objective; the line is the best feasible so far. A flat "
                                         "line over the last trials means more trials will not help much."))
        params = _params(ds)
        if params:
            fig = make_subplots(rows=1, cols=len(params), shared_yaxes=True,
                                subplot_titles=[f"{p} [{unit_label(_unit_of(ds, p))}]" for p in params])
            for i, v in enumerate(params.values(), start=1):
                fig.add_scatter(x=v[feas], y=y[feas], mode="markers", row=1, col=i, name="feasible",
                                legendgroup="f", showlegend=i == 1, marker={"color": "steelblue"})
                fig.add_scatter(x=v[~feas], y=y[~feas], mode="markers", row=1, col=i, name="infeasible",
                                legendgroup="i", showlegend=i == 1, marker={"color": "lightgrey"})
            fig.update_yaxes(title_text=ylabel, row=1, col=1)
            fig.update_layout(title="parameters against the objective")
            sections.append(("Parameters", fig, "Where in the search space the good trials are; a cluster at a "
                                                "bound suggests widening that bound."))
        if obj.shape[1] >= 2:
            sections.append(("Pareto front", pareto_figure(ds), "The trade-off between the first two "
                                                                  "objectives: pick a recipe on the front."))
    if "importance" in ds or ds.attrs.get("importances"):
        sections.append(("Parameter importances", importance_figure(ds),
                         "Which parameters move the objective most (fANOVA): tune those first."))
    traj = best_trajectory if best_trajectory is not None else campaign_best_trajectory(ds)
    if traj is not None:
        temps = [v for v in ("T", "T_jacket", "T_jacket_in") if v in traj]
        if temps:
            fig = go.Figure()
            t = traj["time"].values / 3600.0
            for v in temps:
                fig.add_scatter(x=t, y=traj[v].values, mode="lines", name=_label(traj[v], v))
            fig.update_layout(title="best recipe: temperatures", xaxis_title="elapsed time [h]",
                              yaxis_title=f"temperature [{unit_label(traj[temps[0]].attrs.get('units', 'K'))}]")
            sections.append(("Best recipe: temperatures", fig, "The reactor and jacket temperatures of the best "
                                                              "recipe over the batch."))
    recipe = best_recipe_figure(ds, envelope=envelope, trajectory=traj)
    if recipe is not None:
        sections.append(("Best recipe against the envelope", recipe,
                         "The best recipe inside the band is safe to try; outside it, do not run it as is."))
    return sections


def write_campaign_report(trials: xr.Dataset | str | Path, path: str | Path, *,
                          best_trajectory: xr.Dataset | None = None,
                          reference: dict[str, Any] | None = None,
                          envelope: xr.Dataset | str | Path | None = None) -> Path:
    """Write the campaign report.

    Parameters
    ----------
    trials
        Trials dataset (or a NetCDF path) with ``objective_<k>`` (or ``value``), ``param_<name>``,
        ``feasible``, ``state`` over ``trial`` and attrs ``status``, ``message``, ``best``,
        ``importances``. Zero trials give a report that says so.
    path
        HTML file to write.
    best_trajectory
        Trajectory of the best recipe (variables over ``time`` in s) to plot; default: the
        ``best_<var>(time)`` variables stored in ``trials`` (:mod:`optimization._results`).
    reference
        Optional model-based optimum (e.g. ``ReactorOptimum.as_dict()``) shown as a table and a line.
    envelope
        Optional golden-batch envelope (``Envelope.to_dataset()``, or its NetCDF path) to draw the
        best recipe against; default: the campaign's own band stored in ``trials``
        (:func:`viz._figures_results.best_recipe_figure`).

    Returns
    -------
    Path
    """
    from workbench.dataset import read_netcdf

    inputs = []
    if not isinstance(trials, xr.Dataset):
        inputs.append(Path(trials))
        trials = read_netcdf(trials)
    if envelope is not None and not isinstance(envelope, xr.Dataset):
        inputs.append(Path(envelope))
        envelope = read_netcdf(envelope)
    ds = trials
    sections = campaign_sections(ds, best_trajectory=best_trajectory, reference=reference, envelope=envelope)
    attrs = {k: v for k, v in ds.attrs.items() if k not in ("best", "message")}
    name = str(ds.attrs.get("scenario", ""))
    return render_report(f"Campaign {name}".strip(), sections, path, attrs=attrs, inputs=inputs or None,
                         what=f"optimisation campaign {name}: {int(ds.sizes.get('trial', 0))} trials".strip(),
                         subtitle=f"objectives: {ds.attrs.get('objectives', '–')} "
                                  f"({ds.attrs.get('directions', '–')})")
