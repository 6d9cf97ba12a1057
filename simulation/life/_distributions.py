"""Component life distributions: config model → frozen :mod:`scipy.stats` distribution.

All times are stored in seconds (the workbench's canonical duration unit); users
write ``"12000 h"``. Parametrisations follow the reliability literature
(Meeker & Escobar 1998, *Statistical Methods for Reliability Data*, ch. 4–5):

========== ======================================= ===================================
name       parameters                              scipy.stats
========== ======================================= ===================================
weibull    shape β, scale η, location γ (3-p)      ``weibull_min(β, loc=γ, scale=η)``
lognormal  median e^μ, sigma σ, location γ         ``lognorm(σ, loc=γ, scale=e^μ)``
exponential mean θ (MTTF), location γ              ``expon(loc=γ, scale=θ)``
gamma      shape k, scale θ, location γ            ``gamma(k, loc=γ, scale=θ)``
normal     mean μ, std σ (left-truncated at 0)     ``truncnorm(-μ/σ, ∞, μ, σ)``
========== ======================================= ===================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import field_validator, model_validator
from scipy import stats

from workbench.config import WorkbenchModel
from workbench.errors import ConfigError, did_you_mean
from workbench.units import Duration

__all__ = ["LifeDistribution", "DISTRIBUTIONS"]

#: distribution name → (required parameters, optional parameters)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "weibull": (("shape", "scale"), ("location",)),
    "lognormal": (("median", "sigma"), ("location",)),
    "exponential": (("mean",), ("location",)),
    "gamma": (("shape", "scale"), ("location",)),
    "normal": (("mean", "std"), ()),
}
_ALIASES = {"weibull2": "weibull", "weibull3": "weibull", "lognorm": "lognormal", "expon": "exponential"}
_PARAMS = ("shape", "scale", "location", "median", "sigma", "mean", "std")


class LifeDistribution(WorkbenchModel):
    """A time-to-failure (or time-to-repair) distribution.

    Examples
    --------
    YAML::

        life: {distribution: weibull, shape: 1.8, scale: 12000 h}
        repair: {distribution: lognormal, median: 6 h, sigma: 0.6}
    """

    distribution: str
    shape: float | None = None
    scale: Duration | None = None
    location: Duration = 0.0
    median: Duration | None = None
    sigma: float | None = None
    mean: Duration | None = None
    std: Duration | None = None

    @field_validator("distribution")
    @classmethod
    def _known(cls, value: str) -> str:
        name = _ALIASES.get(value.lower(), value.lower())
        if name not in DISTRIBUTIONS:
            raise ValueError(
                f'"{value}" is not a life distribution; {did_you_mean(value, DISTRIBUTIONS)}'
                f" (valid: {', '.join(DISTRIBUTIONS)})"
            )
        return name

    @model_validator(mode="after")
    def _parameters(self) -> LifeDistribution:
        required, optional = DISTRIBUTIONS[self.distribution]
        given = {p for p in _PARAMS if getattr(self, p) is not None and not (p == "location" and self.location == 0)}
        missing = [p for p in required if getattr(self, p) is None]
        if missing:
            raise ValueError(
                f"a {self.distribution} distribution needs {', '.join(required)}; missing {', '.join(missing)}"
            )
        extra = given - set(required) - set(optional)
        if extra:
            raise ValueError(
                f"{', '.join(sorted(extra))} is not a parameter of the {self.distribution} distribution; "
                f"use {', '.join(required + optional)}"
            )
        for p in ("shape", "scale", "median", "sigma", "mean", "std"):
            v = getattr(self, p)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{p} must be a positive finite number (got {v!r})")
        return self

    # ------------------------------------------------------------------ scipy
    def frozen(self) -> Any:
        """The frozen :mod:`scipy.stats` distribution, in seconds."""
        d, loc = self.distribution, self.location
        if d == "weibull":
            return stats.weibull_min(self.shape, loc=loc, scale=self.scale)
        if d == "lognormal":
            return stats.lognorm(self.sigma, loc=loc, scale=self.median)
        if d == "exponential":
            return stats.expon(loc=loc, scale=self.mean)
        if d == "gamma":
            return stats.gamma(self.shape, loc=loc, scale=self.scale)
        if d == "normal":
            return stats.truncnorm(-self.mean / self.std, np.inf, loc=self.mean, scale=self.std)
        raise ConfigError(f"distribution {d!r} is not supported")  # pragma: no cover

    def sample(self, rng: np.random.Generator, size: Any) -> np.ndarray:
        """Draw lives (s) with NumPy's generator (fast paths for the common families)."""
        d, loc = self.distribution, self.location
        if d == "weibull":
            return loc + self.scale * rng.weibull(self.shape, size)
        if d == "exponential":
            return loc + rng.exponential(self.mean, size)
        if d == "lognormal":
            return loc + self.median * np.exp(self.sigma * rng.standard_normal(size))
        if d == "gamma":
            return loc + rng.gamma(self.shape, self.scale, size)
        return self.frozen().ppf(rng.random(size))

    def sf(self, t: Any) -> np.ndarray:
        """Reliability R(t) = P(T > t)."""
        return self.frozen().sf(t)

    def mean_life(self) -> float:
        """Mean life (MTTF) in seconds."""
        return float(self.frozen().mean())

    def describe(self, unit: str = "h") -> str:
        """One-line text such as ``weibull(shape=1.8, scale=12000 h)``."""
        from workbench.units import convert

        def q(v: float) -> str:
            return f"{v / convert(f'1 {unit}', 's'):.6g} {unit}"

        parts = []
        for p in _PARAMS:
            v = getattr(self, p)
            if v is None or (p == "location" and v == 0):
                continue
            parts.append(f"{p}={q(v) if p in ('scale', 'location', 'median', 'mean', 'std') else f'{v:.6g}'}")
        return f"{self.distribution}({', '.join(parts)})"

    def to_yaml_dict(self, unit: str = "h") -> dict[str, Any]:
        """Plain mapping with durations written in ``unit`` (for YAML files)."""
        from workbench.units import convert

        per = convert(f"1 {unit}", "s")
        out: dict[str, Any] = {"distribution": self.distribution}
        for p in _PARAMS:
            v = getattr(self, p)
            if v is None or (p == "location" and v == 0):
                continue
            out[p] = f"{v / per:.8g} {unit}" if p in ("scale", "location", "median", "mean", "std") else float(f"{v:.8g}")
        return out
