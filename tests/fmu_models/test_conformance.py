"""Conformance suite: FMUs written for the purpose (data/conformance) through FmuModel.run, CS and ME.

Every variable type of FMI 3.0, array variables, self-terminating models, failing
initialisation and an event-heavy model; results equal FMPy's where FMPy is right.
The other runtime paths (run_many, steppers, CLI) are in test_conformance_paths.py
and tests/cli/test_fmu_cli.py.
"""

from __future__ import annotations

import logging

import fmpy
import numpy as np
import pytest

from fmu_models import FmuModel
from tests.fmu_models.conformance_fixtures import conformance_fmus_fixture, djb2  # noqa: F401 - fixture
from workbench.errors import ConfigError, FmuError

INT_OUTPUTS = {
    "o_int8": np.int8,
    "o_uint8": np.uint8,
    "o_int16": np.int16,
    "o_uint16": np.uint16,
    "o_int32": np.int32,
    "o_uint32": np.uint32,
    "o_int64": np.int64,
    "o_uint64": np.uint64,
}


def fmpy_run(path, interface, **kwargs):
    fmi_type = "CoSimulation" if interface == "cs" else "ModelExchange"
    kwargs.setdefault("record_events", False)
    return fmpy.simulate_fmu(str(path), fmi_type=fmi_type, **kwargs)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_every_type_is_recorded_in_its_own_dtype(conformance_fmus, interface):
    model = FmuModel(conformance_fmus["types3"], interface=interface)
    ds = model.run()
    expected = [
        "x",
        "f32",
        *INT_OUTPUTS,
        "o_flag",
        "o_mode",
        "label_hash",
        "ya[1]",
        "ya[2]",
        "ya[3]",
    ]
    assert list(ds.data_vars) == expected
    assert ds.sizes["time"] == 21 and ds.time.values[-1] == 10.0
    assert (
        ds.f32.dtype == np.float32 and ds.o_flag.dtype == np.bool_ and ds.o_mode.dtype == np.int64
    )
    for name, dtype in INT_OUTPUTS.items():
        assert ds[name].dtype == dtype, name
    np.testing.assert_allclose(ds.x, ds.time, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ds.f32, 0.25 * ds.time, rtol=1e-6)  # read with fmi3GetFloat32
    for i in (1, 2, 3):
        np.testing.assert_allclose(ds[f"ya[{i}]"], i * ds.time, rtol=1e-9, atol=1e-9)
        assert ds[f"ya[{i}]"].attrs == {"units": "m", "long_name": "gains*x"}
    assert int(ds.o_int8[-1]) == -8 and int(ds.label_hash[0]) == djb2("abc")
    ref = fmpy_run(conformance_fmus["types3"], interface, output_interval=0.5)
    assert len(ref) == ds.sizes["time"]
    np.testing.assert_allclose(ds.time, ref["time"])
    for name in ["x", "f32", *INT_OUTPUTS, "o_flag", "o_mode", "label_hash"]:
        np.testing.assert_allclose(
            ds[name].values.astype(float), ref[name].astype(float), rtol=1e-6, err_msg=name
        )
        assert ds[name].dtype == ref[name].dtype or name in ("o_mode",), name
    np.testing.assert_allclose(
        np.stack([ds[f"ya[{i}]"] for i in (1, 2, 3)], axis=1), ref["ya"], rtol=1e-9
    )


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_typed_parameters_reach_the_fmu_exactly(conformance_fmus, interface):
    model = FmuModel(conformance_fmus["types3"], interface=interface)
    params = {
        "int8": -128,
        "uint8": 255,
        "int16": 32767,
        "uint16": 65535,
        "int32": -(2**31),
        "uint32": 2**32 - 1,
        "int64": 2**63 - 1,
        "uint64": 2**64 - 1,
        "flag": True,
        "mode": "fast",
        "label": "007",
        "gains": [0.5, -1, 4],
        "p32": 2.0,
        "rate": 2,
    }
    ds = model.run(parameters=params, stop_time=2, output_interval=1)
    for name in INT_OUTPUTS:
        assert int(ds[name][-1]) == params[name[2:]], name  # exact: Int64/UInt64 extremes survive
    assert bool(ds.o_flag[-1]) is True and int(ds.o_mode[-1]) == 3
    assert int(ds.label_hash[-1]) == djb2("007")  # the String is passed verbatim
    np.testing.assert_allclose([float(ds[f"ya[{i}]"][-1]) for i in (1, 2, 3)], [2.0, -4.0, 16.0])
    assert float(ds.f32[-1]) == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("int8", 300, "valid range is -128 … 127"),
        ("uint64", -1, "valid range is 0 … 18446744073709551615"),
        ("int64", 2**63, "valid range is"),
        ("flag", "maybe", "give true, false, 1 or 0"),
        ("mode", 7, "give one of off (1), slow (2), fast (3)"),
        ("gains", [1, 2], "needs 3 values, got 2"),
        ("rate", "fast", "give a number"),
    ],
)
def test_values_that_do_not_fit_their_type_are_config_errors(conformance_fmus, name, value, needle):
    model = FmuModel(conformance_fmus["types3"])
    with pytest.raises(ConfigError, match=f"'{name}'") as err:
        model.run(parameters={name: value}, stop_time=1, output_interval=1)
    assert needle in str(err.value) and repr(value) in str(err.value)


def test_outputs_may_name_time_and_array_elements(conformance_fmus):
    model = FmuModel(conformance_fmus["types3"])
    ds = model.run(outputs=["time", "ya[2]", "o_uint64"], stop_time=1, output_interval=0.5)
    assert list(ds.data_vars) == ["ya[2]", "o_uint64"] and ds.time.values.tolist() == [0, 0.5, 1]
    assert list(model.run(outputs=["time"], stop_time=1, output_interval=0.5).data_vars) == []
    with pytest.raises(FmuError, match=r"outside the array ya of shape \(3,\)"):
        model.run(outputs=["ya[4]"])
    with pytest.raises(FmuError, match="did you mean"):
        model.run(outputs=["ya2"])


def test_output_interval_that_would_not_fit_memory_is_refused(conformance_fmus):
    model = FmuModel(conformance_fmus["types3"])
    with pytest.raises(
        ConfigError, match=r"would record 1e\+10 points; at most 10,000,000 fit .*at least 1e-06 s"
    ):
        model.run(output_interval=1e-9)
    with pytest.raises(ConfigError, match="communication steps"):
        model.run(output_interval=1, step_size=1e-8)


# -- self-terminating models ---------------------------------------------------------------------


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_fmi3_termination_ends_the_run_normally(conformance_fmus, interface, caplog):
    model = FmuModel(conformance_fmus["types3"], interface=interface)
    with caplog.at_level(logging.WARNING, logger="fmu_models"):
        ds = model.run(parameters={"stop_at": 3.0})
    assert ds.time.values.tolist() == [0, 0.5, 1, 1.5, 2, 2.5, 3]  # no NaN tail
    assert np.isfinite(ds.x).all() and float(ds.x[-1]) == pytest.approx(3.0)
    assert (
        ds.attrs["terminated_at"] == pytest.approx(3.0)
        and "ended the simulation itself" in ds.attrs["note"]
    )
    assert "ended the simulation itself at t = 3 s" in caplog.text
    ref = fmpy_run(
        conformance_fmus["types3"],
        interface,
        output_interval=0.5,
        start_values={"stop_at": 3.0},
        record_events=True,
    )
    np.testing.assert_allclose(ds.x, np.unique(ref["x"]), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_fmi2_termination_ends_at_the_last_successful_time(conformance_fmus, interface):
    model = FmuModel(conformance_fmus["bounce2"], interface=interface)
    ds = model.run(parameters={"max_bounces": 5})
    t_end = ds.attrs["terminated_at"]
    assert 2.5 < t_end < 2.6 and ds.time.values[-1] == pytest.approx(t_end)
    assert ds.bounces.dtype == np.int32 and int(ds.bounces[-1]) == 5 and int(ds.bounces[-2]) == 4
    assert np.isfinite(ds.h).all()
    if interface == "cs":  # FMPy records the same rows (it samples at fmi2LastSuccessfulTime)
        ref = fmpy_run(
            conformance_fmus["bounce2"], "cs", output_interval=0.05, start_values={"max_bounces": 5}
        )
        np.testing.assert_allclose(ds.time, ref["time"], rtol=1e-12)
        np.testing.assert_allclose(ds.h, ref["h"], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(ds.bounces, ref["bounces"])
    else:  # FMPy's rows, plus the values at the termination time
        ref = fmpy_run(
            conformance_fmus["bounce2"], "me", output_interval=0.05, start_values={"max_bounces": 5}
        )
        np.testing.assert_allclose(ds.time[:-1], ref["time"])
        np.testing.assert_allclose(ds.h[:-1], ref["h"])


@pytest.mark.parametrize("interface", ["cs", "me"])
@pytest.mark.parametrize(
    ("fmu", "params"), [("types3", {"stop_at": 2.0}), ("bounce2", {"max_bounces": 3})]
)
def test_a_terminated_instance_is_not_reused(conformance_fmus, interface, fmu, params):
    # the FMUs' reset keeps the terminated state on purpose, as some exported FMUs do
    model = FmuModel(conformance_fmus[fmu], interface=interface)
    fresh = FmuModel(conformance_fmus[fmu], interface=interface).run()
    assert "terminated_at" in model.run(parameters=params).attrs
    again = model.run()
    assert "terminated_at" not in again.attrs and again.sizes == fresh.sizes
    for name in fresh.data_vars:
        np.testing.assert_allclose(
            again[name].values.astype(float), fresh[name].values.astype(float)
        )
    model.reset()
    assert model.run().sizes == fresh.sizes


# -- initialisation failure and events -------------------------------------------------------------


@pytest.mark.parametrize("interface", ["cs", "me"])
@pytest.mark.parametrize(
    ("fmu", "params", "needle"),
    [("types3", {"fail_init": True}, "fail_init is set"), ("bounce2", {"g": 0.0}, "g must be > 0")],
)
def test_failing_initialisation_is_a_clear_error(conformance_fmus, interface, fmu, params, needle):
    model = FmuModel(conformance_fmus[fmu], interface=interface)
    with pytest.raises(FmuError, match="ExitInitializationMode|exitInitializationMode") as err:
        model.run(parameters=params)
    assert needle in str(err.value) and fmu in str(err.value)
    assert model.run(stop_time=1).sizes["time"] > 1  # the instance recovers


def test_event_heavy_model_matches_fmpy(conformance_fmus):
    me = FmuModel(conformance_fmus["bounce2"], interface="me").run()
    ref = fmpy_run(conformance_fmus["bounce2"], "me", output_interval=0.05)
    assert int(me.bounces[-1]) == int(ref["bounces"][-1]) == 17
    np.testing.assert_allclose(me.h, ref["h"])
    np.testing.assert_array_equal(me.bounces, ref["bounces"])
    cs = FmuModel(conformance_fmus["bounce2"]).run()
    ref_cs = fmpy_run(conformance_fmus["bounce2"], "cs", output_interval=0.05)
    np.testing.assert_allclose(cs.h, ref_cs["h"], rtol=1e-12, atol=1e-300)
    assert int(cs.bounces[-1]) == 17
    np.testing.assert_allclose(cs.h, me.h, atol=2e-3)  # exact flight (CS) vs CVode with events (ME)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_integer_only_outputs_are_recorded(conformance_fmus, interface):
    ds = FmuModel(conformance_fmus["counter2"], interface=interface).run()
    assert list(ds.data_vars) == ["bounces"] and ds.bounces.dtype == np.int32
    assert ds.bounces.values[0] == 0 and ds.bounces.values[-1] == 17
    assert np.all(np.diff(ds.bounces.values) >= 0)


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_clocked_fmu_is_refused_by_name(conformance_fmus, interface):
    with pytest.raises(
        FmuError,
        match=r"clocked3.fmu: FMU 'types3' offers only scheduled execution "
        r"\(FMI 3 clocks\), which twin workbench does not run",
    ):
        FmuModel(conformance_fmus["clocked3"], interface=interface)
