"""Batch sets as xarray: construction, reading history files, phase segmentation.

A **raw batch set** is an :class:`xarray.Dataset` with dims ``batch`` × ``sample``:

* one data variable per process tag, dims ``(batch, sample)``, NaN after the
  end of shorter batches, ``attrs["role"] = "trajectory"``;
* ``elapsed`` ``(batch, sample)``: elapsed time since the batch start in s;
* batch-level quality / KPI variables, dims ``(batch,)``, ``attrs["role"] = "quality"``;
* optionally ``phase`` ``(batch, sample)``: integer phase index, with the phase
  names in ``attrs["phase_names"]``.

An **aligned batch set** (output of :class:`~golden_batch.Aligner`) has dims
``batch`` × ``time`` with a common float-seconds ``time`` grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from golden_batch._excel import EXCEL_SUFFIXES, read_excel_table
from golden_batch._expr import evaluate, parse_expression
from workbench.errors import ConfigError, DataError, DatasetError, did_you_mean

__all__ = [
    "make_batch_set",
    "read_history",
    "trajectory_variables",
    "quality_variables",
    "segment_phases",
    "batch_lengths",
]

LONG_COLUMNS = ("batch_id", "timestamp", "tag", "value")


def make_batch_set(
    trajectories: Mapping[str, np.ndarray],
    elapsed: np.ndarray,
    *,
    batch_ids: Sequence[str] | None = None,
    quality: Mapping[str, np.ndarray] | None = None,
    units: Mapping[str, str] | None = None,
    long_names: Mapping[str, str] | None = None,
    phase: np.ndarray | None = None,
    phase_names: Sequence[str] | None = None,
) -> xr.Dataset:
    """Build a raw batch set from arrays.

    Parameters
    ----------
    trajectories
        Tag name → array ``(n_batches, n_samples)`` (NaN-padded for short batches).
    elapsed
        Elapsed time in s, ``(n_samples,)`` shared by all batches or ``(n_batches, n_samples)``.
    batch_ids
        Batch names (default ``B0000``, ``B0001`` …).
    quality
        KPI name → array ``(n_batches,)``.
    units, long_names
        Per variable; units default to ``"1"``.
    phase, phase_names
        Optional integer phase index per sample and the phase names.

    Returns
    -------
    xarray.Dataset
        Raw batch set (dims ``batch``, ``sample``).
    """
    if not trajectories:
        raise DatasetError("a batch set needs at least one trajectory variable")
    first = np.asarray(next(iter(trajectories.values())), dtype=float)
    if first.ndim != 2:
        raise DatasetError(f"trajectories must be 2-D (batch, sample); got shape {first.shape}")
    n_b, n_s = first.shape
    units = dict(units or {})
    long_names = dict(long_names or {})
    ids = list(batch_ids) if batch_ids is not None else [f"B{i:04d}" for i in range(n_b)]
    if len(ids) != n_b:
        raise DatasetError(f"batch_ids has {len(ids)} names for {n_b} batches")
    el = np.asarray(elapsed, dtype=float)
    if el.ndim == 1 and el.size == n_s:
        el = np.broadcast_to(el, (n_b, n_s)).copy()
    if el.shape != (n_b, n_s):
        raise DatasetError(f"elapsed has shape {el.shape}; expected {(n_b, n_s)} or ({n_s},)")
    data_vars = {}
    for name, arr in trajectories.items():
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (n_b, n_s):
            raise DatasetError(f"trajectory '{name}' has shape {arr.shape}; expected {(n_b, n_s)}")
        data_vars[name] = xr.DataArray(
            arr,
            dims=("batch", "sample"),
            attrs={"units": units.get(name, "1"), "long_name": long_names.get(name, name), "role": "trajectory"},
        )
    # padding after a short batch: no tag has a value (a missing value in one tag keeps its sample)
    empty = np.all(np.stack([np.isnan(da.values) for da in data_vars.values()]), axis=0)
    el = np.where(empty, np.nan, el)
    data_vars["elapsed"] = xr.DataArray(
        el, dims=("batch", "sample"), attrs={"units": "s", "long_name": "elapsed batch time", "role": "elapsed"}
    )
    for name, arr in (quality or {}).items():
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (n_b,):
            raise DatasetError(f"quality '{name}' has shape {arr.shape}; expected ({n_b},)")
        data_vars[name] = xr.DataArray(
            arr, dims=("batch",),
            attrs={"units": units.get(name, "1"), "long_name": long_names.get(name, name), "role": "quality"},
        )
    if phase is not None:
        data_vars["phase"] = xr.DataArray(
            np.asarray(phase, dtype=np.int16), dims=("batch", "sample"),
            attrs={"units": "1", "long_name": "phase index", "role": "phase",
                   "phase_names": ",".join(phase_names or [])},
        )
    return xr.Dataset(data_vars, coords={"batch": np.asarray(ids, dtype=str), "sample": np.arange(n_s)}, attrs={"kind": "batch-set"})


def trajectory_variables(ds: xr.Dataset) -> list[str]:
    """Names of the process-trajectory variables of a batch set (role ``trajectory``)."""
    out = []
    for name, da in ds.data_vars.items():
        role = da.attrs.get("role")
        if role == "trajectory" or (role is None and da.dims in (("batch", "sample"), ("batch", "time"))
                                    and name not in ("elapsed", "phase", "warped_time")):
            out.append(str(name))
    return out


def quality_variables(ds: xr.Dataset) -> list[str]:
    """Names of the batch-level quality variables (role ``quality`` or dims ``(batch,)``)."""
    return [
        str(n) for n, da in ds.data_vars.items()
        if da.attrs.get("role") == "quality" or (da.attrs.get("role") is None and da.dims == ("batch",)
                                                 and np.issubdtype(da.dtype, np.number))
    ]


def batch_lengths(ds: xr.Dataset) -> np.ndarray:
    """Number of valid samples per batch of a raw batch set."""
    el = ds["elapsed"]
    if el.chunks is not None:  # Dask-backed: count chunk by chunk
        return np.asarray(el.count(el.dims[1]).values).astype(int)
    return np.sum(np.isfinite(el.values), axis=1).astype(int)


def read_history(path: str | Path, *, quality: str | Path | None = None, chunks: Any = None,
                 phase: str | None = None, sheet: str | int | None = None, time: str | None = None,
                 sample_period: float | None = None) -> xr.Dataset:
    """Read a batch history file into a raw batch set.

    Accepted layouts (by extension ``.nc``, ``.zarr``, ``.csv``, ``.parquet``):

    * NetCDF written by the workbench (a raw batch set, or a twin trace with a
      ``batch`` dim) – returned as is;
    * a Zarr store (directory) of such a batch set, opened lazily: with
      ``chunks`` (e.g. ``{"batch": 64}``) it is Dask-backed and may be larger
      than memory (:meth:`GoldenBatchModel.fit` works through it chunk by chunk);
    * **long** table with columns ``batch_id, timestamp, tag, value`` (optional
      ``units``); rows with an empty timestamp are batch-level quality values;
    * **wide** table with ``batch_id``, ``timestamp`` (or ``elapsed`` in s) and one
      column per tag.

    ``timestamp`` may be datetimes (elapsed time is counted from each batch's
    first sample) or numbers of seconds. Tables may also be Excel workbooks
    (``.xlsx``, read by python-calamine or openpyxl when one of them is installed;
    ``sheet`` picks the sheet). Column names are stripped of surrounding
    whitespace. A missing cell is NaN in its tag only; the sample is kept.

    The **phase** of each sample comes from the column ``phase`` names (numbers or
    text: ``heat-up``, ``feed`` …, coded 0, 1 … in order of first appearance, or in
    numeric order); a column called ``phase`` is taken as the phase column when
    ``phase`` is not given, never modelled as a process variable.

    Parameters
    ----------
    path
        History file.
    quality
        Optional table ``batch_id, <kpi>…`` with batch-level quality.
    chunks
        Dask chunks for a Zarr store (default: the store's own chunks).
    phase
        Column (wide table) or tag (long table) holding the phase of each sample.
    sheet
        Sheet name or 0-based index of an Excel workbook (default: the first sheet).
    time
        Time column of a wide table when it is not called ``timestamp`` or ``elapsed``.
    sample_period
        Seconds between samples: the time column (or, without one, the row order within
        each batch) counts samples, elapsed time is that count × ``sample_period``.
    """
    if sample_period is not None and not float(sample_period) > 0:
        raise ConfigError(f"sample_period must be > 0 s; got {sample_period}")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such history file; give a .nc, .zarr, .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix == ".zarr" or path.is_dir():
        from workbench.dataset import open_zarr

        try:
            ds = open_zarr(path, chunks=chunks if chunks is not None else {})
        except Exception as exc:  # zarr raises its own errors, OSError, KeyError... for a folder that is no store
            raise DataError(f"is not a readable Zarr store ({_first_line(exc)}); give {_NEEDS}",
                            source=str(path)) from None
        if "batch" not in ds.dims:
            raise DataError(f"{path}: has no 'batch' dim; a batch history needs dims batch × sample")
        ds = _restore_roles(ds)
    elif suffix == ".nc":
        from workbench.dataset import read_netcdf

        try:
            ds = read_netcdf(path)
        except DatasetError as exc:
            raise DataError(str(exc)) from None
        if "batch" not in ds.dims:
            raise DataError(f"{path}: has no 'batch' dim; a batch history needs dims batch × sample")
        ds = _restore_roles(ds)
    elif suffix in (".csv", ".parquet", ".pq"):
        from workbench.tables import read_table

        table = read_table(path, needs=_NEEDS, formats=(".csv", ".parquet", ".pq"))
        table.require_rows(f"give {_NEEDS}")
        ds = _from_table(table, phase=phase, time=time, sample_period=sample_period)
    elif suffix in EXCEL_SUFFIXES:
        table = read_excel_table(path, sheet=sheet, needs=_NEEDS)
        table.require_rows(f"give {_NEEDS}")
        ds = _from_table(table, phase=phase, time=time, sample_period=sample_period)
    else:
        raise DataError(f"{path}: unknown history format '{suffix}'; use .nc, .zarr, .csv, .parquet or .xlsx")
    if phase is not None and suffix not in (".csv", ".parquet", ".pq", *EXCEL_SUFFIXES) and phase not in ds:
        raise DataError(f"{path}: phase variable '{phase}' is not in the batch set; "
                        f"{did_you_mean(phase, list(ds.data_vars))}")
    if quality is not None:
        from workbench.tables import read_table

        qtable = read_table(quality, needs="a quality table with columns batch_id,<kpi>...")
        if qtable.find("batch_id") is None:
            raise qtable.missing_column("batch_id", "a quality table needs columns batch_id,<kpi>...", ("batch_id",))
        qdf = qtable.frame.rename(columns={qtable.find("batch_id"): "batch_id"})
        values = {col: qtable.numbers(col, what="a number (or an empty cell)", allow_missing=True)
                  for col in qdf.columns if col != "batch_id"}
        index = qdf["batch_id"].astype(str).to_numpy()
        for col, vals in values.items():
            series = pd.Series(vals, index=index)
            ds[col] = xr.DataArray(series.reindex(ds["batch"].values).to_numpy(dtype=float), dims=("batch",),
                                   attrs={"units": "1", "long_name": col, "role": "quality"})
    return ds


_NEEDS = ("a batch history: long columns batch_id,timestamp,tag,value[,units] or wide columns batch_id, "
          "timestamp (or elapsed) and one column per tag")
_TIME_FORMATS = ("accepted: ISO 8601 date-times such as 2026-01-05T08:00:00 (one format for the whole column) "
                 "or numbers of seconds")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check_times(table, column: str, *, allow_empty: bool) -> None:
    """Every (non-empty) cell of a timestamp/elapsed column is a number or a date-time, else a located error."""
    series = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        missing = np.flatnonzero(series.isna().to_numpy())
        if missing.size and not allow_empty:
            raise table.error(f"empty time cell; {_TIME_FORMATS}", i=int(missing[0]), column=column)
        return
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        table.numbers(column, what=f"a time ({_TIME_FORMATS})", allow_missing=allow_empty)
        return
    texts = pd.Series(table.cells(column), dtype=object)
    filled = np.flatnonzero((texts != "").to_numpy())
    if not allow_empty and filled.size < len(texts):
        i = int(np.flatnonzero((texts == "").to_numpy())[0])
        raise table.error(f"empty time cell; {_TIME_FORMATS}", i=i, column=column)
    if not filled.size:
        return
    numbers = pd.to_numeric(texts.iloc[filled], errors="coerce")
    if numbers.notna().all():
        return
    if numbers.notna().iloc[0]:
        i = int(filled[np.flatnonzero(numbers.isna().to_numpy())[0]])
        raise table.error(f"{texts[i]!r} is not a number of seconds like the column's first value; {_TIME_FORMATS}",
                          i=i, column=column)
    import warnings

    with warnings.catch_warnings():  # "could not infer format": the bad cell is reported below
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(texts.iloc[filled], utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(filled[bad[0]])
        raise table.error(f"{texts[i]!r} is not a date-time in the format of the column's first value; "
                          f"{_TIME_FORMATS}", i=i, column=column)


def _restore_roles(ds: xr.Dataset) -> xr.Dataset:
    for name, da in ds.data_vars.items():
        if "role" not in da.attrs:
            if name == "elapsed":
                da.attrs["role"] = "elapsed"
            elif name == "phase":
                da.attrs["role"] = "phase"
            elif da.dims == ("batch",):
                da.attrs["role"] = "quality"
            elif "batch" in da.dims:
                da.attrs["role"] = "trajectory"
    return ds


def _elapsed_seconds(ts: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(ts):
        return ts.to_numpy(dtype=float)
    parsed = pd.to_datetime(ts, errors="coerce", utc=True)
    return (parsed - parsed.min()).dt.total_seconds().to_numpy(dtype=float)


def _strip_names(table) -> None:
    """Column names without surrounding whitespace (``'T '`` → ``'T'``); two that become equal are an error."""
    names = [str(c).strip() for c in table.frame.columns]
    seen: dict[str, int] = {}
    for k, n in enumerate(names):
        if n in seen:
            raise DataError(f"columns {seen[n] + 1} and {k + 1} are both named '{n}' (surrounding spaces are "
                            "ignored); give every column its own name", source=table.source)
        seen[n] = k
    table.frame = table.frame.set_axis(names, axis=1)


def _phase_codes(values: list[str], numeric: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Integer phase codes of cell texts ('' = missing → -1) and the phase names.

    Numbers are coded in numeric order, text in order of first appearance.
    """
    texts = np.asarray(values, dtype=object)
    filled = texts != ""
    if numeric is not None and np.all(np.isfinite(numeric[filled])):
        levels = np.unique(numeric[filled])
        codes = np.where(filled, np.searchsorted(levels, np.where(filled, numeric, levels[0] if levels.size else 0)),
                         -1)
        return codes.astype(int), [f"{v:g}" for v in levels]
    names = list(dict.fromkeys(texts[filled].tolist()))
    index = {n: k for k, n in enumerate(names)}
    return np.array([index.get(t, -1) for t in texts.tolist()], dtype=int), names


def _fill_phase(codes: np.ndarray) -> np.ndarray:
    """Forward-fill missing phase codes (-1) within a batch, then back-fill the start."""
    out = codes.copy()
    idx = np.where(out >= 0, np.arange(out.size), 0)
    np.maximum.accumulate(idx, out=idx)
    out = out[idx]
    first = np.flatnonzero(codes >= 0)
    if first.size:
        out[: first[0]] = codes[first[0]]
    return out


def _from_table(table, *, phase: str | None = None, time: str | None = None,
                sample_period: float | None = None) -> xr.Dataset:
    """A raw batch set from a :class:`workbench.tables.Table`; bad cells raise a located :class:`DataError`."""
    _strip_names(table)
    df, source = table.frame, table.source
    cols = set(df.columns)
    if "batch_id" not in cols:
        raise table.missing_column("batch_id", f"a history table needs {_NEEDS}",
                                   ("batch_id", "timestamp", "elapsed", "tag", "value", "units", "phase"))
    phase_col = phase.strip() if phase else None
    units: dict[str, str] = {}
    quality: dict[str, dict[str, float]] = {}
    if set(LONG_COLUMNS) <= cols:
        _check_times(table, "timestamp", allow_empty=True)  # an empty timestamp marks a batch-level quality value
        df = df.copy()
        df["value"] = table.numbers("value", what="a number (or an empty cell)", allow_missing=True)
        df["batch_id"] = df["batch_id"].astype(str)
        df["tag"] = df["tag"].astype(str).str.strip()  # before units and quality values are keyed by tag
        if "units" in cols:
            for tag, unit in df.dropna(subset=["units"]).groupby("tag")["units"].first().items():
                units[str(tag)] = str(unit)
        is_q = df["timestamp"].isna() | (df["timestamp"].astype(str).str.strip() == "")
        for _, row in df[is_q].iterrows():
            quality.setdefault(str(row["tag"]), {})[row["batch_id"]] = float(row["value"])
        if phase_col is None and (df["tag"] == "phase").any():
            phase_col = "phase"
        if phase_col is not None and not (df["tag"] == phase_col).any():
            raise DataError(f"no tag '{phase_col}' for the phase; "
                            f"{did_you_mean(phase_col, sorted(set(df['tag'])))}", source=source)
        wide = df[~is_q].pivot_table(index=["batch_id", "timestamp"], columns="tag", values="value",
                                     aggfunc="mean").reset_index()
        time_col = "timestamp"
        phase_cells = ([] if phase_col is None else
                       ["" if not np.isfinite(v) else f"{v:g}" for v in wide[phase_col].to_numpy(dtype=float)])
        phase_numbers = None if phase_col is None else wide[phase_col].to_numpy(dtype=float)
    else:
        time_col = "timestamp" if "timestamp" in cols else "elapsed" if "elapsed" in cols else None
        if time is not None:
            time_col = time.strip()
            if time_col not in cols:
                raise table.missing_column(time_col, "the time column (--time) must be one of the table's columns",
                                           ("batch_id", "units", "phase"))
        if time_col is None and sample_period is None:
            raise DataError(
                f"not a long table (needs columns {', '.join(LONG_COLUMNS)}) and not a wide "
                f"table (needs 'batch_id' and 'timestamp' or 'elapsed', or a sample period for tables "
                f"with one row per sample); got {sorted(cols)}", source=source
            )
        if time_col is not None:
            _check_times(table, time_col, allow_empty=False)
        if phase_col is None and "phase" in cols:
            phase_col = "phase"  # never modelled as a process variable
        if phase_col is not None and phase_col not in cols:
            raise table.missing_column(phase_col, "the phase column (--phase) must be one of the table's columns",
                                       ("batch_id", "timestamp", "elapsed", "units"))
        wide = df.copy()
        wide["batch_id"] = wide["batch_id"].astype(str)
        phase_cells, phase_numbers = [], None
        if phase_col is not None:
            phase_cells = table.cells(phase_col)
            phase_numbers = pd.to_numeric(pd.Series(phase_cells, dtype=object), errors="coerce").to_numpy(float)
        for col in wide.columns:
            if col not in ("batch_id", "timestamp", "elapsed", "units", phase_col, time_col):
                wide[col] = table.numbers(col, what="a number (or an empty cell)", allow_missing=True)
    tags = [c for c in wide.columns if c not in ("batch_id", "timestamp", "elapsed", "units", phase_col, time_col)]
    if not tags:
        raise DataError(f"{source}: no tag columns / tag values found")
    codes, phase_names = (_phase_codes(phase_cells, phase_numbers) if phase_col is not None else (None, []))
    groups = list(wide.reset_index(drop=True).groupby("batch_id", sort=False))
    n_s = max(len(g) for _, g in groups)
    ids = [str(b) for b, _ in groups]
    arrays = {t: np.full((len(ids), n_s), np.nan) for t in tags}
    elapsed = np.full((len(ids), n_s), np.nan)
    phases = np.zeros((len(ids), n_s), dtype=int)
    for i, (bid, g) in enumerate(groups):
        el = np.arange(len(g), dtype=float) if time_col is None else _elapsed_seconds(g[time_col])
        if sample_period is not None:  # sample numbers (the row order when there is no time column)
            el = el * float(sample_period)
        order = np.argsort(el, kind="stable")
        el = el[order] - np.nanmin(el)
        elapsed[i, : len(el)] = el
        for t in tags:
            arrays[t][i, : len(el)] = g[t].to_numpy(dtype=float)[order]
        if codes is not None:
            c = codes[g.index.to_numpy()][order]
            if (c < 0).all():
                raise DataError(f"batch '{bid}' has no value in the phase column '{phase_col}'; give each batch's "
                                "phase (empty cells take the phase of the sample before)", source=source)
            phases[i, : len(el)] = _fill_phase(c)
            phases[i, len(el):] = phases[i, len(el) - 1]
    q = {k: np.array([v.get(b, np.nan) for b in ids]) for k, v in quality.items()}
    ds = make_batch_set(arrays, elapsed, batch_ids=ids, quality=q, units=units,
                        phase=phases if codes is not None else None, phase_names=phase_names)
    ds["elapsed"] = ds["elapsed"].copy(data=elapsed)  # a sample is kept when some of its tags are missing
    if codes is not None:
        ds["phase"].attrs["source_column"] = phase_col
    return ds


def segment_phases(
    ds: xr.Dataset,
    *,
    tag: str | None = None,
    rules: Sequence[tuple[str, str]] | None = None,
) -> xr.Dataset:
    """Add an integer ``phase`` variable ``(batch, sample)`` to a raw batch set.

    Parameters
    ----------
    ds
        Raw batch set.
    tag
        A variable that already holds the phase number (rounded to int).
    rules
        Ordered ``(phase_name, condition)`` pairs, e.g.
        ``[("heat-up", "elapsed >= 0"), ("feed", "feed_rate > 0"), ("hold", "elapsed > 3600")]``.
        The first phase starts at the first sample; phase ``k`` starts at the
        first sample after the start of phase ``k-1`` where its condition holds
        (phases never go back). Conditions use the KPI expression syntax on the
        batch's variables (including ``elapsed``).

    Returns
    -------
    xarray.Dataset
        Copy of ``ds`` with ``phase`` and ``attrs["phase_names"]``.
    """
    out = ds.copy()
    valid = np.isfinite(ds["elapsed"].values)
    if tag is not None:
        if tag not in ds:
            raise DatasetError(f"phase tag '{tag}' is not in the batch set; {did_you_mean(tag, list(ds.data_vars))}")
        phase = np.nan_to_num(ds[tag].values, nan=0).round().astype(np.int16)
        names = [f"phase {k}" for k in range(int(phase.max()) + 1)]
    elif rules:
        names = [name for name, _ in rules]
        conds = [parse_expression(expr) for _, expr in rules]
        env = {n: ds[n].values for n in ds.data_vars if ds[n].dims == ("batch", "sample")}
        phase = np.zeros(valid.shape, dtype=np.int16)
        for b in range(valid.shape[0]):
            row_env = {k: v[b] for k, v in env.items()}
            start = 0
            for k in range(1, len(conds)):
                try:
                    hit = np.asarray(evaluate(conds[k], row_env), dtype=bool)
                except KeyError as exc:
                    raise ConfigError(
                        f"phase rule '{rules[k][1]}' names unknown variable {exc}; "
                        f"{did_you_mean(str(exc.args[0]), env)}", path=f"rules[{k}]"
                    ) from None
                idx = np.flatnonzero(hit[start:] & valid[b, start:])
                if idx.size == 0:
                    break
                start = start + int(idx[0])
                phase[b, start:] = k
    else:
        raise ConfigError("segment_phases needs either tag= or rules=")
    out["phase"] = xr.DataArray(
        phase, dims=("batch", "sample"),
        attrs={"units": "1", "long_name": "phase index", "role": "phase", "phase_names": ",".join(names)},
    )
    return out


