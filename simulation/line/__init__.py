"""Discrete-event line and batch-plant simulation (SimPy), with FMU-backed units.

Build a :class:`LineModel` from a :class:`LineScenario` (``kind: line`` YAML), run
replications with common random numbers (:func:`simulate`), compare what-if variants
with paired confidence intervals (:func:`compare`), and start from a live
:class:`LineSnapshot` (the twin's forecast of the rest of the shift).

Examples
--------
>>> from simulation.line import load_scenario, simulate, compare
>>> base = load_scenario("scenarios/assembly_line.yaml")            # doctest: +SKIP
>>> ds = simulate(base, executor="processes:2")                      # doctest: +SKIP
>>> ds["ci"].sel(kpi="throughput").values                            # doctest: +SKIP
"""

from simulation.line._distributions import (
    Distribution as Distribution,  # workbench.distributions' type
)
from simulation.line._distributions import Stream
from simulation.line._distributions import parse_distribution as parse_distribution
from simulation.line._experiment import (
    absent_stations,
    compare,
    kpi_names,
    littles_law_gap,
    run_replication,
    simulate,
    summarize,
)
from simulation.line._io import load_scenario, scenario_dir
from simulation.line._model import STATES, LineModel
from simulation.line._results import LINE_KPIS, STATION_KPIS, ReplicationResult
from simulation.line._snapshot import LineSnapshot
from simulation.line._units import CallableUnitModel, FmuUnitModel, UnitModel
from simulation.line.config import LineScenario

__all__ = [
    "LineScenario",
    "LineModel",
    "LineSnapshot",
    "UnitModel",
    "FmuUnitModel",
    "CallableUnitModel",
    "Stream",
    "load_scenario",
    "scenario_dir",
    "run_replication",
    "simulate",
    "summarize",
    "compare",
    "absent_stations",
    "littles_law_gap",
    "kpi_names",
    "ReplicationResult",
    "STATES",
    "LINE_KPIS",
    "STATION_KPIS",
]
