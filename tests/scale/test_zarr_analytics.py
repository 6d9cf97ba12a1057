"""Golden-batch fitting from a chunked Zarr store: same model as in memory, peak memory bounded by a chunk.

"Larger than memory" is shown by measurement: the peak of Python/NumPy
allocations (``tracemalloc``, which sees NumPy, Zarr and Dask buffers) during a
chunked fit is a fraction of the raw history's size, whereas the in-memory fit
peaks at more than the history itself; so a history a few times larger than the
RAM still fits with chunks small enough.
"""

from __future__ import annotations

import tracemalloc
import warnings

import pytest
import xarray as xr

import golden_batch as gb
from workbench.dataset import write_zarr

pytestmark = pytest.mark.dask


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _store(tmp_path, history, chunk):
    path = tmp_path / "history.zarr"
    write_zarr(history.chunk({"batch": chunk}), path)  # stored chunk = a few batches, as when appended per batch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lazy = gb.read_history(path, chunks={"batch": chunk})
    return lazy[list(history.data_vars)]  # Zarr does not keep the variable order


def test_chunked_fit_equals_in_memory_with_bounded_peak_memory(tmp_path):
    """Peak memory of the chunked fit follows the chunk, not the history; the model is the same.

    Local synchronous Dask reductions (as on one worker): a distributed client in the
    process adds a fixed few MB of communication buffers (measured in docs/scaling.md).
    """
    import dask

    params = dict(select="yield >= 0.9", alignment="elapsed", n_points=60, n_components=3)
    gb.GoldenBatchModel(**params).fit(gb.make_synthetic_history(12, seed=6, n_samples=100))  # warm caches
    peaks, raws = [], []
    with dask.config.set(scheduler="synchronous"):
        for n_samples in (2000, 6000):
            history = gb.make_synthetic_history(40, seed=6, n_samples=n_samples, faults={"cooling": 2})
            lazy = _store(tmp_path / str(n_samples), history, chunk=4)
            chunked, peak = _peak(lambda lazy=lazy: gb.GoldenBatchModel(**params).fit(lazy))
            peaks.append(peak)
            raws.append(history.nbytes)
    memory, peak_memory = _peak(lambda: gb.GoldenBatchModel(**params).fit(history))
    assert chunked.selection_.selected == memory.selection_.selected
    xr.testing.assert_allclose(memory.to_dataset().drop_attrs(), chunked.to_dataset().drop_attrs(),
                               rtol=1e-9, atol=1e-12)
    raw = raws[-1]
    assert peak_memory > raw  # the in-memory fit needs the whole history and copies of it
    assert peaks[-1] < 0.5 * raw, f"chunked fit peaked at {peaks[-1] / 1e6:.1f} MB for a {raw / 1e6:.1f} MB history"
    growth = (peaks[1] - peaks[0]) / (raws[1] - raws[0])
    assert growth < 0.25, f"chunked peak grew by {growth:.2f} byte per byte of history (3x the samples)"


@pytest.mark.parametrize("alignment", ["indicator", "dtw"])
def test_chunked_alignment_equals_in_memory(tmp_path, alignment):
    history = gb.make_synthetic_history(16, seed=8, n_samples=80)
    lazy = _store(tmp_path, history, chunk=5)
    kw = dict(n_points=40, indicator="conversion" if alignment == "indicator" else None)
    a = gb.Aligner(alignment, **kw).fit(history)
    b = gb.Aligner(alignment, **kw).fit(lazy)
    xr.testing.assert_allclose(a.to_dataset(), b.to_dataset(), rtol=1e-12)
    xr.testing.assert_allclose(a.transform(history), b.transform(lazy), rtol=1e-9, atol=1e-12)
    xr.testing.assert_allclose(a.transform(history), a.transform(history, executor=2), rtol=0, atol=0)
