"""Vectorised Monte Carlo of non-repairable systems (NumPy, block by block within each chunk).

Every mission draws one exposure life per component, maps it to calendar time
through the component's :class:`~simulation.life._stress.ExposureClock`, and
evaluates the structure (min / max / order statistic / standby) column-wise.
Chunks of missions are independent jobs with seeds from
:func:`workbench.executors.spawn_seeds`, so the numbers do not depend on the
executor.

Inside a job the missions are processed in blocks of :data:`BLOCK` (sample,
map clocks, evaluate the structure, count, next block) so that the working set
stays in the core's cache instead of streaming ``missions × components`` arrays
through DRAM; the job's one generator is consumed in block order, so results
depend only on the seed, the chunk size and :data:`BLOCK`. A job returns
reductions, not lives: failures per grid time, causes of failures by mission
time, count / mean / sum of squared deviations of the lives (pooled as in
Chan, Golub & LeVeque 1983) and, for the B-lives, a window of its sorted lives
around each needed rank (:mod:`simulation.life._orderstats`, exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from simulation.life import _orderstats
from simulation.life._config import LifeModel
from simulation.life._rbd import Structure
from simulation.life._stats import BOUND, combine_moments, mean_ci_from_moments, quantile_ci, wilson
from workbench.dataset import add_provenance, config_hash
from workbench.errors import SimulationError
from workbench.executors import JobFailure, map_jobs, spawn_seeds

__all__ = ["simulate_missions", "sample_exposure_lives", "EXTRA_DIMS", "BLOCK"]

EXTRA_DIMS = ("bound", "component", "kpi", "trial")

#: missions per block inside a job: 8192 × 20 components × 8 B = 1.3 MB of lives, within a 2 MiB L2
BLOCK = 8192

#: the B-lives (fractions failed) reported by :func:`simulate_missions`
B_LIVES = (0.01, 0.10)


def sample_exposure_lives(
    model: LifeModel,
    rng: np.random.Generator,
    n: int,
    pools: dict[str, np.ndarray] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, components)`` lives on each component's exposure clock (s at reference stress).

    Components with a degradation model draw from their pool of first-passage
    times (``pools[name]``, see :func:`simulation.life.degradation_lives`).
    ``out`` (optional, ``(n, components)`` float64) receives the lives and is returned.
    """
    if out is None:
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
    windows: tuple[tuple[float, float], ...] = ()  # rank fractions per B-life, see _orderstats
    sigmas: float = _orderstats.WINDOW_SIGMAS
    keep_lives: bool = False  # return every life (the exact fallback for the B-lives)
    block: int = BLOCK


def _order_statistics(x: np.ndarray, ps: tuple[float, ...], confidence: float) -> np.ndarray:
    """``x`` partitioned so that every rank :func:`quantile_ci` reads for ``ps`` is in place."""
    n = len(x)
    ranks = {r for p in ps for r in _orderstats.needed_ranks(n, p, confidence)} if n else set()
    return np.partition(x, sorted(ranks)) if n else x


def _birnbaum_counts(st: Structure, T: np.ndarray, L: np.ndarray, U: np.ndarray | None, tm: float) -> np.ndarray:
    """Per component: missions up at ``tm`` with the component forced up but down with it forced down."""
    m = T.shape[1]
    diff = np.zeros(m)
    Ts, Ls = T.copy(), L.copy()  # copies: T may be L itself
    for i in range(m):
        keep_t, keep_l = Ts[:, i].copy(), Ls[:, i].copy()
        Ts[:, i], Ls[:, i] = np.inf, np.inf
        up = st.system_life(Ts, Ls, U)[0] > tm
        Ts[:, i], Ls[:, i] = 0.0, 0.0
        down = st.system_life(Ts, Ls, U)[0] > tm
        Ts[:, i], Ls[:, i] = keep_t, keep_l
        diff[i] = np.count_nonzero(up & ~down)
    return diff


def _run_chunk(job: _Chunk) -> dict:
    model, n = job.model, job.n
    st = Structure(model)
    rng = np.random.default_rng(job.seed)
    # switch-over draws come from their own stream, so the lives do not depend on the number of switches
    rng_switch = np.random.default_rng(np.random.SeedSequence(job.seed).spawn(1)[0]) if st.n_switches else None
    m = len(model.components)
    tm = model.simulation.mission_time
    identity = [clock.constant and clock.rate == 1.0 for clock in st.clocks]
    nb_max = max(min(job.block, n), 1)
    L_buf = np.empty((nb_max, m), order="F")  # reused by every block: no page faults per block
    T_buf = L_buf if all(identity) else np.empty((nb_max, m), order="F")
    life = np.empty(n)
    first_counts = np.zeros(len(job.grid) + 1, dtype=np.int64)
    cause_counts = np.zeros(m, dtype=np.int64)
    birnbaum = np.zeros(m)
    k_left = job.n_importance
    for start in range(0, n, job.block):
        nb = min(job.block, n - start)
        L = sample_exposure_lives(model, rng, nb, job.pools, out=L_buf[:nb])
        T = T_buf[:nb]
        if T is not L:
            for i, clock in enumerate(st.clocks):
                T[:, i] = L[:, i] if identity[i] else clock.time_at(L[:, i])
        U = rng_switch.random((nb, st.n_switches)) if st.n_switches else None
        lb, cb = st.system_life(T, L, U)
        life[start:start + nb] = lb
        # failures by each grid time: first grid index j with grid[j] >= life (then life <= grid[j'] for j' >= j)
        first_counts += np.bincount(np.searchsorted(job.grid, lb, side="left"), minlength=len(job.grid) + 1)
        cause_counts += np.bincount(cb[lb <= tm], minlength=m)
        k = min(k_left, nb)
        if k:
            birnbaum += _birnbaum_counts(st, T[:k], L[:k], None if U is None else U[:k], tm)
            k_left -= k
    finite = np.isfinite(life)
    n_nonfinite = n - int(np.count_nonzero(finite))
    mean = m2 = math.nan
    if n and not n_nonfinite:
        mean = float(life.mean())
        dev = life - mean
        m2 = float(np.square(dev, out=dev).sum())
    out = {
        "n": n,
        "failed_by": np.cumsum(first_counts)[: len(job.grid)],
        "cause_counts": cause_counts,
        "moments": (n, mean, m2),
        "n_nonfinite": n_nonfinite,
        "n_nan": int(np.count_nonzero(np.isnan(life))) if n_nonfinite else 0,
    }
    if job.keep_lives:
        out["life"] = life
    elif job.windows:
        out["windows"] = _orderstats.take_windows(life, job.windows, job.sigmas)
    if job.n_importance:
        out["birnbaum_count"] = birnbaum
        out["birnbaum_n"] = np.array([job.n_importance])
    return out


def _map(jobs: list[_Chunk], executor, progress) -> list[dict]:
    results = map_jobs(_run_chunk, jobs, executor=executor, progress=progress)
    failures = [r for r in results if isinstance(r, JobFailure)]
    if failures:
        raise SimulationError(f"life simulation chunk {failures[0].index} failed: {failures[0].error}")
    return results


def _jobs(model: LifeModel, n: int, seed: int, chunk: int, pools, windows) -> list[_Chunk]:
    """Chunks of ``chunk`` missions (the last one shorter), each with its own spawned seed."""
    sim = model.simulation
    grid = np.linspace(0.0, sim.mission_time, sim.time_points)
    sizes = [chunk] * (n // chunk) + ([n % chunk] if n % chunk else [])
    n_imp = min(sim.importance_missions, n)
    imp = [math.ceil(n_imp * s / n) for s in sizes]
    seeds = spawn_seeds(seed, len(sizes))
    return [_Chunk(model, s, sd, k, grid, pools, windows=windows, sigmas=_orderstats.WINDOW_SIGMAS)
            for s, sd, k in zip(sizes, seeds, imp, strict=True)]


def _b_lives_from_windows(results: list[dict], n: int, conf: float) -> list[np.ndarray] | None:
    """B-lives with their intervals from the jobs' windows, or None if a window missed a needed rank."""
    if any(r["n_nan"] for r in results) or not all("windows" in r for r in results):
        return None  # NaN lives: np.quantile semantics (NaN) from the full sample
    sizes = [r["n"] for r in results]
    out = []
    for i, p in enumerate(B_LIVES):
        ranks = _orderstats.needed_ranks(n, p, conf)
        vals = _orderstats.rank_values([r["windows"][i] for r in results], sizes, ranks)
        if vals is None:
            return None
        out.append(_orderstats.quantile_ci_at(n, p, conf, vals.__getitem__))
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
        Missions per job. The numbers depend on the seed and ``chunk`` (each job
        has its own spawned seed), never on the executor.
    pools
        Degradation first-passage lives per component (computed when None).

    Returns
    -------
    xarray.Dataset
        ``reliability``/``unreliability`` (bound, time) with Wilson intervals,
        ``reliability_analytic`` (time) when exact, ``mttf``, ``b1_life``, ``b10_life``,
        ``mission_reliability`` (bound), ``birnbaum_importance`` and ``failure_share``
        (bound, component), ``component_reliability`` (component).

    Notes
    -----
    Jobs return counts and moments, not lives. The B-lives and their intervals
    are nevertheless exactly :func:`~simulation.life._stats.quantile_ci` of the
    whole sample: each job sends a window of its sorted lives around every
    needed rank, and a window that misses one is detected and answered by
    gathering every life (attribute ``order_statistics`` says which path ran).
    The MTTF pools per-job means and sums of squared deviations (Chan, Golub &
    LeVeque 1983), equal to the whole-sample mean and standard deviation up to
    floating-point summation order.
    """
    sim = model.simulation
    n = int(missions or sim.missions)
    seed = sim.seed if seed is None else seed
    conf = sim.confidence
    if pools is None:
        from simulation.life._degradation import degradation_pools

        pools = degradation_pools(model, seed=seed)
    windows = _orderstats.window_fractions(n, B_LIVES, conf)
    jobs = _jobs(model, n, seed, chunk, pools, windows)
    results = _map(jobs, executor, progress)
    b_lives = _b_lives_from_windows(results, n, conf)
    order_source = "per-chunk windows"
    if b_lives is None:  # a window missed a needed rank (or NaN lives): gather every life, exactly as before
        order_source = "full sample"
        full = _map([replace(j, windows=(), keep_lives=True) for j in jobs], executor, progress)
        srt = _order_statistics(np.concatenate([r["life"] for r in full]), B_LIVES, conf)
        b_lives = [quantile_ci(srt, p, conf) for p in B_LIVES]
    st = Structure(model)
    names = st.names
    failed_by = np.sum([r["failed_by"] for r in results], axis=0)
    grid = jobs[0].grid
    rel = wilson(n - failed_by, n, conf)
    unrel = np.stack([1 - rel[0], 1 - rel[2], 1 - rel[1]])
    tm = sim.mission_time
    share_counts = np.sum([r["cause_counts"] for r in results], axis=0)
    n_fail = int(share_counts.sum())
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
    if any(r["n_nonfinite"] for r in results):
        mttf = np.full(3, np.inf)
    else:  # pooled in chunk order (Chan et al. 1983): the same bits on every executor
        moments = (0, 0.0, 0.0)
        for r in results:
            moments = combine_moments(moments, r["moments"])
        mttf = mean_ci_from_moments(*moments, conf)
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
    ds["b1_life"] = ("bound", b_lives[0], {"units": "s", "long_name": "B1 life (1 % failed)"})
    ds["b10_life"] = ("bound", b_lives[1], {"units": "s", "long_name": "B10 life (10 % failed)"})
    ds["birnbaum_importance"] = (("bound", "component"), birn, {"units": "1", "long_name": "Birnbaum importance at mission time"})
    ds["failure_share"] = (("bound", "component"), share, {"units": "1", "long_name": "share of system failures caused (by mission time)"})
    ds["component_reliability"] = ("component", np.array(comp_rel), {"units": "1", "long_name": "component reliability at mission time"})
    ds.attrs.update(
        {"engine": "vectorised", "missions": n, "mission_time_s": tm, "confidence": conf, "report_unit": sim.report_unit,
         "order_statistics": order_source}
    )
    return add_provenance(ds, kind="life-missions", scenario=model.name, scenario_hash=config_hash(model), seed=seed)
