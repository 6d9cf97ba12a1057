"""Loading line scenarios from YAML (with ``extends:`` and ``overrides:``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulation.line.config import LineScenario
from workbench.config import load_config

__all__ = ["load_scenario", "scenario_dir"]


def load_scenario(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> LineScenario:
    """Read and validate a ``kind: line`` scenario.

    Parameters
    ----------
    path
        YAML file (may ``extends:`` a base and carry ``overrides:``).
    overrides
        Further ``{"dotted.path": value}`` edits (e.g. from ``--set``).

    Returns
    -------
    LineScenario

    Raises
    ------
    ConfigError
        With file:line:column and the field path of every problem.
    """
    return load_config(path, LineScenario, overrides=overrides, kind="line")


def scenario_dir(path: str | Path) -> Path:
    """Folder against which a scenario's relative paths (FMUs) are resolved."""
    return Path(path).resolve().parent
