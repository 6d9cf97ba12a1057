"""Session fixture and helpers for the shipped FMU models (reactor, dryer, degradation).

Import into a test module with
``from tests.fmu_models.shipped_fixtures import shipped_fmus_fixture  # noqa: F401``;
tests then ask for ``shipped_fmus`` (a dict ``{"reactor": Path, "reactor3": Path, ...}``).
The FMUs are built by :func:`fmu_models.build_all` into ``fmu_models/build``
(git-ignored, hash-stamped, so this is a no-op when ``make setup`` already ran).
"""

from __future__ import annotations

from pathlib import Path

import fmpy
import numpy as np
import pytest

from fmu_models import build_all


@pytest.fixture(scope="session", name="shipped_fmus")
def shipped_fmus_fixture() -> dict[str, Path]:
    """``{stem: path}`` of every shipped FMU, built once per session."""
    return {p.stem: p for p in build_all()}


def simulate(fmu: Path, fmi_type: str, start_values: dict, stop_time: float,
             output_interval: float, rtol: float = 1e-8) -> np.ndarray:
    """Plain ``fmpy.simulate_fmu``; CS runs the FMU's own integrator, ME runs FMPy's CVode."""
    kwargs = dict(fmi_type=fmi_type, start_values=start_values, stop_time=stop_time,
                  output_interval=output_interval)
    if fmi_type == "ModelExchange":
        kwargs["relative_tolerance"] = rtol
    return fmpy.simulate_fmu(str(fmu), **kwargs)


def on_grid(result: np.ndarray, name: str, times: np.ndarray) -> np.ndarray:
    """Values of ``name`` at ``times`` (ME results repeat event times: take the last value)."""
    t = result["time"]
    y = result[name]
    idx = np.searchsorted(t, times, side="right") - 1
    idx = np.clip(idx, 0, len(t) - 1)
    if not np.allclose(t[idx], times, rtol=0, atol=1e-6 * max(1.0, float(times[-1]))):
        raise AssertionError(f"output grid of {name} does not contain the requested times")
    return y[idx]
