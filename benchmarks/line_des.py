"""Line DES speed: the project's model vs a bare SimPy model of the same line; 2 processes vs 1.

The line: 10 stations in series, saturated source, finite buffers (capacity 5), lognormal
processing times (mean 1 min, cv 0.25, the fifth station slightly slower), and
operation-dependent exponential failures on every station (MTBF 8 h of busy time, MTTR
exponential 20 min, no crew limit). Blocking after service. One simulated year.

Baseline: the same line written minimally in plain SimPy below (one generator per machine,
NumPy-drawn times, no statistics except the part count). Speed is compared as events per
second (SimPy's event counter of each model); quality is the relative throughput difference
between the two models (same model, different random streams: a few % is noise).
"""

from __future__ import annotations

import time

import numpy as np
import simpy

from benchmarks.harness import Benchmark
from simulation.line import LineScenario, run_replication, simulate

N_STATIONS = 10
BUFFER = 5
MEAN_S = 60.0
CV = 0.25
MTBF_S = 8 * 3600.0
MTTR_S = 20 * 60.0


def scenario(horizon_days: float, replications: int = 2) -> LineScenario:
    stations = []
    for i in range(N_STATIONS):
        mean = MEAN_S * (1.1 if i == 4 else 1.0)
        stations.append({
            "name": f"s{i}", "buffer": BUFFER,
            "process_time": f"lognormal(mean={mean} s, cv={CV})",
            "failures": [{"ttf": f"exponential(mean={MTBF_S} s)", "ttr": f"exponential(mean={MTTR_S} s)"}],
        })
    return LineScenario.model_validate({
        "name": "bench_line", "source": {"saturated": True}, "stations": stations,
        "experiment": {"horizon": horizon_days * 86400.0, "replications": replications, "seed": 1},
    })


def bare_simpy(horizon_s: float, seed: int = 1) -> tuple[int, float]:
    """The same line in plain SimPy; returns (events, parts out)."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    stores = [simpy.Store(env, capacity=BUFFER) for _ in range(N_STATIONS)]
    done = [0]
    s2 = np.log1p(CV**2)

    def times(mean, n=4096):
        return iter(rng.lognormal(np.log(mean) - s2 / 2, np.sqrt(s2), n).tolist())

    def feeder():
        while True:
            yield stores[0].put(object())

    def machine(i):
        mean = MEAN_S * (1.1 if i == 4 else 1.0)
        pt = times(mean)
        ttf = rng.exponential(MTBF_S)
        while True:
            part = yield stores[i].get()
            try:
                work = next(pt)
            except StopIteration:
                pt = times(mean)
                work = next(pt)
            while work > 0:
                seg = min(work, ttf)
                yield env.timeout(seg)
                work -= seg
                ttf -= seg
                if ttf <= 0:
                    yield env.timeout(rng.exponential(MTTR_S))
                    ttf = rng.exponential(MTBF_S)
            if i + 1 < N_STATIONS:
                yield stores[i + 1].put(part)
            else:
                done[0] += 1

    env.process(feeder())
    for i in range(N_STATIONS):
        env.process(machine(i))
    env.run(until=horizon_s)
    return next(env._eid), done[0]  # noqa: SLF001


def main(quick: bool = False) -> dict:
    """Run the benchmark and write ``benchmarks/results/line_des.json``."""
    days = 30.0 if quick else 365.0
    horizon = days * 86400.0
    bench = Benchmark("line_des", f"{days:g} simulated days of a 10-station line with failures")
    sc = scenario(days)
    out: dict = {}

    def project():
        r = run_replication(sc, 12345)
        out["project"] = r
        return r

    def baseline():
        ev, parts = bare_simpy(horizon)
        out["bare"] = (ev, parts)
        return ev, parts

    repeats = 1 if quick else 2
    row = bench.compare(
        "one replication (wall time)", project, baseline, candidate_label="simulation.line",
        baseline_label="bare SimPy", repeats=repeats, warmup=0,
        quality=lambda c, b: {"throughput_rel_diff": abs(c.line["throughput"] * days * 24 - b[1]) / b[1]},
    )
    p_events, b_events = out["project"].events, out["bare"][0]
    p_rate = p_events / row["candidate"]["median_s"]
    b_rate = b_events / row["baseline"]["median_s"]
    bench.record("project_events", p_events)
    bench.record("bare_events", b_events)
    bench.record("project_events_per_s", p_rate)
    bench.record("bare_events_per_s", b_rate)
    # overhead per event: how much slower each event of the project's model is
    overhead = b_rate / p_rate
    bench.record("overhead_per_event_x", overhead)
    bench.record("overhead_wall_time_x", row["candidate"]["median_s"] / row["baseline"]["median_s"])
    bench.record("target_overhead_x", 2.0)
    bench.record("meets_overhead_target", bool(overhead <= 2.0))

    # replications/s: 2 processes vs 1 (same seeds, same numbers)
    reps = 4 if quick else 8
    small = scenario(days / 4 if not quick else 7.0, replications=reps)
    t0 = time.perf_counter()
    one = simulate(small, executor=None, trace=False)
    t1 = time.perf_counter()
    two = simulate(small, executor="processes:2", trace=False)
    t2 = time.perf_counter()
    same = bool(np.array_equal(one["value"].values, two["value"].values, equal_nan=True))
    bench.record("replications", reps)
    bench.record("replications_per_s_1_process", reps / (t1 - t0))
    bench.record("replications_per_s_2_processes", reps / (t2 - t1))
    bench.record("parallel_speedup_x", (t1 - t0) / (t2 - t1))
    bench.record("serial_equals_parallel", same)
    path = bench.write()
    return {"path": str(path), "comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
