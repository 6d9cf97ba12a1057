"""An FMI 2.0 Model-Exchange instance stepped by fixed-step RK4, with its continuous states exposed.

State estimation (state re-sync, the twin's extended Kalman filter) has to read and
overwrite an FMU's continuous states between samples. FMI 2.0 forbids setting the states
of a Co-Simulation FMU, so :class:`MeStepper` drives the Model-Exchange interface
(FMI 2.0 standard, section 3.2, "Model Exchange"): it sets time, states and inputs, asks
for the derivatives and integrates them with the classical fourth-order Runge–Kutta
method at a fixed sub-step,

    k1 = f(t, x), k2 = f(t + h/2, x + h/2 k1), k3 = f(t + h/2, x + h/2 k2),
    k4 = f(t + h, x + h k3), x(t + h) = x + h/6 (k1 + 2 k2 + 2 k3 + k4)

(Hairer, Nørsett & Wanner, *Solving Ordinary Differential Equations I*, section II.1).
The global error is O(h⁴): with a sub-step well below the model's fastest time constant it
is far below sensor noise (the twin checks ME against CS in ``tests/twin``). The FMU must
not have state events in the stepped range (the shipped models have none); time events
are not handled either.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from fmu_models._binary import LoadedFmu, extract_cached
from fmu_models._describe import info_from_description
from fmu_models._instance import FmuState
from fmu_models._stepping import Stepper
from workbench.errors import FmuError, did_you_mean

__all__ = ["MeStepper"]

_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


class MeStepper(Stepper):
    """One FMI 2.0 Model-Exchange instance: initialise, set states, step with RK4.

    Implements the :class:`~fmu_models.Stepper` interface (``start``, ``set_inputs``,
    ``step``, ``read``, ``step_block``, ``get_state``/``set_state``) and adds the
    continuous states (:attr:`states`) and the right-hand side (:meth:`derivatives`).

    Parameters
    ----------
    path
        ``.fmu`` file (or extracted folder) with a Model-Exchange interface, FMI 2.0.
    instance_name
        Name given to the FMU instance (appears in its log messages).
    inputs, outputs
        Input names set by :meth:`set_inputs` and outputs returned by :meth:`read`.
    max_step
        Default RK4 sub-step of :meth:`step`, s.

    Attributes
    ----------
    state_names
        Names of the continuous states, in the FMU's order (``<Derivatives>``).
    variables
        Variable name → fmpy ``ScalarVariable`` (``value_reference``, ``type``, ``unit`` …).
    time
        Current time, s.
    """

    interface = "me"

    def __init__(self, path: str | Path, *, instance_name: str = "me", inputs: Sequence[str] = (),
                 outputs: Sequence[str] = (), max_step: float = 1.0) -> None:
        from fmpy import read_model_description

        self.path = Path(path)
        folder = extract_cached(self.path)
        md = read_model_description(str(folder))
        if md.fmiMajorVersion != 2:
            raise FmuError(f"{self.path.name}: Model-Exchange stepping supports FMI 2.0, this FMU is FMI {md.fmiVersion}")
        self.info = info_from_description(self.path, md)
        self._loaded = LoadedFmu(self.path.name, md, folder, "me")
        self._fmu = self._loaded.fmu
        self.variables = {v.name: v for v in md.modelVariables}
        self.state_names = [d.variable.derivative.name for d in md.derivatives]
        self.nx = int(md.numberOfContinuousStates)
        self.max_step = float(max_step)
        self._x = np.zeros(self.nx)
        self._started = False
        self.time = 0.0
        self.set_input_names(inputs)
        self.set_outputs(outputs)

    # -- set-up ---------------------------------------------------------------------------
    def value_references(self, names: Sequence[str], what: str = "variable") -> list[int]:
        """Value references of ``names`` (a clear error for an unknown name)."""
        out = []
        for name in names:
            v = self.variables.get(name)
            if v is None:
                raise FmuError(f"{self.path.name}: no {what} named '{name}'; {did_you_mean(name, self.variables)}")
            out.append(v.valueReference)
        return out

    def set_values(self, values: Mapping[str, float | bool]) -> None:
        """Set variables by name with the setter of their type (Real, Integer, Boolean)."""
        for name, value in values.items():
            (vr,) = self.value_references([name])
            kind = self.variables[name].type
            if kind == "Boolean":
                self._loaded.call("setBoolean", [vr], [bool(value)], at=self.time)
            elif kind in ("Integer", "Enumeration"):
                self._loaded.call("setInteger", [vr], [int(value)], at=self.time)
            else:
                self._loaded.call("setReal", [vr], [float(value)], at=self.time)

    def initialise(self, parameters: Mapping[str, float | bool] | None = None, *, start_time: float = 0.0) -> None:
        """(Re)initialise at ``start_time`` with ``parameters``; states take their initial values."""
        call = self._loaded.call
        if self._started:
            call("reset", at=start_time)
        self._started = True
        self.time = float(start_time)
        call("setupExperiment", None, start_time, at=start_time)
        self.set_values(parameters or {})
        call("enterInitializationMode", at=start_time)
        call("exitInitializationMode", at=start_time)
        call("newDiscreteStates", at=start_time)
        call("enterContinuousTimeMode", at=start_time)
        self._x = np.zeros(self.nx)
        self._fmu.getContinuousStates(self._x.ctypes.data_as(_DOUBLE_P), self.nx)

    # -- the Stepper interface --------------------------------------------------------------
    def start(self, parameters: Mapping[str, float | bool] | None = None, *, start_time: float = 0.0) -> None:
        """(Re)initialise at ``start_time`` with ``parameters`` (same as :meth:`initialise`)."""
        self.initialise(parameters, start_time=start_time)

    def set_outputs(self, names: Sequence[str]) -> None:
        """Choose the variables :meth:`read` returns."""
        self._out_vr = self.value_references(names)
        self.output_names = list(names)

    def set_input_names(self, names: Sequence[str]) -> None:
        """Choose the inputs :meth:`set_inputs` sets, in the order of its values."""
        self._in_vr = self.value_references(names, "input")
        self.input_names = list(names)

    def set_parameters(self, values: Mapping[str, float | bool]) -> None:
        """Change parameters between steps (typed setters, as :meth:`set_values`)."""
        self.set_values(values)

    def set_inputs(self, u: np.ndarray | Sequence[float]) -> None:
        """Set the inputs (values of :attr:`input_names`)."""
        self._fmu.setReal(self._in_vr, [float(v) for v in u])

    def read(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Current values of the outputs (or of ``names``) at the current time and states."""
        vrs = self._out_vr if names is None else self.value_references(names)
        return self.get_real(vrs) if len(vrs) else np.zeros(0)

    def get_state(self) -> FmuState:
        """Snapshot of the time and the continuous states (no FMU memory to free)."""
        return FmuState(self.time, self._x.copy())

    def set_state(self, state: FmuState) -> None:
        """Restore the time and continuous states of a snapshot."""
        self.states = state.handle
        self.time = state.time

    # -- states and values ----------------------------------------------------------------
    @property
    def states(self) -> np.ndarray:
        """Continuous states now (a copy)."""
        return self._x.copy()

    @states.setter
    def states(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=float)
        if x.shape != (self.nx,):
            raise FmuError(f"{self.path.name}: {self.nx} continuous states {self.state_names}, got shape {x.shape}")
        self._x = x.copy()

    def set_real(self, vrs: Sequence[int], values: Sequence[float]) -> None:
        """Set Real variables (inputs) by value reference."""
        self._fmu.setReal(list(vrs), [float(v) for v in values])

    def get_real(self, vrs: Sequence[int]) -> np.ndarray:
        """Real variables at the current time and states."""
        self._push_states(self._x)
        return np.array(self._fmu.getReal(list(vrs)), dtype=float)

    def derivatives(self, t: float, x: np.ndarray) -> np.ndarray:
        """State derivatives dx/dt at time ``t`` and states ``x`` (inputs as last set)."""
        self._fmu.setTime(t)
        self._push_states(x)
        dx = np.empty_like(x)
        self._fmu.getDerivatives(dx.ctypes.data_as(_DOUBLE_P), dx.size)
        return dx

    # -- stepping -------------------------------------------------------------------------
    def step(self, dt: float, *, max_step: float | None = None) -> None:
        """Advance ``dt`` seconds with RK4 sub-steps of at most ``max_step`` seconds (default :attr:`max_step`)."""
        if max_step is None:
            max_step = self.max_step
        n_sub = max(1, int(np.ceil(dt / max_step - 1e-9)))
        h = dt / n_sub
        t, x = self.time, self._x
        f = self.derivatives
        for _ in range(n_sub):
            k1 = f(t, x)
            k2 = f(t + h / 2, x + h / 2 * k1)
            k3 = f(t + h / 2, x + h / 2 * k2)
            k4 = f(t + h, x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t += h
            self._push_states(x)
            self._fmu.completedIntegratorStep()
        self._x = x
        self.time += dt

    def close(self) -> None:
        """Terminate and free the instance (idempotent)."""
        loaded, self._loaded = getattr(self, "_loaded", None), None
        if loaded is not None and loaded.fmu is not None:
            try:
                loaded.fmu.terminate()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
            loaded.free()

    def _push_states(self, x: np.ndarray) -> None:
        buf = np.ascontiguousarray(x, dtype=float)
        self._fmu.setContinuousStates(buf.ctypes.data_as(_DOUBLE_P), buf.size)
