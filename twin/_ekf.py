"""Extended Kalman filter on the FMU's continuous states (ME mode).

Continuous-discrete EKF (Simon, *Optimal State Estimation*, Wiley 2006,
§13.2) with the FMU as the process model: the state prediction integrates the
Model-Exchange right-hand side ``ẋ = f(x, u)`` over the sample (RK4,
:class:`fmu_models.MeStepper` through :class:`~twin._model.FmuStepper`). The
covariance prediction linearises ``f`` at the step's midpoint, ``A = ∂f/∂x`` and
``B = ∂f/∂u`` by forward differences of the derivatives (one evaluation per
column), and discretises with one matrix exponential (Van Loan, *IEEE Trans.
Autom. Control* 23(3), 1978): ``exp([[A, B], [0, 0]] Δt) = [[F, Γ], [0, I]]``,
``F = ∂x_{k+1}/∂x_k`` and ``Γ = ∂x_{k+1}/∂u_k`` for inputs held over the step.
Noise on the *measured inputs* that drive the model enters as process noise
through ``Γ`` (Simon 2006, §13.2: ``P⁻ = F P Fᵀ + Γ Q_u Γᵀ + Q``; errors in
variables: without it the propagated input noise makes the innovations
autocorrelated and a CUSUM on them alarms far more often than its ARL says). The
measured outputs must be states (``H`` selects them); the update uses the Joseph
form ``P = (I − KH) P (I − KH)ᵀ + K R Kᵀ`` so that ``P`` stays symmetric positive
definite. Rows of tags that are unusable or whose detector is in alarm are left
out of the update, so a sensor fault is not pulled into the twin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import expm

__all__ = ["StateEkf", "binding_ekf"]


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
    q_default
        Process-noise std per √s, as a fraction of the nominal, of states missing from ``q_std``.
    input_std
        Measurement-noise std per model input (FMU units, order of
        ``model.input_names``; 0 = noise-free). The inputs are sampled and held,
        so each noise sample acts over a whole step: ``Q_u = diag(input_std²)``
        per step.
    p0_std
        Initial std per state as a fraction of its nominal.
    """

    def __init__(self, model, measured: Sequence[str], r_std: Sequence[float], *,
                 q_std: dict[str, float] | None = None, q_default: float = 1e-6,
                 input_std: Sequence[float] | None = None, p0_std: float = 1e-3) -> None:
        self.model = model
        names = model.state_names
        self.idx = np.array([names.index(m) for m in measured])
        self.R = np.diag(np.square(np.asarray(r_std, float)))
        nominal = np.array([_nominal(model, n) for n in names])
        q = np.array([(q_std or {}).get(n, q_default * nom) for n, nom in zip(names, nominal, strict=True)])
        self.q2 = np.square(q)
        self.nominal = nominal
        #: Default initial variance per state, ``(p0_std × nominal)²``.
        self.p0_var = np.square(p0_std * nominal)
        self.P = np.diag(self.p0_var)
        self.innovation_var = np.diag(self.R).copy()
        u_std = np.zeros(len(model.input_names)) if input_std is None else np.asarray(input_std, float)
        if u_std.shape != (len(model.input_names),):
            raise ValueError(f"input_std has {u_std.size} entries, the model has {len(model.input_names)} inputs")
        self.noisy_inputs = np.flatnonzero(u_std > 0)
        self.input_std = u_std

    @property
    def innovation_cov(self) -> np.ndarray:
        """Predicted innovation covariance ``S = H P⁻ Hᵀ + R`` of the measured states (its diagonal is
        :attr:`innovation_var` after :meth:`predict`)."""
        return self.P[np.ix_(self.idx, self.idx)] + self.R

    def set_covariance(self, P: np.ndarray) -> None:
        """Replace the state covariance (e.g. a wide one when joining a running batch, see ``twin._join``)."""
        P = np.asarray(P, float)
        n = self.nominal.size
        if P.shape != (n, n) or not np.all(np.isfinite(P)):
            raise ValueError(f"covariance must be a finite {n} x {n} matrix, got shape {P.shape}")
        self.P = 0.5 * (P + P.T)
        self.innovation_var = np.diag(self.P)[self.idx] + np.diag(self.R)

    def predict(self, u: np.ndarray, dt: float) -> np.ndarray:
        """Propagate state (model step) and covariance; return the model outputs."""
        m = self.model
        x0 = m.state_vector
        t0 = m.time
        n = x0.size
        y = m.step(u, dt)
        if dt <= 0:
            return y
        x1 = m.state_vector
        u = np.asarray(u, float)
        cols = self.noisy_inputs
        du = np.maximum(1e-6 * np.abs(u[cols]), 1e-2 * self.input_std[cols])
        A, B = m.linearise(0.5 * (x0 + x1), t0 + 0.5 * dt, u, cols, dx=1e-6 * self.nominal, du=du)
        M = np.zeros((n + cols.size, n + cols.size))
        M[:n, :n] = A * dt
        M[:n, n:] = B * dt
        E = expm(M)
        F, G = E[:n, :n], E[:n, n:]
        self.P = F @ self.P @ F.T + (G * np.square(self.input_std[cols])) @ G.T + np.diag(self.q2 * dt)
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


def binding_ekf(binding, model, to_fmu: np.ndarray, *, required: bool) -> StateEkf | None:
    """The EKF of a :class:`~twin.TwinBinding` over its synced outputs (R from their ``sigma``).

    ``to_fmu`` holds the tag → FMU unit conversion (scale, offset) per tag, inputs
    first. A synced output without ``sigma`` is a :class:`~workbench.errors.ConfigError`
    when ``required``; otherwise (an EKF that only helps, e.g. at join) None is returned.
    """
    from workbench.errors import ConfigError

    n_in = len(binding.inputs)
    outs = [(i, o) for i, o in enumerate(binding.outputs) if o.sync]
    for _, o in outs:
        if o.sigma is None:
            if not required:
                return None
            raise ConfigError(
                f"output '{o.tag}' is synced by the EKF but has no sigma; give its measurement-noise "
                f"standard deviation in {o.unit} (the filter's R)",
                source=binding.source_file, path=f"tags.{o.tag}.sigma")
    r_std = [o.sigma * abs(to_fmu[n_in + i, 0]) for i, o in outs]
    u_std = [(t.sigma or 0.0) * abs(to_fmu[i, 0]) for i, t in enumerate(binding.inputs)]
    return StateEkf(model, [o.variable for _, o in outs], r_std,
                    q_std=binding.sync.process_noise or None, input_std=u_std)


def _nominal(model, name: str) -> float:
    v = model._ref(name, "variable")
    try:
        nom = float(v.nominal) if v.nominal not in (None, "") else 1.0
    except ValueError:
        nom = 1.0
    return abs(nom) or 1.0
