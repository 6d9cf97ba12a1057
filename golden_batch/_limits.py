"""Control limits for Hotelling's T² and the squared prediction error (SPE).

Formulas
--------
Hotelling T² of ``A`` principal-component scores estimated from ``n`` reference
observations (Tracy, Young & Mason 1992, *J. Quality Technology* 24(2):88-95;
used for batch MPCA by Nomikos & MacGregor 1995, *Technometrics* 37(1):41-59):

* Phase I (an observation that was part of the reference set)::

      T² ~ (n-1)² / n · Beta(A/2, (n-A-1)/2)

* Phase II (a new, independent observation)::

      T² ~ A (n²-1) / (n (n-A)) · F(A, n-A)

SPE (Q statistic) limits:

* Box (1954, *Ann. Math. Statist.* 25:290-302) moment matching as used by
  Nomikos & MacGregor (1995): ``SPE ~ g·χ²_h`` with ``g = v/(2m)`` and
  ``h = 2m²/v``, where ``m`` and ``v`` are the mean and variance of the
  reference SPE values.
* Jackson & Mudholkar (1979, *Technometrics* 21(3):341-349) from the residual
  eigenvalues ``λ_j`` (``θ_i = Σ λ_j^i``, ``h0 = 1 - 2θ1θ3/(3θ2²)``)::

      SPE_α = θ1 [ z_α h0 √(2θ2)/θ1 + 1 + θ2h0(h0-1)/θ1² ]^(1/h0)

  (the published form writes ``√(2θ2h0²)``, identical for ``h0 > 0``; the signed
  ``h0`` keeps the limit right when ``h0 < 0``).

Distribution-free guard (split-conformal quantile; Vovk, Gammerman & Shafer 2005,
*Algorithmic Learning in a Random World*, §2; Lei, G'Sell, Rinaldo, Tibshirani &
Wasserman 2018, *JASA* 113:1094-1111, Thm 2.1): for ``n`` out-of-sample reference
values of a statistic and a new exchangeable one, the ``⌈(1-α)(n+1)⌉``-th smallest
reference value is exceeded with probability at most ``α`` – whatever the
distribution. :func:`conformal_limit` returns it (``inf`` when ``n < 1/α - 1``,
too few values to say); the batch models use ``max(parametric, conformal)`` so
heavy-tailed real data do not push the false-alarm rate above α – only when the
order statistic is not the sample maximum (``n >= 2/α - 1``, :func:`conformal_guard`):
a limit set by the single most extreme reference batch would blunt detection
(reactor sensor bias 0.70 → 0.30 at α = 1 %, n = 100).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from workbench.errors import ConfigError

__all__ = [
    "t2_limit",
    "spe_limit_box",
    "spe_limit_jackson_mudholkar",
    "box_parameters",
    "conformal_limit",
    "conformal_guard",
]


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be a float in (0, 1); got {alpha}")
    return alpha


def t2_limit(alpha: float, n_components: int, n_samples: int, *, phase: str = "II") -> float:
    """Upper control limit of Hotelling's T² at false-alarm probability ``alpha``.

    Parameters
    ----------
    alpha
        False-alarm probability in (0, 1), e.g. 0.01 for a 99 % limit.
    n_components
        Number of scores ``A`` in the statistic.
    n_samples
        Number ``n`` of reference observations the covariance was estimated from.
    phase
        ``"I"`` for observations that were in the reference set (beta form) or
        ``"II"`` for new observations (F form); Tracy, Young & Mason (1992).

    Returns
    -------
    float
        The limit; ``T² > limit`` is an alarm.
    """
    alpha = _check_alpha(alpha)
    a, n = int(n_components), int(n_samples)
    if a < 1:
        raise ConfigError(f"n_components must be >= 1; got {a}")
    if n <= a + 1:
        raise ConfigError(
            f"T² limits need more reference observations than components + 1; got n={n}, A={a}"
        )
    if phase == "I":
        return float((n - 1) ** 2 / n * stats.beta.ppf(1 - alpha, a / 2, (n - a - 1) / 2))
    if phase == "II":
        return float(a * (n**2 - 1) / (n * (n - a)) * stats.f.ppf(1 - alpha, a, n - a))
    raise ConfigError(f'phase must be "I" or "II"; got {phase!r}')


def box_parameters(spe_reference: np.ndarray) -> tuple[float, float]:
    """Return ``(g, h)`` of Box's ``g·χ²_h`` approximation from reference SPE values.

    ``g = v / (2m)``, ``h = 2m² / v`` with ``m``, ``v`` the sample mean and
    variance (Box 1954; Nomikos & MacGregor 1995, eq. 12).
    """
    spe = np.asarray(spe_reference, dtype=float)
    m = float(np.mean(spe))
    v = float(np.var(spe, ddof=1)) if spe.size > 1 else 0.0
    if m <= 0 or v <= 0:
        return (max(m, np.finfo(float).tiny), 1.0) if m > 0 else (np.finfo(float).tiny, 1.0)
    return v / (2 * m), 2 * m * m / v


def spe_limit_box(spe_reference: np.ndarray, alpha: float) -> float:
    """SPE limit ``g·χ²_h(1-α)`` by Box's moment matching.

    Parameters
    ----------
    spe_reference
        SPE values of the reference (in-control) observations; along the last
        axis if 2-D, giving one limit per row.
    alpha
        False-alarm probability.
    """
    alpha = _check_alpha(alpha)
    spe = np.asarray(spe_reference, dtype=float)
    if spe.ndim == 2:
        m = spe.mean(axis=1)
        v = spe.var(axis=1, ddof=1)
        ok = (m > 0) & (v > 0)
        g = np.where(ok, v / (2 * np.where(ok, m, 1)), 0.0)
        h = np.where(ok, 2 * m * m / np.where(ok, v, 1), 1.0)
        return g * stats.chi2.ppf(1 - alpha, h)
    g, h = box_parameters(spe)
    return float(g * stats.chi2.ppf(1 - alpha, h))


def spe_limit_jackson_mudholkar(residual_eigenvalues: np.ndarray, alpha: float) -> float:
    """SPE limit of Jackson & Mudholkar (1979) from the residual eigenvalues.

    Parameters
    ----------
    residual_eigenvalues
        Eigenvalues of the covariance matrix that the model leaves out
        (components ``A+1 … K``).
    alpha
        False-alarm probability.
    """
    alpha = _check_alpha(alpha)
    lam = np.asarray(residual_eigenvalues, dtype=float)
    lam = lam[lam > 0]
    if lam.size == 0:
        return 0.0
    t1, t2, t3 = (float(np.sum(lam**i)) for i in (1, 2, 3))
    h0 = 1.0 - 2.0 * t1 * t3 / (3.0 * t2 * t2)
    z = stats.norm.ppf(1 - alpha)
    if abs(h0) < 1e-9:  # limit h0 → 0 is lognormal-like; fall back to the Box form on moments
        m, v = t1, 2 * t2
        return float(v / (2 * m) * stats.chi2.ppf(1 - alpha, 2 * m * m / v))
    # c = θ1[(Q/θ1)^h0 - 1 - θ2h0(h0-1)/θ1²] / (h0 √(2θ2)) is ~N(0,1) and increasing in Q for
    # either sign of h0; writing |h0| (as √(h0²) in the usual statement) would be wrong for h0 < 0,
    # which happens when a few residual eigenvalues dominate many small ones.
    base = z * h0 * np.sqrt(2 * t2) / t1 + 1.0 + t2 * h0 * (h0 - 1.0) / (t1 * t1)
    return float(t1 * max(base, 0.0) ** (1.0 / h0))


def conformal_limit(values: np.ndarray, alpha: float) -> np.ndarray | float:
    """Split-conformal upper limit: the ``⌈(1-α)(n+1)⌉``-th smallest of ``n`` reference values.

    Parameters
    ----------
    values
        Out-of-sample (held-out) values of a statistic for in-control batches; along the
        last axis if 2-D, giving one limit per row.
    alpha
        False-alarm probability.

    Returns
    -------
    float or numpy.ndarray
        The limit, ``inf`` where there are too few values (``⌈(1-α)(n+1)⌉ > n``).
    """
    alpha = _check_alpha(alpha)
    v = np.sort(np.asarray(values, dtype=float), axis=-1)
    n = v.shape[-1]
    rank = int(np.ceil((1 - alpha) * (n + 1)))
    if rank > n:
        return np.full(v.shape[:-1], np.inf) if v.ndim > 1 else float("inf")
    out = v[..., rank - 1]
    return out if v.ndim > 1 else float(out)


def conformal_guard(values: np.ndarray, alpha: float) -> np.ndarray | float:
    """:func:`conformal_limit` where it is not the sample maximum (``n >= 2/α - 1``), else 0 (no guard)."""
    n = np.shape(values)[-1]
    if int(np.ceil((1 - float(alpha)) * (n + 1))) > n - 1:
        return np.zeros(np.shape(values)[:-1]) if np.ndim(values) > 1 else 0.0
    return conformal_limit(values, alpha)
