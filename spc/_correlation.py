"""Lagged correlation of process variables with a quality variable, ranked.

For each process column ``x`` and lag ``k = 0 … K`` the Pearson correlation of
``x_{t-k}`` with the quality ``y_t`` (the process ``k`` samples earlier), over the
pairs where both are present. Per column the lag with the largest ``|r|`` is kept
and the columns are ranked by it.

* p-value: ``t = r √((n-2)/(1-r²))`` with ``n - 2`` degrees of freedom (Student's t test
  of zero correlation for bivariate normal data); since the best of ``K + 1`` lags is
  picked, ``p_adjusted = min(1, (K+1) p)`` (Bonferroni) decides ``significant``.
* Interval: Fisher's z, ``tanh(atanh(r) ± z_{1-α/2}/√(n-3))`` (Fisher, *Metron* 1, 1921).
* Caveat: for autocorrelated series these tests are too liberal (the effective sample
  size is smaller, Bartlett 1935; Box, Jenkins & Reinsel, *Time Series Analysis*, §11.1.2:
  prewhiten both series before reading significance). The lag-1 autocorrelation of each
  series is reported so that the user can judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spc._autocorr import acf

__all__ = ["LaggedCorrelation", "CorrelationRanking", "lagged_correlation"]


@dataclass(frozen=True)
class LaggedCorrelation:
    """The correlation of one process column with the quality at its best lag."""

    column: str
    lag: int
    r: float
    n: int
    p_value: float
    p_adjusted: float
    lower: float
    upper: float
    significant: bool
    r_lag0: float
    lag1_autocorrelation: float
    by_lag: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"column": self.column, "best_lag": self.lag, "r": self.r, "n": self.n, "p_value": self.p_value,
                "p_adjusted": self.p_adjusted, "ci_lower": self.lower, "ci_upper": self.upper,
                "significant": self.significant, "r_lag0": self.r_lag0,
                "lag1_autocorrelation": self.lag1_autocorrelation, "r_by_lag": list(self.by_lag)}


@dataclass
class CorrelationRanking:
    """Process columns ranked by ``|r|`` at their best lag."""

    target: str
    lags: int
    confidence: float
    alpha: float
    rows: list[LaggedCorrelation]
    target_lag1_autocorrelation: float
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {"target": self.target, "lags": self.lags, "confidence": self.confidence, "alpha": self.alpha,
                "target_lag1_autocorrelation": self.target_lag1_autocorrelation,
                "ranking": [r.as_dict() for r in self.rows], "skipped": self.skipped,
                "method": "Pearson r of x(t-lag) with y(t); t-test p, Bonferroni over lags; Fisher z interval"}


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 4:
        return math.nan, n
    a, b = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return (float(a @ b) / den if den > 0 else math.nan), n


def lagged_correlation(
    columns: dict[str, np.ndarray],
    target: str,
    *,
    lags: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> CorrelationRanking:
    """Rank the process columns by their strongest lagged correlation with ``target``.

    Parameters
    ----------
    columns
        Column name → values in time order (NaN where missing); includes ``target``.
    target
        The quality column.
    lags
        Largest lag ``K`` (in samples) of the process before the quality.
    confidence
        Level of the Fisher z intervals.
    alpha
        Level of the (Bonferroni-adjusted) significance flag.

    Raises
    ------
    ValueError
        ``target`` not among the columns, no other column, a negative lag or one that leaves
        fewer than 4 pairs.
    """
    from scipy import stats

    if target not in columns:
        raise ValueError(f"no column {target!r}; columns: {', '.join(columns)}")
    if lags < 0:
        raise ValueError(f"lags must be >= 0, got {lags}")
    y = np.asarray(columns[target], dtype=float)
    if y.size - lags < 4:
        raise ValueError(f"{y.size} rows leave fewer than 4 pairs at lag {lags}")
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    rows, skipped = [], {}
    for name, values in columns.items():
        if name == target:
            continue
        x = np.asarray(values, dtype=float)
        by_lag = []
        for k in range(lags + 1):
            r, _ = _pearson(x[: x.size - k], y[k:])
            by_lag.append(r)
        finite = [abs(r) if np.isfinite(r) else -1.0 for r in by_lag]
        if max(finite) < 0:
            skipped[name] = "constant or too few values present together with the target"
            continue
        k = int(np.argmax(finite))
        r, n = _pearson(x[: x.size - k], y[k:])
        if abs(r) >= 1:
            p, lo, hi = 0.0, r, r
        else:
            t = r * math.sqrt((n - 2) / (1 - r * r))
            p = float(2 * stats.t.sf(abs(t), n - 2))
            half = z / math.sqrt(n - 3) if n > 3 else math.inf
            lo, hi = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
        p_adj = min(1.0, p * (lags + 1))
        ok = np.isfinite(x)
        rows.append(LaggedCorrelation(name, k, r, n, p, p_adj, lo, hi, p_adj < alpha, by_lag[0],
                                      float(acf(x[ok], 1)[1]) if ok.sum() > 2 else math.nan, tuple(by_lag)))
    if not rows:
        raise ValueError(f"no process column to correlate with {target!r}")
    rows.sort(key=lambda c: -abs(c.r))
    oky = np.isfinite(y)
    return CorrelationRanking(target, lags, confidence, alpha, rows, float(acf(y[oky], 1)[1]), skipped)
