"""run_many: stacking, failure isolation, seeds, serial == process pool."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from fmu_models import FmuModel, RunConfig
from tests.fmu_models.lag_fixtures import lag_fmus_fixture  # noqa: F401 - fixture
from workbench.dataset import validate_dataset


def noisy_start(cfg: RunConfig, rng: np.random.Generator) -> RunConfig:
    """Random disturbance: initial state 300 K +- 5 K."""
    return cfg.updated(parameters={"x0": 300.0 + rng.normal(0.0, 5.0)})


def sets(n: int = 12) -> list[dict]:
    out = [{"k": 1.0 + 0.1 * i, "tau": 4.0 + i} for i in range(n)]
    if n > 5:
        out[5]["fail_time"] = 7.0
    return out


@pytest.mark.parametrize("version", [2, 3])
def test_failure_isolated_and_results_match_single_runs(lag_fmus, version):
    model = FmuModel(lag_fmus[version])
    ds = model.run_many(sets(), stop_time=20, output_interval=1, inputs={"u": 2.0})
    validate_dataset(ds, require_provenance=True)
    assert ds.sizes == {"run": 12, "time": 21}
    assert ds.status.values.tolist() == [0] * 5 + [1] + [0] * 6
    assert ds.attrs["failed_runs"] == 1
    msg = str(ds.error.values[5])
    assert msg.startswith("run 5: ") and f"fmi{version}DoStep" in msg and "t = 7 s" in msg and "Error (3)" in msg
    assert ds.failure_time.values[5] == 7.0
    assert np.isfinite(ds.y.values[5, :8]).all() and np.isnan(ds.y.values[5, 8:]).all()
    for i in (0, 6, 11):
        single = model.run(parameters=sets()[i], stop_time=20, output_interval=1, inputs={"u": 2.0})
        np.testing.assert_array_equal(ds.y.values[i], single.y.values)
    np.testing.assert_allclose(ds.k.values, [1.0 + 0.1 * i for i in range(12)])
    assert ds.k.attrs["units"] == "1" and ds.tau.attrs["units"] == "s"


def test_serial_equals_process_pool_with_seeds(lag_fmus):
    model = FmuModel(lag_fmus[2])
    kw = dict(stop_time=20, output_interval=1, inputs={"u": 2.0}, seed=42, perturb=noisy_start)
    serial = model.run_many(sets(), **kw)
    pool = model.run_many(sets(), executor=2, **kw)
    chunked = model.run_many(sets(), executor=2, chunk_size=5, **kw)
    for other in (pool, chunked):
        xr.testing.assert_identical(serial.assign_attrs({}).drop_attrs(), other.assign_attrs({}).drop_attrs())
    assert serial.seed.values.tolist() == pool.seed.values.tolist()
    assert len(set(np.round(serial.x0.values, 9))) == 12  # every run got its own disturbance
    again = model.run_many(sets(), **{**kw, "seed": 43})
    assert not np.array_equal(again.x0.values, serial.x0.values)


def test_me_run_many_isolates_failure(lag_fmus):
    model = FmuModel(lag_fmus[3], interface="me")
    ds = model.run_many(sets(4) + [{"fail_time": 3.0}], stop_time=10, output_interval=1)
    assert ds.status.values.tolist() == [0, 0, 0, 0, 1]
    assert "fmi3GetContinuousStateDerivatives failed" in str(ds.error.values[4])
    ref = model.run(parameters=sets(4)[2], stop_time=10, output_interval=1)
    np.testing.assert_array_equal(ds.y.values[2], ref.y.values)


def test_full_configs_and_bad_items(lag_fmus):
    model = FmuModel(lag_fmus[2])
    cfgs = [RunConfig(stop_time=10, output_interval=1), RunConfig(stop_time=5, output_interval=1),
            RunConfig(stop_time=5, output_interval=1, parameters={"nope": 1.0}),
            RunConfig(stop_time=10, output_interval=1, parameters={"k": "abc"})]
    ds = model.run_many(cfgs)
    assert ds.sizes["time"] == 11  # union of the grids; the short run is NaN after 5 s
    assert np.isnan(ds.y.values[1, 6:]).all() and np.isfinite(ds.y.values[1, :6]).all()
    assert ds.status.values.tolist() == [0, 0, 1, 1]
    assert "did you mean" in str(ds.error.values[2]) or "valid names" in str(ds.error.values[2])
    # a value that does not fit its declared type is a ConfigError naming the variable and the value
    assert str(ds.error.values[3]).startswith("run 3: ConfigError") and "'k' (Real) = 'abc'" in str(ds.error.values[3])
    np.testing.assert_array_equal(ds.y.values[0], model.run(cfgs[0]).y.values)


def test_serial_writes_in_place_and_equals_copy_path(lag_fmus):
    model = FmuModel(lag_fmus[3])
    sets = [{"k": 1.0 + i} for i in range(6)]
    shared = model.run_many(sets, stop_time=10, output_interval=1)  # one buffer, filled in place
    chunked = model.run_many(sets, stop_time=10, output_interval=1, executor="serial", progress=False,
                             perturb=lambda cfg, rng: cfg.updated(stop_time=10 + 2 * (cfg.parameters["k"] > 3)))
    assert chunked.sizes["time"] == 13
    np.testing.assert_array_equal(chunked.y.values[:3, :11], shared.y.values[:3])
    assert np.isnan(chunked.y.values[:3, 11:]).all() and np.isfinite(chunked.y.values[3:]).all()
