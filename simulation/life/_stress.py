"""Life profiles, acceleration models and cumulative damage.

A *life profile* is a cycle of mission phases (duration, temperature, load,
duty) repeated for the whole life. A component's life distribution is given at
its *reference* stress; in a phase the component ages ``duty × AF`` times as
fast, where the acceleration factor AF is the product of its acceleration
models (Nelson 1990, *Accelerated Testing*, ch. 2):

* Arrhenius:  ``AF = exp(Ea/k · (1/T_ref − 1/T))``, k = 8.617333e-5 eV/K;
* Eyring:     ``AF = (T/T_ref)^a · exp(Ea/k · (1/T_ref − 1/T))`` (a = 1 by default;
  NIST/SEMATECH e-Handbook §8.1.5.2);
* inverse power law: ``AF = (S/S_ref)^n`` for a non-thermal stress S (load).

Varying stress is handled with the **cumulative exposure model** (Nelson 1990,
ch. 10, §2): the component's exposure ``u(t) = ∫ duty·AF dt`` is its equivalent
age at reference stress, and ``P(T ≤ t) = F_ref(u(t))``. With a deterministic
life this reduces to Miner's rule (:func:`miner_damage`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
from pydantic import field_validator, model_validator

from workbench.config import WorkbenchModel
from workbench.errors import ConfigError, did_you_mean
from workbench.units import Duration, Fraction, Quantity, Temperature

__all__ = [
    "Phase",
    "LifeProfile",
    "Acceleration",
    "ExposureClock",
    "acceleration_factor",
    "miner_damage",
    "BOLTZMANN_EV",
]

BOLTZMANN_EV = 8.617333262e-5  # eV/K (CODATA 2018)
EnergyEV = Quantity["eV"]  # activation energy, stored in eV ("0.7 eV", "67.5 kJ/mol" is not accepted)
_MODELS = ("arrhenius", "eyring", "inverse_power_law")


class Phase(WorkbenchModel):
    """One mission phase of a life profile."""

    name: str
    duration: Duration
    temperature: Temperature | None = None
    load: float | None = None
    duty: Fraction = 1.0

    @field_validator("duration")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("a phase needs a positive duration, e.g. \"8 h\"")
        return v


class LifeProfile(WorkbenchModel):
    """A cycle of phases, repeated from t = 0 for the whole life."""

    name: str = "profile"
    phases: list[Phase]

    @field_validator("phases")
    @classmethod
    def _nonempty(cls, v: list[Phase]) -> list[Phase]:
        if not v:
            raise ValueError("a life profile needs at least one phase")
        return v

    @property
    def cycle(self) -> float:
        """Cycle length in seconds."""
        return float(sum(p.duration for p in self.phases))


class Acceleration(WorkbenchModel):
    """One acceleration model relative to the reference stress of the life distribution."""

    model: str
    activation_energy: EnergyEV | None = None
    reference_temperature: Temperature | None = None
    exponent: float | None = None
    reference_load: float | None = None

    @field_validator("model")
    @classmethod
    def _known(cls, value: str) -> str:
        v = value.lower().replace("-", "_").replace(" ", "_")
        v = {"ipl": "inverse_power_law", "inverse_power": "inverse_power_law"}.get(v, v)
        if v not in _MODELS:
            raise ValueError(f'"{value}" is not an acceleration model; {did_you_mean(value, _MODELS)}')
        return v

    @model_validator(mode="after")
    def _needs(self) -> Acceleration:
        need = {
            "arrhenius": ("activation_energy", "reference_temperature"),
            "eyring": ("activation_energy", "reference_temperature"),
            "inverse_power_law": ("exponent", "reference_load"),
        }[self.model]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"the {self.model} model needs {', '.join(need)}; missing {', '.join(missing)}")
        if self.model == "inverse_power_law" and not self.reference_load > 0:
            raise ValueError(f"reference_load must be > 0 (got {self.reference_load})")
        return self

    def factor(self, phase: Phase) -> float:
        """Acceleration factor of ``phase`` relative to the reference stress."""
        if self.model in ("arrhenius", "eyring"):
            if phase.temperature is None:
                raise ConfigError(
                    f"phase '{phase.name}' has no temperature, but the {self.model} model needs one",
                    path=f"phases.{phase.name}.temperature",
                )
            t, tr = phase.temperature, self.reference_temperature
            af = float(np.exp(self.activation_energy / BOLTZMANN_EV * (1.0 / tr - 1.0 / t)))
            if self.model == "eyring":
                af *= (t / tr) ** (1.0 if self.exponent is None else self.exponent)
            return af
        if phase.load is None:
            raise ConfigError(
                f"phase '{phase.name}' has no load, but the inverse power law needs one",
                path=f"phases.{phase.name}.load",
            )
        return float((phase.load / self.reference_load) ** self.exponent)


def acceleration_factor(models: Sequence[Acceleration], phase: Phase) -> float:
    """Product of the acceleration factors of ``models`` in ``phase`` (1 if none)."""
    af = 1.0
    for m in models:
        af *= m.factor(phase)
    return af


class ExposureClock:
    """Map calendar time ↔ exposure (equivalent age at reference stress) for one component.

    ``exposure(t)`` is piecewise linear and periodic with the profile cycle;
    ``time_at(u)`` is its inverse (the first time the exposure reaches ``u``).
    Without a profile both are the identity scaled by a constant ``rate``.

    Parameters
    ----------
    profile
        Life profile, or None for constant reference stress.
    models
        Acceleration models of the component.
    """

    def __init__(self, profile: LifeProfile | None, models: Sequence[Acceleration] = ()):
        if profile is None:
            self.rates = np.array([1.0])
            self.durations = np.array([np.inf])
            self.constant = True
            self.rate = 1.0
            return
        self.durations = np.array([p.duration for p in profile.phases], dtype=float)
        self.rates = np.array([p.duty * acceleration_factor(models, p) if p.duty > 0 else 0.0
                               for p in profile.phases])
        self.cycle_time = float(self.durations.sum())
        self.t_edges = np.concatenate([[0.0], np.cumsum(self.durations)])
        self.u_edges = np.concatenate([[0.0], np.cumsum(self.durations * self.rates)])
        self.cycle_exposure = float(self.u_edges[-1])
        self.constant = bool(np.allclose(self.rates, self.rates[0]))
        self._t_list = self.t_edges.tolist()
        self._u_list = self.u_edges.tolist()
        self._rates = self.rates.tolist()
        self.rate = self.cycle_exposure / self.cycle_time  # mean rate
        if self.cycle_exposure <= 0:
            raise ConfigError("the life profile never ages this component (every phase has duty 0)")

    def exposure(self, t: np.ndarray | float) -> np.ndarray:
        """Exposure (s at reference stress) accumulated by calendar time ``t`` (s)."""
        t = np.asarray(t, dtype=float)
        if self.constant:
            return t * self.rate
        with np.errstate(invalid="ignore"):
            n, rem = np.divmod(t, self.cycle_time)
            out = n * self.cycle_exposure + np.interp(rem, self.t_edges, self.u_edges)
        return np.where(np.isinf(t), t, out)

    def exposure_at(self, t: float) -> float:
        """Scalar :meth:`exposure` (fast path for the event engine)."""
        if self.constant:
            return t * self.rate
        if math.isinf(t):
            return t
        n, rem = divmod(t, self.cycle_time)
        k = min(bisect.bisect_right(self._t_list, rem) - 1, len(self._rates) - 1)
        return n * self.cycle_exposure + self._u_list[k] + self._rates[k] * (rem - self._t_list[k])

    def time_of(self, u: float) -> float:
        """Scalar :meth:`time_at` (fast path for the event engine)."""
        if self.constant:
            return u / self.rate
        if math.isinf(u):
            return u
        n, rem = divmod(u, self.cycle_exposure)
        k = min(max(bisect.bisect_left(self._u_list, rem) - 1, 0), len(self._rates) - 1)
        r = self._rates[k]
        return n * self.cycle_time + self._t_list[k] + ((rem - self._u_list[k]) / r if r > 0 else 0.0)

    def time_at(self, u: np.ndarray | float) -> np.ndarray:
        """First calendar time (s) at which the exposure reaches ``u``."""
        u = np.asarray(u, dtype=float)
        if self.constant:
            return u / self.rate
        with np.errstate(invalid="ignore"):
            n, rem = np.divmod(u, self.cycle_exposure)
        # invert only over phases that age (flat segments are skipped by searchsorted)
        idx = np.clip(np.searchsorted(self.u_edges, rem, side="left") - 1, 0, len(self.rates) - 1)
        rate = self.rates[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(rate > 0, (rem - self.u_edges[idx]) / rate, 0.0)
        return np.where(np.isinf(u), u, n * self.cycle_time + self.t_edges[idx] + within)


def miner_damage(profile: LifeProfile, lives: Sequence[float], cycles: float = 1.0) -> float:
    """Palmgren–Miner cumulative damage of ``cycles`` profile cycles.

    ``D = Σ_j n·d_j / L_j`` with ``L_j`` the (deterministic) life at the stress of
    phase j (Miner 1945; Nelson 1990 ch. 10 §2.4). Failure is predicted at D = 1,
    which the cumulative exposure model reproduces for a degenerate life
    distribution.

    Parameters
    ----------
    profile
        The life profile.
    lives
        Life (s) at each phase's stress, in phase order (``inf`` for no ageing).
    cycles
        Number of profile cycles.
    """
    if len(lives) != len(profile.phases):
        raise ConfigError(f"miner_damage needs one life per phase ({len(profile.phases)}), got {len(lives)}")
    return float(cycles * sum(p.duty * p.duration / L for p, L in zip(profile.phases, lives, strict=True)))
