"""xarray conventions of the workbench, as code.

Every time series, batch set, simulation result and twin trace is an
:class:`xarray.Dataset` that follows these rules (checked by
:func:`validate_dataset`):

* dims come from :data:`KNOWN_DIMS` (``time``, ``batch``, ``replication``,
  ``tag``, ``variable``, ``component``, ``trial``, ``source``, ``kpi`` …);
  a package may add its own by passing ``extra_dims``.
* the ``time`` coordinate is ``datetime64`` (plant data) or float elapsed
  seconds with ``units == "s"`` (batch/simulation time).
* every data variable has ``attrs["units"]`` (UCUM/CF string, ``"1"`` for
  dimensionless) and ``attrs["long_name"]``.
* results carry provenance in ``ds.attrs``: ``workbench_version``,
  ``created`` and, as they apply, ``scenario``, ``scenario_hash``, ``seed``,
  ``fmu_guids`` (see :func:`add_provenance`).
* a twin trace has a ``source`` dim with ``real`` and ``virtual`` so that
  ``ds.sel(source="real") - ds.sel(source="virtual")`` is the deviation.

Persist with :func:`write_netcdf` (small) or :func:`write_zarr` (large,
appendable along ``time``). Never pickle.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.errors import DatasetError

__all__ = [
    "KNOWN_DIMS",
    "PROVENANCE_ATTRS",
    "validate_dataset",
    "add_provenance",
    "config_hash",
    "with_units",
    "write_netcdf",
    "read_netcdf",
    "write_zarr",
    "open_zarr",
]

KNOWN_DIMS = frozenset(
    {
        "time",
        "batch",
        "replication",
        "tag",
        "variable",
        "component",
        "trial",
        "source",
        "kpi",
        "station",
        "run",
        "parameter",
        "quantile",
        "phase",
        "objective",
        "state",
        "bound",
        "variant",
        "sample",
    }
)

PROVENANCE_ATTRS = ("workbench_version", "created")


@lru_cache(maxsize=1)
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("twin-workbench")
    except Exception:  # pragma: no cover - not installed
        return "0+unknown"


def with_units(da: xr.DataArray, units: str, long_name: str) -> xr.DataArray:
    """Return ``da`` with ``units`` and ``long_name`` attrs set (copy).

    Parameters
    ----------
    da
        Any DataArray.
    units
        UCUM/CF unit string; ``"1"`` for dimensionless.
    long_name
        Human-readable name used for plot labels.
    """
    out = da.copy()
    out.attrs = {**out.attrs, "units": units, "long_name": long_name}
    return out


def config_hash(config: Any) -> str:
    """Stable SHA-256 (first 16 hex digits) of a JSON-able config or pydantic model."""
    if hasattr(config, "model_dump"):
        config = config.model_dump(mode="json")
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def add_provenance(
    ds: xr.Dataset,
    *,
    scenario: str | None = None,
    scenario_hash: str | None = None,
    seed: int | None = None,
    fmu_guids: Iterable[str] | None = None,
    **extra: Any,
) -> xr.Dataset:
    """Return a copy of ``ds`` carrying provenance attrs.

    Parameters
    ----------
    ds
        Result dataset.
    scenario, scenario_hash
        Name and :func:`config_hash` of the config that produced it.
    seed
        Root seed of every random number in the result.
    fmu_guids
        GUIDs / instantiation tokens of the FMUs used.
    **extra
        Further attrs (JSON-encoded if not str/number).

    Returns
    -------
    xarray.Dataset
    """
    out = ds.copy()
    attrs: dict[str, Any] = {
        "workbench_version": _version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if scenario is not None:
        attrs["scenario"] = scenario
    if scenario_hash is not None:
        attrs["scenario_hash"] = scenario_hash
    if seed is not None:
        attrs["seed"] = int(seed)
    if fmu_guids is not None:
        attrs["fmu_guids"] = ",".join(fmu_guids)
    attrs.update(extra)
    out.attrs = {**out.attrs, **_sanitize_attrs(attrs)}
    return out


def validate_dataset(
    ds: xr.Dataset,
    *,
    require_provenance: bool = False,
    extra_dims: Iterable[str] = (),
    trace: bool = False,
    name: str = "dataset",
) -> xr.Dataset:
    """Check ``ds`` against the workbench conventions.

    Parameters
    ----------
    ds
        Dataset to check.
    require_provenance
        Require :data:`PROVENANCE_ATTRS` in ``ds.attrs``.
    extra_dims
        Further dimension names allowed for this dataset.
    trace
        Require the twin-trace layout (``source`` dim with real and virtual).
    name
        Name used in the error message (e.g. a file path).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so the call can be chained.

    Raises
    ------
    DatasetError
        Listing every broken rule at once.
    """
    problems: list[str] = []
    allowed = KNOWN_DIMS | set(extra_dims)
    for dim in ds.dims:
        if dim not in allowed:
            problems.append(f"dim '{dim}' is not a workbench dim (allowed: {', '.join(sorted(allowed))})")
    if "time" in ds.coords:
        t = ds["time"]
        if np.issubdtype(t.dtype, np.datetime64):
            pass
        elif np.issubdtype(t.dtype, np.floating) or np.issubdtype(t.dtype, np.integer):
            if t.attrs.get("units") != "s":
                problems.append(
                    f"coord 'time' is numeric, so it must be elapsed seconds with units 's' "
                    f"(got units={t.attrs.get('units')!r})"
                )
        else:
            problems.append(f"coord 'time' must be datetime64 or float seconds (got {t.dtype})")
    for var in ds.data_vars:
        attrs = ds[var].attrs
        if "units" not in attrs:
            problems.append(f"variable '{var}' has no attrs['units'] (use '1' if dimensionless)")
        if "long_name" not in attrs:
            problems.append(f"variable '{var}' has no attrs['long_name']")
    if require_provenance:
        for key in PROVENANCE_ATTRS:
            if key not in ds.attrs:
                problems.append(f"attrs['{key}'] missing (use workbench.dataset.add_provenance)")
    if trace:
        if "source" not in ds.dims:
            problems.append("a twin trace needs a 'source' dim with 'real' and 'virtual'")
        else:
            have = set(map(str, ds["source"].values))
            if not {"real", "virtual"} <= have:
                problems.append(f"'source' must contain 'real' and 'virtual' (got {sorted(have)})")
    if problems:
        raise DatasetError(f"{name} breaks the dataset conventions:\n  - " + "\n  - ".join(problems))
    return ds


def _sanitize_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """netCDF/Zarr attrs hold str, numbers and 1-D arrays only; encode the rest as JSON."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, str | int | float | np.integer | np.floating):
            out[key] = value
        elif isinstance(value, list | tuple) and value and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            out[key] = list(value)
        else:
            out[key] = json.dumps(value, default=str)
    return out


def _prepared(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = _sanitize_attrs(out.attrs)
    for name in list(out.variables):
        out[name].attrs = _sanitize_attrs(out[name].attrs)
    return out


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf engine), creating parent folders.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _prepared(ds).to_netcdf(path, engine="h5netcdf")
    return path


def read_netcdf(path: str | Path) -> xr.Dataset:
    """Read a NetCDF file fully into memory.

    Raises
    ------
    DatasetError
        If the file is missing or not NetCDF.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file; give the path of a .nc file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable NetCDF file ({exc})") from exc


def write_zarr(
    ds: xr.Dataset, path: str | Path, *, append_dim: str | None = None
) -> Path:
    """Write or append ``ds`` to a Zarr store.

    Parameters
    ----------
    ds
        Dataset to write.
    path
        Store directory.
    append_dim
        If given and the store exists, append along this dim (e.g. ``"time"``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    prepared = _prepared(ds)
    if append_dim is not None and path.exists():
        prepared.to_zarr(path, append_dim=append_dim, consolidated=False, zarr_format=2)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        prepared.to_zarr(path, mode="w", consolidated=False, zarr_format=2)
    return path


def open_zarr(path: str | Path, *, chunks: Any = None) -> xr.Dataset:
    """Open a Zarr store lazily (Dask-backed when ``chunks`` is given).

    Raises
    ------
    DatasetError
        If the store does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such Zarr store; give the directory of a .zarr store")
    return xr.open_zarr(path, chunks=chunks, consolidated=False)
