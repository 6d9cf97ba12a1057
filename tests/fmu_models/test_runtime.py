"""FmuModel.run on a third-party-style FMU (first-order lag, FMI 2.0 and 3.0, CS and ME).

References: FMPy's ``simulate_fmu`` on the same FMU (the runtime must reproduce
it), and the exact solution of dx/dt = (k*u - x)/tau.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmu_models import FmuModel, InputTable, RunConfig
from tests.fmu_models.lag_fixtures import lag_fmus_fixture  # noqa: F401 - fixture
from workbench.dataset import validate_dataset
from workbench.errors import ConfigError, FmuError

U_TIMES, U_VALUES = [0.0, 20.0, 20.0, 50.0], [0.0, 10.0, -5.0, 3.0]
PARAMS = {"k": 2.0, "tau": 5.0, "x0": 310.0}


def fmpy_reference(path, fmi_type, **kw):
    import fmpy

    signals = np.array(list(zip(U_TIMES, U_VALUES, strict=True)), dtype=[("time", float), ("u", float)])
    return fmpy.simulate_fmu(str(path), fmi_type=fmi_type, stop_time=50, output_interval=0.5,
                             start_values=dict(PARAMS), input=signals, record_events=False, **kw)


@pytest.mark.parametrize("version", [2, 3])
def test_cs_equals_fmpy_and_exact_solution(lag_fmus, version):
    model = FmuModel(lag_fmus[version])
    ds = model.run(parameters=PARAMS, inputs={"u": (U_TIMES, U_VALUES)}, stop_time=50, output_interval=0.5)
    ref = fmpy_reference(lag_fmus[version], "CoSimulation")
    np.testing.assert_array_equal(ds.time.values, ref["time"])
    # same doStep sequence and input interpolation as FMPy: bit-identical
    np.testing.assert_array_equal(ds.y.values, ref["y"])
    # the FMU integrates exactly with zero-order hold of u at the communication points
    t = ds.time.values
    table = InputTable(U_TIMES, U_VALUES)
    x = np.empty_like(t)
    x[0] = PARAMS["x0"]
    for i in range(1, t.size):
        ku = PARAMS["k"] * table.at(np.array([t[i - 1]]))[0]
        x[i] = ku + (x[i - 1] - ku) * np.exp(-(t[i] - t[i - 1]) / PARAMS["tau"])
    np.testing.assert_allclose(ds.y.values, x, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("version", [2, 3])
def test_me_equals_fmpy_and_analytic(lag_fmus, version):
    model = FmuModel(lag_fmus[version], interface="me")
    ds = model.run(parameters=PARAMS, inputs={"u": (U_TIMES, U_VALUES)}, stop_time=50, output_interval=0.5)
    ref = fmpy_reference(lag_fmus[version], "ModelExchange")
    np.testing.assert_array_equal(ds.time.values, ref["time"])
    np.testing.assert_allclose(ds.y.values, ref["y"], rtol=1e-12, atol=1e-12)
    # constant input: analytic x(t) = k*u + (x0 - k*u) exp(-t/tau), CVode rtol 1e-8
    ds = model.run(parameters=PARAMS, inputs={"u": 4.0}, stop_time=30, output_interval=0.5, tolerance=1e-8)
    exact = 8.0 + (310.0 - 8.0) * np.exp(-ds.time.values / 5.0)
    np.testing.assert_allclose(ds.y.values, exact, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_reset_gives_bit_identical_repeats(lag_fmus, interface):
    model = FmuModel(lag_fmus[2], interface=interface)
    cfg = RunConfig(parameters=PARAMS, inputs={"u": (U_TIMES, U_VALUES)}, stop_time=50, output_interval=0.5)
    first = model.run(cfg)
    other = model.run(cfg.updated(parameters={"k": -1.0}))
    assert not np.array_equal(other.y.values, first.y.values)
    again = model.run(cfg)
    np.testing.assert_array_equal(again.y.values, first.y.values)


def test_python_loop_equals_c_stepper(lag_fmus):
    fast = FmuModel(lag_fmus[3])
    slow = FmuModel(lag_fmus[3], use_stepper=False)
    assert fast.uses_stepper and not slow.uses_stepper
    cfg = RunConfig(parameters=PARAMS, inputs={"u": (U_TIMES, U_VALUES)}, stop_time=50,
                    output_interval=2.0, step_size=0.25)
    a, b = fast.run(cfg), slow.run(cfg)
    assert a.sizes["time"] == 26
    np.testing.assert_array_equal(a.y.values, b.y.values)


def test_dataset_conventions_and_provenance(lag_fmus):
    model = FmuModel(lag_fmus[3])
    ds = model.run(stop_time="1 min", output_interval="1 s", outputs=["y", "der(x)"])
    validate_dataset(ds, require_provenance=True)
    assert ds.time.attrs["units"] == "s" and ds.sizes["time"] == 61
    assert ds["y"].attrs == {"units": "K", "long_name": "lag output"}
    assert ds["der(x)"].attrs["units"] == "K/s"
    assert ds.attrs["fmu_guids"] == model.guid == "{8c4e810f-3df3-4a00-8276-176fa3c9f003}"
    # declaredType unit (tau has declaredType Duration with unit s)
    assert model.variables["tau"].units == "s"


def test_step_interpolation(lag_fmus):
    model = FmuModel(lag_fmus[2])
    u = InputTable([0.0, 10.0], [1.0, 3.0], interpolation="step")
    ds = model.run(parameters={"tau": 1e9, "x0": 0.0, "k": 1.0}, inputs={"u": u}, stop_time=20,
                   output_interval=1.0, outputs=["u"])
    # the row at t holds the input set at the start of the step that ended at t (as FMPy)
    np.testing.assert_array_equal(ds.u.values[:11], 1.0)
    np.testing.assert_array_equal(ds.u.values[11:], 3.0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # FMPy's derivative of huge jumps overflows
@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=8).map(sorted),
    data=st.data(),
)
def test_input_table_matches_fmpy_interpolation(times, data):
    from fmpy.simulation import Input

    values = data.draw(st.lists(st.floats(-1e3, 1e3), min_size=len(times), max_size=len(times)))
    probe = data.draw(st.lists(st.floats(-10, 110, allow_nan=False), min_size=1, max_size=20))
    probe += times  # exactly on table points and jumps
    table = InputTable(times, values)
    got = table.at(np.array(probe))
    t, tab = np.array(times), np.array([values])
    for p, g in zip(probe, got, strict=True):
        want, _ = Input.interpolate(p, t, tab, after_event=True)
        assert g == pytest.approx(float(np.ravel(want)[0]), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_unknown_names_get_did_you_mean(lag_fmus, interface):
    model = FmuModel(lag_fmus[2], interface=interface)
    with pytest.raises(FmuError, match="parameter 'tua' is not a variable.*did you mean 'tau'"):
        model.run(parameters={"tua": 3.0})
    with pytest.raises(FmuError, match="output 'yy'.*did you mean 'y'"):
        model.run(outputs=["yy"])
    with pytest.raises(FmuError, match="input 'U'"):
        model.run(inputs={"U": 1.0})
    with pytest.raises(FmuError, match="'x' .*cannot be set"):
        model.run(parameters={"x": 1.0})


def test_bad_grid_and_interface(lag_fmus):
    model = FmuModel(lag_fmus[2])
    with pytest.raises(ConfigError, match="whole multiple of output_interval"):
        model.run(stop_time=10, output_interval=3)
    with pytest.raises(ConfigError, match="step_size"):
        model.run(stop_time=10, output_interval=1, step_size=0.3)
    with pytest.raises(ConfigError, match="interface 'xx'"):
        FmuModel(lag_fmus[2], interface="xx")
    with pytest.raises(FmuError, match="no such FMU"):
        FmuModel(lag_fmus[2].parent / "missing.fmu")


@pytest.mark.parametrize("version", [2, 3])
def test_failure_names_function_time_status_and_recovers(lag_fmus, version):
    model = FmuModel(lag_fmus[version])
    good = model.run(stop_time=30, output_interval=1)
    with pytest.raises(FmuError) as info:
        model.run(parameters={"fail_time": 12.0}, stop_time=30, output_interval=1)
    err = info.value
    assert f"fmi{version}DoStep" in str(err) and "t = 12 s" in str(err) and "Error (3)" in str(err)
    assert "fail_time 12 s reached" in str(err)  # the FMU's own log message
    assert err.time == 12.0 and err.status == 3
    arrays = model.run_arrays(RunConfig(parameters={"fail_time": 12.0}, stop_time=30, output_interval=1))
    assert np.isfinite(arrays.values[:13]).all() and np.isnan(arrays.values[13:]).all()
    np.testing.assert_array_equal(model.run(stop_time=30, output_interval=1).y.values, good.y.values)


def test_me_failure_reports_time(lag_fmus):
    model = FmuModel(lag_fmus[2], interface="me")
    with pytest.raises(FmuError, match=r"fmi2GetDerivatives failed at t = 1\d\.?\d* s with fmi2Error \(3\)") as info:
        model.run(parameters={"fail_time": 10.0}, stop_time=30, output_interval=1)
    assert info.value.time > 10.0 and info.value.status == 3
    ok = model.run(stop_time=30, output_interval=1)
    assert np.isfinite(ok.y.values).all()
