"""Golden-batch fitting from a chunked Zarr store: same model as in memory, peak memory bounded by a chunk.

"Larger than memory" is shown by measurement: the peak of Python/NumPy
allocations (``tracemalloc``, which sees NumPy, Zarr and Dask buffers) during a
chunked fit is a fraction of the raw history's size, whereas the in-memory fit
peaks at more than the history itself; so a history a few times larger than the
RAM still fits with chunks small enough.
"""

from __future__ import annotations

import gc
import tracemalloc
import warnings

import pytest
import xarray as xr

import golden_batch as gb
from workbench.dataset import write_zarr

pytestmark = pytest.mark.dask


def _peak(fn):
    gc.collect()  # garbage of earlier work is not this call's memory
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

    params = dict(selection="yield >= 0.9", aligner=gb.Aligner(method="elapsed", n_points=60),
                  mpca=gb.BatchPCA(n_components=3))
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


def _twin_trace(path, n_batches: int, samples: int, *, tags: int = 4, gap: int = 7):
    """A twin trace store (``twin.TraceStore``) of ``n_batches`` batches separated by idle samples;
    tag ``batch`` holds the batch number (0 = no batch)."""
    import numpy as np

    from twin import TraceStore

    names = ["batch", *(f"x{j}" for j in range(tags))]
    store = TraceStore(path, names, ["1", *["K"] * tags], flush_rows=8192, flush_interval=1e9)
    rng = np.random.default_rng(3)
    t = 0.0
    for b in range(1, n_batches + 1):
        n = samples - (b % 3) * 11  # batches of different lengths
        for block_len, bid in ((n, float(b)), (gap, 0.0)):
            times = t + 10.0 * np.arange(block_len)
            t = times[-1] + 10.0
            real = np.column_stack([np.full(block_len, bid), 300 + rng.normal(size=(block_len, tags)).cumsum(0)])
            zeros = np.zeros_like(real)
            store.append_block(times, real, real + 0.1, zeros, zeros, zeros.astype(np.uint8),
                               zeros.astype(np.uint16), np.zeros(block_len))
    store.close()
    return path


def test_batches_from_a_twin_trace_streamed_equal_in_memory_with_bounded_memory(tmp_path):
    """Cutting a lazily opened twin trace store into batches streams it: the same batch set as from
    the whole trace in memory, with a peak that follows the chunks, not the trace."""
    import dask
    import numpy as np

    from twin import open_trace

    warm = _twin_trace(tmp_path / "warm.zarr", 3, 100)  # imports and caches outside the measurement
    peaks, raws = [], []
    # local synchronous Dask (as on one worker), like the chunked fit above: a distributed
    # client left in the process by another test would add its communication buffers
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.batches_from_trace(xr.open_zarr(warm, consolidated=False, chunks={}), "batch", out=tmp_path / "w.zarr")
        for n_batches in (12, 48):
            path = _twin_trace(tmp_path / f"trace{n_batches}.zarr", n_batches, 1500, tags=16)
            lazy = xr.open_zarr(path, consolidated=False, chunks={})  # the stored chunks: 4096 samples
            streamed, peak = _peak(lambda lazy=lazy, n=n_batches: gb.batches_from_trace(
                lazy, "batch", out=tmp_path / f"b{n}.zarr", chunk_rows=4096, batches_per_write=4))
            peaks.append(peak)
            raws.append(lazy["value"].nbytes)
    whole = gb.batches_from_trace(open_trace(path), "batch")
    assert list(streamed["batch"].values) == [str(float(b)) for b in range(1, 49)]
    assert streamed.sizes == whole.sizes and whole.sizes["sample"] == 1500
    for name in ("x0", "x15", "elapsed"):
        np.testing.assert_array_equal(streamed[name].values, whole[name].values)
    assert streamed["x0"].attrs["units"] == "K" and streamed["x0"].attrs["role"] == "trajectory"
    assert np.isnan(whole["x1"].values[0, -11:]).all()  # batch 1 is 11 samples shorter
    raw = raws[-1]
    assert peaks[-1] < raw, f"streaming peaked at {peaks[-1] / 1e6:.1f} MB for a {raw / 1e6:.1f} MB trace"
    # what grows is xarray's in-memory time index (8 bytes a sample, ~0.05 byte per byte here)
    growth = (peaks[1] - peaks[0]) / (raws[1] - raws[0])
    assert growth < 0.25, f"streaming peak grew by {growth:.2f} byte per byte of trace (4x the batches)"
