"""Server-side downsampling of long time series for interactive charts.

A browser chart of 86 400 points × 50 tags (one day at 1 Hz) is slow to ship and
to draw. The dashboard sends at most ``n_out`` points per trace for the visible
x-range and re-samples on zoom/pan. The selection is M4 (Jugel, Jerzak, Hackenbroich &
Markl 2014, "M4: A Visualization-Oriented Time Series Data Aggregation", PVLDB
7(10):797–808): first, last, minimum and maximum of each of ``n_out/4`` equal-width
x-bins, which draws the same pixels as the full series at that width and never
drops a spike (plain LTTB/MinMaxLTTB may). It is computed by the ``tsdownsample``
package that ships with plotly-resampler.
Gaps (NaN) are kept as gaps: NaN samples are never selected, and a NaN is
re-inserted where the selection jumps over a missing stretch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["downsample_indices", "downsample", "visible_slice"]


def downsample_indices(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Indices of at most ``n_out`` samples that keep the shape of ``y(x)``.

    Parameters
    ----------
    x
        Monotonic x values (float or datetime64).
    y
        Values; NaN allowed.
    n_out
        Target number of points (≥ 4).

    Returns
    -------
    numpy.ndarray
        Sorted int indices into ``x``/``y``.
    """
    n = len(y)
    if n <= n_out:
        return np.arange(n)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    idx_all = np.flatnonzero(finite)
    if idx_all.size <= n_out:
        return idx_all
    from tsdownsample import M4Downsampler

    xf = _as_float(x)[idx_all]
    yf = np.ascontiguousarray(y[idx_all])
    n_out = max(4, int(n_out) // 4 * 4)
    sel = M4Downsampler().downsample(np.ascontiguousarray(xf), yf, n_out=n_out)
    return idx_all[np.asarray(sel, dtype=np.int64)]


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.datetime64):
        return x.astype("datetime64[ns]").astype(np.int64).astype(float)
    return x.astype(float)


def visible_slice(x: np.ndarray, x0=None, x1=None) -> slice:
    """Index slice of the samples of sorted ``x`` inside ``[x0, x1]`` (plus one either side)."""
    x = np.asarray(x)
    if x0 is None and x1 is None:
        return slice(0, len(x))
    if np.issubdtype(x.dtype, np.datetime64):
        x0 = None if x0 is None else np.datetime64(str(x0).replace(" ", "T")[:26])
        x1 = None if x1 is None else np.datetime64(str(x1).replace(" ", "T")[:26])
    else:
        x0 = None if x0 is None else float(x0)
        x1 = None if x1 is None else float(x1)
    i0 = 0 if x0 is None else max(int(np.searchsorted(x, x0, side="left")) - 1, 0)
    i1 = len(x) if x1 is None else min(int(np.searchsorted(x, x1, side="right")) + 1, len(x))
    return slice(i0, i1)


def downsample(
    x: np.ndarray, y: np.ndarray, n_out: int = 1000, *, x0=None, x1=None, gap: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Downsampled ``(x, y)`` of the part of the series inside ``[x0, x1]``.

    Parameters
    ----------
    x, y
        The full series (``x`` sorted).
    n_out
        Points to return at most (plus NaN gap markers).
    x0, x1
        Visible range (``None``: open end). Datetime strings are accepted for
        datetime ``x`` (as plotly's ``relayoutData`` sends them).
    gap
        Insert a NaN between selected neighbours further apart than this (in x
        units, seconds for datetimes); default: 3 × the median sample spacing of
        the full series, and only where the source has NaN between them.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    sl = visible_slice(x, x0, x1)
    xs, ys = x[sl], y[sl]
    idx = downsample_indices(xs, ys, n_out)
    if idx.size == ys.size:  # nothing dropped: NaNs are still in place and break the line themselves
        return xs, ys
    if idx.size < 2:
        return xs[idx], ys[idx]
    nan_before = np.cumsum(~np.isfinite(ys))
    has_gap = nan_before[idx[1:]] - nan_before[idx[:-1]] > 0
    if gap is not None:
        xf = _as_float(xs[idx])
        scale = 1e9 if np.issubdtype(xs.dtype, np.datetime64) else 1.0
        has_gap &= np.diff(xf) > gap * scale
    if not has_gap.any():
        return xs[idx], ys[idx]
    # insert the first NaN sample of each skipped stretch so plotly breaks the line there
    extra = []
    for k in np.flatnonzero(has_gap):
        a, b = idx[k], idx[k + 1]
        nan_pos = a + 1 + int(np.argmax(~np.isfinite(ys[a + 1 : b])))
        extra.append(nan_pos)
    merged = np.union1d(idx, np.asarray(extra, dtype=np.int64))
    return xs[merged], ys[merged]
