"""Scale-out: 1 → 2 Dask workers, and the Dask path against a local process pool.

Three many-runs workloads, each run through :func:`workbench.executors.map_jobs`
by its own public API with the same seed on every executor:

* line replications — :func:`simulation.line.simulate` of ``scenarios/assembly_line.yaml``;
* life Monte Carlo — :func:`simulation.life.simulate_missions` of the 20-component RBD
  of ``benchmarks/life_mc.py``, cut into chunks of missions;
* FMU runs — :meth:`fmu_models.FmuModel.run_many` of 8-hour reactor batches with varied
  rate constants.

For each: (1) speed-up of a 2-worker over a 1-worker ``distributed.LocalCluster``
(:func:`workbench.executors.local_cluster`: TCP on 127.0.0.1, one thread per worker
process; target ≥ 1.7× on 2 cores) and
(2) the Dask path against a warm ``concurrent.futures.ProcessPoolExecutor`` with the
same 2 workers (speed-up < 1 is the Dask overhead). Quality: the results of every
executor must equal the serial ones (max abs difference recorded, expected 0).
The machine is shared, so the 1-minute load average is recorded beside each figure.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Benchmark, Timing

ROOT = Path(__file__).resolve().parent.parent


def _cluster(n_workers: int):
    """A cluster on 127.0.0.1 and a client of it that is never the default client.

    The client is handed to ``map_jobs`` as the executor, so it need not be the
    default: a default client sets Dask's global ``scheduler="dask.distributed"``,
    and two of them closed in creation order (1-worker, then 2-worker cluster)
    left that setting behind with no client to serve it, failing every later
    ``compute()`` in the process.
    """
    import distributed

    from workbench.executors import local_cluster

    cluster = local_cluster(n_workers, threads_per_worker=1, processes=True, memory_limit=0, silence_logs=40)
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(n_workers, timeout=60)
    return cluster, client


def _workloads(quick: bool):
    """name -> (function of executor returning an xarray.Dataset, work units, unit)."""
    from benchmarks.life_mc import _rbd_model
    from fmu_models import FmuModel, shipped
    from simulation.life import simulate_missions
    from simulation.line import load_scenario, simulate

    scenario = load_scenario(ROOT / "scenarios" / "assembly_line.yaml")
    reps = 4 if quick else 16

    def line(ex):
        return simulate(scenario, replications=reps, seed=11, trace=False, executor=ex)

    missions, chunk = (1_200_000, 300_000) if quick else (8_000_000, 1_000_000)
    rbd = _rbd_model(missions)

    def life(ex):
        return simulate_missions(rbd, missions=missions, chunk=chunk, seed=3, executor=ex)

    model = FmuModel(shipped("reactor", build=True))
    k1 = float(model.variables["k1_ref"].start)
    runs = 64 if quick else 400
    sets = [{"k1_ref": k} for k in np.linspace(0.7 * k1, 1.3 * k1, runs)]

    def fmu(ex):  # 1 s communication steps, one output every 10 min: compute-bound runs of ~10 ms
        return model.run_many(sets, stop_time="8 h", step_size=1, output_interval=600, outputs=["T"], executor=ex,
                              chunk_size=max(1, runs // 8))

    return {"line replications": (line, reps, "replication"), "life Monte Carlo": (life, missions, "mission"),
            "FMU runs": (fmu, runs, "run")}


def _noop(x: int) -> int:
    return x


def _preimport(_: object = None) -> int:
    """Import the simulation stacks in a worker so the first timed job does not pay for it."""
    import fmu_models  # noqa: F401
    import simulation.life  # noqa: F401
    import simulation.line  # noqa: F401

    return os.getpid()


def _task_latency(executor, n: int = 64) -> float:
    """Wall time per trivial job (s) once the executor is warm: the fixed cost of one job."""
    from workbench.executors import map_jobs

    map_jobs(_noop, range(8), executor=executor)
    t0 = time.perf_counter()
    map_jobs(_noop, range(n), executor=executor)
    return (time.perf_counter() - t0) / n


def _interleaved(run, executors: dict, serial, *, repeats: int, warmup: int) -> tuple[dict, float]:
    """Time ``run(ex)`` for every executor in turn, ``repeats`` rounds (rotating the order).

    Interleaving spreads the load of other processes on this shared machine over
    all executors alike; the harness's block-wise ``compare`` would charge a burst
    of outside load to whichever side happened to run then.
    """
    labels = list(executors)
    for _ in range(warmup):
        for label in labels:
            run(executors[label])
    samples: dict[str, list[float]] = {label: [] for label in labels}
    diff = 0.0
    for r in range(repeats):
        for label in labels[r % len(labels):] + labels[: r % len(labels)]:
            t0 = time.perf_counter()
            out = run(executors[label])
            samples[label].append(time.perf_counter() - t0)
            diff = max(diff, _max_diff(serial, out))
    return samples, diff


def _row(bench: Benchmark, what: str, samples: dict, cand: str, base: str, units: float, unit: str,
         target: float | None, diff: float, load: list[float]) -> dict:
    """Record one comparison in the harness's row format (median speed-up, and min speed-up beside it)."""
    c, b = Timing(cand, samples[cand]), Timing(base, samples[base])
    row = {
        "what": what, "candidate": c.as_dict(), "baseline": b.as_dict(),
        "speedup": b.median / c.median, "speedup_min": min(b.samples) / min(c.samples),
        "target_speedup": target, "meets_target": None if target is None else bool(b.median / c.median >= target),
        "throughput": {"unit": f"{unit}/s", "candidate": units / c.median, "baseline": units / b.median},
        "quality": {"max_abs_diff_vs_serial": diff}, "load_average_1min": load,
    }
    bench.comparisons.append(row)
    return row


def _max_diff(a, b) -> float:
    worst = 0.0
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        if x.dtype.kind in "fc":
            d = np.abs(x.astype(float) - y.astype(float))
            worst = max(worst, float(np.nanmax(d)) if d.size else 0.0)
            if not np.array_equal(np.isnan(x.astype(float)), np.isnan(y.astype(float))):
                return float("inf")
        elif not np.array_equal(x, y):
            return float("inf")
    return worst


def main(quick: bool = False) -> dict:
    """Run the scaling benchmark; ``quick`` finishes in < 30 s."""
    bench = Benchmark("scaling", "Dask 1 → 2 workers speed-up and Dask overhead vs a process pool (2 cores)")
    bench.record("cpu_count", os.cpu_count())
    repeats, warmup = (1, 0) if quick else (3, 1)  # quick: a smoke run; its single timings are noisy
    t_start = time.perf_counter()
    # quick: the 1-worker baseline is the serial run in this process (no second cluster to start)
    clusters = [_cluster(2)] if quick else [_cluster(1), _cluster(2)]
    two = clusters[-1][1]
    one = None if quick else clusters[0][1]
    one_label = "serial (1 core)" if quick else "dask 1 worker"
    pool = cf.ProcessPoolExecutor(2)
    summary: dict[str, dict] = {}
    try:
        bench.record("cluster_start_s", time.perf_counter() - t_start)
        for client in [c for _, c in clusters]:  # imports paid here, not in the first timed job
            client.run(_preimport)
        list(pool.map(_preimport, range(8)))
        bench.record("per_job_latency_ms dask 2 workers", round(1e3 * _task_latency(two), 2))
        bench.record("per_job_latency_ms process pool 2", round(1e3 * _task_latency(pool), 2))
        executors = {one_label: one, "dask 2 workers": two, "ProcessPoolExecutor(2)": pool}
        for name, (run, units, unit) in _workloads(quick).items():
            serial = run(None)
            load_before = os.getloadavg()[0]
            samples, diff = _interleaved(run, executors, serial, repeats=repeats, warmup=warmup)
            load_after = os.getloadavg()[0]
            load = [round(load_before, 2), round(load_after, 2)]
            scale = _row(bench, f"{name}: Dask 2 workers vs {one_label}", samples, "dask 2 workers", one_label,
                         units, unit, 1.7, diff, load)
            over = _row(bench, f"{name}: Dask 2 workers vs process pool 2", samples, "dask 2 workers",
                        "ProcessPoolExecutor(2)", units, unit, None, diff, load)
            overhead = over["candidate"]["min_s"] / over["baseline"]["min_s"] - 1.0
            bench.record(f"{name}: speedup 1->2 workers (median, min)",
                         [round(scale["speedup"], 3), round(scale["speedup_min"], 3)])
            bench.record(f"{name}: dask overhead vs pool (min) [fraction]", round(overhead, 3))
            bench.record(f"{name}: load average 1 min [before, after]", load)
            summary[name] = {"speedup": scale["speedup"], "speedup_min": scale["speedup_min"],
                             "overhead": overhead, "load": load}
    finally:
        pool.shutdown()
        for cluster, client in clusters:
            client.close()
            cluster.close()
    bench.record("total_s", time.perf_counter() - t_start)
    path = bench.write()
    return {"path": str(path), **summary}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
