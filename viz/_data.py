"""Reading what the views show: trace stores (read-only, while a twin appends) and result files.

Trace stores are read with :func:`twin.open_trace`, the one trace reader: read-only, cut
to the rows whose ``time`` is written (the writer appends ``time`` last), so a viewer
never touches a store that is being written. Result files say what they are
(``ds.wb.kind``, :data:`workbench.dataset.KINDS`); :func:`result_kind` guesses from the
layout only for files written before kinds.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.dataset import open_zarr, read_netcdf
from workbench.errors import DataError, DatasetError

__all__ = ["read_trace", "load_result", "result_kind", "read_line_forecast",
           "read_line_events", "monitor_view", "trace_tags", "is_trace_store"]


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and ((path / "zarr.json").exists() or (path / ".zgroup").exists())


def is_trace_store(path: str | Path) -> bool:
    """True if ``path`` is a Zarr trace store (a ``value`` array beside ``time``), not another result."""
    path = Path(path)
    return _is_zarr(path) and (path / "value").exists() and (path / "time").exists()


def read_trace(path: str | Path, *, start: int = 0) -> xr.Dataset:
    """Deprecated: use :func:`twin.open_trace` (``open_trace(path, start=start)``), the one trace reader."""
    from twin import open_trace

    warnings.warn("viz.read_trace is deprecated; use twin.open_trace(path, start=start)", DeprecationWarning,
                  stacklevel=2)
    return open_trace(path, start=start)


def load_result(path: str | Path) -> xr.Dataset:
    """Open a result file: NetCDF (``.nc``) or a Zarr directory, fully loaded.

    Raises
    ------
    DatasetError
        If the path is missing or neither format.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or directory; give a .nc file or a .zarr store", source=str(path))
    if path.is_dir():
        if not _is_zarr(path):
            raise DataError("a directory but not a Zarr store (no zarr.json or .zgroup)", source=str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return open_zarr(path).load()
    return read_netcdf(path)


def result_kind(ds: xr.Dataset) -> str:
    """What a result dataset is: ``ds.wb.kind`` (one of :data:`workbench.dataset.KINDS`).

    Files written before kinds existed carry no ``kind`` attr: their kind is guessed from
    the layout (:func:`_legacy_kind`). A ``kind`` attr that is not a workbench kind, or a
    layout nothing matches, gives ``"generic"``.
    """
    try:
        kind = ds.wb.kind
    except DatasetError:
        return "generic"
    return kind if kind is not None else _legacy_kind(ds)


def _legacy_kind(ds: xr.Dataset) -> str:
    """LEGACY: the kind of a result written before ``attrs['kind']`` existed, from its layout."""
    legacy = ds.attrs.get("result_kind")
    if legacy:
        try:
            return ds.assign_attrs(kind=legacy).wb.kind or "generic"
        except DatasetError:
            return "generic"
    names = set(ds.variables)
    if "source" in ds.dims and "value" in names:
        return "twin-trace"
    if {"envelope_mean", "envelope_lower", "envelope_upper"} <= names:
        return "envelope"
    if {"t2", "spe"} <= names or {"online_t2", "online_spe"} <= names:
        return "mspc"
    if "trial" in ds.dims and "interval" in names and "cost_rate" in names:
        return "life-pm-policy"
    if "trial" in ds.dims:
        return "campaign"
    if "fitted_unreliability" in names:
        return "life-fit-plot"
    if "availability" in names:
        return "life-operation"
    if "reliability" in names:
        return "life-missions"
    if "kpi" in ds.dims and "replication" in ds.dims:
        return "line-simulation"
    if "variant" in ds.dims and "delta" in names:
        return "line-comparison"
    if {"batch", "sample"} <= set(ds.dims):
        return "batch-set"
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
    from twin import open_trace

    group = Path(path) / "forecast"
    if not _is_zarr(group):
        return None
    ds = open_trace(path, group="forecast")
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


def trace_tags(path: str | Path, *, tail: int = 600, with_clock: bool = False):
    """Tag names of a trace store and the measured ones, without reading the whole trace.

    Reads the last ``tail`` complete rows only (a measured tag has finite residuals), so
    a page can lay itself out before the data of a long trace is loaded.

    Returns
    -------
    (tags, measured) or (tags, measured, clock)
        Both lists empty while the store has no complete row; with ``with_clock`` also
        whether the trace's times are clock times (``datetime64``) rather than elapsed seconds.
    """
    from twin import open_trace

    empty = ([], [], False) if with_clock else ([], [])
    if not is_trace_store(path):
        return empty
    ds = open_trace(path, start=-tail)
    if ds.sizes["time"] == 0:
        return empty
    tags = [str(t) for t in ds["tag"].values]
    clock = bool(np.issubdtype(ds["time"].dtype, np.datetime64))
    if "residual" not in ds:
        measured = tags
    else:
        res = np.asarray(ds["residual"].values, dtype=float)
        measured = [t for j, t in enumerate(tags) if np.isfinite(res[:, j]).any()] or tags
    return (tags, measured, clock) if with_clock else (tags, measured)
