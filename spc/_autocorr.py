"""Autocorrelation of chart data: the lag-1 test and the two remedies (AR residuals, batch means).

Shewhart, EWMA and CUSUM limits assume independent observations; positive
autocorrelation (common in continuous processes sampled fast) makes the
moving-range σ too small and floods the chart with false alarms (Montgomery,
*Introduction to Statistical Quality Control*, 7th ed., 2013, §10.4).

* Test: the sample autocorrelation ``r_k = Σ (x_t - x̄)(x_{t+k} - x̄) / Σ (x_t - x̄)²``
  of independent data is approximately ``N(0, 1/n)`` (Bartlett 1946; Box, Jenkins &
  Reinsel, *Time Series Analysis*, 4th ed., 2008, §2.1.6), so ``|r_1| > z_{1-α/2}/√n``
  flags autocorrelation at level α.
* Remedy 1, residual chart (Alwan & Roberts 1988; Montgomery §10.4.2): fit an AR(p)
  model ``x_t = c + Σ φ_j x_{t-j} + e_t`` by conditional least squares (Box, Jenkins
  & Reinsel §7.1) and chart the one-step residuals ``e_t``.
* Remedy 2, batch means (Runger & Willemain, *IIE Transactions* 28, 1996): chart
  the means of non-overlapping batches of ``b`` points; without a given ``b``, ``b``
  starts at 1 and doubles until the lag-1 autocorrelation of the batch means is at
  most 0.10 (the procedure Montgomery §10.4 recommends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Autocorrelation", "acf", "lag1_test", "fit_ar", "ar_residuals", "batch_means", "choose_batch_size"]


def acf(x: np.ndarray, nlags: int) -> np.ndarray:
    """Sample autocorrelation ``r_0 … r_nlags`` (the biased estimator of Box & Jenkins)."""
    x = np.asarray(x, dtype=float)
    d = x - x.mean()
    den = float(d @ d)
    if den == 0.0:
        return np.r_[1.0, np.zeros(nlags)]
    return np.array([1.0] + [float(d[:-k] @ d[k:]) / den for k in range(1, nlags + 1)])


@dataclass(frozen=True)
class Autocorrelation:
    """Result of the lag-1 autocorrelation test."""

    r1: float
    n: int
    alpha: float
    threshold: float
    significant: bool

    def as_dict(self) -> dict[str, object]:
        return {"lag1": self.r1, "n": self.n, "alpha": self.alpha, "threshold": self.threshold,
                "significant": self.significant,
                "test": "|r1| > z(1-alpha/2)/sqrt(n) (Bartlett 1946)"}


def lag1_test(x: np.ndarray, alpha: float = 0.05) -> Autocorrelation:
    """Test the lag-1 autocorrelation of ``x`` against the independence band ``±z_{1-α/2}/√n``."""
    from scipy.stats import norm

    x = np.asarray(x, dtype=float)
    n = int(x.size)
    r1 = float(acf(x, 1)[1]) if n > 2 else 0.0
    thr = float(norm.ppf(1 - alpha / 2) / math.sqrt(max(n, 1)))
    return Autocorrelation(r1, n, alpha, thr, bool(n > 2 and abs(r1) > thr))


def fit_ar(x: np.ndarray, order: int = 1) -> np.ndarray:
    """AR(p) coefficients ``[c, φ_1, …, φ_p]`` by conditional least squares."""
    x = np.asarray(x, dtype=float)
    p = int(order)
    if p < 1:
        raise ValueError(f"AR order must be >= 1, got {order}")
    if x.size < 3 * p + 3:
        raise ValueError(f"an AR({p}) fit needs at least {3 * p + 3} points, got {x.size}")
    X = np.column_stack([np.ones(x.size - p)] + [x[p - j:x.size - j] for j in range(1, p + 1)])
    coef, *_ = np.linalg.lstsq(X, x[p:], rcond=None)
    return coef


def ar_residuals(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """One-step-ahead residuals ``e_t`` for ``t = p … n-1`` of an AR(p) with ``coef = [c, φ_1 … φ_p]``."""
    x = np.asarray(x, dtype=float)
    p = len(coef) - 1
    pred = np.full(x.size - p, float(coef[0]))
    for j in range(1, p + 1):
        pred += coef[j] * x[p - j:x.size - j]
    return x[p:] - pred


def batch_means(x: np.ndarray, b: int) -> np.ndarray:
    """Means of consecutive non-overlapping batches of ``b`` points (an incomplete last batch is dropped)."""
    x = np.asarray(x, dtype=float)
    m = x.size // b
    return x[: m * b].reshape(m, b).mean(axis=1)


def choose_batch_size(x: np.ndarray, *, target: float = 0.10, min_batches: int = 10) -> int:
    """Smallest doubling ``b`` whose batch means have ``|r_1| <= target`` (at least ``min_batches`` batches)."""
    x = np.asarray(x, dtype=float)
    b = 1
    while x.size // (2 * b) >= min_batches:
        if abs(acf(batch_means(x, b), 1)[1]) <= target:
            return b
        b *= 2
    return b
