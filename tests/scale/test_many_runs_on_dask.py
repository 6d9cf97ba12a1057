"""Every many-runs API on a real 2-worker Dask cluster gives the serial numbers for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.dask


def jitter_k1(cfg, rng: np.random.Generator):
    """Random disturbance of the reactor's rate constant (±5 %), drawn in the worker."""
    k = float(cfg.parameters["k1_ref"])
    return cfg.updated(parameters={**cfg.parameters, "k1_ref": k * (1.0 + 0.05 * rng.normal())})


def test_fmu_run_many(dask_client):
    from fmu_models import FmuModel, shipped

    model = FmuModel(shipped("reactor", build=True))
    k1 = float(model.variables["k1_ref"].start)
    sets = [{"k1_ref": k} for k in np.linspace(0.8 * k1, 1.2 * k1, 10)]
    kw = dict(stop_time="2 h", output_interval=60, seed=21, perturb=jitter_k1)
    serial = model.run_many(sets, **kw)
    dask = model.run_many(sets, executor=dask_client, **kw)
    assert int(serial["status"].sum()) == 0
    xr.testing.assert_identical(serial.drop_attrs(), dask.drop_attrs())
    assert dask.attrs["executor"].startswith("dask:tcp://127.0.0.1:")
    assert len(np.unique(dask["k1_ref"].values)) == 10  # the perturbation really ran per run


def test_line_replications(dask_client, tmp_path):
    from simulation.line import load_scenario, simulate
    from tests.optimization.conftest import LINE_SCENARIO

    path = tmp_path / "line.yaml"
    path.write_text(LINE_SCENARIO.replace("horizon: 4 d, warmup: 1 d", "horizon: 1 d, warmup: 4 h"))
    sc = load_scenario(path)
    serial = simulate(sc, replications=6, seed=7, trace=False)
    dask = simulate(sc, replications=6, seed=7, trace=False, executor=dask_client)
    xr.testing.assert_identical(serial.drop_attrs(), dask.drop_attrs())
    assert dask.sizes["replication"] == 6


def _life_model(overrides):
    from pathlib import Path

    from simulation.life import load_life_model

    root = Path(__file__).resolve().parents[2] / "scenarios"
    return load_life_model(root / "pump_station_life.yaml", overrides=overrides)


def test_life_monte_carlo_missions(dask_client):
    from simulation.life import simulate_missions

    model = _life_model({"simulation.engine": "vectorised", "simulation.importance_missions": 2000})
    serial = simulate_missions(model, missions=40_000, seed=5, chunk=5_000)
    dask = simulate_missions(model, missions=40_000, seed=5, chunk=5_000, executor=dask_client)
    xr.testing.assert_identical(serial.drop_attrs(), dask.drop_attrs())


def test_life_repairable_event_engine(dask_client):
    from simulation.life import run_life

    model = _life_model({"simulation.replications": 6, "simulation.horizon": "8760 h"})
    serial = run_life(model, seed=9, engine="event")
    dask = run_life(model, seed=9, engine="event", executor=dask_client)
    xr.testing.assert_identical(serial.drop_attrs(), dask.drop_attrs())


def test_golden_batch_fit_from_chunked_zarr(dask_client, tmp_path):
    import golden_batch as gb
    from workbench.dataset import write_zarr

    history = gb.make_synthetic_history(30, seed=4, n_samples=100, faults={"cooling": 2})
    write_zarr(history.chunk({"batch": 8}), tmp_path / "history.zarr")
    lazy = gb.read_history(tmp_path / "history.zarr", chunks={"batch": 8})
    lazy = lazy[list(history.data_vars)]  # Zarr does not keep the variable order
    assert lazy["temperature"].chunks is not None
    params = dict(selection="yield >= 0.9", aligner=gb.Aligner(method="dtw"), mpca=gb.BatchPCA(n_components=3))
    memory = gb.GoldenBatchModel(**params).fit(history)
    on_dask = gb.GoldenBatchModel(**params).fit(lazy, executor=dask_client)
    assert on_dask.selection_.selected == memory.selection_.selected
    xr.testing.assert_allclose(memory.to_dataset().drop_attrs(), on_dask.to_dataset().drop_attrs(),
                               rtol=1e-9, atol=1e-12)
