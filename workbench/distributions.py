"""Random distributions in configs: one type, one family table, one parser.

A :class:`Distribution` is a family from :data:`FAMILIES`, its parameters in one of
the family's named parametrisations (in the field's canonical unit, seconds for
durations), an optional truncation, and a frozen :mod:`scipy.stats` distribution
behind it for ``mean``/``var``/``cdf``/``ppf`` and sampling with an explicit
:class:`numpy.random.Generator`.

Canonical form (what :meth:`Distribution.to_spec` writes and the docs show)::

    {distribution: lognormal, mean: 30 min, cv: 0.6}
    {distribution: weibull, shape: 1.8, scale: 12000 h, location: 500 h}
    {distribution: normal, mean: 10 min, sd: 2 min, truncate: [0 s, null]}
    {distribution: geometric, mean: 500}                 # counts, e.g. cycles to failure

Also accepted (older syntaxes): the call form ``"lognormal(mean=30 min, cv=0.6)"``,
``dist:`` instead of ``distribution:``, scipy names and their native parameters
(``{dist: weibull_min, c: 1.5, scale: 40 h}``), ``std`` for ``sd``, ``loc`` for
``location``, and a bare value or quantity (``"30 min"``) for a constant.

=============  =========================================================  ===================
family         parametrisations (any one; to_spec keeps the one given)   scipy.stats
=============  =========================================================  ===================
exponential    {mean} | {rate} | {scale}                                  ``expon``
normal         {mean, sd} | {loc, scale}                                  ``norm``
lognormal      {mean, cv} | {median, sigma} | {mu, sigma} | {s, scale}    ``lognorm``
gamma          {shape, scale} | {mean, cv} | {a, scale} | {shape, rate}   ``gamma``
erlang         {mean, k}                                                  ``gamma(a=k)``
weibull        {shape, scale} | {c, scale}                                ``weibull_min``
triangular     {min, mode, max} | {c, loc, scale}                         ``triang``
uniform        {min, max} | {loc, scale}                                  ``uniform``
constant       {value}                                                    (degenerate)
geometric      {p} | {mean}           counts 1, 2, …                      ``geom``
poisson        {mean} | {mu}          counts 0, 1, …                      ``poisson``
empirical      {values} | {values, weights}                               ``rv_discrete``
=============  =========================================================  ===================

exponential, lognormal, gamma, erlang and weibull take an optional ``location``
(a shift; the other parameters describe ``T − location``). Any other
:mod:`scipy.stats` continuous distribution is accepted by its scipy name with its
native parameters (shape parameters, ``loc``, ``scale``). ``mu`` of the lognormal is
the mean of ``ln T`` with ``T`` in the field's canonical unit.

``truncate: [low, high]`` (either end may be ``null``) restricts any distribution to
an interval: the CDF is renormalised, ``ppf``/sampling invert it on the interval
(``F⁻¹(F(a) + u·(F(b) − F(a)))``; the normal uses :data:`scipy.stats.truncnorm`).

geometric and poisson describe counts; they are valid wherever a count is drawn
(``cycles:`` of a line failure mode) and for plain numbers, not for durations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import numpy as np
import scipy.special as sc
from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError
from scipy import stats

from workbench._families import (
    _DIMENSION,
    _INV,
    _KEY_ALIASES,
    _SCIPY_CONTINUOUS,
    _SHIFT_KEYS,
    _X,
    FAMILIES,
    Family,
    _family,
    family,
)
from workbench.errors import ConfigError, UnitError, did_you_mean
from workbench.units import convert

__all__ = [
    "Distribution",
    "Family",
    "FAMILIES",
    "family",
    "parse_distribution",
    "distribution_type",
]

# ---------------------------------------------------------------------- the type
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


# ---------------------------------------------------------------------- parsing
_CALL_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<args>.*)\)\s*$", re.S)


def _number(value: Any, unit: str | None, *, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what}={value!r} is not a number")
    if isinstance(value, int | float | np.floating | np.integer):
        return float(value)
    if unit is None:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{what}={value!r} is not a number") from None
    try:
        return convert(value, unit)
    except UnitError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _labelled(label: str, value: Any, unit: str | None, key: str) -> float:
    try:
        return _number(value, unit, what=key)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


def _unit_of(key: str, unit: str | None, fam: Family) -> str | None:
    if unit is None:
        return None
    kind = _DIMENSION.get(key)
    if fam.name not in FAMILIES and key not in ("loc", "scale", "location"):
        kind = None  # native shapes of other scipy families are dimensionless
    return unit if kind == _X else f"1/({unit})" if kind == _INV else None


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_value(v) for v in _split(inner)] if inner else []
    text = text.strip("\"'")
    return None if text.lower() in ("null", "none", "~", "") else text


def _call_args(args: str) -> tuple[list[Any], dict[str, Any]]:
    pos: list[Any] = []
    kw: dict[str, Any] = {}
    if not args.strip():
        return pos, kw
    for part in _split(args):
        part = part.strip()
        if not part:
            raise ValueError("empty argument")
        key, eq, value = part.partition("=")
        if eq and re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", key):
            kw[key.strip()] = _value(value)
        else:
            if kw:
                raise ValueError("positional argument after keyword arguments")
            pos.append(_value(part))
    return pos, kw


def parse_distribution(spec: Any, unit: str | None = None) -> Distribution:
    """Parse a distribution written in a config (every accepted syntax).

    Parameters
    ----------
    spec
        ``{distribution: weibull, shape: 1.8, scale: 12000 h}`` (canonical),
        ``"exponential(mean=45 min)"``, ``{dist: weibull_min, c: 1.5, scale: 40 h}``,
        a bare number or quantity (a constant), or a :class:`Distribution`.
    unit
        Canonical unit of the field (``"s"`` for durations); None for plain numbers and counts.

    Returns
    -------
    Distribution

    Raises
    ------
    ConfigError
        Unknown family (with did-you-mean), unknown/missing parameters (naming the
        valid parametrisations), bad values, or parameters scipy rejects.
    """
    try:
        return _parse(spec, unit)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _parse(spec: Any, unit: str | None) -> Distribution:
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return _build("constant", {"value": spec}, unit, spec)
    if isinstance(spec, str):
        m = _CALL_RE.match(spec)
        if m is None:  # a plain quantity: constant
            try:
                value = _number(spec, unit, what="value")
            except ValueError:
                raise ValueError(
                    f'"{spec}" is neither a value nor a distribution; '
                    'use e.g. "30 min" or "exponential(mean=45 min)"'
                ) from None
            return _build("constant", {"value": value}, unit, spec)
        name = m.group("name")
        try:
            pos, params = _call_args(m.group("args"))
        except ValueError as exc:
            raise ValueError(f'"{spec}": {exc}; write name(param=value, ...)') from None
        if pos:
            if name in ("constant", "deterministic") and len(pos) == 1 and not params:
                params["value"] = pos[0]
            else:
                raise ValueError(f'"{spec}": give parameters by name, e.g. exponential(mean=45 min)')
        return _build(name, params, unit, spec)
    if isinstance(spec, dict):
        params = dict(spec)
        names = [k for k in ("distribution", "dist") if k in params]
        if len(names) != 1 or not isinstance(params[names[0]], str):
            raise ValueError(
                "a distribution mapping needs one 'distribution: <family>', "
                "e.g. {distribution: weibull, shape: 1.5, scale: 40 h}"
                + (f" (got {', '.join(names)})" if len(names) > 1 else "")
            )
        return _build(params.pop(names[0]), params, unit, spec)
    raise ValueError(f"{spec!r} is not a distribution; use e.g. \"exponential(mean=45 min)\"")


def _build(name: str, params: dict[str, Any], unit: str | None, spec: Any) -> Distribution:
    label = f'"{spec}"' if isinstance(spec, str) else f"distribution {name}"
    try:
        fam = _family(name)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    what = f"scipy.stats.{name}" if name in _SCIPY_CONTINUOUS and name not in FAMILIES else f"the {fam.name} distribution"
    if fam.counts_only and unit is not None:
        raise ValueError(
            f"{label}: {fam.name} draws counts; it is valid for counts (e.g. cycles) and plain numbers, "
            f"not for a quantity in {unit}; use a continuous family or empirical"
        )
    params = {_KEY_ALIASES.get(k, k): v for k, v in params.items()}
    truncate = params.pop("truncate", None)
    shift = None
    if fam.shift:
        given = [k for k in _SHIFT_KEYS if k in params]
        if len(given) > 1:
            raise ValueError(f"{label}: give location or loc, not both")
        if given:
            shift = params.pop(given[0])
    keys = set(params)
    valid = fam.keys
    for key in params:
        if key not in valid:
            raise ValueError(
                f"{label}: '{key}' is not a parameter of {what}; {did_you_mean(key, valid)} "
                f"({fam.name} takes {fam.describe()})"
            )
    match = next((p for p in fam.parametrisations if set(p) == keys), None)
    if match is None:
        options = [p for p in fam.parametrisations if keys <= set(p)]
        if options:
            best = min(options, key=len)
            missing = [k for k in best if k not in keys]
            raise ValueError(
                f"{label}: {fam.name} needs {{{', '.join(best)}}}; missing {', '.join(missing)} "
                f"({fam.name} takes {fam.describe()})"
            )
        raise ValueError(
            f"{label}: {', '.join(sorted(keys))} do not form one parametrisation of {fam.name}; "
            f"use {fam.describe()}"
        )
    values: dict[str, Any] = {}
    for key in match:
        raw = params[key]
        u = _unit_of(key, unit, fam)
        if key in ("values", "weights"):
            if not isinstance(raw, list | tuple):
                raise ValueError(f"{label}: {key} must be a list, e.g. [1, 2, 5]")
            values[key] = tuple(_labelled(label, v, u, key) for v in raw)
        else:
            values[key] = _labelled(label, raw, u, key)
            if key in fam.positive and not values[key] > 0:
                raise ValueError(f"{label}: {key} must be > 0, got {values[key]:g}")
    stored = list(values.items())
    if shift is not None:
        loc = _labelled(label, shift, _unit_of("location", unit, fam), "location")
        if loc != 0:
            stored.append(("location", loc))
    bounds = None
    if truncate is not None:
        bounds = _bounds(truncate, unit, label, fam)
    dist = Distribution(fam.name, tuple(stored), bounds, unit, spec)
    try:
        kw = dist.scipy_kwargs
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    except (KeyError, TypeError, ZeroDivisionError, OverflowError) as exc:
        raise ValueError(f"{label}: parameters {dict(values)} are not valid ({exc})") from None
    if fam.scipy not in ("constant", "empirical"):
        _check_scipy(fam.scipy, kw, label)
    if bounds is not None:
        try:
            dist.rv  # noqa: B018 - raises when the interval has no probability
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
    flat = [v for _, x in stored for v in (x if isinstance(x, tuple) else (x,))]
    if not all(math.isfinite(v) for v in flat):
        raise ValueError(f"{label}: parameters must be finite")
    return dist


def _bounds(truncate: Any, unit: str | None, label: str, fam: Family) -> tuple[float, float]:
    if isinstance(truncate, str):
        truncate = _value(truncate)
    if not isinstance(truncate, list | tuple) or len(truncate) != 2:
        raise ValueError(f"{label}: truncate must be [low, high] (null for an open end), got {truncate!r}")
    if fam.name == "constant":
        raise ValueError(f"{label}: a constant cannot be truncated")
    u = unit
    low = -math.inf if truncate[0] is None else _labelled(label, truncate[0], u, "truncate low")
    high = math.inf if truncate[1] is None else _labelled(label, truncate[1], u, "truncate high")
    if not low < high:
        raise ValueError(f"{label}: truncate [low, high] needs low < high, got [{low:g}, {high:g}]")
    return low, high


def _check_scipy(name: str, kw: dict[str, float], label: str) -> None:
    try:
        frozen = getattr(stats, name)(**kw)
        shapes, _loc, scale = frozen.dist._parse_args(**kw)
        ok = bool(np.all(frozen.dist._argcheck(*shapes))) and scale > 0
        mean = float(frozen.mean()) if ok else math.nan
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label}: scipy.stats.{name} rejects these parameters ({exc})") from None
    if not ok or not math.isfinite(mean):
        raise ValueError(
            f"{label}: parameters {dict(kw)} are not valid for scipy.stats.{name} "
            "(check shape > 0, scale > 0, and that the mean is finite)"
        )


# ---------------------------------------------------------------------- pydantic fields
def _field(unit: str | None, lower: float | None):
    def _validate(value: Any) -> Distribution:
        try:
            d = _parse(value, unit)
        except ValueError as exc:
            raise PydanticCustomError("distribution", str(exc)) from None
        if lower is not None and d.support()[1] < lower:
            what = "a duration" if unit == "s" else "it"
            raise PydanticCustomError("distribution", f"{d} has no values >= {lower:g}; {what} must be >= {lower:g}")
        return d

    return _validate


def distribution_type(unit: str | None = None, *, lower: float | None = None):
    """An annotated pydantic field type holding a :class:`Distribution`.

    Parameters
    ----------
    unit
        Canonical unit of the values (``"s"`` for durations), None for numbers and counts.
    lower
        Reject distributions with no value >= ``lower`` (e.g. 0 for durations).

    Returns
    -------
    typing.Annotated
        Validates every accepted syntax; serialises to :meth:`Distribution.to_spec`.
    """
    return Annotated[
        Distribution,
        BeforeValidator(_field(unit, lower)),
        PlainSerializer(lambda d: d.to_spec(), return_type=dict),
    ]
