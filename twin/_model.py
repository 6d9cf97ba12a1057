"""The twin's handle on its FMU: named inputs/outputs, parameters and state snapshots.

:class:`FmuStepper` is what the :class:`~twin.Twin`, the plant emulator,
calibration and look-ahead step. It holds one :class:`fmu_models.Stepper`
(from :func:`fmu_models.open_stepper`), loaded once and reset between runs:

* ``mode="cs"`` steps the FMU's own Co-Simulation solver
  (:class:`fmu_models.CsStepper`; blocks of samples go through the runtime's
  C loop) — the fast path;
* ``mode="me"`` integrates the Model-Exchange interface with classical RK4 at a
  fixed sub-step ``me_step`` (:class:`fmu_models.MeStepper`; the reactor's
  fastest time constant is minutes, so ``me_step = 1 s`` keeps the RK4 error far
  below sensor noise; checked against CS in ``tests/twin/test_twin_loop.py``). ME
  mode exposes the continuous states, which state re-sync
  (:meth:`FmuStepper.set_states`) and the EKF need: FMI 2.0 forbids setting the
  states of a Co-Simulation FMU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from workbench.errors import FmuError, did_you_mean

__all__ = ["FmuStepper"]


class FmuStepper:
    """One FMU instance stepped sample by sample.

    Parameters
    ----------
    path
        ``.fmu`` file (FMI 2.0; CS for ``mode="cs"``, ME for ``mode="me"``).
    inputs
        FMU input variable names, in the order of the ``u`` vectors.
    outputs
        FMU variable names returned by :meth:`step` / :meth:`read`.
    parameters
        Parameter/start values set before initialisation (bool for Boolean variables).
    mode
        ``"cs"`` or ``"me"`` (see module docstring).
    me_step
        RK4 sub-step in s for ``mode="me"``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        inputs: Sequence[str],
        outputs: Sequence[str],
        parameters: Mapping[str, float | bool] | None = None,
        mode: str = "cs",
        me_step: float = 1.0,
    ) -> None:
        from fmu_models import open_stepper

        self.path = Path(path)
        if not self.path.exists():
            raise FmuError(f"{self.path}: no such FMU; build the shipped models with `twin fmu build`")
        if mode not in ("cs", "me"):
            raise FmuError(f"mode '{mode}' is not known; use 'cs' or 'me'")
        self.mode = mode
        self.me_step = float(me_step)
        self._s = open_stepper(self.path, interface=mode, max_step=self.me_step)
        self._vars = {v.name: v for v in self._s.info.variables}
        self.guid = self._s.guid
        self.input_names = list(inputs)
        self.parameters: dict[str, float | bool] = dict(parameters or {})
        for name in self.input_names:
            self._ref(name, "input")
        for name in self.parameters:
            self._ref(name, "parameter")
        self._s.set_input_names(self.input_names)
        self._me = self._s if mode == "me" else None
        if self._me is not None:
            self._in_vr = self._me.value_references(self.input_names, "input")
        self.set_outputs(outputs)
        self.time = 0.0
        self._u = np.zeros(len(self.input_names))
        self.reset()

    # -- description ----------------------------------------------------------------------
    def set_outputs(self, names: Sequence[str]) -> None:
        """Choose the variables :meth:`step` and :meth:`read` return."""
        for n in names:
            self._ref(n, "variable")
        self.output_names = list(names)
        self._s.set_outputs(self.output_names)

    @property
    def variable_names(self) -> list[str]:
        """Every variable name of the FMU."""
        return list(self._vars)

    def variable_unit(self, name: str) -> str:
        """Unit of an FMU variable (``"1"`` if none is declared)."""
        return self._ref(name, "variable").units or "1"

    def causality(self, name: str) -> str:
        """FMI causality of ``name`` (``input``, ``output``, ``parameter``, ``local`` …)."""
        return self._ref(name, "variable").causality

    def start_value(self, name: str) -> float:
        """Start value of ``name`` from the model description (NaN if none)."""
        start = self._ref(name, "variable").start
        if start in (None, ""):
            return float("nan")
        if str(start).lower() in ("true", "false"):
            return float(str(start).lower() == "true")
        return float(start)

    @property
    def state_names(self) -> list[str]:
        """Names of the continuous states (ME order; empty in CS mode)."""
        return list(self._me.state_names) if self.mode == "me" else []

    @property
    def state_vector(self) -> np.ndarray:
        """Continuous states now, in :attr:`state_names` order (ME mode; a copy)."""
        self._need_me("state_vector")
        return self._me.states

    @state_vector.setter
    def state_vector(self, x: np.ndarray) -> None:
        self._need_me("state_vector")
        self._me.states = x

    def integrate_from(self, x: np.ndarray, t0: float, dt: float, u: np.ndarray | None = None) -> np.ndarray:
        """States after ``dt`` s of RK4 from states ``x`` at ``t0`` (ME mode).

        Under inputs ``u`` (FMU units; default: the current inputs). The stepper's
        own time, states and inputs are left as they were (for finite-difference
        Jacobians, e.g. the EKF's state-transition and input matrices).
        """
        self._need_me("integrate_from")
        me = self._me
        keep_x, keep_t = me.states, me.time
        me.states, me.time = x, t0
        if u is not None:
            me.set_real(self._in_vr, np.asarray(u, float).tolist())
        me.step(dt, max_step=self.me_step)
        out = me.states
        if u is not None:
            me.set_real(self._in_vr, self._u.tolist())
        me.states, me.time = keep_x, keep_t
        return out

    def linearise(self, x: np.ndarray, t: float, u: np.ndarray, inputs: Sequence[int] = (), *,
                  dx: np.ndarray, du: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Jacobians ``A = ∂f/∂x`` and ``B = ∂f/∂u[inputs]`` of the ME right-hand side at (``t``, ``x``, ``u``).

        Forward differences with steps ``dx`` per state and ``du`` per listed
        input; one derivative evaluation per column. The stepper's states and
        inputs are left as they were.
        """
        self._need_me("linearise")
        me = self._me
        u = np.asarray(u, float)
        me.set_real(self._in_vr, u.tolist())
        f0 = me.derivatives(t, x)
        A = np.empty((x.size, x.size))
        for j in range(x.size):
            xp = np.array(x, float)
            xp[j] += dx[j]
            A[:, j] = (me.derivatives(t, xp) - f0) / dx[j]
        B = np.empty((x.size, len(inputs)))
        for c, j in enumerate(inputs):
            up = u.copy()
            up[j] += du[c]
            me.set_real(self._in_vr, up.tolist())
            B[:, c] = (me.derivatives(t, x) - f0) / du[c]
        me.set_real(self._in_vr, self._u.tolist())
        return A, B

    # -- running --------------------------------------------------------------------------
    def reset(self, parameters: Mapping[str, float | bool] | None = None, *, start_time: float = 0.0) -> None:
        """Reset the instance to t = ``start_time`` with ``parameters`` (default: the current ones)."""
        if parameters is not None:
            for name in parameters:
                self._ref(name, "parameter")
            self.parameters = {**self.parameters, **parameters}
        self.time = float(start_time)
        self._s.start(self.parameters, start_time=start_time)
        self._u = self._s.read(self.input_names) if self.input_names else np.zeros(0)

    def set_parameters(self, values: Mapping[str, float | bool]) -> None:
        """Change tunable parameters between steps (e.g. drift, faults)."""
        for name in values:
            self._ref(name, "parameter")
        self.parameters.update(values)
        self._s.set_parameters(values)

    def step(self, u: np.ndarray | Sequence[float], dt: float) -> np.ndarray:
        """Set inputs ``u``, advance by ``dt`` seconds and return the outputs."""
        u = np.asarray(u, dtype=float)
        if u.shape != self._u.shape:
            raise FmuError(
                f"{self.path.name}: step got {u.size} inputs, expected {self._u.size} ({self.input_names})"
            )
        self._u = u
        s = self._s
        if self.input_names:
            s.set_inputs(u)
        if dt > 0:
            s.step(dt)
            self.time = s.time
        return s.read() if self.output_names else np.zeros(0)

    def step_block(self, u: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Step through a block of samples; the same as ``[self.step(u[k], dt[k]) for k ...]``.

        :meth:`fmu_models.Stepper.step_block`: in CS mode, runs of steps on a
        uniform grid go through the runtime's C loop in one call.

        Parameters
        ----------
        u
            Inputs per step (n × inputs), FMU units.
        dt
            Step lengths (n,), s.

        Returns
        -------
        numpy.ndarray
            Outputs after each step (n × outputs).
        """
        u = np.asarray(u, dtype=float)
        n = np.size(dt)
        if u.shape != (n, self._u.size):
            return np.array([self.step(u[k], float(dt[k])) for k in range(n)]).reshape(n, len(self.output_names))
        try:
            y = self._s.step_block(u, dt)
        finally:
            self.time = self._s.time
        if n:
            self._u = u[-1].copy()
        return y

    def read(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Current values of the outputs (or of ``names``)."""
        if names is None:
            return self._s.read() if self.output_names else np.zeros(0)
        names = list(names)
        for n in names:
            self._ref(n, "variable")
        return self._s.read(names) if names else np.zeros(0)

    def get_state(self):
        """Snapshot of the complete model state (for look-ahead); free it with :meth:`free_state`."""
        return (self.mode, self.time, self._s.get_state(), self._u.copy(), dict(self.parameters))

    def set_state(self, state) -> None:
        """Restore a snapshot from :meth:`get_state` (it stays valid for reuse)."""
        kind, t, payload, u, params = state
        if kind != self.mode:
            raise FmuError(f"state from mode '{kind}' cannot be restored into mode '{self.mode}'")
        self.time = t
        self._u = u.copy()
        self._s.set_state(payload)
        if kind == "me":
            if params != self.parameters:
                self.set_parameters(params)
        else:
            self.parameters = dict(params)

    def free_state(self, state) -> None:
        """Release a snapshot's memory in the FMU (CS; nothing to free for ME)."""
        if state[0] == "cs":
            self._s.free_state(state[2])

    def get_states(self) -> dict[str, float]:
        """Continuous states by name (ME mode)."""
        self._need_me("get_states")
        return dict(zip(self._me.state_names, self._me.states.tolist(), strict=True))

    def set_states(self, values: Mapping[str, float]) -> None:
        """Overwrite continuous states by name (state re-sync; ME mode only)."""
        self._need_me("set_states")
        names = self._me.state_names
        x = self._me.states
        for name, value in values.items():
            if name not in names:
                raise FmuError(f"{self.path.name}: '{name}' is not a continuous state; {did_you_mean(name, names)}")
            x[names.index(name)] = float(value)
        self._me.states = x

    def close(self) -> None:
        """Free the instance."""
        self._s.close()

    # -- internals ------------------------------------------------------------------------
    def _ref(self, name: str, what: str):
        v = self._vars.get(name)
        if v is None:
            raise FmuError(f"{self.path.name}: no {what} named '{name}'; {did_you_mean(name, self._vars)}")
        return v

    def _need_me(self, what: str) -> None:
        if self.mode != "me":
            raise FmuError(f"{what} needs mode 'me' (FMI 2.0 Co-Simulation cannot set states)")
