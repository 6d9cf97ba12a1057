"""Cut a continuous trace into a raw batch set, in memory or streamed chunk by chunk.

A plant (or twin) trace is one long time series; the batch id of each sample says which
batch it belongs to. :func:`batches_from_trace` finds the samples of every batch and lays
them out as a raw batch set (``batch`` × ``sample``, :mod:`golden_batch._batchset`).

Two input layouts are accepted:

* *wide*: one variable per tag along ``time`` (optionally with a ``source`` dim);
* a *twin trace store* (:func:`twin.open_trace` or ``xarray.open_zarr`` of the store):
  ``value(time, source, tag)`` with the unit of each tag in the ``tag_unit`` coordinate.

Larger than memory: open the trace lazily (``xarray.open_zarr(path, chunks={"time": n})``)
and give ``out=`` (a Zarr path). The batch-id column is then scanned ``chunk_rows`` samples
at a time, each batch's samples are read by its time ranges only, and the batch set is
written to ``out`` a group of batches at a time and returned opened lazily — the memory in
use is one scan chunk plus one group of batches, whatever the length of the trace. The
result equals the in-memory one (``tests/scale/test_zarr_analytics.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from golden_batch._batchset import _restore_roles, make_batch_set
from workbench.errors import DatasetError, did_you_mean

__all__ = ["batches_from_trace"]


def batches_from_trace(
    trace: xr.Dataset,
    batch_variable: str,
    *,
    source: str = "real",
    variables: Sequence[str] | None = None,
    out: str | Path | None = None,
    chunk_rows: int = 65536,
    batches_per_write: int = 16,
) -> xr.Dataset:
    """Cut a continuous trace (dim ``time``) into a raw batch set.

    Parameters
    ----------
    trace
        Wide trace (a variable per tag along ``time``, optionally with a ``source`` dim) or a
        twin trace store (``value(time, source, tag)``), in memory or Dask-backed.
    batch_variable
        Variable (wide) or tag (twin trace) along ``time`` holding the batch id or number of
        each sample; empty / NaN / 0 samples belong to no batch.
    source
        Which side of a trace with a ``source`` dim to use (``real`` or ``virtual``).
    variables
        Tags to keep (default: every numeric tag along ``time`` but the batch id).
    out
        Zarr path to stream the batch set into (returned opened lazily, chunked by
        ``batches_per_write`` batches). Without it the batch set is built in memory.
    chunk_rows
        Samples of the batch-id column read at a time while scanning.
    batches_per_write
        Batches read from the trace and written to ``out`` at a time.

    Returns
    -------
    xarray.Dataset
        Raw batch set: batches in order of first appearance, elapsed time from each
        batch's first sample, units and long names from the trace.

    Raises
    ------
    DatasetError
        If the batch variable is missing or names no batch.
    """
    ds = _wide(trace, source)
    if batch_variable not in ds:
        raise DatasetError(f"trace has no variable or tag '{batch_variable}'; "
                           f"{did_you_mean(batch_variable, list(ds.data_vars))}")
    names = list(variables or [str(n) for n, da in ds.data_vars.items() if da.dims == ("time",)
                               and n != batch_variable and np.issubdtype(da.dtype, np.number)])
    missing = [n for n in names if n not in ds]
    if missing:
        raise DatasetError(f"trace has no tag {missing[0]!r}; {did_you_mean(missing[0], list(ds.data_vars))}")
    order, runs = _scan(ds[batch_variable], int(chunk_rows))
    if not order:
        raise DatasetError(f"trace variable '{batch_variable}' names no batch")
    n_s = max(sum(b - a for a, b in runs[k]) for k in order)
    units = {n: str(ds[n].attrs.get("units", "1")) for n in names}
    long_names = {n: str(ds[n].attrs.get("long_name", n)) for n in names}
    t0 = ds["time"].values[0]
    groups = (order[i:i + batches_per_write] for i in range(0, len(order), batches_per_write))
    parts = (_group(ds, names, runs, group, n_s, t0, units, long_names) for group in groups)
    if out is None:
        return xr.concat(list(parts), dim="batch") if len(order) > batches_per_write else next(parts)
    return _write(parts, Path(out), batches_per_write)


def _wide(trace: xr.Dataset, source: str) -> xr.Dataset:
    """The trace as one variable per tag along ``time`` (twin trace stores are unstacked)."""
    if "value" in trace and "tag" in trace["value"].dims:
        value = trace["value"].sel(source=source) if "source" in trace["value"].dims else trace["value"]
        units = dict(zip(map(str, trace["tag"].values), map(str, trace["tag_unit"].values), strict=True)) \
            if "tag_unit" in trace.coords else {}
        wide = value.drop_vars([c for c in value.coords if c not in ("time", "tag")]).to_dataset("tag")
        for name in wide.data_vars:
            wide[name].attrs = {"units": units.get(str(name), "1"), "long_name": str(name)}
        return wide
    return trace.sel(source=source) if "source" in trace.dims else trace


def _valid(ids: np.ndarray) -> np.ndarray:
    if ids.dtype.kind == "f":
        return np.isfinite(ids) & (ids != 0)
    if ids.dtype.kind in "iub":
        return ids != 0
    return np.array([not (v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in ("", "0", "nan"))
                     for v in ids])


def _scan(ids: xr.DataArray, chunk_rows: int) -> tuple[list[str], dict[str, list[tuple[int, int]]]]:
    """Batches in order of first appearance and, per batch, its runs ``[start, stop)`` of samples."""
    order: list[str] = []
    runs: dict[str, list[tuple[int, int]]] = {}
    n = ids.sizes["time"]
    for start in range(0, n, chunk_rows):
        chunk = np.asarray(ids.isel(time=slice(start, start + chunk_rows)).values)
        valid = _valid(chunk)
        labels = chunk.astype(str)
        # run boundaries inside the chunk: validity or label changes
        change = np.flatnonzero((labels[1:] != labels[:-1]) | (valid[1:] != valid[:-1])) + 1
        bounds = np.concatenate([[0], change, [len(chunk)]])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if not valid[a]:
                continue
            key = str(labels[a])
            lo, hi = start + int(a), start + int(b)
            spans = runs.get(key)
            if spans is None:
                order.append(key)
                runs[key] = [(lo, hi)]
            elif spans[-1][1] == lo:  # a run continued across the chunk edge
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
    return order, runs


def _seconds(t: np.ndarray, t0) -> np.ndarray:
    return (t - t0) / np.timedelta64(1, "s") if np.issubdtype(t.dtype, np.datetime64) else t.astype(float)


def _group(ds: xr.Dataset, names: list[str], runs: dict[str, list[tuple[int, int]]], group: list[str],
           n_s: int, t0, units: dict[str, str], long_names: dict[str, str]) -> xr.Dataset:
    """The raw batch set of ``group`` (read from ``ds`` by each batch's time ranges only)."""
    arrays = {n: np.full((len(group), n_s), np.nan) for n in names}
    elapsed = np.full((len(group), n_s), np.nan)
    for i, key in enumerate(group):
        pieces = [ds[[*names]].isel(time=slice(a, b)).load() for a, b in runs[key]]
        part = pieces[0] if len(pieces) == 1 else xr.concat(pieces, dim="time")
        secs = _seconds(part["time"].values, t0)
        m = len(secs)
        elapsed[i, :m] = secs - secs[0]
        for n in names:
            arrays[n][i, :m] = part[n].values
    return make_batch_set(arrays, elapsed, batch_ids=group, units=units, long_names=long_names)


def _write(parts: Iterator[xr.Dataset], out: Path, batches_per_write: int) -> xr.Dataset:
    import shutil
    import warnings

    from workbench.dataset import open_zarr

    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():  # zarr: fixed-length UTF-32 batch ids have no v3 spec yet
        warnings.simplefilter("ignore")
        for k, part in enumerate(parts):
            part = part.assign_coords(batch=part["batch"].astype(object))  # ids of any length
            enc = {v: {"chunks": (batches_per_write, part.sizes["sample"])} for v in part.data_vars} if k == 0 else None
            part.to_zarr(out, mode="w" if k == 0 else "a", append_dim=None if k == 0 else "batch",
                         consolidated=False, encoding=enc)
    return _restore_roles(open_zarr(out, chunks={"batch": batches_per_write}))
