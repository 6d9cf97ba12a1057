"""Extended Kalman filter on the FMU's continuous states (ME mode).

Discrete EKF (Simon, *Optimal State Estimation*, Wiley 2006, §13.2) with the
FMU as the process model: the prediction integrates the Model-Exchange
right-hand side over the sample (RK4, :class:`fmu_models.MeStepper` through
:class:`~twin._model.FmuStepper`); the
state-transition Jacobian ``F = ∂x_{k+1}/∂x_k`` comes from forward differences
of that integration (one extra integration per state). The measured outputs
must be states (``H`` selects them); the update uses the Joseph form
``P = (I − KH) P (I − KH)ᵀ + K R Kᵀ`` so that ``P`` stays symmetric positive
definite. Rows of tags that are unusable or whose detector is in alarm are left
out of the update, so a sensor fault is not pulled into the twin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["StateEkf"]


class StateEkf:
    """EKF over all continuous states of a :class:`~twin._model.FmuStepper` in ME mode.

    Parameters
    ----------
    model
        The stepper (mode ``"me"``).
    measured
        State names that are measured (order of the measurement vector).
    r_std
        Measurement noise std per measured state (FMU units).
    q_std
        Process-noise std per state per √s (FMU units / √s); a state missing
        from the mapping gets ``q_default × nominal``.
    p0_std
        Initial std per state as a fraction of its nominal.
    """

    def __init__(self, model, measured: Sequence[str], r_std: Sequence[float], *,
                 q_std: dict[str, float] | None = None, q_default: float = 1e-6, p0_std: float = 1e-3) -> None:
        self.model = model
        names = model.state_names
        self.idx = np.array([names.index(m) for m in measured])
        self.R = np.diag(np.square(np.asarray(r_std, float)))
        nominal = np.array([_nominal(model, n) for n in names])
        q = np.array([(q_std or {}).get(n, q_default * nom) for n, nom in zip(names, nominal, strict=True)])
        self.q2 = np.square(q)
        self.nominal = nominal
        self.P = np.diag(np.square(p0_std * nominal))
        self.innovation_var = np.diag(self.R).copy()

    def predict(self, u: np.ndarray, dt: float) -> np.ndarray:
        """Propagate state (model step) and covariance; return the model outputs."""
        m = self.model
        x0 = m.state_vector
        t0 = m.time
        n = x0.size
        F = np.empty((n, n))
        y = m.step(u, dt)
        x1 = m.state_vector
        for j in range(n):
            h = 1e-6 * self.nominal[j]
            xp = x0.copy()
            xp[j] += h
            F[:, j] = (m.integrate_from(xp, t0, dt) - x1) / h
        self.P = F @ self.P @ F.T + np.diag(self.q2 * dt)
        H = self.P[np.ix_(self.idx, self.idx)]
        self.innovation_var = np.diag(H) + np.diag(self.R)
        return y

    def update(self, z: np.ndarray, use: np.ndarray) -> None:
        """Correct the states with measurements ``z`` (FMU units) where ``use`` is True."""
        rows = np.flatnonzero(use & np.isfinite(z))
        if rows.size == 0:
            return
        m = self.model
        x = m.state_vector
        n = x.size
        H = np.zeros((rows.size, n))
        H[np.arange(rows.size), self.idx[rows]] = 1.0
        R = self.R[np.ix_(rows, rows)]
        S = H @ self.P @ H.T + R
        K = np.linalg.solve(S, H @ self.P).T
        innov = z[rows] - x[self.idx[rows]]
        m.state_vector = x + K @ innov
        I_KH = np.eye(n) - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ R @ K.T


def _nominal(model, name: str) -> float:
    v = model._ref(name, "variable")
    try:
        nom = float(v.nominal) if v.nominal not in (None, "") else 1.0
    except ValueError:
        nom = 1.0
    return abs(nom) or 1.0
