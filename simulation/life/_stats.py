"""Small statistics helpers for Monte-Carlo estimates with confidence intervals."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["wilson", "mean_ci", "mean_ci_from_moments", "combine_moments", "quantile_ci", "BOUND"]

BOUND = ["estimate", "lower", "upper"]


def wilson(successes: np.ndarray, n: np.ndarray | int, confidence: float) -> np.ndarray:
    """Wilson score interval of a binomial proportion (Wilson 1927).

    Returns
    -------
    ndarray
        ``(3, ...)``: estimate, lower, upper.
    """
    s = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.minimum(np.clip(centre - half, 0, 1), p)  # guard rounding at p = 0 or 1
    hi = np.maximum(np.clip(centre + half, 0, 1), p)
    return np.stack([p, lo, hi])


def mean_ci(x: np.ndarray, confidence: float, axis: int = 0) -> np.ndarray:
    """Mean with a Student-t confidence interval along ``axis`` → ``(3, ...)``."""
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    m = x.mean(axis=axis)
    if n < 2:
        return np.stack([m, m * np.nan, m * np.nan])
    se = x.std(axis=axis, ddof=1) / np.sqrt(n)
    h = stats.t.ppf(0.5 + confidence / 2, n - 1) * se
    return np.stack([m, m - h, m + h])


def combine_moments(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    """Count, mean and sum of squared deviations of two samples pooled.

    Chan, Golub & LeVeque (1983), "Algorithms for computing the sample
    variance", *The American Statistician* 37(3): with ``δ = mean_b − mean_a``,
    ``mean = mean_a + δ·n_b/n`` and ``M2 = M2_a + M2_b + δ²·n_a·n_b/n``.
    """
    na, ma, sa = a
    nb, mb, sb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = mb - ma
    return n, ma + delta * (nb / n), sa + sb + delta * delta * (na * nb / n)


def mean_ci_from_moments(n: int, mean: float, m2: float, confidence: float) -> np.ndarray:
    """:func:`mean_ci` of a sample given only its count, mean and sum of squared deviations ``m2``.

    Student-t interval ``mean ± t(1 − α/2, n − 1) · sqrt(m2 / (n − 1) / n)``.
    """
    if n < 2:
        return np.array([mean, np.nan, np.nan])
    se = np.sqrt(m2 / (n - 1)) / np.sqrt(n)
    h = stats.t.ppf(0.5 + confidence / 2, n - 1) * se
    return np.array([mean, mean - h, mean + h])


def quantile_ci(sorted_x: np.ndarray, p: float, confidence: float) -> np.ndarray:
    """Sample p-quantile with a distribution-free order-statistic interval.

    The interval ``[x_(l), x_(u)]`` uses binomial(n, p) quantiles for the ranks
    (Meeker, Hahn & Escobar 2017, *Statistical Intervals*, §5.2).
    """
    n = len(sorted_x)
    est = float(np.quantile(sorted_x, p))
    a = (1 - confidence) / 2
    lo = int(stats.binom.ppf(a, n, p))
    hi = int(stats.binom.ppf(1 - a, n, p)) + 1
    lo_v = sorted_x[max(lo - 1, 0)] if lo >= 1 else np.nan
    hi_v = sorted_x[hi - 1] if hi <= n else np.nan
    return np.array([est, lo_v, hi_v])
