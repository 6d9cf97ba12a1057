"""Line-twin forecast speed: 30-replication end-of-shift forecast from a live snapshot.

Candidate: :func:`twin.line.forecast_shift` from the state the twin rebuilt from the
published tags of an emulated 10-station line at mid-shift (4 h left of an 8 h
shift), 30 replications on a warm 2-process pool (as a running twin keeps one). Baseline: the forecast a planner gets
without a twin — re-simulating the rest of the shift from an empty line with a 2 h
warm-up (:func:`simulation.line.simulate`, same replications and pool), plus the
parts already shipped. Target (issue 12): candidate under 10 s on 2 cores.
Quality: the error of each forecast's mean against what the emulated line actually
shipped, averaged over a few emulated lines (seeds), and the 90 % interval widths.
"""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Benchmark


def ten_station_line():
    """A 10-station serial line built from the twin model's stations."""
    from simulation.line import LineScenario

    stations = []
    for i in range(10):
        st = {"name": f"s{i + 1}", "buffer": 5, "process_time": f"lognormal(mean={50 + 2 * (i % 4)} s, cv=0.2)"}
        if i == 5:
            st["process_time"] = "lognormal(mean=58 s, cv=0.15)"
            st["failures"] = [{"name": "jam", "basis": "busy", "ttf": "exponential(mean=2 h)",
                               "ttr": "lognormal(mean=8 min, cv=0.5)"}]
        if i == 8:
            st["quality"] = {"scrap": 0.02}
        stations.append(st)
    return LineScenario.model_validate({
        "kind": "line", "name": "ten_station_line", "source": {"saturated": True}, "stations": stations,
        "experiment": {"horizon": "8 h", "replications": 30, "seed": 1},
    })


def main(quick: bool = False) -> dict:
    from simulation.line import simulate
    from twin.line import LineBinding, LinePlant, LineState, forecast_shift

    sc = ten_station_line()
    shift = 2 * 3600.0 if quick else 8 * 3600.0
    now = shift / 2
    warmup = 1800.0 if quick else 7200.0
    reps = 30
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(2)  # one warm pool for both sides: a twin keeps its pool between forecasts
    executor = pool
    b = LineBinding(name="bench", scenario="-", stations=[s.name for s in sc.stations])
    seeds = [1] if quick else [1, 2, 3, 4]

    def live_state(seed):
        p = LinePlant(sc, seed=seed, duration=shift)
        st = LineState(b, sc)
        for _, v in p.frames(until=now):
            st.update(v["line.clock"], v)
        template, so_far = st.template(), st.shipped
        for _ in p.frames():
            pass
        return template, so_far, p.values["line.shipped"]

    states = [live_state(s) for s in seeds]
    template, so_far, _ = states[0]

    def candidate():
        return forecast_shift(sc, template, shift_end=shift, shipped_so_far=so_far, replications=reps,
                              executor=executor, seed=7)

    base_sc = sc.model_copy(update={"experiment": sc.experiment.model_copy(
        update={"horizon": warmup + (shift - now), "warmup": warmup})})

    def baseline():
        ds = simulate(base_sc, replications=reps, seed=7, executor=executor, trace=False)
        return so_far + ds["value"].sel(kpi="good_parts").values

    bench = Benchmark("line_twin", "30-replication end-of-shift forecast of a 10-station line from a live "
                      "snapshot vs re-simulating from an empty line with warm-up")
    row = bench.compare("forecast 30 replications (2 processes)", candidate, baseline,
                        candidate_label="snapshot forecast", baseline_label="empty line + warm-up",
                        repeats=1 if quick else 3, warmup=1, work_units=reps, unit="replication")
    bench.record("candidate_under_10s", bool(row["candidate"]["median_s"] < 10.0))
    # quality over several emulated lines: error of the forecast mean against the actual output
    errs_c, errs_b, widths_c, widths_b = [], [], [], []
    for tpl, done, actual in states:
        fc = forecast_shift(sc, tpl, shift_end=shift, shipped_so_far=done, replications=reps,
                            executor=executor, seed=7)
        base = done + simulate(base_sc, replications=reps, seed=7, executor=executor,
                               trace=False)["value"].sel(kpi="good_parts").values
        errs_c.append(float(fc.totals.mean() - actual))
        errs_b.append(float(base.mean() - actual))
        widths_c.append(fc.high - fc.low)
        q = np.sort(base)
        widths_b.append(float(q[int(0.95 * len(q)) - 1] - q[int(0.05 * len(q))]))
    bench.record("mean_abs_error_parts_snapshot", float(np.mean(np.abs(errs_c))))
    bench.record("mean_abs_error_parts_baseline", float(np.mean(np.abs(errs_b))))
    bench.record("interval_width_parts_snapshot", float(np.mean(widths_c)))
    bench.record("interval_width_parts_baseline", float(np.mean(widths_b)))
    bench.record("lines_compared", len(seeds))
    bench.record("shift_h", shift / 3600)
    serial = forecast_shift(sc, template, shift_end=shift, shipped_so_far=so_far, replications=reps, seed=7)
    bench.record("candidate_serial_s", serial.wall_time)
    pool.shutdown()
    path = bench.write()
    return {"path": str(path), "comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
