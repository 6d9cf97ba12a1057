"""Reading trace stores: :func:`open_trace`, the one reader of what :class:`~twin.TraceStore`
writes (complete rows only, read-only, safe while a twin appends), and the alarm log."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import xarray as xr

from workbench.errors import DatasetError

__all__ = ["open_trace", "read_events", "read_trace_rows", "trace_rows"]


_STORE_FILES = frozenset({"events.jsonl", "snapshots.jsonl"})
_TRACE_KINDS = ("twin-trace", "line-twin-trace")


def _path_state(path: Path) -> str:
    """``"new"`` (absent or an empty directory), ``"store"`` (a trace store, possibly one that
    crashed before or during its first flush) or ``"other"`` (anything else: never deleted)."""
    if not path.exists():
        return "new"
    if not path.is_dir():
        return "other"
    names = {p.name for p in path.iterdir()}
    if not names:
        return "new"
    if names <= _STORE_FILES:
        return "store"
    if "zarr.json" not in names:
        return "other"
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return "other"
    kind = (meta.get("attributes") or {}).get("kind")
    if meta.get("node_type") != "group":
        return "other"
    if kind in _TRACE_KINDS or (kind is None and {"time", "value", "residual", "alarm"} <= names):
        return "store"
    return "other"


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
