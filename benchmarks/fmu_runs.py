"""FMU runtime speed: many reactor batches vs FMPy, and cost per step vs a C master.

1. ``run_many`` of N 8-hour reactor batches (10 s output, varied parameters,
   one core) against a loop of :func:`fmpy.simulate_fmu` doing the same runs
   (target: ≥ 10× faster). Quality: max |difference| between the two results
   (FMPy interpolates even a constant input as w0*v + (1 - w0)*v, so its inputs
   can differ from ours by one ulp; expect relative differences of ~1e-14).
2. Cost per communication step of the same ``run_many`` against a C master
   (``_fmu_harness.c``, compiled here with gcc) that dlopens the same FMU binary
   and loops set inputs / doStep / getReal (the physical limit; target: within 3×,
   i.e. speed-up ≥ 1/3). Quality: max |difference| of the trajectories.

Run: ``python -m benchmarks.run fmu_runs [--quick]``.
"""

from __future__ import annotations

import ctypes
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import Benchmark

HERE = Path(__file__).resolve().parent
BATCH_S = 8 * 3600.0
OUTPUT_S = 10.0


def reactor_fmu() -> Path:
    """The shipped reactor FMU, built on demand (``twin fmu build``)."""
    import fmu_models

    return fmu_models.shipped("reactor", build=True)


def parameter_sets(model: Any, n: int, seed: int = 2024, spread: float = 0.05) -> list[dict[str, float]]:
    """n sets varying every Real, non-zero parameter uniformly by ±``spread`` (seeded)."""
    from fmu_models import FmuVariable

    rng = np.random.default_rng(seed)
    params: list[FmuVariable] = [
        v for v in model.info.variables
        if v.causality == "parameter" and v.is_real and v.start not in (None, "") and float(v.start) != 0.0
        and v.variability != "constant"
    ]
    out = []
    for _ in range(n):
        out.append({v.name: float(v.start) * (1 + rng.uniform(-spread, spread)) for v in params})
    return out


def _compile_harness(workdir: Path) -> ctypes.CDLL:
    import fmpy

    include = Path(fmpy.__file__).parent / "c-code"
    lib = workdir / "fmu_harness.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{include}", "-o", str(lib),
                    str(HERE / "_fmu_harness.c"), "-ldl"], check=True, capture_output=True, text=True)
    harness = ctypes.CDLL(str(lib))
    harness.bench_runs.restype = ctypes.c_int
    return harness


class _CpuTimed:
    """Wrap a callable and keep the process CPU time of every call (robust to other load)."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.samples: list[float] = []

    def __call__(self) -> Any:
        t0 = time.process_time()
        result = self.fn()
        self.samples.append(time.process_time() - t0)
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def _inputs(model: Any) -> dict[str, float]:
    return {v.name: float(v.start) for v in model.info.variables
            if v.causality == "input" and v.is_real and v.start not in (None, "")}


def main(quick: bool = False, fmu: str | Path | None = None, results_dir: str | Path | None = None) -> dict:
    """Run both comparisons and write ``benchmarks/results/fmu_runs.json`` (or into ``results_dir``)."""
    import fmpy

    from fmu_models import FmuModel, RunConfig

    path = Path(fmu) if fmu is not None else reactor_fmu()
    model = FmuModel(path)
    n_runs = 20 if quick else 1000
    n_steps = int(BATCH_S / OUTPUT_S)
    sets = parameter_sets(model, n_runs)
    inputs = _inputs(model)
    base = RunConfig(stop_time=BATCH_S, output_interval=OUTPUT_S, inputs=inputs)
    outputs = model.output_names(base)
    bench = Benchmark("fmu_runs", f"{n_runs} runs of an {BATCH_S / 3600:g} h batch of {path.name}, "
                                  f"{OUTPUT_S:g} s output, varied parameters, one core")

    def candidate() -> np.ndarray:
        ds = model.run_many(sets, base=base)
        return np.stack([ds[name].values for name in outputs], axis=-1)  # run x time x output

    signals = None
    if inputs:
        signals = np.array([(0.0, *inputs.values()), (BATCH_S, *inputs.values())],
                           dtype=[("time", float)] + [(k, float) for k in inputs])

    def fmpy_loop() -> np.ndarray:
        rows = []
        for s in sets:
            res = fmpy.simulate_fmu(str(path), fmi_type="CoSimulation", start_values=s, input=signals,
                                    stop_time=BATCH_S, output_interval=OUTPUT_S, output=list(outputs))
            rows.append(np.stack([res[name] for name in outputs], axis=-1))
        return np.stack(rows)

    def max_diff(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        """Max |a - b| and max |a - b| relative to each output's largest magnitude."""
        diff = np.abs(a[: len(b)] - b)
        scale = np.maximum(np.nanmax(np.abs(b), axis=(0, 1)), 1e-300)
        return {"max_abs_difference": float(np.nanmax(diff)),
                "max_rel_difference": float(np.nanmax(diff / scale)),
                "runs_compared": len(b), "nan_runs": int(np.isnan(a).any(axis=(1, 2)).sum())}

    model.run_many(sets[:5], base=base)  # warm caches (stepper, grids) outside the timing
    cand1, fmpy_timed = _CpuTimed(candidate), _CpuTimed(fmpy_loop)
    row1 = bench.compare(
        "run_many vs loop of fmpy.simulate_fmu", cand1, fmpy_timed,
        candidate_label="FmuModel.run_many (serial)", baseline_label="fmpy.simulate_fmu loop",
        repeats=2 if quick else 1, warmup=0, work_units=n_runs, unit="run",
        target_ratio=10.0, quality=max_diff,
    )

    # --- cost per communication step vs a hand-written C master ---------------------------
    md = model.instance.description  # the benchmark needs the binary's location
    if md.fmiMajorVersion != 2:
        raise SystemExit("the C harness drives FMI 2.0 co-simulation binaries")
    unzip = Path(model.instance.unzipdir)
    so = unzip / "binaries" / "linux64" / f"{md.coSimulation.modelIdentifier}.so"
    with tempfile.TemporaryDirectory() as tmp:
        harness = _compile_harness(Path(tmp))
        par_names = list(sets[0])
        par_vr = np.array([model.variables[n].value_reference for n in par_names], dtype=np.uint32)
        par = np.ascontiguousarray([[s[n] for n in par_names] for s in sets], dtype=float)
        in_vr = np.array([model.variables[n].value_reference for n in inputs], dtype=np.uint32)
        u = np.ascontiguousarray(np.tile(list(inputs.values()), (n_steps, 1)), dtype=float)
        out_vr = np.array([model.variables[n].value_reference for n in outputs], dtype=np.uint32)
        y = np.zeros((n_runs, n_steps + 1, len(outputs)))
        resources = (unzip / "resources").as_uri().encode()
        tol = model.info.default_experiment["tolerance"] or 0.0

        def c_master() -> np.ndarray:
            status = harness.bench_runs(
                str(so).encode(), md.guid.encode(), resources, ctypes.c_int(n_runs), ctypes.c_double(tol),
                ctypes.c_double(0.0),
                ctypes.c_double(OUTPUT_S), ctypes.c_long(n_steps),
                par_vr.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(par_vr.size),
                par.ctypes.data_as(ctypes.c_void_p),
                in_vr.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(in_vr.size),
                u.ctypes.data_as(ctypes.c_void_p) if u.size else None,
                out_vr.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(out_vr.size),
                y.ctypes.data_as(ctypes.c_void_p))
            if status != 0:
                raise RuntimeError(f"C harness failed with status {status}")
            return y.copy()

        steps = n_runs * n_steps
        cand2, c_timed = _CpuTimed(candidate), _CpuTimed(c_master)
        row2 = bench.compare(
            "cost per communication step vs C master", cand2, c_timed,
            candidate_label="FmuModel.run_many (serial)", baseline_label="C master (dlopen, doStep+getReal)",
            repeats=3 if quick else 2, warmup=1 if quick else 0, work_units=steps, unit="step",
            target_ratio=1 / 3, quality=max_diff,
        )
    per_step_py = row2["candidate"]["median_s"] / steps
    per_step_c = row2["baseline"]["median_s"] / steps
    bench.record("fmu", path.name)
    bench.record("runs", n_runs)
    bench.record("steps_per_run", n_steps)
    bench.record("c_stepper", model.uses_stepper)
    bench.record("speedup_vs_fmpy", row1["speedup"])
    bench.record("step_cost_us_runtime", per_step_py * 1e6)
    bench.record("step_cost_us_c_master", per_step_c * 1e6)
    bench.record("step_cost_ratio_vs_c (target <= 3)", per_step_py / per_step_c)
    # CPU time of this process: the same calls, insensitive to other processes on a shared machine
    bench.record("speedup_vs_fmpy_cpu_time", fmpy_timed.median / cand1.median)
    bench.record("step_cost_ratio_vs_c_cpu_time", cand2.median / c_timed.median)
    bench.write(results_dir)
    return {"speedup_vs_fmpy": row1["speedup"], "step_cost_ratio_vs_c": per_step_py / per_step_c,
            "speedup_vs_fmpy_cpu_time": fmpy_timed.median / cand1.median,
            "step_cost_ratio_vs_c_cpu_time": cand2.median / c_timed.median,
            "comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
