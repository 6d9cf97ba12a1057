"""Experiments: replications with common random numbers, confidence intervals, what-if comparison.

Replication ``i`` of a scenario always uses seed ``spawn_seeds(seed, N)[i]``, and inside a
replication every random process draws from its own stream named after it (source
arrivals, each station's processing, each machine's failures …). So the base scenario and
a variant see the same random numbers wherever they share a process: the paired
differences have small variance (common random numbers, Law 2015, *Simulation Modeling
and Analysis*, 5th ed., §11.2).

Confidence intervals are t-intervals over independent replications (Law 2015, §9.4.1):
``mean ± t_{n-1, 1-α/2} · s / √n``; differences use the paired-t interval on
``variant_i − base_i`` (Law 2015, §10.2.1).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from simulation.line._model import STATES, LineModel
from simulation.line._results import LINE_KPIS, STATION_KPIS, ReplicationResult, collect
from simulation.line._snapshot import LineSnapshot
from simulation.line.config import LineScenario
from workbench.dataset import add_provenance, config_hash
from workbench.errors import SimulationError, did_you_mean
from workbench.executors import JobFailure, describe_executor, map_jobs, spawn_seeds

__all__ = [
    "run_replication",
    "simulate",
    "summarize",
    "compare",
    "absent_stations",
    "littles_law_gap",
    "kpi_names",
    "EXTRA_DIMS",
]

EXTRA_DIMS = ("segment",)


@dataclass(frozen=True)
class _Job:
    scenario: LineScenario
    seed: int
    snapshot: LineSnapshot | None
    trace: bool
    base_dir: str | None
    trace_hours: float | None = 48.0


def run_replication(
    scenario: LineScenario,
    seed: int,
    *,
    snapshot: LineSnapshot | None = None,
    trace: bool = False,
    trace_hours: float | None = None,
    unit_models: dict[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> ReplicationResult:
    """Run one replication and return its KPIs.

    Parameters
    ----------
    scenario
        Validated scenario.
    seed
        Replication seed.
    snapshot
        Live state to start from.
    trace
        Keep the machine state history (Gantt).
    trace_hours
        Limit the history to this many hours from the start (None: all).
    unit_models
        Station name → unit model; by default built from each station's ``unit:``.
    base_dir
        Folder against which relative FMU paths are resolved.
    """
    if unit_models is None:
        from simulation.line._units import unit_models_for

        unit_models = unit_models_for(scenario, base_dir)
    model = LineModel(scenario, seed, snapshot=snapshot, unit_models=unit_models, trace=trace,
                      trace_hours=trace_hours)
    model.run()
    return collect(model)


def _run_job(job: _Job) -> ReplicationResult:
    return run_replication(job.scenario, job.seed, snapshot=job.snapshot, trace=job.trace,
                           trace_hours=job.trace_hours, base_dir=job.base_dir)


def kpi_names(scenario: LineScenario) -> list[str]:
    """Names along the ``kpi`` dim: line KPIs then ``"station_kpi[station]"``."""
    names = list(LINE_KPIS)
    for s in scenario.stations:
        names += [f"{k}[{s.name}]" for k in STATION_KPIS]
    return names


def _kpi_meta(name: str) -> tuple[str, str]:
    if name in LINE_KPIS:
        return LINE_KPIS[name]
    base, _, station = name.partition("[")
    units, long = STATION_KPIS[base]
    return units, f"{long} at {station.rstrip(']')}"


def _run_many(scenario, seeds, *, snapshot, executor, progress, trace_first, base_dir, trace_hours,
              first_index=0):
    jobs = [_Job(scenario, s, snapshot, trace_first and (first_index + i) == 0, base_dir, trace_hours)
            for i, s in enumerate(seeds)]
    results = map_jobs(_run_job, jobs, executor=executor, progress=progress)
    for r in results:
        if isinstance(r, JobFailure):
            raise SimulationError(
                f"scenario '{scenario.name}': replication {first_index + r.index} failed: {r.error}"
            )
    return results


def simulate(
    scenario: LineScenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    executor: Any = None,
    snapshot: LineSnapshot | None = None,
    progress: bool | str = False,
    trace: bool = True,
    trace_hours: float | None = 48.0,
    base_dir: str | Path | None = None,
) -> xr.Dataset:
    """Run replications of a scenario and return the results as a Dataset.

    Parameters
    ----------
    scenario
        Validated scenario; its ``experiment`` gives the defaults.
    replications, seed
        Override ``experiment.replications`` / ``experiment.seed``. With
        ``experiment.target_half_width`` set (and ``replications`` not given),
        replications are added in rounds until the relative CI half-width of
        ``experiment.target_kpi`` is below the target or ``max_replications`` is reached.
    executor
        ``None``/``"serial"``, ``n`` / ``"processes:n"``, an Executor or a Dask client
        (see :func:`workbench.executors.map_jobs`); same seed ⇒ same numbers on any.
    snapshot
        Live state every replication starts from.
    progress
        Show a progress bar.
    trace
        Keep the machine-state history of replication 0 (Gantt chart).
    trace_hours
        Length of that history from the start in hours (None: the whole run).
    base_dir
        Folder for relative FMU paths (the scenario file's folder).

    Returns
    -------
    xarray.Dataset
        ``value(replication, kpi)`` with ``kpi_units``/``kpi_long_name`` coords,
        ``mean(kpi)``, ``ci(kpi, bound)``, ``half_width(kpi)``,
        ``state_fraction(replication, station, state)``, ``wip_series(replication, time)``,
        ``buffer_level(replication, station, time)`` and the Gantt segments of
        replication 0 (``gantt_*`` along ``segment``); provenance in attrs.
    """
    exp = scenario.experiment
    seed = exp.seed if seed is None else int(seed)
    base_dir = str(base_dir) if base_dir is not None else None
    common = dict(snapshot=snapshot, executor=executor, progress=progress, trace_first=trace,
                  base_dir=base_dir, trace_hours=trace_hours)
    if replications is None and exp.target_half_width is not None:
        if exp.target_kpi not in kpi_names(scenario):
            raise SimulationError(
                f"experiment.target_kpi '{exp.target_kpi}' is not a KPI; "
                f"{did_you_mean(exp.target_kpi, kpi_names(scenario))}"
            )
        all_seeds = spawn_seeds(seed, exp.max_replications)
        n = exp.replications
        results = _run_many(scenario, all_seeds[:n], **common)
        while True:
            values = np.array([_flat(r, scenario)[exp.target_kpi] for r in results])
            hw, mean = _half_width(values, exp.confidence), np.nanmean(values)
            if (math.isfinite(hw) and abs(mean) > 0 and hw / abs(mean) <= exp.target_half_width) \
                    or len(results) >= exp.max_replications:
                break
            # Law (2015) §9.4.1: n* ≈ n (hw / target)^2, at least one more
            need = int(math.ceil(len(results) * (hw / (exp.target_half_width * abs(mean))) ** 2)) \
                if math.isfinite(hw) and mean else len(results) * 2
            more = min(max(need - len(results), 1), exp.max_replications - len(results))
            results += _run_many(scenario, all_seeds[len(results):len(results) + more],
                                 first_index=len(results), **common)
        seeds = all_seeds[: len(results)]
    else:
        n = replications if replications is not None else exp.replications
        if n < 2:
            raise SimulationError(f"replications must be >= 2 for a confidence interval, got {n}")
        seeds = spawn_seeds(seed, n)
        results = _run_many(scenario, seeds, **common)
    ds = _to_dataset(scenario, results, confidence=exp.confidence)
    return add_provenance(
        ds, kind="line-simulation", scenario=scenario.name, scenario_hash=config_hash(scenario.to_plain()), seed=seed,
        executor=describe_executor(executor), replications=len(results),
        warmup_s=exp.warmup, horizon_s=exp.horizon if exp.horizon is not None else -1.0,
        snapshot=snapshot.model_dump_json() if snapshot is not None else "",
        fmu_guids=_guids(scenario, base_dir),
    )


def _guids(scenario: LineScenario, base_dir: str | None) -> list[str] | None:
    if not any(s.unit is not None for s in scenario.stations):
        return None
    from simulation.line._units import unit_models_for

    models = unit_models_for(scenario, base_dir)
    return [str(getattr(m, "guid", "")) for m in models.values()]


def _flat(r: ReplicationResult, scenario: LineScenario) -> dict[str, float]:
    out = dict(r.line)
    for s in scenario.stations:
        for k in STATION_KPIS:
            out[f"{k}[{s.name}]"] = r.stations[s.name][k]
    return out


def _half_width(values: np.ndarray, confidence: float) -> float:
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return math.nan
    return float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def _to_dataset(scenario: LineScenario, results: Sequence[ReplicationResult], *, confidence: float) -> xr.Dataset:
    names = kpi_names(scenario)
    stations = [s.name for s in scenario.stations]
    n = len(results)
    value = np.array([[_flat(r, scenario)[k] for k in names] for r in results], dtype=float)
    units = [_kpi_meta(k)[0] for k in names]
    longs = [_kpi_meta(k)[1] for k in names]
    frac = np.array([[[r.state_fraction[s][st] for st in STATES] for s in stations] for r in results])
    coords = {
        "replication": np.arange(n),
        "kpi": names,
        "station": stations,
        "state": list(STATES),
        "bound": ["low", "high"],
        "kpi_units": ("kpi", units, {"long_name": "units of each KPI"}),
        "kpi_long_name": ("kpi", longs, {"long_name": "meaning of each KPI"}),
    }
    ds = xr.Dataset(
        {
            "value": (("replication", "kpi"), value,
                      {"units": "see kpi_units", "long_name": "KPI value per replication"}),
            "state_fraction": (("replication", "station", "state"), frac,
                               {"units": "1", "long_name": "fraction of machine time in state"}),
            "replication_seed": (("replication",), np.array([r.seed for r in results], dtype=np.int64),
                                 {"units": "1", "long_name": "seed of the replication"}),
            "events": (("replication",), np.array([r.events for r in results], dtype=np.int64),
                       {"units": "1", "long_name": "SimPy events scheduled"}),
            "buffer_capacity": (("station",), np.array([np.nan if s.buffer is None else s.buffer
                                                        for s in scenario.stations], dtype=float),
                                {"units": "1", "long_name": "input buffer capacity (NaN: unlimited)"}),
        },
        coords=coords,
    )
    if results[0].series_t and all(len(r.series_t) == len(results[0].series_t) for r in results):
        t = np.asarray(results[0].series_t, dtype=float)
        ds = ds.assign_coords(time=("time", t, {"units": "s", "long_name": "time since start"}))
        ds["wip_series"] = (("replication", "time"), np.array([r.series_wip for r in results]),
                            {"units": "1", "long_name": "work in process"})
        ds["buffer_level"] = (("replication", "time", "station"), np.array([r.series_buf for r in results]),
                              {"units": "1", "long_name": "items in the station's input buffer"})
        ds["buffer_level"] = ds["buffer_level"].transpose("replication", "station", "time")
    trace = results[0].trace
    if trace:
        ds["gantt_station"] = (("segment",), np.array([t[0] for t in trace], dtype=object).astype(str),
                               {"units": "1", "long_name": "station of the segment"})
        ds["gantt_server"] = (("segment",), np.array([t[1] for t in trace], dtype=np.int64),
                              {"units": "1", "long_name": "machine index within the station"})
        ds["gantt_state"] = (("segment",), np.array([t[2] for t in trace], dtype=object).astype(str),
                             {"units": "1", "long_name": "machine state"})
        ds["gantt_start"] = (("segment",), np.array([t[3] for t in trace], dtype=float),
                             {"units": "s", "long_name": "segment start"})
        ds["gantt_end"] = (("segment",), np.array([t[4] for t in trace], dtype=float),
                           {"units": "s", "long_name": "segment end"})
    return summarize(ds, confidence=confidence)


def summarize(ds: xr.Dataset, *, confidence: float = 0.95) -> xr.Dataset:
    """Add ``mean(kpi)``, ``std(kpi)``, ``half_width(kpi)`` and ``ci(kpi, bound)`` (t-intervals)."""
    v = ds["value"]
    n = v.notnull().sum("replication")
    mean = v.mean("replication", skipna=True)
    std = v.std("replication", ddof=1, skipna=True)
    tq = xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)), n)
    hw = (tq * std / np.sqrt(n)).where(n >= 2)
    out = ds.copy()
    meta = {"units": "see kpi_units"}
    out["mean"] = mean.assign_attrs(meta, long_name="mean over replications")
    out["std"] = std.assign_attrs(meta, long_name="standard deviation over replications")
    out["half_width"] = hw.assign_attrs(meta, long_name=f"half-width of the {confidence:.0%} t-interval")
    out["ci"] = xr.concat([mean - hw, mean + hw], dim="bound").assign_coords(bound=["low", "high"]) \
        .transpose("kpi", "bound").assign_attrs(meta, long_name=f"{confidence:.0%} confidence interval")
    out.attrs["confidence"] = confidence
    return out


def compare(base: xr.Dataset, variants: dict[str, xr.Dataset] | Sequence[xr.Dataset], *,
            confidence: float = 0.95, kpis: Sequence[str] | None = None) -> xr.Dataset:
    """Paired comparison of variants against a base under common random numbers.

    Parameters
    ----------
    base
        Result of :func:`simulate` for the base scenario.
    variants
        Results of :func:`simulate` for each variant (same seed and replications),
        as ``{name: ds}`` or a list (named by their ``scenario`` attr).
    confidence
        Confidence level of the intervals.
    kpis
        KPIs to compare (default: the union of the KPIs of the base and every variant,
        base order first, so a station that only a variant has keeps its KPIs).

    Returns
    -------
    xarray.Dataset
        Along ``variant`` × ``kpi``: ``base_mean``, ``variant_mean``, ``delta``
        (mean paired difference), ``delta_ci(…, bound)``, ``relative_delta``,
        ``p_value`` (two-sided paired t-test) and ``significant`` (1 when the CI
        excludes 0). A KPI that one side lacks (a station only the variant has, or
        one it removed) is NaN on that side and in every difference; the attr
        ``absent_stations`` (JSON ``{scenario: [station, ...]}``) names which scenario
        lacks which station (see :func:`absent_stations`).

    Raises
    ------
    SimulationError
        When the replications were not run with the same seeds (no CRN pairing).
    """
    if not isinstance(variants, dict):
        variants = {str(v.attrs.get("scenario", f"variant{i}")): v for i, v in enumerate(variants)}
    if kpis is not None:
        names = list(kpis)
    else:
        names = list(map(str, base["kpi"].values))
        for v in variants.values():
            names += [k for k in map(str, v["kpi"].values) if k not in names]
    seeds = base["replication_seed"].values
    rows = {key: [] for key in ("base_mean", "variant_mean", "delta", "lo", "hi", "p", "sig", "n")}
    for vname, v in variants.items():
        vs = v["replication_seed"].values
        if len(vs) != len(seeds) or not np.array_equal(vs, seeds):
            raise SimulationError(
                f"compare: variant '{vname}' was run with other seeds/replications than the base "
                f"({len(vs)} vs {len(seeds)} replications); run both with the same seed and count"
            )
        for key in rows:
            rows[key].append([])
        for k in names:
            b, x = _kpi_values(base, k, len(seeds)), _kpi_values(v, k, len(seeds))
            ok = np.isfinite(b) & np.isfinite(x)
            d = x[ok] - b[ok]
            m = len(d)
            bm, xm = (float(np.mean(b[ok])), float(np.mean(x[ok]))) if m else (_mean(b), _mean(x))
            if m >= 2:
                dm, sd = float(d.mean()), float(d.std(ddof=1))
                hw = stats.t.ppf(0.5 + confidence / 2, m - 1) * sd / math.sqrt(m)
                if sd > 0:
                    p = float(2 * stats.t.sf(abs(dm) / (sd / math.sqrt(m)), m - 1))
                else:
                    p = 1.0 if dm == 0 else 0.0
            else:
                dm, hw, p = (float(d.mean()) if m else math.nan), math.nan, math.nan
            rows["base_mean"][-1].append(bm)
            rows["variant_mean"][-1].append(xm)
            rows["delta"][-1].append(dm)
            rows["lo"][-1].append(dm - hw)
            rows["hi"][-1].append(dm + hw)
            rows["p"][-1].append(p)
            rows["sig"][-1].append(int(math.isfinite(hw) and (dm - hw > 0 or dm + hw < 0)))
            rows["n"][-1].append(m)
    units = [_kpi_units(k, base, *variants.values()) for k in names]
    meta = {"units": "see kpi_units"}
    ds = xr.Dataset(
        {
            "base_mean": (("variant", "kpi"), np.array(rows["base_mean"]), {**meta, "long_name": "base mean"}),
            "variant_mean": (("variant", "kpi"), np.array(rows["variant_mean"]), {**meta, "long_name": "variant mean"}),
            "delta": (("variant", "kpi"), np.array(rows["delta"]), {**meta, "long_name": "mean paired difference variant − base"}),
            "delta_ci": (("variant", "kpi", "bound"), np.stack([np.array(rows["lo"]), np.array(rows["hi"])], axis=-1),
                         {**meta, "long_name": f"{confidence:.0%} paired-t CI of the difference"}),
            "p_value": (("variant", "kpi"), np.array(rows["p"]), {"units": "1", "long_name": "two-sided paired t-test p-value"}),
            "significant": (("variant", "kpi"), np.array(rows["sig"], dtype=np.int8),
                            {"units": "1", "long_name": "1 if the CI of the difference excludes 0"}),
            "pairs": (("variant", "kpi"), np.array(rows["n"], dtype=np.int64), {"units": "1", "long_name": "replication pairs used"}),
        },
        coords={"variant": list(variants), "kpi": names, "bound": ["low", "high"],
                "kpi_units": ("kpi", units, {"long_name": "units of each KPI"})},
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = ds["delta"] / abs(ds["base_mean"])
    ds["relative_delta"] = rel.assign_attrs(units="1", long_name="difference relative to the base mean")
    base_name = str(base.attrs.get("scenario", "base"))
    ds.attrs.update({"base": base_name, "confidence": confidence, "seed": int(base.attrs.get("seed", -1)),
                     "absent_stations": json.dumps(_absent_stations({base_name: base, **variants}))})
    return add_provenance(ds, kind="line-comparison", scenario=base_name,
                          scenario_hash=str(base.attrs.get("scenario_hash", "")))


def absent_stations(comparison: xr.Dataset) -> dict[str, list[str]]:
    """Which scenario of a :func:`compare` result lacks which station: ``{scenario: [station, ...]}``.

    Empty when every scenario has every station. The KPIs of an absent station are NaN
    on that scenario's side of the comparison.
    """
    return json.loads(str(comparison.attrs.get("absent_stations", "{}")))


def _kpi_values(ds: xr.Dataset, kpi: str, n: int) -> np.ndarray:
    if kpi not in ds.indexes["kpi"]:
        return np.full(n, math.nan)
    return ds["value"].sel(kpi=kpi).values.astype(float)


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def _kpi_units(kpi: str, *datasets: xr.Dataset) -> str:
    for ds in datasets:
        if kpi in ds.indexes["kpi"]:
            return str(ds["kpi_units"].sel(kpi=kpi).values)
    return ""


def _stations(ds: xr.Dataset) -> list[str]:
    if "station" in ds.coords:
        return list(map(str, ds["station"].values))
    found = (str(k).partition("[")[2].rstrip("]") for k in ds["kpi"].values)
    return list(dict.fromkeys(s for s in found if s))


def _absent_stations(results: dict[str, xr.Dataset]) -> dict[str, list[str]]:
    have = {name: _stations(ds) for name, ds in results.items()}
    union = list(dict.fromkeys(s for stations in have.values() for s in stations))
    return {name: miss for name, stations in have.items() if (miss := [s for s in union if s not in stations])}


def littles_law_gap(ds: xr.Dataset) -> xr.DataArray:
    """Relative gap ``|wip − exit_rate × sojourn_time| / wip`` per replication (Little's law)."""
    v = ds["value"]
    wip = v.sel(kpi="wip")
    lam_w = v.sel(kpi="exit_rate") * v.sel(kpi="sojourn_time")
    gap = abs(wip - lam_w) / wip
    return gap.assign_attrs(units="1", long_name="relative gap of Little's law")
