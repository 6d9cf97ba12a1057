"""The co-simulation stepping loop: the C stepper, or the same loop over ctypes in Python.

Both return ``(status, steps_done, failed_call)`` with ``failed_call`` 1 = set
inputs, 2 = doStep, 3 = get outputs, and write the recorded rows into ``y``
(row 0, the initial values, is filled by the caller).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import numpy as np

from fmu_models._config import TimeGrid

if TYPE_CHECKING:
    from fmu_models._runtime import FmuModel

__all__ = ["loop_c", "loop_py"]


def loop_c(model: FmuModel, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
            y: np.ndarray) -> tuple[int, int, int]:
    v = model.fmi_version
    ptrs = model._ptrs
    u = np.ascontiguousarray(u)
    done, call, term = ctypes.c_long(0), ctypes.c_int(0), ctypes.c_int(0)
    fn = model._stepper.wb_run_cs2 if v == 2 else model._stepper.wb_run_cs3
    status = fn(*ptrs, model._c, grid.start, grid.step, grid.n_steps, grid.record_every,
                in_vr.ctypes.data, in_vr.size, u.ctypes.data if u.size else None,
                out_vr.ctypes.data, out_vr.size, y.ctypes.data,
                ctypes.addressof(done), ctypes.addressof(call), ctypes.addressof(term))
    return status, done.value, call.value

def loop_py(model: FmuModel, grid: TimeGrid, in_vr: np.ndarray, u: np.ndarray, out_vr: np.ndarray,
             y: np.ndarray) -> tuple[int, int, int]:
    c, t0, h, every = model._c, grid.start, grid.step, grid.record_every
    n_in, n_out = in_vr.size, out_vr.size
    iv = in_vr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
    ov = out_vr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
    dbl = ctypes.POINTER(ctypes.c_double)
    nv_in, nv_out = model._nv(n_in), model._nv(n_out)
    f_set, f_get, f_step = model._f_set, model._f_get, model._f_step
    if model.fmi_version == 3:
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
            return s, k, 2
        t = t_next
        if (k + 1) % every == 0:
            s = f_get(c, ov, n_out, y[row].ctypes.data_as(dbl), *nv_out)
            if s > 1:
                return s, k + 1, 3
            row += 1
        if model.fmi_version == 3 and b[1].value:
            break
    return 0, grid.n_steps, 0

