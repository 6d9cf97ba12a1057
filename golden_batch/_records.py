"""Batch records as plants export them: declared columns, a units row or mapping, time-order checks.

:func:`read_batch_records` reads a CSV, Parquet or Excel table (long or wide layout)
with the batch-history reader of :func:`golden_batch.read_history` after renaming the
columns the user declares (``batch_id=``, ``time=``, ``phase=``) to the names that
reader knows. On top of it:

* **units** come from a mapping (``units={"T": "K"}``) checked with pint, or from a
  *units row* of a wide table: the first data row whose batch-id cell reads ``units``;
* the **time order** of the file is checked before the reader sorts it: repeated
  times (a sample written twice) and times that go back (rows out of order) per batch
  are counted with the file row of the first one (:class:`TimeOrder`);
* errors name the file (and sheet), row and the column as the user named it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from golden_batch._batchset import _NEEDS, _from_table, _strip_names
from golden_batch._excel import EXCEL_SUFFIXES, read_excel_table
from workbench.errors import ConfigError, DataError, UnitError, did_you_mean
from workbench.tables import MISSING_CELLS, Table

__all__ = ["BatchRecords", "TimeOrder", "read_batch_records", "check_unit"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", *EXCEL_SUFFIXES)
_RESERVED = ("batch_id", "timestamp", "elapsed", "units")


@dataclass(frozen=True)
class TimeOrder:
    """Time-order faults of one batch in the file (before the reader sorts the samples).

    Attributes
    ----------
    duplicate_times
        Samples whose time equals the time of the sample before (for a long table: of the
        same tag).
    backward_times
        Samples whose time is earlier than the time of the sample before.
    first_row
        File row (as :class:`workbench.tables.Table` numbers rows) of the first such sample, or None.
    """

    duplicate_times: int = 0
    backward_times: int = 0
    first_row: int | None = None


@dataclass(frozen=True)
class BatchRecords:
    """A raw batch set read from a table, with what the reader saw of the file.

    Attributes
    ----------
    data
        The raw batch set (dims ``batch`` × ``sample``), as :func:`read_history` returns it.
    source
        The file (``file.xlsx[Sheet]`` for a workbook sheet).
    layout
        ``"long"`` or ``"wide"``.
    time_order
        Batch id → :class:`TimeOrder` of its samples in the file.
    units_from
        Where the units came from: ``"mapping"``, ``"units row"``, ``"units column"`` or ``"none"``.
    """

    data: xr.Dataset
    source: str
    layout: str
    time_order: dict[str, TimeOrder] = field(default_factory=dict)
    units_from: str = "none"


def check_unit(unit: str, *, where: str) -> str:
    """``unit`` stripped, if pint knows it (``"1"`` for a dimensionless number); else a :class:`ConfigError`."""
    from workbench.units import parse_quantity

    text = str(unit).strip()
    if not text:
        raise ConfigError("empty unit; give a unit such as K, degC, bar, kg/h, % or 1 (dimensionless)", path=where)
    try:
        parse_quantity(f"1 {text}")
    except UnitError:
        raise ConfigError(f"'{text}' is not a unit pint knows; use e.g. K, degC, bar, kg/h, m3/h, % "
                          "or 1 (dimensionless)", path=where) from None
    return text


class _RowsAfterUnits(Table):
    """The data rows of a table read with a units row: rows are numbered as in the original file."""

    def __init__(self, frame: pd.DataFrame, base: Table, shift: int) -> None:
        super().__init__(frame, base.source, kind=base.kind)
        self._base, self._shift = base, shift

    def row(self, i: int) -> int:
        return self._base.row(i + self._shift)


def _read(path: Path, sheet: str | int | None) -> Table:
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_excel_table(path, sheet=sheet, needs=_NEEDS)
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"unknown batch-record format '{suffix}'; use .csv, .parquet or .xlsx "
                        "(a .nc batch set is already a history)", source=str(path))
    from workbench.tables import read_table

    return read_table(path, needs=_NEEDS, formats=(".csv", ".parquet", ".pq"))


def _declare(table: Table, *, batch_id: str | None, time: str | None, phase: str | None) -> dict[str, str]:
    """Rename the declared columns to the reader's names; returns reader name → the user's name."""
    _strip_names(table)
    cols = table.columns
    renames: dict[str, str] = {}
    for option, given, target, others in (("--batch-id", batch_id, "batch_id", ()),
                                          ("--time", time, "timestamp", ("elapsed",))):
        if given is None:
            continue
        name = str(given).strip()
        if name not in cols:
            raise table.missing_column(name, f"{option} names the {target.replace('_', ' ')} column",
                                       (*_RESERVED, *(k for k in renames.values())))
        if name == target or (name in others and target not in cols):
            continue
        for clash in (target, *others):
            if clash in cols and clash != name:
                raise DataError(f"{option} {name!r} and the column '{clash}' would both be the "
                                f"{'time' if target == 'timestamp' else 'batch id'}; rename or drop "
                                f"'{clash}', or leave out {option}", source=table.source)
        if name != target and name not in others:
            renames[name] = target
    if phase is not None and phase.strip() in renames:
        raise ConfigError(f"--phase {phase.strip()!r} is also the {renames[phase.strip()]} column; "
                          "give the phase its own column", path="--phase")
    if renames:
        table.frame = table.frame.rename(columns=renames)
    return {target: name for name, target in renames.items()}


def _units_row(table: Table, *, phase: str | None) -> tuple[Table, dict[str, str]]:
    """Split a units row off a wide table (first data row whose batch-id cell is ``units``)."""
    if not len(table.frame) or str(table.frame["batch_id"].iloc[0]).strip().lower() != "units":
        return table, {}
    units: dict[str, str] = {}
    for col in table.columns:
        if col in ("batch_id", "timestamp", "elapsed", phase):
            continue
        text = table.frame[col].iloc[0]
        text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text).strip()
        if text:
            try:
                units[col] = check_unit(text, where=f"column '{col}'")
            except ConfigError as exc:
                raise table.error(f"units row: {exc.message}", i=0, column=col) from None
    frame = table.frame.iloc[1:].copy()
    for col in frame.columns:  # the text of the units row made every column text: numbers are numbers again
        if col != "batch_id":  # batch 1 stays '1', not '1.0'
            frame[col] = _as_numbers(frame[col])
    return _RowsAfterUnits(frame, table, 1), units


def _as_numbers(series: pd.Series) -> pd.Series:
    """A text column as floats when every filled cell is a number, else unchanged (the reader reports the bad cell)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series
    texts = series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    missing = texts.str.lower().isin(MISSING_CELLS)
    numbers = pd.to_numeric(texts.where(~missing), errors="coerce")
    return numbers if bool((numbers.notna() | missing).all()) else series


def _sample_times(table: Table, sample_period: float | None) -> None:
    """Give a wide table without a time column the elapsed time ``k * sample_period`` of its rows."""
    has_time = any(c in table.columns for c in ("timestamp", "elapsed"))
    if sample_period is None:
        if not has_time:
            raise DataError(f"has no time column ('timestamp' or 'elapsed'); name it (--time COLUMN), or give "
                            f"the seconds between two rows of a batch (--sample-period) when the rows are "
                            f"evenly spaced samples; the columns: {', '.join(table.columns)}", source=table.source)
        return
    if has_time:
        raise ConfigError("the table has a time column; a sample period is only for a table without one",
                          path="sample_period")
    if not (np.isfinite(sample_period) and sample_period > 0):
        raise ConfigError(f"the sample period must be a positive number of seconds; got {sample_period}",
                          path="sample_period")
    ids = table.frame["batch_id"].astype(str).str.strip()
    table.frame = table.frame.assign(elapsed=ids.groupby(ids, sort=False).cumcount().to_numpy() * float(sample_period))


def _seconds(values: pd.Series) -> np.ndarray:
    """Times as float seconds (numbers as they are, date-times since the epoch); unparsable → NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return numbers.to_numpy(dtype=float, na_value=np.nan)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(values, utc=True, errors="coerce")
    out = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return out.to_numpy(dtype=float, na_value=np.nan)


def _time_order(table: Table, time_col: str, keys: list[str]) -> dict[str, TimeOrder]:
    """Per batch: repeated and backward times in file order (within ``keys`` groups), first row of either."""
    df = pd.DataFrame({k: table.frame[k].astype(str).str.strip() for k in keys})
    df["t"] = _seconds(table.frame[time_col])
    df["pos"] = np.arange(len(df))
    df = df[np.isfinite(df["t"].to_numpy())]
    out: dict[str, TimeOrder] = {}
    for bid, g in df.groupby("batch_id", sort=False):
        dup = back = 0
        first: int | None = None
        for _, s in g.groupby(keys[1:], sort=False) if len(keys) > 1 else [(None, g)]:
            d = np.diff(s["t"].to_numpy())
            bad = np.flatnonzero(d <= 0)
            dup += int(np.sum(d == 0))
            back += int(np.sum(d < 0))
            if bad.size:
                pos = int(s["pos"].to_numpy()[bad[0] + 1])
                first = pos if first is None else min(first, pos)
        out[str(bid)] = TimeOrder(dup, back, None if first is None else table.row(first))
    return out


def read_batch_records(
    path: str | Path,
    *,
    batch_id: str | None = None,
    time: str | None = None,
    phase: str | None = None,
    sheet: str | int | None = None,
    quality: str | Path | None = None,
    units: Mapping[str, str] | None = None,
    sample_period: float | None = None,
) -> BatchRecords:
    """Read batch records from a CSV, Parquet or Excel table into a raw batch set.

    Parameters
    ----------
    path
        The table: long (``batch_id, timestamp, tag, value[, units]``) or wide (batch id,
        time and one column per tag) layout, as :func:`golden_batch.read_history` reads them.
    batch_id, time, phase
        The columns holding the batch id, the time (date-times or seconds) and the phase of
        each sample, when they are not called ``batch_id``, ``timestamp``/``elapsed`` and ``phase``.
    sheet
        Sheet name or 0-based index of an Excel workbook.
    quality
        Optional table of batch-level quality, keyed by the same batch-id column.
    units
        Tag → unit (checked with pint); overrides a units row or units column of the file.
    sample_period
        For a wide table without a time column: seconds between two rows of a batch (the
        elapsed time of row ``k`` of a batch is ``k * sample_period``).

    Returns
    -------
    BatchRecords
        The batch set, the file's time-order faults per batch, the layout and where the units came from.

    Raises
    ------
    DataError
        A file, sheet, column or cell the reader cannot take (located: file[sheet]:row:column).
    ConfigError
        A declared column clashes with another, or a unit is not a unit.
    """
    path = Path(path)
    table = _read(path, sheet)
    table.require_rows(f"give {_NEEDS}")
    renamed = _declare(table, batch_id=batch_id, time=time, phase=phase)
    cols = set(table.columns)
    layout = "long" if {"batch_id", "timestamp", "tag", "value"} <= cols else "wide"
    file_units: dict[str, str] = {}
    units_from = "units column" if layout == "long" and "units" in cols else "none"
    if layout == "wide" and "batch_id" in cols:
        table, file_units = _units_row(table, phase=phase.strip() if phase else None)
        if file_units:
            units_from = "units row"
        table.require_rows(f"give {_NEEDS}")
        _sample_times(table, sample_period)
    elif sample_period is not None:
        raise ConfigError("a sample period is for a wide table without a time column; this table is long "
                          "(its timestamps are the times)", path="sample_period")
    if "batch_id" in cols and not pd.api.types.is_numeric_dtype(table.frame["batch_id"].dtype):  # 'B1 ' = 'B1'
        table.frame = table.frame.assign(batch_id=table.frame["batch_id"].map(
            lambda v: v.strip() if isinstance(v, str) else v))
    if layout == "long":  # tag names as the wide layout's column names: without surrounding spaces
        table.frame = table.frame.assign(tag=table.frame["tag"].map(lambda v: v.strip() if isinstance(v, str) else v))
    try:
        ds = _from_table(table, phase=phase)
    except DataError as exc:
        if exc.column_name in renamed:  # name the column as the user did
            raise DataError(exc.message, source=exc.source, row=exc.row, column=exc.column,
                            column_name=renamed[exc.column_name]) from None
        raise
    time_col = "timestamp" if "timestamp" in table.columns else "elapsed"
    order = _time_order(table, time_col, ["batch_id", "tag"] if layout == "long" else ["batch_id"])
    if quality is not None:
        _add_quality(ds, quality, batch_id=renamed.get("batch_id"))
    for tag, unit in file_units.items():
        if tag in ds:
            ds[tag].attrs["units"] = unit
    if units:
        known = [str(v) for v in ds.data_vars if v not in ("elapsed", "phase")]
        for tag, unit in units.items():
            name = str(tag).strip()
            if name not in ds or name in ("elapsed", "phase"):
                raise ConfigError(f"no tag '{name}' in {table.source}; {did_you_mean(name, known)}",
                                  path=f"units.{name}")
            ds[name].attrs["units"] = check_unit(unit, where=f"units.{name}")
        units_from = "mapping"
    ds.attrs["source_file"] = table.source
    return BatchRecords(ds, table.source, layout, order, units_from)


def _add_quality(ds: xr.Dataset, path: str | Path, *, batch_id: str | None) -> None:
    """Batch-level quality columns of a table keyed by ``batch_id`` (or the declared batch-id column)."""
    qpath = Path(path)
    needs = f"a quality table with columns {batch_id or 'batch_id'},<kpi>..."
    if qpath.suffix.lower() in EXCEL_SUFFIXES:
        qtable = read_excel_table(qpath, needs=needs)
    else:
        from workbench.tables import read_table

        qtable = read_table(qpath, needs=needs, formats=(".csv", ".parquet", ".pq"))
    _strip_names(qtable)
    key = next((k for k in (batch_id, "batch_id") if k is not None and k in qtable.columns), None)
    if key is None:
        raise qtable.missing_column(batch_id or "batch_id", needs, ("batch_id",))
    index = [str(v).strip() for v in qtable.frame[key].tolist()]
    unknown = sorted(set(index) - set(map(str, ds["batch"].values)))
    if unknown and len(unknown) == len(set(index)):
        raise qtable.error(f"no batch id of the quality table is a batch of the history (e.g. {unknown[0]!r}); "
                           f"the history has {', '.join(map(str, ds['batch'].values[:5]))}...", column=key)
    for col in qtable.columns:
        if col == key:
            continue
        vals = qtable.numbers(col, what="a number (or an empty cell)", allow_missing=True)
        series = pd.Series(vals, index=index)
        if series.index.duplicated().any():
            i = int(np.flatnonzero(series.index.duplicated())[0])
            raise qtable.error(f"batch {index[i]!r} has a second row; give one row per batch", i=i, column=key)
        ds[col] = xr.DataArray(series.reindex(ds["batch"].values.astype(str)).to_numpy(dtype=float),
                               dims=("batch",), attrs={"units": "1", "long_name": col, "role": "quality"})
