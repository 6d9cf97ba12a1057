"""Base layer of twin workbench: errors, units, configs, distributions, dataset conventions, executors.

Every other package imports from here; this package imports none of them.
``Distribution`` and ``parse_distribution`` (:mod:`workbench.distributions`) are
loaded on first use, so ``import workbench`` does not import scipy.
"""

from typing import Any

from workbench.config import WorkbenchModel, load_config, resolve_config
from workbench.errors import (
    ConfigError,
    ConnectionLostError,
    DataError,
    DataQualityError,
    DatasetError,
    FmuError,
    SimulationError,
    SolverError,
    UnitError,
    WorkbenchError,
)

__all__ = [
    "WorkbenchModel",
    "load_config",
    "resolve_config",
    "WorkbenchError",
    "ConfigError",
    "UnitError",
    "DatasetError",
    "DataQualityError",
    "DataError",
    "FmuError",
    "SimulationError",
    "SolverError",
    "ConnectionLostError",
    "Distribution",
    "parse_distribution",
]

_LAZY = {"Distribution": "workbench.distributions", "parse_distribution": "workbench.distributions"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
