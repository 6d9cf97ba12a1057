"""The EKF's covariance prediction: the midpoint-linearised matrix exponential against the RK4 step itself."""

from __future__ import annotations

import numpy as np
import pytest
from _reactor import need_fmu

from twin import FmuStepper
from twin._ekf import StateEkf


def _stepper():
    return FmuStepper(need_fmu(), inputs=["F_B", "F_cool", "T_cool_in"], outputs=["T", "T_jacket", "V"],
                      parameters={"controller_enabled": False}, mode="me")


def test_transition_and_input_matrices_match_finite_differences_of_the_step():
    """F = ∂x₊/∂x and Γ = ∂x₊/∂u from exp([[A, B], [0, 0]]Δt) agree with central differences of RK4.

    With P = I and no input noise the prediction is F Fᵀ; with P = 0 it is Γ diag(σ_u²) Γᵀ.
    """
    m = _stepper()
    u = np.array([6e-5, 2e-3, 300.0])
    for _ in range(90):  # 15 min into the batch: reaction running
        m.step(u, 10.0)
    ekf = StateEkf(m, ["T", "T_jacket", "V"], [0.05, 0.05, 0.002], input_std=[2.8e-7, 2.8e-6, 0.05])
    x0, t0, dt = m.state_vector, m.time, 10.0
    ekf.P = np.zeros_like(ekf.P)
    ekf.q2[:] = 0.0
    nominal = ekf.nominal
    fd_F = np.empty((x0.size, x0.size))
    for j in range(x0.size):
        h = 1e-4 * max(abs(x0[j]), nominal[j])
        xp, xm = x0.copy(), x0.copy()
        xp[j] += h
        xm[j] -= h
        fd_F[:, j] = (m.integrate_from(xp, t0, dt) - m.integrate_from(xm, t0, dt)) / (2 * h)
    fd_G = np.empty((x0.size, 3))
    for j in range(3):
        h = 1e-4 * abs(u[j])
        up, um = u.copy(), u.copy()
        up[j] += h
        um[j] -= h
        fd_G[:, j] = (m.integrate_from(x0, t0, dt, up) - m.integrate_from(x0, t0, dt, um)) / (2 * h)
    ekf.P = np.eye(x0.size)
    ekf.input_std[:] = 0.0
    ekf.noisy_inputs = np.array([], dtype=int)
    m.state_vector = x0
    ekf.predict(u, dt)
    FFt = ekf.P
    m.reset()
    for _ in range(90):
        m.step(u, 10.0)
    np.testing.assert_allclose(FFt, fd_F @ fd_F.T, rtol=2e-3, atol=1e-9)
    ekf.P = np.zeros_like(ekf.P)
    ekf.input_std = np.array([2.8e-7, 2.8e-6, 0.05])
    ekf.noisy_inputs = np.arange(3)
    ekf.predict(u, dt)
    expected = (fd_G * ekf.input_std**2) @ fd_G.T
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected))) + 1e-300
    # midpoint linearisation is second order in Δt: 0.5 % on this 10-s step, far below what
    # the filter's consistency (tests/validation/test_twin_false_alarms.py) can resolve
    assert np.max(np.abs(ekf.P - expected) / scale) < 1e-2
    assert np.diag(ekf.P)[[m.state_names.index("T_jacket")]] > 0  # coolant-side noise reaches the jacket
    m.close()


def test_input_std_must_match_the_model_inputs():
    m = _stepper()
    with pytest.raises(ValueError, match="3 inputs"):
        StateEkf(m, ["T"], [0.05], input_std=[0.1, 0.2])
    m.close()


def test_ekf_sync_without_output_sigma_is_a_clear_config_error(tmp_path):
    from _reactor import binding

    from twin import Twin
    from workbench.errors import ConfigError

    b = binding(**{"sync.method": "ekf"})
    b.outputs[1].sigma = None
    with pytest.raises(ConfigError, match="TI_jacket.*no sigma.*degC") as info:
        Twin(b)
    assert "tags.TI_jacket.sigma" in str(info.value)
