"""Helpers shared by twin tests and twin validation tests (reactor FMU + shipped scenarios)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmu_models import shipped

ROOT = Path(__file__).resolve().parents[2]
FMU = shipped("reactor")
PLANT_YAML = ROOT / "scenarios" / "reactor_plant.yaml"
TWIN_YAML = ROOT / "scenarios" / "reactor_twin.yaml"


def need_fmu() -> Path:
    if not FMU.exists():
        pytest.skip("reactor FMU not built; run `twin fmu build` (make setup) first")
    return FMU


def plant(**overrides):
    """Shipped plant scenario, without drift and faults unless overridden."""
    from twin.emulator import load_plant_scenario

    base = {"drift": [], "faults": [], "fmu": str(need_fmu())}
    base.update(overrides)
    return load_plant_scenario(PLANT_YAML, overrides=base)


def binding(tmp_path=None, **overrides):
    from twin import load_binding

    base = {"fmu": str(need_fmu())}
    if tmp_path is not None:
        base["trace.path"] = str(Path(tmp_path) / "trace.zarr")
    base.update(overrides)
    return load_binding(TWIN_YAML, overrides=base)
