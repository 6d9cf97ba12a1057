"""Surrogate-based optimisation: a quadratic response surface fitted to a DOE, optimised in Pyomo.

Steps (Forrester, Sóbester & Keane 2008, *Engineering Design via Surrogate Modelling*,
ch. 1–2; Myers, Montgomery & Anderson-Cook 2016, *Response Surface Methodology*, 4th ed., ch. 6):

1. a Latin hypercube design (McKay, Beckman & Conover 1979; ``scipy.stats.qmc.LatinHypercube``)
   over the campaign's float parameters, each point simulated on the twin — or the campaign's
   finished trials;
2. per metric (objective and constrained metrics) a full quadratic polynomial in the inputs
   scaled to [-1, 1], fitted by least squares; its leave-one-out error comes from the hat
   matrix, :math:`e_{(i)} = e_i / (1 - h_{ii})` (PRESS; Myers et al. §2.7);
3. the polynomial objective and constraints written as Pyomo expressions over the same box and
   solved with Ipopt from the best feasible design points (multi-start: a quadratic surface
   need not be concave);
4. the surrogate optimum simulated on the twin; the report gives the surrogate error there. If
   the twin finds it infeasible, the surfaces get an additive (zero-order) correction through
   the twin's values at that point and the problem is solved again (at most ``refine`` times).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from optimization._solvers import ipopt_solver, quiet_bound_warnings
from workbench.errors import ConfigError, SolverError

__all__ = ["ResponseSurface", "SurrogateOptimum", "latin_hypercube_doe", "fit_response_surface",
           "surrogate_optimum"]


@dataclass
class ResponseSurface:
    """Full quadratic polynomial :math:`y = b_0 + \\sum b_i z_i + \\sum_{i \\le j} b_{ij} z_i z_j`.

    ``z`` is the input scaled to [-1, 1] over ``low``/``high``.

    Attributes
    ----------
    names, low, high
        Input names and box.
    terms
        Exponent tuples of the monomials (one per coefficient).
    coef
        Least-squares coefficients.
    r2, loo_rmse
        Coefficient of determination and leave-one-out RMSE (metric units).
    """

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    terms: list[tuple[int, ...]]
    coef: np.ndarray
    r2: float
    loo_rmse: float

    def scale(self, x: np.ndarray) -> np.ndarray:
        """Inputs in the parameter units → z in [-1, 1]."""
        return 2.0 * (np.asarray(x, dtype=float) - self.low) / (self.high - self.low) - 1.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Surrogate values at points ``x`` (rows; parameter units)."""
        return _design_matrix(self.scale(np.atleast_2d(x)), self.terms) @ self.coef

    def pyomo_expr(self, z_vars: list[Any]):
        """The polynomial as a Pyomo expression of scaled variables ``z_vars``."""
        expr = 0.0
        for c, term in zip(self.coef, self.terms, strict=True):
            mono = 1.0
            for zi, p in zip(z_vars, term, strict=True):
                for _ in range(p):
                    mono = mono * zi
            expr = expr + float(c) * mono
        return expr


def _terms(d: int, degree: int) -> list[tuple[int, ...]]:
    out = []
    for k in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(d), k):
            e = [0] * d
            for i in combo:
                e[i] += 1
            out.append(tuple(e))
    return out


def _design_matrix(z: np.ndarray, terms: list[tuple[int, ...]]) -> np.ndarray:
    return np.column_stack([np.prod(z ** np.asarray(t), axis=1) for t in terms])


def fit_response_surface(x: np.ndarray, y: np.ndarray, names: list[str], low, high, *,
                         degree: int = 2) -> ResponseSurface:
    """Least-squares polynomial of ``degree`` (all monomials) with its PRESS error.

    Raises
    ------
    ConfigError
        With fewer finite points than coefficients + 1.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.asarray(y, dtype=float)
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
    x, y = x[ok], y[ok]
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    terms = _terms(x.shape[1], degree)
    if len(y) < len(terms) + 1:
        raise ConfigError(f"a degree-{degree} surface in {x.shape[1]} inputs has {len(terms)} coefficients; "
                          f"it needs more than {len(terms)} finite points, got {len(y)}")
    z = 2.0 * (x - low) / (high - low) - 1.0
    A = _design_matrix(z, terms)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    hat = np.einsum("ij,ji->i", A, np.linalg.pinv(A))
    loo = resid / np.maximum(1.0 - hat, 1e-9)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return ResponseSurface(list(names), low, high, terms, coef, r2, float(np.sqrt(np.mean(loo**2))))


def latin_hypercube_doe(campaign, n: int, *, seed: int = 0, executor: Any = None) -> xr.Dataset:
    """Simulate ``n`` Latin-hypercube points of the campaign's float parameters on the twin.

    Returns
    -------
    xarray.Dataset
        ``param_<name>`` and every metric over ``trial`` (the design point index).
    """
    from scipy.stats import qmc

    from workbench.executors import JobFailure, map_jobs

    params = _float_params(campaign)
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    pts = qmc.scale(qmc.LatinHypercube(d=len(params), seed=seed).random(n), low, high)
    values = [{p.name: float(v) for p, v in zip(params, row, strict=True)} for row in pts]
    results = map_jobs(_Evaluate(campaign), values, executor=executor, progress=False)
    units = campaign.problem.metric_units
    metrics = sorted({k for r in results if not isinstance(r, JobFailure) for k in r})
    data = {f"param_{p.name}": ("trial", pts[:, i], {"units": p.unit, "long_name": f"parameter {p.name}"})
            for i, p in enumerate(params)}
    for m in metrics:
        col = [np.nan if isinstance(r, JobFailure) else r.get(m, np.nan) for r in results]
        data[m] = ("trial", np.asarray(col, dtype=float), {"units": units.get(m, "1"), "long_name": m})
    return xr.Dataset(data, coords={"trial": ("trial", np.arange(n), {"long_name": "design point"})})


class _Evaluate:
    def __init__(self, campaign):
        self.campaign = campaign

    def __call__(self, values):
        return self.campaign.evaluate(values, seed=0)["metrics"]


def _float_params(campaign):
    params = campaign.config.parameters
    bad = [p.name for p in params if p.type != "float"]
    if bad:
        raise ConfigError(f"surrogate optimisation needs float parameters; {bad} are not")
    return params


@dataclass
class SurrogateOptimum:
    """Result of :func:`surrogate_optimum`.

    Attributes
    ----------
    params
        Optimal parameter values of the surrogate problem.
    predicted
        Surrogate values of the objective and constrained metrics there (including the
        additive corrections when ``rounds > 1``).
    verified
        The same metrics simulated on the twin at ``params``.
    error
        ``verified - predicted`` per metric.
    fit
        Per metric: ``r2`` and ``loo_rmse`` of the response surface.
    feasible_on_twin
        Whether the twin run satisfies every campaign constraint.
    doe
        The design (or trials) the surfaces were fitted to.
    """

    params: dict[str, float]
    predicted: dict[str, float]
    verified: dict[str, float]
    error: dict[str, float]
    fit: dict[str, dict[str, float]]
    feasible_on_twin: bool
    status: str
    samples: int
    doe: xr.Dataset = field(repr=False, default=None)
    rounds: int = 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the design)."""
        return {"params": self.params, "predicted": self.predicted, "verified": self.verified,
                "error": self.error, "fit": self.fit, "feasible_on_twin": self.feasible_on_twin,
                "status": self.status, "samples": self.samples, "rounds": self.rounds}


def surrogate_optimum(campaign, *, samples: int = 30, seed: int = 0, data: xr.Dataset | None = None,
                      degree: int = 2, starts: int = 4, refine: int = 2,
                      executor: Any = None) -> SurrogateOptimum:
    """Fit response surfaces to a DOE (or ``data``: campaign trials), optimise them with Ipopt, verify.

    Parameters
    ----------
    campaign
        A single-objective campaign with float parameters (reactor or line).
    samples, seed
        Latin-hypercube size and seed (ignored when ``data`` is given).
    data
        Finished trials (``CampaignResult.trials``) to fit instead of a new design.
    degree
        Polynomial degree (2: full quadratic).
    starts
        Ipopt starts from the best feasible design points.
    refine
        When the twin finds the surrogate optimum infeasible: at most this many rounds of
        additive correction (each surface shifted by the twin's error at the last point)
        and re-solve; ``rounds`` in the result counts the solves.

    Raises
    ------
    ConfigError
        For multi-objective campaigns or non-float parameters.
    SolverError
        If no start converges.
    """
    cfg = campaign.config
    if len(cfg.objectives) != 1:
        raise ConfigError("surrogate optimisation handles one objective; the campaign has "
                          f"{len(cfg.objectives)}", path="objectives")
    params = _float_params(campaign)
    names = [p.name for p in params]
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    if data is None:
        data = latin_hypercube_doe(campaign, samples, seed=seed, executor=executor)
    elif "state" in data:
        data = data.isel(trial=np.flatnonzero(data["state"].values == "COMPLETE"))
    x = np.column_stack([data[f"param_{n}"].values.astype(float) for n in names])
    obj = cfg.objectives[0]
    metrics = [obj.metric] + [c.metric for c in cfg.constraints if c.metric != obj.metric]
    metrics = list(dict.fromkeys(metrics))
    missing = [m for m in metrics if m not in data]
    if missing:
        raise ConfigError(f"the design has no values of {missing}")
    surfaces = {m: fit_response_surface(x, data[m].values, names, low, high, degree=degree) for m in metrics}

    # starting points: best feasible design points (by simulated values)
    cons_val = np.zeros(len(x))
    for c in cfg.constraints:
        v = data[c.metric].values.astype(float)
        if c.max is not None:
            cons_val = np.maximum(cons_val, v - c.max)
        if c.min is not None:
            cons_val = np.maximum(cons_val, c.min - v)
    sign = 1.0 if obj.direction == "maximize" else -1.0
    score = np.where(cons_val <= 0, sign * data[obj.metric].values, -np.inf)
    order = np.argsort(-np.nan_to_num(score, nan=-np.inf))[:starts]

    solver = ipopt_solver(tol=1e-8)
    starts_z = [2.0 * (x[k] - low) / (high - low) - 1.0 for k in order]
    shift = dict.fromkeys(metrics, 0.0)
    history = []
    for _round in range(refine + 1):
        best = _solve_surrogate(solver, surfaces, shift, cfg, obj, starts_z, len(names))
        if best is None:
            if history:
                break
            raise SolverError("Ipopt found no optimum of the surrogate problem from any start "
                              "(the fitted constraints may exclude the whole box)")
        xb = low + (best + 1.0) * 0.5 * (high - low)
        p = {n: float(v) for n, v in zip(names, xb, strict=True)}
        predicted = {mname: float(surfaces[mname].predict(xb)[0]) + shift[mname] for mname in metrics}
        verified_all = campaign.evaluate(p, seed=0)["metrics"]
        verified = {mname: float(verified_all[mname]) for mname in metrics}
        feasible = all(v <= 1e-9 for v in campaign.constraint_values(verified_all))
        history.append((feasible, p, predicted, verified))
        if feasible:
            break
        # zero-order (additive) correction: shift each surface through the twin's value at
        # this point and solve again from it (Forrester et al. 2008, §7.2 on corrections)
        # plus a back-off by the violation on the violated side, so the next point aims inside
        shift = {mname: shift[mname] + verified[mname] - predicted[mname] for mname in metrics}
        for c in cfg.constraints:
            v = verified[c.metric]
            if c.max is not None and v > c.max:
                shift[c.metric] += v - float(c.max)
            if c.min is not None and v < c.min:
                shift[c.metric] -= float(c.min) - v
        starts_z = [best, *starts_z]
    feasible, p, predicted, verified = history[-1]
    return SurrogateOptimum(
        params=p, predicted=predicted, verified=verified,
        error={mname: verified[mname] - predicted[mname] for mname in metrics},
        fit={mname: {"r2": s.r2, "loo_rmse": s.loo_rmse} for mname, s in surfaces.items()},
        feasible_on_twin=feasible, status="optimal", samples=int(len(x)), doe=data,
        rounds=len(history))


def _solve_surrogate(solver, surfaces, shift, cfg, obj, starts_z, d):
    """Best local optimum of the (shifted) polynomial problem over the starts, or None."""
    import pyomo.environ as pyo
    from pyomo.opt import TerminationCondition

    sign = 1.0 if obj.direction == "maximize" else -1.0
    best, best_val = None, -np.inf
    for z0 in starts_z:
        m = pyo.ConcreteModel(name="surrogate")
        m.I = pyo.RangeSet(0, d - 1)
        m.z = pyo.Var(m.I, bounds=(-1.0, 1.0), initialize=lambda _m, i, z0=z0: float(np.clip(z0[i], -1, 1)))
        zs = [m.z[i] for i in m.I]
        m.obj = pyo.Objective(expr=surfaces[obj.metric].pyomo_expr(zs) + shift[obj.metric],
                              sense=pyo.maximize if obj.direction == "maximize" else pyo.minimize)
        m.cons = pyo.ConstraintList()
        for c in cfg.constraints:
            e = surfaces[c.metric].pyomo_expr(zs) + shift[c.metric]
            if c.max is not None:
                m.cons.add(e <= float(c.max))
            if c.min is not None:
                m.cons.add(e >= float(c.min))
        try:
            with quiet_bound_warnings():
                res = solver.solve(m, tee=False)
        except Exception:  # noqa: BLE001 - a failed start is tried from the next point
            continue
        if res.solver.termination_condition not in (TerminationCondition.optimal,
                                                    TerminationCondition.locallyOptimal):
            continue
        val = sign * pyo.value(m.obj)
        if val > best_val:
            best_val = val
            best = np.clip(np.array([pyo.value(m.z[i]) for i in m.I]), -1.0, 1.0)
    return best
