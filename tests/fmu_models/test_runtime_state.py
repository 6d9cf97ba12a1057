"""FMU state get/set/serialize, continuing runs from a state, and the stepping API."""

from __future__ import annotations

import numpy as np
import pytest

from fmu_models import FmuModel, FmuState, RunConfig
from tests.fmu_models.lag_fixtures import lag_fmus_fixture  # noqa: F401 - fixture
from workbench.errors import ConfigError, FmuError

RAMP = {"u": ([0.0, 50.0], [0.0, 10.0])}
PARAMS = {"k": 2.0, "tau": 5.0}


@pytest.mark.parametrize("version", [2, 3])
def test_continue_from_state_reproduces_trajectory(lag_fmus, version):
    model = FmuModel(lag_fmus[version])
    cfg = RunConfig(parameters=PARAMS, inputs=RAMP, output_interval=0.5)
    full = model.run(cfg, stop_time=50)
    model.run(cfg, stop_time=20)
    state = model.get_state()
    assert isinstance(state, FmuState) and state.time == 20.0
    blob = model.serialize_state(state)
    model.run(cfg, parameters={"k": -3.0}, stop_time=50)  # disturb the instance in between
    rest = model.run(cfg, stop_time=50, start_state=state)
    assert rest.time.values[0] == 20.0 and rest.sizes["time"] == 61
    np.testing.assert_array_equal(rest.y.values, full.y.sel(time=rest.time).values)
    # serialized bytes move the state to another instance (another process could do the same)
    other = FmuModel(lag_fmus[version])
    moved = other.run(cfg, stop_time=50, start_state=blob)
    np.testing.assert_array_equal(moved.y.values, rest.y.values)
    with pytest.raises(ConfigError, match="differs from the time of start_state"):
        other.run(cfg, stop_time=50, start_time=10, start_state=blob)


@pytest.mark.parametrize("version", [2, 3])
def test_set_state_rewinds_stepping(lag_fmus, version):
    model = FmuModel(lag_fmus[version]).start(parameters=PARAMS, inputs={"u": 3.0})
    model.step_to(2.0)
    snap = model.get_state()
    model.set(["u"], [7.0])
    model.step_to(4.0)
    ahead = model.get(["y", "u"])
    model.set_state(snap)
    assert model.time == 2.0
    assert model.get(["u"])[0] == 3.0
    model.set(["u"], [7.0])
    model.step_to(4.0)
    np.testing.assert_array_equal(model.get(["y", "u"]), ahead)
    # deserialize -> set gives the same again
    model.set_state(model.deserialize_state(model.serialize_state(snap)))
    model.set(["u"], [7.0])
    model.step_to(4.0)
    np.testing.assert_array_equal(model.get(["y", "u"]), ahead)


@pytest.mark.parametrize("version", [2, 3])
def test_stepping_api_matches_run(lag_fmus, version):
    model = FmuModel(lag_fmus[version])
    ref = model.run(parameters=PARAMS, inputs={"u": 4.0}, stop_time=10, output_interval=0.5)
    model.start(parameters=PARAMS, inputs={"u": 4.0})
    ys = [model.get(["y"])[0]]
    for k in range(1, 21):
        model.step_to(0.5 * k)
        ys.append(model.get(["y"])[0])
    np.testing.assert_array_equal(ys, ref.y.values)
    with pytest.raises(FmuError, match="'yy'.*did you mean 'y'"):
        model.get(["yy"])


def test_state_errors(lag_fmus):
    me = FmuModel(lag_fmus[2], interface="me")
    with pytest.raises(FmuError, match="needs interface='cs'"):
        me.start()
    cs = FmuModel(lag_fmus[2]).start()
    with pytest.raises(FmuError, match="not a workbench FMU state"):
        cs.set_state(b"garbage bytes here!")
    other = FmuModel(lag_fmus[2]).start()
    with pytest.raises(FmuError, match="belongs to another FMU instance"):
        other.set_state(cs.get_state())
    with pytest.raises(FmuError, match="fmi2DoStep failed at t = 0 s"):
        FmuModel(lag_fmus[2]).start(parameters={"fail_time": 0.5}).step_to(1.0)
