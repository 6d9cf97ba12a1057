"""The family table of :mod:`workbench.distributions`: each family's named parametrisations
and their mapping onto :mod:`scipy.stats` (formulas cited beside each conversion)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from workbench.errors import ConfigError, did_you_mean

_X = "x"  # carries the field's unit
_INV = "1/x"  # carries the inverse of the field's unit

#: unit kind of each named parameter (missing: dimensionless)
_DIMENSION = {
    "mean": _X, "sd": _X, "median": _X, "scale": _X, "location": _X, "loc": _X,
    "min": _X, "max": _X, "mode": _X, "value": _X, "values": _X, "rate": _INV,
}
_KEY_ALIASES = {"std": "sd"}
_SHIFT_KEYS = ("location", "loc")


@dataclass(frozen=True)
class Family:
    """One row of the family table.

    Attributes
    ----------
    name
        Canonical name (``"lognormal"``).
    scipy
        :mod:`scipy.stats` distribution behind it (``"constant"``/``"empirical"``: ours).
    parametrisations
        Accepted parameter sets; the first is canonical.
    to_scipy
        Maps ``{parameter: value}`` of any parametrisation to scipy keyword arguments.
    aliases
        Other accepted names (old syntaxes, scipy names).
    shift
        Accepts an optional ``location``.
    positive
        Parameters that must be > 0 (checked before scipy's own checks).
    discrete
        Integer-valued (or a finite set of values, for ``empirical``).
    counts_only
        Only for counts and plain numbers (geometric, poisson), not for durations.
    """

    name: str
    scipy: str
    parametrisations: tuple[tuple[str, ...], ...]
    to_scipy: Callable[[dict[str, Any]], dict[str, Any]]
    aliases: tuple[str, ...] = ()
    shift: bool = False
    positive: frozenset[str] = frozenset()
    discrete: bool = False
    counts_only: bool = False

    @property
    def keys(self) -> list[str]:
        """Every parameter name of every parametrisation."""
        out = [k for p in self.parametrisations for k in p]
        return list(dict.fromkeys([*out, *(("location",) if self.shift else ())]))

    def describe(self) -> str:
        """``{mean, cv} | {median, sigma}`` (+ optional location)."""
        text = " | ".join("{" + ", ".join(p) + "}" for p in self.parametrisations)
        return text + (" (optional location)" if self.shift else "")


def _lognormal(p):
    # ln T ~ N(mu, s²): E[T] = exp(mu + s²/2), CV² = exp(s²) − 1, median = exp(mu)
    # (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions vol. 1, 2nd ed. 1994, eq. 14.8–14.9);
    # scipy's lognorm(s, scale) has scale = exp(mu).
    if "cv" in p:
        s2 = math.log1p(p["cv"] ** 2)
        return {"s": math.sqrt(s2), "scale": p["mean"] / math.sqrt(1 + p["cv"] ** 2)}
    if "median" in p:
        return {"s": p["sigma"], "scale": p["median"]}
    if "mu" in p:
        return {"s": p["sigma"], "scale": math.exp(p["mu"])}
    return {"s": p["s"], "scale": p["scale"]}


def _gamma(p):
    # shape a, scale θ: mean = aθ, CV = 1/√a (Johnson, Kotz & Balakrishnan vol. 1, eq. 17.8)
    if "cv" in p:
        return {"a": 1 / p["cv"] ** 2, "scale": p["mean"] * p["cv"] ** 2}
    if "rate" in p:
        return {"a": p["shape"], "scale": 1 / p["rate"]}
    return {"a": p.get("shape", p.get("a")), "scale": p["scale"]}


def _triangular(p):
    # scipy's triang: support [loc, loc + scale], mode at loc + c·scale
    if "mode" not in p:
        return dict(p)
    lo, mode, hi = p["min"], p["mode"], p["max"]
    if not lo <= mode <= hi or not hi > lo:
        raise ValueError(f"min <= mode <= max and min < max must hold, got ({lo:g}, {mode:g}, {hi:g})")
    return {"c": (mode - lo) / (hi - lo), "loc": lo, "scale": hi - lo}


def _uniform(p):
    if "min" not in p:
        return dict(p)
    if not p["max"] > p["min"]:
        raise ValueError(f"min < max must hold, got (min={p['min']:g}, max={p['max']:g})")
    return {"loc": p["min"], "scale": p["max"] - p["min"]}


def _geometric(p):
    # trials to the first success, support 1, 2, …: mean = 1/p (scipy.stats.geom)
    if "mean" in p:
        if not p["mean"] >= 1:
            raise ValueError(f"the mean of a geometric count (1, 2, …) must be >= 1, got {p['mean']:g}")
        return {"p": 1 / p["mean"]}
    if not 0 < p["p"] <= 1:
        raise ValueError(f"p must be in (0, 1], got {p['p']:g}")
    return {"p": p["p"]}


def _empirical(p):
    values = np.asarray(p["values"], dtype=float)
    weights = np.asarray(p.get("weights", np.ones(len(values))), dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError("values must be a non-empty list of numbers")
    if len(weights) != len(values):
        raise ValueError(f"weights must have one entry per value ({len(values)}), got {len(weights)}")
    if np.any(weights < 0) or not weights.sum() > 0 or not np.all(np.isfinite(weights)):
        raise ValueError("weights must be >= 0, finite, and not all 0")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite")
    return {"values": values, "weights": weights / weights.sum()}


_TABLE = [
    Family("exponential", "expon", (("mean",), ("rate",), ("scale",)),
           lambda p: {"scale": p["mean"] if "mean" in p else 1 / p["rate"] if "rate" in p else p["scale"]},
           aliases=("expon",), shift=True, positive=frozenset({"mean", "rate"})),
    Family("normal", "norm", (("mean", "sd"), ("loc", "scale")),
           lambda p: {"loc": p["mean"], "scale": p["sd"]} if "sd" in p else dict(p),
           aliases=("norm",), positive=frozenset({"sd"})),
    Family("lognormal", "lognorm", (("mean", "cv"), ("median", "sigma"), ("mu", "sigma"), ("s", "scale")),
           _lognormal, aliases=("lognorm",), shift=True,
           positive=frozenset({"mean", "cv", "median", "sigma"})),
    Family("gamma", "gamma", (("shape", "scale"), ("mean", "cv"), ("a", "scale"), ("shape", "rate")),
           _gamma, aliases=("gamma_mean",), shift=True, positive=frozenset({"shape", "mean", "cv", "rate"})),
    Family("erlang", "gamma", (("mean", "k"),), lambda p: {"a": p["k"], "scale": p["mean"] / p["k"]},
           shift=True, positive=frozenset({"mean", "k"})),
    Family("weibull", "weibull_min", (("shape", "scale"), ("c", "scale")),
           lambda p: {"c": p.get("shape", p.get("c")), "scale": p["scale"]},
           aliases=("weibull_min", "weibull2", "weibull3"), shift=True, positive=frozenset({"shape"})),
    Family("triangular", "triang", (("min", "mode", "max"), ("c", "loc", "scale")), _triangular,
           aliases=("triang",)),
    Family("uniform", "uniform", (("min", "max"), ("loc", "scale")), _uniform),
    Family("constant", "constant", (("value",),), dict, aliases=("deterministic",)),
    Family("geometric", "geom", (("p",), ("mean",)), _geometric, aliases=("geom",), discrete=True,
           counts_only=True),
    Family("poisson", "poisson", (("mean",), ("mu",)), lambda p: {"mu": p.get("mean", p.get("mu"))},
           discrete=True, counts_only=True),
    Family("empirical", "empirical", (("values",), ("values", "weights")), _empirical, discrete=True),
]

#: canonical name → :class:`Family`
FAMILIES: dict[str, Family] = {f.name: f for f in _TABLE}
_BY_NAME: dict[str, Family] = {**{a: f for f in _TABLE for a in f.aliases}, **FAMILIES}
_SCIPY_CONTINUOUS = frozenset(
    n for n in dir(stats) if isinstance(getattr(stats, n, None), stats.rv_continuous)
)


def _generic(name: str) -> Family:
    """A family for any other scipy.stats continuous distribution (native parameters)."""
    shapes = tuple(s.strip() for s in (getattr(stats, name).shapes or "").split(",") if s.strip())
    return Family(name, name, (shapes, (*shapes, "scale")), dict, shift=True)


def family(name: str) -> Family:
    """The family called ``name`` (canonical name, alias or scipy continuous name).

    Raises
    ------
    ConfigError
        Unknown name, with a did-you-mean.
    """
    try:
        return _family(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _family(name: str) -> Family:
    key = name.strip()
    if key.lower() in _BY_NAME:
        return _BY_NAME[key.lower()]
    if key in _SCIPY_CONTINUOUS:
        return _generic(key)
    raise ValueError(
        f"'{name}' is not a known distribution; {did_you_mean(key, [*_BY_NAME, *_SCIPY_CONTINUOUS])} "
        f"(families: {', '.join(FAMILIES)}, or any scipy.stats continuous name)"
    )
