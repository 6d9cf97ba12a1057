"""Parallel-machine allocation on a line under a capital budget: a MILP solved with HiGHS.

Decision: the number of identical parallel machines :math:`n_i` at each station of a
``kind: line`` scenario. Objective: the largest sustainable release rate :math:`\\lambda`
(parts/h). Throughput model (bottleneck rates with availability; Hopp & Spearman 2011,
*Factory Physics*, 3rd ed., §7.2 "capacity" and §8.4 eqs. 8.6–8.8 on effective process times):

.. math::

    t_{e,i} = t_{0,i} / A_i, \\qquad u_i = \\lambda\\, t_{e,i} / n_i \\le \\rho_{max}

with the natural process time :math:`t_{0,i}` (product-share-weighted mean) and the
availability :math:`A_i`:

* operation-dependent failures (``basis: busy``): :math:`A = 1/(1 + \\sum_k m_{r,k}/m_{f,k})`
  (exact long-run fraction for failures counted on busy time);
* clock-time failures (``basis: calendar``): :math:`A = \\prod_k m_{f,k}/(m_{f,k}+m_{r,k})`
  (conservative: an idle machine may fail too);
* cycle-counted failures: :math:`m_f = \\bar c\\, t_0`;
* preventive maintenance every :math:`\\tau` of duration :math:`d`: factor :math:`1 - \\bar d/\\tau`.

The approximation ignores blocking and starvation between stations (finite buffers),
changeovers, rework loops and waiting for a shared crew; it is exact for the long-run
*utilisation* of a stable line with unlimited buffers, which is what
:func:`verify_line_allocation` checks by simulation. Constraints per station
:math:`\\lambda\\, t_{e,i} \\le \\rho_{max} n_i`, budget :math:`\\sum_i c_i n_i \\le B`,
:math:`n_i^{min} \\le n_i \\le n_i^{max}` integer: a knapsack-like MILP (HiGHS, ``appsi_highs``).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from optimization._solvers import highs_solver
from workbench.errors import ConfigError, SolverError, did_you_mean

__all__ = ["StationCapacity", "LineAllocation", "line_capacity_data", "create_line_allocation_model",
           "solve_line_allocation", "optimize_line_allocation", "verify_line_allocation"]


@dataclass(frozen=True)
class StationCapacity:
    """Capacity figures of one station (times in s).

    Attributes
    ----------
    name
        Station name.
    process_time
        Natural process time per job :math:`t_0` (s), share-weighted over products.
    availability
        Long-run availability :math:`A` (failures and preventive maintenance).
    servers
        Parallel machines in the scenario as given.
    scrap
        Scrap fraction at the station.
    """

    name: str
    process_time: float
    availability: float
    servers: int
    scrap: float = 0.0

    @property
    def effective_time(self) -> float:
        """:math:`t_e = t_0 / A` in s."""
        return self.process_time / self.availability


@dataclass
class LineAllocation:
    """Solution of the allocation MILP.

    Attributes
    ----------
    servers
        Station → machines.
    rate
        Sustainable release rate :math:`\\lambda` (1/h) at utilisation ``rho_max``.
    capacity
        Line capacity :math:`\\min_i n_i / t_{e,i}` (1/h) of the allocation.
    good_rate
        Expected good parts per hour at ``rate`` (after scrap).
    utilisation
        Station → predicted busy fraction :math:`\\lambda t_{0,i} / n_i` at ``rate``.
    cost
        Total cost of the machines.
    status
        HiGHS termination condition.
    stats
        Model size (``variables``, ``integer_variables``, ``constraints``).
    """

    servers: dict[str, int]
    rate: float
    capacity: float
    good_rate: float
    utilisation: dict[str, float]
    cost: float
    status: str
    solve_seconds: float
    rho_max: float
    budget: float
    stats: dict[str, int] = field(default_factory=dict)

    def overrides(self) -> dict[str, int]:
        """Scenario overrides ``stations.<name>.servers`` for this allocation."""
        return {f"stations.{k}.servers": int(v) for k, v in self.servers.items()}

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"servers": self.servers, "rate_per_h": self.rate, "capacity_per_h": self.capacity,
                "good_rate_per_h": self.good_rate, "utilisation": self.utilisation, "cost": self.cost,
                "status": self.status, "solve_seconds": self.solve_seconds, "rho_max": self.rho_max,
                "budget": self.budget, "stats": self.stats}


def _mean_process_time(scenario, station) -> float:
    shares = {p.name: p.share for p in scenario.products}
    total = sum(shares.values()) or 1.0
    t = 0.0
    for prod, w in shares.items():
        d = station.process_dist(prod)
        if d is None:
            raise ConfigError(f"station {station.name!r}: no process time for product {prod!r}; "
                              "the allocation MILP needs a process_time (FMU-backed units are not supported)")
        t += w / total * float(d.mean())
    if station.batch is not None:
        t /= station.batch.size
    return t


def line_capacity_data(scenario) -> list[StationCapacity]:
    """Process times and availabilities of every station (see the module docstring for the formulas)."""
    out = []
    for st in scenario.stations:
        t0 = _mean_process_time(scenario, st)
        busy_ratio, calendar_a = 0.0, 1.0
        for f in st.failures:
            mttr = float(f.ttr.mean())
            if f.basis == "cycles":
                busy_ratio += mttr / (float(f.cycles.mean()) * t0)
            elif f.basis == "busy":
                busy_ratio += mttr / float(f.ttf.mean())
            else:
                mttf = float(f.ttf.mean())
                calendar_a *= mttf / (mttf + mttr)
        a = calendar_a / (1.0 + busy_ratio)
        if st.maintenance is not None:
            a *= max(1e-6, 1.0 - float(st.maintenance.duration.mean()) / st.maintenance.interval)
        out.append(StationCapacity(st.name, t0, a, st.servers, float(st.quality.scrap)))
    return out


def create_line_allocation_model(
    stations: list[StationCapacity],
    *,
    budget: float,
    cost: Mapping[str, float] | None = None,
    rho_max: float = 0.9,
    min_servers: Mapping[str, int] | None = None,
    max_servers: int = 20,
):
    """Build the allocation MILP (one indexed ``Block`` per station, IDAES style).

    Parameters
    ----------
    stations
        From :func:`line_capacity_data`.
    budget
        Most money (in the units of ``cost``) for all machines; with the default unit
        costs it is the total number of machines.
    cost
        Station → cost of one machine (default 1 each).
    rho_max
        Highest planned utilisation :math:`u_i` of the effective capacity, in (0, 1].
    min_servers
        Station → fewest machines (default 1).
    max_servers
        Most machines at any station.

    Returns
    -------
    pyomo.environ.ConcreteModel
        ``m.station[i].n`` (integer), ``m.rate`` (1/h), ``m.budget_limit``, objective ``m.obj``.
    """
    import pyomo.environ as pyo

    if not 0 < rho_max <= 1:
        raise ConfigError(f"rho_max must be in (0, 1], got {rho_max}")
    names = [s.name for s in stations]
    cost = dict(cost or {})
    for k in list(cost) + list(min_servers or {}):
        if k not in names:
            raise ConfigError(f"station {k!r} is not in the line; {did_you_mean(k, names)}")
    c = {s.name: float(cost.get(s.name, 1.0)) for s in stations}
    lo = {s.name: int((min_servers or {}).get(s.name, 1)) for s in stations}
    if sum(c[n] * lo[n] for n in names) > budget + 1e-9:
        raise ConfigError(f"budget {budget:g} does not buy the minimum machines "
                          f"(cost {sum(c[n] * lo[n] for n in names):g})")
    data = {s.name: s for s in stations}

    m = pyo.ConcreteModel(name="line_allocation")
    m.S = pyo.Set(initialize=names, ordered=True)
    m.rate = pyo.Var(bounds=(0.0, None), initialize=0.0, doc="release rate, 1/h")

    def station_block(b, name):
        s = data[name]
        b.n = pyo.Var(domain=pyo.Integers, bounds=(lo[name], max(max_servers, lo[name])), initialize=lo[name])
        b.te_h = pyo.Param(initialize=s.effective_time / 3600.0, doc="effective process time, h")
        b.cost = pyo.Param(initialize=c[name])
        b.capacity = pyo.Constraint(expr=m.rate * b.te_h <= rho_max * b.n)

    m.station = pyo.Block(m.S, rule=station_block)
    m.budget_limit = pyo.Constraint(expr=sum(m.station[n].cost * m.station[n].n for n in m.S) <= budget)
    m.obj = pyo.Objective(expr=m.rate, sense=pyo.maximize)
    m._meta = {"stations": stations, "rho_max": rho_max, "budget": budget}
    return m


def solve_line_allocation(m) -> LineAllocation:
    """Solve a model from :func:`create_line_allocation_model` with HiGHS and read it.

    Raises
    ------
    SolverError
        If HiGHS does not prove optimality.
    """
    import pyomo.environ as pyo
    from pyomo.opt import TerminationCondition

    solver = highs_solver()
    t0 = _time.perf_counter()
    res = solver.solve(m, load_solutions=False)
    secs = _time.perf_counter() - t0
    cond = res.solver.termination_condition
    if cond != TerminationCondition.optimal:
        raise SolverError(f"HiGHS ended with {cond} on the line allocation MILP")
    m.solutions.load_from(res)
    meta = m._meta
    servers = {n: int(round(pyo.value(m.station[n].n))) for n in m.S}
    stations = {s.name: s for s in meta["stations"]}
    cap = min(servers[n] / stations[n].effective_time * 3600.0 for n in servers)
    rate = float(pyo.value(m.rate))
    good = rate * float(np.prod([1.0 - s.scrap for s in stations.values()]))
    util = {n: rate * stations[n].process_time / 3600.0 / servers[n] for n in servers}
    cost = float(sum(pyo.value(m.station[n].cost) * servers[n] for n in servers))
    n_var = sum(1 for v in m.component_data_objects(pyo.Var, active=True) if not v.fixed)
    n_int = sum(1 for v in m.component_data_objects(pyo.Var, active=True) if v.is_integer())
    n_con = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
    return LineAllocation(servers, rate, cap, good, util, cost, str(cond), secs, meta["rho_max"],
                          meta["budget"], {"variables": n_var, "integer_variables": n_int, "constraints": n_con})


def optimize_line_allocation(scenario, *, budget: float | None = None, cost: Mapping[str, float] | None = None,
                             rho_max: float = 0.9, extra: int = 2, **kwargs: Any) -> LineAllocation:
    """Allocation MILP for a scenario in one call.

    ``budget`` defaults to the cost of the scenario's machines plus ``extra`` unit-cost
    machines; other keywords as :func:`create_line_allocation_model`.
    """
    stations = line_capacity_data(scenario)
    if budget is None:
        c = dict(cost or {})
        budget = sum(c.get(s.name, 1.0) * s.servers for s in stations) + extra
    return solve_line_allocation(create_line_allocation_model(stations, budget=budget, cost=cost,
                                                              rho_max=rho_max, **kwargs))


def verify_line_allocation(scenario_path: str | Path, allocation: LineAllocation, *,
                           replications: int = 8, seed: int | None = None, horizon: float | None = None,
                           warmup: float | None = None, unlimited_buffers: bool = False,
                           executor: Any = None) -> xr.Dataset:
    """Simulate the allocation in the line model, driven at the MILP's sustainable rate.

    The scenario gets the allocation's machine counts and a Poisson source at
    ``allocation.rate`` (replacing its source). In a stable line with unlimited buffers the
    long-run busy fraction of station *i* is exactly :math:`\\lambda t_{0,i}/n_i` and the
    good-part rate is :math:`\\lambda \\prod (1 - q_i)` (flow conservation), so the check is:
    the predicted value lies in the simulated ``confidence`` t-interval over
    ``replications``. ``within_ci`` says whether it does; ``relative_error`` is the
    simulated mean's error relative to the prediction.

    Returns
    -------
    xarray.Dataset
        Over ``kpi`` (``throughput`` and ``utilisation[<station>]``): ``predicted``,
        ``simulated``, ``half_width``, ``relative_error``, ``within_ci``; attrs with the
        allocation and ``max_wip``.
    """
    from simulation.line import load_scenario, simulate

    ov: dict[str, Any] = {**allocation.overrides(), "source.saturated": False, "source.orders": [],
                          "source.interarrival": f"exponential(mean={3600.0 / allocation.rate:.9g} s)"}
    if horizon is not None:
        ov["experiment.horizon"] = horizon
    if warmup is not None:
        ov["experiment.warmup"] = warmup
    if unlimited_buffers:
        sc0 = load_scenario(scenario_path)
        ov.update({f"stations.{s.name}.buffer": None for s in sc0.stations})
    sc = load_scenario(scenario_path, overrides=ov)
    ds = simulate(sc, replications=replications, seed=seed, trace=False, executor=executor,
                  base_dir=Path(scenario_path).resolve().parent)
    kpis = ["throughput"] + [f"utilisation[{n}]" for n in allocation.servers]
    pred = np.array([allocation.good_rate] + [allocation.utilisation[n] for n in allocation.servers])
    sim = np.array([float(ds["mean"].sel(kpi=k)) for k in kpis])
    hw = np.array([float(ds["half_width"].sel(kpi=k)) for k in kpis])
    units = [str(ds["kpi_units"].sel(kpi=k).values) for k in kpis]
    out = xr.Dataset(
        {
            "predicted": ("kpi", pred, {"units": "see kpi_units", "long_name": "MILP prediction"}),
            "simulated": ("kpi", sim, {"units": "see kpi_units", "long_name": "simulated mean"}),
            "half_width": ("kpi", hw, {"units": "see kpi_units",
                                       "long_name": f"half-width of the {sc.experiment.confidence:.0%} t-interval"}),
            "relative_error": ("kpi", (sim - pred) / pred, {"units": "1", "long_name": "(simulated - predicted) / predicted"}),
            "within_ci": ("kpi", np.abs(sim - pred) <= hw, {"units": "1", "long_name": "prediction inside the CI"}),
        },
        coords={"kpi": kpis, "kpi_units": ("kpi", units, {"long_name": "units of each KPI"})},
    )
    out.attrs.update({"servers": str(allocation.servers), "rate_per_h": allocation.rate,
                      "replications": int(ds.sizes["replication"]),
                      "max_wip": float(ds["value"].sel(kpi="wip").max()),
                      "scenario": sc.name})
    if not math.isfinite(float(out["relative_error"].max())):
        raise SolverError("line simulation of the allocation produced no finite KPIs")
    return out
