"""Reading what the views show: trace stores (read-only, while a twin appends) and result files.

The dashboard reads a twin trace store while ``twin monitor`` appends to it.
:func:`twin.open_trace` repairs a store opened read-write (it trims arrays a crash
left longer than ``time``); a viewer must never do that to a store that is being
written, so :func:`read_trace` opens it read-only and cuts every array to the
number of rows that are complete (the writer appends ``time`` last).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.dataset import open_zarr, read_netcdf
from workbench.errors import DatasetError

__all__ = ["read_trace", "trace_rows", "load_result", "result_kind", "tag_units", "read_line_forecast",
           "read_line_events", "monitor_view", "trace_tags"]

def _is_zarr(path: Path) -> bool:
    return path.is_dir() and ((path / "zarr.json").exists() or (path / ".zgroup").exists())


def trace_rows(path: str | Path) -> int:
    """Number of complete rows in a trace store (cheap: reads array metadata only; see
    :func:`twin.trace_rows`)."""
    from twin import trace_rows as rows

    return rows(path)


def read_trace(path: str | Path, *, start: int = 0) -> xr.Dataset:
    """Read a twin trace store read-only, rows ``start:`` up to the last complete row.

    Parameters
    ----------
    path
        Directory of a Zarr trace store written by :class:`twin.TraceStore` (or any
        Zarr store with dims ``time`` × ``source`` × ``tag``).
    start
        First row to read (to fetch only what was appended since the last poll).

    Returns
    -------
    xarray.Dataset
        In memory; ``time`` decoded to datetime64 when its units are
        ``"seconds since …"``.

    Raises
    ------
    DatasetError
        If ``path`` is not a Zarr store with a ``time`` array.
    """
    from twin import read_trace_rows

    path = Path(path)
    if not _is_zarr(path):
        raise DatasetError(f"{path}: not a Zarr trace store; give the directory written by `twin monitor`")
    return read_trace_rows(path, start=start)


def tag_units(ds: xr.Dataset) -> dict[str, str]:
    """Unit of each tag of a trace (``tag_unit`` coord or the JSON in ``value.attrs['tag_units']``)."""
    tags = [str(t) for t in ds["tag"].values]
    if "tag_unit" in ds.coords:
        return dict(zip(tags, map(str, ds["tag_unit"].values), strict=True))
    raw = ds["value"].attrs.get("tag_units") if "value" in ds else None
    if raw:
        try:
            return {**dict.fromkeys(tags, ""), **json.loads(raw)}
        except (TypeError, json.JSONDecodeError):
            pass
    return {t: ds["value"].attrs.get("units", "") if "value" in ds else "" for t in tags}


def load_result(path: str | Path) -> xr.Dataset:
    """Open a result file: NetCDF (``.nc``) or a Zarr directory, fully loaded.

    Raises
    ------
    DatasetError
        If the path is missing or neither format.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory; give a .nc file or a .zarr store")
    if path.is_dir():
        if not _is_zarr(path):
            raise DatasetError(f"{path}: a directory but not a Zarr store (no zarr.json or .zgroup)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return open_zarr(path).load()
    return read_netcdf(path)


def result_kind(ds: xr.Dataset) -> str:
    """What a result dataset is: its ``kind`` attr, else guessed from its layout.

    Returns one of ``"trace"``, ``"envelope"``, ``"mspc"``, ``"line"``,
    ``"life"``, ``"campaign"`` or ``"generic"`` (or the ``kind`` attr verbatim).
    """
    kind = ds.attrs.get("kind") or ds.attrs.get("result_kind")
    if kind:
        return str(kind)
    names = set(ds.variables)
    if "source" in ds.dims and "value" in names:
        return "trace"
    if {"envelope_mean", "envelope_lower", "envelope_upper"} <= names:
        return "envelope"
    if {"t2", "spe"} <= names:
        return "mspc"
    if "trial" in ds.dims:
        return "campaign"
    if "reliability" in names or "availability" in names:
        return "life"
    if "kpi" in ds.dims and "replication" in ds.dims:
        return "line"
    return "generic"


def finite_or_none(values: np.ndarray) -> np.ndarray:
    """Float array with non-finite values as NaN (JSON-safe for plotly)."""
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v), v, np.nan)


_FORECAST_VARS = ("shipped", "median", "shipped_so_far", "shift_end", "actual")


def read_line_forecast(path: str | Path) -> xr.Dataset | None:
    """The ``forecast`` group of a line-twin trace (``None`` before the first forecast).

    The twin rewrites the group at each forecast; a read that meets a half-written
    group raises :class:`DatasetError` so the caller can keep its previous copy.
    """
    group = Path(path) / "forecast"
    if not _is_zarr(group):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = xr.open_zarr(Path(path), group="forecast", consolidated=False, chunks=None).load()
    except (OSError, ValueError, KeyError) as exc:  # mid-rewrite
        raise DatasetError(f"{group}: forecast group being rewritten ({exc})") from exc
    missing = [v for v in _FORECAST_VARS if v not in ds]
    if missing:  # the writer has not written these arrays yet
        raise DatasetError(f"{group}: forecast group incomplete, no {', '.join(missing)} yet (being rewritten)")
    return ds


def read_line_events(path: str | Path) -> list[dict[str, Any]]:
    """Alarm events of a (line-)twin trace store, merged start/end records (``events.jsonl``)."""
    from twin import read_events

    return read_events(path)


def monitor_view(ds: xr.Dataset | None, *, batch: str | None = None) -> xr.Dataset | None:
    """A golden-batch monitor result in the dashboard's layout: ``t2(time)``, ``spe(time)``,
    ``t2_limit``/``spe_limit`` and, when present, ``t2_contribution``/``spe_contribution(time, variable)``.

    Accepts what ``golden_batch`` writes:

    * ``GoldenBatchModel.monitor_aligned`` (optionally merged with
      ``BatchPCA.contributions``): ``online_t2``/``online_spe(batch, time)`` — one
      batch is shown, ``batch`` or the last one (the running batch);
    * ``MonitorSession.to_dataset``: ``t2``/``spe(sample)`` with the grid ``index``
      (samples before the alignment starts, ``index < 0``, are dropped; x is the sample number);
    * anything already in the dashboard layout (returned as is).
    """
    if ds is None:
        return None
    if "online_t2" in ds and "online_spe" in ds:
        names = [str(b) for b in ds["batch"].values]
        b = batch if batch is not None else names[-1]
        if b not in names:
            from workbench.errors import did_you_mean

            raise DatasetError(f"monitor result has no batch {b!r}; {did_you_mean(b, names)}")
        out = xr.Dataset({"t2": ds["online_t2"].sel(batch=b, drop=True),
                          "spe": ds["online_spe"].sel(batch=b, drop=True)})
        for name in ("t2_limit", "spe_limit", "t2_contribution", "spe_contribution"):
            if name in ds:
                da = ds[name]
                out[name] = da.sel(batch=b, drop=True) if "batch" in da.dims else da
        return out.assign_attrs({**ds.attrs, "batch": b})
    if "sample" in ds.dims and {"t2", "spe"} <= set(ds.data_vars) and "time" not in ds.dims:
        keep = ds["index"].values >= 0 if "index" in ds else np.ones(ds.sizes["sample"], bool)
        out = ds.isel(sample=keep).rename({"sample": "time"})
        return out.assign_coords(time=("time", np.arange(out.sizes["time"], dtype=float),
                                       {"units": "1", "long_name": "monitored sample"}))
    return ds


def trace_tags(path: str | Path, *, tail: int = 600) -> tuple[list[str], list[str]]:
    """Tag names of a trace store and the measured ones, without reading the trace.

    Reads the ``tag`` array and the last ``tail`` complete rows of ``residual`` only
    (a measured tag has finite residuals), so a page can lay itself out before the
    data of a long trace is loaded.

    Returns
    -------
    (tags, measured)
        Both empty while the store has no complete row.
    """
    import zarr

    n = trace_rows(path)
    if n == 0:
        return [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = zarr.open_group(str(path), mode="r")
        tags = [t.decode() if isinstance(t, bytes) else str(t) for t in group["tag"][:]]
        if "residual" not in group:
            return tags, tags
        res = np.asarray(group["residual"][max(n - tail, 0):n], dtype=float)
    measured = [t for j, t in enumerate(tags) if np.isfinite(res[:, j]).any()]
    return tags, measured or tags
