"""Reliability: Monte-Carlo life simulation of systems, life-data fitting, maintenance policy.

Field data → fitted distributions (:func:`fit_life`) → system Monte Carlo
(:func:`simulate_missions` for non-repairable systems, vectorised NumPy;
:func:`simulate_operation` for repairable systems with crews, spares and
preventive maintenance, event-driven SimPy) → optimal maintenance
(:func:`optimal_age_replacement`, :func:`optimize_pm`).

Models are ``kind: life`` YAML files (:class:`LifeModel`, :func:`load_life_model`).
See ``docs/reliability.md``.
"""

from simulation.life._config import (
    Block,
    Component,
    ComponentCosts,
    Degradation,
    FittedLife,
    LifeModel,
    LifeSimulation,
    Maintenance,
    Preventive,
    SparePool,
)
from simulation.life._degradation import (
    DegradationPaths,
    degradation_pools,
    first_passage,
    simulate_paths,
)
from simulation.life._distributions import DISTRIBUTIONS, LifeDistribution
from simulation.life._fitting import FIT_DISTRIBUTIONS, LifeData, LifeFit, fit_best, fit_life
from simulation.life._io import (
    FAILURE_CODES,
    SUSPENSION_CODES,
    kpi_rows,
    load_fitted,
    load_life_model,
    parse_status_map,
    read_life_data,
    write_fitted,
)
from simulation.life._montecarlo import simulate_missions
from simulation.life._policy import (
    age_replacement_cost_rate,
    block_replacement_cost_rate,
    optimal_age_replacement,
    optimize_pm,
    renewal_function,
)
from simulation.life._rbd import Structure, compile_structure
from simulation.life._repairable import simulate_operation
from simulation.life._run import run_life
from simulation.life._stress import (
    Acceleration,
    ExposureClock,
    LifeProfile,
    Phase,
    acceleration_factor,
    miner_damage,
)

__all__ = [
    "Acceleration",
    "Block",
    "Component",
    "ComponentCosts",
    "DISTRIBUTIONS",
    "FIT_DISTRIBUTIONS",
    "FAILURE_CODES",
    "SUSPENSION_CODES",
    "Degradation",
    "DegradationPaths",
    "ExposureClock",
    "FittedLife",
    "LifeData",
    "LifeDistribution",
    "LifeFit",
    "LifeModel",
    "LifeProfile",
    "LifeSimulation",
    "Maintenance",
    "Phase",
    "Preventive",
    "SparePool",
    "Structure",
    "acceleration_factor",
    "age_replacement_cost_rate",
    "block_replacement_cost_rate",
    "compile_structure",
    "degradation_pools",
    "fit_best",
    "fit_life",
    "first_passage",
    "load_fitted",
    "load_life_model",
    "miner_damage",
    "optimal_age_replacement",
    "optimize_pm",
    "parse_status_map",
    "read_life_data",
    "renewal_function",
    "run_life",
    "simulate_missions",
    "simulate_operation",
    "simulate_paths",
    "write_fitted",
    "kpi_rows",
]
