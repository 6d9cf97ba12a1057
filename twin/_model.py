"""The twin's handle on its FMU: a lean step API with state get/set and state reset.

:class:`FmuStepper` is what the :class:`~twin.Twin`, the plant emulator,
calibration and look-ahead step. It wraps one FMI 2.0 FMU instance that is
loaded once and reset between runs:

* ``mode="cs"`` steps the FMU's own Co-Simulation solver through the
  workbench runtime :class:`fmu_models.FmuModel` (``start``/``set``/``step_to``/
  ``get``/``get_state``/``set_state``) — the fast path;
* ``mode="me"`` integrates the Model-Exchange interface with classical RK4 at a
  fixed sub-step ``me_step`` (the reactor's fastest time constant is minutes,
  so ``me_step = 1 s`` keeps the RK4 error far below sensor noise; checked
  against CS in ``tests/twin/test_twin_loop.py``). ME mode exposes the continuous
  states, which state re-sync (:meth:`FmuStepper.set_states`) needs: FMI 2.0
  forbids setting the states of a Co-Simulation FMU. The ME instance and its
  RK4 stepping are :class:`fmu_models.MeStepper`.
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
        from fmu_models import FmuModel

        self.path = Path(path)
        if not self.path.exists():
            raise FmuError(f"{self.path}: no such FMU; build the shipped models with `twin fmu build`")
        if mode not in ("cs", "me"):
            raise FmuError(f"mode '{mode}' is not known; use 'cs' or 'me'")
        self.mode = mode
        self.me_step = float(me_step)
        # the runtime describes every FMU (and owns CS stepping)
        self._fm = FmuModel(self.path, interface="cs") if mode == "cs" else None
        if self._fm is not None:
            self._vars = dict(self._fm.variables)
            self.guid = self._fm.guid
        else:
            from fmu_models import describe_fmu

            info = describe_fmu(self.path)
            self._vars = {v.name: v for v in info.variables}
            self.guid = info.guid
        self.input_names = list(inputs)
        self.parameters: dict[str, float | bool] = dict(parameters or {})
        for name in self.input_names:
            self._ref(name, "input")
        for name in self.parameters:
            self._ref(name, "parameter")
        self.set_outputs(outputs)
        self.time = 0.0
        self._u = np.zeros(len(self.input_names))
        self._me = None
        if mode == "me":
            self._me_setup()
        self.reset()

    # -- description ----------------------------------------------------------------------
    def set_outputs(self, names: Sequence[str]) -> None:
        """Choose the variables :meth:`step` and :meth:`read` return."""
        self.output_names = list(names)
        for n in self.output_names:
            self._ref(n, "variable")

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
        if self.mode == "cs":
            self._fm.start(parameters=self.parameters, start_time=start_time)
            self._u = self._fm.get(self.input_names) if self.input_names else np.zeros(0)
        else:
            self._me_initialise(start_time)

    def set_parameters(self, values: Mapping[str, float | bool]) -> None:
        """Change tunable Real parameters between steps (e.g. drift, faults)."""
        self.parameters.update(values)
        if self.mode == "cs":
            self._fm.set(list(values), [float(v) for v in values.values()])
        else:
            self._me_set(values)

    def step(self, u: np.ndarray | Sequence[float], dt: float) -> np.ndarray:
        """Set inputs ``u``, advance by ``dt`` seconds and return the outputs."""
        u = np.asarray(u, dtype=float)
        if u.shape != self._u.shape:
            raise FmuError(
                f"{self.path.name}: step got {u.size} inputs, expected {self._u.size} ({self.input_names})"
            )
        self._u = u
        if self.mode == "cs":
            fm = self._fm
            if self.input_names:
                fm.set(self.input_names, u)
            if dt > 0:
                self.time = fm.step_to(self.time + dt)
            return fm.get(self.output_names) if self.output_names else np.zeros(0)
        if self.input_names:
            self._me.set_real(self._in_vr, u.tolist())
        if dt > 0:
            self._me.time = self.time
            self._me.step(dt, max_step=self.me_step)
            self.time += dt
        return self.read()

    def step_block(self, u: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Step through a block of samples; the same as ``[self.step(u[k], dt[k]) for k ...]``.

        In CS mode with the runtime's C stepper, runs of steps whose
        communication points (accumulated exactly as :meth:`step` accumulates
        them) lie on a uniform grid go through the C loop in one call; any other
        step (and ME mode) goes through :meth:`step`. Every ``dt`` must be > 0.

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
        u = np.ascontiguousarray(u, dtype=float)
        dt = np.asarray(dt, dtype=float)
        n = dt.size
        fm = self._fm
        stepper = getattr(fm, "_stepper", None) if fm is not None else None
        if stepper is None or fm.fmi_version != 2 or not self.output_names or u.shape != (n, self._u.size) or not np.all(dt > 0):
            return np.array([self.step(u[k], float(dt[k])) for k in range(n)]).reshape(n, len(self.output_names))
        from fmu_models._config import TimeGrid
        from fmu_models._loops import loop_c

        acc = np.empty(n + 1)
        acc[0] = self.time
        acc[1:] = dt
        times = np.add.accumulate(acc)  # the times self.step reaches: ((t + dt0) + dt1) + ...
        y = np.empty((n + 1, len(self.output_names)))
        in_vr = fm._vrs(tuple(self.input_names))
        out_vr = fm._vrs(tuple(self.output_names))
        i = 0
        while i < n:
            t0 = times[i]
            if fm.time != t0:
                return self._step_rest(u, dt, y, i, n)
            h = float(dt[i])
            grid = t0 + np.arange(1, n - i + 1, dtype=float) * h  # as the C loop computes them
            off = np.flatnonzero(grid != times[i + 1:])
            m = int(off[0]) if off.size else n - i
            if m == 0:  # not on a grid (cannot happen for m = 1, kept for safety)
                y[i + 1] = self.step(u[i], h)
                i += 1
                continue
            status, done, call = loop_c(fm, TimeGrid(t0, float(times[i + m]), h, m, 1),
                                        in_vr, u[i:i + m], out_vr, y[i:i + m + 1])
            fm._time = float(times[i + done])
            self.time = fm._time
            if status:
                fm._failed = True
                fname = {1: "SetReal", 2: "DoStep", 3: "GetReal"}[call]
                raise fm._inst.error(None, f"fmi{fm.fmi_version}{fname}", self.time, status)
            i += m
        self._u = u[-1].copy()
        return y[1:].copy()

    def _step_rest(self, u: np.ndarray, dt: np.ndarray, y: np.ndarray, i: int, n: int) -> np.ndarray:
        for k in range(i, n):
            y[k + 1] = self.step(u[k], float(dt[k]))
        return y[1:].copy()

    def read(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Current values of the outputs (or of ``names``)."""
        names = self.output_names if names is None else list(names)
        if not names:
            return np.zeros(0)
        if self.mode == "cs":
            return self._fm.get(names)
        return self._me.get_real([self._ref(n, "variable").value_reference for n in names])

    def get_state(self):
        """Snapshot of the complete model state (for look-ahead); free CS ones with :meth:`free_state`."""
        if self.mode == "me":
            return ("me", self.time, self._me.states, self._u.copy(), dict(self.parameters))
        return ("cs", self.time, self._fm.get_state(), self._u.copy(), dict(self.parameters))

    def set_state(self, state) -> None:
        """Restore a snapshot from :meth:`get_state` (it stays valid for reuse)."""
        kind, t, payload, u, params = state
        if kind != self.mode:
            raise FmuError(f"state from mode '{kind}' cannot be restored into mode '{self.mode}'")
        self.time = t
        self._u = u.copy()
        if kind == "me":
            self._me.states = payload
            if params != self.parameters:
                self.set_parameters(params)
        else:
            self._fm.set_state(payload)
            self.parameters = dict(params)

    def free_state(self, state) -> None:
        """Release a CS snapshot's memory in the FMU."""
        if state[0] == "cs":
            self._fm.free_state(state[2])

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
        if self._fm is not None:
            self._fm.close()
        elif self._me is not None:
            self._me.close()

    # -- internals ------------------------------------------------------------------------
    def _ref(self, name: str, what: str):
        v = self._vars.get(name)
        if v is None:
            raise FmuError(f"{self.path.name}: no {what} named '{name}'; {did_you_mean(name, self._vars)}")
        return v

    def _need_me(self, what: str) -> None:
        if self.mode != "me":
            raise FmuError(f"{what} needs mode 'me' (FMI 2.0 Co-Simulation cannot set states)")

    # -- Model Exchange (fmu_models.MeStepper) -------------------------------------------
    def _me_setup(self) -> None:
        from fmu_models import MeStepper

        self._me = MeStepper(self.path, instance_name="twin")
        self._in_vr = self._me.value_references(self.input_names, "input")

    def _me_set(self, values: Mapping[str, float | bool]) -> None:
        for name in values:
            self._ref(name, "parameter")
        self._me.set_values(values)

    def _me_initialise(self, start_time: float) -> None:
        self._me.initialise(self.parameters, start_time=start_time)
        self._u = self._me.get_real(self._in_vr) if self._in_vr else np.zeros(0)
