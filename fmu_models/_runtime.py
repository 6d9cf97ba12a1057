"""The FMU runner: load any FMI 2.0/3.0 FMU once, run it many times.

:class:`FmuModel` is a thin facade over one :class:`~fmu_models.FmuInstance`
(extracted once, content-addressed cache; model description read once;
instantiated once). Each :meth:`FmuModel.run` resets the instance
(``fmi2Reset``/``fmi3Reset``), sets parameters, and then

* co-simulation: runs the "set inputs, doStep, get outputs" loop in C
  (``_stepper.c``) over a precomputed input table, falling back to a ctypes
  loop in Python when the stepper cannot be compiled;
* model exchange: hands the live instance to FMPy's CVode driver
  (:func:`fmpy.simulate_fmu` with ``fmu_instance=``), so results equal FMPy's.

Results are :class:`xarray.Dataset` with a float ``time`` coordinate in s,
one variable per recorded column (an output, or ``name[i]`` for an element of an
FMI 3.0 array) with ``units``/``long_name`` from the model description, integer,
Boolean and Enumeration outputs in their own integer/bool dtype, and provenance attrs including ``kind = "fmu-run"`` and the FMU
GUID / instantiation token. Sample-by-sample stepping (twin, emulator) goes
through :func:`~fmu_models.open_stepper` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fmu_models._config import InputTable, RunConfig, TimeGrid, default_times
from fmu_models._describe import FmuInfo, FmuVariable
from fmu_models._instance import FmuInstance, FmuState, tag_error
from fmu_models._loops import loop_c, loop_error, loop_py
from fmu_models._outputs import OutputPlan, plan_outputs
from fmu_models._stepper import load_stepper
from workbench.errors import ConfigError, FmuError

__all__ = ["FmuModel", "FmuState", "RunArrays", "RUN_KIND"]

log = logging.getLogger("fmu_models")

RUN_KIND = "fmu-run"
"""``attrs["kind"]`` of every result of :meth:`FmuModel.run` and :func:`~fmu_models.run_many`."""


@dataclass
class RunArrays:
    """Raw result of one run (what :meth:`FmuModel.run` wraps into a Dataset)."""

    time: np.ndarray
    values: np.ndarray  # (n_time, n_outputs): scalar Real/Float64 columns; NaN after a failure
    outputs: tuple[str, ...]
    error: FmuError | None = None
    typed: dict[str, np.ndarray] = field(default_factory=dict)  # other columns, own dtype
    columns: tuple[str, ...] = ()  # every column in recording order (default: outputs)
    terminated_at: float | None = None  # the model ended the run itself at this time

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = tuple(self.outputs) + tuple(self.typed)

    def truncate(self, rows: int, t_end: float) -> None:
        """Keep the first ``rows`` rows; the last one is at ``t_end`` (a self-terminated run)."""
        self.time = self.time[:rows].copy()
        if rows:
            self.time[-1] = t_end
        self.values = self.values[:rows]
        self.typed = {k: v[:rows] for k, v in self.typed.items()}
        self.terminated_at = t_end


class FmuModel:
    """Any FMI 2.0/3.0 FMU, loaded once and run many times.

    Parameters
    ----------
    path
        ``.fmu`` file (or extracted FMU folder); see :func:`~fmu_models.resolve_fmu`
        to find one by name.
    interface
        ``"cs"`` (co-simulation: the FMU's own solver) or ``"me"`` (model
        exchange, integrated by FMPy's CVode).
    logging
        Switch on the FMU's debug logging; messages go to :attr:`log`.
    use_stepper
        Use the C stepping loop when available (default); False forces the Python loop.

    Examples
    --------
    >>> model = FmuModel(fmu_models.shipped("reactor"))              # doctest: +SKIP
    >>> ds = model.run(parameters={"k1": 0.02}, stop_time="8 h", output_interval=10)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, interface: str = "cs", logging: bool = False,
                 use_stepper: bool = True):
        self.instance = FmuInstance(path, interface=interface, logging=logging)
        self.path = self.instance.path
        self.interface = interface
        self.info: FmuInfo = self.instance.info
        self.variables: dict[str, FmuVariable] = self.instance.variables
        self._logging = logging
        self._use_stepper = use_stepper
        self._outputs_cache: dict[tuple[str, ...] | None, OutputPlan] = {}
        self._u_cache: dict[tuple[int, TimeGrid], tuple[InputTable, np.ndarray]] = {}
        self._stepper = load_stepper() if (use_stepper and interface == "cs") else None

    # -- identity -------------------------------------------------------------------------
    @property
    def guid(self) -> str:
        """GUID (FMI 2.0) or instantiation token (FMI 3.0)."""
        return self.info.guid

    @property
    def fmi_version(self) -> int:
        """2 or 3."""
        return self.instance.fmi_version

    @property
    def log(self) -> list[tuple[int, str, str]]:
        """Recent FMU log messages as (status, category, message)."""
        return self.instance.log

    def names(self, causality: str | None = None) -> list[str]:
        """Variable names, optionally of one causality (``parameter``, ``input``, ``output``, …)."""
        return [v.name for v in self.info.variables if causality is None or v.causality == causality]

    @property
    def uses_stepper(self) -> bool:
        """True when co-simulation runs use the compiled C loop."""
        return self._stepper is not None

    def __repr__(self) -> str:
        return f"FmuModel({str(self.path)!r}, interface={self.interface!r}, fmi={self.info.fmi_version})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickling sends only the recipe; a worker process loads the FMU once and reuses it.
        return (_cached_model, ((str(self.path), self.interface, self._logging, self._use_stepper),))

    def close(self) -> None:
        """Free the FMU instance and unload its library."""
        self.instance.close()

    def __enter__(self) -> FmuModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def variable(self, name: str, *, role: str = "variable") -> FmuVariable:
        """Look up a variable by name; unknown names raise :class:`FmuError` with a did-you-mean."""
        return self.instance.variable(name, role=role)

    def reset(self) -> None:
        """Return the instance to the just-instantiated state (``fmi2Reset``/``fmi3Reset``).

        After a Fatal status the instance is freed and instantiated again (no re-extraction).
        """
        self.instance.reset()

    # -- running ----------------------------------------------------------------------------
    def config(self, config: RunConfig | None = None, **kwargs: Any) -> RunConfig:
        """Build a :class:`RunConfig` from an optional base and keyword overrides."""
        if config is None:
            return RunConfig(**kwargs)
        return config.updated(**kwargs) if kwargs else config

    def run(self, config: RunConfig | None = None, **kwargs: Any) -> xr.Dataset:
        """Simulate once and return the trajectory as a Dataset.

        Parameters
        ----------
        config
            A :class:`RunConfig`; keyword arguments (its field names) override it.

        Returns
        -------
        xarray.Dataset
            ``time`` (s) and one variable per recorded output.

        Raises
        ------
        FmuError
            Unknown names (with did-you-mean), or an FMI call failing (names the
            function, the simulation time and the FMI status).
        """
        cfg = self.config(config, **kwargs)
        arrays = self.run_arrays(cfg)
        if arrays.error is not None:
            raise arrays.error
        return self.to_dataset(arrays, cfg)

    def plan(self, cfg: RunConfig) -> TimeGrid:
        """The time grid a run of ``cfg`` uses."""
        start, stop, interval = default_times(self.instance.description, cfg)
        if cfg.start_state is not None:
            state_time = FmuInstance.state_time(cfg.start_state)
            if cfg.start_time is not None and abs(cfg.start_time - state_time) > 1e-9 * max(1.0, abs(state_time)):
                raise ConfigError(
                    f"start_time ({cfg.start_time} s) differs from the time of start_state ({state_time} s); "
                    "leave start_time out when continuing from a state"
                )
            start = state_time
        return TimeGrid.build(start, stop, interval, cfg.step_size)

    def output_plan(self, cfg: RunConfig) -> OutputPlan:
        """Recorded columns: ``cfg.outputs`` or every output of a recordable type (cached)."""
        hit = self._outputs_cache.get(cfg.outputs)
        if hit is None:
            hit = plan_outputs(self.path.name, self.variables, cfg.outputs, self.info.variables)
            self._outputs_cache[cfg.outputs] = hit
        return hit

    def output_names(self, cfg: RunConfig) -> tuple[str, ...]:
        """The scalar Real/Float64 columns of a run (the float matrix of :class:`RunArrays`)."""
        return self.output_plan(cfg).real

    def _input_values(self, table: InputTable, grid: TimeGrid) -> np.ndarray:
        """Input at every communication point; cached while the same table object is reused."""
        key = (id(table), grid)
        hit = self._u_cache.get(key)
        if hit is not None and hit[0] is table:
            return hit[1]
        values = table.at(grid.step_times)
        if len(self._u_cache) > 64:
            self._u_cache.clear()
        self._u_cache[key] = (table, values)
        return values

    def run_arrays(self, cfg: RunConfig, *, run_index: int | None = None,
                   out: np.ndarray | None = None) -> RunArrays:
        """Run once and return raw arrays; a failing FMI call is returned in ``error``, not raised.

        Configuration mistakes (unknown names, bad grid) still raise. ``out``, if
        given, is a C-contiguous float64 buffer of shape (n_time, n_outputs) filled
        with NaN that receives the values (no copy; used by :func:`run_many`).
        """
        grid = self.plan(cfg)
        plan = self.output_plan(cfg)
        outputs = plan.real
        for name in cfg.inputs:
            self.instance.real(name, "input")
        for name in cfg.parameters:
            self.instance.settable(name, "parameter")
        if out is not None and (out.shape != (grid.n_steps // grid.record_every + 1, len(outputs))
                                or not out.flags.c_contiguous or out.dtype != np.float64):
            raise ValueError(f"out must be a C-contiguous float64 array of shape "
                             f"({grid.n_steps // grid.record_every + 1}, {len(outputs)})")
        if self.interface == "me":
            from fmu_models._me import run_me

            arrays = run_me(self.instance, cfg, grid, plan, run_index, out)
        else:
            arrays = self._run_cs(cfg, grid, plan, run_index, out)
        if arrays.terminated_at is not None:
            log.warning("%s: the model ended the simulation itself at t = %.9g s (before stop_time = %.9g s); "
                        "the results end there", self.path.name, arrays.terminated_at, grid.stop)
        return arrays

    def _run_cs(self, cfg: RunConfig, grid: TimeGrid, plan: OutputPlan, run_index: int | None,
                out: np.ndarray | None = None) -> RunArrays:
        outputs = plan.real
        inst = self.instance
        in_names = tuple(cfg.inputs)
        u = np.empty((grid.n_steps, len(in_names)))
        for j, name in enumerate(in_names):
            u[:, j] = self._input_values(cfg.inputs[name], grid)
        n_rec = grid.n_steps // grid.record_every + 1
        y = np.full((n_rec, len(outputs)), np.nan) if out is None else out
        typed = plan.typed_buffers(n_rec)
        arrays = RunArrays(grid.times, y, outputs, typed=typed, columns=plan.names)
        try:
            if cfg.start_state is not None:
                inst.recover()
                inst.set_state(cfg.start_state)
                inst.set_values(cfg.parameters, role="parameter", at=grid.start)
            else:
                inst.initialize(cfg.parameters, start_time=grid.start, stop_time=grid.stop,
                                tolerance=cfg.tolerance, inputs={n: u[0, j] for j, n in enumerate(in_names)})
            if outputs:
                y[0] = inst.get_real(outputs, role="output", what="get outputs")
            reader = plan.reader(inst) if plan.typed else None
            if reader is not None:
                reader.read(typed, 0)
            in_vr, out_vr = inst.value_references(in_names), inst.value_references(outputs)
            if self._stepper is not None:
                groups = reader.c_groups(n_rec) if reader is not None else []
                status, done, call, term = loop_c(inst, self._stepper, grid, in_vr, u, out_vr, y,
                                                  [g[0] for g in groups])
                if groups:
                    reader.scatter(groups, typed, slice(1, None))
            else:
                on_record = None if reader is None else (lambda row: reader.read(typed, row))
                status, done, call, term = loop_py(inst, grid, in_vr, u, out_vr, y, on_record)
            inst.time = grid.start + done * grid.step
            rows = 1 + done // grid.record_every
            if term:  # FMI 3.0 terminateSimulation: the loop recorded the terminating step
                inst.terminated = True
                arrays.truncate(rows + (1 if done % grid.record_every else 0), inst.time)
            elif status == 2 and call == 2 and inst.fmi_version == 2:
                t_end = inst.termination_time()  # fmi2Discard: did the model end the simulation?
                if t_end is None:
                    raise loop_error(inst, status, call, inst.time)
                inst.time = t_end
                if t_end > grid.times[rows - 1] and rows < n_rec:  # record the end, as FMPy does
                    if outputs:
                        y[rows] = inst.get_real(outputs, role="output", what="get outputs")
                    if reader is not None:
                        reader.read(typed, rows)
                    rows += 1
                arrays.truncate(rows, t_end)
            elif status:
                raise loop_error(inst, status, call, inst.time)
        except FmuError as err:  # rows after the failure stay NaN
            inst.failed = True
            tag_error(err, run_index)
            arrays.error = err
        return arrays

    def to_dataset(self, arrays: RunArrays, cfg: RunConfig | None = None) -> xr.Dataset:
        """Wrap :class:`RunArrays` into a conventions-compliant Dataset (``attrs["kind"] = "fmu-run"``)."""
        from workbench.dataset import add_provenance

        data = {}
        real = {name: j for j, name in enumerate(arrays.outputs)}
        for name in arrays.columns:
            var = self.column_variable(name)
            values = arrays.values[:, real[name]].copy() if name in real else arrays.typed[name].copy()
            data[name] = ("time", values, {"units": var.units, "long_name": var.description or name})
        ds = xr.Dataset(data, coords={"time": ("time", arrays.time, {"units": "s", "long_name": "simulation time"})})
        extra: dict[str, Any] = {"kind": RUN_KIND, "fmu": self.path.name, "fmu_interface": self.interface,
                                 "fmi_version": self.info.fmi_version}
        if arrays.terminated_at is not None:
            extra["terminated_at"] = float(arrays.terminated_at)
            extra["note"] = (f"the model ended the simulation itself at t = {arrays.terminated_at:.9g} s; "
                             "the results end there")
        if cfg is not None and cfg.parameters:
            extra["parameters"] = {k: (v if isinstance(v, int | float | str | bool) else str(v))
                                   for k, v in cfg.parameters.items()}
        return add_provenance(ds, fmu_guids=[self.guid], **extra)

    def parse_values(self, texts: Mapping[str, str], *, role: str = "parameter") -> dict[str, Any]:
        """Parse start values written as text (``-p NAME=VALUE``) by each variable's declared type.

        See :mod:`fmu_models._values` for what each type accepts. Unknown names raise
        :class:`FmuError` with a did-you-mean; values that do not fit raise
        :class:`~workbench.errors.ConfigError` naming the variable, the value and the valid range.
        Inputs (``role="input"``) must be scalar Real/Float64 variables.
        """
        from fmu_models._values import parse_value

        out: dict[str, Any] = {}
        for name, text in texts.items():
            var = self.instance.real(name, "input") if role == "input" else self.instance.settable(name, role)
            out[name] = parse_value(var, text, fmu=self.path.name, fmi_version=self.fmi_version)
        return out

    def column_variable(self, column: str) -> FmuVariable:
        """The variable behind a recorded column (``name`` or the array element ``name[i]``)."""
        var = self.variables.get(column)
        if var is None and column.endswith("]"):
            var = self.variables.get(column[: column.rindex("[")])
        if var is None:
            raise FmuError(f"{self.path.name}: '{column}' is not a recorded column of this FMU")
        return var

    def run_many(self, parameter_sets: Sequence[Mapping[str, Any] | RunConfig], **kwargs: Any) -> xr.Dataset:
        """Run once per parameter set, stacked on a ``run`` dim; see :func:`fmu_models.run_many`."""
        from fmu_models._many import run_many

        return run_many(self, parameter_sets, **kwargs)

    # -- FMU state (delegated to the instance) ----------------------------------------------
    def get_state(self) -> FmuState:
        """Snapshot the instance (FMU state plus the runtime's current time)."""
        return self.instance.get_state()

    def set_state(self, state: FmuState | bytes) -> None:
        """Restore a snapshot from :meth:`get_state` or bytes from :meth:`serialize_state`."""
        self.instance.set_state(state)

    def free_state(self, state: FmuState) -> None:
        """Release the FMU memory of a snapshot (idempotent)."""
        state.free()

    def serialize_state(self, state: FmuState | None = None) -> bytes:
        """Bytes of ``state`` (default: the current state): 8-byte magic, time (float64), FMI bytes."""
        return self.instance.serialize_state(state)

    def deserialize_state(self, data: bytes) -> FmuState:
        """Turn :meth:`serialize_state` bytes back into an :class:`FmuState` of this instance."""
        return self.instance.deserialize_state(data)

    # -- stepping API for live loops -----------------------------------------------------------
    @property
    def time(self) -> float | None:
        """Current simulation time of the instance in s (None before :meth:`start`)."""
        return self.instance.time

    def start(self, *, parameters: Mapping[str, Any] | None = None, inputs: Mapping[str, float] | None = None,
              start_time: float | str = 0.0, stop_time: float | str | None = None,
              tolerance: float | None = None, state: FmuState | bytes | None = None) -> FmuModel:
        """Initialise for stepping (co-simulation): reset, set parameters and inputs, initialise.

        With ``state`` the instance continues from that snapshot instead. For a stepper
        with inputs and outputs fixed up front (and ``step_block``), use
        :func:`~fmu_models.open_stepper`.
        """
        if self.interface != "cs":
            raise FmuError(f"{self.path.name}: the stepping API needs interface='cs'")
        inst = self.instance
        if state is not None:
            inst.recover()
            inst.set_state(state)
            inst.set_values(dict(parameters or {}), role="parameter", at=inst.time)
            if inputs:
                inst.set_real(list(inputs), list(inputs.values()))
            return self
        cfg = RunConfig(parameters=parameters or {}, start_time=start_time,
                        stop_time=stop_time, tolerance=tolerance)
        inst.initialize(cfg.parameters, start_time=cfg.start_time, stop_time=cfg.stop_time,
                        tolerance=cfg.tolerance, inputs={k: float(v) for k, v in (inputs or {}).items()})
        return self

    def step_to(self, t: float) -> float:
        """Advance with one doStep from the current time to ``t`` (s); return ``t``."""
        if self.instance.time is None:
            raise FmuError(f"{self.path.name}: call start() before step_to()")
        return self.instance.do_step(t)

    def get(self, names: Sequence[str]) -> np.ndarray:
        """Current values of Real/Float64 variables (one array call; value references cached)."""
        return self.instance.get_real(names)

    def set(self, names: Sequence[str], values: Sequence[float] | np.ndarray) -> None:
        """Set Real/Float64 variables (inputs, tunable parameters) in one array call."""
        self.instance.set_real(names, values)


# worker-process cache: one loaded FMU per (path, interface, options)
_MODEL_CACHE: dict[tuple[Any, ...], FmuModel] = {}


def _cached_model(spec: tuple[Any, ...]) -> FmuModel:
    model = _MODEL_CACHE.get(spec)
    if model is None:
        path, interface, logging, use_stepper = spec
        model = FmuModel(path, interface=interface, logging=logging, use_stepper=use_stepper)
        _MODEL_CACHE[spec] = model
    return model
