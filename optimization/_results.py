"""Campaign results: all trials as xarray/CSV, best recipe, Pareto front, importances."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.dataset import add_provenance, config_hash, write_netcdf

__all__ = ["CampaignResult", "collect_results"]


@dataclass
class CampaignResult:
    """What a campaign found.

    Attributes
    ----------
    status
        ``"ok"`` (a feasible best recipe exists), ``"infeasible"`` (trials finished but
        none satisfied every constraint) or ``"empty"`` (no finished trial).
    message
        One paragraph for people: the best recipe or why there is none.
    best
        ``{"number", "params", "metrics", "values"}`` of the best feasible trial
        (single objective) or None.
    pareto
        Feasible non-dominated trials (multi-objective), same shape as ``best``.
    importances
        Parameter → importance (fANOVA, Optuna) of the first objective; empty if too few trials.
    trials
        All trials as an :class:`xarray.Dataset` over ``trial``.
    """

    name: str
    status: str
    message: str
    best: dict[str, Any] | None
    pareto: list[dict[str, Any]]
    importances: dict[str, float]
    trials: xr.Dataset
    directions: list[str] = field(default_factory=list)
    objectives: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary."""
        states = [str(s) for s in self.trials["state"].values] if self.trials.sizes.get("trial") else []
        return {"name": self.name, "status": self.status, "message": self.message, "best": self.best,
                "pareto": self.pareto, "importances": self.importances,
                "trials": len(states), "complete": states.count("COMPLETE"),
                "pruned": states.count("PRUNED"), "failed": states.count("FAIL"),
                "objectives": self.objectives, "directions": self.directions}

    def to_csv(self, path: str | Path) -> Path:
        """All trials as CSV (one row per trial)."""
        path = Path(path)
        self.trials.to_dataframe().to_csv(path)
        return path

    def write(self, outdir: str | Path) -> list[Path]:
        """Write ``trials.nc``, ``trials.csv`` and ``summary.json`` into ``outdir``."""
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [write_netcdf(self.trials, out / "trials.nc"), self.to_csv(out / "trials.csv")]
        p = out / "summary.json"
        p.write_text(json.dumps(self.summary(), indent=2, default=_json))
        paths.append(p)
        return paths


def _json(v):
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def _row(t) -> dict[str, Any]:
    return {"number": t.number, "params": dict(t.params), "metrics": dict(t.user_attrs.get("metrics", {})),
            "values": list(t.values) if t.values is not None else None}


def _feasible(t) -> bool:
    cons = t.user_attrs.get("constraints")
    return cons is None or all(c <= 0 for c in cons)


def collect_results(campaign, study) -> CampaignResult:
    """Read every trial of ``study`` into a :class:`CampaignResult`."""
    import optuna

    cfg = campaign.config
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    feas = [t for t in done if _feasible(t)]
    dirs = [o.direction for o in cfg.objectives]
    objs = [o.metric for o in cfg.objectives]
    best, pareto = None, []
    if feas:
        if len(dirs) == 1:
            sign = 1.0 if dirs[0] == "maximize" else -1.0
            b = max(feas, key=lambda t: sign * t.values[0])
            best = _row(b)
        else:
            pareto = [_row(t) for t in _pareto(feas, dirs)]
    importances: dict[str, float] = {}
    if len(done) >= 4:
        try:
            imp = optuna.importance.get_param_importances(
                study, target=(lambda t: t.values[0]) if len(dirs) > 1 else None,
                evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
            importances = {k: float(v) for k, v in imp.items()}
        except Exception:  # noqa: BLE001 - importances need varied parameters; skip otherwise
            importances = {}
    if not done and not any(t.state == optuna.trial.TrialState.PRUNED for t in trials):
        status, msg = "empty", "no trial has finished yet"
    elif not feas:
        status, msg = "infeasible", _infeasible_message(campaign, trials)
    else:
        status = "ok"
        if best is not None:
            units = campaign.problem.metric_units
            ms = ", ".join(f"{m} = {best['metrics'][m]:.6g} {units.get(m, '')}".rstrip() for m in objs)
            msg = (f"best recipe: trial {best['number']} with {ms}; "
                   f"{len(feas)} of {len(done)} complete trials feasible")
        else:
            msg = f"Pareto front of {len(pareto)} recipes from {len(feas)} feasible trials"
    ds = _trials_dataset(campaign, trials)
    ds = add_provenance(ds, scenario=cfg.name, scenario_hash=config_hash(cfg), seed=cfg.sampler.seed,
                        status=status, message=msg, directions=",".join(dirs), objectives=",".join(objs),
                        best=json.dumps(best, default=_json) if best else "",
                        importances=json.dumps(importances))
    return CampaignResult(cfg.name, status, msg, best, pareto, importances, ds, dirs, objs)


def _infeasible_message(campaign, trials) -> str:
    cfg = campaign.config
    names = []
    for c in cfg.constraints:
        if c.max is not None:
            names.append(f"{c.metric} <= {c.max:g}")
        if c.min is not None:
            names.append(f"{c.metric} >= {c.min:g}")
    scored = [(max(t.user_attrs["constraints"]), t) for t in trials if t.user_attrs.get("constraints")]
    if not scored:
        return "no feasible recipe: every trial failed or was pruned before finishing"
    worst_ok, t = min(scored, key=lambda p: p[0])
    cons = t.user_attrs["constraints"]
    broken = [f"{names[i]} (exceeded by {v:.3g})" for i, v in enumerate(cons) if v > 0 and i < len(names)]
    pruned = sum(1 for t2 in trials if t2.state.name == "PRUNED")
    return (f"no feasible recipe in {len(trials)} trials ({pruned} pruned for leaving the envelope). "
            f"Closest: trial {t.number} {dict(t.params)} violates {', '.join(broken) or 'the envelope'}. "
            "Widen the search space or the envelope, or relax the constraints.")


def _pareto(trials, directions):
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    vals = np.array([t.values for t in trials]) * signs
    keep = []
    for i, v in enumerate(vals):
        dominated = np.any(np.all(vals <= v, axis=1) & np.any(vals < v, axis=1))
        if not dominated:
            keep.append(trials[i])
    return keep


def _trials_dataset(campaign, trials) -> xr.Dataset:
    cfg = campaign.config
    units = campaign.problem.metric_units
    n = len(trials)
    coords = {"trial": ("trial", np.array([t.number for t in trials], dtype=int), {"long_name": "trial number"})}
    data: dict[str, xr.DataArray] = {}
    for p in cfg.parameters:
        vals = [t.params.get(p.name, np.nan) for t in trials]
        if p.type == "categorical":
            arr = np.array([str(v) for v in vals], dtype=object)
        else:
            arr = np.array(vals, dtype=float)
        data[f"param_{p.name}"] = xr.DataArray(arr, dims="trial",
                                               attrs={"units": p.unit, "long_name": f"parameter {p.name}"})
    metric_names = sorted({k for t in trials for k in t.user_attrs.get("metrics", {})})
    for m in metric_names:
        arr = np.array([t.user_attrs.get("metrics", {}).get(m, np.nan) for t in trials], dtype=float)
        data[m] = xr.DataArray(arr, dims="trial", attrs={"units": units.get(m, "1"), "long_name": m})
    viol = np.array([max(t.user_attrs["constraints"]) if t.user_attrs.get("constraints") else
                     (0.0 if cfg.constraints == [] else np.nan) for t in trials], dtype=float)
    data["max_constraint"] = xr.DataArray(viol, dims="trial", attrs={
        "units": "1", "long_name": "largest constraint value (<= 0 feasible)"})
    data["feasible"] = xr.DataArray(np.array([t.state.name == "COMPLETE" and _feasible(t) for t in trials]),
                                    dims="trial", attrs={"units": "1", "long_name": "complete and feasible"})
    data["state"] = xr.DataArray(np.array([t.state.name for t in trials], dtype=object), dims="trial",
                                 attrs={"units": "1", "long_name": "trial state"})
    dur = [(t.datetime_complete - t.datetime_start).total_seconds()
           if t.datetime_complete and t.datetime_start else np.nan for t in trials]
    data["duration"] = xr.DataArray(np.array(dur, dtype=float), dims="trial",
                                    attrs={"units": "s", "long_name": "trial wall time"})
    data["repeats"] = xr.DataArray(np.array([t.user_attrs.get("repeats", 0) for t in trials], dtype=int),
                                   dims="trial", attrs={"units": "1", "long_name": "evaluations (noise repeats)"})
    data["worker"] = xr.DataArray(np.array([t.user_attrs.get("worker", "") for t in trials], dtype=object),
                                  dims="trial", attrs={"units": "1", "long_name": "host:pid of the worker"})
    for k, o in enumerate(cfg.objectives):
        arr = np.array([t.values[k] if t.values is not None else np.nan for t in trials], dtype=float)
        data[f"objective_{k}"] = xr.DataArray(arr, dims="trial", attrs={
            "units": units.get(o.metric, "1"), "long_name": f"objective {o.metric} ({o.direction})"})
    del n
    return xr.Dataset(data, coords=coords)
