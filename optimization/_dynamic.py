"""Dynamic optimisation of the semi-batch reactor recipe with Pyomo.DAE and Ipopt.

The model writes the same documented equations as the reactor FMU
(``fmu_models/reactor/README.md``; open-loop jacket as in :mod:`optimization._reactor`):

.. math::

    \\dot n_A &= -r_1 V, \\quad \\dot n_B = F c_{B,feed} - r_1 V, \\quad
    \\dot n_C = (r_1 - r_2) V, \\quad \\dot n_D = r_2 V, \\quad \\dot V = F \\\\
    \\rho c_p V \\dot T &= F \\rho c_p (T_{feed} - T) + (-\\Delta H_1 r_1 - \\Delta H_2 r_2) V - UA (T - T_j) \\\\
    \\rho c_{p,c} V_j \\dot T_j &= UA (T - T_j) - F_c \\rho c_{p,c} (T_j - T_{j,in})

with :math:`r_1 = k_1(T) c_A c_B`, :math:`r_2 = k_2(T) c_C`, Arrhenius rate constants about
:math:`T_{ref}` and :math:`UA = (\\pi D^2/4 + 4V/D) / (1/U + R_f)` (Fogler 2016, ch. 8 and 13;
Luyben 2007, ch. 5). Time is scaled to :math:`\\tau = t / t_f \\in [0, 1]`, amounts to kmol.
The controls are the recipe's piecewise-constant stages (jacket inlet temperature, feed
rate), so the NLP has exactly the decision space of a campaign over
:class:`~optimization.ReactorRecipe`. Discretisation: Radau collocation
(``dae.collocation``; Biegler 2010, *Nonlinear Programming*, ch. 10).

Build, discretise and solve are separate steps (:func:`create_reactor_model`,
:func:`solve_reactor_model`), as in IDAES.
"""

from __future__ import annotations

import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from optimization._reactor import ReactorRecipe, simulate_recipe
from optimization._solvers import ipopt_solver, quiet_bound_warnings
from workbench.errors import ConfigError, SolverError

__all__ = ["ReactorOptimum", "create_reactor_model", "solve_reactor_model", "optimize_reactor",
           "DYNAMIC_STATES"]

R_GAS = 8.314462618  # J/(mol K), CODATA 2018 (same constant as fmu_models.reference)
DYNAMIC_STATES = ("nA", "nB", "nC", "nD", "V", "T", "T_jacket", "n_B_fed")
_KMOL = ("nA", "nB", "nC", "nD", "n_B_fed")


@dataclass
class ReactorOptimum:
    """Result of a dynamic optimisation.

    Attributes
    ----------
    recipe
        The optimal recipe (stage values), ready for :func:`~optimization.simulate_recipe`.
    predicted
        Figures predicted by the collocation model (``yield``, ``impurity``,
        ``peak_temperature``, ``b_fed``).
    trajectory
        States at the collocation points (``time`` in s) with units.
    status
        Ipopt termination condition (``"optimal"`` on success).
    solve_seconds
        Wall time of the Ipopt solve.
    stats
        Model size: ``variables``, ``constraints``, ``degrees_of_freedom``.
    """

    recipe: ReactorRecipe
    predicted: dict[str, float]
    trajectory: xr.Dataset
    status: str
    solve_seconds: float
    stats: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"recipe": self.recipe.as_dict(), "predicted": self.predicted, "status": self.status,
                "solve_seconds": self.solve_seconds, "stats": self.stats}


def _params(recipe: ReactorRecipe) -> dict[str, float]:
    from fmu_models.reference.reactor import default_parameters

    p = default_parameters()
    p.update(recipe.fmu_parameters())
    return p


def create_reactor_model(
    guess: ReactorRecipe,
    *,
    jacket_bounds: tuple[float, float] | None = None,
    feed_bounds: tuple[float, float] = (0.0, 3.0e-4),
    fixed: Sequence[str] = (),
    peak_temperature: float | None = None,
    impurity_max: float | None = None,
    b_total_max: float | None = None,
    envelopes: Sequence[Any] = (),
    objective: str = "yield",
    nfe: int = 24,
    ncp: int = 3,
    t_start: float = 0.0,
    initial_state: Mapping[str, float] | None = None,
):
    """Build and discretise the Pyomo.DAE model of one batch.

    Parameters
    ----------
    guess
        Recipe whose stage counts, batch time and parameters define the problem; its
        stage values and simulated trajectory initialise the NLP.
    jacket_bounds, feed_bounds
        Bounds of the jacket-inlet stages (K; default the utilities' ``Tj_in_min``,
        ``Tj_in_max``) and of the feed-rate stages (m3/s).
    fixed
        ``"jacket_inlet"`` and/or ``"feed_rate"`` to keep at the guess's values.
    peak_temperature
        Safety limit on the reactor temperature at every collocation point (K).
    impurity_max
        End-point quality spec nD/(nC+nD) <= value.
    b_total_max
        Most B that may be fed (mol).
    envelopes
        :class:`~optimization.EnvelopeBand` objects (or adaptable) as path constraints.
    objective
        ``"yield"`` (maximise nC(t_f)/nA(0)).
    nfe, ncp
        Finite elements (rounded up to a multiple of the stage counts) and Radau points.
    t_start, initial_state
        Shrinking horizon: start at ``t_start`` s from these states (names as
        :data:`DYNAMIC_STATES`, SI units) instead of the charge.

    Returns
    -------
    pyomo.environ.ConcreteModel
    """
    import pyomo.dae as dae
    import pyomo.environ as pyo

    from optimization._envelope import EnvelopeBand

    if objective != "yield":
        raise ConfigError(f"objective {objective!r} is not known; use 'yield'")
    p = _params(guess)
    n_j, n_f = len(guess.jacket_inlet), len(guess.feed_rate)
    lcm = int(np.lcm(n_j, n_f))
    nfe = int(np.ceil(nfe / lcm) * lcm)
    t_f = guess.batch_time - t_start
    if t_f <= 0:
        raise ConfigError(f"shrinking horizon: t_start={t_start} s is not before the batch end {guess.batch_time} s")
    jb = jacket_bounds or (p["Tj_in_min"], p["Tj_in_max"])

    m = pyo.ConcreteModel(name="semi_batch_reactor")
    m.tau = dae.ContinuousSet(bounds=(0.0, 1.0))
    m.SJ = pyo.RangeSet(0, n_j - 1)
    m.SF = pyo.RangeSet(0, n_f - 1)
    m.Tj_in = pyo.Var(m.SJ, bounds=jb, initialize=lambda _m, s: guess.jacket_inlet[s])
    m.F = pyo.Var(m.SF, bounds=(feed_bounds[0] * 1e4, feed_bounds[1] * 1e4),
                  initialize=lambda _m, s: guess.feed_rate[s] * 1e4)  # 1e-4 m3/s
    for name in fixed:
        prof, _, k = name.rpartition("_") if name[-1:].isdigit() else (name, "", "")
        var = {"jacket_inlet": m.Tj_in, "feed_rate": m.F}.get(prof)
        if var is None or (k and not 1 <= int(k) <= len(var)):
            raise ConfigError(f"fixed: {name!r} is not a control; use 'jacket_inlet', 'feed_rate' "
                              "or a stage such as 'feed_rate_2'")
        if k:
            var[int(k) - 1].fix()
        else:
            var.fix()

    for name in DYNAMIC_STATES:
        setattr(m, name, pyo.Var(m.tau, initialize=1.0))
        setattr(m, "d" + name, dae.DerivativeVar(getattr(m, name), wrt=m.tau))
    m.T.setlb(250.0)
    m.T_jacket.setlb(250.0)
    m.V.setlb(1e-3)
    for n in ("nA", "nB", "nC", "nD", "n_B_fed"):
        getattr(m, n).setlb(0.0)

    pyo.TransformationFactory("dae.collocation").apply_to(m, wrt=m.tau, nfe=nfe, ncp=ncp, scheme="LAGRANGE-RADAU")
    taus = sorted(m.tau)
    fe = sorted(m.tau.get_finite_elements())

    def stage(tau: float, n: int) -> int:
        # the element containing tau (Radau: an element owns (left, right]); stages are groups of elements
        k = int(np.searchsorted(fe, tau - 1e-12, side="left")) - 1
        k = min(max(k, 0), nfe - 1)
        return k * n // nfe

    nA0 = p["cA0"] * p["V0"]
    x0 = dict(initial_state) if initial_state is not None else {
        "nA": nA0, "nB": p["cB0"] * p["V0"], "nC": 0.0, "nD": 0.0, "V": p["V0"],
        "T": p["T0"], "T_jacket": p["Tj0"], "n_B_fed": 0.0}
    missing = set(DYNAMIC_STATES) - set(x0)
    if missing:
        raise ConfigError(f"initial_state lacks {sorted(missing)}; give all of {list(DYNAMIC_STATES)}")

    e = pyo.exp
    D = p["D_vessel"]

    def rates(_m, t):
        V = _m.V[t]
        k1 = p["k1_ref"] * e(-p["E1"] / R_GAS * (1.0 / _m.T[t] - 1.0 / p["T_ref"]))
        k2 = p["k2_ref"] * e(-p["E2"] / R_GAS * (1.0 / _m.T[t] - 1.0 / p["T_ref"]))
        r1V = k1 * (_m.nA[t] * 1e3) * (_m.nB[t] * 1e3) / V  # mol/s
        r2V = k2 * (_m.nC[t] * 1e3)  # mol/s
        return r1V, r2V

    def F_of(_m, t):
        return _m.F[stage(t, n_f)] * 1e-4

    def ode(_m, t, name):
        if t == 0.0:
            return pyo.Constraint.Skip
        r1V, r2V = rates(_m, t)
        F = F_of(_m, t)
        V, T, Tj = _m.V[t], _m.T[t], _m.T_jacket[t]
        UA = (np.pi * D**2 / 4.0 + 4.0 * V / D) / (1.0 / p["U"] + p["R_fouling"])
        if name == "nA":
            rhs = -r1V / 1e3
        elif name == "nB":
            rhs = (F * p["cB_feed"] - r1V) / 1e3
        elif name == "nC":
            rhs = (r1V - r2V) / 1e3
        elif name == "nD":
            rhs = r2V / 1e3
        elif name == "V":
            rhs = F
        elif name == "n_B_fed":
            rhs = F * p["cB_feed"] / 1e3
        elif name == "T":
            q_rxn = -p["dH1"] * r1V - p["dH2"] * r2V
            return (p["rho_cp"] * V * _m.dT[t]
                    == t_f * (F * p["rho_cp"] * (p["T_feed"] - T) + q_rxn - UA * (T - Tj)))
        else:  # T_jacket
            q_cool = p["F_cool"] * p["rho_cp_cool"] * (Tj - _m.Tj_in[stage(t, n_j)])
            return (p["rho_cp_cool"] * p["V_jacket"] * _m.dT_jacket[t] == t_f * (UA * (T - Tj) - q_cool))
        return getattr(_m, "d" + name)[t] == t_f * rhs

    for name in DYNAMIC_STATES:
        setattr(m, "ode_" + name, pyo.Constraint(m.tau, rule=lambda _m, t, _n=name: ode(_m, t, _n)))
        var = getattr(m, name)
        scale = 1e-3 if name in _KMOL else 1.0
        var[0.0].fix(x0[name] * scale)
        getattr(m, "d" + name)[0.0].fix(0.0)  # unused by Radau collocation: keep DOF = controls

    t_abs = t_start + np.asarray(taus) * t_f
    if peak_temperature is not None:
        m.peak = pyo.Constraint([t for t in taus if t > 0], rule=lambda _m, t: _m.T[t] <= peak_temperature)
    bands = [EnvelopeBand.from_envelope(env) for env in envelopes]
    for i, band in enumerate(bands):
        if band.variable not in ("T", "T_jacket", "V"):
            raise ConfigError(f"envelope on {band.variable!r}: the dynamic model constrains T, T_jacket or V")
        lo, hi = band.bounds_at(t_abs)
        inside = {t: (lo[k], hi[k]) for k, t in enumerate(taus) if t > 0 and t_abs[k] <= band.time[-1] + 1e-9}
        var = getattr(m, band.variable)
        setattr(m, f"envelope_{i}", pyo.Constraint(list(inside), rule=lambda _m, t, _v=var, _b=inside:
                                                   pyo.inequality(_b[t][0], _v[t], _b[t][1])))
    if impurity_max is not None:
        m.impurity = pyo.Constraint(expr=m.nD[1.0] <= impurity_max * (m.nC[1.0] + m.nD[1.0]))
    if b_total_max is not None:
        m.b_total = pyo.Constraint(expr=m.n_B_fed[1.0] <= b_total_max / 1e3)
    m.yield_C = pyo.Expression(expr=m.nC[1.0] * 1e3 / nA0)
    m.obj = pyo.Objective(expr=m.yield_C, sense=pyo.maximize)

    # initialise the states from a simulation of the guess (same equations, SciPy)
    _initialise(m, guess, taus, t_start, t_f, x0)
    m._meta = {"t_start": t_start, "t_f": t_f, "params": p, "guess": guess, "nA0": nA0,
               "nfe": nfe, "ncp": ncp}
    return m


def _initialise(m, guess: ReactorRecipe, taus, t_start, t_f, x0) -> None:
    try:
        if t_start == 0.0:
            sim = simulate_recipe(guess, backend="reference", dt=max(t_f / 200.0, 1.0), rtol=1e-6)
            ts = sim["time"].values
            series = {name: sim[name].values for name in DYNAMIC_STATES}
        else:
            ts, series = _simulate_rest(guess, t_f, x0)
        for name in DYNAMIC_STATES:
            vals = np.interp(np.asarray(taus) * t_f, ts, series[name])
            scale = 1e-3 if name in _KMOL else 1.0
            var = getattr(m, name)
            for k, t in enumerate(taus):
                if t > 0:
                    var[t].set_value(float(vals[k]) * scale)
        return
    except Exception:  # noqa: BLE001 - a poor initial point only slows Ipopt down
        pass
    for name in DYNAMIC_STATES:
        scale = 1e-3 if name in _KMOL else 1.0
        var = getattr(m, name)
        for t in taus:
            var[t].set_value(max(x0[name] * scale, 1e-3))


def _simulate_rest(guess: ReactorRecipe, t_f: float, x0: Mapping[str, float]):
    """Shrinking horizon: the guess's stages over the remaining ``t_f`` s from states ``x0``
    (reference equations), for the initial point of the NLP."""
    from optimization._reactor import RECIPE_OUTPUTS, _ReferenceRun

    rest = ReactorRecipe(batch_time=t_f, jacket_inlet=guess.jacket_inlet, feed_rate=guess.feed_rate,
                         parameters=dict(guess.parameters))
    run = _ReferenceRun(rest, 1e-6)
    ix = {n: i for i, n in enumerate(run.ref.STATES)}
    for name in DYNAMIC_STATES:
        run.x[ix[name]] = float(x0[name])
    ts = np.unique(np.concatenate([np.linspace(0.0, t_f, 201), rest.breakpoints()]))
    rows = np.vstack([run.outputs(0.0), *run.advance(ts[1:])])
    col = {n: i for i, n in enumerate(RECIPE_OUTPUTS)}
    return ts, {name: rows[:, col[name]] for name in DYNAMIC_STATES}


def solve_reactor_model(m, *, tol: float = 1e-8, max_iter: int = 3000) -> ReactorOptimum:
    """Solve a model from :func:`create_reactor_model` with Ipopt and read the result.

    Raises
    ------
    SolverError
        If Ipopt does not reach a locally optimal point (the message says whether the
        problem looks infeasible).
    """
    import pyomo.environ as pyo
    from pyomo.opt import TerminationCondition

    meta = m._meta
    solver = ipopt_solver(tol=tol, max_iter=max_iter)
    t0 = _time.perf_counter()
    try:
        with quiet_bound_warnings():
            res = solver.solve(m, tee=False)
    except Exception as exc:  # noqa: BLE001 - cyipopt raises plain errors on evaluation failures
        raise SolverError(f"Ipopt failed on the reactor model: {exc}") from exc
    secs = _time.perf_counter() - t0
    cond = res.solver.termination_condition
    if cond not in (TerminationCondition.optimal, TerminationCondition.locallyOptimal):
        hint = " (the constraints cannot all hold: envelope, peak temperature, impurity or B limit)" \
            if cond == TerminationCondition.infeasible else ""
        raise SolverError(f"Ipopt ended with {cond} on the reactor model{hint}")
    guess: ReactorRecipe = meta["guess"]
    recipe = ReactorRecipe(batch_time=guess.batch_time,
                           jacket_inlet=tuple(float(pyo.value(m.Tj_in[s])) for s in m.SJ),
                           feed_rate=tuple(max(0.0, float(pyo.value(m.F[s]))) * 1e-4 for s in m.SF),
                           parameters=dict(guess.parameters))
    taus = np.array(sorted(m.tau))
    t = meta["t_start"] + taus * meta["t_f"]
    data = {}
    units = {"nA": "mol", "nB": "mol", "nC": "mol", "nD": "mol", "V": "m3", "T": "K",
             "T_jacket": "K", "n_B_fed": "mol"}
    for name in DYNAMIC_STATES:
        scale = 1e3 if name in _KMOL else 1.0
        vals = np.array([pyo.value(getattr(m, name)[tt]) for tt in taus]) * scale
        data[name] = xr.DataArray(vals, dims="time", attrs={"units": units[name], "long_name": name})
    traj = xr.Dataset(data, coords={"time": ("time", t, {"units": "s", "long_name": "elapsed batch time"})})
    nC, nD = float(traj["nC"][-1]), float(traj["nD"][-1])
    predicted = {
        "yield": nC / meta["nA0"],
        "impurity": nD / (nC + nD) if nC + nD > 0 else 0.0,
        "peak_temperature": float(traj["T"].max()),
        "b_fed": float(traj["n_B_fed"][-1]),
    }
    n_var = sum(1 for v in m.component_data_objects(pyo.Var, active=True) if not v.fixed)
    n_con = sum(1 for c in m.component_data_objects(pyo.Constraint, active=True) if c.equality)
    n_ineq = sum(1 for c in m.component_data_objects(pyo.Constraint, active=True) if not c.equality)
    stats = {"variables": n_var, "equalities": n_con, "inequalities": n_ineq,
             "degrees_of_freedom": n_var - n_con, "finite_elements": meta["nfe"],
             "collocation_points": meta["ncp"]}
    return ReactorOptimum(recipe, predicted, traj, str(cond), secs, stats)


def optimize_reactor(guess: ReactorRecipe, **kwargs: Any) -> ReactorOptimum:
    """Build, discretise and solve in one call (keywords as :func:`create_reactor_model`)."""
    solve_kw = {k: kwargs.pop(k) for k in ("tol", "max_iter") if k in kwargs}
    return solve_reactor_model(create_reactor_model(guess, **kwargs), **solve_kw)
