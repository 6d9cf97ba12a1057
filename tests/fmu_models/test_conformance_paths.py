"""Conformance suite, the other runtime paths: run_many (serial and pooled), the steppers, the extraction cache."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from fmu_models import FmuModel, MeStepper, RunConfig, open_stepper
from tests.fmu_models.conformance_fixtures import conformance_fmus_fixture  # noqa: F401 - fixture
from workbench.errors import FmuError


@pytest.mark.parametrize("executor", [None, "processes:2"])
@pytest.mark.parametrize("interface", ["cs", "me"])
def test_run_many_with_terminating_and_failing_runs(conformance_fmus, interface, executor):
    model = FmuModel(conformance_fmus["types3"], interface=interface)
    sets = [
        {"stop_at": 2.0, "int64": 2**63 - 1},
        {"int64": 5},
        {"fail_init": True},
        {"stop_at": 4.0},
        {"int64": 6},
    ]
    ds = model.run_many(sets, executor=executor, chunk_size=5)
    assert ds.sizes == {"run": 5, "time": 21}
    assert ds.status.values.tolist() == [0, 0, 1, 0, 0]
    assert "fail_init is set" in str(ds.error.values[2])
    np.testing.assert_allclose(ds.terminated_at.values[[0, 3]], [2.0, 4.0])
    assert np.isnan(ds.terminated_at.values[[1, 2, 4]]).all()
    # the runs after a terminated one on the same (pooled) instance are complete
    for run in (1, 4):
        np.testing.assert_allclose(ds.x.values[run], ds.time.values, atol=1e-9)
    assert np.isnan(ds.x.values[0, 5:]).all() and ds.x.values[0, 4] == pytest.approx(2.0)
    assert (
        ds["ya[3]"].values[3, 8] == pytest.approx(12.0)
        and np.isnan(ds["ya[3]"].values[3, 9:]).all()
    )
    # integer columns hold NaN where a run failed or ended early, so they are floats here ...
    assert ds.o_int64.dtype == np.float64 and ds.o_int64.values[1, -1] == 5
    # ... and keep their own dtype (exact Int64) when every run is complete
    full = model.run_many([{"int64": 2**63 - 1}, {"int64": -(2**63)}], executor=executor)
    assert full.o_int64.dtype == np.int64 and full.o_int64.values[:, -1].tolist() == [
        2**63 - 1,
        -(2**63),
    ]


def test_run_many_of_integer_only_outputs(conformance_fmus):
    model = FmuModel(conformance_fmus["counter2"])
    ds = model.run_many([{"e": 0.5}, {"e": 0.8}, {"max_bounces": 2}])
    assert list(ds.data_vars)[:1] == ["bounces"] and ds.status.values.tolist() == [0, 0, 0]
    assert ds.bounces.values[1, -1] == 17 and ds.bounces.values[0, -1] < 17
    assert ds.terminated_at.values[2] > 0 and np.isnan(ds.bounces.values[2, -1])


def test_cs_stepper_reads_every_type_and_stops_at_termination(conformance_fmus):
    with open_stepper(
        conformance_fmus["types3"], outputs=["x", "f32", "o_uint64", "o_flag", "ya"]
    ) as s:
        assert s.output_names == ["x", "f32", "o_uint64", "o_flag", "ya[1]", "ya[2]", "ya[3]"]
        s.start({"stop_at": 1.0, "uint64": 7, "flag": "true"})
        s.step(0.5)
        np.testing.assert_allclose(s.read(), [0.5, 0.125, 7, 1, 0.5, 1.0, 1.5])
        assert not s.terminated
        s.step(0.5)
        assert s.terminated and s.time == 1.0
        with pytest.raises(FmuError, match="ended the simulation itself at t = 1 s"):
            s.step(0.5)
        s.start()  # a fresh instance: the FMU's reset would keep the terminated state
        assert not s.terminated
        y = s.step_block(np.zeros((4, 0)), np.full(4, 0.5))
        np.testing.assert_allclose(y[:, 0], [0.5, 1.0, 1.5, 2.0])


def test_cs_stepper_fmi2_termination(conformance_fmus):
    with open_stepper(conformance_fmus["bounce2"], outputs=["h", "bounces"]) as s:
        s.start({"max_bounces": 1})
        s.step(1.0)  # the first bounce, at sqrt(2 h0 / g), ends the simulation
        assert s.terminated and s.time == pytest.approx(np.sqrt(2 / 9.81))
        assert s.read()[1] == 1
        with pytest.raises(FmuError, match="ended the simulation itself"):
            s.step(0.1)
        s.start({"max_bounces": 1})
        assert s.uses_c_loop is False  # an Integer output is read in Python
        with pytest.raises(FmuError, match="ended the simulation itself"):
            s.step_block(np.zeros((20, 0)), np.full(20, 0.1))


def test_cs_stepper_c_loop_fmi2_termination(conformance_fmus):
    with open_stepper(conformance_fmus["bounce2"], outputs=["h"]) as s:
        assert s.uses_c_loop or s._lib is None
        s.start({"max_bounces": 2})
        with pytest.raises(FmuError, match="ended the simulation itself at t = 1.17"):
            s.step_block(np.zeros((30, 0)), np.full(30, 0.1))
        s.start()
        y = s.step_block(np.zeros((3, 0)), np.full(3, 0.1))
        np.testing.assert_allclose(y[:, 0], 1 - 9.81 / 2 * np.array([0.1, 0.2, 0.3]) ** 2)


def test_me_stepper_paths(conformance_fmus):
    with open_stepper(
        conformance_fmus["bounce2"], interface="me", outputs=["h", "v"], max_step=0.01
    ) as s:
        s.start()
        s.step(0.3)  # before the first bounce: free fall, which RK4 integrates exactly
        np.testing.assert_allclose(s.read(), [1 - 9.81 / 2 * 0.09, -9.81 * 0.3], rtol=1e-9)
    with pytest.raises(FmuError, match="supports FMI 2.0, this FMU is FMI 3.0"):
        MeStepper(conformance_fmus["types3"])
    with pytest.raises(FmuError, match="offers only scheduled execution"):
        open_stepper(conformance_fmus["clocked3"])


def test_corrupt_member_is_named_and_leaves_no_cache_folder(
    conformance_fmus, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TWIN_FMU_CACHE", str(cache))
    bad = tmp_path / "broken.fmu"
    with (
        zipfile.ZipFile(conformance_fmus["types3"]) as src,
        zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
    data = bytearray(bad.read_bytes())
    with zipfile.ZipFile(bad) as zf:
        info = zf.getinfo("binaries/x86_64-linux/types3.so")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 100, start + 400):  # scramble the compressed bytes of the binary
        data[k] ^= 0x5A
    bad.write_bytes(bytes(data))
    with pytest.raises(
        FmuError,
        match=r"broken.fmu: the FMU archive is corrupt: member "
        r"'binaries/x86_64-linux/types3.so' cannot be extracted",
    ):
        FmuModel(bad)
    assert not any(cache.iterdir()) if cache.exists() else True
    good = FmuModel(conformance_fmus["types3"])  # the cache still works for a good FMU
    assert good.run(stop_time=1).sizes["time"] > 1
    assert [p.name.startswith("types3-") for p in cache.iterdir()] == [True]


def test_run_config_time_output_is_ignored(conformance_fmus):
    model = FmuModel(conformance_fmus["bounce2"])
    ds = model.run(RunConfig(outputs=["time", "h"], stop_time=1, output_interval=0.5))
    assert list(ds.data_vars) == ["h"]


@pytest.mark.parametrize(
    ("fmu", "params"),
    [
        ("types3", {}),
        ("types3", {"stop_at": 3.5}),
        ("bounce2", {}),
        ("bounce2", {"max_bounces": 4}),
        ("counter2", {}),
    ],
)
def test_c_loop_and_python_loop_record_the_same(conformance_fmus, fmu, params):
    c_loop = FmuModel(conformance_fmus[fmu])
    assert c_loop.uses_stepper, "the C stepper did not build"
    a = c_loop.run(parameters=params, output_interval=0.5, step_size=0.25)
    b = FmuModel(conformance_fmus[fmu], use_stepper=False).run(
        parameters=params, output_interval=0.5, step_size=0.25
    )
    assert a.attrs.get("terminated_at") == b.attrs.get("terminated_at")
    for name in a.data_vars:
        assert a[name].dtype == b[name].dtype
        np.testing.assert_array_equal(a[name].values, b[name].values)
    np.testing.assert_array_equal(a.time.values, b.time.values)
