"""Run configuration of the FMU runtime: parameters, input tables, time grid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from workbench.errors import ConfigError

__all__ = ["InputTable", "RunConfig", "TimeGrid", "MAX_OUTPUT_POINTS", "MAX_STEPS"]

MAX_OUTPUT_POINTS = 10_000_000
"""Most recorded points one run may have (10 million rows: 80 MB per output)."""
MAX_STEPS = 100_000_000
"""Most communication steps one run may have."""


def _seconds(value: Any, what: str) -> float | None:
    """Float seconds from a number or a quantity string such as ``"8 h"``."""
    if value is None:
        return None
    if isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool):
        return float(value)
    from workbench.units import convert

    return convert(value, "s") if isinstance(value, str) else _bad(what, value)


def _bad(what: str, value: Any) -> float:
    raise ConfigError(f"{what}: {value!r} is not a time; give seconds or a duration such as '8 h'")


@dataclass(frozen=True)
class InputTable:
    """A time-varying input: a table of (time, value) points.

    Parameters
    ----------
    time
        Non-decreasing times in s; a repeated time makes a jump (the later value wins).
    values
        One value per time.
    interpolation
        ``"linear"`` (piecewise linear, as FMPy's ``Input``) or ``"step"``
        (hold the last value, zero-order hold). Outside the table the end values hold.
    """

    time: np.ndarray
    values: np.ndarray
    interpolation: Literal["linear", "step"] = "linear"

    def __post_init__(self) -> None:
        t = np.asarray(self.time, dtype=float).ravel()
        v = np.asarray(self.values, dtype=float).ravel()
        if t.size == 0 or t.size != v.size:
            raise ConfigError(
                f"input table: time ({t.size} points) and values ({v.size} points) must be "
                "non-empty and of equal length"
            )
        if np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
            raise ConfigError("input table: time must be finite and non-decreasing")
        if self.interpolation not in ("linear", "step"):
            raise ConfigError(
                f"input table: interpolation {self.interpolation!r} is not known; use 'linear' or 'step'"
            )
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "values", v)

    @classmethod
    def constant(cls, value: float) -> InputTable:
        """An input held at ``value`` for all times."""
        return cls(np.array([0.0]), np.array([float(value)]), "step")

    def at(self, times: np.ndarray) -> np.ndarray:
        """Values at ``times`` (vectorised; same arithmetic as FMPy's ``Input.interpolate``)."""
        t, v = self.time, self.values
        times = np.asarray(times, dtype=float)
        if t.size == 1:
            return np.full(times.shape, v[0])
        # index of the last table point with t <= time (right-hand value at jumps)
        i = np.searchsorted(t, times, side="right") - 1
        i = np.clip(i, 0, t.size - 1)
        if self.interpolation == "step":
            return v[i]
        i0 = np.clip(i, 0, t.size - 2)
        i1 = i0 + 1
        t0, t1 = t[i0], t[i1]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            w0 = (t1 - times) / (t1 - t0)
            out = w0 * v[i0] + (1 - w0) * v[i1]
        out = np.where(t1 == t0, v[i1], out)
        out = np.where(times >= t[-1], v[-1], out)
        return np.where(times <= t[0], v[0], out)  # as FMPy: the first value holds up to t[0]


def as_input_table(name: str, spec: Any) -> InputTable:
    """Accept an :class:`InputTable`, a constant, a ``(time, values)`` pair or a pandas Series."""
    if isinstance(spec, InputTable):
        return spec
    if isinstance(spec, int | float | np.floating | np.integer) and not isinstance(spec, bool):
        return InputTable.constant(float(spec))
    if hasattr(spec, "index") and hasattr(spec, "to_numpy"):  # pandas Series indexed by time in s
        return InputTable(np.asarray(spec.index, dtype=float), spec.to_numpy(dtype=float))
    if isinstance(spec, Mapping) and {"time", "values"} <= set(spec):
        return InputTable(spec["time"], spec["values"], spec.get("interpolation", "linear"))
    if isinstance(spec, Sequence | np.ndarray) and len(spec) == 2:
        return InputTable(spec[0], spec[1])
    raise ConfigError(
        f"inputs.{name}: {type(spec).__name__} is not an input; give a number, (time, values), "
        "a dict with time/values/interpolation, or an InputTable"
    )


@dataclass(frozen=True)
class RunConfig:
    """What to simulate in one run of an :class:`~fmu_models.FmuModel`.

    Parameters
    ----------
    parameters
        Start values by variable name (parameters, or any variable the FMU lets
        you set before initialisation).
    inputs
        Time-varying inputs by name: :class:`InputTable`, number, ``(time, values)``.
    start_time, stop_time
        Seconds or duration strings; default from the FMU's DefaultExperiment
        (else 0 and start + 1 s).
    output_interval
        Spacing of the recorded points; default the DefaultExperiment step
        size, else (stop - start)/500.
    step_size
        Co-simulation communication step (inputs are set and doStep called at
        this rate); default ``output_interval``, which must be a whole multiple of it.
    outputs
        Names of the variables (or ``name[i]`` array elements) to record; default every
        output of a recordable type (Real/Float, integers, Boolean, Enumeration). ``"time"``
        is the coordinate of every result and is ignored here.
    tolerance
        Relative tolerance passed to the FMU (and to CVode for model exchange);
        default the DefaultExperiment tolerance (as FMPy).
    start_state
        Continue from an :class:`~fmu_models.FmuState` or serialized state
        instead of initialising (co-simulation only); start time = state time.
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    start_time: float | str | None = None
    stop_time: float | str | None = None
    output_interval: float | str | None = None
    step_size: float | str | None = None
    outputs: Sequence[str] | None = None
    tolerance: float | None = None
    start_state: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", dict(self.parameters or {}))
        object.__setattr__(
            self, "inputs", {k: as_input_table(k, v) for k, v in (self.inputs or {}).items()}
        )
        for name in ("start_time", "stop_time", "output_interval", "step_size"):
            object.__setattr__(self, name, _seconds(getattr(self, name), name))
        if self.outputs is not None:
            outs = [self.outputs] if isinstance(self.outputs, str) else list(self.outputs)
            object.__setattr__(self, "outputs", tuple(outs))

    def updated(self, **changes: Any) -> RunConfig:
        """Copy with fields replaced; ``parameters``/``inputs`` are merged, not replaced."""
        if "parameters" in changes:
            changes["parameters"] = {**self.parameters, **dict(changes["parameters"] or {})}
        if "inputs" in changes:
            changes["inputs"] = {**self.inputs, **dict(changes["inputs"] or {})}
        return replace(self, **changes)


@dataclass(frozen=True)
class TimeGrid:
    """Communication and recording grid of one run."""

    start: float
    stop: float
    step: float
    n_steps: int
    record_every: int

    @property
    def times(self) -> np.ndarray:
        """Recorded times ``t0 + k*record_every*h`` (the communication points FMPy uses)."""
        k = np.arange(0, self.n_steps + 1, self.record_every, dtype=float)
        return self.start + k * self.step

    @property
    def step_times(self) -> np.ndarray:
        """Start time of every communication step."""
        return self.start + np.arange(self.n_steps, dtype=float) * self.step

    @classmethod
    def build(cls, start: float, stop: float, interval: float, step: float | None) -> TimeGrid:
        """Check and build the grid; whole multiples are required (1e-9 relative slack)."""
        if not stop > start:
            raise ConfigError(f"stop_time ({stop} s) must be greater than start_time ({start} s)")
        if not interval > 0:
            raise ConfigError(f"output_interval must be > 0 s (got {interval} s)")
        step = interval if step is None else step
        if not 0 < step <= interval:
            raise ConfigError(f"step_size must be in (0, output_interval = {interval} s] (got {step} s)")
        every = interval / step
        if abs(every - round(every)) > 1e-9 * every:
            raise ConfigError(
                f"output_interval ({interval} s) must be a whole multiple of step_size ({step} s)"
            )
        span = (stop - start) / interval
        if abs(span - round(span)) > 1e-9 * max(span, 1):
            raise ConfigError(
                f"stop_time - start_time ({stop - start} s) must be a whole multiple of "
                f"output_interval ({interval} s)"
            )
        if span > MAX_OUTPUT_POINTS:
            raise ConfigError(
                f"output_interval = {interval:.6g} s over {stop - start:.6g} s would record {span:.3g} points; "
                f"at most {MAX_OUTPUT_POINTS:,} fit (give an output_interval of at least "
                f"{(stop - start) / MAX_OUTPUT_POINTS:.3g} s)"
            )
        if span * every > MAX_STEPS:
            raise ConfigError(
                f"step_size = {step:.6g} s over {stop - start:.6g} s would take {span * every:.3g} communication "
                f"steps; at most {MAX_STEPS:,} are allowed (give a step_size of at least "
                f"{(stop - start) / MAX_STEPS:.3g} s)"
            )
        every = int(round(every))
        return cls(start, stop, step, int(round(span)) * every, every)


def default_times(md: Any, cfg: RunConfig) -> tuple[float, float, float]:
    """Start, stop and output interval from the config, else the FMU's DefaultExperiment."""
    exp = md.defaultExperiment
    start = cfg.start_time
    if start is None:
        start = float(exp.startTime) if exp is not None and exp.startTime is not None else 0.0
    stop = cfg.stop_time
    if stop is None:
        stop = float(exp.stopTime) if exp is not None and exp.stopTime is not None else start + 1.0
    interval = cfg.output_interval
    if interval is None:
        if exp is not None and exp.stepSize is not None and float(exp.stepSize) > 0:
            interval = float(exp.stepSize)
            span = (stop - start) / interval
            if abs(span - round(span)) > 1e-9 * max(span, 1):
                interval = (stop - start) / max(1, math.ceil(span))
        else:
            interval = (stop - start) / 500
    return start, stop, interval
