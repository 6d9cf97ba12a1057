"""The synchronous Zarr v3 appender: any sequence of appends reads back, through zarr, as their concatenation."""

from __future__ import annotations

import numpy as np
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin._zarr_writer import AppendableArray

DTYPES = ["f8", "u1", "u2", "i4", "<U5"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dtype=st.sampled_from(DTYPES), width=st.integers(0, 3), chunk=st.integers(1, 9),
       sizes=st.lists(st.integers(0, 20), min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_appends_read_back_as_concatenation(tmp_path_factory, dtype, width, chunk, sizes, seed):
    rng = np.random.default_rng(seed)
    shape = (width,) if width else ()
    path = tmp_path_factory.mktemp("a") / "x"
    arr = AppendableArray(path, dtype, shape, chunk_rows=chunk, dims=("time", "tag")[: 1 + bool(width)],
                          attrs={"units": "1"})
    parts = []
    for n in sizes:
        raw = rng.normal(size=(n, *shape)) * 100
        block = raw.astype(str).astype("<U5") if dtype == "<U5" else (
            np.abs(raw).astype(dtype) if dtype[0] in "ui" else raw.astype(dtype))
        if dtype == "f8" and n:
            block.flat[0] = np.nan
        arr.append(block)
        parts.append(block)
    arr.write_metadata()
    expected = np.concatenate(parts) if parts else np.empty((0, *shape))
    got = zarr.open_array(str(path), mode="r")[...]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    resumed = AppendableArray.resume(path, dims=arr.dims)
    assert resumed.rows == len(expected)
    np.testing.assert_array_equal(resumed._tail, expected[len(expected) - len(expected) % chunk:])  # noqa: SLF001
