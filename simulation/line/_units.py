"""Unit models: where a batch unit's processing time and batch quality come from.

A station with ``unit:`` asks its :class:`UnitModel` for every batch::

    duration_s, quality = unit.batch_outcome(recipe, disturbances)

:class:`FmuUnitModel` answers by running the unit's FMU (``fmu_models.FmuModel``,
reset between runs) with the recipe and the sampled disturbances as start values,
and reading the end time and quality attributes off the trajectory. Outcomes of
identical inputs are cached (the FMU is deterministic). :class:`CallableUnitModel`
wraps a plain function (a surrogate model, or a test double with known answers).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from simulation.line.config import FmuUnit, LineScenario
from workbench.errors import ConfigError, SimulationError
from workbench.units import parse_quantity

__all__ = ["UnitModel", "FmuUnitModel", "CallableUnitModel", "unit_models_for", "resolve_fmu_path"]


@runtime_checkable
class UnitModel(Protocol):
    """What a batch unit needs from a process model."""

    def batch_outcome(self, recipe: Mapping[str, Any], disturbances: Mapping[str, float]) -> tuple[float, dict[str, float]]:
        """Return ``(duration in s, {quality attribute: value})`` of one batch."""
        ...


class CallableUnitModel:
    """A unit model from a function ``fn(recipe, disturbances) -> (duration_s, quality)``."""

    def __init__(self, fn: Callable[[Mapping[str, Any], Mapping[str, float]], tuple[float, dict[str, float]]],
                 *, guid: str = "callable"):
        self.fn = fn
        self.guid = guid

    def batch_outcome(self, recipe, disturbances):
        """Call the function."""
        duration, quality = self.fn(recipe, disturbances)
        return float(duration), {k: float(v) for k, v in quality.items()}


def _si(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    q = parse_quantity(value)
    return float(q.to_base_units().magnitude)


class FmuUnitModel:
    """A batch unit simulated by its FMU.

    Parameters
    ----------
    spec
        The station's ``unit:`` config.
    path
        Resolved path of the ``.fmu`` file.

    Notes
    -----
    ``spec.parameters`` maps FMU variable → recipe or disturbance key (a string found in
    either) or a fixed number/quantity. The batch ends at the first recorded time where
    ``end_variable`` is below ``end_below`` (or above ``end_above``); without an end
    condition, or if it is never met, it ends at ``stop_time``. Quality attributes are
    the values of the mapped outputs at the end time, plus ``end_reached`` (1/0).
    """

    def __init__(self, spec: FmuUnit, path: str | Path):
        from fmu_models import FmuModel  # layer 1, imported lazily

        self.spec = spec
        self.path = Path(path)
        self.model = FmuModel(self.path)
        self.guid = self.model.guid
        self._cache: dict[str, tuple[float, dict[str, float]]] = {}
        self.runs = 0
        outputs = set(spec.quality.values())
        if spec.end_variable:
            outputs.add(spec.end_variable)
        self._outputs = sorted(outputs)
        for name in self._outputs:
            self.model.variable(name, role="output")
        for name in spec.parameters:
            self.model.variable(name, role="parameter")
        for name in spec.inputs:
            self.model.variable(name, role="input")

    def _parameters(self, recipe: Mapping[str, Any], disturbances: Mapping[str, float],
                    mapping: Mapping[str, Any] | None = None) -> dict[str, float]:
        params: dict[str, float] = {}
        for var, src in (self.spec.parameters if mapping is None else mapping).items():
            if isinstance(src, str) and src in disturbances:
                params[var] = float(disturbances[src])
            elif isinstance(src, str) and src in recipe:
                params[var] = _si(recipe[src])
            elif isinstance(src, str):
                try:
                    params[var] = _si(src)
                except ConfigError:
                    raise SimulationError(
                        f"unit {self.path.name}: parameter '{var}' maps to '{src}', which is neither a "
                        f"recipe key ({', '.join(recipe) or 'none'}), a disturbance "
                        f"({', '.join(disturbances) or 'none'}) nor a value"
                    ) from None
            else:
                params[var] = float(src)
        return params

    def batch_outcome(self, recipe, disturbances):
        """Run the FMU for one batch (or reuse the cached outcome of identical inputs)."""
        params = self._parameters(recipe, disturbances)
        inputs = self._parameters(recipe, disturbances, self.spec.inputs)
        key = hashlib.sha1(json.dumps([params, inputs], sort_keys=True).encode()).hexdigest()
        if self.spec.cache and key in self._cache:
            d, q = self._cache[key]
            return d, dict(q)
        ds = self.model.run(parameters=params, inputs=inputs, stop_time=self.spec.stop_time,
                            output_interval=self.spec.output_interval, outputs=self._outputs)
        self.runs += 1
        t = ds["time"].values
        idx = len(t) - 1
        reached = 1.0
        if self.spec.end_variable:
            y = ds[self.spec.end_variable].values
            hit = np.ones(len(t), dtype=bool)
            if self.spec.end_below is not None:
                hit &= y < self.spec.end_below
            if self.spec.end_above is not None:
                hit &= y > self.spec.end_above
            where = np.flatnonzero(hit)
            if len(where):
                idx = int(where[0])
            else:
                reached = 0.0
        duration = float(t[idx] - t[0]) + self.spec.extra_time
        quality = {attr: float(ds[var].values[idx]) for attr, var in self.spec.quality.items()}
        quality["end_reached"] = reached
        if not math.isfinite(duration):
            raise SimulationError(f"unit {self.path.name}: batch duration is not finite")
        self._cache[key] = (duration, quality)
        return duration, dict(quality)


def resolve_fmu_path(fmu: str, base_dir: str | Path | None) -> Path:
    """Find an FMU named in a scenario (``unit.fmu``): :func:`fmu_models.resolve_fmu`.

    Deprecated name, kept for existing callers: relative to the scenario's folder,
    then the current directory, then a shipped FMU in ``fmu_models/build``.
    """
    import fmu_models  # layer 1

    return fmu_models.resolve_fmu(fmu, base_dir, field="unit.fmu")


_MODELS: dict[tuple[str, str], FmuUnitModel] = {}


def unit_models_for(scenario: LineScenario, base_dir: str | Path | None = None) -> dict[str, Any]:
    """Unit models of the scenario's FMU-backed stations (one per process, reused across runs)."""
    out: dict[str, Any] = {}
    for s in scenario.stations:
        if s.unit is None:
            continue
        path = resolve_fmu_path(s.unit.fmu, base_dir)
        key = (str(path), s.unit.model_dump_json())
        if key not in _MODELS:
            _MODELS[key] = FmuUnitModel(s.unit, path)
        out[s.name] = _MODELS[key]
    return out
