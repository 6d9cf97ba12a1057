"""Vectorised Monte Carlo of non-repairable systems (one NumPy pass per chunk of missions).

Every mission draws one exposure life per component, maps it to calendar time
through the component's :class:`~simulation.life._stress.ExposureClock`, and
evaluates the structure (min / max / order statistic / standby) column-wise.
Chunks of missions are independent jobs with seeds from
:func:`workbench.executors.spawn_seeds`, so the numbers do not depend on the
executor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from simulation.life._config import LifeModel
from simulation.life._rbd import Structure
from simulation.life._stats import BOUND, mean_ci, quantile_ci, wilson
from workbench.dataset import add_provenance, config_hash
from workbench.errors import SimulationError
from workbench.executors import JobFailure, map_jobs, spawn_seeds

__all__ = ["simulate_missions", "sample_exposure_lives", "EXTRA_DIMS"]

EXTRA_DIMS = ("bound", "component", "kpi", "trial")


def sample_exposure_lives(
    model: LifeModel, rng: np.random.Generator, n: int, pools: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """``(n, components)`` lives on each component's exposure clock (s at reference stress).

    Components with a degradation model draw from their pool of first-passage
    times (``pools[name]``, see :func:`simulation.life.degradation_lives`).
    """
    out = np.empty((n, len(model.components)), order="F")  # columns contiguous for the samplers
    for i, c in enumerate(model.components):
        if c.degradation is not None and (c.life is None or isinstance(c.life, str)):
            pool = (pools or {}).get(c.name)
            if pool is None:
                raise SimulationError(f"component '{c.name}': no degradation lives were simulated")
            out[:, i] = pool[rng.integers(0, len(pool), n)]
        else:
            if isinstance(c.life, str):
                raise SimulationError(
                    f"component '{c.name}': life file '{c.life}' was not resolved; load the model with load_life_model()"
                )
            out[:, i] = c.life.sample(rng, n)
    return out


@dataclass
class _Chunk:
    model: LifeModel
    n: int
    seed: int
    n_importance: int
    grid: np.ndarray
    pools: dict[str, np.ndarray] | None


def _order_statistics(x: np.ndarray, ps: tuple[float, ...], confidence: float) -> np.ndarray:
    """``x`` partitioned so that every rank :func:`quantile_ci` reads for ``ps`` is in place.

    A full sort of 10⁶–10⁷ lives is the serial bottleneck of a parallel run;
    ``np.partition`` on the few ranks needed is linear.
    """
    n = len(x)
    a = (1 - confidence) / 2
    ranks: set[int] = set()
    for p in ps:
        h = (n - 1) * p  # numpy's linear quantile reads ranks floor(h) and ceil(h)
        ranks.update({int(np.floor(h)), int(np.ceil(h))})
        lo = int(stats.binom.ppf(a, n, p))
        hi = int(stats.binom.ppf(1 - a, n, p)) + 1
        ranks.update({max(lo - 1, 0), min(hi - 1, n - 1)})
    return np.partition(x, sorted(r for r in ranks if 0 <= r < n)) if n else x


def _run_chunk(job: _Chunk) -> dict[str, np.ndarray]:
    model, n = job.model, job.n
    st = Structure(model)
    rng = np.random.default_rng(job.seed)
    L = sample_exposure_lives(model, rng, n, job.pools)
    identity = [clock.constant and clock.rate == 1.0 for clock in st.clocks]
    if all(identity):
        T = L
    else:
        T = L.copy(order="F")
        for i, clock in enumerate(st.clocks):
            if not identity[i]:
                T[:, i] = clock.time_at(L[:, i])
    U = rng.random((n, st.n_switches)) if st.n_switches else None
    life, cause = st.system_life(T, L, U)
    # failures by each grid time, counted here so the caller never sorts all lives:
    # first grid index j with grid[j] >= life; life <= grid[j] for every j from there on
    first = np.searchsorted(job.grid, life, side="left")
    failed_by = np.cumsum(np.bincount(first, minlength=len(job.grid) + 1))[: len(job.grid)]
    out = {"life": life, "cause": cause.astype(np.int16), "failed_by": failed_by}
    # Birnbaum importance I_B(i) = R(t | i up) - R(t | i down) at mission time, on a sub-sample
    k = job.n_importance
    if k:
        tm = model.simulation.mission_time
        m = len(model.components)
        diff = np.zeros(m)
        Ts, Ls = T[:k].copy(), L[:k].copy()  # copies: T may be L itself
        Us = None if U is None else U[:k]
        for i in range(m):
            keep_t, keep_l = Ts[:, i].copy(), Ls[:, i].copy()
            Ts[:, i], Ls[:, i] = np.inf, np.inf
            up = st.system_life(Ts, Ls, Us)[0] > tm
            Ts[:, i], Ls[:, i] = 0.0, 0.0
            down = st.system_life(Ts, Ls, Us)[0] > tm
            Ts[:, i], Ls[:, i] = keep_t, keep_l
            diff[i] = np.count_nonzero(up & ~down)
        out["birnbaum_count"] = diff
        out["birnbaum_n"] = np.array([k])
    return out


def _analytic(model: LifeModel, st: Structure, t: np.ndarray) -> np.ndarray | None:
    sfs = []
    for c, clock in zip(model.components, st.clocks, strict=True):
        if c.life is None or isinstance(c.life, str):
            return None
        sfs.append(c.life.sf(clock.exposure(t)))
    return st.analytic_reliability(sfs)


def simulate_missions(
    model: LifeModel,
    *,
    missions: int | None = None,
    seed: int | None = None,
    executor=None,
    progress: bool | str = False,
    chunk: int = 250_000,
    pools: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Monte-Carlo life of a non-repairable system.

    Parameters
    ----------
    model
        The life model (repair and maintenance entries are ignored here).
    missions
        Number of simulated lives (default ``model.simulation.missions``).
    seed
        Root seed (default ``model.simulation.seed``).
    executor
        See :func:`workbench.executors.map_jobs`; chunks of ``chunk`` missions are the jobs.
    progress
        Progress bar (True or a description).
    chunk
        Missions per job.
    pools
        Degradation first-passage lives per component (computed when None).

    Returns
    -------
    xarray.Dataset
        ``reliability``/``unreliability`` (bound, time) with Wilson intervals,
        ``reliability_analytic`` (time) when exact, ``mttf``, ``b1_life``, ``b10_life``,
        ``mission_reliability`` (bound), ``birnbaum_importance`` and ``failure_share``
        (bound, component), ``component_reliability`` (component).
    """
    sim = model.simulation
    n = int(missions or sim.missions)
    seed = sim.seed if seed is None else seed
    conf = sim.confidence
    if pools is None:
        from simulation.life._degradation import degradation_pools

        pools = degradation_pools(model, seed=seed)
    grid = np.linspace(0.0, sim.mission_time, sim.time_points)
    sizes = [chunk] * (n // chunk) + ([n % chunk] if n % chunk else [])
    n_imp = min(sim.importance_missions, n)
    imp = [math.ceil(n_imp * s / n) for s in sizes]
    seeds = spawn_seeds(seed, len(sizes))
    jobs = [_Chunk(model, s, sd, k, grid, pools) for s, sd, k in zip(sizes, seeds, imp, strict=True)]
    results = map_jobs(_run_chunk, jobs, executor=executor, progress=progress)
    failures = [r for r in results if isinstance(r, JobFailure)]
    if failures:
        raise SimulationError(f"life simulation chunk {failures[0].index} failed: {failures[0].error}")
    life = np.concatenate([r["life"] for r in results])
    cause = np.concatenate([r["cause"] for r in results])
    st = Structure(model)
    names = st.names
    failed_by = np.sum([r["failed_by"] for r in results], axis=0)
    srt = _order_statistics(life, (0.01, 0.10), conf)
    rel = wilson(n - failed_by, n, conf)
    unrel = np.stack([1 - rel[0], 1 - rel[2], 1 - rel[1]])
    tm = sim.mission_time
    fail_mask = life <= tm
    n_fail = int(fail_mask.sum())
    share_counts = np.bincount(cause[fail_mask], minlength=len(names))
    share = wilson(share_counts, max(n_fail, 1), conf) if n_fail else np.full((3, len(names)), np.nan)
    b_count = np.sum([r["birnbaum_count"] for r in results if "birnbaum_count" in r], axis=0)
    b_n = int(np.sum([r["birnbaum_n"][0] for r in results if "birnbaum_n" in r]))
    birn = wilson(b_count, b_n, conf)
    comp_rel = []
    for c, clock in zip(model.components, st.clocks, strict=True):
        if c.life is None or isinstance(c.life, str):
            pool = pools[c.name]
            comp_rel.append(float(np.mean(pool > clock.exposure(tm))))
        else:
            comp_rel.append(float(c.life.sf(clock.exposure(tm))))
    finite = np.isfinite(life)
    mttf = mean_ci(life[finite], conf) if finite.all() else np.full(3, np.inf)
    ds = xr.Dataset(
        coords={
            "time": ("time", grid, {"units": "s", "long_name": "mission time"}),
            "bound": ("bound", BOUND),
            "component": ("component", names),
        }
    )
    ds["reliability"] = (("bound", "time"), rel, {"units": "1", "long_name": "system reliability R(t)"})
    ds["unreliability"] = (("bound", "time"), unrel, {"units": "1", "long_name": "system unreliability F(t)"})
    exact = _analytic(model, st, grid)
    if exact is not None:
        ds["reliability_analytic"] = ("time", exact, {"units": "1", "long_name": "analytic system reliability"})
    ds["mission_reliability"] = ("bound", wilson(n - n_fail, n, conf), {"units": "1", "long_name": "reliability at mission time"})
    ds["mttf"] = ("bound", mttf, {"units": "s", "long_name": "mean time to system failure"})
    ds["b1_life"] = ("bound", quantile_ci(srt, 0.01, conf), {"units": "s", "long_name": "B1 life (1 % failed)"})
    ds["b10_life"] = ("bound", quantile_ci(srt, 0.10, conf), {"units": "s", "long_name": "B10 life (10 % failed)"})
    ds["birnbaum_importance"] = (("bound", "component"), birn, {"units": "1", "long_name": "Birnbaum importance at mission time"})
    ds["failure_share"] = (("bound", "component"), share, {"units": "1", "long_name": "share of system failures caused (by mission time)"})
    ds["component_reliability"] = ("component", np.array(comp_rel), {"units": "1", "long_name": "component reliability at mission time"})
    ds.attrs.update(
        {"engine": "vectorised", "missions": n, "mission_time_s": tm, "confidence": conf, "report_unit": sim.report_unit}
    )
    return add_provenance(ds, scenario=model.name, scenario_hash=config_hash(model), seed=seed)
