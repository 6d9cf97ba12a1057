"""A synchronous appender of Zarr v3 arrays for the twin's trace store.

Why not ``zarr`` itself: zarr-python 3 runs every store and codec operation on its own
event-loop thread and a thread pool. Creating the ten arrays of a trace and writing a
flush costs ~40 thread hand-offs; on an idle machine that is 10–35 ms per flush, and on a
busy 2-core machine each hand-off can wait a scheduler slice. A twin replaying an 8-h
batch (2881 samples) steps its FMU in ~10 ms, so the store, not the twin, set the pace
(issue 5's benchmark, ``benchmarks/twin_loop.py``). This module writes the same bytes
directly from the calling thread: a JSON document per node and one compressed file per
chunk, about 1 ms per flush.

Format (Zarr v3 core specification, https://zarr-specs.readthedocs.io/en/latest/v3/core/):

* a group is a directory with ``zarr.json`` ``{"zarr_format": 3, "node_type": "group",
  "attributes": {...}}``;
* an array is a directory with ``zarr.json`` (shape, ``data_type``, regular chunk grid,
  ``default`` chunk-key encoding with separator ``/``, ``fill_value``, ``codecs``,
  ``dimension_names``, ``attributes``) and chunk files ``c/<i>/<j>/...``;
* each chunk holds the full chunk shape (edge chunks padded with ``fill_value``) encoded by
  the codec chain ``bytes`` (little-endian, C order) then ``zstd`` (level 0, no checksum)
  — the chain zarr-python and xarray choose by default, so a store written here is
  byte-for-byte what :meth:`xarray.Dataset.to_zarr` writes for the same data (chunk
  contents) and reads back identically (``tests/twin/test_trace.py``);
* strings use zarr-python's ``fixed_length_utf32`` data type (what it writes for NumPy
  ``<U`` arrays).

Crash safety: chunk files are replaced atomically (write to a temporary name, then
:func:`os.replace`; a failed write removes its temporary file), and an array's
``zarr.json`` (its shape) is written only after its chunks, so a reader never sees a
shape whose chunks are missing. An append that fails (``OSError``, e.g. a full disk) can
be undone in memory (:meth:`AppendableArray.checkpoint` / :meth:`~AppendableArray.rollback`)
and retried: it rewrites the same chunks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numcodecs import Zstd

__all__ = ["AppendableArray", "write_group"]

_ZSTD = Zstd(level=0, checksum=False)
_NAN_FILL_ATTR = "AAAAAAAA+H8="  # xarray's _FillValue attr for float NaN (base64 of the float64 NaN)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".partial")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:  # e.g. a full disk: leave no half-written file taking space
        tmp.unlink(missing_ok=True)
        raise


def write_group(path: str | Path, attrs: dict[str, Any]) -> None:
    """Write (or rewrite) the ``zarr.json`` of a Zarr v3 group at ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _atomic_write(path / "zarr.json",
                  json.dumps({"attributes": attrs, "zarr_format": 3, "node_type": "group"}).encode())


def _data_type(dtype: np.dtype) -> tuple[Any, Any, np.dtype]:
    """Zarr v3 ``data_type``, ``fill_value`` (JSON) and the on-disk NumPy dtype."""
    if dtype.kind == "U":
        return ({"name": "fixed_length_utf32", "configuration": {"length_bytes": dtype.itemsize}},
                "", dtype.newbyteorder("<"))
    if dtype.kind == "f":
        return dtype.name, "NaN", dtype.newbyteorder("<")
    if dtype.kind in "iub":
        return dtype.name, (False if dtype.kind == "b" else 0), dtype.newbyteorder("<")
    raise TypeError(f"trace arrays hold numbers or strings, not {dtype}")


class AppendableArray:
    """One Zarr v3 array grown along axis 0, written synchronously.

    Parameters
    ----------
    path
        Array directory (inside a group directory).
    dtype
        NumPy dtype of the elements (float, int, unsigned, bool or ``<U`` strings).
    row_shape
        Shape of one row (the dimensions after the first).
    chunk_rows
        Rows per chunk along axis 0.
    dims
        Dimension names (xarray's ``dimension_names``).
    attrs
        Array attributes (``units``, ``long_name``, …); floats also get xarray's
        ``_FillValue`` attribute so NaN round-trips as missing.

    Notes
    -----
    Rows in the last, partly filled chunk are kept in memory, so an append never
    reads from disk: it rewrites that chunk with the new rows and writes the chunks
    after it, then the metadata with the new shape.
    """

    def __init__(self, path: str | Path, dtype: np.dtype | str, row_shape: tuple[int, ...], *,
                 chunk_rows: int, dims: tuple[str, ...], attrs: dict[str, Any]) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(row_shape)
        self.chunk_rows = int(chunk_rows)
        self.dims = tuple(dims)
        self.attrs = dict(attrs)
        self.data_type, self.fill_value, self._disk_dtype = _data_type(self.dtype)
        if self.dtype.kind == "f":
            self.attrs.setdefault("_FillValue", _NAN_FILL_ATTR)
        self.rows = 0
        self._dirs: set[Path] = set()  # chunk directories known to exist
        self._tail = np.empty((0, *self.row_shape), dtype=self.dtype)  # rows of the last partial chunk

    @classmethod
    def resume(cls, path: str | Path, *, dims: tuple[str, ...], attrs: dict[str, Any] | None = None,
               rows: int | None = None) -> AppendableArray:
        """Continue an array written earlier (reads its metadata and its last partial chunk once).

        ``attrs``: the array's attributes from now on (default: the stored ones).
        ``rows``: keep only this many rows (fewer than stored: the metadata is rewritten, the
        rows after it are overwritten by the next appends).
        """
        import zarr

        arr = zarr.open_array(str(path), mode="r")
        out = cls(path, arr.dtype.to_native_dtype() if hasattr(arr.dtype, "to_native_dtype") else arr.dtype,
                  arr.shape[1:], chunk_rows=arr.chunks[0], dims=dims,
                  attrs=dict(arr.attrs) if attrs is None else attrs)
        out.rows = arr.shape[0] if rows is None else min(int(rows), arr.shape[0])
        start = (out.rows // out.chunk_rows) * out.chunk_rows
        out._tail = np.asarray(arr[start:out.rows]).astype(out.dtype)
        if out.rows != arr.shape[0]:
            out.write_metadata()
        return out

    def checkpoint(self) -> tuple[int, np.ndarray]:
        """The in-memory state an append changes (rows, last partial chunk), for :meth:`rollback`."""
        return self.rows, self._tail

    def rollback(self, state: tuple[int, np.ndarray]) -> None:
        """Forget appends since :meth:`checkpoint` (after one failed): the next append rewrites their chunks."""
        self.rows, self._tail = state

    def metadata(self) -> dict[str, Any]:
        """The array's ``zarr.json`` document."""
        codecs: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
        if self._disk_dtype.itemsize == 1 and self.dtype.kind != "U":
            codecs = [{"name": "bytes"}]
        codecs.append({"name": "zstd", "configuration": {"level": 0, "checksum": False}})
        return {
            "shape": [self.rows, *self.row_shape],
            "data_type": self.data_type,
            "chunk_grid": {"name": "regular",
                           "configuration": {"chunk_shape": [self.chunk_rows, *self.row_shape]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": self.fill_value,
            "codecs": codecs,
            "attributes": self.attrs,
            "dimension_names": list(self.dims),
            "zarr_format": 3,
            "node_type": "array",
            "storage_transformers": [],
        }

    def write_metadata(self) -> None:
        """Write ``zarr.json`` with the current shape."""
        if self.path not in self._dirs:
            self.path.mkdir(parents=True, exist_ok=True)
            self._dirs.add(self.path)
        _atomic_write(self.path / "zarr.json", json.dumps(self.metadata()).encode())

    def _chunk_bytes(self, rows: np.ndarray) -> bytes:
        full = np.empty((self.chunk_rows, *self.row_shape), dtype=self._disk_dtype)
        full[len(rows):] = np.nan if self.dtype.kind == "f" else (0 if self.dtype.kind != "U" else "")
        full[:len(rows)] = rows
        return _ZSTD.encode(full.tobytes())

    def append(self, data: np.ndarray, *, metadata: bool = True) -> None:
        """Append rows (``(n, *row_shape)``); write the touched chunks, then the metadata.

        Parameters
        ----------
        data
            The new rows.
        metadata
            False to leave ``zarr.json`` for the caller to write (:meth:`write_metadata`),
            e.g. to order several arrays' metadata writes.
        """
        data = np.asarray(data, dtype=self.dtype).reshape((-1, *self.row_shape))
        if not len(data):
            return
        first_chunk = self.rows // self.chunk_rows
        pending = np.concatenate([self._tail, data]) if len(self._tail) else data
        key_tail = "/".join(["0"] * len(self.row_shape))
        chunk_dir = self.path / "c"
        for k in range(0, len(pending), self.chunk_rows):
            rows = pending[k:k + self.chunk_rows]
            index = first_chunk + k // self.chunk_rows
            key = chunk_dir / f"{index}/{key_tail}" if key_tail else chunk_dir / str(index)
            if key.parent not in self._dirs:
                key.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(key.parent)
            _atomic_write(key, self._chunk_bytes(rows))
        self.rows += len(data)
        kept = self.rows % self.chunk_rows
        self._tail = pending[len(pending) - kept:].copy() if kept else pending[:0].copy()
        if metadata:
            self.write_metadata()
