"""The FMU runtime: load any FMI 2.0/3.0 FMU once, run it many times.

:class:`FmuModel` extracts the FMU once (content-addressed cache), reads its
model description once and instantiates it once. Each :meth:`FmuModel.run`
resets the instance (``fmi2Reset``/``fmi3Reset``), sets parameters, and then

* co-simulation: runs the "set inputs, doStep, get outputs" loop in C
  (``_stepper.c``) over a precomputed input table, falling back to a ctypes
  loop in Python when the stepper cannot be compiled;
* model exchange: hands the live instance to FMPy's CVode driver
  (:func:`fmpy.simulate_fmu` with ``fmu_instance=``), so results equal FMPy's.

Results are :class:`xarray.Dataset` with a float ``time`` coordinate in s,
one variable per recorded output with ``units``/``long_name`` from the model
description, and provenance attrs including the FMU GUID / instantiation token.
"""

from __future__ import annotations

import ctypes
import struct
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fmu_models._config import InputTable, RunConfig, TimeGrid, default_times
from fmu_models._describe import FmuInfo, FmuVariable, info_from_description, read_description
from fmu_models._instance import LoadedFmu, extract_cached
from fmu_models._stepper import load_stepper
from workbench.errors import ConfigError, FmuError, did_you_mean

__all__ = ["FmuModel", "FmuState", "RunArrays"]

_STATE_MAGIC = b"WBFS1\x00\x00\x00"
_INT_TYPES = {"Integer", "Enumeration", "Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"}


@dataclass(eq=False)
class FmuState:
    """A snapshot of an FMU instance (``fmi2GetFMUstate``/``fmi3GetFMUState``) and its time.

    Free it with :meth:`FmuModel.free_state` or let garbage collection do it.
    """

    time: float
    handle: Any = field(repr=False)
    _inst: Any = field(default=None, repr=False)

    def free(self) -> None:
        """Release the FMU memory of this snapshot (idempotent)."""
        handle, self.handle = self.handle, None
        inst = self._inst() if self._inst is not None else None
        if handle is not None and inst is not None and inst.fmu is not None:
            try:
                inst.fmu.freeFMUState(handle)
            except Exception:  # noqa: BLE001 - freeing is best effort
                pass

    def __del__(self) -> None:
        self.free()


@dataclass
class RunArrays:
    """Raw result of one run (what :meth:`FmuModel.run` wraps into a Dataset)."""

    time: np.ndarray
    values: np.ndarray  # (n_time, n_outputs); NaN after a failure
    outputs: tuple[str, ...]
    error: FmuError | None = None


class FmuModel:
    """Any FMI 2.0/3.0 FMU, loaded once and run many times.

    Parameters
    ----------
    path
        ``.fmu`` file (or extracted FMU folder).
    interface
        ``"cs"`` (co-simulation: the FMU's own solver) or ``"me"`` (model
        exchange, integrated by FMPy's CVode).
    logging
        Switch on the FMU's debug logging; messages go to :attr:`log`.
    use_stepper
        Use the C stepping loop when available (default); False forces the Python loop.

    Examples
    --------
    >>> model = FmuModel("fmu_models/build/reactor.fmu")            # doctest: +SKIP
    >>> ds = model.run(parameters={"k1": 0.02}, stop_time="8 h", output_interval=10)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, interface: str = "cs", logging: bool = False,
                 use_stepper: bool = True):
        if interface not in ("cs", "me"):
            raise ConfigError(f"interface {interface!r} is not known; use 'cs' (co-simulation) or 'me' (model exchange)")
        self.path = Path(path).resolve()
        self.interface = interface
        self._md = read_description(self.path)
        self.info: FmuInfo = info_from_description(self.path, self._md)
        self._unzipdir = extract_cached(self.path)
        self._logging = logging
        self._use_stepper = use_stepper
        self.variables: dict[str, FmuVariable] = {v.name: v for v in self.info.variables}
        self._inst = LoadedFmu(self.path.name, self._md, self._unzipdir, interface, logging=logging)
        self._fresh = True
        self._failed = False
        self._time: float | None = None
        self._refs: dict[tuple[str, ...], tuple[Any, int, Any, np.ndarray]] = {}
        self._settable_cache: dict[str, FmuVariable] = {}
        self._vr_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._outputs_cache: dict[tuple[str, ...] | None, tuple[str, ...]] = {}
        self._u_cache: dict[tuple[int, TimeGrid], tuple[InputTable, np.ndarray]] = {}
        self._stepper = load_stepper() if (use_stepper and interface == "cs") else None
        self._bind_raw()
        self._finalizer = weakref.finalize(self, LoadedFmu.free, self._inst)

    # -- identity -------------------------------------------------------------------------
    @property
    def guid(self) -> str:
        """GUID (FMI 2.0) or instantiation token (FMI 3.0)."""
        return self.info.guid

    @property
    def fmi_version(self) -> int:
        """2 or 3."""
        return self._inst.version

    @property
    def log(self) -> list[tuple[int, str, str]]:
        """Recent FMU log messages as (status, category, message)."""
        return list(self._inst.log)

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
        self._finalizer()

    def __enter__(self) -> FmuModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- variable lookup ------------------------------------------------------------------
    def variable(self, name: str, *, role: str = "variable") -> FmuVariable:
        """Look up a variable by name; unknown names raise :class:`FmuError` with a did-you-mean."""
        try:
            return self.variables[name]
        except KeyError:
            raise FmuError(
                f"{self.path.name}: {role} '{name}' is not a variable of this FMU; "
                + did_you_mean(name, self.variables)
            ) from None

    def _real(self, name: str, role: str) -> FmuVariable:
        var = self.variable(name, role=role)
        if not var.is_real:
            raise FmuError(
                f"{self.path.name}: {role} '{name}' has type {var.type}; "
                "only Real/Float64 variables can be recorded or driven by tables"
            )
        return var

    # -- raw function pointers ------------------------------------------------------------
    def _bind_raw(self) -> None:
        v = self._inst.version
        dll = self._inst.fmu.dll
        if self.interface == "cs":
            names = ("fmi2SetReal", "fmi2DoStep", "fmi2GetReal") if v == 2 else \
                ("fmi3SetFloat64", "fmi3DoStep", "fmi3GetFloat64")
            self._ptrs = [self._inst.pointer(n) for n in names]
        if v == 2:
            self._f_get, self._f_set = dll.fmi2GetReal, dll.fmi2SetReal
            self._f_step = getattr(dll, "fmi2DoStep", None) if self.interface == "cs" else None
        else:
            self._f_get, self._f_set = dll.fmi3GetFloat64, dll.fmi3SetFloat64
            self._f_step = getattr(dll, "fmi3DoStep", None) if self.interface == "cs" else None

    @property
    def _c(self) -> int:
        return self._inst.fmu.component

    def _refs_for(self, names: Sequence[str], role: str) -> tuple[Any, int, Any, np.ndarray]:
        key = tuple(names)
        hit = self._refs.get(key)
        if hit is None:
            vrs = [self._real(n, role).value_reference for n in key]
            buf = np.zeros(len(vrs))
            hit = ((ctypes.c_uint32 * len(vrs))(*vrs), len(vrs),
                   buf.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), buf)
            self._refs[key] = hit
        return hit

    # -- lifecycle of one run ----------------------------------------------------------------
    def reset(self) -> None:
        """Return the instance to the just-instantiated state (``fmi2Reset``/``fmi3Reset``).

        After a Fatal status the instance is freed and instantiated again (no re-extraction).
        """
        if self._fresh:
            return
        try:
            self._inst.call("reset")
        except FmuError:
            self._reinstantiate()
        self._fresh, self._failed, self._time = True, False, None

    def _recover(self) -> None:
        """Before restoring a state: reset only an instance whose last call failed."""
        if self._failed:
            self.reset()
        self._failed = False

    def _reinstantiate(self) -> None:
        self._finalizer.detach()
        self._inst.free()
        self._inst = LoadedFmu(self.path.name, self._md, self._unzipdir, self.interface, logging=self._logging)
        self._bind_raw()
        self._finalizer = weakref.finalize(self, LoadedFmu.free, self._inst)
        self._fresh = True

    def _settable(self, name: str, role: str) -> FmuVariable:
        var = self._settable_cache.get(name)
        if var is not None:
            return var
        var = self.variable(name, role=role)
        if var.causality not in ("parameter", "input") and var.initial not in ("exact", "approx") \
                and var.variability != "tunable":
            settable = [v.name for v in self.info.variables if v.causality in ("parameter", "input")]
            raise FmuError(
                f"{self.path.name}: {role} '{name}' (causality {var.causality}, initial "
                f"{var.initial}) cannot be set; settable names: {', '.join(settable[:12])}"
            )
        self._settable_cache[name] = var
        return var

    def _set_values(self, values: Mapping[str, Any], *, role: str, at: float | None) -> None:
        """Set start values: all Real/Float64 ones in one array call, the others one by one."""
        if not values:
            return
        names, reals = [], []
        for name, value in values.items():
            var = self._settable(name, role)
            if var.type in ("Real", "Float64"):
                names.append(name)
                reals.append(value)
            else:
                self._set_one(var, value, at)
        if names:
            vr, n, ptr, buf = self._refs_for(names, role)
            buf[:] = reals
            status = self._f_set(self._c, vr, n, ptr, *self._nv(n))
            if status > 1:
                which = names[0] if n == 1 else f"{n} values ({', '.join(names[:5])}…)"
                raise self._inst.error(None, f"fmi{self.fmi_version}Set{'Real' if self.fmi_version == 2 else 'Float64'}"
                                       f" of {role} {which}", at, status)

    def _set_one(self, var: FmuVariable, value: Any, at: float | None) -> None:
        vr, t = [var.value_reference], var.type
        if var.is_real:
            fn, val = ("setReal" if self.fmi_version == 2 else f"set{t}"), [float(value)]
        elif t in _INT_TYPES:
            fn = "setInteger" if self.fmi_version == 2 else ("setInt64" if t == "Enumeration" else f"set{t}")
            val = [int(value)]
        elif t == "Boolean":
            fn, val = "setBoolean", [bool(value)]
        elif t == "String":
            fn, val = "setString", [str(value)]
        else:
            raise FmuError(f"{self.path.name}: variable '{var.name}' of type {t} cannot be set by the runtime")
        self._inst.call(fn, vr, val, at=at)

    def _initialize(self, cfg: RunConfig, t0: float, stop: float | None, u0: Mapping[str, float]) -> None:
        """Reset, set parameters and inputs, run initialisation (co-simulation)."""
        self.reset()
        self._fresh = False
        tol = cfg.tolerance if cfg.tolerance is not None else self.info.default_experiment["tolerance"]
        if self.fmi_version == 2:
            self._inst.call("setupExperiment", tol, t0, stop, at=t0)
            self._set_values(cfg.parameters, role="parameter", at=t0)
            self._inst.call("enterInitializationMode", at=t0)
        else:
            self._set_values(cfg.parameters, role="parameter", at=t0)
            self._inst.call("enterInitializationMode", tol, t0, stop, at=t0)
        self._set_values(u0, role="input", at=t0)
        self._inst.call("exitInitializationMode", at=t0)
        self._time = t0

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
        start, stop, interval = default_times(self._md, cfg)
        if cfg.start_state is not None:
            state_time = self._state_time(cfg.start_state)
            if cfg.start_time is not None and abs(cfg.start_time - state_time) > 1e-9 * max(1.0, abs(state_time)):
                raise ConfigError(
                    f"start_time ({cfg.start_time} s) differs from the time of start_state ({state_time} s); "
                    "leave start_time out when continuing from a state"
                )
            start = state_time
        return TimeGrid.build(start, stop, interval, cfg.step_size)

    def output_names(self, cfg: RunConfig) -> tuple[str, ...]:
        """Recorded variables: ``cfg.outputs`` or every Real/Float64 output."""
        hit = self._outputs_cache.get(cfg.outputs)
        if hit is None:
            if cfg.outputs is not None:
                for n in cfg.outputs:
                    self._real(n, "output")
                hit = tuple(cfg.outputs)
            else:
                hit = tuple(v.name for v in self.info.variables if v.causality == "output" and v.is_real)
            self._outputs_cache[cfg.outputs] = hit
        return hit

    def _vrs(self, names: tuple[str, ...]) -> np.ndarray:
        hit = self._vr_cache.get(names)
        if hit is None:
            hit = np.array([self.variables[n].value_reference for n in names], dtype=np.uint32)
            self._vr_cache[names] = hit
        return hit

    def _input_values(self, name: str, table: InputTable, grid: TimeGrid) -> np.ndarray:
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
        outputs = self.output_names(cfg)
        for name in cfg.inputs:
            self._real(name, "input")
        for name in cfg.parameters:
            self._settable(name, "parameter")
        if out is not None and (out.shape != (grid.n_steps // grid.record_every + 1, len(outputs))
                                or not out.flags.c_contiguous or out.dtype != np.float64):
            raise ValueError(f"out must be a C-contiguous float64 array of shape "
                             f"({grid.n_steps // grid.record_every + 1}, {len(outputs)})")
        if self.interface == "me":
            return self._run_me(cfg, grid, outputs, run_index, out)
        return self._run_cs(cfg, grid, outputs, run_index, out)

    def _run_cs(self, cfg: RunConfig, grid: TimeGrid, outputs: tuple[str, ...], run_index: int | None,
                out: np.ndarray | None = None) -> RunArrays:
        in_names = tuple(cfg.inputs)
        u = np.empty((grid.n_steps, len(in_names)))
        for j, name in enumerate(in_names):
            u[:, j] = self._input_values(name, cfg.inputs[name], grid)
        n_rec = grid.n_steps // grid.record_every + 1
        y = np.full((n_rec, len(outputs)), np.nan) if out is None else out
        try:
            if cfg.start_state is not None:
                self._recover()
                self.set_state(cfg.start_state)
                self._set_values(cfg.parameters, role="parameter", at=grid.start)
            else:
                self._initialize(cfg, grid.start, grid.stop, {n: u[0, j] for j, n in enumerate(in_names)})
            out_vr, n_out, out_ptr, out_buf = self._refs_for(outputs, "output")
            if n_out:
                self._check(self._f_get(self._c, out_vr, n_out, out_ptr, *self._nv(n_out)), "get outputs", grid.start)
                y[0] = out_buf
            in_vr, out_vr_np = self._vrs(in_names), self._vrs(outputs)
            if self._stepper is not None:
                status, done, call = self._loop_c(grid, in_vr, u, out_vr_np, y)
            else:
                status, done, call = self._loop_py(grid, in_vr, u, out_vr_np, y)
            self._time = grid.start + done * grid.step
            if status:
                fname = {1: "SetReal", 2: "DoStep", 3: "GetReal"}[call]
                if self.fmi_version == 3:
                    fname = fname.replace("Real", "Float64")
                at = grid.start + done * grid.step
                err = self._inst.error(None, f"fmi{self.fmi_version}{fname}", at, status)
                raise err
        except FmuError as err:  # rows after the failure stay NaN
            self._failed = True
            self._tag(err, run_index)
            return RunArrays(grid.times, y, outputs, err)
        return RunArrays(grid.times, y, outputs)

    def _tag(self, err: FmuError, run_index: int | None) -> None:
        err.run_index = run_index
        if run_index is not None and not str(err.args[0]).startswith("run "):
            err.args = (f"run {run_index}: {err.args[0]}",)

    def _nv(self, n: int) -> tuple[int, ...]:
        return (n,) if self.fmi_version == 3 else ()

    def _check(self, status: int, what: str, at: float) -> None:
        if status > 1:
            raise self._inst.error(None, f"fmi{self.fmi_version} {what}", at, status)

    def _loop_c(self, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
                y: np.ndarray) -> tuple[int, int, int]:
        from fmu_models._loops import loop_c

        return loop_c(self, grid, in_vr, u, out_vr, y)

    def _loop_py(self, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
                 y: np.ndarray) -> tuple[int, int, int]:
        from fmu_models._loops import loop_py

        return loop_py(self, grid, in_vr, u, out_vr, y)

    def _run_me(self, cfg: RunConfig, grid: TimeGrid, outputs: tuple[str, ...], run_index: int | None,
                out: np.ndarray | None = None) -> RunArrays:
        from fmu_models._me import run_me

        return run_me(self, cfg, grid, outputs, run_index, out)

    def to_dataset(self, arrays: RunArrays, cfg: RunConfig | None = None) -> xr.Dataset:
        """Wrap :class:`RunArrays` into a conventions-compliant Dataset."""
        from workbench.dataset import add_provenance

        data = {}
        for j, name in enumerate(arrays.outputs):
            var = self.variables[name]
            data[name] = ("time", arrays.values[:, j].copy(), {"units": var.units, "long_name": var.description or name})
        ds = xr.Dataset(data, coords={"time": ("time", arrays.time, {"units": "s", "long_name": "simulation time"})})
        extra: dict[str, Any] = {"fmu": self.path.name, "fmu_interface": self.interface,
                                 "fmi_version": self.info.fmi_version}
        if cfg is not None and cfg.parameters:
            extra["parameters"] = {k: (v if isinstance(v, int | float | str | bool) else str(v))
                                   for k, v in cfg.parameters.items()}
        return add_provenance(ds, fmu_guids=[self.guid], **extra)

    def run_many(self, parameter_sets: Sequence[Mapping[str, Any] | RunConfig], **kwargs: Any) -> xr.Dataset:
        """Run once per parameter set, stacked on a ``run`` dim; see :func:`fmu_models.run_many`."""
        from fmu_models._many import run_many

        return run_many(self, parameter_sets, **kwargs)

    # -- FMU state --------------------------------------------------------------------------
    def _need_state(self, serialize: bool = False) -> None:
        itf = self._md.coSimulation if self.interface == "cs" else self._md.modelExchange
        if not itf.canGetAndSetFMUstate or (serialize and not itf.canSerializeFMUstate):
            cap = "canSerializeFMUstate" if serialize else "canGetAndSetFMUstate"
            raise FmuError(f"{self.path.name}: the FMU does not declare {cap}=\"true\", so its state "
                           "cannot be saved or restored")

    def get_state(self) -> FmuState:
        """Snapshot the instance (FMU state plus the runtime's current time)."""
        self._need_state()
        handle = self._inst.call("getFMUState", at=self._time)
        return FmuState(self._time if self._time is not None else float("nan"), handle, weakref.ref(self._inst))

    def set_state(self, state: FmuState | bytes) -> None:
        """Restore a snapshot from :meth:`get_state` or bytes from :meth:`serialize_state`."""
        if isinstance(state, bytes | bytearray):
            state = self.deserialize_state(bytes(state))
        self._need_state()
        if state._inst is not None and state._inst() is not self._inst:
            raise FmuError(f"{self.path.name}: this FmuState belongs to another FMU instance; "
                           "pass serialize_state() bytes to move a state between instances")
        self._inst.call("setFMUState", state.handle, at=state.time)
        self._fresh, self._time = False, state.time

    def free_state(self, state: FmuState) -> None:
        """Release the FMU memory of a snapshot (idempotent)."""
        state.free()

    def serialize_state(self, state: FmuState | None = None) -> bytes:
        """Bytes of ``state`` (default: the current state): 8-byte magic, time (float64), FMI bytes."""
        self._need_state(serialize=True)
        snap = state or self.get_state()
        raw = self._inst.call("serializeFMUState", snap.handle, at=snap.time)
        return _STATE_MAGIC + struct.pack("<d", snap.time) + raw

    def deserialize_state(self, data: bytes) -> FmuState:
        """Turn :meth:`serialize_state` bytes back into an :class:`FmuState` of this instance."""
        self._need_state(serialize=True)
        if not data.startswith(_STATE_MAGIC) or len(data) < 16:
            raise FmuError(f"{self.path.name}: bytes are not a workbench FMU state (use serialize_state)")
        (time,) = struct.unpack("<d", data[8:16])
        handle = self._inst.call("deserializeFMUState", data[16:], at=time)
        return FmuState(time, handle, weakref.ref(self._inst))

    @staticmethod
    def _state_time(state: FmuState | bytes) -> float:
        if isinstance(state, FmuState):
            return state.time
        return struct.unpack("<d", bytes(state)[8:16])[0]

    # -- stepping API for live loops -----------------------------------------------------------
    @property
    def time(self) -> float | None:
        """Current simulation time of the instance in s (None before :meth:`start`)."""
        return self._time

    def start(self, *, parameters: Mapping[str, Any] | None = None, inputs: Mapping[str, float] | None = None,
              start_time: float | str = 0.0, stop_time: float | str | None = None,
              tolerance: float | None = None, state: FmuState | bytes | None = None) -> FmuModel:
        """Initialise for stepping (co-simulation): reset, set parameters and inputs, initialise.

        With ``state`` the instance continues from that snapshot instead.
        """
        if self.interface != "cs":
            raise FmuError(f"{self.path.name}: the stepping API needs interface='cs'")
        if state is not None:
            self._recover()
            self.set_state(state)
            self._set_values(dict(parameters or {}), role="parameter", at=self._time)
            if inputs:
                self.set(list(inputs), list(inputs.values()))
            return self
        cfg = RunConfig(parameters=parameters or {}, start_time=start_time,
                        stop_time=stop_time, tolerance=tolerance)
        try:
            self._initialize(cfg, cfg.start_time, cfg.stop_time, {k: float(v) for k, v in (inputs or {}).items()})
        except FmuError:
            self._failed = True
            raise
        return self

    def step_to(self, t: float) -> float:
        """Advance with one doStep from the current time to ``t`` (s); return ``t``."""
        t0 = self._time
        if t0 is None:
            raise FmuError(f"{self.path.name}: call start() before step_to()")
        if t <= t0:
            if t == t0:
                return t  # a repeated timestamp: nothing to integrate
            raise FmuError(f"{self.path.name}: step_to({t:.9g} s) is before the current time {t0:.9g} s; "
                           "use set_state() to go back")
        if self.fmi_version == 2:
            status = self._f_step(self._c, t0, t - t0, 1)
        else:
            b = ctypes.c_bool()
            last = ctypes.c_double()
            status = self._f_step(self._c, t0, t - t0, True, ctypes.byref(b), ctypes.byref(b),
                                  ctypes.byref(b), ctypes.byref(last))
        if status > 1:
            self._failed = True
            raise self._inst.error(None, f"fmi{self.fmi_version}DoStep", t0, status)
        self._time = t
        return t

    def get(self, names: Sequence[str]) -> np.ndarray:
        """Current values of Real/Float64 variables (one array call; value references cached)."""
        vr, n, ptr, buf = self._refs_for(names, "variable")
        status = self._f_get(self._c, vr, n, ptr, *self._nv(n))
        if status > 1:
            raise self._inst.error(None, f"fmi{self.fmi_version}Get", self._time, status)
        return buf.copy()

    def set(self, names: Sequence[str], values: Sequence[float] | np.ndarray) -> None:
        """Set Real/Float64 variables (inputs, tunable parameters) in one array call."""
        vr, n, ptr, buf = self._refs_for(names, "variable")
        buf[:] = values
        status = self._f_set(self._c, vr, n, ptr, *self._nv(n))
        if status > 1:
            raise self._inst.error(None, f"fmi{self.fmi_version}Set", self._time, status)


# worker-process cache: one loaded FMU per (path, interface, options)
_MODEL_CACHE: dict[tuple[Any, ...], FmuModel] = {}


def _cached_model(spec: tuple[Any, ...]) -> FmuModel:
    model = _MODEL_CACHE.get(spec)
    if model is None:
        path, interface, logging, use_stepper = spec
        model = FmuModel(path, interface=interface, logging=logging, use_stepper=use_stepper)
        _MODEL_CACHE[spec] = model
    return model
