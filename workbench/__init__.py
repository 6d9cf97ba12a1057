"""Base layer of twin workbench: errors, units, configs, dataset conventions, executors.

Every other package imports from here; this package imports none of them.
"""

from workbench.config import WorkbenchModel, load_config, resolve_config
from workbench.errors import (
    ConfigError,
    ConnectionLostError,
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
    "FmuError",
    "SimulationError",
    "SolverError",
    "ConnectionLostError",
]
