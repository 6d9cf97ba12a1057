"""The :class:`~workbench.distributions.Distribution` type: a family, its parameters, an
optional truncation, and the frozen :mod:`scipy.stats` distribution behind it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.special as sc
from scipy import stats

from workbench._families import _DIMENSION, _X, FAMILIES, Family, _family
from workbench.units import convert


@dataclass(frozen=True)
class Distribution:
    """A frozen random distribution in the field's canonical unit.

    Build it with :func:`parse_distribution` (or a config field of
    :func:`distribution_type`); :meth:`to_spec` gives the canonical mapping back.

    Parameters
    ----------
    family
        Canonical family name (a key of :data:`FAMILIES`, or a scipy continuous name).
    params
        ``((name, value), ...)`` in the order of the parametrisation used; values in
        ``unit`` (tuples for ``empirical`` values/weights); a non-zero ``location`` last.
    truncate
        ``(low, high)`` with ``±inf`` for an open end, or None.
    unit
        Canonical unit of the field (``"s"``), None for plain numbers and counts.
    spec
        What the user wrote (kept for messages; not part of equality).
    """

    family: str
    params: tuple[tuple[str, Any], ...]
    truncate: tuple[float, float] | None = None
    unit: str | None = None
    spec: Any = field(default=None, compare=False, repr=False)

    # ------------------------------------------------------------------ structure
    @property
    def info(self) -> Family:
        """The family's row of the table."""
        return _family(self.family)

    @property
    def name(self) -> str:
        """scipy.stats name behind the family (``"lognorm"``; ``"constant"``, ``"empirical"``)."""
        return self.info.scipy

    @property
    def is_constant(self) -> bool:
        """True for a fixed value."""
        return self.family == "constant"

    @property
    def is_discrete(self) -> bool:
        """True for integer-valued families and ``empirical``."""
        return self.info.discrete

    @property
    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` as stored (canonical unit)."""
        return dict(self.params)

    @cached_property
    def scipy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the scipy distribution (before truncation)."""
        p = self.parameters
        shift = p.pop("location", 0.0)
        kw = self.info.to_scipy(p)
        if shift:
            kw["loc"] = kw.get("loc", 0.0) + shift
        return kw

    @cached_property
    def rv(self):
        """The frozen :mod:`scipy.stats` distribution (truncated if :attr:`truncate` is set)."""
        kw = self.scipy_kwargs
        if self.family == "constant":
            base = stats.rv_discrete(values=([kw["value"]], [1.0]))
        elif self.family == "empirical":
            values, weights = kw["values"], kw["weights"]
            xs, inverse = np.unique(values, return_inverse=True)
            base = stats.rv_discrete(values=(xs, np.bincount(inverse, weights=weights)))
        else:
            base = getattr(stats, self.name)(**kw)
        if self.truncate is None:
            return base
        low, high = self.truncate
        if self.name == "norm":
            mu, sd = kw.get("loc", 0.0), kw.get("scale", 1.0)
            return stats.truncnorm((low - mu) / sd, (high - mu) / sd, loc=mu, scale=sd)
        return _Truncated(base, low, high, self.is_discrete)

    @property
    def frozen(self):
        """The frozen scipy distribution, None for a constant (kept for older callers; use :attr:`rv`)."""
        return None if self.is_constant else self.rv

    # ------------------------------------------------------------------ statistics
    def mean(self) -> float:
        """Expected value."""
        if self.is_constant:
            return float(self.params[0][1])
        return float(self.rv.mean())

    def var(self) -> float:
        """Variance."""
        return 0.0 if self.is_constant else float(self.rv.var())

    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var())

    def cdf(self, x):
        """P(X ≤ x)."""
        return self.rv.cdf(x)

    def sf(self, x):
        """P(X > x) (reliability for a life distribution)."""
        return self.rv.sf(x)

    def ppf(self, q):
        """Quantile function (inverse CDF)."""
        return self.rv.ppf(q)

    def support(self) -> tuple[float, float]:
        """Smallest and largest possible value."""
        lo, hi = self.rv.support()
        return float(lo), float(hi)

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: np.random.Generator, size: Any = None):
        """Draw ``size`` values with ``rng`` (a float when ``size`` is None).

        Untruncated scipy families draw exactly what ``rv.rvs(size, random_state=rng)``
        draws (the common families with the same formulas, without scipy's per-call
        overhead); truncated ones invert the CDF on the interval from ``rng.random``.
        """
        if self.is_constant:
            v = float(self.params[0][1])
            return v if size is None else np.full(size, v)
        if self.truncate is not None:
            x = self.rv.ppf(rng.random(size))
            return float(x) if size is None else x
        fast = _FAST.get(self.name)
        if fast is None:
            return self.rv.rvs(size=size, random_state=rng)
        kw = dict(self.scipy_kwargs)
        loc, scale = kw.pop("loc", 0.0), kw.pop("scale", 1.0)
        return fast(rng, kw, size) * scale + loc

    # ------------------------------------------------------------------ writing
    def to_spec(self, unit: str | None = None, *, digits: int | None = None) -> dict[str, Any]:
        """The canonical mapping, which :func:`parse_distribution` reads back to an equal distribution.

        Parameters
        ----------
        unit
            Write parameters carrying the field's unit as quantity strings in this unit
            (``"12000 h"``); default: bare numbers in the canonical unit (exact round trip).
        digits
            Significant digits (default: the shortest exact representation).
        """
        out: dict[str, Any] = {"distribution": self.family}

        def fmt(key: str, v: float) -> Any:
            kind = _DIMENSION.get(key) if self.family in FAMILIES or key in ("loc", "scale", "location") else None
            if unit is not None and self.unit is not None and kind is not None:
                target, source = (unit, self.unit) if kind == _X else (f"1/({unit})", f"1/({self.unit})")
                v = convert(v, target, from_unit=source)
                suffix = unit if kind == _X else f"1/{unit}"
                return f"{v:.{digits}g} {suffix}" if digits else f"{v!r} {suffix}"
            return float(f"{v:.{digits}g}") if digits else float(v)

        for key, value in self.params:
            if isinstance(value, tuple):
                out[key] = [fmt(key, v) if key == "values" else float(v) for v in value]
            else:
                out[key] = fmt(key, value)
        if self.truncate is not None:
            out["truncate"] = [None if math.isinf(b) else fmt("location", b) for b in self.truncate]
        return out

    def as_json(self) -> dict[str, Any]:
        """Same as :meth:`to_spec` (older name)."""
        return self.to_spec()

    def describe(self, unit: str | None = None) -> str:
        """One line such as ``weibull(shape=1.8, scale=12000 h)``."""
        spec = self.to_spec(unit, digits=6)
        spec.pop("distribution")

        def text(v):
            if isinstance(v, list):
                return "[" + ", ".join("null" if x is None else text(x) for x in v) + "]"
            return f"{v:g}" if isinstance(v, float) else str(v)

        return f"{self.family}({', '.join(f'{k}={text(v)}' for k, v in spec.items())})"

    def __str__(self) -> str:
        return self.describe()


def _weibull(rng, kw, size):
    return pow(-sc.log1p(-rng.uniform(size=size)), 1.0 / kw["c"])


#: scipy name → the draw scipy's ``_rvs`` makes (same generator calls, same numbers)
_FAST: dict[str, Callable[[np.random.Generator, dict[str, float], Any], Any]] = {
    "expon": lambda rng, kw, size: rng.standard_exponential(size),
    "norm": lambda rng, kw, size: rng.standard_normal(size),
    "lognorm": lambda rng, kw, size: np.exp(kw["s"] * rng.standard_normal(size)),
    "gamma": lambda rng, kw, size: rng.standard_gamma(kw["a"], size),
    "weibull_min": _weibull,
}


class _Truncated:
    """A scipy frozen distribution restricted to ``[low, high]`` (same method names)."""

    def __init__(self, base, low: float, high: float, discrete: bool):
        self.base, self.low, self.high, self.discrete = base, low, high, discrete
        # integer counts (geometric, poisson) live on a lattice; an empirical distribution
        # (scipy's rv_sample, with its points in ``xk``) on arbitrary values
        self.lattice = discrete and not hasattr(base, "xk")
        # F just below ``low``, so that P(low <= X <= high) = F(high) - F(low-) keeps mass at low
        below = (math.ceil(low) - 1 if self.lattice else math.nextafter(low, -math.inf)) \
            if discrete and math.isfinite(low) else low
        self._fa = float(base.cdf(below)) if math.isfinite(low) else 0.0
        self._fb = float(base.cdf(high)) if math.isfinite(high) else 1.0
        self._z = self._fb - self._fa
        if not self._z > 0:
            raise ValueError(f"truncate [{low:g}, {high:g}] leaves no probability")

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = (self.base.cdf(np.clip(x, self.low, self.high)) - self._fa) / self._z
        return np.where(x < self.low, 0.0, np.clip(out, 0.0, 1.0))

    def sf(self, x):
        return 1.0 - self.cdf(x)

    def ppf(self, q):
        return np.clip(self.base.ppf(self._fa + np.asarray(q, dtype=float) * self._z), self.low, self.high)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        f = self.base.pmf(x) if self.discrete else self.base.pdf(x)
        return np.where((x >= self.low) & (x <= self.high), f / self._z, 0.0)

    pmf = pdf

    def _expect(self, g) -> float:
        lo, hi = self.support()
        if self.discrete and not self.lattice:  # a finite set of points: the sum itself
            # (scipy's rv_sample.expect ignores ``conditional``)
            x, pk = self.base.xk, self.base.pk
            keep = (x >= lo) & (x <= hi)
            return float(np.sum(g(x[keep]) * pk[keep]) / np.sum(pk[keep]))
        return float(self.base.expect(g, lb=lo, ub=hi, conditional=True))

    def mean(self) -> float:
        return self._expect(lambda x: x)

    def var(self) -> float:
        m = self.mean()
        return self._expect(lambda x: (x - m) ** 2)

    def std(self) -> float:
        return math.sqrt(self.var())

    def median(self) -> float:
        return float(self.ppf(0.5))

    def support(self) -> tuple[float, float]:
        lo, hi = self.base.support()
        lo, hi = max(lo, self.low), min(hi, self.high)
        if self.lattice:
            lo = math.ceil(lo) if math.isfinite(lo) else lo
            hi = math.floor(hi) if math.isfinite(hi) else hi
        return lo, hi

    def rvs(self, size=None, random_state=None):
        return self.ppf(np.random.default_rng(random_state).random(size))
