"""Degradation-based failure: random degradation paths from the physics layer's model.

For a component with ``degradation:`` the life is the first-passage time of its
degradation path through ``failure_threshold`` (Meeker & Escobar 1998, ch. 13,
"degradation data"). The path comes from the physics layer (``fmu_models``):
the FMU ``fmu_models/build/degradation.fmu`` run through
:class:`fmu_models.FmuModel` (``model: fmu``) or its Python reference
implementation (``model: reference``). Random unit-to-unit variation enters
through ``parameters``: each entry is a constant or a distribution drawn once
per path. ``paths`` paths are simulated once per run (common pool); the
Monte-Carlo engines resample lives and paths from that pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.life._config import Component, Degradation, LifeModel
from simulation.life._distributions import LifeDistribution
from workbench.errors import ConfigError, SimulationError
from workbench.executors import spawn_seeds

__all__ = ["DegradationPaths", "simulate_paths", "degradation_pools", "first_passage"]


@dataclass(frozen=True)
class DegradationPaths:
    """Simulated degradation paths of one component.

    Attributes
    ----------
    time
        ``(steps,)`` exposure time grid in seconds (reference stress).
    level
        ``(paths, steps)`` degradation level (non-decreasing in time).
    parameters
        ``(paths,)`` dicts of the parameter values drawn per path.
    """

    time: np.ndarray
    level: np.ndarray
    parameters: list[dict[str, float]]

    def lives(self, threshold: float) -> np.ndarray:
        """First-passage times through ``threshold`` (``inf`` if never reached)."""
        return first_passage(self.time, self.level, threshold)

    def level_at(self, path: int, t: float) -> float:
        """Degradation level of ``path`` at exposure time ``t`` (linear interpolation)."""
        return float(np.interp(t, self.time, self.level[path]))


def first_passage(time: np.ndarray, level: np.ndarray, threshold: float) -> np.ndarray:
    """First time each row of ``level`` reaches ``threshold`` (linear interpolation; inf if never)."""
    level = np.maximum.accumulate(np.atleast_2d(level), axis=1)
    hit = level >= threshold
    any_hit = hit.any(axis=1)
    j = np.argmax(hit, axis=1)
    out = np.full(level.shape[0], np.inf)
    rows = np.nonzero(any_hit)[0]
    for r in rows:
        k = j[r]
        if k == 0:
            out[r] = time[0]
            continue
        y0, y1 = level[r, k - 1], level[r, k]
        t0, t1 = time[k - 1], time[k]
        out[r] = t0 + (threshold - y0) / (y1 - y0) * (t1 - t0) if y1 > y0 else t1
    return out


def _draw_parameters(spec: Degradation, rng: np.random.Generator) -> list[dict[str, float]]:
    draws: dict[str, np.ndarray] = {}
    for name, value in spec.parameters.items():
        if isinstance(value, LifeDistribution):
            draws[name] = value.frozen().ppf(rng.random(spec.paths))
        else:
            draws[name] = np.full(spec.paths, float(value))
    return [{k: float(v[i]) for k, v in draws.items()} for i in range(spec.paths)]


def simulate_paths(component: Component, *, seed: int | None = 0, executor: Any = None,
                   base_dir: str | Path | None = None) -> DegradationPaths:
    """Simulate ``component.degradation.paths`` degradation paths with the physics model.

    Raises
    ------
    ConfigError
        For an unknown backend, FMU file or output variable.
    SimulationError
        When the physics layer is not available or every run failed.
    """
    spec = component.degradation
    if spec is None:
        raise ConfigError(f"component '{component.name}' has no degradation model", path="degradation")
    rng = np.random.default_rng(seed)
    params = _draw_parameters(spec, rng)
    time = np.linspace(0.0, spec.horizon, spec.steps + 1)
    from simulation.life._physics import run_degradation

    level, ok = run_degradation(spec, params, time, seed=spawn_seeds(seed, 1)[0], executor=executor,
                                base_dir=base_dir)
    return DegradationPaths(time, level[ok], [p for p, good in zip(params, ok, strict=True) if good])


def degradation_pools(model: LifeModel, *, seed: int | None = 0, executor: Any = None,
                      paths: dict[str, DegradationPaths] | None = None) -> dict[str, np.ndarray]:
    """Pools of degradation-based lives (s on the exposure clock) for every such component."""
    pools: dict[str, np.ndarray] = {}
    seeds = spawn_seeds(seed, len(model.components))
    for c, s in zip(model.components, seeds, strict=True):
        if c.degradation is None:
            continue
        p = (paths or {}).get(c.name) or simulate_paths(c, seed=s, executor=executor)
        lives = p.lives(c.degradation.failure_threshold)
        if not np.isfinite(lives).any():
            raise SimulationError(
                f"component '{c.name}': no degradation path reached failure_threshold "
                f"{c.degradation.failure_threshold} within the horizon {c.degradation.horizon:g} s; "
                "raise degradation.horizon"
            )
        pools[c.name] = lives
    return pools
