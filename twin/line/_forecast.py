"""End-of-shift forecast: replicate the line model forward from the live state.

Replication ``i`` uses seed ``spawn_seeds(seed, n)[i]`` for the SimPy run *and* for
the draw of the unknown residual times of the snapshot (:func:`sample_snapshot`), so
successive forecasts share their random numbers (common random numbers: forecast
changes come from the line, not from sampling noise) and the numbers are the same on
any executor.

The forecast interval of shipped units is the distribution-free prediction interval
of order statistics: with ``n`` exchangeable replications and ``k = ⌊(n+1)(1−L)/2⌋``,
a new outcome falls in ``[x₍ₖ₎, x₍ₙ₊₁₋ₖ₎]`` with probability ``(n+1−2k)/(n+1)``
(Wilks 1941, *Ann. Math. Stat.* 12(1):91–96); ``n = 39``, ``L = 0.9`` gives exactly
90 %. The expected bottleneck is the station with the largest active fraction (busy,
down, set-up or in maintenance: not starved, not blocked) in each replication, after
the active-period method of Roser, Nakano & Tanaka (2001, *Proc. Winter Simulation
Conf.*, 949–953); its probability is the share of replications it leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.line import LineScenario, run_replication
from twin.line._state import sample_snapshot
from workbench.errors import SimulationError
from workbench.executors import JobFailure, map_jobs, spawn_seeds

__all__ = ["ShiftForecast", "forecast_shift", "prediction_interval"]


@dataclass
class ShiftForecast:
    """One end-of-shift forecast.

    Attributes
    ----------
    time, shift_end
        Plant clock of the forecast and of the end of the shift (s).
    shipped_so_far
        Good parts shipped in this shift before ``time``.
    totals
        Forecast good parts shipped in the whole shift, per replication.
    low, median, high
        Prediction interval (level ``level``) and median of ``totals``.
    oee
        Station → mean forecast OEE over the rest of the shift.
    bottleneck
        Station → share of replications in which it is the bottleneck.
    """

    time: float
    shift_end: float
    shipped_so_far: float
    totals: np.ndarray
    level: float
    low: float
    median: float
    high: float
    oee: dict[str, float]
    bottleneck: dict[str, float]
    seeds: list[int] = field(default_factory=list)
    wall_time: float = 0.0
    actual: float = math.nan

    @property
    def expected_bottleneck(self) -> str:
        """Station most often the bottleneck."""
        return max(self.bottleneck, key=self.bottleneck.__getitem__)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"time_s": self.time, "shift_end_s": self.shift_end, "shipped_so_far": self.shipped_so_far,
                "level": self.level, "low": self.low, "median": self.median, "high": self.high,
                "mean": float(np.mean(self.totals)), "bottleneck": self.expected_bottleneck,
                "bottleneck_share": self.bottleneck, "oee": self.oee, "actual": self.actual,
                "replications": len(self.totals), "wall_time_s": self.wall_time}


def prediction_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Order-statistic prediction interval ``[x₍ₖ₎, x₍ₙ₊₁₋ₖ₎]`` (Wilks 1941) and its coverage.

    Returns ``(low, high, coverage)``; ``coverage = (n+1−2k)/(n+1)`` for continuous
    exchangeable outcomes (ties of integer counts only make it more conservative).
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    k = max(int(math.floor((n + 1) * (1.0 - level) / 2.0 + 1e-9)), 1)
    return float(x[k - 1]), float(x[n - k]), (n + 1 - 2 * k) / (n + 1)


@dataclass(frozen=True)
class _Job:
    scenario: LineScenario
    template: dict
    seed: int
    base_dir: str | None


def _run(job: _Job) -> dict[str, Any]:
    rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0x5EED])
    snap = sample_snapshot(job.template, job.scenario, rng)
    r = run_replication(job.scenario, job.seed, snapshot=snap, base_dir=job.base_dir)
    active = {n: 1.0 - f["starved"] - f["blocked"] - f["off_shift"] for n, f in r.state_fraction.items()}
    return {"good": r.line["good_parts"], "oee": {n: s["oee"] for n, s in r.stations.items()}, "active": active}


def forecast_shift(
    scenario: LineScenario,
    template: dict[str, Any],
    *,
    shift_end: float,
    shipped_so_far: float = 0.0,
    replications: int = 39,
    level: float = 0.9,
    seed: int = 2024,
    executor: Any = None,
    base_dir: str | None = None,
) -> ShiftForecast:
    """Forecast the good parts shipped by the end of the shift from a live state.

    Parameters
    ----------
    scenario
        The line model.
    template
        The live state (:meth:`twin.line.LineState.template`; ``template["time"]`` is now).
    shift_end
        Plant clock at the end of the shift (s).
    shipped_so_far
        Good parts shipped in this shift so far.
    replications, level, seed
        Replications, prediction-interval level, seed (common random numbers).
    executor
        Anything :func:`workbench.executors.map_jobs` takes.
    base_dir
        Folder for relative FMU paths of the scenario.

    Raises
    ------
    SimulationError
        If the shift is already over or a replication fails.
    """
    import time as _time

    now = float(template["time"])
    horizon = shift_end - now
    if not horizon > 0:
        raise SimulationError(f"forecast at t={now:g} s: the shift already ended at {shift_end:g} s")
    exp = scenario.experiment.model_copy(update={"horizon": horizon, "warmup": 0.0, "count": None,
                                                 "samples": 2, "target_half_width": None})
    sc = scenario.model_copy(update={"experiment": exp})
    seeds = spawn_seeds(seed, replications)
    t0 = _time.perf_counter()
    jobs = [_Job(sc, template, int(s), base_dir) for s in seeds]
    out = map_jobs(_run, jobs, executor=executor, progress=False)
    for r in out:
        if isinstance(r, JobFailure):
            raise SimulationError(f"forecast replication {r.index} of line '{scenario.name}' failed: {r.error}")
    totals = shipped_so_far + np.array([r["good"] for r in out], dtype=float)
    low, high, _ = prediction_interval(totals, level)
    names = [s.name for s in scenario.stations]
    lead = [max(names, key=r["active"].__getitem__) for r in out]
    return ShiftForecast(
        time=now, shift_end=shift_end, shipped_so_far=shipped_so_far, totals=totals, level=level,
        low=low, median=float(np.median(totals)), high=high,
        oee={n: float(np.nanmean([r["oee"][n] for r in out])) for n in names},
        bottleneck={n: lead.count(n) / len(lead) for n in names},
        seeds=[int(s) for s in seeds], wall_time=_time.perf_counter() - t0,
    )
