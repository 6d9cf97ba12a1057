"""Checks that life data determine a distribution's parameters, and that a fit did not degenerate.

A maximum-likelihood fit needs a likelihood with a finite maximum. It has none when
the data hold fewer distinct failure times than the distribution has parameters:
with every failure at the same time ``t₀`` the density of a location–scale model
grows without bound as its scale goes to 0 (normal ``σ → 0``, lognormal ``σ → 0``,
Weibull shape ``β → ∞``): the density approximation to the likelihood of exact
observations can be unbounded (Meeker & Escobar 1998, *Statistical Methods for
Reliability Data*, ch. 7 on the likelihood of censored data; Cheng & Iles 1987,
"Corrected maximum likelihood in non-regular problems", *J. R. Stat. Soc. B* 49). An optimiser then stops anywhere on the way to that
limit (a shape of 3e15, a σ of 5e-324) and reports success; :func:`check_fit`
catches such a fit before anyone writes it as a model.
"""

from __future__ import annotations

import numpy as np

from workbench.errors import DataError, SolverError

__all__ = ["N_PARAMETERS", "check_identifiable", "check_fit"]

#: Free parameters of each fittable distribution.
N_PARAMETERS = {
    "weibull": 2,
    "weibull3": 3,
    "lognormal": 2,
    "exponential": 1,
    "gamma": 2,
    "normal": 2,
}

# Parameter values beyond these are "run to the bound". A Weibull shape above 1000 (a coefficient of
# variation ≈ 1.28/β below 0.13 %) is where the optimiser's runaway shapes start and the model is
# numerically a step; the other families accept tight but real data (machine cycle times, say) down
# to a coefficient of variation of 1e-6 (gamma CV = 1/√k, lognormal CV ≈ σ, normal CV = σ/μ), below
# which the fit is a spike at the data, not a distribution.
_MIN_CV = 1e-6
_MAX_SHAPE = {"weibull": 1e3, "weibull3": 1e3, "gamma": 1 / _MIN_CV**2}
_MIN_SHAPE = 1e-3
_SCALE_RANGE = 1e6  # scale-like parameters within [t_min / 1e6, t_max * 1e6] of the data's times


def _distinct_failures(data) -> int:
    exact = set(np.unique(data.failures).tolist())
    left = {("left", x) for x in np.unique(data.left).tolist()}
    inter = (
        {tuple(r) for r in np.unique(data.interval, axis=0).tolist()}
        if len(data.interval)
        else set()
    )
    return len(exact) + len(left) + len(inter)


def check_identifiable(distribution: str, data) -> None:
    """Raise :class:`DataError` when ``data`` hold fewer distinct failure times than ``distribution`` has parameters."""
    k = N_PARAMETERS[distribution]
    distinct = _distinct_failures(data)
    if distinct >= k:
        return
    unit = data.unit
    if data.n_failed > 1 and distinct == 1 and len(data.failures) == data.n_failed:
        what = f"all {data.n_failed} failure times are equal ({data.failures[0]:g} {unit})"
    else:
        what = f"the data hold {data.n_failed} failure(s) at {distinct} distinct time(s)"
    raise DataError(
        f"a {distribution} fit has {k} parameters but {what}: the likelihood has no finite "
        f"maximum (its spread would go to 0). Give at least {k} distinct failure times"
        + (", or fit -d exponential (1 parameter)" if k > 1 else "")
    )


def check_fit(distribution: str, params: dict[str, float], data, hessian: np.ndarray) -> None:
    """Raise when a fit ran to a parameter bound (:class:`DataError`) or is no proper maximum (:class:`SolverError`)."""
    times = np.concatenate([data.failures, data.right, data.left, data.interval.ravel()])
    times = times[np.isfinite(times) & (times > 0)]
    t_lo, t_hi = (float(times.min()), float(times.max())) if len(times) else (1.0, 1.0)
    unit = data.unit

    def bad(name: str, value: float, rule: str) -> DataError:
        return DataError(
            f"the {distribution} fit ran to a bound: {name} = {value:.4g} ({rule}); the data (failure times "
            f"{t_lo:g}..{t_hi:g} {unit}, {data.n_failed} failures, {len(data.right)} suspensions) do not "
            f"determine this distribution — check the status codes (are failures coded as suspensions?) "
            f"or fit another distribution"
        )

    shape = params.get("shape")
    if distribution in ("weibull", "weibull3", "gamma") and shape is not None:
        if not _MIN_SHAPE <= shape <= _MAX_SHAPE[distribution]:
            raise bad(
                "shape",
                shape,
                f"a plausible shape is within {_MIN_SHAPE:g}..{_MAX_SHAPE[distribution]:g}",
            )
    for name in ("scale", "median", "mean"):
        v = params.get(name)
        if v is None or (distribution == "normal" and name == "mean"):
            continue
        if distribution == "gamma" and name == "scale":
            v, name = v * params["shape"], "mean (shape × scale)"
        if not t_lo / _SCALE_RANGE <= v <= t_hi * _SCALE_RANGE:
            raise bad(name, v, f"beyond {_SCALE_RANGE:g}× the data's time range")
    if distribution == "lognormal" and not _MIN_CV <= params["sigma"] <= 1e2:
        raise bad(
            "sigma", params["sigma"], f"a plausible lognormal sigma is within {_MIN_CV:g}..100"
        )
    if distribution == "normal":
        std, mean = params["std"], params["mean"]
        ref = max(abs(mean), t_hi)
        if not std >= _MIN_CV * ref or std > _SCALE_RANGE * ref or abs(mean) > _SCALE_RANGE * t_hi:
            raise bad(
                "std",
                std,
                f"a plausible std is within {_MIN_CV:g}..{_SCALE_RANGE:g}× the mean or largest time",
            )
    if not np.all(np.isfinite(hessian)) or np.any(
        np.linalg.eigvalsh((hessian + hessian.T) / 2) <= 0
    ):
        raise SolverError(
            f"the {distribution} fit stopped where the likelihood has no proper maximum (its curvature is not "
            f"negative definite); the data may not determine this distribution's parameters"
        )
