"""Exact order statistics of a sample spread over many jobs, without gathering the sample.

The B-lives of :func:`simulation.life.simulate_missions` are the sample
``p``-quantile and the distribution-free order-statistic interval of
:func:`simulation.life._stats.quantile_ci` (Meeker, Hahn & Escobar 2017,
*Statistical Intervals*, §5.2). Both read a handful of global ranks of the
sorted sample of all missions. Instead of sending every mission's life back to
the caller, each job (a chunk of ``n_i`` missions) sends a *window*: its own
sorted lives at local ranks ``lo_i .. hi_i − 1`` around the expected position
``n_i · r / N`` of each needed global rank ``r``, plus ``lo_i`` (how many of its
lives lie below the window).

Exactness. Let ``w`` be the merged, sorted windows of all chunks and
``C = Σ lo_i``. Every life left out below chunk ``i``'s window is
``≤ a_i`` (its window minimum) and every life left out above is
``≥ b_i`` (its window maximum). With ``A = max a_i`` over chunks that left
something out below and ``B = min b_i`` over chunks that left something out
above, any ``w[j]`` with ``A ≤ w[j] ≤ B`` has at most ``C + j`` lives strictly
below it and at least ``C + j + 1`` lives at or below it, so it *is* the global
order statistic of rank ``C + j`` — ties included. A needed rank outside that
range is a *miss*, detected exactly; the caller then falls back to gathering
every life. Windows are ``±`` :data:`WINDOW_SIGMAS` hypergeometric standard
deviations wide, so a miss is a ~10⁻¹⁵ event per chunk.

The sample quantile itself is NumPy's default (``method="linear"``, Hyndman &
Fan 1996 type 7); :func:`linear_quantile` repeats NumPy's arithmetic step by
step so that the result is bit-identical to ``np.quantile`` on the full sample
(tested against it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = [
    "WINDOW_SIGMAS",
    "needed_ranks",
    "window_fractions",
    "take_windows",
    "rank_values",
    "linear_quantile",
    "quantile_ci_at",
]

#: half-width of a chunk's window in standard deviations of its count below a global rank
WINDOW_SIGMAS = 8.0


def _ci_ranks(n: int, p: float, confidence: float) -> tuple[int, int]:
    """``lo``, ``hi`` of :func:`simulation.life._stats.quantile_ci` (1-based order statistics)."""
    a = (1 - confidence) / 2
    return int(stats.binom.ppf(a, n, p)), int(stats.binom.ppf(1 - a, n, p)) + 1


def _interp_indexes(n: int, p: float) -> tuple[int, int, float]:
    """NumPy's ``linear`` quantile: previous / next 0-based index and the weight ``gamma``.

    Mirrors ``numpy.lib._function_base_impl._quantile`` and ``_get_indexes``
    (NumPy 2.x): virtual index ``(n − 1)·q``; at or above ``n − 1`` both
    neighbours are the last value (index −1), below 0 the first; ``gamma`` is
    the virtual index minus the (clamped) previous index.
    """
    virtual = (n - 1) * np.float64(p)
    prev = nxt = int(np.floor(virtual))
    nxt = prev + 1
    if virtual >= n - 1:
        prev = nxt = -1
    if virtual < 0:
        prev = nxt = 0
    gamma = float(virtual - np.intp(prev))
    return prev % n, nxt % n, gamma


def needed_ranks(n: int, p: float, confidence: float) -> list[int]:
    """0-based ranks of the sorted sample that :func:`quantile_ci_at` reads for ``p``."""
    prev, nxt, _ = _interp_indexes(n, p)
    lo, hi = _ci_ranks(n, p, confidence)
    ranks = {prev, nxt}
    if lo >= 1:
        ranks.add(lo - 1)
    if hi <= n:
        ranks.add(hi - 1)
    return sorted(ranks)


def window_fractions(n: int, ps: Sequence[float], confidence: float) -> tuple[tuple[float, float], ...]:
    """Per ``p``: the needed ranks as fractions ``(r_min / n, (r_max + 1) / n)`` of the sample."""
    out = []
    for p in ps:
        r = needed_ranks(n, p, confidence)
        out.append((r[0] / n, (r[-1] + 1) / n))
    return tuple(out)


def _window(n_i: int, f_lo: float, f_hi: float, sigmas: float) -> tuple[int, int]:
    f = min(max(0.5 * (f_lo + f_hi), 0.0), 1.0)
    margin = sigmas * math.sqrt(n_i * f * (1 - f)) + 4
    lo = min(max(0, math.floor(n_i * f_lo - margin)), n_i)
    hi = min(max(lo, math.ceil(n_i * f_hi + margin)), n_i)
    return lo, hi


def take_windows(
    x: np.ndarray, fractions: Sequence[tuple[float, float]], sigmas: float = WINDOW_SIGMAS
) -> list[tuple[int, np.ndarray]]:
    """A job's windows: per fraction pair, ``(lo, sorted x at local ranks lo .. hi−1)``.

    Linear time: one ``np.partition`` at the window edges, then a sort of the
    window alone.
    """
    n = len(x)
    if n == 0:
        return [(0, x[:0].copy()) for _ in fractions]
    bounds = [_window(n, f_lo, f_hi, sigmas) for f_lo, f_hi in fractions]
    kth = sorted({k for lo, hi in bounds if hi > lo for k in (lo, hi - 1)})
    part = np.partition(x, kth) if kth else x
    return [(lo, np.sort(part[lo:hi])) for lo, hi in bounds]


def rank_values(windows: Sequence[tuple[int, np.ndarray]], sizes: Sequence[int], ranks: Sequence[int]) -> dict[int, float] | None:
    """Global order statistics at ``ranks`` from one window per chunk, or None on a miss.

    Parameters
    ----------
    windows
        ``(lo_i, sorted values)`` of chunk ``i`` (see :func:`take_windows`).
    sizes
        ``n_i``, the number of values in chunk ``i``.
    ranks
        0-based ranks of the sorted union of all chunks.
    """
    if any(n_i and not len(w) for (_, w), n_i in zip(windows, sizes, strict=True)):
        return None  # a chunk whose window is empty bounds nothing
    below = sum(lo for lo, _ in windows)
    merged = np.sort(np.concatenate([w for _, w in windows]))
    a = max((w[0] for (lo, w) in windows if lo > 0), default=-np.inf)
    b = min((w[-1] for (lo, w), n_i in zip(windows, sizes, strict=True) if lo + len(w) < n_i), default=np.inf)
    out = {}
    for r in ranks:
        j = r - below
        if not (0 <= j < len(merged)) or not (a <= merged[j] <= b):
            return None
        out[r] = float(merged[j])
    return out


def linear_quantile(n: int, p: float, at: Callable[[int], float]) -> float:
    """``np.quantile(x, p)`` (``method="linear"``) of a sample of ``n`` from its order statistics ``at(rank)``.

    Repeats NumPy's ``_lerp``: ``a + (b − a)·γ``, or ``b − (b − a)(1 − γ)`` when
    ``γ ≥ 0.5`` — the same float operations, hence the same bits.
    """
    prev, nxt, gamma = _interp_indexes(n, p)
    a, b = np.float64(at(prev)), np.float64(at(nxt))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = b - a
        if gamma >= 0.5:
            return float(b - diff * (1 - gamma))
        return float(a + diff * gamma)


def quantile_ci_at(n: int, p: float, confidence: float, at: Callable[[int], float]) -> np.ndarray:
    """:func:`simulation.life._stats.quantile_ci` from order statistics ``at(rank)`` (0-based)."""
    est = linear_quantile(n, p, at)
    lo, hi = _ci_ranks(n, p, confidence)
    lo_v = at(max(lo - 1, 0)) if lo >= 1 else np.nan
    hi_v = at(hi - 1) if hi <= n else np.nan
    return np.array([est, lo_v, hi_v])
