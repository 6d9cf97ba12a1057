"""Component life distributions: the workbench's one distribution type, as a life-model field.

:class:`LifeDistribution` is the config model of ``life:`` and ``repair:``; it is parsed,
checked, evaluated and sampled by :class:`workbench.distributions.Distribution` (all
times in seconds; users write ``"12000 h"``). Every family and parametrisation of that
table is accepted; the classic life parametrisations follow the reliability literature
(Meeker & Escobar 1998, *Statistical Methods for Reliability Data*, ch. 4–5):

========== ======================================= ===================================
name       parameters                              scipy.stats
========== ======================================= ===================================
weibull    shape β, scale η, location γ (3-p)      ``weibull_min(β, loc=γ, scale=η)``
lognormal  median e^μ, sigma σ, location γ         ``lognorm(σ, loc=γ, scale=e^μ)``
exponential mean θ (MTTF), location γ              ``expon(loc=γ, scale=θ)``
gamma      shape k, scale θ, location γ            ``gamma(k, loc=γ, scale=θ)``
normal     mean μ, sd σ (left-truncated at 0)      ``truncnorm(-μ/σ, ∞, μ, σ)``
========== ======================================= ===================================

A life cannot be negative: a normal life without its own ``truncate`` is truncated at 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import ConfigDict, PrivateAttr, field_validator, model_validator

from workbench.config import WorkbenchModel
from workbench.distributions import Distribution, family, parse_distribution
from workbench.errors import ConfigError
from workbench.units import Duration

__all__ = ["LifeDistribution", "DISTRIBUTIONS"]

#: the classic life families → (required parameters, optional parameters); every other
#: family/parametrisation of :data:`workbench.distributions.FAMILIES` is accepted too
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "weibull": (("shape", "scale"), ("location",)),
    "lognormal": (("median", "sigma"), ("location",)),
    "exponential": (("mean",), ("location",)),
    "gamma": (("shape", "scale"), ("location",)),
    "normal": (("mean", "std"), ()),
}
_FIELDS = ("shape", "scale", "location", "median", "sigma", "mean", "std")
_FIELD_KEYS = {"dist": "distribution", "sd": "std", "loc": "location"}


class LifeDistribution(WorkbenchModel):
    """A time-to-failure (or time-to-repair) distribution.

    The named fields hold the classic parameters (seconds; None when not used);
    parameters of other parametrisations (``cv``, ``rate``, ``truncate`` …) are kept
    as extra fields. :attr:`dist` is the :class:`~workbench.distributions.Distribution`.

    Examples
    --------
    YAML::

        life: {distribution: weibull, shape: 1.8, scale: 12000 h}
        repair: {distribution: lognormal, median: 6 h, sigma: 0.6}
        repair: "lognormal(mean=8 h, cv=0.5)"
    """

    model_config = ConfigDict(extra="allow")

    distribution: str
    shape: float | None = None
    scale: Duration | None = None
    location: Duration = 0.0
    median: Duration | None = None
    sigma: float | None = None
    mean: Duration | None = None
    std: Duration | None = None
    _dist: Distribution = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _any_syntax(cls, value: Any) -> Any:
        if isinstance(value, str | Distribution):
            try:
                return parse_distribution(value, "s").to_spec()
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        if isinstance(value, dict):  # older/other key names onto this model's fields
            value = {(_FIELD_KEYS[k] if k in _FIELD_KEYS and _FIELD_KEYS[k] not in value else k): v
                     for k, v in value.items()}
        return value

    @field_validator("distribution")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            return family(value).name
        except ConfigError as exc:
            raise ValueError(str(exc).replace("is not a known distribution", "is not a life distribution")) from None

    @model_validator(mode="after")
    def _parameters(self) -> LifeDistribution:
        spec: dict[str, Any] = {"distribution": self.distribution}
        for p in _FIELDS:
            v = getattr(self, p)
            if v is not None and not (p == "location" and v == 0):
                spec[p] = v
        spec.update(self.__pydantic_extra__ or {})
        if self.distribution == "normal" and "truncate" not in spec:
            spec["truncate"] = [0.0, None]
        try:
            d = parse_distribution(spec, "s")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if d.info.counts_only:
            raise ValueError(f"{d.family} draws counts; a life or repair time needs a continuous family")
        lo, hi = d.support()
        if hi <= 0 or not math.isfinite(d.mean()):
            raise ValueError(f"{d} has no positive values or no finite mean; a life must be > 0")
        self._dist = d
        return self

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LifeDistribution):
            return self._dist == other._dist  # the same distribution, however it was written
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ the distribution
    @property
    def dist(self) -> Distribution:
        """The :class:`~workbench.distributions.Distribution` (seconds)."""
        return self._dist

    def frozen(self) -> Any:
        """The frozen :mod:`scipy.stats` distribution, in seconds."""
        return self._dist.rv

    def sample(self, rng: np.random.Generator, size: Any) -> np.ndarray:
        """Draw lives (s) with ``rng`` (see :meth:`Distribution.sample`)."""
        return self._dist.sample(rng, size)

    def sf(self, t: Any) -> np.ndarray:
        """Reliability R(t) = P(T > t)."""
        return self._dist.sf(t)

    def mean_life(self) -> float:
        """Mean life (MTTF) in seconds."""
        return self._dist.mean()

    def describe(self, unit: str = "h") -> str:
        """One-line text such as ``weibull(shape=1.8, scale=12000 h)``."""
        return self._dist.describe(unit)

    def to_yaml_dict(self, unit: str = "h") -> dict[str, Any]:
        """The canonical mapping with durations written in ``unit`` (for YAML files)."""
        return self._dist.to_spec(unit, digits=8)
