"""Model exchange through FMPy's CVode driver, reusing the live FMU instance.

:func:`run_me` hands the instantiated (and reset) :class:`~fmu_models.FmuInstance` to :func:`fmpy.simulate_fmu`
with ``fmu_instance=`` and the extracted folder, so nothing is extracted or
instantiated again and the numbers equal FMPy's. The FMU's derivative call is
traced so that a failure reports the FMI function, status and simulation time.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from fmu_models._config import InputTable, RunConfig, TimeGrid, as_input_table
from fmu_models._instance import FmuInstance, tag_error
from workbench.errors import ConfigError, FmuError

__all__ = ["run_me"]


def run_me(inst: FmuInstance, cfg: RunConfig, grid: TimeGrid, outputs: tuple[str, ...], run_index: int | None,
           out: np.ndarray | None = None) -> tuple[np.ndarray, FmuError | None]:
    """Run ``inst`` (interface ``"me"``) over ``grid``; return the recorded values and the error, if any.

    Values after a failure stay NaN; ``inst.time`` is the last time CVode reached.
    """
    from fmpy import simulate_fmu

    if cfg.start_state is not None:
        raise FmuError(f"{inst.name}: continuing from a state needs interface='cs' (model exchange "
                       "restarts CVode from initialisation)")
    if grid.record_every != 1:
        raise ConfigError("step_size applies to co-simulation only; leave it out for interface='me'")
    signals = _fmpy_signals(cfg.inputs, grid)
    reached = [grid.start]

    def step_finished(time: float, recorder: Any) -> bool:
        reached[0] = time
        return True

    inst.claim()
    n_rec = grid.n_steps + 1
    y = np.full((n_rec, len(outputs)), np.nan) if out is None else out
    fmu, failed = inst.fmu, []
    fmu_time = [grid.start]
    set_time, get_dx = fmu.setTime, (fmu.getContinuousStateDerivatives if inst.fmi_version == 3
                                     else fmu.getDerivatives)

    def traced_set_time(t: float) -> Any:
        fmu_time[0] = t
        return set_time(t)

    def traced_get_dx(*args: Any) -> Any:
        try:
            return get_dx(*args)
        except Exception as exc:  # record the FMI failure; CVode then stops
            failed.append((getattr(exc, "function", "getDerivatives"), getattr(exc, "status", None),
                           fmu_time[0]))
            raise

    fmu.setTime = traced_set_time
    setattr(fmu, "getContinuousStateDerivatives" if inst.fmi_version == 3 else "getDerivatives", traced_get_dx)
    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None  # exceptions in CVode callbacks
    try:
        res = simulate_fmu(
            str(inst.unzipdir), validate=False, start_time=grid.start, stop_time=grid.stop,
            output_interval=grid.step, relative_tolerance=cfg.tolerance, record_events=False,
            fmi_type="ModelExchange", start_values=dict(cfg.parameters), input=signals,
            output=list(outputs), model_description=inst.description, fmu_instance=fmu,
            step_finished=step_finished,
        )
    except Exception as exc:  # fmpy raises FMICallException / RuntimeError from CVode
        if failed:
            func, status, at = failed[0]
            err = inst.error(None, func, at, status)
        elif getattr(exc, "status", None) is not None:
            err = inst.error(exc, "", reached[0])
        else:
            err = FmuError(f"{inst.name}: model exchange failed after t = {reached[0]:.9g} s: {exc}"
                           f"{inst.last_log()}")
            err.fmu, err.function, err.status, err.time = inst.name, "CVode", None, reached[0]
        tag_error(err, run_index)
        inst.failed = True
        inst.time = reached[0]
        return y, err
    finally:
        sys.unraisablehook = hook
        del fmu.setTime
        delattr(fmu, "getContinuousStateDerivatives" if inst.fmi_version == 3 else "getDerivatives")
    for j, name in enumerate(outputs):
        y[: len(res), j] = res[name][:n_rec]
    inst.time = grid.stop
    return y, None


def _fmpy_signals(inputs: Mapping[str, InputTable], grid: TimeGrid) -> np.ndarray | None:
    """FMPy structured input array reproducing every table (jumps as repeated time rows)."""
    if not inputs:
        return None
    tables = {k: as_input_table(k, v) for k, v in inputs.items()}
    jumps = set()
    for tab in tables.values():
        if tab.interpolation == "step":
            jumps.update(tab.time[1:][np.diff(tab.values) != 0])
        jumps.update(tab.time[1:][np.diff(tab.time) == 0])
    times = np.unique(np.concatenate([t.time for t in tables.values()] + [[grid.start, grid.stop]]))
    rows = []
    for t in times:
        after = [tab.at(np.array([t]))[0] for tab in tables.values()]
        if t in jumps:
            before = [_left_limit(tab, t) for tab in tables.values()]
            rows.append((t, *before))
        rows.append((t, *after))
    dtype = [("time", np.float64)] + [(k, np.float64) for k in tables]
    return np.array(rows, dtype=dtype)


def _left_limit(tab: InputTable, t: float) -> float:
    i = int(np.searchsorted(tab.time, t, side="left"))
    if i == 0:
        return float(tab.values[0])
    if tab.interpolation == "step":
        return float(tab.values[i - 1])
    if i + 1 < tab.time.size and tab.time[i] == t == tab.time[i + 1]:
        return float(tab.values[i])  # value before a jump given as a repeated time
    return float(tab.at(np.array([t]))[0])


