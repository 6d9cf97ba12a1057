"""Bridge to the physics layer's degradation model (``fmu_models``).

``model: fmu`` runs an FMU (``degradation.fmu``, found by :func:`fmu_models.resolve_fmu`;
default the shipped ``degradation``) with
:meth:`fmu_models.FmuModel.run_many`, one run per parameter draw;
``model: reference`` calls the Python reference implementation
``fmu_models.reference.degradation.simulate_reference`` (same documented
equations, scipy ``solve_ivp``). Both return the ``output`` variable
(default ``D``, the damage of the shipped model) on the requested time grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ConfigError, SimulationError

__all__ = ["run_degradation"]

_MODELS = ("fmu", "reference")


def run_degradation(spec, params: list[dict[str, float]], time: np.ndarray, *, seed: int,
                    executor: Any = None, base_dir: str | Path | None = None) -> np.ndarray:
    """Run the degradation model once per parameter set.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(paths, len(time))`` degradation levels and a boolean mask of the runs that succeeded.

    Raises
    ------
    ConfigError
        Unknown backend or missing FMU file.
    SimulationError
        When the physics layer cannot run or every run failed.
    """
    output = spec.output or "D"
    if spec.model not in _MODELS:
        raise ConfigError(f'degradation.model "{spec.model}" is not known; use "fmu" or "reference"',
                          path="degradation.model")
    inputs = dict(spec.inputs)
    if spec.model == "fmu":
        from fmu_models import FmuModel, resolve_fmu

        path = resolve_fmu(spec.fmu or "degradation", base_dir, field="degradation.fmu")
        model = FmuModel(path)
        ds = model.run_many([{**p} for p in params], stop_time=float(time[-1]),
                            output_interval=float(time[1] - time[0]), outputs=[output],
                            inputs=inputs or {}, executor=executor, seed=seed)
        level = ds[output].interp(time=time).values
        ok = ds["status"].values == 0 if "status" in ds else np.ones(len(level), bool)
    else:
        try:
            from fmu_models.reference import degradation as reference
        except ImportError as exc:
            raise SimulationError("the physics layer's degradation reference model "
                                  "(fmu_models.reference.degradation) is not available") from exc
        rows, ok = [], []
        for p in params:
            try:
                res = reference.simulate_reference(p, inputs or None, t_eval=time)
                rows.append(np.asarray(res[output], dtype=float))
                ok.append(True)
            except Exception:  # noqa: BLE001 - one bad draw must not stop the others
                rows.append(np.full(len(time), np.nan))
                ok.append(False)
        level, ok = np.asarray(rows), np.asarray(ok)
    ok &= np.isfinite(level).all(axis=1)
    if not ok.any():
        raise SimulationError(f"every degradation run failed ({len(params)} runs of the {spec.model} model)")
    return level, ok
