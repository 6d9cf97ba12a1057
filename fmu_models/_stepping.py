"""One stepper interface for co-simulation and model exchange.

Live loops (the twin, the plant emulator, look-ahead) advance an FMU sample by
sample: set the inputs, step ``dt`` seconds, read the outputs. :class:`Stepper`
is that interface; :func:`open_stepper` returns

* a :class:`CsStepper` for ``interface="cs"``: the FMU's own co-simulation
  solver, one ``doStep`` per sample; :meth:`CsStepper.step_block` runs a whole
  block of samples on a uniform grid through the runtime's C loop in one call;
* a :class:`~fmu_models.MeStepper` for ``interface="me"``: the Model-Exchange
  interface integrated by fixed-step RK4, with its continuous states exposed
  (state estimation needs to overwrite them; FMI 2.0 forbids that for CS).

Both are built on :class:`~fmu_models.FmuInstance` (or its binary loader) and
snapshot their state with :meth:`Stepper.get_state` / :meth:`Stepper.set_state`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fmu_models._config import TimeGrid
from fmu_models._describe import FmuInfo, FmuVariable
from fmu_models._instance import FmuInstance, FmuState
from fmu_models._loops import loop_c, loop_error
from fmu_models._outputs import plan_outputs
from fmu_models._stepper import load_stepper
from workbench.errors import ConfigError, FmuError, did_you_mean

__all__ = ["Stepper", "CsStepper", "open_stepper"]


class Stepper(ABC):
    """An FMU stepped sample by sample (co-simulation or model exchange).

    Attributes
    ----------
    path
        The FMU file.
    interface
        ``"cs"`` or ``"me"``.
    info
        The FMU's :class:`~fmu_models.FmuInfo` (variables with units, start values …).
    input_names, output_names
        Inputs set by :meth:`set_inputs` (in this order) and outputs returned by :meth:`read`.
    time
        Current simulation time, s.
    """

    path: Path
    interface: str
    info: FmuInfo
    input_names: list[str]
    output_names: list[str]
    time: float

    @property
    def guid(self) -> str:
        """GUID (FMI 2.0) or instantiation token (FMI 3.0)."""
        return self.info.guid

    def variable(self, name: str, *, role: str = "variable") -> FmuVariable:
        """Look up a variable by name; unknown names raise :class:`FmuError` with a did-you-mean."""
        for v in self.info.variables:
            if v.name == name:
                return v
        raise FmuError(f"{self.path.name}: no {role} named '{name}'; "
                       f"{did_you_mean(name, [v.name for v in self.info.variables])}")

    def set_outputs(self, names: Sequence[str]) -> None:
        """Choose the variables :meth:`read` returns."""
        for n in names:
            self.variable(n)
        self.output_names = list(names)

    def set_input_names(self, names: Sequence[str]) -> None:
        """Choose the inputs :meth:`set_inputs` sets, in the order of its values."""
        for n in names:
            self.variable(n, role="input")
        self.input_names = list(names)

    @abstractmethod
    def start(self, parameters: Mapping[str, Any] | None = None, *, start_time: float = 0.0) -> None:
        """(Re)initialise at ``start_time`` with ``parameters`` (start values by name)."""

    @abstractmethod
    def set_parameters(self, values: Mapping[str, Any]) -> None:
        """Change tunable parameters between steps."""

    @abstractmethod
    def set_inputs(self, u: np.ndarray | Sequence[float]) -> None:
        """Set the inputs (values of :attr:`input_names`, FMU units)."""

    @abstractmethod
    def step(self, dt: float) -> None:
        """Advance ``dt`` seconds with the inputs as last set."""

    @abstractmethod
    def read(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Current values of the outputs (or of ``names``)."""

    def step_block(self, u: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Step through a block of samples: for each row set ``u[k]``, step ``dt[k]``, read the outputs.

        Parameters
        ----------
        u
            Inputs per step (n × inputs), FMU units.
        dt
            Step lengths (n,), s; a zero length only sets the inputs.

        Returns
        -------
        numpy.ndarray
            Outputs after each step (n × outputs).
        """
        u = np.asarray(u, dtype=float)
        dt = np.asarray(dt, dtype=float)
        y = np.empty((dt.size, len(self.output_names)))
        for k in range(dt.size):
            if self.input_names:
                self.set_inputs(u[k])
            if dt[k] > 0:
                self.step(float(dt[k]))
            if self.output_names:
                y[k] = self.read()
        return y

    @abstractmethod
    def get_state(self) -> FmuState:
        """Snapshot of the instance (time and FMU state / continuous states)."""

    @abstractmethod
    def set_state(self, state: FmuState) -> None:
        """Restore a snapshot from :meth:`get_state` (it stays valid for reuse)."""

    def free_state(self, state: FmuState) -> None:
        """Release a snapshot's memory in the FMU (idempotent)."""
        state.free()

    @abstractmethod
    def close(self) -> None:
        """Free the instance (idempotent)."""

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CsStepper(Stepper):
    """A co-simulation FMU stepped with one ``doStep`` per sample.

    Parameters
    ----------
    path
        ``.fmu`` file with a Co-Simulation interface (FMI 2.0 or 3.0).
    inputs, outputs
        Names of the Real inputs set by :meth:`set_inputs` and of the variables :meth:`read` returns.
    use_c_loop
        Run :meth:`step_block` through the runtime's C loop when it is available (default).
    """

    interface = "cs"

    def __init__(self, path: str | Path, *, inputs: Sequence[str] = (), outputs: Sequence[str] = (),
                 use_c_loop: bool = True) -> None:
        self.instance = FmuInstance(path, interface="cs")
        self.path = self.instance.path
        self.info = self.instance.info
        self.set_input_names(inputs)
        self.set_outputs(outputs)
        self._lib = load_stepper() if use_c_loop else None

    @property
    def time(self) -> float:  # type: ignore[override]
        """Current simulation time, s (NaN before :meth:`start`)."""
        t = self.instance.time
        return float("nan") if t is None else t

    @property
    def uses_c_loop(self) -> bool:
        """True when :meth:`step_block` can use the compiled C loop (FMI 2.0, scalar Real outputs)."""
        return self._lib is not None and self.instance.fmi_version == 2 and not self._plan.typed

    @property
    def terminated(self) -> bool:
        """True once the model ended the simulation itself; :meth:`start` runs it again."""
        return self.instance.terminated

    def set_outputs(self, names: Sequence[str]) -> None:
        """Choose the variables :meth:`read` returns; an array variable adds one column per element
        (``name[1]`` …), and Integer/Boolean/Enumeration values are returned as floats."""
        self._plan = plan_outputs(self.path.name, self.instance.variables, list(names), self.info.variables)
        self._reader = self._plan.reader(self.instance) if self._plan.typed else None
        self.output_names = list(self._plan.names)

    def variable(self, name: str, *, role: str = "variable") -> FmuVariable:
        """Look up a variable by name; unknown names raise :class:`FmuError` with a did-you-mean."""
        return self.instance.variable(name, role=role)

    def set_input_names(self, names: Sequence[str]) -> None:
        """Choose the Real inputs :meth:`set_inputs` sets, in the order of its values."""
        for n in names:
            self.instance.real(n, "input")
        self.input_names = list(names)

    def start(self, parameters: Mapping[str, Any] | None = None, *, start_time: float = 0.0,
              stop_time: float | None = None, tolerance: float | None = None) -> None:
        """Reset, set ``parameters`` and initialise at ``start_time``."""
        self.instance.initialize(dict(parameters or {}), start_time=float(start_time), stop_time=stop_time,
                                 tolerance=tolerance)

    def set_parameters(self, values: Mapping[str, Any]) -> None:
        """Change tunable Real parameters between steps (e.g. drift, faults)."""
        self.instance.set_real(list(values), [float(v) for v in values.values()])

    def set_inputs(self, u: np.ndarray | Sequence[float]) -> None:
        """Set the inputs (one array call)."""
        self.instance.set_real(self.input_names, u)

    def step(self, dt: float) -> None:
        """One ``doStep`` of ``dt`` seconds from the current time.

        A model that ends the simulation itself during the step stops at the time it
        ended (:attr:`time`, :attr:`terminated` becomes True); a further step raises
        :class:`FmuError` until :meth:`start` runs it again.
        """
        inst = self.instance
        if inst.time is None:
            raise FmuError(f"{self.path.name}: call start() before step()")
        inst.do_step(inst.time + dt)

    def read(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Current values of the outputs (or of ``names``), as floats."""
        if names is not None and list(names) != self.output_names:
            plan = plan_outputs(self.path.name, self.instance.variables, list(names), self.info.variables)
        else:
            plan = self._plan
        if not plan.columns:
            return np.zeros(0)
        if not plan.typed:
            return self.instance.get_real(plan.real)
        reader = self._reader if plan is self._plan else plan.reader(self.instance)
        real = dict(zip(plan.real, self.instance.get_real(plan.real), strict=True)) if plan.real else {}
        typed = reader.values()
        return np.array([float(real[c] if c in real else typed[c]) for c in plan.names])

    def step_block(self, u: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Step through a block of samples; the same as setting, stepping and reading row by row.

        Runs of steps whose communication points (accumulated exactly as repeated
        :meth:`step` calls accumulate them) lie on a uniform grid go through the
        C loop in one call (FMI 2.0, every ``dt`` > 0); any other step goes
        through :meth:`step`.
        """
        u = np.ascontiguousarray(u, dtype=float)
        dt = np.asarray(dt, dtype=float)
        n = dt.size
        if not self.uses_c_loop or not self.output_names or u.shape != (n, len(self.input_names)) \
                or not np.all(dt > 0) or self.instance.time is None:
            return super().step_block(u, dt)
        inst = self.instance
        acc = np.empty(n + 1)
        acc[0] = inst.time
        acc[1:] = dt
        times = np.add.accumulate(acc)  # the times step() reaches: ((t + dt0) + dt1) + ...
        y = np.empty((n + 1, len(self.output_names)))
        in_vr = inst.value_references(self.input_names)
        out_vr = inst.value_references(self.output_names)
        i = 0
        while i < n:
            t0 = times[i]
            if inst.time != t0:
                y[i + 1:] = super().step_block(u[i:], dt[i:])
                return y[1:].copy()
            h = float(dt[i])
            grid = t0 + np.arange(1, n - i + 1, dtype=float) * h  # as the C loop computes them
            off = np.flatnonzero(grid != times[i + 1:])
            m = int(off[0]) if off.size else n - i
            if m == 0:  # not on a grid (cannot happen for m = 1, kept for safety)
                y[i + 1] = super().step_block(u[i:i + 1], dt[i:i + 1])[0]
                i += 1
                continue
            status, done, call, _ = loop_c(inst, self._lib, TimeGrid(t0, float(times[i + m]), h, m, 1),
                                        in_vr, u[i:i + m], out_vr, y[i:i + m + 1])
            inst.time = float(times[i + done])
            t_end = inst.termination_time() if (status == 2 and call == 2) else None
            if t_end is not None:
                inst.time = t_end
                raise FmuError(f"{self.path.name}: the model ended the simulation itself at t = "
                               f"{t_end:.9g} s, before the end of the block; start() runs it again")
            if status:
                inst.failed = True
                raise loop_error(inst, status, call, inst.time)
            i += m
        return y[1:].copy()

    def get_state(self) -> FmuState:
        """Snapshot of the FMU state (``fmi2GetFMUstate``); free it with :meth:`free_state`."""
        return self.instance.get_state()

    def set_state(self, state: FmuState) -> None:
        """Restore a snapshot (it stays valid for reuse)."""
        self.instance.set_state(state)

    def close(self) -> None:
        """Free the instance and unload its library (idempotent)."""
        self.instance.close()


def open_stepper(path: str | Path, *, interface: str = "cs", inputs: Sequence[str] = (),
                 outputs: Sequence[str] = (), max_step: float = 1.0) -> Stepper:
    """Open an FMU for sample-by-sample stepping.

    Parameters
    ----------
    path
        ``.fmu`` file; see :func:`~fmu_models.resolve_fmu` to find one by name.
    interface
        ``"cs"`` (:class:`CsStepper`, the FMU's own solver) or ``"me"``
        (:class:`~fmu_models.MeStepper`, RK4 on the Model-Exchange interface, FMI 2.0).
    inputs, outputs
        Input names set by :meth:`Stepper.set_inputs` and outputs returned by :meth:`Stepper.read`.
    max_step
        RK4 sub-step in s (``interface="me"`` only).

    Returns
    -------
    Stepper
        Not started yet: call :meth:`Stepper.start`.
    """
    if interface == "cs":
        return CsStepper(path, inputs=inputs, outputs=outputs)
    if interface == "me":
        from fmu_models._me_stepper import MeStepper

        return MeStepper(path, inputs=inputs, outputs=outputs, max_step=max_step)
    raise ConfigError(f"interface {interface!r} is not known; use 'cs' (co-simulation) or 'me' (model exchange)")
