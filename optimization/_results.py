"""Campaign results: all trials as xarray/CSV, best recipe, Pareto front, importances.

The trials dataset (``trials.nc``) is self-contained for the views: besides one row per
trial it holds the best recipe's trajectory and the campaign's own envelope bands.

``best_<var>(time)``
    Every output of ``problem.trajectory(best params)`` (reactor problems: the
    :data:`optimization._reactor.RECIPE_OUTPUTS`, e.g. ``best_T`` in K) over ``time``
    (elapsed batch time, s). Single objective: the best feasible trial. Several objectives:
    the Pareto recipe that is best on the *first* objective. Problems without a
    ``trajectory`` method (the line problem) and campaigns without a feasible trial store
    none. ``attrs["best_trajectory_trial"]`` names the trial. The recipe is simulated again,
    in one piece: a trial evaluated in pruning chunks agrees with it to the integrator's
    tolerance (relative 1e-7), not bit for bit.
``envelope_lower_<var>(envelope_time)``, ``envelope_upper_<var>(envelope_time)``
    The bands of ``problem.envelopes`` (:class:`optimization.EnvelopeBand`), on the union of
    their time points (s); a band is exact there (piecewise linear) and NaN outside its own
    time range. A second band on the same variable gets the suffix ``_2`` and so on.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from optimization._search_space import in_search_space
from workbench.dataset import add_provenance, config_hash, validate_dataset, write_netcdf
from workbench.errors import WorkbenchError

__all__ = ["CampaignResult", "collect_results", "TRIALS_EXTRA_DIMS"]

#: Dimensions of the trials dataset beyond :data:`workbench.dataset.KNOWN_DIMS`.
TRIALS_EXTRA_DIMS = ("envelope_time",)


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
        Parameter → importance (fANOVA, Optuna) of the first objective; empty if too few trials;
        from a seeded subsample of :data:`IMPORTANCE_TRIALS` trials in larger campaigns.
    study
        Name of the Optuna study read (``<name>-2`` … after ``--new-study``).
    trials
        All trials as an :class:`xarray.Dataset` over ``trial``, plus the best recipe's
        trajectory ``best_<var>(time)`` and the envelope bands
        ``envelope_lower_<var>/envelope_upper_<var>(envelope_time)`` (module docstring).
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
    study: str = ""

    def summary(self) -> dict[str, Any]:
        """JSON-able summary."""
        states = [str(s) for s in self.trials["state"].values] if self.trials.sizes.get("trial") else []
        return {"name": self.name, "status": self.status, "message": self.message, "best": self.best,
                "pareto": self.pareto, "importances": self.importances,
                "trials": len(states), "complete": states.count("COMPLETE"),
                "pruned": states.count("PRUNED"), "failed": states.count("FAIL"),
                "objectives": self.objectives, "directions": self.directions, "study": self.study or self.name}

    def to_csv(self, path: str | Path) -> Path:
        """All trials as CSV: one row per trial, only the variables over ``trial`` alone.

        The best recipe's trajectory and the envelope bands (other dims) stay in ``trials.nc``.
        """
        path = Path(path)
        ds = self.trials
        ds = ds.drop_dims([d for d in ds.dims if d != "trial"])
        ds = ds[[v for v in ds.data_vars if ds[v].dims == ("trial",)]]
        ds.to_dataframe().to_csv(path)
        return path

    def write(self, outdir: str | Path) -> list[Path]:
        """Write ``trials.nc``, ``trials.csv`` and ``summary.json`` into ``outdir``.

        ``trials.nc`` is checked against the dataset conventions first
        (:func:`workbench.dataset.validate_dataset` with :data:`TRIALS_EXTRA_DIMS`).
        """
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        validate_dataset(self.trials, require_provenance=True, extra_dims=TRIALS_EXTRA_DIMS,
                         name=f"trials of campaign {self.name!r}")
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


def collect_results(campaign, study, *, trajectory: bool = True) -> CampaignResult:
    """Read every trial of ``study`` into a :class:`CampaignResult`.

    Parameters
    ----------
    campaign
        The :class:`optimization.Campaign` (its config and problem).
    study
        Its Optuna study.
    trajectory
        Add the best recipe's trajectory ``best_<var>(time)`` when the problem has a
        ``trajectory`` method. That is one simulation of the best recipe, memoised per
        (model, recipe), so calling this again while the best trial is unchanged costs no
        simulation. The envelope bands are stored either way.

    Returns
    -------
    CampaignResult
    """
    import optuna

    cfg = campaign.config
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    # a study resumed across a changed search space (--resume-anyway) holds trials outside the
    # current bounds: the best recipe is chosen among those inside
    outside = [t for t in done if not in_search_space(t.params, cfg)]
    feas = [t for t in done if _feasible(t) and in_search_space(t.params, cfg)]
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
    importances = _importances(study, done, multi=len(dirs) > 1)
    if not done and not any(t.state == optuna.trial.TrialState.PRUNED for t in trials):
        status, msg = "empty", "no trial has finished yet"
    elif not feas:
        status, msg = "infeasible", _infeasible_message(campaign, trials)
    else:
        status = "ok"
        if best is not None:
            units = campaign.problem.metric_units
            shown = {m: "" if units.get(m, "") in ("", "1") else units[m] for m in objs}  # never the unit "1"
            ms = ", ".join(f"{m} = {best['metrics'][m]:.6g} {shown[m]}".rstrip() for m in objs)
            msg = (f"best recipe: trial {best['number']} with {ms}; "
                   f"{len(feas)} of {len(done)} complete trials feasible")
        else:
            msg = f"Pareto front of {len(pareto)} recipes from {len(feas)} feasible trials"
    if outside:
        msg += (f"; {len(outside)} complete trials lie outside the current search space (run before it changed) "
                f"and are not considered")
    ds = _trials_dataset(campaign, trials)
    note = []
    shown = best if best is not None else _best_on_first(pareto, dirs)
    if trajectory and shown is not None and hasattr(campaign.problem, "trajectory"):
        try:
            best_ds = _best_dataset(campaign, shown["params"])
            ds = ds.merge(best_ds)
            ds.attrs.update(best_ds.attrs, best_trajectory_trial=int(shown["number"]))
        except WorkbenchError as exc:  # the study stays readable if the recipe cannot be re-run here
            note.append(f"best recipe trajectory not stored: {exc}")
    try:
        ds = ds.merge(_bands_dataset(getattr(campaign.problem, "envelopes", [])))
    except WorkbenchError as exc:
        note.append(f"envelope bands not stored: {exc}")
    if note:
        ds.attrs["views_note"] = "; ".join(note)
    ds = add_provenance(ds, kind="campaign", scenario=cfg.name, scenario_hash=config_hash(cfg), seed=cfg.sampler.seed,
                        status=status, message=msg, directions=",".join(dirs), objectives=",".join(objs),
                        best=json.dumps(best, default=_json) if best else "",
                        importances=json.dumps(importances))
    return CampaignResult(cfg.name, status, msg, best, pareto, importances, ds, dirs, objs, study.study_name)


#: fANOVA's cost grows faster than linearly with the trials (about 2 s at 300, 15 s at 1000
#: on this machine); above this many complete trials the importances come from a seeded
#: random subsample of them (an unbiased sample of the explored recipes).
IMPORTANCE_TRIALS = 300


def _importances(study, done: list, *, multi: bool) -> dict[str, float]:
    """fANOVA importances of the parameters for the (first) objective (Hutter et al., ICML 2014)."""
    import optuna

    if len(done) < 4:
        return {}
    source = study
    if len(done) > IMPORTANCE_TRIALS:
        pick = np.random.default_rng(0).choice(len(done), IMPORTANCE_TRIALS, replace=False)
        source = optuna.create_study(directions=study.directions)
        source.add_trials([done[i] for i in sorted(pick)])
    try:
        imp = optuna.importance.get_param_importances(
            source, target=(lambda t: t.values[0]) if multi else None,
            evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except Exception:  # noqa: BLE001 - importances need varied parameters; skip otherwise
        return {}
    return {k: float(v) for k, v in imp.items()}


def _best_on_first(pareto: list[dict[str, Any]], directions: list[str]) -> dict[str, Any] | None:
    """The Pareto recipe that is best on the first objective (the one whose trajectory is stored)."""
    if not pareto:
        return None
    sign = 1.0 if directions[0] == "maximize" else -1.0
    return max(pareto, key=lambda r: sign * r["values"][0])


_TRAJECTORIES: OrderedDict[str, xr.Dataset] = OrderedDict()
_TRAJECTORY_CACHE_SIZE = 8


def _trajectory(campaign, params: dict[str, Any]) -> xr.Dataset:
    """``campaign.problem.trajectory(params)``, memoised on the model section (without its
    envelopes, which do not change the trajectory) and the parameter values."""
    spec = campaign.config.model.model_dump(mode="json", exclude={"envelopes"})
    base = str(getattr(campaign.problem, "base_dir", ""))
    key = json.dumps([spec, base, sorted(params.items())], sort_keys=True, default=_json)
    hit = _TRAJECTORIES.get(key)
    if hit is None:
        hit = campaign.problem.trajectory(params)
        _TRAJECTORIES[key] = hit
        while len(_TRAJECTORIES) > _TRAJECTORY_CACHE_SIZE:
            _TRAJECTORIES.popitem(last=False)
    _TRAJECTORIES.move_to_end(key)
    return hit


def _best_dataset(campaign, params: dict[str, Any]) -> xr.Dataset:
    """``best_<var>(time)`` from the best recipe's trajectory."""
    traj = _trajectory(campaign, params)
    t = np.array(traj["time"].values, dtype=float)
    data = {}
    for v in traj.data_vars:
        da = traj[v]
        if da.dims != ("time",):
            continue
        data[f"best_{v}"] = xr.DataArray(np.array(da.values, dtype=float), dims="time", attrs={
            "units": str(da.attrs.get("units", "1")),
            "long_name": f"{da.attrs.get('long_name', v)} of the best recipe"})
    coords = {"time": ("time", t, {"units": "s", "long_name": "elapsed batch time of the best recipe"})}
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["best_trajectory_backend"] = str(traj.attrs.get("backend", ""))
    return ds


def _bands_dataset(bands) -> xr.Dataset:
    """``envelope_lower_<var>/envelope_upper_<var>(envelope_time)`` of the campaign's envelope bands.

    The bands are piecewise linear in time, so putting them on the union of their time points
    changes none of them; outside its own time range a band is NaN (it constrains nothing there,
    :meth:`optimization.EnvelopeBand.violation`).
    """
    bands = list(bands)
    if not bands:
        return xr.Dataset()
    grid = np.unique(np.concatenate([b.time for b in bands]))
    data: dict[str, xr.DataArray] = {}
    seen: dict[str, int] = {}
    for b in bands:
        seen[b.variable] = seen.get(b.variable, 0) + 1
        name = b.variable if seen[b.variable] == 1 else f"{b.variable}_{seen[b.variable]}"
        inside = (grid >= b.time[0] - 1e-9) & (grid <= b.time[-1] + 1e-9)
        lo, hi = b.bounds_at(grid)
        for side, arr in (("lower", lo), ("upper", hi)):
            data[f"envelope_{side}_{name}"] = xr.DataArray(np.where(inside, arr, np.nan), dims="envelope_time", attrs={
                "units": b.units or "1", "long_name": f"{side} limit of the campaign's envelope on {b.variable}",
                "variable": b.variable})
    coords = {"envelope_time": ("envelope_time", grid, {"units": "s", "long_name": "elapsed batch time of the envelope"})}
    return xr.Dataset(data, coords=coords)


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
    data["in_search_space"] = xr.DataArray(
        np.array([in_search_space(t.params, cfg) for t in trials]), dims="trial",
        attrs={"units": "1", "long_name": "parameters inside the campaign's current search space"})
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
