"""Fixture building the conformance FMUs once per session (see data/conformance/build_conformance.py).

Import into a test module with
``from tests.fmu_models.conformance_fixtures import conformance_fmus_fixture  # noqa: F401``;
tests then ask for ``conformance_fmus`` (``{"types3": Path, "clocked3": …, "bounce2": …, "counter2": …}``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "conformance"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_conformance", DATA / "build_conformance.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_conformance_fmus


@pytest.fixture(scope="session", name="conformance_fmus")
def conformance_fmus_fixture(tmp_path_factory) -> dict[str, Path]:
    """The conformance FMUs compiled with gcc into a session temp folder."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the conformance FMUs")
    return _builder()(tmp_path_factory.mktemp("conformance"))


def djb2(text: str) -> int:
    """The hash ``types3`` reports for its String parameter (``label_hash``)."""
    h = 5381
    for b in text.encode():
        h = (h * 33 + b) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF
