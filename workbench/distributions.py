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
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError
from scipy import stats

from workbench._distribution import Distribution
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
