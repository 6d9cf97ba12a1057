"""Control-chart constants computed from their definitions, not typed in from a table.

For subgroups of ``n`` independent normal observations with standard deviation σ
(Montgomery, *Introduction to Statistical Quality Control*, 7th ed., 2013, §6.2 and
Appendix VI, where the same numbers are tabulated):

* ``d2(n) = E[R/σ]``, the mean relative range:
  ``d2 = ∫ (1 - Φ(x)^n - (1 - Φ(x))^n) dx`` (Tippett 1925);
* ``d3(n) = sd[R/σ]``, from ``E[(R/σ)²] = ∫ 2w (1 - F_W(w)) dw`` with the range CDF
  ``F_W(w) = n ∫ φ(x) (Φ(x + w) - Φ(x))^(n-1) dx`` (Hartley 1942);
* ``c4(n) = E[s/σ] = sqrt(2/(n-1)) Γ(n/2) / Γ((n-1)/2)`` (exact);

and the factors of the three-sigma limits built from them: ``A2 = 3/(d2 √n)``,
``D3 = max(0, 1 - 3 d3/d2)``, ``D4 = 1 + 3 d3/d2``, ``A3 = 3/(c4 √n)``,
``B3 = max(0, 1 - 3 √(1 - c4²)/c4)``, ``B4 = 1 + 3 √(1 - c4²)/c4``.
The integrals use Simpson's rule (:func:`scipy.integrate.simpson`) on fine grids
(error < 1e-8); values are cached per ``n``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

__all__ = ["d2", "d3", "c4", "A2", "A3", "D3", "D4", "B3", "B4"]


def _check(n: int, low: int = 2) -> int:
    if int(n) != n or n < low:
        raise ValueError(f"subgroup size must be a whole number >= {low}, got {n!r}")
    return int(n)


_X = np.linspace(-10.0, 10.0, 4001)  # integration grid (N(0, 1) mass outside: < 1e-22)
_W = np.linspace(0.0, 16.0, 1601)


@cache
def d2(n: int) -> float:
    """Mean of the relative range ``R/σ`` of ``n`` normal observations."""
    from scipy.integrate import simpson
    from scipy.special import ndtr

    n = _check(n)
    cdf = ndtr(_X)
    return float(simpson(1.0 - cdf**n - (1.0 - cdf) ** n, x=_X))


@cache
def d3(n: int) -> float:
    """Standard deviation of the relative range ``R/σ`` of ``n`` normal observations."""
    from scipy.integrate import simpson
    from scipy.special import ndtr

    n = _check(n)
    x = _X[::2]
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    inner = (ndtr(x[None, :] + _W[:, None]) - ndtr(x)[None, :]) ** (n - 1)
    range_cdf = n * simpson(pdf[None, :] * inner, x=x, axis=1)
    second = simpson(2.0 * _W * (1.0 - range_cdf), x=_W)
    return float(math.sqrt(max(second - d2(n) ** 2, 0.0)))


@cache
def c4(n: int) -> float:
    """``E[s]/σ`` for the sample standard deviation of ``n`` normal observations (exact)."""
    n = _check(n)
    return float(math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2)))


def A2(n: int) -> float:
    """X̄ limits from R̄: ``x̿ ± A2 R̄``."""
    return 3.0 / (d2(n) * math.sqrt(n))


def A3(n: int) -> float:
    """X̄ limits from S̄: ``x̿ ± A3 S̄``."""
    return 3.0 / (c4(n) * math.sqrt(n))


def D3(n: int) -> float:
    """Lower R-chart factor: ``LCL = D3 R̄``."""
    return max(0.0, 1.0 - 3.0 * d3(n) / d2(n))


def D4(n: int) -> float:
    """Upper R-chart factor: ``UCL = D4 R̄``."""
    return 1.0 + 3.0 * d3(n) / d2(n)


def B3(n: int) -> float:
    """Lower S-chart factor: ``LCL = B3 S̄``."""
    c = c4(n)
    return max(0.0, 1.0 - 3.0 * math.sqrt(1.0 - c * c) / c)


def B4(n: int) -> float:
    """Upper S-chart factor: ``UCL = B4 S̄``."""
    c = c4(n)
    return 1.0 + 3.0 * math.sqrt(1.0 - c * c) / c
