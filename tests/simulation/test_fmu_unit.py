"""FMU-backed units: batch duration and quality from a real FMU (the first-order-lag test FMU).

The lag FMU solves dx/dt = (k·u − x)/τ, y = x, from x0 = 0 with a constant input u, so
y(t) = k·u·(1 − exp(−t/τ)) and the batch ends when y first exceeds a threshold c on the
output grid: t* = ceil_grid(−τ·ln(1 − c/(k·u))).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from simulation.line import CallableUnitModel, FmuUnitModel, LineModel, LineScenario, simulate
from simulation.line.config import FmuUnit

pytest.importorskip("fmpy")
LAG_DATA = Path(__file__).resolve().parents[1] / "fmu_models" / "data"


@pytest.fixture(scope="module")
def lag_fmus(tmp_path_factory) -> dict[int, Path]:
    """The first-order-lag test FMU of the runtime's tests, compiled with gcc (FMI 2.0)."""
    spec = importlib.util.spec_from_file_location("build_lag", LAG_DATA / "build_lag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {2: module.build_lag_fmu(tmp_path_factory.mktemp("lag"), 2)}


def expected_duration(k, u, tau, c, dt):
    t = -tau * math.log(1 - c / (k * u))
    return math.ceil(t / dt - 1e-9) * dt


def test_fmu_batch_outcome_matches_analytic(lag_fmus):
    spec = FmuUnit(fmu=str(lag_fmus[2]), stop_time=400, output_interval=1.0,
                   parameters={"tau": "tau", "k": "gain", "x0": 0.0}, inputs={"u": 1.0},
                   end_variable="y", end_above=0.6, quality={"y_end": "y"})
    unit = FmuUnitModel(spec, lag_fmus[2])
    for tau, gain in [(60.0, 1.0), (90.0, 1.3), (30.0, 0.8)]:
        d, q = unit.batch_outcome({"tau": tau}, {"gain": gain})
        assert d == pytest.approx(expected_duration(gain, 1.0, tau, 0.6, 1.0))
        assert q["y_end"] == pytest.approx(gain * (1 - math.exp(-d / tau)), rel=1e-6)
        assert q["end_reached"] == 1.0
    runs = unit.runs
    unit.batch_outcome({"tau": 60.0}, {"gain": 1.0})
    assert unit.runs == runs  # cached


def test_line_with_fmu_unit(lag_fmus):
    sc = LineScenario.model_validate({
        "name": "fmu_line",
        "products": [{"name": "P", "recipe": {"tau": "1 min"},
                      "disturbances": {"gain": "uniform(min=0.7, max=1.0)"}}],
        "source": {"saturated": True},
        "stations": [{
            "name": "reactor", "buffer": 1,
            "unit": {"fmu": str(lag_fmus[2]), "stop_time": "10 min", "output_interval": "1 s",
                     "parameters": {"tau": "tau", "k": "gain", "x0": 0.0}, "inputs": {"u": 1.0},
                     "end_variable": "y", "end_above": 0.6, "quality": {"y_end": "y"}},
            "quality": {"specs": {"y_end": {"min": 0.6}}},
            "ideal_cycle_time": "1 min",
        }],
        "experiment": {"horizon": "6 h", "replications": 2, "seed": 4},
    })
    m = LineModel(sc, 4, unit_models={"reactor": FmuUnitModel(sc.stations[0].unit, lag_fmus[2])}).run()
    busy = np.diff([0.0] + sorted(t for t, _, _ in m.exits))  # back-to-back batches
    # each batch takes -tau ln(1 - 0.6/gain) on the 1 s grid, gain in [0.7, 1.0]
    lo, hi = expected_duration(1.0, 1, 60, 0.6, 1), expected_duration(0.7, 1, 60, 0.6, 1)
    assert busy.min() >= lo - 1e-9 and busy.max() <= hi + 1e-9
    assert len(set(np.round(busy, 6))) > 20  # durations vary with the sampled gain
    ds = simulate(sc, base_dir=None)
    assert ds.attrs["fmu_guids"]
    assert float(ds["mean"].sel(kpi="yield")) == 1.0


def test_callable_unit_quality_spec_scraps():
    sc = LineScenario.model_validate({
        "name": "c",
        "products": [{"name": "P", "disturbances": {"m": "uniform(min=0, max=1)"}}],
        "source": {"saturated": True},
        "stations": [{"name": "dryer", "buffer": 1,
                      "unit": {"fmu": "unused.fmu", "stop_time": "1 h"},
                      "quality": {"specs": {"moisture": {"max": 0.25}}, "on_fail": "scrap"}}],
        "experiment": {"horizon": "2 d", "replications": 2},
    })
    unit = CallableUnitModel(lambda recipe, d: (600.0, {"moisture": d["m"]}))
    m = LineModel(sc, 1, unit_models={"dryer": unit}).run()
    good = sum(g for _, _, g in m.exits) / len(m.exits)
    assert good == pytest.approx(0.25, abs=0.05)  # P(m <= 0.25)
