"""The twin's trace store: real and virtual side by side, appended to Zarr.

Layout (an :class:`xarray.Dataset` following :mod:`workbench.dataset`):

=============  =====================  ==============================================
variable       dims                   meaning
=============  =====================  ==============================================
``value``      (time, source, tag)    ``source="real"``: measured value after the
                                      gate (NaN if unusable); ``"virtual"``: the
                                      twin's value (prediction for measured tags,
                                      the input actually fed for input tags)
``residual``   (time, tag)            real − virtual for measured tags
``statistic``  (time, tag)            EWMA/CUSUM statistic / its alarm limit
``alarm``      (time, tag)            alarm bits (1 limit, 2 EWMA, 4 CUSUM)
``quality``    (time, tag)            :class:`~twin.QualityFlag` bits
``gap``        (time)                 seconds of missing data before the sample
=============  =====================  ==============================================

Rows are buffered and appended every ``flush_interval`` seconds of wall time
(or every ``flush_rows`` rows); the ``time`` coordinate is written last, so a
crash leaves at most the rows of one flush unrecorded, and
:func:`open_trace` trims arrays a crash left longer than ``time``. Alarm events
are appended to ``events.jsonl`` inside the store as they start and end.
"""

from __future__ import annotations

import json
import shutil
import time as _time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from twin._zarr_writer import AppendableArray, write_group
from workbench.dataset import _sanitize_attrs, add_provenance, validate_dataset
from workbench.errors import DatasetError

__all__ = ["TraceStore", "open_trace", "read_events", "read_trace_rows", "trace_rows"]

_EPOCH_UNITS = "seconds since 1970-01-01T00:00:00"
_VARS = ("value", "residual", "statistic", "alarm", "quality", "gap")


class TraceStore:
    """Append-only Zarr trace of a running twin.

    Parameters
    ----------
    path
        Store directory (created; an existing store is replaced unless ``append``).
    tags
        All bound plant tags (inputs and measured outputs).
    units
        Unit per tag.
    time_kind
        ``"datetime"`` (frame times are epoch seconds; decoded as datetime64) or
        ``"elapsed"`` (seconds since batch start).
    flush_interval
        Wall-clock seconds between flushes.
    flush_rows
        Flush at the latest after this many rows.
    attrs
        Provenance and other dataset attrs.
    append
        Continue an existing store with the same tags instead of replacing it.
    """

    def __init__(
        self,
        path: str | Path,
        tags: Sequence[str],
        units: Sequence[str],
        *,
        time_kind: str = "elapsed",
        flush_interval: float = 2.0,
        flush_rows: int = 4096,
        attrs: dict[str, Any] | None = None,
        append: bool = False,
    ) -> None:
        self.path = Path(path)
        self.tags = list(tags)
        self.units = list(units)
        self.time_kind = time_kind
        self.flush_interval = float(flush_interval)
        self.flush_rows = int(flush_rows)
        self.attrs = dict(attrs or {})
        self._rows: list[tuple] = []
        self._blocks: list[tuple[np.ndarray, ...]] = []  # pending blocks (rows converted), in order
        self._n_block_rows = 0
        self._last_flush = _time.monotonic()
        self._created = append and (self.path / "zarr.json").exists()
        self._arrays: dict[str, AppendableArray] = {}
        self._group_attrs = add_provenance(xr.Dataset(), **self.attrs).attrs
        if self._created:  # continue the store: its attrs and arrays as they are on disk
            self._resume()
        self.rows_written = 0
        self.flushes = 0
        self.path.mkdir(parents=True, exist_ok=True)
        self._events_file = self.path / "events.jsonl"
        if not append and self._events_file.exists():
            self._events_file.unlink()

    def _resume(self) -> None:
        import zarr

        group = zarr.open_group(str(self.path), mode="r")
        self._group_attrs = {**group.attrs.asdict(), **self._group_attrs}
        complete = int(group["time"].shape[0])  # rows a crash left beyond it are dropped
        self._arrays = {name: AppendableArray.resume(self.path / name, dims=dims, attrs=at, rows=complete)
                        for name, (_, _, dims, at) in self._layout().items()}

    # -- writing --------------------------------------------------------------------------
    def append(
        self,
        time: float,
        real: np.ndarray,
        virtual: np.ndarray,
        residual: np.ndarray,
        statistic: np.ndarray,
        alarm: np.ndarray,
        quality: np.ndarray,
        gap: float = 0.0,
    ) -> None:
        """Buffer one row (arrays over ``tags``); flush when the interval is due."""
        self._rows.append((time, real, virtual, residual, statistic, alarm, quality, gap))
        if len(self._rows) >= self.flush_rows or _time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def log_event(self, event: dict[str, Any]) -> None:
        """Append one alarm-event record (start or end) to ``events.jsonl``."""
        with self._events_file.open("a") as fh:
            fh.write(json.dumps(event, default=float) + "\n")

    def append_block(
        self,
        time: np.ndarray,
        real: np.ndarray,
        virtual: np.ndarray,
        residual: np.ndarray,
        statistic: np.ndarray,
        alarm: np.ndarray,
        quality: np.ndarray,
        gap: np.ndarray,
    ) -> None:
        """Buffer a block of rows (arrays rows × tags; ``time``/``gap`` per row); flush when due.

        Equivalent to :meth:`append` row by row, with one flush check per block.
        """
        if self._rows:
            self._blocks.append(self._rows_block())
        self._blocks.append((
            np.asarray(time, dtype=float),
            np.stack([real, virtual], axis=1).astype(float),
            np.asarray(residual, dtype=float),
            np.asarray(statistic, dtype=float),
            np.asarray(alarm).astype(np.uint8),
            np.asarray(quality).astype(np.uint16),
            np.asarray(gap, dtype=float),
        ))
        self._n_block_rows += len(time)
        if self._n_block_rows >= self.flush_rows or _time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def _rows_block(self) -> tuple[np.ndarray, ...]:
        rows, self._rows = self._rows, []
        self._n_block_rows += len(rows)
        return (
            np.array([r[0] for r in rows], dtype=float),
            np.stack([np.stack([r[1], r[2]]) for r in rows]).astype(float),
            np.stack([r[3] for r in rows]).astype(float),
            np.stack([r[4] for r in rows]).astype(float),
            np.stack([r[5] for r in rows]).astype(np.uint8),
            np.stack([r[6] for r in rows]).astype(np.uint16),
            np.array([r[7] for r in rows], dtype=float),
        )

    @property
    def created(self) -> bool:
        """True once the store exists on disk (after the first flush with rows)."""
        return self._created

    def flush(self, **attrs: Any) -> None:
        """Write buffered rows to the store (``time`` last); ``attrs`` are added to the store's attrs."""
        self._last_flush = _time.monotonic()
        if self._rows:
            self._blocks.append(self._rows_block())
        self._group_attrs.update(_sanitize_attrs(attrs))
        if not self._blocks:
            if attrs and self._created:
                write_group(self.path, self._group_attrs)
            return
        blocks, self._blocks = self._blocks, []
        self._n_block_rows = 0
        parts = blocks[0] if len(blocks) == 1 else tuple(np.concatenate(p) for p in zip(*blocks, strict=True))
        t = parts[0]
        if not self._created:
            self._create()
        if attrs or not self._created:
            write_group(self.path, self._group_attrs)
        arrays = self._arrays
        for name, rows in zip(_VARS, parts[1:], strict=True):
            arrays[name].append(rows)
        arrays["time"].append(t)  # last: the length of time says which rows are complete
        self._created = True
        self.rows_written += len(t)
        self.flushes += 1

    def close(self, **attrs: Any) -> None:
        """Flush and record final attrs (e.g. gate summary, alarm events)."""
        self.flush(**attrs)

    def _layout(self) -> dict[str, tuple]:
        """Array name → (dtype, row shape, dims, attrs), the layout of the module docstring."""
        n = len(self.tags)
        unit_attr = json.dumps(dict(zip(self.tags, self.units, strict=True)))
        per_tag = {"coordinates": "tag_unit"}
        time_units = _EPOCH_UNITS if self.time_kind == "datetime" else "s"
        return {
            "value": ("f8", (2, n), ("time", "source", "tag"),
                      {"units": "mixed", "long_name": "tag value (units per tag in attrs tag_units)",
                       "tag_units": unit_attr, **per_tag}),
            "residual": ("f8", (n,), ("time", "tag"),
                         {"units": "mixed", "long_name": "residual real - virtual", "tag_units": unit_attr, **per_tag}),
            "statistic": ("f8", (n,), ("time", "tag"),
                          {"units": "1", "long_name": "EWMA/CUSUM statistic / alarm limit", **per_tag}),
            "alarm": ("u1", (n,), ("time", "tag"), {"units": "1", "long_name": "alarm bits (1 limit, 2 EWMA, 4 CUSUM)",
                                                    **per_tag}),
            "quality": ("u2", (n,), ("time", "tag"), {"units": "1", "long_name": "data-quality flag bits", **per_tag}),
            "gap": ("f8", (), ("time",), {"units": "s", "long_name": "missing data before sample"}),
            "time": ("f8", (), ("time",), {"units": time_units, "long_name": "time"}),
        }

    def _create(self) -> None:
        """Create an empty store: group, the fixed coordinates and the row arrays (shape 0)."""
        # a fresh store replaces an old one; keep the alarm events logged before the first flush
        logged = self._events_file.read_bytes() if self._events_file.exists() else None
        if self.path.exists():
            foreign = {p.name for p in self.path.iterdir()} - {"events.jsonl", "snapshots.jsonl"}
            if foreign and not (self.path / "zarr.json").exists():
                raise DatasetError(f"{self.path}: exists and is not a trace store ({len(foreign)} other entries, "
                                   f"e.g. {sorted(foreign)[0]!r}); give a new or trace-store path")
            shutil.rmtree(self.path)
        write_group(self.path, self._group_attrs)
        if logged is not None:
            self._events_file.write_bytes(logged)
        for name, dim, values, long_name in (("source", "source", ["real", "virtual"], "real plant or virtual twin"),
                                             ("tag", "tag", self.tags, "plant tag"),
                                             ("tag_unit", "tag", self.units, "unit of each tag")):
            arr = np.array(values)
            AppendableArray(self.path / name, arr.dtype, (), chunk_rows=max(len(arr), 1), dims=(dim,),
                            attrs={"long_name": long_name}).append(arr)
        self._arrays = {name: AppendableArray(self.path / name, dt, shape, chunk_rows=_CHUNK_ROWS, dims=dims, attrs=at)
                        for name, (dt, shape, dims, at) in self._layout().items()}


_CHUNK_ROWS = 4096  # rows per chunk along time (one chunk per default flush)


def trace_rows(path: str | Path) -> int:
    """Number of complete rows in a trace store (reads array metadata only; 0 if there is no store).

    A row is complete when ``time`` and every row array have it: the writer writes ``time``
    last, so after a crash or during a flush the other arrays may be longer.
    """
    import zarr

    path = Path(path)
    if not (path / "zarr.json").exists() or not (path / "time" / "zarr.json").exists():
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = zarr.open_group(str(path), mode="r")
        return min(int(arr.shape[0]) for name, arr in group.arrays() if name in (*_VARS, "time"))


def read_trace_rows(path: str | Path, *, start: int = 0) -> xr.Dataset:
    """Read a trace store's complete rows ``start:``, read-only (safe while a writer appends).

    A row is complete when ``time`` has it: the writer writes ``time`` last, so after a
    crash, or while a live twin is flushing, the other arrays may be longer; they are cut
    in memory, never on disk.

    Parameters
    ----------
    path
        Store directory written by :class:`TraceStore`.
    start
        First row to read (e.g. only what was appended since the last poll).

    Returns
    -------
    xarray.Dataset
        In memory, CF-decoded (``time`` as datetime64 for ``time_kind="datetime"``); not
        checked against the conventions (see :func:`open_trace`).

    Raises
    ------
    DatasetError
        If ``path`` is not a trace store.
    """
    import zarr

    path = Path(path)
    if not (path / "zarr.json").exists() or not (path / "time" / "zarr.json").exists():
        raise DatasetError(f"{path}: not a twin trace store (no zarr.json/time); run `twin monitor` or `twin replay` first")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = zarr.open_group(str(path), mode="r")
        arrays = dict(group.arrays())
        n = trace_rows(path)
        if all(arr.shape[0] == n for name, arr in arrays.items() if name in (*_VARS, "time")):
            return xr.open_zarr(path, consolidated=False).isel(time=slice(start, n)).load()
        data: dict[str, Any] = {}
        coords: dict[str, Any] = {}
        for name, arr in arrays.items():
            dims = tuple(getattr(arr.metadata, "dimension_names", None) or arr.attrs.get("_ARRAY_DIMENSIONS", ()))
            values = arr[start:n] if dims and dims[0] == "time" else arr[:]
            (coords if name in ("time", "source", "tag", "tag_unit") else data)[name] = (dims, values, dict(arr.attrs))
        return xr.decode_cf(xr.Dataset(data, coords=coords, attrs=dict(group.attrs)))


def open_trace(path: str | Path) -> xr.Dataset:
    """Open a trace store (its complete rows, read-only) with its alarm events, checked.

    Parameters
    ----------
    path
        Store directory written by :class:`TraceStore`.

    Returns
    -------
    xarray.Dataset
        Loaded into memory; ``value.sel(source="real") - value.sel(source="virtual")``
        is the deviation. Alarm events (if any) are in ``attrs["alarm_events"]``.

    Raises
    ------
    DatasetError
        If ``path`` is not a trace store.
    """
    ds = read_trace_rows(path)
    ds.attrs["alarm_events"] = json.dumps(read_events(path))
    units = dict(zip(map(str, ds["tag"].values), map(str, ds["tag_unit"].values), strict=True))
    ds.attrs["tag_units"] = json.dumps(units)
    validate_dataset(ds, trace=True, name=str(path))
    return ds


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """Alarm events of a trace store, merged from start/end records (ordered by start)."""
    file = Path(path) / "events.jsonl"
    if not file.exists():
        return []
    merged: dict[tuple, dict[str, Any]] = {}
    for line in file.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # torn last line after a crash
            continue
        key = (rec["tag"], rec["kind"], rec["start"])
        merged.setdefault(key, {}).update(rec)
    return sorted(merged.values(), key=lambda e: (e["start"], e["tag"]))
