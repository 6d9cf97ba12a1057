"""Historian replay: NetCDF, Zarr, CSV or Parquet, long or wide, at 1×, N× or max speed.

Accepted layouts
----------------
*wide*: one time column/coordinate and one column/variable per tag::

    time,                 TI101,  FI201
    2026-01-05T08:00:00,  351.2,  0.0012

*long*: one row per (time, tag) with columns ``time``, ``tag``, ``value`` and
optionally ``unit``::

    time,  tag,    value,  unit
    0.0,   TI101,  351.2,  K

NetCDF/Zarr datasets are wide (one variable per tag along ``time``, units from
``attrs["units"]``) or hold a ``value`` variable over ``(time, tag)``. A
datetime time axis gives epoch-second frame times (``time_kind="datetime"``); a
numeric one gives elapsed seconds.

A file that is no such table (empty, binary, not UTF-8, ragged rows, no ``time``
column, a time cell that is neither a date-time nor a number) raises
:class:`~workbench.errors.DataError` naming file:row:column, the cell and the
accepted formats; the CLI exits with code 2. Bad *values* and missing times
(empty/NaN cells) are not errors: the data-quality gate flags them.
"""

from __future__ import annotations

import math
import time as _time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from twin.sources._base import Frame, Sample, Source
from workbench.errors import ConfigError, DataError

__all__ = ["ReplaySource", "read_history"]

_NEEDS = ("a historian table with a 'time' column and one column per tag (wide), or columns time,tag,value[,unit] "
          "(long)")
#: What a time cell may hold, for messages.
TIME_FORMATS = ("accepted: ISO 8601 date-times such as 2026-01-05T08:00:00 or 2026-01-05 08:00:00+01:00 "
                "(one format for the whole column), or numbers of elapsed seconds")
_SUFFIXES = {".nc": "netcdf", ".nc4": "netcdf", ".zarr": "zarr", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class ReplaySource(Source):
    """Replay a historian file as a stream of frames.

    Parameters
    ----------
    path
        ``.nc``, ``.zarr``, ``.csv`` or ``.parquet`` file (or Zarr directory).
    speed
        ``1`` for real time, ``N`` for N× faster, ``"max"`` (or ``0``/``inf``) as
        fast as possible.
    tags
        Restrict to these tags (default: all columns).
    units
        Units for tags whose file carries none (wide CSV/Parquet).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float | str = "max",
        tags: list[str] | None = None,
        units: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.speed = _speed(speed)
        self._rows, self._units, self.time_kind, self._wide = _read_history(self.path, tags=tags)
        if units:
            for tag, unit in units.items():
                self._units.setdefault(tag, unit)
        self._closed = False
        self._columns = None

    @property
    def n_frames(self) -> int:
        """Number of frames in the file."""
        return len(self._rows)

    def columns(self) -> tuple[np.ndarray, list[str], np.ndarray, dict[str, str]] | None:
        """Columnar form ``(times, tags, values, units)`` of a wide file replayed at max speed, else None.

        ``values`` is a float array (rows × tags) holding exactly what the data-quality
        gate makes of each raw value (non-numeric → NaN). The :class:`~twin.Twin` uses
        it to process blocks of samples at once; :meth:`frames` stays the reference.
        """
        if self.speed != math.inf or self._wide is None:
            return None
        if self._columns is None:
            times, names, block = self._wide
            if block.dtype.kind in "fiu":
                values = np.ascontiguousarray(block, dtype=float)
            else:  # mixed or object columns: the gate's own conversion, element by element
                from twin._quality import _as_float

                values = np.array([[_as_float(v) for v in row] for row in block.tolist()], dtype=float)
                values = values.reshape(len(times), len(names))
            self._columns = (np.asarray(times, dtype=float), list(names), values, dict(self._units))
        return self._columns

    def frame(self, index: int) -> Frame:
        """Frame number ``index`` of the file, as :meth:`frames` yields it."""
        t, values = self._rows[index]
        units = self._units
        return Frame(t, {tag: Sample(tag, v, t, units.get(tag)) for tag, v in values})

    def frames(self) -> Iterator[Frame]:
        wall0 = _time.monotonic()
        t0 = None
        units = self._units
        for t, values in self._rows:
            if self._closed:
                return
            if self.speed != math.inf:
                t0 = t if t0 is None else t0
                delay = (t - t0) / self.speed - (_time.monotonic() - wall0)
                if delay > 0:
                    _time.sleep(delay)
            yield Frame(t, {tag: Sample(tag, v, t, units.get(tag)) for tag, v in values})

    def close(self) -> None:
        self._closed = True


def _speed(speed: float | str) -> float:
    if isinstance(speed, str):
        text = speed.strip().lower()
        if text in ("max", "inf", "fast", ""):
            return math.inf
        try:
            speed = float(text[:-1] if text.endswith(("x", "×")) else text)
        except ValueError:
            raise ConfigError(f'replay speed "{speed}" is not a number; use 1, 10 (×) or "max"') from None
    if speed <= 0 or math.isinf(speed):
        return math.inf
    return float(speed)


def _time_seconds(values) -> tuple[np.ndarray, str]:
    import pandas as pd

    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").astype(np.int64) / 1e9, "datetime"
    if arr.dtype == object or np.issubdtype(arr.dtype, np.str_):
        try:
            parsed = pd.to_datetime(pd.Series(arr), utc=True)
        except (ValueError, TypeError):
            return pd.to_numeric(pd.Series(arr)).to_numpy(float), "elapsed"
        return parsed.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64) / 1e9, "datetime"
    if np.issubdtype(arr.dtype, np.timedelta64):
        return arr.astype("timedelta64[ns]").astype(np.int64) / 1e9, "elapsed"
    return arr.astype(float), "elapsed"


def _table_times(table, column: str) -> tuple[np.ndarray, str]:
    """The time column of a historian table in seconds; a cell that is no time raises a located :class:`DataError`.

    Missing times (empty, ``NaN``, ``NaT``) stay NaN: like every bad sample they are the
    data-quality gate's to flag, not a reason to refuse the file.
    """
    import pandas as pd

    from workbench.tables import MISSING_CELLS

    series = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype):
        t, kind = _time_seconds(series.to_numpy())
        return np.where(series.isna().to_numpy(), np.nan, t), kind
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan), "elapsed"
    texts = pd.Series(table.cells(column), dtype=object)
    filled = np.flatnonzero(~texts.str.lower().isin(MISSING_CELLS).to_numpy())
    out = np.full(len(texts), np.nan)
    if not filled.size:
        return out, "elapsed"
    cells = texts.iloc[filled]
    numbers = pd.to_numeric(cells, errors="coerce")
    if numbers.notna().all():
        out[filled] = numbers.to_numpy(dtype=float)
        return out, "elapsed"
    if numbers.notna().iloc[0]:  # the first time sets the column's kind: name the first cell that is no number
        i = int(filled[np.flatnonzero(numbers.isna().to_numpy())[0]])
        raise table.error(f"{texts[i]!r} is not a number of seconds like the column's first time "
                          f"{cells.iloc[0]!r}; {TIME_FORMATS}", i=i, column=column)
    with warnings.catch_warnings():  # "could not infer format": a bad cell is reported below
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(cells, utc=True)
        except (ValueError, TypeError, OverflowError):
            parsed = pd.to_datetime(cells, utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(filled[bad[0]])
        first = "" if bad[0] == 0 else f" in the format of the column's first time {cells.iloc[0]!r}"
        raise table.error(f"{texts[i]!r} is not a date-time{first}; {TIME_FORMATS}", i=i, column=column)
    out[filled] = parsed.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64) / 1e9
    return out, "datetime"


def read_history(path: str | Path, *, tags: list[str] | None = None):
    """Read a historian file into ``(rows, units, time_kind)``.

    ``rows`` is a list of ``(time_s, [(tag, value), ...])`` sorted by nothing —
    file order is kept, so the data-quality gate sees out-of-order rows as they are.

    Raises
    ------
    DataError
        Unknown format, missing, empty, binary or malformed file, no time column, or a
        time cell that is neither a date-time nor a number (named by file:row:column).
        A subclass of :class:`~workbench.errors.DatasetError` (exit code 2 on the CLI).
    """
    rows, units, time_kind, _ = _read_history(path, tags=tags)
    return rows, units, time_kind


def _read_history(path: str | Path, *, tags: list[str] | None = None):
    """:func:`read_history` plus ``(times, names, block)`` for wide files (None for long ones)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such historian file; give a .nc, .zarr, .csv or .parquet path")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown historian format '{path.suffix}'; use one of {', '.join(sorted(_SUFFIXES))}"
        )
    if kind in ("netcdf", "zarr"):
        import xarray as xr

        try:
            ds = xr.open_dataset(path, engine="h5netcdf") if kind == "netcdf" else xr.open_zarr(path, consolidated=False)
            ds = ds.load()
        except Exception as exc:  # h5py, zarr and xarray raise OSError, ValueError, KeyError... for a non-dataset
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            fmt = "NetCDF file" if kind == "netcdf" else "Zarr store"
            raise DataError(f"is not a readable {fmt} ({reason}); give {_NEEDS} or a dataset with a time axis",
                            source=str(path)) from None
        if "time" not in ds.coords and "time" not in ds.dims:
            raise DataError(f"{path}: no 'time' coordinate; historian datasets need one")
        t, time_kind = _time_seconds(ds["time"].values)
        if "value" in ds and "tag" in ds["value"].dims:
            names = [str(x) for x in ds["tag"].values]
            block = ds["value"].transpose("time", "tag").values
            units = {n: ds["value"].attrs.get("units") for n in names}
            if "tag_unit" in ds.coords:
                units = dict(zip(names, map(str, ds["tag_unit"].values), strict=True))
        else:
            names = [str(v) for v in ds.data_vars if ds[v].dims == ("time",)]
            block = np.column_stack([ds[n].values for n in names]) if names else np.empty((len(t), 0))
            units = {n: ds[n].attrs.get("units") for n in names}
        frame = pd.DataFrame(block, columns=names)
        frame.insert(0, "time", t)
        long = False
    else:
        from workbench.tables import read_table

        table = read_table(path, needs=_NEEDS)
        table.require_rows(f"give {_NEEDS}")
        frame = table.frame
        tcol = table.find("time")
        if tcol is None:
            raise table.missing_column("time", f"a historian file needs {_NEEDS}", ("time", "tag", "value", "unit"))
        t, time_kind = _table_times(table, tcol)
        frame = frame.rename(columns={tcol: "time"})
        frame["time"] = t
        cols = {str(c).strip().lower(): c for c in frame.columns}
        long = {"tag", "value"} <= set(cols)
        if long:
            frame = frame.rename(columns={cols["tag"]: "tag", cols["value"]: "value"})
            if "unit" in cols:
                frame = frame.rename(columns={cols["unit"]: "unit"})
            units = (
                frame.drop_duplicates("tag").set_index("tag")["unit"].astype(str).to_dict()
                if "unit" in frame.columns
                else {}
            )
        else:
            units = {}
    wide = None
    if long:
        if tags is not None:
            frame = frame[frame["tag"].isin(tags)]
        rows = []
        times = frame["time"].to_numpy()
        tag_col = frame["tag"].astype(str).to_numpy()
        val_col = frame["value"].to_numpy()
        # group consecutive rows with the same time (file order is kept)
        start = 0
        for i in range(1, len(frame) + 1):
            if i == len(frame) or times[i] != times[start]:
                rows.append((float(times[start]), list(zip(tag_col[start:i], val_col[start:i], strict=True))))
                start = i
    else:
        names = [c for c in frame.columns if c != "time" and (tags is None or c in tags)]
        block = frame[names].to_numpy()
        times = frame["time"].to_numpy(float)
        rows = [(float(times[i]), list(zip(names, block[i], strict=True))) for i in range(len(frame))]
        wide = (times, names, block)
    units = {k: v for k, v in units.items() if v not in (None, "nan")}
    return rows, units, time_kind, wide
