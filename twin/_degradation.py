"""Degradation of a tracked parameter: drift fit, limit-crossing forecast, cleaning interval.

A tracked health parameter ``y(t)`` (e.g. the fouling resistance, or ``1/U_eff`` — linear in
time for a linear fouling law) is fitted by

* ``model="linear"``: ``y = a + b t`` by ordinary least squares;
* ``model="exponential"``: ``y = exp(a + b t)`` by least squares on ``ln y`` (multiplicative,
  log-normal noise; ``y > 0``),

with the usual covariance ``s² (XᵀX)⁻¹`` and Student-t quantiles (Draper & Smith, *Applied
Regression Analysis*, 3rd ed., 1998, §1.4 and §3.1 — confidence band for the mean and
prediction interval for a new observation).

**Limit crossing.** The true path crosses the limit ``L`` at ``t* = (L − a)/b`` (on the log
scale for the exponential model). Its confidence interval is Fieller's: the times whose
confidence band for the mean contains ``L``,
``(a + b t − L)² ≤ q² (v_aa + 2 t v_ab + t² v_bb)``, a quadratic in ``t`` (Fieller 1954,
*Some problems in interval estimation*, J. R. Statist. Soc. B 16, 175–185; the inverse
regression of Draper & Smith §3.2; threshold crossing of a degradation path, Meeker &
Escobar, *Statistical Methods for Reliability Data*, Wiley 1998, ch. 13). It is bounded only
when the slope is significantly non-zero (``b² > q² v_bb``); otherwise the data do not say
when the limit is crossed, and :class:`Crossing` says so.

**Cleaning interval (linear drift).** Cleaning restores ``y`` to its clean value, costs
``C`` and takes ``d`` of downtime; between cleanings the degradation costs ``k`` per unit of
``y`` above clean per unit time (lost yield, longer batches), i.e. ``k b t`` at age ``t``.
By the renewal-reward theorem (Ross, *Stochastic Processes*, 2nd ed., 1996, Thm 3.6.1) the
long-run cost rate of cleaning every ``τ`` is

    g(τ) = (C + k b τ²/2) / (τ + d),

minimised where ``k b τ²/2 + k b d τ − C = 0``:

    τ* = −d + √(d² + 2C/(k b))        (τ* = √(2C/(k b)) without downtime),

capped at the limit-crossing time when a limit is given. ``τ*`` falls as ``b`` grows, so the
slope's confidence interval maps to an interval for ``τ*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from workbench.errors import DataQualityError, SolverError

__all__ = ["Crossing", "DriftFit", "CleaningPlan", "fit_drift", "cleaning_cost_rate", "optimal_cleaning_interval"]


@dataclass(frozen=True)
class Crossing:
    """When the path crosses a limit: estimate and Fieller interval (``nan`` ends when unbounded)."""

    time: float
    low: float
    high: float
    confidence: float
    bounded: bool

    def describe(self, unit: str = "s", scale: float = 1.0) -> str:
        if not self.bounded:
            return f"limit crossing not determined by the data (slope not significant at {self.confidence:.0%})"
        return (f"crosses the limit at {self.time / scale:.3g} {unit} "
                f"[{self.low / scale:.3g}, {self.high / scale:.3g}] ({self.confidence:.0%})")


@dataclass(frozen=True)
class DriftFit:
    """A fitted drift ``y = a + b t`` (or ``ln y`` for ``model="exponential"``)."""

    model: str
    intercept: float
    slope: float
    covariance: np.ndarray
    s: float
    dof: int
    n: int

    def _q(self, confidence: float) -> float:
        from scipy.stats import t as student_t

        return float(student_t.ppf(0.5 + confidence / 2, self.dof))

    def _back(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.model == "exponential" else z

    def predict(self, t, *, confidence: float = 0.95) -> dict[str, np.ndarray]:
        """Mean path with its confidence band and the prediction interval of a new observation."""
        t = np.asarray(t, float)
        mean = self.intercept + self.slope * t
        v = self.covariance
        se_mean = np.sqrt(v[0, 0] + 2 * t * v[0, 1] + t**2 * v[1, 1])
        se_new = np.sqrt(se_mean**2 + self.s**2)
        q = self._q(confidence)
        return {"mean": self._back(mean), "low": self._back(mean - q * se_mean), "high": self._back(mean + q * se_mean),
                "pred_low": self._back(mean - q * se_new), "pred_high": self._back(mean + q * se_new)}

    def crossing(self, limit: float, *, confidence: float = 0.95) -> Crossing:
        """Time the mean path crosses ``limit``, with Fieller's interval."""
        if self.model == "exponential":
            if not limit > 0:
                raise DataQualityError(f"an exponential drift crosses only positive limits, got {limit}")
            limit = float(np.log(limit))
        a, b, v = self.intercept - limit, self.slope, self.covariance
        q2 = self._q(confidence) ** 2
        t_hat = -a / b if b != 0 else float("inf")
        A = b * b - q2 * v[1, 1]
        B = 2 * (a * b - q2 * v[0, 1])
        C = a * a - q2 * v[0, 0]
        disc = B * B - 4 * A * C
        if A <= 0 or disc < 0:
            return Crossing(t_hat, float("nan"), float("nan"), confidence, False)
        r = np.sqrt(disc)
        lo, hi = sorted(((-B - r) / (2 * A), (-B + r) / (2 * A)))
        return Crossing(t_hat, float(lo), float(hi), confidence, True)


def fit_drift(t, y, *, model: Literal["linear", "exponential"] = "linear") -> DriftFit:
    """Least-squares drift fit of a tracked parameter path.

    Raises
    ------
    DataQualityError
        Fewer than 3 finite points, all at one time, or ``y ≤ 0`` for the exponential model.
    """
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    if model not in ("linear", "exponential"):
        raise DataQualityError(f"drift model '{model}' is not known; choose 'linear' or 'exponential'")
    if t.shape != y.shape:
        raise DataQualityError(f"drift fit: {t.size} times but {y.size} values")
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if model == "exponential":
        if (y <= 0).any():
            raise DataQualityError(f"an exponential drift needs positive values; {int((y <= 0).sum())} are ≤ 0")
        y = np.log(y)
    if t.size < 3 or np.ptp(t) == 0:
        raise DataQualityError(f"a drift fit needs at least 3 finite points at different times, got {t.size}")
    X = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = t.size - 2
    resid = y - X @ coef
    s2 = float(resid @ resid / dof)
    cov = s2 * np.linalg.inv(X.T @ X)
    return DriftFit(model, float(coef[0]), float(coef[1]), cov, float(np.sqrt(s2)), dof, int(t.size))


def cleaning_cost_rate(tau, slope: float, cleaning_cost: float, loss_rate: float, downtime: float = 0.0):
    """Long-run cost per unit time of cleaning every ``tau``: ``(C + k b τ²/2)/(τ + d)``."""
    tau = np.asarray(tau, float)
    return (cleaning_cost + loss_rate * slope * tau**2 / 2) / (tau + downtime)


@dataclass(frozen=True)
class CleaningPlan:
    """The cost-optimal cleaning interval with its interval from the slope's uncertainty."""

    interval: float
    low: float
    high: float
    cost_rate: float
    limited: bool
    tau: np.ndarray
    cost_curve: np.ndarray


def optimal_cleaning_interval(fit: DriftFit, *, cleaning_cost: float, loss_rate: float, downtime: float = 0.0,
                              limit: float | None = None, confidence: float = 0.95) -> CleaningPlan:
    """Cost-optimal cleaning interval for a linear drift (closed form, module docstring).

    ``loss_rate`` is the cost per unit of ``y`` above its clean value per unit time; a
    ``limit`` caps the interval at the (estimated) crossing time, measured from a clean state
    (the fit's intercept). The interval bounds map the slope's confidence interval through the
    closed form (``τ*`` decreases with ``b``).
    """
    if fit.model != "linear":
        raise SolverError("the closed-form cleaning interval is for a linear drift; fit model='linear'")
    if not (cleaning_cost > 0 and loss_rate > 0 and downtime >= 0):
        raise DataQualityError(f"cleaning_cost and loss_rate must be > 0 and downtime ≥ 0, got "
                               f"{cleaning_cost}, {loss_rate}, {downtime}")

    def tau_star(b: float) -> float:
        if b <= 0:
            return float("inf")
        return -downtime + np.sqrt(downtime**2 + 2 * cleaning_cost / (loss_rate * b))

    b = fit.slope
    q = fit._q(confidence)
    sb = float(np.sqrt(fit.covariance[1, 1]))
    tau, lo, hi = tau_star(b), tau_star(b + q * sb), tau_star(b - q * sb)
    limited = False
    if limit is not None and b > 0:
        t_lim = (limit - fit.intercept) / b
        if t_lim < tau:
            tau, limited = float(t_lim), True
            lo, hi = min(lo, tau), min(hi, (limit - fit.intercept) / max(b - q * sb, 1e-300))
    if not np.isfinite(tau):
        raise SolverError("no drift (slope ≤ 0): cleaning never pays for itself on this path")
    grid = np.linspace(tau / 5, tau * 3, 200)
    return CleaningPlan(float(tau), float(lo), float(hi),
                        float(cleaning_cost_rate(tau, b, cleaning_cost, loss_rate, downtime)), limited, grid,
                        cleaning_cost_rate(grid, b, cleaning_cost, loss_rate, downtime))
