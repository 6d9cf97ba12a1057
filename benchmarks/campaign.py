"""Campaign benchmark: trials to 1 % of the Ipopt optimum (TPE, CMA-ES vs random) and 2 vs 1 workers.

Problem: the reactor recipe campaign of ``tests/validation/test_optimisation_reactor.py`` without
the envelope (2 jacket stages searched, the first of 2 feed stages searched, impurity <= 5 %,
peak T <= 360 K). Reference: Pyomo.DAE + Ipopt optimum of the same problem.

Sample efficiency: each sampler (the campaign's own: multivariate TPE with constraints,
CMA-ES, random search) runs the campaign objective in an in-memory Optuna study until the
best *feasible* yield is within 1 % of the Ipopt optimum, or a budget is spent (random search
gets thousands of trials: reference trials take ~12 ms). Reported: median trials over seeds,
per-seed counts, ratios random/TPE and random/CMA-ES (a budget-capped median is reported as
a lower bound and flagged). Random search draws i.i.d. uniform recipes, so its trials to the
target are geometric: the hit probability p = seeds / all random trials gives the expected
median ceil(ln 2 / -ln(1 - p)), a check on the measured one.

Journal storage: the records of a campaign trial written with Optuna's ``JournalFileBackend``
(fsync per record) vs the campaign's backend (fsync when a trial finishes), same lock, same
trials (the campaign objective with the simulation replaced by fixed metrics).

Throughput, 2 worker processes vs 1 (journal storage), for cheap reactor trials (~12 ms,
storage and start-up dominate), reactor FMU trials with a 0.25 s communication step (~1.2 s,
the regime of real FMU campaigns) and line-simulation trials (~0.3 s):

* wall clock: ``Campaign.optimize`` call to the last trial's end, including a cold worker start
  (the forkserver is stopped before each 2-worker run, as for a fresh ``twin optimize``);
* steady state: trials done while every worker was running (from the latest first-trial start
  of a worker to the earliest last-trial end; a trial counts with the fraction of its run
  inside that window) per second; 1 worker: first start to last end;
* ``child_start_s``: from the call to the child's first trial.

The machine's 1-min load average at the start and end of each run is recorded with them: on a
machine shared with other jobs the ratios are noisy.
Line allocation MILP: HiGHS vs exhaustive enumeration of every affordable allocation (same
optimum; time). Surrogate: LHS quadratic surfaces → Ipopt → twin; gap of the twin's yield to
the Ipopt optimum and the surrogate's error there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import socket
import tempfile
import warnings
from pathlib import Path

import numpy as np

from benchmarks.harness import Benchmark

CAMPAIGN = """\
kind: campaign
name: bench-{tag}
model: {{type: reactor, backend: reference, batch_time: 4 h, jacket_stages: 2, feed_stages: 2,
        jacket_inlet: [340 K, 335 K], feed_rate: [1.0e-4, 0], output_interval: 120 s}}
parameters:
  - {{name: jacket_inlet_1, low: 325 K, high: 350 K, unit: K}}
  - {{name: jacket_inlet_2, low: 325 K, high: 350 K, unit: K}}
  - {{name: feed_rate_1, low: 1.0e-4, high: 1.5277777e-4, unit: m3/s}}
objectives: [{{metric: yield, direction: maximize}}]
constraints:
  - {{metric: impurity, max: 0.05}}
  - {{metric: peak_temperature, max: 360 K, unit: K}}
sampler: {{name: {sampler}, seed: {seed}}}
budget: {{trials: {trials}}}
pruning: {{enabled: false}}
"""


def _campaign(d: Path, tag: str, sampler: str, seed: int, trials: int):
    from optimization import load_campaign

    p = d / f"{tag}.yaml"
    p.write_text(CAMPAIGN.format(tag=tag, sampler=sampler, seed=seed, trials=trials))
    return load_campaign(p)


def _reaches(trial, target: float) -> bool:
    cons = trial.user_attrs.get("constraints") or []
    return trial.state.name == "COMPLETE" and all(c <= 0 for c in cons) and trial.values[0] >= target


def _trials_to_target(camp, target: float, budget: int) -> float:
    """Trials the campaign's sampler needs until a feasible yield >= target (inf: not in budget)."""
    import optuna

    from workbench.errors import WorkbenchError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=camp.directions, sampler=camp.sampler())

    def stop(study, trial):
        if _reaches(trial, target):
            study.stop()

    with warnings.catch_warnings():
        # CmaEsSampler warns on every trial that it ignores the constraints (it does)
        warnings.simplefilter("ignore")
        study.optimize(camp.objective, n_trials=budget, callbacks=[stop], catch=(WorkbenchError,),
                       gc_after_trial=False)
    n = len(study.trials)
    return float(n) if _reaches(study.trials[-1], target) else math.inf


def _sample_efficiency(bench: Benchmark, d: Path, target: float, quick: bool) -> None:
    seeds = [1] if quick else list(range(1, 10))
    budgets = {"tpe": 60, "cmaes": 120, "random": 400} if quick else {"tpe": 300, "cmaes": 600, "random": 4000}
    med = {}
    for sampler, budget in budgets.items():
        counts = [_trials_to_target(_campaign(d, f"{sampler}{s}", sampler, s, budget), target, budget)
                  for s in seeds]
        m = float(np.median(counts))
        med[sampler] = m
        bench.record(f"trials_to_1pct_{sampler}", m if math.isfinite(m) else None)
        bench.record(f"trials_to_1pct_{sampler}_per_seed", [c if math.isfinite(c) else None for c in counts])
        bench.record(f"trials_to_1pct_{sampler}_budget", budget)
        if not math.isfinite(m):
            bench.record(f"trials_to_1pct_{sampler}_lower_bound", budget)
        if sampler == "random":
            # i.i.d. uniform draws: trials to the first hit are geometric(p); MLE p = hits / trials
            hits = sum(math.isfinite(c) for c in counts)
            p = hits / sum(c if math.isfinite(c) else budget for c in counts)
            bench.record("random_hit_probability", p)
            if p > 0:
                bench.record("random_trials_to_1pct_geometric_median", math.ceil(math.log(2) / -math.log1p(-p)))
    for other in ("tpe", "cmaes"):
        key = f"trials_ratio_random_over_{other}"
        if not math.isfinite(med[other]):
            bench.record(key, None)
        elif math.isfinite(med["random"]):
            bench.record(key, med["random"] / med[other])
            bench.record(key + "_is_lower_bound", False)
        else:  # random search's median did not reach the target within its budget
            bench.record(key, budgets["random"] / med[other])
            bench.record(key + "_is_lower_bound", True)


LINE = """\
kind: line
name: bench-line
source: {interarrival: "exponential(mean=1 min)"}
stations:
  - {name: cut, process_time: "exponential(mean=1.5 min)",
     failures: [{basis: busy, ttf: "exponential(mean=4 h)", ttr: "exponential(mean=20 min)"}]}
  - {name: weld, process_time: "exponential(mean=2.6 min)",
     failures: [{basis: busy, ttf: "exponential(mean=3 h)", ttr: "exponential(mean=30 min)"}]}
  - {name: pack, process_time: "exponential(mean=0.9 min)"}
experiment: {horizon: 3 d, warmup: 12 h, replications: 2, seed: 7}
"""

LINE_CAMPAIGN = """\
kind: campaign
name: bench-line-{tag}
model: {{type: line, scenario: line.yaml}}
parameters:
  - {{name: stations.weld.servers, type: int, low: 3, high: 5}}
  - {{name: stations.cut.servers, type: int, low: 1, high: 3}}
objectives: [{{metric: lead_time, direction: minimize}}]
sampler: {{name: random, seed: 5}}
budget: {{trials: {trials}}}
noise: {{min_repeats: 2, max_repeats: 2}}
pruning: {{enabled: false}}
"""


class _FixedMetrics:
    """A problem that returns one evaluation's metrics: the campaign objective's storage work only."""

    stochastic = False

    def __init__(self, problem, metrics):
        self.problem, self.metrics = problem, metrics

    def evaluate(self, values, *, seed=0, chunks=1, on_chunk=None):
        return dict(self.metrics)

    def __getattr__(self, name):
        return getattr(self.problem, name)


def _journal_writes(bench: Benchmark, d: Path, quick: bool) -> None:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    from optimization import make_storage
    from optimization._storage import _flock_lock

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    camp = _campaign(d, "records", "random", 3, 1)
    camp._problem = _FixedMetrics(camp.problem, camp.problem.evaluate({}))
    n = 60 if quick else 200
    paths = (d / f"records-{k}.journal" for k in itertools.count())

    def stock(path: str):
        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=_flock_lock(path + ".flock")))

    def trials(storage_of) -> float:
        path = str(next(paths))
        study = optuna.create_study(storage=storage_of(path), directions=camp.directions,
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(camp.objective, n_trials=n, gc_after_trial=False)
        return Path(path).read_text().count("\n") / n

    bench.compare("journal storage: a campaign trial's records, fsync at trial end vs per record",
                  lambda: trials(make_storage), lambda: trials(stock),
                  candidate_label="campaign journal (fsync when a trial finishes)",
                  baseline_label="optuna JournalFileBackend (fsync per record)",
                  repeats=1 if quick else 3, warmup=0, work_units=n, unit="trial",
                  quality=lambda a, b: {"records_per_trial": a, "records_per_trial_baseline": b})


def _cold_forkserver() -> None:
    """Stop this process's multiprocessing forkserver, so the next workers start cold."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # CPython's own tests use it
    if stop is not None:
        stop()


def _throughput(camp, workers: int) -> dict:
    """Wall-clock and steady-state trials per second of ``camp.optimize(workers=...)``."""
    if workers > 1:
        _cold_forkserver()
    load = os.getloadavg()[0]
    t0 = dt.datetime.now()
    camp.optimize(workers=workers)
    ts = [t for t in camp.study().get_trials(deepcopy=False) if t.datetime_complete]
    end = max(t.datetime_complete for t in ts)
    by: dict[str, list] = {}
    for t in ts:
        by.setdefault(t.user_attrs.get("worker", ""), []).append(t)
    lo = max(min(t.datetime_start for t in v) for v in by.values())
    hi = min(max(t.datetime_complete for t in v) for v in by.values())
    span = (hi - lo).total_seconds()
    # trials done inside the window: each trial counts with the fraction of it that ran there
    inside = sum(max(0.0, (min(t.datetime_complete, hi) - max(t.datetime_start, lo)).total_seconds())
                 / max((t.datetime_complete - t.datetime_start).total_seconds(), 1e-9) for t in ts)
    me = f"{socket.gethostname()}:{os.getpid()}"
    child = [min(t.datetime_start for t in v) for k, v in by.items() if k != me]
    return {"trials": len(ts), "wall_s": (end - t0).total_seconds(),
            "per_s": len(ts) / (end - t0).total_seconds(),
            "steady_per_s": inside / span if len(by) == workers and span > 0 else None,
            "workers_with_trials": len(by), "trials_per_worker": sorted((len(v) for v in by.values()), reverse=True),
            "child_start_s": min(child).timestamp() - t0.timestamp() if child else None,
            "load_1min_start": load, "load_1min_end": os.getloadavg()[0]}


def _throughput_case(bench: Benchmark, name: str, make, note: str) -> None:
    rows = {w: _throughput(make(w), w) for w in (1, 2)}
    for w, row in rows.items():
        for key, value in row.items():
            bench.record(f"{name}_{key}_{w}_workers", value)
    bench.record(f"{name}_trial", note)
    bench.record(f"{name}_throughput_ratio_2_over_1", rows[2]["per_s"] / rows[1]["per_s"])
    s1, s2 = rows[1]["steady_per_s"], rows[2]["steady_per_s"]
    bench.record(f"{name}_steady_throughput_ratio_2_over_1", s2 / s1 if s1 and s2 else None)


def _line_stations(n: int = 6):
    from optimization import StationCapacity

    rng = np.random.default_rng(11)
    return [StationCapacity(f"s{i}", float(rng.uniform(60, 300)), float(rng.uniform(0.8, 0.98)), 1)
            for i in range(n)]


def _enumerate(stations, cost, budget, rho_max, n_max):
    import itertools

    te = np.array([s.effective_time / 3600.0 for s in stations])
    c = np.array([cost[s.name] for s in stations])
    best = (-1.0, None)
    for ns in itertools.product(range(1, n_max + 1), repeat=len(stations)):
        n = np.asarray(ns)
        if c @ n <= budget + 1e-9:
            rate = float(np.min(rho_max * n / te))
            if rate > best[0]:
                best = (rate, ns)
    return best


def _line_milp(bench: Benchmark, quick: bool) -> None:
    from optimization import create_line_allocation_model, solve_line_allocation

    stations = _line_stations(6 if quick else 8)
    cost = {s.name: float(1 + i % 3) for i, s in enumerate(stations)}
    budget, n_max = 2.5 * sum(cost.values()), 6

    def milp():
        return solve_line_allocation(create_line_allocation_model(stations, budget=budget, cost=cost,
                                                                  rho_max=0.85, max_servers=n_max)).rate

    bench.compare("line allocation: MILP (HiGHS) vs enumeration", milp,
                  lambda: _enumerate(stations, cost, budget, 0.85, n_max)[0],
                  candidate_label="pyomo+highs", baseline_label="itertools enumeration",
                  repeats=1 if quick else 3, warmup=0,
                  quality=lambda a, b: {"rate_rel_diff": abs(a - b) / b})


def _surrogate(bench: Benchmark, d: Path, ref_yield: float, quick: bool) -> None:
    from optimization import surrogate_optimum

    camp = _campaign(d, "surrogate", "tpe", 0, 1)
    s = surrogate_optimum(camp, samples=20 if quick else 30, seed=0)
    bench.record("surrogate_samples", s.samples)
    bench.record("surrogate_twin_yield_gap_to_ipopt", (ref_yield - s.verified["yield"]) / ref_yield)
    bench.record("surrogate_yield_error_at_optimum", s.error["yield"])
    bench.record("surrogate_yield_loo_rmse", s.fit["yield"]["loo_rmse"])
    bench.record("surrogate_feasible_on_twin", s.feasible_on_twin)


FMU_CAMPAIGN_MODEL = ("model: {type: reactor, backend: fmu, batch_time: 4 h, jacket_stages: 2, feed_stages: 2,\n"
                      "        jacket_inlet: [340 K, 335 K], feed_rate: [1.0e-4, 0], output_interval: 0.25 s}")


def _fmu_campaign(d: Path, tag: str, trials: int):
    from optimization import load_campaign

    text = CAMPAIGN.format(tag=tag, sampler="random", seed=7, trials=trials)
    start = text.index("model:")
    text = text[:start] + FMU_CAMPAIGN_MODEL + text[text.index("\nparameters:"):]
    p = d / f"{tag}.yaml"
    p.write_text(text)
    return load_campaign(p)


def _throughputs(bench: Benchmark, d: Path) -> None:
    from optimization import load_campaign
    from optimization._reactor import resolve_backend
    from workbench.errors import ConfigError

    bench.record("load_1min_before_throughput", os.getloadavg()[0])
    # reactor trials on the reference equations (~12 ms): journal writes and worker start-up dominate
    _throughput_case(bench, "reactor_cheap", lambda w: _campaign(d, f"thr{w}", "random", 7, 1000),
                     "reactor, SciPy reference equations, 120 s output grid (~12 ms)")
    # reactor FMU co-simulation with a 0.25 s communication step (~1.2 s a trial)
    try:
        resolve_backend("fmu")
    except ConfigError as exc:
        bench.record("reactor_fmu_skipped", str(exc))
    else:
        _throughput_case(bench, "reactor_fmu", lambda w: _fmu_campaign(d, f"fmu{w}", 40),
                         "reactor FMU (co-simulation), 0.25 s communication step, 4 h batch (~1.2 s)")
    # line trials (two 3-day replications, ~0.3 s)
    (d / "line.yaml").write_text(LINE)

    def line(w):
        p = d / f"line{w}.yaml"
        p.write_text(LINE_CAMPAIGN.format(tag=w, trials=48))
        return load_campaign(p)

    _throughput_case(bench, "line", line, "line simulation, 2 replications of 3 days (~0.3 s)")
    bench.record("load_1min_after_throughput", os.getloadavg()[0])


def main(quick: bool = False) -> dict:
    from optimization import campaign_optimum

    bench = Benchmark("campaign", "reactor campaign: trials to 1 % of the Ipopt optimum; 2 vs 1 workers")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ref = campaign_optimum(_campaign(d, "ref", "tpe", 0, 1), nfe=12)
        target = 0.99 * ref.predicted["yield"]
        bench.record("ipopt_yield", ref.predicted["yield"])
        _surrogate(bench, d, ref.predicted["yield"], quick)
        _line_milp(bench, quick)
        _sample_efficiency(bench, d, target, quick)
        _journal_writes(bench, d, quick)
        if not quick:
            _throughputs(bench, d)
    bench.write()
    return bench.metrics


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
