"""Random distributions in configs: ``"exponential(mean=45 min)"`` or ``{dist: weibull_min, c: 1.5, scale: "40 h"}``.

A :class:`Distribution` names a :mod:`scipy.stats` continuous distribution and its
parameters; engineering aliases map onto scipy's own parametrisation:

=================================  ===============================================
written                            scipy.stats
=================================  ===============================================
``exponential(mean=m)``            ``expon(scale=m)``
``normal(mean=m, sd=s)``           ``norm(loc=m, scale=s)``
``lognormal(mean=m, cv=v)``        ``lognorm(s=sqrt(ln(1+v²)), scale=m/sqrt(1+v²))``
``gamma(mean=m, cv=v)``            ``gamma(a=1/v², scale=m·v²)``
``erlang(mean=m, k=k)``            ``gamma(a=k, scale=m/k)``
``triangular(min=a, mode=c, max=b)``  ``triang(c=(c-a)/(b-a), loc=a, scale=b-a)``
``uniform(min=a, max=b)``          ``uniform(loc=a, scale=b-a)``
``weibull(shape=k, scale=η)``      ``weibull_min(c=k, scale=η)``
``constant(value)`` or ``"30 min"``  a fixed value
=================================  ===============================================

Any other name of a scipy.stats continuous distribution is accepted with its native
parameters (shape parameters, ``loc``, ``scale``). Location/scale-like parameters may
be quantities (``"40 h"``) when the field has a unit (durations are stored in seconds).
Sampling uses one :class:`numpy.random.Generator` per random process (common random
numbers) and draws in blocks for speed (:class:`Stream`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError
from scipy import stats

from workbench.errors import ConfigError, UnitError, did_you_mean
from workbench.units import convert

__all__ = ["Distribution", "Stream", "parse_distribution", "DurationDist", "ValueDist", "CountDist"]

#: parameters that carry the field's unit (the others are dimensionless shapes)
_DIMENSIONAL = {"loc", "scale", "mean", "sd", "std", "min", "max", "mode", "value", "median"}

_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    # alias: (scipy name, accepted parameters)
    "exponential": ("expon", ("mean",)),
    "normal": ("norm", ("mean", "sd")),
    "lognormal": ("lognorm", ("mean", "cv")),
    "gamma_mean": ("gamma", ("mean", "cv")),
    "erlang": ("gamma", ("mean", "k")),
    "triangular": ("triang", ("min", "mode", "max")),
    "uniform": ("uniform", ("min", "max")),
    "weibull": ("weibull_min", ("shape", "scale")),
    "constant": ("constant", ("value",)),
    "deterministic": ("constant", ("value",)),
}

_CALL_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<args>.*)\)\s*$", re.S)


def _scipy_names() -> list[str]:
    return sorted(
        n for n in dir(stats) if isinstance(getattr(stats, n, None), stats.rv_continuous)
    )


_SCIPY = frozenset(_scipy_names())


@dataclass(frozen=True)
class Distribution:
    """A frozen random distribution in the field's canonical unit.

    Parameters
    ----------
    name
        scipy.stats name (``"expon"``, ``"weibull_min"``) or ``"constant"``.
    params
        scipy keyword parameters (already converted to the canonical unit).
    spec
        The text/mapping the user wrote (kept for messages and hashing).
    """

    name: str
    params: tuple[tuple[str, float], ...]
    spec: Any = field(default=None, compare=False)

    @cached_property
    def frozen(self):
        """The frozen scipy.stats distribution (None for constants)."""
        if self.name == "constant":
            return None
        return getattr(stats, self.name)(**dict(self.params))

    @property
    def is_constant(self) -> bool:
        """True for a fixed value."""
        return self.name == "constant"

    def mean(self) -> float:
        """Expected value."""
        if self.is_constant:
            return dict(self.params)["value"]
        return float(self.frozen.mean())

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """Draw ``size`` values (a float when ``size`` is None)."""
        if self.is_constant:
            v = dict(self.params)["value"]
            return v if size is None else np.full(size, v)
        return self.frozen.rvs(size=size, random_state=rng)

    def as_json(self) -> dict[str, Any]:
        """Plain mapping ``{dist: name, **params}`` (for hashing and YAML round trips)."""
        return {"dist": self.name, **dict(self.params)}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params)
        return f"{self.name}({args})"


class Stream:
    """One random process: a distribution, its own generator and a block of pre-drawn values.

    Drawing single values from scipy.stats costs tens of microseconds; a stream draws
    ``block`` values at once and hands them out one by one, which keeps the event
    loop, not the sampling, the cost of a simulation.
    """

    __slots__ = ("dist", "rng", "_buf", "_i", "_block", "_lower", "_const")

    def __init__(self, dist: Distribution, rng: np.random.Generator, *, block: int = 256,
                 lower: float | None = 0.0):
        self.dist = dist
        self.rng = rng
        self._block = block
        self._lower = lower
        self._const = dict(dist.params)["value"] if dist.is_constant else None
        self._buf: list[float] = []
        self._i = 0

    def draw(self) -> float:
        """Next value (negative durations are clipped at ``lower``)."""
        if self._const is not None:
            return self._const
        if self._i >= len(self._buf):
            arr = np.asarray(self.dist.sample(self.rng, self._block), dtype=float)
            if self._lower is not None:
                np.maximum(arr, self._lower, out=arr)
            self._buf = arr.tolist()
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return v


def _number(text: Any, unit: str | None, *, what: str) -> float:
    if isinstance(text, bool):
        raise ValueError(f"{what}={text!r} is not a number")
    if isinstance(text, int | float):
        return float(text)
    if unit is None:
        try:
            return float(text)
        except (TypeError, ValueError):
            raise ValueError(f"{what}={text!r} is not a number") from None
    try:
        return convert(text, unit)
    except UnitError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _split_args(args: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    kw: dict[str, str] = {}
    if not args.strip():
        return pos, kw
    for part in args.split(","):
        part = part.strip()
        if not part:
            raise ValueError("empty argument")
        if "=" in part:
            k, _, v = part.partition("=")
            kw[k.strip()] = v.strip().strip("\"'")
        else:
            if kw:
                raise ValueError("positional argument after keyword arguments")
            pos.append(part.strip("\"'"))
    return pos, kw


def parse_distribution(spec: Any, unit: str | None = None) -> Distribution:
    """Parse a distribution written in a config.

    Parameters
    ----------
    spec
        ``"exponential(mean=45 min)"``, ``{"dist": "weibull_min", "c": 1.5, "scale": "40 h"}``,
        a bare number or quantity (a constant), or a :class:`Distribution`.
    unit
        Canonical unit of the field (``"s"`` for durations); None for plain numbers.

    Returns
    -------
    Distribution

    Raises
    ------
    ConfigError
        Unknown distribution or parameter (with did-you-mean), bad values, or
        parameters scipy rejects.
    """
    try:
        return _parse(spec, unit)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _parse(spec: Any, unit: str | None) -> Distribution:
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return Distribution("constant", (("value", float(spec)),), spec)
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
            return Distribution("constant", (("value", value),), spec)
        name = m.group("name")
        try:
            pos, kw = _split_args(m.group("args"))
        except ValueError as exc:
            raise ValueError(f'"{spec}": {exc}; write name(param=value, ...)') from None
        if pos:
            if name in ("constant", "deterministic") and len(pos) == 1:
                kw["value"] = pos[0]
            else:
                raise ValueError(
                    f'"{spec}": give parameters by name, e.g. exponential(mean=45 min)'
                )
        params: dict[str, Any] = kw
    elif isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("dist", None)
        if not isinstance(name, str):
            raise ValueError(
                "a distribution mapping needs 'dist: <name>', e.g. {dist: weibull_min, c: 1.5, scale: 40 h}"
            )
    else:
        raise ValueError(f"{spec!r} is not a distribution; use e.g. \"exponential(mean=45 min)\"")
    return _build(name, params, unit, spec)


def _build(name: str, params: dict[str, Any], unit: str | None, spec: Any) -> Distribution:
    label = f'"{spec}"' if isinstance(spec, str) else f"dist {name}"
    if name in _ALIASES:
        scipy_name, accepted = _ALIASES[name]
        for key in params:
            if key not in accepted:
                raise ValueError(
                    f"{label}: '{key}' is not a parameter of {name}; "
                    f"{did_you_mean(key, accepted)} ({name} takes {', '.join(accepted)})"
                )
        missing = [k for k in accepted if k not in params]
        if missing:
            raise ValueError(f"{label}: {name} needs {', '.join(accepted)}; missing {', '.join(missing)}")
        p = {k: _number(v, unit if k in _DIMENSIONAL else None, what=k) for k, v in params.items()}
        kw = _alias_params(name, p, label)
        if scipy_name == "constant":
            return Distribution("constant", (("value", kw["value"]),), spec)
        return _checked(scipy_name, kw, label, spec)
    if name not in _SCIPY:
        raise ValueError(
            f"{label}: '{name}' is not a known distribution; "
            f"{did_you_mean(name, [*_SCIPY, *_ALIASES])}"
        )
    dist = getattr(stats, name)
    shapes = [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]
    accepted = (*shapes, "loc", "scale")
    for key in params:
        if key not in accepted:
            raise ValueError(
                f"{label}: '{key}' is not a parameter of scipy.stats.{name}; "
                f"{did_you_mean(key, accepted)} ({name} takes {', '.join(accepted)})"
            )
    missing = [s for s in shapes if s not in params]
    if missing:
        raise ValueError(f"{label}: scipy.stats.{name} needs shape parameter(s) {', '.join(missing)}")
    kw = {k: _number(v, unit if k in _DIMENSIONAL else None, what=k) for k, v in params.items()}
    return _checked(name, kw, label, spec)


def _alias_params(name: str, p: dict[str, float], label: str) -> dict[str, float]:
    def positive(*keys):
        for k in keys:
            if not p[k] > 0:
                raise ValueError(f"{label}: {k} must be > 0, got {p[k]:g}")

    if name == "exponential":
        positive("mean")
        return {"scale": p["mean"]}
    if name == "normal":
        positive("sd")
        return {"loc": p["mean"], "scale": p["sd"]}
    if name == "lognormal":
        positive("mean", "cv")
        s2 = math.log1p(p["cv"] ** 2)
        return {"s": math.sqrt(s2), "scale": p["mean"] / math.sqrt(1 + p["cv"] ** 2)}
    if name == "gamma_mean":
        positive("mean", "cv")
        return {"a": 1 / p["cv"] ** 2, "scale": p["mean"] * p["cv"] ** 2}
    if name == "erlang":
        positive("mean", "k")
        return {"a": p["k"], "scale": p["mean"] / p["k"]}
    if name == "triangular":
        lo, mode, hi = p["min"], p["mode"], p["max"]
        if not lo <= mode <= hi or not hi > lo:
            raise ValueError(f"{label}: min <= mode <= max and min < max must hold, got ({lo:g}, {mode:g}, {hi:g})")
        return {"c": (mode - lo) / (hi - lo), "loc": lo, "scale": hi - lo}
    if name == "uniform":
        if not p["max"] > p["min"]:
            raise ValueError(f"{label}: min < max must hold, got (min={p['min']:g}, max={p['max']:g})")
        return {"loc": p["min"], "scale": p["max"] - p["min"]}
    if name == "weibull":
        positive("shape", "scale")
        return {"c": p["shape"], "scale": p["scale"]}
    if name in ("constant", "deterministic"):
        return {"value": p["value"]}
    raise AssertionError(name)  # pragma: no cover


def _checked(name: str, kw: dict[str, float], label: str, spec: Any) -> Distribution:
    dist = Distribution(name, tuple(sorted(kw.items())), spec)
    try:
        frozen = dist.frozen
        shapes, _loc, scale = frozen.dist._parse_args(**kw)
        ok = bool(np.all(frozen.dist._argcheck(*shapes))) and scale > 0
        mean = float(frozen.mean())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label}: scipy.stats.{name} rejects these parameters ({exc})") from None
    if not ok or not math.isfinite(mean):
        raise ValueError(
            f"{label}: parameters {dict(kw)} are not valid for scipy.stats.{name} "
            "(check shape > 0, scale > 0, and that the mean is finite)"
        )
    return dist


def _field(unit: str | None, *, lower: float | None):
    def _validate(value: Any) -> Distribution:
        try:
            d = _parse(value, unit)
        except ValueError as exc:
            raise PydanticCustomError("distribution", str(exc)) from None
        if lower is not None:
            lo = d.mean() if d.is_constant else float(d.frozen.support()[1])
            if lo < lower:
                raise PydanticCustomError(
                    "distribution", f"{d} has no values >= {lower:g}; a duration must be >= 0"
                )
        return d

    return _validate


DurationDist = Annotated[
    Distribution,
    BeforeValidator(_field("s", lower=0.0)),
    PlainSerializer(lambda d: d.as_json(), return_type=dict),
]
"""A random duration in seconds (``"exponential(mean=45 min)"``, ``"30 min"``, mappings)."""

ValueDist = Annotated[
    Distribution,
    BeforeValidator(_field(None, lower=None)),
    PlainSerializer(lambda d: d.as_json(), return_type=dict),
]
"""A random dimensionless number (material variability, disturbances)."""

CountDist = Annotated[
    Distribution,
    BeforeValidator(_field(None, lower=0.0)),
    PlainSerializer(lambda d: d.as_json(), return_type=dict),
]
"""A random count (e.g. cycles between failures); samples are rounded up to integers >= 1."""
