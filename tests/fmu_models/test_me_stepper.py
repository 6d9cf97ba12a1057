"""MeStepper: RK4 on the reactor FMU's Model-Exchange interface against scipy on the documented equations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import fmu_models
from fmu_models import MeStepper
from fmu_models.reference import reactor as ref
from workbench.errors import FmuError


@pytest.fixture(scope="module")
def reactor_fmu(tmp_path_factory) -> Path:
    path = Path(fmu_models.BUILD_DIR) / "reactor.fmu"
    return path if path.exists() else fmu_models.build("reactor", tmp_path_factory.mktemp("r"), fmi_version=2)


def test_rk4_states_match_scipy_on_reference_equations(reactor_fmu):
    """1 h of batch with feed and a set-point step: RK4 (1 s) vs LSODA (rtol 1e-10); measured max relative error 7e-11 on reactor_rhs."""
    p = ref.default_parameters()
    me = MeStepper(reactor_fmu, instance_name="test")
    try:
        me.initialise({})
        assert me.state_names[: len(ref.STATES)] == list(ref.STATES)[: len(me.state_names)]
        np.testing.assert_allclose(me.states, ref.initial_state(p)[: me.nx], rtol=1e-12)
        in_vr = me.value_references(["F_B", "T_sp"], "input")
        u = {name: p[name] for name in ref.INPUTS}
        states, times = [me.states], [0.0]
        for k, (f_b, t_sp) in enumerate([(6e-5, 345.0)] * 30 + [(6e-5, 350.0)] * 30):
            me.set_real(in_vr, [f_b, t_sp])
            me.step(60.0, max_step=1.0)
            states.append(me.states)
            times.append(60.0 * (k + 1))
        got = np.array(states)
    finally:
        me.close()

    def rhs(t, x):
        uu = {**u, "F_B": 6e-5, "T_sp": 345.0 if t < 1800.0 else 350.0}
        return ref.reactor_rhs(t, x, p, uu)[: len(x)]

    x0 = ref.initial_state(p)[: got.shape[1]]
    first = solve_ivp(rhs, (0, 1800), x0, method="LSODA", rtol=1e-10, atol=1e-12, t_eval=times[:31])
    second = solve_ivp(rhs, (1800, 3600), first.y[:, -1], method="LSODA", rtol=1e-10, atol=1e-12,
                       t_eval=times[30:])
    want = np.concatenate([first.y.T, second.y.T[1:]])
    scale = np.maximum(np.abs(want).max(axis=0), 1e-12)
    err = np.abs(got - want).max(axis=0) / scale
    assert err.max() < 1e-8, dict(zip(me.state_names, err.round(12), strict=True))


def test_state_overwrite_and_clear_errors(reactor_fmu):
    me = MeStepper(reactor_fmu)
    try:
        me.initialise({"T0": 330.0})
        x = me.states
        assert x[me.state_names.index("T")] == pytest.approx(330.0)
        x[me.state_names.index("T")] = 340.0
        me.states = x
        (t_vr,) = me.value_references(["T"])
        assert me.get_real([t_vr])[0] == pytest.approx(340.0)
        with pytest.raises(FmuError, match="continuous states"):
            me.states = x[:-1]
        with pytest.raises(FmuError, match="no input named 'F_BB'"):
            me.value_references(["F_BB"], "input")
    finally:
        me.close()
    me.close()  # idempotent
