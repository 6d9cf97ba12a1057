"""Maintenance policy optimisation: analytic renewal-reward optima and simulation search.

Age replacement (Barlow & Proschan 1965, *Mathematical Theory of Reliability*,
ch. 4; Barlow & Hunter 1960): replace at failure (cost C_f) or at age T (cost C_p),
whichever comes first. By the renewal-reward theorem the long-run cost rate is

    C(T) = (C_p·R(T) + C_f·F(T)) / ∫₀ᵀ R(t) dt .

Block replacement (same source): replace at T, 2T, … and at failures,

    C(T) = (C_p + C_f·M(T)) / T ,  M = renewal function, M(t) = F(t) + ∫₀ᵗ M(t−x) dF(x),

solved numerically by the Riemann–Stieltjes recursion of Xie (1989, *Commun. Stat.
Stoch. Models* 5:1–23). Simulation search (:func:`optimize_pm`) runs the
repairable engine on a grid of intervals with common random numbers (same seed
per interval), which also covers systems, crews, spares and downtime costs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy import integrate, optimize

from simulation.life._config import LifeModel
from simulation.life._stats import BOUND
from workbench.dataset import add_provenance, config_hash
from workbench.errors import ConfigError, did_you_mean

__all__ = [
    "age_replacement_cost_rate",
    "optimal_age_replacement",
    "block_replacement_cost_rate",
    "renewal_function",
    "optimize_pm",
]

HOUR = 3600.0


def _rv(dist: Any):
    return dist.frozen() if hasattr(dist, "frozen") and callable(dist.frozen) else dist


def age_replacement_cost_rate(dist: Any, T: float | np.ndarray, cost_preventive: float, cost_failure: float) -> np.ndarray:
    """Long-run cost per hour of age replacement at age ``T`` (s) — renewal-reward formula.

    Parameters
    ----------
    dist
        :class:`~simulation.life.LifeDistribution` or frozen scipy distribution (seconds).
    T
        Replacement age(s) in seconds.
    cost_preventive, cost_failure
        C_p and C_f (currency per event).
    """
    rv = _rv(dist)
    Ts = np.atleast_1d(np.asarray(T, dtype=float))
    out = np.empty(len(Ts))
    for k, t in enumerate(Ts):
        mean_cycle, _ = integrate.quad(rv.sf, 0.0, t, limit=200)
        out[k] = (cost_preventive * rv.sf(t) + cost_failure * rv.cdf(t)) / mean_cycle * HOUR
    return out if np.ndim(T) else out[0]


def optimal_age_replacement(dist: Any, cost_preventive: float, cost_failure: float,
                            *, upper: float | None = None) -> dict[str, float]:
    """Cost-optimal replacement age T* (s) by the renewal-reward formula.

    Returns
    -------
    dict
        ``interval`` (s), ``cost_rate`` (per hour), ``run_to_failure_cost_rate``
        (C_f / MTTF per hour) and ``saving`` (fraction).
    """
    rv = _rv(dist)
    hi = float(upper or rv.ppf(0.999))
    grid = np.geomspace(hi * 1e-3, hi, 80)
    vals = age_replacement_cost_rate(rv, grid, cost_preventive, cost_failure)
    k = int(np.argmin(vals))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda t: age_replacement_cost_rate(rv, t, cost_preventive, cost_failure),
                                   bounds=(a, b), method="bounded", options={"xatol": hi * 1e-7})
    rtf = cost_failure / rv.mean() * HOUR
    t_best, c_best = (float(res.x), float(res.fun)) if res.fun <= vals[k] else (float(grid[k]), float(vals[k]))
    return {"interval": t_best, "cost_rate": c_best, "run_to_failure_cost_rate": float(rtf),
            "saving": float(1 - c_best / rtf)}


def renewal_function(dist: Any, t_max: float, steps: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Renewal function M(t) on ``[0, t_max]`` → (t, M).

    Riemann–Stieltjes discretisation of M(t) = F(t) + ∫₀ᵗ M(t−x) dF(x) with the
    integrand at interval midpoints (Xie 1989)::

        Mᵢ (1 − ΔF₁/2) = Fᵢ + Mᵢ₋₁ ΔF₁/2 + Σ_{j=2}^{i} (Mᵢ₋ⱼ + Mᵢ₋ⱼ₊₁)/2 · ΔFⱼ
    """
    rv = _rv(dist)
    t = np.linspace(0.0, t_max, steps + 1)
    F = rv.cdf(t)
    dF = np.diff(F)  # dF[j-1] = F_j - F_{j-1}
    M = np.zeros_like(t)
    for i in range(1, len(t)):
        acc = F[i] + 0.5 * M[i - 1] * dF[0]
        if i > 1:
            j = np.arange(2, i + 1)
            acc += np.sum(0.5 * (M[i - j] + M[i - j + 1]) * dF[j - 1])
        M[i] = acc / (1.0 - 0.5 * dF[0])
    return t, M


def block_replacement_cost_rate(dist: Any, T: float | np.ndarray, cost_preventive: float, cost_failure: float,
                                *, steps: int = 2000) -> np.ndarray:
    """Long-run cost per hour of block replacement every ``T`` s: (C_p + C_f·M(T)) / T."""
    Ts = np.atleast_1d(np.asarray(T, dtype=float))
    t, M = renewal_function(dist, float(Ts.max()), steps)
    out = (cost_preventive + cost_failure * np.interp(Ts, t, M)) / Ts * HOUR
    return out if np.ndim(T) else out[0]


def optimize_pm(model: LifeModel, component: str | None = None, *, intervals: np.ndarray | None = None,
                parameter: str = "interval", replications: int | None = None, seed: int | None = None,
                executor=None, progress: bool | str = False) -> xr.Dataset:
    """Simulated cost rate over a grid of PM (or inspection) intervals of one component.

    Parameters
    ----------
    model
        Life model; ``component`` must have a ``preventive`` entry.
    component
        Component name (default: the first one with preventive maintenance).
    intervals
        Candidate intervals in s (default: 12 values from 5 % to 150 % of the mean life).
    parameter
        ``"interval"`` (age/block) or ``"inspection_interval"`` (condition-based).
    replications, seed, executor, progress
        Passed to :func:`simulate_operation`; the same seed is used for every interval
        (common random numbers).

    Returns
    -------
    xarray.Dataset
        ``cost_rate`` and ``mean_availability`` (bound, trial) with ``interval`` (trial);
        ``cost_rate_analytic`` (trial) from the renewal-reward formula of the component alone
        (attr ``analytic_applies`` = 1 when the model is exactly that case); attrs
        ``best_interval_s`` and, for age replacement, ``analytic_optimum_s``.
    """
    from simulation.life._repairable import simulate_operation

    pm_names = [c.name for c in model.components if c.preventive is not None]
    if component is None:
        if not pm_names:
            raise ConfigError("no component has a 'preventive' entry; add one to optimise its interval",
                              path="components")
        component = pm_names[0]
    if component not in pm_names:
        raise ConfigError(f"component '{component}' has no preventive maintenance; {did_you_mean(component, pm_names)}",
                          path="components")
    comp = model.component(component)
    pm = comp.preventive
    if parameter not in ("interval", "inspection_interval"):
        raise ConfigError(f'parameter "{parameter}" is not known; use "interval" or "inspection_interval"')
    if parameter == "interval" and pm.policy == "condition":
        parameter = "inspection_interval"
    life = comp.life if comp.life is not None and not isinstance(comp.life, str) else None
    if intervals is None:
        base = life.mean_life() if life is not None else comp.degradation.horizon / 2
        intervals = np.linspace(0.05, 1.5, 12) * base
    intervals = np.asarray(intervals, dtype=float)
    seed = model.simulation.seed if seed is None else seed
    from simulation.life._degradation import simulate_paths
    from workbench.executors import spawn_seeds

    paths = {c.name: simulate_paths(c, seed=s)  # once, shared by every interval
             for c, s in zip(model.components, spawn_seeds(seed, len(model.components)), strict=True)
             if c.degradation is not None}
    rows_cost, rows_av = [], []
    for T in intervals:
        m = model.model_copy(deep=True)
        setattr(m.component(component).preventive, parameter, float(T))
        ds = simulate_operation(m, replications=replications, seed=seed, executor=executor, progress=progress,
                                paths=paths)
        rows_cost.append(ds["cost_rate"].values)
        rows_av.append(ds["mean_availability"].values)
    out = xr.Dataset(coords={"trial": ("trial", np.arange(len(intervals))), "bound": ("bound", BOUND)})
    out["interval"] = ("trial", intervals, {"units": "s", "long_name": f"{component} {parameter.replace('_', ' ')}"})
    cur = model.currency
    out["cost_rate"] = (("bound", "trial"), np.stack(rows_cost, axis=1), {"units": f"{cur}/h", "long_name": "simulated cost per hour"})
    out["mean_availability"] = (("bound", "trial"), np.stack(rows_av, axis=1), {"units": "1", "long_name": "simulated mean availability"})
    best = int(np.argmin(out["cost_rate"].sel(bound="estimate").values))
    attrs: dict[str, Any] = {"component": component, "parameter": parameter, "policy": pm.policy,
                             "best_interval_s": float(intervals[best]), "currency": cur}
    if life is not None and pm.policy in ("age", "block"):
        cp = pm.cost + comp.costs.spare
        cf = comp.costs.failure + comp.costs.spare
        fn = age_replacement_cost_rate if pm.policy == "age" else block_replacement_cost_rate
        out["cost_rate_analytic"] = ("trial", fn(life, intervals, cp, cf),
                                     {"units": f"{cur}/h", "long_name": f"renewal-reward {pm.policy} replacement cost rate"})
        if pm.policy == "age":
            opt = optimal_age_replacement(life, cp, cf)
            attrs.update({"analytic_optimum_s": opt["interval"], "analytic_optimum_cost_rate": opt["cost_rate"]})
        simple = (len(model.components) == 1 and comp.repair is None and pm.duration == 0
                  and model.maintenance.downtime_cost_per_hour == 0 and comp.costs.repair_per_hour == 0
                  and model.profile is None and not comp.acceleration and comp.spare is None)
        attrs["analytic_applies"] = int(simple)
    out.attrs.update(attrs)
    return add_provenance(out, kind="life-pm-policy", scenario=model.name, scenario_hash=config_hash(model), seed=seed)
