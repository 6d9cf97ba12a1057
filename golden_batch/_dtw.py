"""Dynamic time warping with a Sakoe–Chiba window, offline and open-end online.

Local cost: squared Euclidean distance between (standardised, weighted)
multivariate samples. Step pattern: the symmetric pattern of Sakoe & Chiba
(1978, *IEEE Trans. ASSP* 26(1):43-49) without slope weights::

    D[i, j] = c[i, j] + min(D[i-1, j-1], D[i-1, j], D[i, j-1])

Each row ``i`` (one query sample) is computed in vectorised form: with
``a[j] = min(D[i-1, j-1], D[i-1, j])`` and prefix sums ``S`` of the row's cost,
``D[i, j] = S[j] + min_{k<=j}(a[k] - S[k-1])`` – the min-plus solution of the
in-row recursion. That makes a row cost one NumPy pass, which is also what the
**open-end** online alignment needs per new sample (Tormene et al. 2009,
*Artif. Intell. Med.* 45(1):11-34: the current reference position is
``argmin_j D[i, j]``).

Batch trajectories on the reference grid follow Kassidas, MacGregor & Taylor
(1998, *AIChE J.* 44(4):864-875): a reference point that several query samples
map to receives their mean.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["dtw_path", "dtw_row", "window_limits", "path_to_grid", "local_cost"]


def local_cost(reference: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of one sample ``(J,)`` to reference rows ``(m, J)``, NaN-aware.

    A missing value (NaN, in the sample or the reference) leaves its variable out of
    that distance and the sum over the observed variables is rescaled by ``J / J_obs``
    (the partial-distance strategy for incomplete data, Dixon 1979, *IEEE Trans. SMC*
    9(10):617-621); a pair with no variable observed on both sides costs 0.
    """
    d = reference - sample
    if not np.isnan(d).any():
        return np.sum(d * d, axis=1)
    ok = np.isfinite(d)
    n_obs = ok.sum(axis=1)
    s = np.sum(np.where(ok, d, 0.0) ** 2, axis=1)
    return np.where(n_obs > 0, s * d.shape[1] / np.maximum(n_obs, 1), 0.0)


def window_limits(i: np.ndarray | int, n_query: int, n_ref: int, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Sakoe–Chiba window around the (slanted) diagonal as reference index bounds for query rows.

    ``window`` is the half width as a fraction of the reference length; ``window >= 1``
    means no window.
    """
    i = np.asarray(i)
    centre = i * (n_ref - 1) / max(n_query - 1, 1)
    half = max(int(np.ceil(window * n_ref)), 1)
    lo = np.clip(np.floor(centre - half), 0, n_ref - 1).astype(int)
    hi = np.clip(np.ceil(centre + half), 0, n_ref - 1).astype(int)
    return lo, hi


def dtw_row(prev: np.ndarray | None, cost: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """One row of the accumulated-cost matrix.

    Parameters
    ----------
    prev
        Previous row ``D[i-1, :]`` (``inf`` outside its window), or None for the first row.
    cost
        Local costs ``c[i, :]`` (length ``n_ref``).
    lo, hi
        Inclusive window of reference indices allowed for this row.

    Returns
    -------
    numpy.ndarray
        ``D[i, :]`` with ``inf`` outside ``[lo, hi]``.
    """
    m = cost.shape[0]
    hi = m - 1 if hi is None else hi
    row = np.full(m, np.inf)
    c = cost[lo : hi + 1]
    s = np.cumsum(c)
    if prev is None:
        # first query sample: only horizontal moves from (0, 0)
        if lo == 0:
            row[: hi + 1] = s
        return row
    p = prev[lo : hi + 1]
    p_left = prev[lo - 1 : hi] if lo > 0 else np.concatenate(([np.inf], prev[lo:hi]))
    a = np.minimum(p, p_left)
    s_prev = np.concatenate(([0.0], s[:-1]))
    with np.errstate(invalid="ignore"):
        row[lo : hi + 1] = s + np.minimum.accumulate(a - s_prev)
    return row


def dtw_path(query: np.ndarray, reference: np.ndarray, *, window: float = 1.0,
             band: float | None = None) -> tuple[np.ndarray, float]:
    """Optimal warping path between two multivariate series.

    Parameters
    ----------
    query
        ``(n, J)`` samples of the batch to align.
    reference
        ``(m, J)`` samples of the reference batch.
    window
        Sakoe–Chiba half width as a fraction of ``m`` around the slanted diagonal.
    band
        Deprecated name of ``window``.

    Returns
    -------
    path : numpy.ndarray
        ``(L, 2)`` pairs ``(i, j)`` from ``(0, 0)`` to ``(n-1, m-1)``.
    distance : float
        ``sqrt(D[n-1, m-1])`` – the same convention as ``dtaidistance``.
    """
    if band is not None:
        warnings.warn("dtw_path(band=...) is deprecated and will be removed in the next release; "
                      "use dtw_path(window=...)", DeprecationWarning, stacklevel=2)
        window = band
    q = np.atleast_2d(np.asarray(query, dtype=float))
    r = np.atleast_2d(np.asarray(reference, dtype=float))
    if q.shape[0] == 1 and q.shape[1] > 1 and r.shape[1] == 1:
        q = q.T
    n, m = q.shape[0], r.shape[0]
    lo, hi = window_limits(np.arange(n), n, m, window)
    D = np.full((n, m), np.inf)
    prev = None
    for i in range(n):
        cost = local_cost(r[lo[i] : hi[i] + 1], q[i])
        full = np.zeros(m)
        full[lo[i] : hi[i] + 1] = cost
        prev = dtw_row(prev, full, lo[i], hi[i])
        D[i] = prev
    if not np.isfinite(D[-1, -1]):
        if not (np.isfinite(q).any() and np.isfinite(r).any()) or np.isinf(q).any() or np.isinf(r).any():
            raise ValueError(f"DTW cannot align: the query or the reference has no finite values or infinite "
                             f"ones (lengths {n} and {m}); fill or drop them, widening the window will not help")
        raise ValueError(f"DTW window {window} too narrow for lengths {n} and {m}; widen window")
    # backtrack
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            cand = (D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
            k = int(np.argmin(cand))
            if k == 0:
                i, j = i - 1, j - 1
            elif k == 1:
                i -= 1
            else:
                j -= 1
        path.append((i, j))
    return np.asarray(path[::-1]), float(np.sqrt(D[-1, -1]))


def path_to_grid(path: np.ndarray, values: np.ndarray, n_ref: int) -> np.ndarray:
    """Average query values over every reference index of a warping path.

    Parameters
    ----------
    path
        ``(L, 2)`` warping path.
    values
        ``(n, ...)`` query values (e.g. ``(n, J)`` variables or ``(n,)`` elapsed time).
    n_ref
        Reference length ``m``.

    Returns
    -------
    numpy.ndarray
        ``(m, ...)`` values on the reference grid (Kassidas et al. 1998).
    """
    vals = np.asarray(values, dtype=float)
    sums = np.zeros((n_ref,) + vals.shape[1:])
    counts = np.zeros(n_ref)
    np.add.at(sums, path[:, 1], vals[path[:, 0]])
    np.add.at(counts, path[:, 1], 1.0)
    return sums / counts.reshape((-1,) + (1,) * (vals.ndim - 1))
