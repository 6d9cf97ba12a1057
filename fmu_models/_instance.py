"""The instance object: one loaded FMU with typed get/set, FMU state and reset.

:class:`FmuInstance` is what the runners (:class:`~fmu_models.FmuModel`,
:func:`~fmu_models.run_many`) and the steppers (:func:`~fmu_models.open_stepper`)
are built on. It owns the model description, the extracted folder, the fmpy
instance and the raw FMI function pointers, and keeps the bookkeeping every
caller needs: the current simulation time, whether the instance is fresh
(just instantiated or reset) and whether its last FMI call failed.
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

from fmu_models._binary import LoadedFmu, extract_cached
from fmu_models._describe import FmuInfo, FmuVariable, info_from_description, read_description
from fmu_models._values import coerce_value
from workbench.errors import ConfigError, FmuError, did_you_mean

__all__ = ["FmuInstance", "FmuState", "RawFmi", "tag_error"]

_STATE_MAGIC = b"WBFS1\x00\x00\x00"
_INT_TYPES = {"Integer", "Enumeration", "Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"}
_FMI2_TERMINATED, _FMI2_LAST_SUCCESSFUL_TIME = 3, 2  # fmi2StatusKind values (fmi2FunctionTypes.h)


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


@dataclass(frozen=True)
class RawFmi:
    """The FMI array functions of one instance, for tight loops.

    ``get``/``set`` are ``fmi2GetReal``/``fmi2SetReal`` (``fmi3GetFloat64``/``fmi3SetFloat64``),
    ``step`` is ``fmi2DoStep``/``fmi3DoStep`` (None for model exchange); ``pointers`` holds the
    addresses of (set, doStep, get) for the C stepper (empty for model exchange). FMI 3.0 array
    calls take the value count twice: pass ``*raw.nv(n)`` after the buffer.
    """

    version: int
    get: Any
    set: Any
    step: Any
    pointers: tuple[int, ...]

    def nv(self, n: int) -> tuple[int, ...]:
        """Extra trailing arguments of an array call of ``n`` values (``(n,)`` for FMI 3.0)."""
        return (n,) if self.version == 3 else ()


def tag_error(err: FmuError, run_index: int | None) -> FmuError:
    """Record ``run_index`` on ``err`` and prefix its message with ``run <i>:``."""
    err.run_index = run_index
    if run_index is not None and not str(err.args[0]).startswith("run "):
        err.args = (f"run {run_index}: {err.args[0]}",)
    return err


class FmuInstance:
    """One FMI 2.0/3.0 FMU, extracted once and instantiated once.

    Parameters
    ----------
    path
        ``.fmu`` file (or extracted FMU folder).
    interface
        ``"cs"`` (co-simulation) or ``"me"`` (model exchange).
    logging
        Switch on the FMU's debug logging; messages go to :attr:`log`.

    Attributes
    ----------
    time
        Current simulation time in s (None before initialisation).
    failed
        True when the last FMI call failed (the next start resets the instance).
    terminated
        True when the model ended the simulation itself (FMI 2.0 ``fmi2Discard`` with
        ``fmi2Terminated``, FMI 3.0 ``terminateSimulation``); the next start frees the
        instance and instantiates it again, because ``reset`` does not clear that state
        in every exported FMU.
    """

    def __init__(self, path: str | Path, *, interface: str = "cs", logging: bool = False):
        if interface not in ("cs", "me"):
            raise ConfigError(f"interface {interface!r} is not known; use 'cs' (co-simulation) or 'me' (model exchange)")
        self.path = Path(path).resolve()
        self.interface = interface
        self.logging = logging
        self.description = read_description(self.path)
        self.info: FmuInfo = info_from_description(self.path, self.description)
        self.unzipdir = extract_cached(self.path)
        self.variables: dict[str, FmuVariable] = {v.name: v for v in self.info.variables}
        self.time: float | None = None
        self.failed = False
        self.terminated = False
        self._fresh = True
        self._refs: dict[tuple[str, ...], tuple[Any, int, Any, np.ndarray]] = {}
        self._settable: dict[str, FmuVariable] = {}
        self._vr_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._load()

    def _load(self) -> None:
        self._loaded = LoadedFmu(self.path.name, self.description, self.unzipdir, self.interface,
                                 logging=self.logging)
        self._finalizer = weakref.finalize(self, LoadedFmu.free, self._loaded)
        v, dll = self._loaded.version, self._loaded.fmu.dll
        cs = self.interface == "cs"
        names = (("fmi2SetReal", "fmi2DoStep", "fmi2GetReal") if v == 2
                 else ("fmi3SetFloat64", "fmi3DoStep", "fmi3GetFloat64"))
        self.raw = RawFmi(
            version=v, get=getattr(dll, names[2]), set=getattr(dll, names[0]),
            step=getattr(dll, names[1], None) if cs else None,
            pointers=tuple(self._loaded.pointer(n) for n in names) if cs else (),
        )

    # -- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """File name of the FMU (used in messages)."""
        return self.path.name

    @property
    def fmi_version(self) -> int:
        """2 or 3."""
        return self._loaded.version

    @property
    def guid(self) -> str:
        """GUID (FMI 2.0) or instantiation token (FMI 3.0)."""
        return self.info.guid

    @property
    def fmu(self) -> Any:
        """The fmpy instance object (``FMU2Slave``, ``FMU2Model``, …)."""
        return self._loaded.fmu

    @property
    def component(self) -> int:
        """The FMI instance pointer (``fmi2Component``/``fmi3Instance``)."""
        return self._loaded.fmu.component

    @property
    def log(self) -> list[tuple[int, str, str]]:
        """Recent FMU log messages as (status, category, message)."""
        return list(self._loaded.log)

    def pointer(self, fname: str) -> int:
        """Address of an FMI C function (``fmi2GetInteger`` …) in the FMU's shared library."""
        return self._loaded.pointer(fname)

    def last_log(self) -> str:
        """``"; FMU says: …"`` with the last warning/error message, or ``""``."""
        return self._loaded.last_log()

    def close(self) -> None:
        """Free the FMU instance and unload its library (idempotent)."""
        self._finalizer()

    # -- calls and errors -----------------------------------------------------------------
    def call(self, fname: str, *args: Any, at: float | None = None) -> Any:
        """Call the fmpy method ``fname``; failures raise :class:`FmuError`."""
        return self._loaded.call(fname, *args, at=at)

    def error(self, exc: BaseException | None, fname: str, at: float | None, status: int | None = None) -> FmuError:
        """The :class:`FmuError` for a failed call (names the function, time, status and FMU log)."""
        return self._loaded.error(exc, fname, at, status)

    def check(self, status: int, what: str, at: float | None) -> None:
        """Raise for an FMI status above Warning."""
        if status > 1:
            self.failed = True
            raise self.error(None, f"fmi{self.fmi_version} {what}", at, status)

    # -- variables ------------------------------------------------------------------------
    def variable(self, name: str, *, role: str = "variable") -> FmuVariable:
        """Look up a variable by name; unknown names raise :class:`FmuError` with a did-you-mean."""
        try:
            return self.variables[name]
        except KeyError:
            raise FmuError(
                f"{self.name}: {role} '{name}' is not a variable of this FMU; "
                + did_you_mean(name, self.variables)
            ) from None

    def real(self, name: str, role: str = "variable") -> FmuVariable:
        """A scalar Real/Float64 variable (other types and arrays raise :class:`FmuError`)."""
        var = self.variable(name, role=role)
        if not var.is_scalar_float64:
            what = f"is an array of shape {var.shape}" if var.shape else f"has type {var.type}"
            raise FmuError(
                f"{self.name}: {role} '{name}' {what}; "
                "only scalar Real/Float64 variables can be driven by tables or stepped inputs"
            )
        return var

    def settable(self, name: str, role: str = "parameter") -> FmuVariable:
        """A variable that may be set before initialisation (parameter, input, or with a start value)."""
        var = self._settable.get(name)
        if var is not None:
            return var
        var = self.variable(name, role=role)
        if var.causality not in ("parameter", "input") and var.initial not in ("exact", "approx") \
                and var.variability != "tunable":
            settable = [v.name for v in self.info.variables if v.causality in ("parameter", "input")]
            raise FmuError(
                f"{self.name}: {role} '{name}' (causality {var.causality}, initial "
                f"{var.initial}) cannot be set; settable names: {', '.join(settable[:12])}"
            )
        self._settable[name] = var
        return var

    def value_references(self, names: Sequence[str]) -> np.ndarray:
        """Value references of ``names`` as a uint32 array (cached per name tuple)."""
        key = tuple(names)
        hit = self._vr_cache.get(key)
        if hit is None:
            hit = np.array([self.variable(n).value_reference for n in key], dtype=np.uint32)
            self._vr_cache[key] = hit
        return hit

    def _refs_for(self, names: Sequence[str], role: str) -> tuple[Any, int, Any, np.ndarray]:
        key = tuple(names)
        hit = self._refs.get(key)
        if hit is None:
            vrs = [self.real(n, role).value_reference for n in key]
            buf = np.zeros(len(vrs))
            hit = ((ctypes.c_uint32 * len(vrs))(*vrs), len(vrs),
                   buf.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), buf)
            self._refs[key] = hit
        return hit

    # -- typed get/set --------------------------------------------------------------------
    def get_real(self, names: Sequence[str], *, role: str = "variable", what: str | None = None) -> np.ndarray:
        """Current values of Real/Float64 variables (one array call; value references cached).

        ``role`` and ``what`` only label errors (``"output"``, ``"get outputs"``).
        """
        vr, n, ptr, buf = self._refs_for(names, role)
        status = self.raw.get(self.component, vr, n, ptr, *self.raw.nv(n))
        if status > 1:
            fname = f"fmi{self.fmi_version} {what}" if what else f"fmi{self.fmi_version}Get"
            raise self.error(None, fname, self.time, status)
        return buf.copy()

    def set_real(self, names: Sequence[str], values: Sequence[float] | np.ndarray, *,
                 role: str = "variable") -> None:
        """Set Real/Float64 variables (inputs, tunable parameters) in one array call."""
        vr, n, ptr, buf = self._refs_for(names, role)
        buf[:] = values
        status = self.raw.set(self.component, vr, n, ptr, *self.raw.nv(n))
        if status > 1:
            raise self.error(None, f"fmi{self.fmi_version}Set", self.time, status)

    def set_values(self, values: Mapping[str, Any], *, role: str = "parameter", at: float | None = None) -> None:
        """Set values by name with the setter of each type: Real/Float64 ones in one array call."""
        if not values:
            return
        names, reals = [], []
        for name, value in values.items():
            var = self.settable(name, role)
            if var.is_scalar_float64:
                names.append(name)
                reals.append(coerce_value(var, value, fmu=self.name, fmi_version=self.fmi_version))
            else:
                self.set_value(var, value, at=at)
        if names:
            vr, n, ptr, buf = self._refs_for(names, role)
            buf[:] = reals
            status = self.raw.set(self.component, vr, n, ptr, *self.raw.nv(n))
            if status > 1:
                which = names[0] if n == 1 else f"{n} values ({', '.join(names[:5])}…)"
                raise self.error(None, f"fmi{self.fmi_version}Set{'Real' if self.fmi_version == 2 else 'Float64'}"
                                 f" of {role} {which}", at, status)

    def set_value(self, var: FmuVariable, value: Any, *, at: float | None = None) -> None:
        """Set one variable with the setter of its type (Real/FloatN, Integer/IntN, Boolean, Enumeration, String).

        The value is checked against the type first (:func:`~fmu_models._values.coerce_value`):
        text is parsed, integers must fit the type's range, arrays need one value per element.
        """
        vr, t = [var.value_reference], var.type
        if t not in _INT_TYPES and t not in ("Real", "Float64", "Float32", "Boolean", "String"):
            raise FmuError(f"{self.name}: variable '{var.name}' of type {t} cannot be set by the runtime")
        value = coerce_value(var, value, fmu=self.name, fmi_version=self.fmi_version)
        val = value if isinstance(value, list) else [value]
        if self.fmi_version == 2:
            fn = {"Real": "setReal", "Boolean": "setBoolean", "String": "setString"}.get(t, "setInteger")
        else:
            fn = "setInt64" if t == "Enumeration" else f"set{t}"
        self.call(fn, vr, val, at=at)

    # -- life cycle -----------------------------------------------------------------------
    def reset(self) -> None:
        """Return to the just-instantiated state (``fmi2Reset``/``fmi3Reset``).

        After a Fatal status the instance is freed and instantiated again (no re-extraction).
        """
        if self._fresh and not self.terminated:
            return
        try:
            if self.terminated:
                raise FmuError("terminated")  # reset may keep the terminated state: instantiate again
            self.call("reset")
        except FmuError:
            self.reinstantiate()
        self._fresh, self.failed, self.terminated, self.time = True, False, False, None

    def reinstantiate(self) -> None:
        """Free the instance and instantiate it again from the extracted folder."""
        self._finalizer.detach()
        self._loaded.free()
        self._load()

    def claim(self) -> None:
        """Reset and mark the instance as in use by a run (the next :meth:`reset` really resets)."""
        self.reset()
        self._fresh = False

    def recover(self) -> None:
        """Before restoring a state: reset only an instance whose last call failed."""
        if self.failed or self.terminated:
            self.reset()
        self.failed = False

    def initialize(self, parameters: Mapping[str, Any], *, start_time: float, stop_time: float | None,
                   tolerance: float | None = None, inputs: Mapping[str, float] | None = None) -> None:
        """Reset, set parameters and inputs, run initialisation (co-simulation or model exchange)."""
        self.claim()
        t0 = start_time
        tol = tolerance if tolerance is not None else self.info.default_experiment["tolerance"]
        try:
            if self.fmi_version == 2:
                self.call("setupExperiment", tol, t0, stop_time, at=t0)
                self.set_values(parameters, role="parameter", at=t0)
                self.call("enterInitializationMode", at=t0)
            else:
                self.set_values(parameters, role="parameter", at=t0)
                self.call("enterInitializationMode", tol, t0, stop_time, at=t0)
            self.set_values(inputs or {}, role="input", at=t0)
            self.call("exitInitializationMode", at=t0)
        except FmuError:
            self.failed = True
            raise
        self.time = t0

    def do_step(self, t: float) -> float:
        """Advance with one doStep from the current time to ``t`` (s); return ``t``."""
        t0 = self.time
        if t0 is None:
            raise FmuError(f"{self.name}: initialise the instance before stepping it")
        if t <= t0:
            if t == t0:
                return t  # a repeated timestamp: nothing to integrate
            raise FmuError(f"{self.name}: step_to({t:.9g} s) is before the current time {t0:.9g} s; "
                           "use set_state() to go back")
        if self.terminated:
            raise FmuError(f"{self.name}: the model ended the simulation itself at t = {t0:.9g} s; "
                           "start it again to run on")
        if self.fmi_version == 2:
            status = self.raw.step(self.component, t0, t - t0, 1)
            if status == 2:  # fmi2Discard: the model may have ended the simulation
                t_end = self.termination_time()
                if t_end is not None:
                    self.time = t_end
                    return t_end
        else:
            ev, term, early = ctypes.c_bool(), ctypes.c_bool(), ctypes.c_bool()
            last = ctypes.c_double()
            status = self.raw.step(self.component, t0, t - t0, True, ctypes.byref(ev), ctypes.byref(term),
                                   ctypes.byref(early), ctypes.byref(last))
            if status <= 1 and term.value:
                self.terminated = True
        if status > 1:
            self.failed = True
            raise self.error(None, f"fmi{self.fmi_version}DoStep", t0, status)
        self.time = t
        return t

    def termination_time(self) -> float | None:
        """After an ``fmi2Discard`` from doStep: the last successful time if the model terminated, else None.

        Follows FMI 2.0 section 4.2.3 (``fmi2GetBooleanStatus(fmi2Terminated)``,
        ``fmi2GetRealStatus(fmi2LastSuccessfulTime)``), as FMPy's ``simulateCS`` does.
        """
        try:
            if not self.fmu.getBooleanStatus(_FMI2_TERMINATED):
                return None
            t_end = float(self.fmu.getRealStatus(_FMI2_LAST_SUCCESSFUL_TIME))
        except Exception:  # noqa: BLE001 - an FMU without the status functions did not terminate
            return None
        self.terminated = True
        return t_end

    # -- FMU state ------------------------------------------------------------------------
    def _need_state(self, serialize: bool = False) -> None:
        md = self.description
        itf = md.coSimulation if self.interface == "cs" else md.modelExchange
        if not itf.canGetAndSetFMUstate or (serialize and not itf.canSerializeFMUstate):
            cap = "canSerializeFMUstate" if serialize else "canGetAndSetFMUstate"
            raise FmuError(f"{self.name}: the FMU does not declare {cap}=\"true\", so its state "
                           "cannot be saved or restored")

    def get_state(self) -> FmuState:
        """Snapshot the instance (FMU state plus the current time)."""
        self._need_state()
        handle = self.call("getFMUState", at=self.time)
        return FmuState(self.time if self.time is not None else float("nan"), handle, weakref.ref(self._loaded))

    def set_state(self, state: FmuState | bytes) -> None:
        """Restore a snapshot from :meth:`get_state` or bytes from :meth:`serialize_state`."""
        if isinstance(state, bytes | bytearray):
            state = self.deserialize_state(bytes(state))
        self._need_state()
        if state._inst is not None and state._inst() is not self._loaded:
            raise FmuError(f"{self.name}: this FmuState belongs to another FMU instance; "
                           "pass serialize_state() bytes to move a state between instances")
        self.call("setFMUState", state.handle, at=state.time)
        self._fresh, self.time = False, state.time

    def serialize_state(self, state: FmuState | None = None) -> bytes:
        """Bytes of ``state`` (default: the current state): 8-byte magic, time (float64), FMI bytes."""
        self._need_state(serialize=True)
        snap = state or self.get_state()
        raw = self.call("serializeFMUState", snap.handle, at=snap.time)
        return _STATE_MAGIC + struct.pack("<d", snap.time) + raw

    def deserialize_state(self, data: bytes) -> FmuState:
        """Turn :meth:`serialize_state` bytes back into an :class:`FmuState` of this instance."""
        self._need_state(serialize=True)
        if not data.startswith(_STATE_MAGIC) or len(data) < 16:
            raise FmuError(f"{self.name}: bytes are not a workbench FMU state (use serialize_state)")
        (time,) = struct.unpack("<d", data[8:16])
        handle = self.call("deserializeFMUState", data[16:], at=time)
        return FmuState(time, handle, weakref.ref(self._loaded))

    @staticmethod
    def state_time(state: FmuState | bytes) -> float:
        """Simulation time stored in a snapshot or in serialized state bytes."""
        if isinstance(state, FmuState):
            return state.time
        return struct.unpack("<d", bytes(state)[8:16])[0]
