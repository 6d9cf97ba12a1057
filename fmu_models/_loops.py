"""The co-simulation stepping loop: the C stepper, or the same loop over ctypes in Python.

Both take an :class:`~fmu_models.FmuInstance` (its :attr:`~fmu_models.FmuInstance.raw`
function pointers and :attr:`~fmu_models.FmuInstance.component`), return
``(status, steps_done, failed_call, terminated)`` with ``failed_call`` 1 = set inputs,
2 = doStep, 3 = get outputs, and write the recorded rows into ``y`` (row 0, the
initial values, is filled by the caller). ``terminated`` is True when an FMI 3.0
doStep set ``terminateSimulation``: the loop then records one more row at that step
and stops (an FMI 2.0 model that terminates returns ``fmi2Discard`` from doStep, which
the caller checks with :meth:`~fmu_models.FmuInstance.termination_time`). :func:`loop_error` turns a non-zero
status into the :class:`FmuError` naming the failed FMI function.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fmu_models._config import TimeGrid
from workbench.errors import FmuError

if TYPE_CHECKING:
    from fmu_models._instance import FmuInstance

__all__ = ["loop_c", "loop_py", "loop_error"]


def loop_c(inst: FmuInstance, lib: Any, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
           y: np.ndarray, extras: Sequence[Any] = ()) -> tuple[int, int, int, bool]:
    """Run the loop in C (``lib`` from :func:`~fmu_models._stepper.load_stepper`).

    ``extras`` are ``wb_extra`` records (:meth:`~fmu_models._outputs.TypedReader.c_groups`)
    read at every recorded point besides the Float64 outputs.
    """
    from fmu_models._stepper import WbExtra

    u = np.ascontiguousarray(u)
    ext = (WbExtra * len(extras))(*extras) if extras else None
    done, call, term = ctypes.c_long(0), ctypes.c_int(0), ctypes.c_int(0)
    fn = lib.wb_run_cs2 if inst.fmi_version == 2 else lib.wb_run_cs3
    status = fn(*inst.raw.pointers, inst.component, grid.start, grid.step, grid.n_steps, grid.record_every,
                in_vr.ctypes.data, in_vr.size, u.ctypes.data if u.size else None,
                out_vr.ctypes.data, out_vr.size, y.ctypes.data,
                ctypes.addressof(done), ctypes.addressof(call), ctypes.addressof(term),
                ctypes.addressof(ext) if ext is not None else None, len(extras))
    return status, done.value, call.value, bool(term.value)


def loop_py(inst: FmuInstance, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
            y: np.ndarray, on_record: Callable[[int], None] | None = None) -> tuple[int, int, int, bool]:
    """The same loop over ctypes (when the C stepper is unavailable, or with typed outputs).

    ``on_record(row)``, if given, is called after each recorded row (it reads the typed
    outputs; an :class:`FmuError` it raises ends the loop).
    """
    raw = inst.raw
    c, t0, h, every = inst.component, grid.start, grid.step, grid.record_every
    n_in, n_out = in_vr.size, out_vr.size
    iv = in_vr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
    ov = out_vr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
    dbl = ctypes.POINTER(ctypes.c_double)
    nv_in, nv_out = raw.nv(n_in), raw.nv(n_out)
    f_set, f_get, f_step = raw.set, raw.get, raw.step
    fmi3 = raw.version == 3
    if fmi3:
        b = [ctypes.c_bool() for _ in range(3)]
        last = ctypes.c_double()
        extra = (True, ctypes.byref(b[0]), ctypes.byref(b[1]), ctypes.byref(b[2]), ctypes.byref(last))
    else:
        extra = (1,)
    t, row = t0, 1
    for k in range(grid.n_steps):
        t_next = t0 + (k + 1) * h
        if n_in:
            s = f_set(c, iv, n_in, u[k].ctypes.data_as(dbl), *nv_in)
            if s > 1:
                return s, k, 1
        s = f_step(c, t, t_next - t, *extra)
        if s > 1:
            return s, k, 2, False
        t = t_next
        term = fmi3 and b[1].value
        if (k + 1) % every == 0 or term:
            if n_out:
                s = f_get(c, ov, n_out, y[row].ctypes.data_as(dbl), *nv_out)
                if s > 1:
                    return s, k + 1, 3, False
            if on_record is not None:
                inst.time = t
                on_record(row)
            row += 1
        if term:
            return 0, k + 1, 0, True
    return 0, grid.n_steps, 0, False


def loop_error(inst: FmuInstance, status: int, call: int, at: float) -> FmuError:
    """The error of a loop that stopped with ``status`` in ``call`` (1 set, 2 doStep, 3 get, 4 typed get)."""
    if call == 4:
        return inst.error(None, f"fmi{inst.fmi_version}Get<type> of the non-Float64 outputs", at, status)
    fname = {1: "SetReal", 2: "DoStep", 3: "GetReal"}[call]
    if inst.fmi_version == 3:
        fname = fname.replace("Real", "Float64")
    return inst.error(None, f"fmi{inst.fmi_version}{fname}", at, status)
