"""Estimated cost of a run, checked before it starts: ``twin run``, ``twin compare``,
``twin optimize run`` and ``twin life run`` refuse a run whose estimate is above
:data:`COST_LIMIT_S` unless ``--yes`` is given (on a terminal they ask instead).

The estimate counts the work a run does in the unit that dominates its time and
multiplies by a cost per unit measured on the shipped scenarios (one core of a
2020s laptop-class machine; CPU time, not wall time, so workers do not lower it):

=================  =============================================  ==================
run                work unit                                      cost per unit
=================  =============================================  ==================
line scenario      station operations (jobs × stations)           50 µs
line, FMU station  one FMU batch run                              0.1 s
life, vectorised   sampled component lives (missions × comps)     1 µs
life, event        failure/repair/PM events                       100 µs
reactor campaign   one trial (an FMU batch run and its metrics)   1 s
line campaign      one trial = the line's operations per seed     as a line
=================  =============================================  ==================

Estimates are coarse (within a factor of ten is the aim); the limit is generous
(4 h of CPU), so only runs that are clearly a mistake — ``horizon: 1e30 d``,
``--trials 100000000000000000000`` — are stopped, in well under a second.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import typer
from rich.markup import escape

from twin_app.cli._common import console_err
from workbench.errors import ConfigError

__all__ = ["COST_LIMIT_S", "YES_OPTION", "RunCost", "confirm_run", "estimate_cost"]

COST_LIMIT_S = 4 * 3600.0
"""Runs estimated above this much CPU time need ``--yes`` (or a yes on the terminal)."""

YES_OPTION = typer.Option(
    False,
    "--yes",
    "-y",
    help="Start even when the estimated cost is above the limit (4 h of CPU); never asks.",
)

_S_PER_LINE_OP = 50e-6
_S_PER_FMU_RUN = 0.1
_S_PER_LIFE = 1e-6
_S_PER_LIFE_EVENT = 100e-6
_S_PER_REACTOR_TRIAL = 1.0


@dataclass(frozen=True)
class RunCost:
    """What a run will cost: ``units`` of work, ``seconds`` of CPU (``inf``: it would never end)."""

    what: str
    units: float
    unit_name: str
    seconds: float
    detail: str

    def describe(self) -> str:
        """One line: the count, the work and the time, e.g. ``10 replications × … ≈ 2.1 min of CPU``."""
        return f"{self.detail} ≈ {self.units:.3g} {self.unit_name} ≈ {_human(self.seconds)} of CPU"


def _human(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.2g} s"


def _bounded(option: str, value: int | None, model: type, field: str) -> int | None:
    """A CLI count checked against the bounds of the config field it replaces."""
    if value is None:
        return None
    low = high = None
    for meta in model.model_fields[field].metadata:  # pydantic's Ge/Le constraint objects
        low = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else high
    if (low is not None and value < low) or (high is not None and value > high):
        shown = f"{value:.3e}" if abs(value) > 10**12 else str(value)
        raise ConfigError(
            f"{option} {shown} is out of range: {field} must be between {low:,} and {high:,}"
        )
    return value


# --------------------------------------------------------------------------- line scenarios
def _line_ops_per_replication(sc: Any) -> tuple[float, float, str]:
    """(plain station operations, FMU batch runs, how) of one replication of a line scenario."""
    exp = sc.experiment
    products = [p.name for p in sc.products]
    n = len(sc.stations)
    fmu = sum(1 for st in sc.stations if st.unit is not None)
    if exp.horizon is not None:
        rates = []
        for st in sc.stations:
            t = st.ideal_time(products)
            if t is not None and t > 0:
                size = st.batch.size if st.batch is not None else 1
                rates.append(st.servers * size / t)
        jobs = exp.horizon * min(rates) if rates else math.inf  # the slowest station's capacity
        how = (
            f"{exp.horizon / 86400:.3g} d at up to {min(rates) * 3600:.3g} jobs/h"
            if rates
            else "no station takes time"
        )
    else:
        jobs = float(exp.count)
        how = f"{exp.count} good parts"
    return (jobs * (n - fmu) if n > fmu else 0.0), (jobs * fmu if fmu else 0.0), how


def _line_cost(sc: Any, replications: int | None) -> RunCost:
    from simulation.line.config import Experiment

    exp = sc.experiment
    reps = _bounded("--replications", replications, Experiment, "replications")
    if reps is None:
        reps = exp.max_replications if exp.target_half_width is not None else exp.replications
    ops, fmu_runs, how = _line_ops_per_replication(sc)
    seconds = reps * (ops * _S_PER_LINE_OP + fmu_runs * _S_PER_FMU_RUN)
    units = "station operations" + (
        f" ({reps * fmu_runs:.3g} of them FMU runs)" if fmu_runs else ""
    )
    return RunCost(
        f"line scenario '{sc.name}'",
        reps * (ops + fmu_runs),
        units,
        seconds,
        f"{reps} replications × {how} × {len(sc.stations)} stations",
    )


# --------------------------------------------------------------------------- campaigns
def _campaign_cost(camp: Any, trials: int | None) -> RunCost:
    cfg = camp.config
    n = _bounded("--trials", trials, type(cfg.budget), "trials") or cfg.budget.trials
    repeats = cfg.noise.max_repeats
    if getattr(cfg.model, "type", None) == "line":
        ops, fmu_runs, how = _line_ops_per_replication(camp.problem.scenario)
        per_trial = ops * _S_PER_LINE_OP + fmu_runs * _S_PER_FMU_RUN
        detail = f"{n} trials × {repeats} seeds × one line replication ({how})"
    else:
        per_trial = _S_PER_REACTOR_TRIAL
        detail = f"{n} trials × {repeats} seeds × one batch simulation"
    return RunCost(
        f"campaign '{cfg.name}'", n * repeats, "evaluations", n * repeats * per_trial, detail
    )


# --------------------------------------------------------------------------- life models
def _events_per_life_horizon(model: Any, horizon: float) -> float:
    """Failure, repair and PM events of all components over ``horizon`` (two per renewal)."""
    events = 0.0
    for c in model.components:
        spans = []
        try:
            spans.append(float(c.life.mean_life()))
        except Exception:  # degradation-based or exotic lives: count ten renewals
            spans.append(horizon / 10)
        pm = getattr(c, "preventive", None)
        for name in ("interval", "inspection_interval"):
            value = getattr(pm, name, None) if pm is not None else None
            if value:
                spans.append(float(value))
        span = min(s for s in spans if s > 0) if any(s > 0 for s in spans) else 0.0
        events += 2 * (horizon / span + 1) if span > 0 else math.inf
    return events


def _life_cost(model: Any, engine: str | None) -> RunCost:
    sim = model.simulation
    engine = engine or sim.engine
    if engine == "auto":
        engine = "event" if model.repairable else "vectorised"
    n_comp = len(model.components)
    if engine == "event":
        horizon = sim.horizon or sim.mission_time
        events = _events_per_life_horizon(model, horizon)
        return RunCost(
            f"life model '{model.name}'",
            sim.replications * events,
            "events",
            sim.replications * events * _S_PER_LIFE_EVENT,
            f"{sim.replications} replications × {horizon / 3600:.3g} h × {n_comp} components",
        )
    lives = sim.missions * n_comp + min(sim.importance_missions, sim.missions) * n_comp * n_comp
    return RunCost(
        f"life model '{model.name}'",
        lives,
        "component lives",
        lives * _S_PER_LIFE,
        f"{sim.missions} missions × {n_comp} components (+ importance missions)",
    )


# --------------------------------------------------------------------------- the gate
def estimate_cost(
    config: Any,
    *,
    replications: int | None = None,
    trials: int | None = None,
    engine: str | None = None,
) -> RunCost:
    """Estimate the cost of running ``config`` (a line scenario, a campaign or a life model).

    ``replications``/``trials``/``engine`` are the command-line values that replace the
    config's (checked against the same bounds as the config fields).

    Raises
    ------
    ConfigError
        For a command-line count out of the field's range.
    TypeError
        For a config this module cannot estimate.
    """
    kind = type(config).__name__
    if kind == "LineScenario":
        return _line_cost(config, replications)
    if kind == "Campaign":
        return _campaign_cost(config, trials)
    if kind == "LifeModel":
        return _life_cost(config, engine)
    raise TypeError(f"no cost estimate for a {kind}")


def confirm_run(
    config: Any,
    *,
    yes: bool,
    replications: int | None = None,
    trials: int | None = None,
    engine: str | None = None,
    limit_s: float | None = None,
) -> RunCost:
    """Check a run's estimated cost before it starts; the one call each run command makes.

    Under ``limit_s`` (default :data:`COST_LIMIT_S`): nothing is printed. Above it: with ``yes`` a note goes to stderr and
    the run starts; on a terminal (stdin and stderr are TTYs) the user is asked; otherwise
    (scripts, pipes, CI) the run is refused with the estimate and the ``--yes`` hint.

    Raises
    ------
    ConfigError
        When the run is refused (exit code 2).
    """
    cost = estimate_cost(config, replications=replications, trials=trials, engine=engine)
    limit_s = COST_LIMIT_S if limit_s is None else limit_s
    if cost.seconds <= limit_s:
        return cost
    text = f"{cost.what}: estimated cost {cost.describe()}, above the limit of {_human(limit_s)}"
    if yes:
        console_err.print(
            f"[yellow]note:[/] {escape(text)}; running anyway (--yes)",
            highlight=False,
            soft_wrap=True,
        )
        return cost
    if sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm(f"{text}. Run anyway?", default=False, err=True):
            return cost
        raise ConfigError(f"{text}; not run")
    raise ConfigError(
        f"{text}; check the horizon, replications, trials or missions, or pass --yes to run anyway"
    )
