"""Many runs of one FMU: parameter sweeps and Monte-Carlo batches.

:func:`run_many` cuts the parameter sets into chunks and maps them with
:func:`workbench.executors.map_jobs`. Each worker process loads the FMU once
(pickling an :class:`FmuModel` sends only its recipe; the worker keeps the
loaded instance in a module cache) and resets it between runs. A run whose FMI
call fails is recorded with its :class:`FmuError` message, the failure time
and status; the other runs carry on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from fmu_models._config import RunConfig
from fmu_models._runtime import RUN_KIND
from workbench.errors import FmuError
from workbench.executors import JobFailure, describe_executor, map_jobs, spawn_seeds, worker_count

__all__ = ["run_many"]

Perturb = Callable[[RunConfig, np.random.Generator], RunConfig]


class _ChunkRunner:
    """Picklable job: run a chunk of configs on one (worker-cached) model."""

    def __init__(self, model: Any, perturb: Perturb | None, sink: np.ndarray | None = None):
        self.model = model
        self.perturb = perturb
        self.sink = sink  # serial runs write straight into the stacked result (run, time, output)

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "perturb": self.perturb, "sink": None}

    def __call__(self, chunk: list[tuple[int, RunConfig, int | None]]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for index, cfg, seed in chunk:
            out = self.sink[index] if self.sink is not None else None
            try:
                if self.perturb is not None:
                    cfg = self.perturb(cfg, np.random.default_rng(seed))
                if out is not None and self.perturb is not None:
                    grid = self.model.plan(cfg)  # a perturbation may change the grid
                    if out.shape != (grid.n_steps // grid.record_every + 1, len(self.model.output_names(cfg))):
                        out = None
                arrays = self.model.run_arrays(cfg, run_index=index, out=out)
            except Exception as exc:  # noqa: BLE001 - bad names/values fail this run only
                msg = str(exc) if isinstance(exc, FmuError) else f"{type(exc).__name__}: {exc}"
                records.append({"index": index, "time": None, "values": None, "outputs": (),
                                "error": f"run {index}: {msg}", "status": None, "failure_time": None,
                                "parameters": dict(cfg.parameters)})
                continue
            err = arrays.error
            in_sink = out is not None and arrays.terminated_at is None
            records.append({
                "index": index, "time": arrays.time, "values": None if in_sink else arrays.values,
                "in_sink": in_sink, "outputs": arrays.outputs, "typed": arrays.typed, "columns": arrays.columns,
                "terminated_at": arrays.terminated_at,
                "error": "" if err is None else str(err),
                "status": None if err is None else getattr(err, "status", None),
                "failure_time": None if err is None else getattr(err, "time", None),
                "parameters": dict(cfg.parameters),
            })
        return records


def _configs(model: Any, parameter_sets: Sequence[Any], base: RunConfig) -> list[RunConfig]:
    configs = []
    for i, ps in enumerate(parameter_sets):
        if isinstance(ps, RunConfig):
            configs.append(ps)
        elif isinstance(ps, Mapping):
            configs.append(base.updated(parameters=ps))
        else:
            raise FmuError(f"parameter_sets[{i}]: {type(ps).__name__} is not a dict of parameters or a RunConfig")
    return configs


def run_many(
    model: Any,
    parameter_sets: Sequence[Mapping[str, Any] | RunConfig],
    *,
    base: RunConfig | None = None,
    executor: Any = None,
    progress: bool | str = False,
    seed: int | None = None,
    perturb: Perturb | None = None,
    chunk_size: int | None = None,
    **base_kwargs: Any,
) -> xr.Dataset:
    """Run ``model`` once per parameter set and stack the results on a ``run`` dim.

    Parameters
    ----------
    model
        The :class:`~fmu_models.FmuModel`.
    parameter_sets
        Each a dict of parameter values (merged over ``base``) or a full :class:`RunConfig`.
    base
        Shared settings (inputs, times, outputs); keyword arguments add to it.
    executor
        As :func:`workbench.executors.map_jobs`: None/"serial", n workers,
        "processes:n", an Executor or a Dask client.
    progress
        Show a progress bar (True or a description).
    seed
        Root seed; run i gets ``spawn_seeds(seed, n)[i]``, passed to ``perturb``
        and recorded in the ``seed`` coordinate, so results are identical on every executor.
    perturb
        Optional picklable ``perturb(config, rng) -> config`` applied in the worker
        (random disturbances, noisy inputs); ``rng`` is ``numpy.random.default_rng(seed_i)``.
    chunk_size
        Runs per job; default 1 for serial runs, otherwise about n/(8·workers).

    Returns
    -------
    xarray.Dataset
        Dims ``run`` × ``time``; one variable per output; ``status`` (0 ok,
        1 failed), ``error`` (message, "" when ok) and ``failure_time`` per run;
        coordinates ``run``, ``seed`` and one per parameter that any set gave;
        ``attrs["kind"] = "fmu-run"`` with the other provenance attrs.
    """
    base = model.config(base, **base_kwargs) if (base is not None or base_kwargs) else RunConfig()
    configs = _configs(model, parameter_sets, base)
    n = len(configs)
    seeds: list[int | None] = spawn_seeds(seed, n) if (seed is not None or perturb is not None) else [None] * n
    workers = worker_count(executor)
    if chunk_size is None:
        chunk_size = n if workers == 1 else max(1, math.ceil(n / (8 * workers)))
    items = [(i, configs[i], seeds[i]) for i in range(n)]
    chunks = [items[i:i + chunk_size] for i in range(0, n, chunk_size)] or []
    sink, sink_time = _shared_buffer(model, configs) if workers == 1 and not hasattr(
        executor, "submit") else (None, None)
    runner = _ChunkRunner(model, perturb, sink)
    if progress and chunk_size > 1 and workers == 1:
        chunks = [[item] for item in items]  # serial: one bar tick per run
    results = map_jobs(runner, chunks, executor=executor, progress=progress)
    records: list[dict[str, Any] | None] = [None] * n
    for chunk, res in zip(chunks, results, strict=True):
        if isinstance(res, JobFailure):
            for index, cfg, _seed in chunk:
                records[index] = {"index": index, "time": None, "values": None, "outputs": (),
                                  "error": res.error, "status": None, "failure_time": None,
                                  "parameters": dict(cfg.parameters)}
        else:
            for rec in res:
                records[rec["index"]] = rec
    return _stack(model, records, seeds, seed, executor, sink, sink_time)


def _shared_buffer(model: Any, configs: list[RunConfig]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One (run, time, output) NaN buffer when every run shares grid and outputs, else None."""
    try:
        grids = {model.plan(c) for c in configs}
        outputs = {model.output_names(c) for c in configs}
    except Exception:  # noqa: BLE001 - a bad config fails in its own run
        return None, None
    if len(grids) != 1 or len(outputs) != 1 or not configs:
        return None, None
    grid, names = grids.pop(), outputs.pop()
    times = grid.times
    return np.full((len(configs), times.size, len(names)), np.nan), times


def _stack_typed(records: list[dict[str, Any]], time: np.ndarray, same: bool,
                 names: list[str]) -> dict[str, np.ndarray]:
    """(run, time) arrays of the typed columns: their own dtype when every run filled every
    row; float64 with NaN where a run failed or ended early (an integer has no NaN)."""
    out: dict[str, np.ndarray] = {}
    n = len(records)
    for name in names:
        parts = [(r, r["typed"][name]) for r in records if r["time"] is not None and name in r.get("typed", {})]
        full = len(parts) == n and all(v.shape[0] == time.size for _, v in parts) and \
            all(not r["error"] for r in records)
        if full:
            arr = np.empty((n, time.size), dtype=parts[0][1].dtype)
        else:
            arr = np.full((n, time.size), np.nan)
        for r, v in parts:
            pos = slice(None) if (same and v.shape[0] == time.size) else np.searchsorted(time, r["time"])
            if r["error"]:
                continue  # rows after a failure are not valid
            arr[r["index"], pos] = v
        out[name] = arr
    return out


def _stack(model: Any, records: list[dict[str, Any]], seeds: list[int | None], seed: int | None,
           executor: Any, sink: np.ndarray | None = None, sink_time: np.ndarray | None = None) -> xr.Dataset:
    from workbench.dataset import add_provenance

    ok = [r for r in records if r["time"] is not None]
    outputs = ok[0]["outputs"] if ok else ()
    columns = ok[0]["columns"] if ok else ()
    grids = [r["time"] for r in ok]
    same = all(g.shape == grids[0].shape and np.array_equal(g, grids[0]) for g in grids) if grids else True
    time = grids[0] if (grids and same) else (np.unique(np.concatenate(grids)) if grids else np.zeros(0))
    n = len(records)
    if sink is not None and sink_time is not None and same and sink_time.shape == time.shape \
            and np.array_equal(sink_time, time):
        data = sink  # (run, time, output), already filled in place
    else:
        data = np.full((n, time.size, len(outputs)), np.nan)
        for r in records:
            if r.get("in_sink") and sink is not None:
                data[r["index"], np.searchsorted(time, r["time"]), :] = sink[r["index"]]
    for r in records:
        if r["time"] is None or r["values"] is None:
            continue
        pos = slice(None) if same else np.searchsorted(time, r["time"])
        data[r["index"], pos, :] = r["values"]
    variables: dict[str, Any] = {}
    real = {name: j for j, name in enumerate(outputs)}
    typed = _stack_typed(records, time, same, [c for c in columns if c not in real])
    for name in columns or outputs:
        var = model.column_variable(name)
        values = data[:, :, real[name]] if name in real else typed[name]
        variables[name] = (("run", "time"), values,
                           {"units": var.units, "long_name": var.description or name})
    variables["status"] = ("run", np.array([0 if not r["error"] else 1 for r in records], dtype=np.int8),
                           {"units": "1", "long_name": "run status (0 ok, 1 failed)"})
    variables["error"] = ("run", np.array([r["error"] for r in records], dtype=object),
                          {"units": "1", "long_name": "error message of a failed run"})
    variables["terminated_at"] = ("run", np.array([np.nan if r.get("terminated_at") is None else r["terminated_at"]
                                                   for r in records]),
                                  {"units": "s", "long_name": "time at which the model ended the run itself"})
    variables["failure_time"] = ("run", np.array([np.nan if r["failure_time"] is None else r["failure_time"]
                                                  for r in records]),
                                 {"units": "s", "long_name": "simulation time at which the run failed"})
    coords: dict[str, Any] = {
        "run": ("run", np.arange(n), {"units": "1", "long_name": "run index"}),
        "time": ("time", time, {"units": "s", "long_name": "simulation time"}),
    }
    if any(s is not None for s in seeds):
        coords["seed"] = ("run", np.array(seeds, dtype=np.int64), {"units": "1", "long_name": "seed of the run"})
    names: list[str] = []
    for r in records:
        names += [k for k in r["parameters"] if k not in names]
    for name in names:
        if name in variables or name in coords:
            continue
        values = [r["parameters"].get(name) for r in records]
        var = model.variables.get(name)
        units = var.units if var is not None else "1"
        long_name = (var.description if var is not None and var.description else name)
        try:
            arr = np.array([np.nan if v is None else float(v) for v in values])
        except (TypeError, ValueError):
            arr = np.array(["" if v is None else str(v) for v in values], dtype=object)
        coords[name] = ("run", arr, {"units": units, "long_name": long_name})
    ds = xr.Dataset(variables, coords=coords)
    return add_provenance(ds, seed=seed, fmu_guids=[model.guid], kind=RUN_KIND, fmu=model.path.name,
                          fmu_interface=model.interface, executor=describe_executor(executor),
                          failed_runs=int(sum(1 for r in records if r["error"])))
