"""The runtime on the shipped reactor FMU (FMI 2.0 and 3.0): equal to FMPy, states, many runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fmu_models
from fmu_models import FmuModel, InputTable, RunConfig

T_SP = InputTable([0.0, 3600.0, 28800.0], [335.0, 348.0, 350.0])  # a recipe ramp
F_B = InputTable([0.0, 3 * 3600.0], [6e-5, 4e-5], interpolation="step")


@pytest.fixture(scope="module", params=[2, 3], ids=["fmi2", "fmi3"])
def reactor(request, tmp_path_factory) -> Path:
    """The reactor FMU from fmu_models/build, else built into a temp folder."""
    name = "reactor.fmu" if request.param == 2 else "reactor3.fmu"
    path = Path(fmu_models.BUILD_DIR) / name
    if not path.exists():
        path = fmu_models.build("reactor", tmp_path_factory.mktemp("reactor"), fmi_version=request.param)
    return path


def fmpy_run(path: Path, fmi_type: str, params: dict, stop: float = 28800.0):
    import fmpy

    times = np.unique(np.concatenate([T_SP.time, F_B.time, [stop]]))
    rows = [(t, T_SP.at(np.array([t]))[0], F_B.at(np.array([t]))[0]) for t in times]
    rows.insert(2, (F_B.time[1], T_SP.at(F_B.time[1:2])[0], 6e-5))  # the step of F_B as a jump
    signals = np.array(sorted(rows, key=lambda r: r[0]), dtype=[("time", float), ("T_sp", float), ("F_B", float)])
    return fmpy.simulate_fmu(str(path), fmi_type=fmi_type, start_values=params, input=signals,
                             stop_time=stop, output_interval=10.0, record_events=False,
                             output=["T", "T_jacket", "cC", "yield_C", "impurity_D", "Q_rxn"])


def test_cs_and_me_equal_fmpy(reactor):
    params = {"k1_ref": 5e-7, "E2": 1.05e5}
    cfg = RunConfig(parameters=params, inputs={"T_sp": T_SP, "F_B": F_B}, stop_time="8 h", output_interval=10,
                    outputs=["T", "T_jacket", "cC", "yield_C", "impurity_D", "Q_rxn"])
    for interface, fmi_type in (("cs", "CoSimulation"), ("me", "ModelExchange")):
        ds = FmuModel(reactor, interface=interface).run(cfg)
        ref = fmpy_run(reactor, fmi_type, params)
        np.testing.assert_array_equal(ds.time.values, ref["time"])
        for name in cfg.outputs:
            np.testing.assert_allclose(ds[name].values, ref[name], rtol=1e-12, atol=1e-12, err_msg=name)
        assert ds["T"].attrs["units"] == "K" and ds["yield_C"].attrs["long_name"]


def test_look_ahead_from_live_state(reactor):
    model = FmuModel(reactor)
    cfg = RunConfig(inputs={"T_sp": T_SP}, output_interval=10)
    full = model.run(cfg, stop_time="8 h")
    model.start(inputs={"T_sp": 335.0, "F_B": 6e-5})
    for k in range(1, 361):  # one hour of live samples, 10 s apart
        t = 10.0 * k
        model.set(["T_sp"], [T_SP.at(np.array([t - 10.0]))[0]])
        model.step_to(t)
    np.testing.assert_allclose(model.get(["T"])[0], full.T.sel(time=3600.0).item(), rtol=1e-12)
    snap = model.serialize_state()
    ahead = FmuModel(reactor).run(cfg, stop_time="8 h", start_state=snap)
    np.testing.assert_allclose(ahead.T.values, full.T.sel(time=ahead.time).values, rtol=1e-12)


def test_run_many_serial_equals_pool(reactor):
    model = FmuModel(reactor)
    sets = [{"k1_ref": k} for k in (3e-7, 4e-7, 5e-7)] + [{"V0": 0.0}]  # V0 = 0: non-finite derivative
    kw = dict(stop_time="2 h", output_interval=60, outputs=["T", "yield_C"])
    serial = model.run_many(sets, **kw)
    pool = model.run_many(sets, executor=2, **kw)
    np.testing.assert_array_equal(serial["T"].values, pool["T"].values)
    assert serial.status.values.tolist() == [0, 0, 0, 1]
    assert "fmi" in str(serial.error.values[3]) and "DoStep failed at t = 0 s" in str(serial.error.values[3])
    assert (serial.yield_C.isel(time=-1).values[:3] > 0).all()
    ref = model.run(parameters=sets[1], **kw)
    np.testing.assert_array_equal(serial["yield_C"].values[1], ref["yield_C"].values)


def test_runtime_tour(reactor, tmp_path):
    from twin_app.tours.physics import runtime_tour
    from workbench.dataset import read_netcdf, validate_dataset

    files = runtime_tour(tmp_path, runs=4, fmu=reactor)
    assert [f.name for f in files] == ["reactor_batch.nc", "reactor_sweep.nc", "reactor_lookahead.nc"]
    sweep = read_netcdf(files[1])
    validate_dataset(sweep, require_provenance=True)
    assert sweep.sizes["run"] == 4 and int(sweep.status.sum()) == 0
    final = sweep.yield_C.isel(time=-1).values
    assert np.all(np.diff(final) > 0)  # faster main reaction, more C after 8 h
    ahead = read_netcdf(files[2])
    assert ahead.time.values[0] == 4 * 3600.0 and ahead.time.values[-1] == 8 * 3600.0
