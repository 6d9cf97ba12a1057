"""EWMA and CUSUM statistics: the recursions, their ARLs (also used by the twin's detectors).

* **EWMA** (Roberts 1959; Montgomery, *Introduction to Statistical Quality
  Control*, 7th ed., 2013, §9.2): ``z_t = λ x_t + (1-λ) z_{t-1}``; the standard
  deviation of ``z_t`` for independent ``x`` with σ is
  ``σ √(λ/(2-λ) (1 - (1-λ)^{2t}))`` (Montgomery eq. 9.25), ``σ √(λ/(2-λ))``
  asymptotically.
* **CUSUM** (Page 1954; Montgomery §9.1, tabular form, in σ units):
  ``C⁺_t = max(0, s_t - k + C⁺_{t-1})``, ``C⁻_t = max(0, -s_t - k + C⁻_{t-1})``
  with ``s_t = (x_t - μ0)/σ``; a signal when either exceeds ``h``.

:func:`ewma_arl` (Markov chain of Brook & Evans, *Biometrika* 59, 1972) and
:func:`cusum_arl_siegmund` (Siegmund 1985) give theoretical run lengths.

The recursions are plain loops over Python floats: the same IEEE operations as a
NumPy element-wise update, so :class:`twin.DetectorBank` gets bit-identical
results from its per-sample and its block path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["ewma_recursion", "cusum_recursion", "ewma_arl", "cusum_arl_siegmund"]


def ewma_recursion(x: Iterable[float], lam: float, z0: float = 0.0) -> list[float]:
    """``z_t = λ x_t + (1-λ) z_{t-1}`` from ``z0``: the list of ``z_1 … z_n``."""
    lam = float(lam)
    oml = 1 - lam
    z = float(z0)
    out = []
    for xv in x:
        z = lam * xv + oml * z
        out.append(z)
    return out


def cusum_recursion(d: Iterable[float], c0: float = 0.0) -> list[float]:
    """One side of a tabular CUSUM, ``C_t = max(0, d_t + C_{t-1})`` from ``c0`` (``d_t = ±s_t - k``).

    A NaN ``d_t`` gives a NaN ``C_t`` (as ``numpy.maximum`` would).
    """
    c = float(c0)
    out = []
    for dv in d:
        v = dv + c
        c = 0.0 if v <= 0.0 else v
        out.append(c)
    return out


def ewma_arl(lam: float, L: float, shift: float = 0.0, *, states: int = 301) -> float:
    """Average run length of a two-sided EWMA chart (asymptotic limits), Markov chain.

    Brook & Evans (1972) / Lucas & Saccucci (1990): the in-control region
    ``|z| < L σ_z`` is cut into ``states`` cells; the ARL is the first entry
    of ``(I - P)^{-1} 1`` for the cell containing 0.

    Parameters
    ----------
    lam, L
        EWMA weight and limit width.
    shift
        Mean shift in units of the observation σ.
    states
        Number of transient states (odd).

    Returns
    -------
    float
        ARL in samples.
    """
    from scipy.stats import norm

    h = L * math.sqrt(lam / (2 - lam))
    m = states
    w = 2 * h / m
    centers = -h + w * (np.arange(m) + 0.5)
    upper = (centers[None, :] + w / 2 - (1 - lam) * centers[:, None]) / lam
    lower = (centers[None, :] - w / 2 - (1 - lam) * centers[:, None]) / lam
    P = norm.cdf(upper - shift) - norm.cdf(lower - shift)
    arl = np.linalg.solve(np.eye(m) - P, np.ones(m))
    return float(arl[m // 2])


def cusum_arl_siegmund(k: float, h: float, shift: float = 0.0) -> float:
    """ARL of a two-sided tabular CUSUM by Siegmund's approximation.

    One-sided ARL ``(exp(-2Δb) + 2Δb - 1) / (2Δ²)`` with ``Δ = δ - k`` and
    ``b = h + 1.166`` (``b²`` when Δ = 0); the two sides combine as
    ``1/ARL = 1/ARL⁺ + 1/ARL⁻`` (Montgomery 2013, §9.1.4).
    """

    def one(delta: float) -> float:
        b = h + 1.166
        if abs(delta) < 1e-12:
            return b * b
        return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta * delta)

    return 1.0 / (1.0 / one(shift - k) + 1.0 / one(-shift - k))
