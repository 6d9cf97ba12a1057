"""Event-driven (SimPy) Monte Carlo of repairable systems with maintenance.

Processes read like SimPy examples: ``failure_clock`` waits for a unit's next
failure, ``corrective_repair`` takes a crew and a spare, ``age_replacement``,
``block_replacement`` and ``inspection_round`` do preventive work, ``reorder``
brings a spare back after its lead time. Each unit ages on its exposure clock
(life profile × acceleration × standby dormancy), so a failure time is
rescheduled whenever the unit's ageing rate changes.

Conventions: a unit without ``repair`` is replaced instantly on failure; a unit
is *as good as new* after corrective repair and after preventive replacement
(renewal); crews serve corrective work before preventive work (priority) and
are requested once the spare is at hand; spares are reordered one-for-one and
arrive after ``lead_time``. A standby's
switch reliability applies to the switch-over away from its primary block; a
failed switch leaves the block down until the primary is repaired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy
import xarray as xr

from simulation.life._config import LifeModel
from simulation.life._degradation import DegradationPaths
from simulation.life._rbd import Structure
from simulation.life._stats import BOUND, mean_ci, wilson
from workbench.dataset import add_provenance, config_hash
from workbench.errors import SimulationError
from workbench.executors import JobFailure, map_jobs, spawn_seeds

__all__ = ["simulate_operation", "COST_KPIS"]

HOUR = 3600.0
COST_KPIS = ["failure", "repair_labour", "spares", "preventive", "inspection", "downtime"]


class _CountingEnvironment(simpy.Environment):
    """SimPy environment that counts processed events (for events/s benchmarks)."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:  # noqa: D102 - simpy API
        self.processed += 1
        super().step()


class _Plant:
    """State of one simulated life of the system."""

    def __init__(self, model: LifeModel, rng: np.random.Generator, paths: dict[str, DegradationPaths]):
        self.model, self.rng = model, rng
        self.st = Structure(model)
        self.env = _CountingEnvironment()
        m = len(model.components)
        self.comps = model.components
        self.paths = paths
        self.clocks = self.st.clocks
        self.up = np.ones(m, dtype=bool)
        self.stuck = np.zeros(self.st.n_standby, dtype=bool)
        self.standbys = self.st.standby_nodes()
        self.life = np.zeros(m)
        self.exposure = np.zeros(m)
        self.t_last = np.zeros(m)
        self.activity = np.ones(m)
        self.version = np.zeros(m, dtype=np.int64)
        self.install = np.zeros(m, dtype=np.int64)
        self.path_of = np.zeros(m, dtype=np.int64)
        crews = model.maintenance.crews or m
        self.crews = simpy.PriorityResource(self.env, capacity=crews)
        self.pools = {p.name: simpy.Container(self.env, init=p.stock) for p in model.maintenance.spares}
        self.lead = {p.name: p.lead_time for p in model.maintenance.spares}
        self.sys_up = True
        self.log_t = [0.0]
        self.log_up = [True]
        self.first_failure = np.inf
        self.n_fail = np.zeros(m)
        self.n_pm = np.zeros(m)
        self.cause = np.zeros(m)
        self.comp_down = np.zeros(m)
        self.cost = dict.fromkeys(COST_KPIS, 0.0)
        self.sys_failures = 0
        self.has_standby = self.st.n_standby > 0
        self.standby_members = {i for node in self.standbys for i in node.components}
        if self.has_standby:  # waiting units start dormant
            self.activity = self.st.activity(self.up, self.stuck)
        for i in range(m):
            self.renew(i, start=True)

    # ---------------------------------------------------------------- ageing
    def _advance(self, i: int) -> None:
        now = self.env.now
        if self.activity[i] > 0:
            clock = self.clocks[i]
            self.exposure[i] += self.activity[i] * (clock.exposure_at(now) - clock.exposure_at(self.t_last[i]))
        self.t_last[i] = now

    def _schedule_failure(self, i: int) -> None:
        self.version[i] += 1
        a = self.activity[i]
        if a <= 0 or not self.up[i]:
            return
        clock = self.clocks[i]
        now = self.env.now
        remaining = max(self.life[i] - self.exposure[i], 0.0)
        t_fail = clock.time_of(clock.exposure_at(now) + remaining / a)
        self.env.process(self.failure_clock(i, self.version[i], max(t_fail - now, 0.0)))

    def renew(self, i: int, start: bool = False) -> None:
        """Install a new unit in position ``i`` (as good as new)."""
        c = self.comps[i]
        if c.degradation is not None and (c.life is None or isinstance(c.life, str)):
            p = self.paths[c.name]
            k = int(self.rng.integers(0, p.level.shape[0]))
            self.path_of[i] = k
            self.life[i] = p.lives(c.degradation.failure_threshold)[k]
        else:
            self.life[i] = float(c.life.sample(self.rng, 1)[0])
        self.exposure[i] = 0.0
        self.t_last[i] = self.env.now
        self.up[i] = True
        self.install[i] += 1
        if not start:
            self.update_system(i)
        self._schedule_failure(i)
        pm = c.preventive
        if pm is not None and pm.policy == "age":
            self.env.process(self.age_replacement(i, self.install[i], pm.interval))
        if start and pm is not None and pm.policy == "block":
            self.env.process(self.block_replacement(i, pm.interval))
        if start and pm is not None and pm.policy == "condition":
            self.env.process(self.inspection_round(i, pm.inspection_interval))

    # ---------------------------------------------------------------- system
    def update_system(self, cause: int, planned: bool = False) -> None:
        """Re-evaluate system state and ageing rates after unit ``cause`` changed.

        A system outage caused by planned work (``planned``) counts as downtime
        but not as a system failure.
        """
        # switch-over attempts when a standby loses its primary
        for node in self.standbys:
            first = node.children[0]
            primary_up = self.st.is_up(self.up, self.stuck, first)
            if primary_up:
                self.stuck[node.standby_id] = False
            elif cause in ([first] if isinstance(first, int) else first.components) and not self.up[cause]:
                if node.switch_p < 1.0 and self.rng.random() >= node.switch_p:
                    self.stuck[node.standby_id] = True
        if self.has_standby and cause in self.standby_members:
            new = self.st.activity(self.up, self.stuck)
            changed = np.nonzero(new != self.activity)[0]
            for i in changed:
                self._advance(int(i))
            self.activity = new
            for i in changed:
                self._schedule_failure(int(i))
        up = self.st.is_up(self.up, self.stuck)
        if up != self.sys_up:
            now = self.env.now
            self.sys_up = up
            self.log_t.append(now)
            self.log_up.append(up)
            if not up and not planned:
                self.sys_failures += 1
                self.cause[cause] += 1
                self.first_failure = min(self.first_failure, now)

    # ---------------------------------------------------------------- processes
    def failure_clock(self, i: int, version: int, delay: float):
        """Wait for unit ``i`` to fail; a stale clock (rate changed) does nothing."""
        yield self.env.timeout(delay)
        if version != self.version[i] or not self.up[i]:
            return
        self._advance(i)
        self.up[i] = False
        self.version[i] += 1
        self.n_fail[i] += 1
        self.cost["failure"] += self.comps[i].costs.failure
        self.update_system(i)
        self.env.process(self.corrective_repair(i))

    def _take_spare(self, i: int):
        name = self.comps[i].spare
        if name is None:
            return
        yield self.pools[name].get(1)
        self.cost["spares"] += self.comps[i].costs.spare
        self.env.process(self.reorder(name))

    def reorder(self, name: str):
        """One-for-one replenishment after the pool's lead time."""
        yield self.env.timeout(self.lead[name])
        yield self.pools[name].put(1)

    def corrective_repair(self, i: int):
        """Spare (waiting for a reorder if the pool is empty), then a crew (priority 0)
        for the time to repair, then a new unit; the crew is not held while parts are missing."""
        c = self.comps[i]
        t0 = self.env.now
        yield from self._take_spare(i)
        with self.crews.request(priority=0) as req:
            yield req
            if c.repair is not None:
                ttr = float(c.repair.sample(self.rng, 1)[0])
                yield self.env.timeout(ttr)
                self.cost["repair_labour"] += c.costs.repair_per_hour * ttr / HOUR
        self.comp_down[i] += self.env.now - t0
        self.renew(i)

    def preventive_replacement(self, i: int):
        """Planned replacement: wait for a crew (priority 1) and a spare while the unit runs,
        then take it down for the PM duration and install a new unit. If the unit fails
        while waiting, the PM is dropped (corrective repair takes over)."""
        pm = self.comps[i].preventive
        install = self.install[i]
        with self.crews.request(priority=1) as req:
            yield req
            if self.install[i] != install or not self.up[i]:
                return
            name = self.comps[i].spare
            if name is not None:
                yield self.pools[name].get(1)
                if self.install[i] != install or not self.up[i]:
                    yield self.pools[name].put(1)
                    return
                self.cost["spares"] += self.comps[i].costs.spare
                self.env.process(self.reorder(name))
            self._advance(i)
            self.up[i] = False
            self.version[i] += 1
            self.n_pm[i] += 1
            self.cost["preventive"] += pm.cost
            self.update_system(i, planned=True)
            t0 = self.env.now
            if pm.duration > 0:
                yield self.env.timeout(pm.duration)
        self.comp_down[i] += self.env.now - t0
        self.renew(i)

    def age_replacement(self, i: int, install: int, interval: float):
        """Replace unit ``i`` when it reaches age ``interval`` (if it has not failed first)."""
        yield self.env.timeout(interval)
        if self.install[i] == install and self.up[i]:
            yield from self.preventive_replacement(i)

    def block_replacement(self, i: int, interval: float):
        """Replace unit ``i`` at interval, 2·interval, … whatever its age."""
        while True:
            yield self.env.timeout(interval)
            if self.up[i]:
                self.env.process(self.preventive_replacement(i))

    def inspection_round(self, i: int, interval: float):
        """Inspect unit ``i`` every ``interval``; replace it when degradation ≥ threshold."""
        pm = self.comps[i].preventive
        p = self.paths[self.comps[i].name]
        while True:
            yield self.env.timeout(interval)
            self.cost["inspection"] += pm.inspection_cost
            if not self.up[i]:
                continue
            self._advance(i)
            if p.level_at(int(self.path_of[i]), self.exposure[i]) >= pm.threshold:
                self.env.process(self.preventive_replacement(i))

    # ---------------------------------------------------------------- results
    def run(self, horizon: float, grid: np.ndarray) -> dict[str, np.ndarray]:
        self.env.run(until=horizon)
        t = np.append(np.asarray(self.log_t), horizon)
        up = np.asarray(self.log_up, dtype=bool)
        uptime = float(np.sum(np.diff(t)[up]))
        idx = np.searchsorted(np.asarray(self.log_t), grid, side="right") - 1
        downtime = horizon - uptime
        self.cost["downtime"] = self.model.maintenance.downtime_cost_per_hour * downtime / HOUR
        return {
            "up_at": up[idx],
            "uptime": np.array(uptime),
            "failures": np.array(float(self.sys_failures)),
            "first_failure": np.array(self.first_failure),
            "comp_failures": self.n_fail,
            "comp_pm": self.n_pm,
            "cause": self.cause,
            "comp_down": self.comp_down,
            "cost": np.array([self.cost[k] for k in COST_KPIS]),
            "events": np.array(self.env.processed),
        }


@dataclass
class _Replication:
    model: LifeModel
    seed: int
    horizon: float
    grid: np.ndarray
    paths: dict[str, DegradationPaths]


def _run_replication(job: _Replication) -> dict[str, np.ndarray]:
    plant = _Plant(job.model, np.random.default_rng(job.seed), job.paths)
    return plant.run(job.horizon, job.grid)


def simulate_operation(
    model: LifeModel,
    *,
    replications: int | None = None,
    horizon: float | None = None,
    seed: int | None = None,
    executor=None,
    progress: bool | str = False,
    paths: dict[str, DegradationPaths] | None = None,
) -> xr.Dataset:
    """Event-driven Monte Carlo of a repairable system over ``horizon``.

    Parameters
    ----------
    model
        Life model with repair / preventive maintenance / spares.
    replications
        Independent system lives (default ``model.simulation.replications``).
    horizon
        Simulated calendar time in s (default ``simulation.horizon`` or ``mission_time``).
    seed
        Root seed; replication r uses ``spawn_seeds(seed, R)[r]``.
    executor, progress
        See :func:`workbench.executors.map_jobs` (one job per replication).
    paths
        Degradation paths per component (simulated when None).

    Returns
    -------
    xarray.Dataset
        ``availability`` (bound, time) point availability; ``reliability`` (bound, time)
        P(no system failure by t); ``mean_availability``, ``system_failures``, ``mtbf``,
        ``downtime``, ``cost_rate`` (bound); ``cost`` (bound, kpi); per component
        ``component_failures``, ``component_pm``, ``failure_share`` (bound, component).
    """
    sim = model.simulation
    reps = int(replications or sim.replications)
    horizon = float(horizon or sim.horizon or sim.mission_time)
    seed = sim.seed if seed is None else seed
    conf = sim.confidence
    if paths is None:
        from simulation.life._degradation import simulate_paths

        paths = {}
        for c, s in zip(model.components, spawn_seeds(seed, len(model.components)), strict=True):
            if c.degradation is not None:
                paths[c.name] = simulate_paths(c, seed=s)
    grid = np.linspace(0.0, horizon, sim.time_points)
    jobs = [_Replication(model, s, horizon, grid, paths) for s in spawn_seeds(seed, reps)]
    res = map_jobs(_run_replication, jobs, executor=executor, progress=progress)
    bad = [r for r in res if isinstance(r, JobFailure)]
    if bad:
        raise SimulationError(f"replication {bad[0].index} of '{model.name}' failed: {bad[0].error}")

    def stack(key):
        return np.stack([r[key] for r in res])

    names = [c.name for c in model.components]
    up_at = stack("up_at")
    uptime, failures = stack("uptime"), stack("failures")
    first = stack("first_failure")
    cost = stack("cost")
    cause = stack("cause").sum(axis=0)
    total_fail = failures.sum()
    n_fail_ci = mean_ci(failures, conf)
    mean_up = uptime.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        mtbf = np.array([mean_up / n_fail_ci[0], mean_up / n_fail_ci[2], mean_up / n_fail_ci[1]])
    mtbf = np.where(np.isfinite(mtbf) & (mtbf > 0), mtbf, np.inf)
    rel = wilson((first[None, :] > grid[:, None]).sum(axis=1), reps, conf)
    ds = xr.Dataset(
        coords={
            "time": ("time", grid, {"units": "s", "long_name": "operating time"}),
            "bound": ("bound", BOUND),
            "component": ("component", names),
            "kpi": ("kpi", COST_KPIS),
        }
    )
    cur = model.currency
    ds["availability"] = (("bound", "time"), wilson(up_at.sum(axis=0), reps, conf), {"units": "1", "long_name": "point availability A(t)"})
    ds["reliability"] = (("bound", "time"), rel, {"units": "1", "long_name": "P(no system failure by t)"})
    ds["mean_availability"] = ("bound", mean_ci(uptime / horizon, conf), {"units": "1", "long_name": "mean availability over the horizon"})
    ds["system_failures"] = ("bound", n_fail_ci, {"units": "1", "long_name": "expected number of system failures"})
    ds["mtbf"] = ("bound", mtbf, {"units": "s", "long_name": "mean operating time between system failures"})
    ds["downtime"] = ("bound", mean_ci(horizon - uptime, conf), {"units": "s", "long_name": "expected system downtime"})
    ds["cost_rate"] = ("bound", mean_ci(cost.sum(axis=1) / (horizon / HOUR), conf), {"units": f"{cur}/h", "long_name": "total cost per operating hour"})
    ds["cost"] = (("bound", "kpi"), mean_ci(cost, conf), {"units": cur, "long_name": "expected cost over the horizon"})
    ds["component_failures"] = (("bound", "component"), mean_ci(stack("comp_failures"), conf), {"units": "1", "long_name": "expected failures per component"})
    ds["component_pm"] = (("bound", "component"), mean_ci(stack("comp_pm"), conf), {"units": "1", "long_name": "expected preventive replacements per component"})
    ds["component_downtime"] = (("bound", "component"), mean_ci(stack("comp_down"), conf), {"units": "s", "long_name": "expected time under repair or PM per component"})
    share = wilson(cause, total_fail, conf) if total_fail else np.full((3, len(names)), np.nan)
    ds["failure_share"] = (("bound", "component"), share, {"units": "1", "long_name": "share of system failures triggered"})
    ds.attrs.update({
        "engine": "event", "replications": reps, "horizon_s": horizon, "confidence": conf,
        "events": int(stack("events").sum()), "report_unit": sim.report_unit, "currency": cur,
    })
    return add_provenance(ds, kind="life-operation", scenario=model.name, scenario_hash=config_hash(model), seed=seed)
