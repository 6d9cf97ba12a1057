"""Model-based counterparts of campaigns and mid-batch correction (shrinking horizon)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from optimization._dynamic import DYNAMIC_STATES, ReactorOptimum, optimize_reactor
from optimization._problems import ReactorProblem
from optimization._reactor import ReactorRecipe
from workbench.errors import ConfigError

__all__ = ["campaign_optimum", "correct_recipe", "replay_correction"]

_PYOMO_CONSTRAINTS = {"impurity", "peak_temperature", "b_fed", "envelope_violation"}


def campaign_optimum(campaign, *, nfe: int = 24, ncp: int = 3) -> ReactorOptimum:
    """Solve a reactor campaign's problem with Pyomo.DAE + Ipopt (same decisions, bounds, constraints).

    The search-space parameters must be recipe stages (``jacket_inlet_<k>``,
    ``feed_rate_<k>``, or whole programmes); stages not searched keep the base recipe's value.
    Supported objective: maximise ``yield``; constraints: ``impurity`` (max),
    ``peak_temperature`` (max), ``b_fed`` (max) and ``envelope_violation`` (max 0).

    Raises
    ------
    ConfigError
        If the campaign is not expressible in the dynamic model.
    """
    cfg = campaign.config
    problem = campaign.problem
    if not isinstance(problem, ReactorProblem):
        raise ConfigError("only reactor campaigns have a Pyomo counterpart", path="model.type")
    if [(o.metric, o.direction) for o in cfg.objectives] != [("yield", "maximize")]:
        raise ConfigError("the Pyomo counterpart maximises yield; the campaign's objectives differ",
                          path="objectives")
    base = problem.base
    n_j, n_f = len(base.jacket_inlet), len(base.feed_rate)
    searched = {}
    for p in cfg.parameters:
        if p.type != "float":
            raise ConfigError(f"parameter {p.name!r}: the Pyomo counterpart needs float stage parameters")
        searched[p.name] = (p.low, p.high)
    jb = [None] * n_j
    fb = [None] * n_f
    for name, (lo, hi) in searched.items():
        prof, _, k = name.rpartition("_")
        if name in ("jacket_inlet", "feed_rate"):
            for i in range(n_j if name == "jacket_inlet" else n_f):
                (jb if name == "jacket_inlet" else fb)[i] = (lo, hi)
        elif prof in ("jacket_inlet", "feed_rate") and k.isdigit():
            (jb if prof == "jacket_inlet" else fb)[int(k) - 1] = (lo, hi)
        else:
            raise ConfigError(f"parameter {name!r} is not a recipe stage; the Pyomo counterpart "
                              "optimises jacket_inlet_<k> and feed_rate_<k>")
    fixed = [f"jacket_inlet_{i + 1}" for i, b in enumerate(jb) if b is None] + \
            [f"feed_rate_{i + 1}" for i, b in enumerate(fb) if b is None]
    # start in the middle of the box
    guess = ReactorRecipe(batch_time=base.batch_time,
                          jacket_inlet=tuple(0.5 * (b[0] + b[1]) if b else v for b, v in zip(jb, base.jacket_inlet, strict=True)),
                          feed_rate=tuple(0.5 * (b[0] + b[1]) if b else v for b, v in zip(fb, base.feed_rate, strict=True)),
                          parameters=dict(base.parameters))
    kw: dict[str, Any] = {}
    for c in cfg.constraints:
        if c.metric not in _PYOMO_CONSTRAINTS or c.min is not None:
            raise ConfigError(f"constraint on {c.metric!r} is not in the Pyomo counterpart "
                              f"(supported: max on {sorted(_PYOMO_CONSTRAINTS)})")
        if c.metric == "impurity":
            kw["impurity_max"] = c.max
        elif c.metric == "peak_temperature":
            kw["peak_temperature"] = c.max
        elif c.metric == "b_fed":
            kw["b_total_max"] = c.max
    envs = problem.envelopes if any(c.metric == "envelope_violation" for c in cfg.constraints) else []
    m_kw = dict(jacket_bounds=None, fixed=fixed, envelopes=envs, nfe=nfe, ncp=ncp, **kw)
    from optimization._dynamic import create_reactor_model, solve_reactor_model

    m = create_reactor_model(guess, **m_kw)
    for i, b in enumerate(jb):
        if b is not None:
            m.Tj_in[i].setlb(b[0])
            m.Tj_in[i].setub(b[1])
    for i, b in enumerate(fb):
        if b is not None:
            m.F[i].setlb(b[0] * 1e4)
            m.F[i].setub(b[1] * 1e4)
    return solve_reactor_model(m)


def correct_recipe(
    recipe: ReactorRecipe,
    state: Mapping[str, float],
    t_now: float,
    *,
    stages: int = 2,
    impurity_max: float | None = None,
    peak_temperature: float | None = None,
    b_total_max: float | None = None,
    envelopes=(),
    feed_bounds: tuple[float, float] = (0.0, 3.0e-4),
    nfe: int = 12,
) -> ReactorOptimum:
    """Re-optimise the rest of a running batch from the twin's current state (shrinking horizon).

    Parameters
    ----------
    recipe
        The recipe the batch runs (batch time, parameters).
    state
        Current states by name (:data:`~optimization.DYNAMIC_STATES`, SI units), e.g. from
        the twin's synchronised FMU.
    t_now
        Elapsed batch time in s.
    stages
        Number of equal jacket/feed stages for the remaining time.
    impurity_max, peak_temperature, b_total_max, envelopes
        Constraints on the remainder (``b_total_max`` counts B fed since the start).

    Returns
    -------
    ReactorOptimum
        ``recipe`` covers ``[t_now, batch_time]`` (its ``batch_time`` is the remaining time);
        ``predicted`` holds the final yield/impurity of the whole batch.
    """
    missing = [n for n in DYNAMIC_STATES if n not in state]
    if missing:
        raise ConfigError(f"correct_recipe: state lacks {missing}; give {list(DYNAMIC_STATES)}")
    rest = recipe.batch_time - t_now
    guess = ReactorRecipe(batch_time=recipe.batch_time,
                          jacket_inlet=tuple(np.resize(recipe.profile("jacket_inlet", t_now + 1.0), stages)),
                          feed_rate=tuple(np.resize(recipe.profile("feed_rate", t_now + 1.0), stages)),
                          parameters=dict(recipe.parameters))
    opt = optimize_reactor(guess, t_start=t_now, initial_state=dict(state), nfe=nfe,
                           impurity_max=impurity_max, peak_temperature=peak_temperature,
                           b_total_max=b_total_max, envelopes=envelopes, feed_bounds=feed_bounds)
    opt.recipe = ReactorRecipe(batch_time=rest, jacket_inlet=opt.recipe.jacket_inlet,
                               feed_rate=opt.recipe.feed_rate, parameters=dict(recipe.parameters))
    return opt


def replay_correction(
    recipe: ReactorRecipe,
    t_now: float,
    *,
    dt: float = 60.0,
    rtol: float = 1e-7,
    **correct_kw: Any,
) -> dict[str, Any]:
    """Run a batch on the reactor FMU to ``t_now``, correct it there, and replay both branches.

    The FMU (``fmu_models.FmuModel``, co-simulation) runs ``recipe`` to ``t_now``; its
    states are read and handed to :func:`correct_recipe` (keywords ``correct_kw``), the FMU
    state is saved (``get_state``), the original recipe is continued to the end
    ("uncorrected" branch), the state is restored (``set_state``) and the corrected stages
    are replayed to the end ("corrected" branch).

    Returns
    -------
    dict
        ``correction`` (:class:`ReactorOptimum`), ``state`` (states at ``t_now``),
        ``predicted`` (Ipopt's final yield/impurity), ``corrected`` and ``uncorrected``
        (final ``yield``, ``impurity``, ``peak_temperature`` after ``t_now``, ``b_fed`` on the FMU).
    """
    from optimization._reactor import _FmuRun, resolve_backend

    if resolve_backend("fmu") != "fmu":  # raises with the build hint when the FMU is missing
        raise ConfigError("replay_correction needs the reactor FMU")
    if not 0 < t_now < recipe.batch_time:
        raise ConfigError(f"t_now must be inside the batch (0, {recipe.batch_time:g}) s, got {t_now:g}")
    run = _FmuRun(recipe, rtol)
    model = run.model
    grid = np.unique(np.concatenate([np.arange(dt, t_now, dt), [t_now],
                                     [b for b in recipe.breakpoints() if b < t_now]]))
    run.advance(grid)
    state = dict(zip(DYNAMIC_STATES, map(float, model.get(list(DYNAMIC_STATES))), strict=True))
    opt = correct_recipe(recipe, state, t_now, **correct_kw)
    snapshot = model.get_state()
    try:
        rest = np.arange(t_now + dt, recipe.batch_time, dt)

        def branch(profile) -> dict[str, float]:
            peak = float(model.get(["T"])[0])
            bps = [t_now + b for b in profile.breakpoints()] if profile is opt.recipe else recipe.breakpoints()
            grid = np.unique(np.concatenate([rest, [recipe.batch_time], [b for b in bps if t_now < b < recipe.batch_time]]))
            t_prev = t_now
            for t in grid:
                mid = 0.5 * (t_prev + t)
                tt = mid - t_now if profile is opt.recipe else mid
                u = {"F_B": float(profile.profile("feed_rate", tt)),
                     "T_cool_in": float(profile.profile("jacket_inlet", tt))}
                model.set(list(u), list(u.values()))
                model.step_to(float(t))
                peak = max(peak, float(model.get(["T"])[0]))
                t_prev = t
            y, imp, fed = model.get(["yield_C", "impurity_D", "n_B_fed"])
            return {"yield": float(y), "impurity": float(imp), "peak_temperature": peak, "b_fed": float(fed)}

        uncorrected = branch(recipe)
        model.set_state(snapshot)
        corrected = branch(opt.recipe)
    finally:
        model.free_state(snapshot)
    return {"correction": opt, "state": state, "predicted": dict(opt.predicted),
            "corrected": corrected, "uncorrected": uncorrected}
