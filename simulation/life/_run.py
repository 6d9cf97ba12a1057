"""Pick the engine for a life model and run it."""

from __future__ import annotations

import xarray as xr

from simulation.life._config import LifeModel
from simulation.life._montecarlo import simulate_missions
from simulation.life._repairable import simulate_operation

__all__ = ["run_life"]


def run_life(model: LifeModel, *, seed: int | None = None, executor=None, progress: bool | str = False,
             engine: str | None = None) -> xr.Dataset:
    """Run a life model with the engine it asks for.

    ``engine`` (default ``model.simulation.engine``): ``"vectorised"`` for
    non-repairable Monte Carlo, ``"event"`` for the repairable SimPy engine,
    ``"auto"`` picks event when any component has repair or preventive
    maintenance.

    Returns
    -------
    xarray.Dataset
        See :func:`simulate_missions` / :func:`simulate_operation`.
    """
    engine = engine or model.simulation.engine
    if engine == "auto":
        engine = "event" if model.repairable else "vectorised"
    if engine == "event":
        return simulate_operation(model, seed=seed, executor=executor, progress=progress)
    return simulate_missions(model, seed=seed, executor=executor, progress=progress)
