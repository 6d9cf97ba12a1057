"""Fixtures building the first-order-lag test FMU (FMI 2.0 and 3.0) once per session.

Import the fixture into a test module with
``from tests.fmu_models.lag_fixtures import lag_fmus_fixture  # noqa: F401``; tests then
ask for ``lag_fmus``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def _builder():
    spec = importlib.util.spec_from_file_location("build_lag", DATA / "build_lag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_lag_fmu


@pytest.fixture(scope="session", name="lag_fmus")
def lag_fmus_fixture(tmp_path_factory) -> dict[int, Path]:
    """``{2: lag2.fmu, 3: lag3.fmu}`` compiled with gcc into a session temp folder."""
    out = tmp_path_factory.mktemp("lag")
    build = _builder()
    return {v: build(out, v) for v in (2, 3)}
