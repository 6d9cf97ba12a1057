"""Model exchange through FMPy's CVode driver, reusing the live FMU instance.

:func:`run_me` hands the instantiated (and reset) :class:`~fmu_models.FmuInstance` to :func:`fmpy.simulate_fmu`
with ``fmu_instance=`` and the extracted folder, so nothing is extracted or
instantiated again and the numbers equal FMPy's. The FMU's derivative call is
traced so that a failure reports the FMI function, status and simulation time.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fmu_models._config import InputTable, RunConfig, TimeGrid, as_input_table
from fmu_models._instance import FmuInstance, tag_error
from fmu_models._outputs import OutputPlan
from workbench.errors import ConfigError, FmuError

if TYPE_CHECKING:
    from fmu_models._runtime import RunArrays

__all__ = ["run_me"]


def run_me(inst: FmuInstance, cfg: RunConfig, grid: TimeGrid, plan: OutputPlan, run_index: int | None,
           out: np.ndarray | None = None) -> RunArrays:
    """Run ``inst`` (interface ``"me"``) over ``grid``; return the recorded columns and the error, if any.

    Values after a failure stay NaN; ``inst.time`` is the last time CVode reached. A model
    that ends the simulation itself (``terminateSimulation`` in an event update) gives
    results truncated at the last recorded point, as FMPy's, with ``terminated_at`` set.
    """
    from fmpy import simulate_fmu

    from fmu_models._runtime import RunArrays  # noqa: F811 - the runtime imports this module lazily

    outputs = plan.real
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
    arrays = RunArrays(grid.times, y, outputs, typed=plan.typed_buffers(n_rec), columns=plan.names)
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
            fmi_type="ModelExchange", start_values=_start_values(inst, cfg.parameters), input=signals,
            output=plan.variables, model_description=inst.description, fmu_instance=fmu,
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
        arrays.error = err
        return arrays
    finally:
        sys.unraisablehook = hook
        del fmu.setTime
        delattr(fmu, "getContinuousStateDerivatives" if inst.fmi_version == 3 else "getDerivatives")
    rows = min(len(res), n_rec)
    for j, name in enumerate(outputs):
        y[:rows, j] = res[name][:rows]
    for col in plan.typed:
        values = res[col.var.name][:rows]
        arrays.typed[col.name][:rows] = values if col.flat is None else values.reshape(rows, -1)[:, col.flat]
    if rows < n_rec:  # the model ended the simulation itself (FMPy stops at terminateSimulation)
        inst.terminated = True
        t_end = inst.time = fmu_time[0]
        t_last = float(res["time"][rows - 1]) if rows else grid.start
        if rows and t_end > t_last:
            # FMPy (record_events=False) stops without a sample at the end; record the values
            # there, after the event update, as a co-simulation run does
            try:
                if outputs:
                    y[rows] = inst.get_real(outputs, role="output", what="get outputs")
                if plan.typed:
                    plan.reader(inst).read(arrays.typed, rows)
                rows, t_last = rows + 1, t_end
            except FmuError:
                pass  # an FMU that refuses reads after terminate: end at the last sample
        arrays.truncate(rows, t_last)
        arrays.terminated_at = t_end
        return arrays
    inst.time = grid.stop
    return arrays


def _start_values(inst: FmuInstance, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters checked and typed by the runtime (FMPy's own conversion would wrap integers)."""
    from fmu_models._values import coerce_value

    out = {}
    for name, value in parameters.items():
        var = inst.settable(name, "parameter")
        out[name] = coerce_value(var, value, fmu=inst.name, fmi_version=inst.fmi_version)
    return out


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


