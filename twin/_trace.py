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
crash leaves at most the rows of one flush unrecorded, and :func:`open_trace`, the one
reader (read-only, safe while a twin appends), cuts arrays a crash or a flush in
progress left longer than ``time``. Alarm events are appended to ``events.jsonl``
inside the store as they start and end. The store is Zarr v3 (:mod:`twin._zarr_writer`),
the one Zarr format of the workbench; its ``attrs["kind"]`` is ``"twin-trace"``
(``"line-twin-trace"`` for a line twin).
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
from workbench.dataset import add_provenance, sanitize_attrs
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
        self._group_attrs = add_provenance(xr.Dataset(), **{"kind": "twin-trace", **self.attrs}).attrs
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
        self._group_attrs.update(sanitize_attrs(attrs))
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


def _open_group(path: Path, group: str | None = None):
    """The store's Zarr group, read-only; :class:`DatasetError` if ``path`` is not a trace store."""
    import zarr

    node = path / group if group else path
    if not (node / "zarr.json").exists() and not (node / ".zgroup").exists():
        if group:
            raise DatasetError(f"{path}: trace store has no {group!r} group (yet)")
        raise DatasetError(f"{path}: not a twin trace store (no zarr.json); run `twin monitor` or `twin replay` first, "
                           "or give the directory a TraceStore wrote")
    try:
        g = zarr.open_group(str(path), mode="r", path=group or "")
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{node}: not a readable Zarr group ({exc})") from exc
    if not group and "time" not in g:
        raise DatasetError(f"{path}: not a twin trace store (no 'time' array); run `twin monitor` or "
                           "`twin replay` first")
    return g


def _dims(arr) -> tuple[str, ...]:
    return tuple(getattr(arr.metadata, "dimension_names", None) or arr.attrs.get("_ARRAY_DIMENSIONS", ()))


def _complete_rows(arrays: dict[str, Any]) -> int:
    """Rows that every time-indexed array has (``time`` is written last, so it bounds them)."""
    return min(int(a.shape[0]) for a in arrays.values() if _dims(a)[:1] == ("time",))


def _read_group(group, start: int, rows: int | None, lazy: bool) -> xr.Dataset:
    """The arrays of ``group`` as a CF-decoded Dataset, time-indexed arrays cut to rows ``start:``."""
    arrays = dict(group.arrays())
    timed = [a for a in arrays.values() if _dims(a)[:1] == ("time",)]
    n = _complete_rows(arrays) if timed else 0
    lo, hi, _ = slice(start, None).indices(n)
    if rows is not None:
        hi = min(hi, lo + max(int(rows), 0))
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {}
    for name, arr in arrays.items():
        dims = _dims(arr)
        attrs = {k: v for k, v in arr.attrs.items() if k != "_ARRAY_DIMENSIONS"}
        if arr.dtype.kind == "f" and isinstance(attrs.get("_FillValue"), str):
            attrs.pop("_FillValue")  # xarray's base64 NaN: the stored fill is NaN already
        if lazy and dims[:1] == ("time",) and name not in dims:  # coordinates are read: xarray indexes them
            import dask.array as dsa

            values = dsa.from_zarr(arr)[lo:hi]
        else:
            values = arr[lo:hi] if dims[:1] == ("time",) else arr[...]
        target = coords if name in dims or name in ("tag_unit",) else data
        target[name] = (dims, values, attrs)
    ds = xr.Dataset(data, coords=coords, attrs=dict(group.attrs))
    return xr.decode_cf(ds, decode_timedelta=False)


def open_trace(path: str | Path, *, start: int = 0, rows: int | None = None, lazy: bool = False,
               group: str | None = None) -> xr.Dataset:
    """Read a trace store: its complete rows, read-only, safe while a twin appends to it.

    The one reader of what :class:`TraceStore` writes (twin and line-twin traces). A row
    is complete when ``time`` has it: the writer writes ``time`` last, so after a crash,
    or while a live twin is flushing, the other arrays may be longer; they are cut in
    memory, never on disk.

    Parameters
    ----------
    path
        Store directory written by :class:`TraceStore`.
    start
        First row to read, negative from the end (``start=n_seen`` reads only what was
        appended since the last poll; ``start=-600`` the last 600 rows).
    rows
        Read at most this many rows (default: up to the last complete row).
    lazy
        Dask-backed arrays instead of loading the rows (for traces larger than memory).
    group
        A sub-group instead of the trace, e.g. ``"forecast"`` (a line twin's shift
        forecasts, rewritten at each forecast: a read meeting it half-written raises).

    Returns
    -------
    xarray.Dataset
        CF-decoded (``time`` as datetime64 for ``time_kind="datetime"``), checked against
        the trace conventions; ``value.sel(source="real") - value.sel(source="virtual")``
        is the deviation. Attrs add ``tag_units`` and ``alarm_events`` (JSON, the merged
        events of :func:`read_events`) and, for a line twin, ``snapshots`` (JSON list).
        ``ds.sizes["time"]`` is the number of rows read (0 when nothing is new).

    Raises
    ------
    DatasetError
        If ``path`` is not a trace store (or has no such group).
    """
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = _open_group(path, group)
        try:
            ds = _read_group(g, int(start), rows, lazy)
        except (OSError, ValueError, KeyError) as exc:
            if group:  # mid-rewrite
                raise DatasetError(f"{path / group}: group being rewritten ({exc})") from exc
            raise
    if group:
        return ds
    if "kind" not in ds.attrs:  # written before kinds
        ds.attrs["kind"] = "twin-trace"
    ds.attrs["tag_units"] = json.dumps(ds.wb.tag_units())
    ds.attrs["alarm_events"] = json.dumps(read_events(path))
    snaps = path / "snapshots.jsonl"
    if snaps.exists():
        ds.attrs["snapshots"] = json.dumps([json.loads(x) for x in snaps.read_text().splitlines() if x.strip()])
    ds.wb.validate(trace=True, name=str(path))
    return ds


def trace_rows(path: str | Path) -> int:
    """Deprecated: ``open_trace(path, lazy=True).sizes["time"]``.

    Number of complete rows (0 if there is no store yet).
    """
    warnings.warn("twin.trace_rows is deprecated; use twin.open_trace(path, lazy=True).sizes['time']",
                  DeprecationWarning, stacklevel=2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _complete_rows(dict(_open_group(Path(path)).arrays()))
    except DatasetError:
        return 0


def read_trace_rows(path: str | Path, *, start: int = 0) -> xr.Dataset:
    """Deprecated: use :func:`open_trace` (``open_trace(path, start=start)``)."""
    warnings.warn("twin.read_trace_rows is deprecated; use twin.open_trace(path, start=start)",
                  DeprecationWarning, stacklevel=2)
    return open_trace(path, start=start)


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
