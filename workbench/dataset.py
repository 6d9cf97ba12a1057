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

Every result says what it is: ``attrs["kind"]`` is one of :data:`KINDS` (set it
with ``add_provenance(ds, kind=...)``), and the ``wb`` accessor, registered when this
module is imported, reads it back with the other conventions::

    ds.wb.kind                # "line-simulation", "twin-trace", ... (None: written before kinds)
    ds.wb.units("throughput") # attrs["units"] of a variable
    ds.wb.label("throughput") # "long name [units]" for plot axes
    ds.wb.provenance          # workbench_version, created, scenario, seed, ...
    ds.wb.validate()          # the rules above; a trace kind also checks the trace layout

Persist with :func:`write_netcdf` (small) or :func:`write_zarr` (large,
appendable along ``time``), both in the one Zarr format of the workbench (Zarr v3,
the layout of the twin's trace store). Never pickle.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from workbench.errors import DatasetError, did_you_mean

__all__ = [
    "KNOWN_DIMS",
    "KINDS",
    "KIND_ALIASES",
    "TRACE_KINDS",
    "PROVENANCE_ATTRS",
    "ZARR_FORMAT",
    "WorkbenchAccessor",
    "resolve_kind",
    "sanitize_attrs",
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

#: The Zarr format version of every store the workbench writes (the twin's trace store format).
ZARR_FORMAT = 3

#: The closed list of result kinds (``attrs["kind"]``): kind → what it is and who writes it.
KINDS: Mapping[str, str] = MappingProxyType({
    "fmu-run": "FMU simulation run or ensemble (fmu_models: FmuModel.run, run_many; twin fmu run)",
    "batch-set": "batch trajectories over batch x sample (golden_batch: make_batch_set, read_history, "
                 "batches_from_trace)",
    "golden-batch-model": "a saved golden-batch model (golden_batch: GoldenBatchModel.save; twin golden build)",
    "envelope": "a golden-batch envelope band alone (golden_batch: Envelope.to_dataset)",
    "mspc": "on-line T2/SPE monitoring of batches (golden_batch: MonitorSession.to_dataset, monitor_aligned)",
    "mspc-model": "a saved PCA/PLS monitor of a continuous process (spc: PCAMonitor.save; twin spc mspc build)",
    "mspc-check": "per-sample T2/SPE, limits, flags and contributions (spc: PCAMonitor.score_samples)",
    "softsensor-model": "a saved soft sensor: training rows, chosen model, conformal quantile (spc: SoftSensor.save; "
                        "twin spc softsensor fit)",
    "softsensor-prediction": "per-sample soft-sensor prediction, conformal interval and domain flag "
                             "(spc: SoftSensor.predict)",
    "regimes": "process data with change-point segments and operating-regime labels (spc: find_regimes; "
               "twin spc regimes)",
    "line-simulation": "replicated production-line simulation (simulation.line.simulate; twin run)",
    "line-comparison": "paired what-if comparison of line results (simulation.line.compare; twin compare)",
    "life-missions": "non-repairable mission Monte Carlo: R(t), MTTF, B-lives (simulation.life.simulate_missions)",
    "life-operation": "repairable-system operation: A(t), failures, costs (simulation.life.simulate_operation)",
    "life-pm-policy": "preventive-maintenance interval search: cost rate per interval (simulation.life.optimize_pm)",
    "life-fit-plot": "probability-plot data of a life-data fit (simulation.life.LifeFit.plot_data)",
    "life-distribution": "a fitted life distribution: a YAML file, not a Dataset (twin life fit)",
    "campaign": "optimisation campaign trials (optimization.CampaignResult.trials; trials.nc)",
    "twin-trace": "twin trace store: real and virtual side by side over time x source x tag (twin.TraceStore)",
    "line-twin-trace": "line-twin trace store: the twin-trace layout with a line's tags (twin.line.LineTwin)",
    "line-forecast": "shift forecasts of a line twin (the 'forecast' group of its trace store)",
})

#: Kind names written before :data:`KINDS` existed → today's name ("life" is resolved by layout:
#: ``life-operation`` when the dataset has ``availability``, else ``life-missions``).
KIND_ALIASES: Mapping[str, str] = MappingProxyType({
    "trace": "twin-trace",
    "line-twin": "line-twin-trace",
    "line": "line-simulation",
    "life": "life-missions",
})

#: Kinds with the twin-trace layout (``source`` dim with ``real`` and ``virtual``).
TRACE_KINDS = frozenset({"twin-trace", "line-twin-trace"})


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


def resolve_kind(kind: str, *, ds: xr.Dataset | None = None, name: str = "kind") -> str:
    """Today's name of a kind: itself when in :data:`KINDS`, else its :data:`KIND_ALIASES` entry.

    Parameters
    ----------
    kind
        A kind name, current or legacy.
    ds
        The dataset, to resolve the legacy ``"life"`` by its layout.
    name
        What to call the value in the error message (e.g. ``"results.nc: attrs['kind']"``).

    Raises
    ------
    DatasetError
        If ``kind`` is neither, naming the valid kinds.
    """
    kind = str(kind)
    if kind in KINDS:
        return kind
    if kind == "life" and ds is not None and "availability" in ds.variables:
        return "life-operation"
    if kind in KIND_ALIASES:
        return KIND_ALIASES[kind]
    raise DatasetError(f"{name} = {kind!r} is not a workbench result kind; {_kind_hint(kind)}")


def _kind_hint(kind: str) -> str:
    hint = did_you_mean(kind, [*KINDS, *KIND_ALIASES])
    return hint if hint.startswith("did you mean") else "valid kinds: " + ", ".join(KINDS)


def add_provenance(
    ds: xr.Dataset,
    *,
    kind: str | None = None,
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
    kind
        What the result is, one of :data:`KINDS` (a legacy name is stored as today's).
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
    if kind is not None:
        attrs["kind"] = resolve_kind(kind, ds=ds, name="add_provenance(kind=...)")
    if scenario is not None:
        attrs["scenario"] = scenario
    if scenario_hash is not None:
        attrs["scenario_hash"] = scenario_hash
    if seed is not None:
        attrs["seed"] = int(seed)
    if fmu_guids is not None:
        attrs["fmu_guids"] = ",".join(fmu_guids)
    attrs.update(extra)
    out.attrs = {**out.attrs, **sanitize_attrs(attrs)}
    return out


def validate_dataset(
    ds: xr.Dataset,
    *,
    require_provenance: bool = False,
    extra_dims: Iterable[str] = (),
    trace: bool = False,
    name: str = "dataset",
) -> xr.Dataset:
    """Check ``ds`` against the workbench conventions (``ds.wb.validate()`` is the same check).

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
    if "kind" in ds.attrs:
        try:
            resolve_kind(ds.attrs["kind"], ds=ds)
        except DatasetError:
            problems.append(f"attrs['kind'] = {ds.attrs['kind']!r} is not a workbench result kind; "
                            f"{_kind_hint(str(ds.attrs['kind']))}")
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


def sanitize_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attrs as netCDF/Zarr can store them: str, numbers and lists of numbers kept, bools as
    0/1, ``None`` dropped, anything else JSON-encoded."""
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
    out.attrs = sanitize_attrs(out.attrs)
    for name in list(out.variables):
        out[name].attrs = sanitize_attrs(out[name].attrs)
    return out


def _netcdf_bytes(ds: xr.Dataset) -> bytes:
    """NetCDF-4 bytes of an in-memory dataset. Under a Dask distributed client xarray would take a
    cluster-wide lock named after the in-memory buffer, which the scheduler cannot know; the
    synchronous scheduler makes it use a local lock."""
    try:
        import dask
    except ImportError:  # pragma: no cover - dask is a dependency
        return ds.to_netcdf(engine="h5netcdf")
    with dask.config.set(scheduler="synchronous"):
        return ds.to_netcdf(engine="h5netcdf")


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf engine), creating parent folders.

    The file is built in memory and written by Python: a full disk or a read-only folder
    then raises a plain :class:`OSError` naming ``path`` (HDF5 writing the file itself
    reports it as a multi-line message and can crash the interpreter when the half-written
    file is collected), and the partial file is removed.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OSError
        The folder cannot be created or the file cannot be written (with ``filename``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _netcdf_bytes(_prepared(ds).compute())
    try:
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
    except OSError as exc:
        if exc.errno != errno.EISDIR:
            path.unlink(missing_ok=True)
        if exc.filename is None:
            exc.filename = str(path)
        raise
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
    """Write or append ``ds`` to a Zarr store in the workbench's one Zarr format.

    The format is the twin trace store's (:mod:`twin`): Zarr v3, no consolidated
    metadata, xarray's ``dimension_names`` and CF attributes, the default codec chain
    (``bytes`` + ``zstd``). A store written by an older workbench in Zarr v2 is still
    read by :func:`open_zarr`; appending to it keeps v2.

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
    with warnings.catch_warnings():  # zarr: fixed-length UTF-32 strings have no v3 spec yet (read back fine)
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        warnings.filterwarnings("ignore", message=".*not part of the Zarr format 3.*")
        if append_dim is not None and path.exists():
            prepared.to_zarr(path, append_dim=append_dim, consolidated=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            prepared.to_zarr(path, mode="w", consolidated=False, zarr_format=ZARR_FORMAT)
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


@xr.register_dataset_accessor("wb")
class WorkbenchAccessor:
    """The workbench conventions of a Dataset, as ``ds.wb`` (registered by importing this module).

    Stateless, as xarray asks of accessors: every property reads ``ds`` afresh.

    Examples
    --------
    >>> import workbench.dataset  # registers ``.wb``
    >>> ds = add_provenance(xr.Dataset({"x": ("time", [1.0], {"units": "m", "long_name": "length"})}),
    ...                     kind="line-simulation")
    >>> ds.wb.kind, ds.wb.units("x"), ds.wb.label("x")
    ('line-simulation', 'm', 'length [m]')
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    @property
    def kind(self) -> str | None:
        """The result's kind (one of :data:`KINDS`; a legacy name as today's), ``None`` when
        the dataset carries no ``kind`` attr (written before kinds, or not a result).

        Raises
        ------
        DatasetError
            If ``attrs["kind"]`` is not a workbench kind.
        """
        raw = self._ds.attrs.get("kind")
        if raw is None or raw == "":
            return None
        return resolve_kind(raw, ds=self._ds, name="attrs['kind']")

    @property
    def description(self) -> str | None:
        """One line saying what the kind is (``None`` without a kind)."""
        kind = self.kind
        return None if kind is None else KINDS[kind]

    @property
    def is_trace(self) -> bool:
        """True for the twin-trace layout (by kind, else by a ``source`` dim with ``real`` and ``virtual``)."""
        kind = self.kind
        if kind is not None:
            return kind in TRACE_KINDS
        return "source" in self._ds.dims and {"real", "virtual"} <= set(map(str, self._ds["source"].values))

    def _var(self, var: str) -> xr.DataArray:
        if var not in self._ds.variables:
            names = [str(v) for v in self._ds.variables]
            raise DatasetError(f"dataset has no variable {var!r}; {did_you_mean(var, names)}")
        return self._ds[var]

    def units(self, var: str) -> str:
        """``attrs["units"]`` of variable or coordinate ``var``.

        Raises
        ------
        DatasetError
            If ``var`` is missing or has no units (naming both).
        """
        da = self._var(var)
        if "units" not in da.attrs:
            raise DatasetError(f"variable {var!r} has no attrs['units'] (use '1' if dimensionless)")
        return str(da.attrs["units"])

    def long_name(self, var: str) -> str:
        """``attrs["long_name"]`` of ``var``, else its name."""
        return str(self._var(var).attrs.get("long_name", var))

    def label(self, var: str) -> str:
        """Axis label ``"long name [units]"`` (just the long name for missing or ``"1"`` units)."""
        da = self._var(var)
        units = da.attrs.get("units")
        name = da.attrs.get("long_name", var)
        return f"{name} [{units}]" if units not in (None, "", "1") else str(name)

    def tag_units(self) -> dict[str, str]:
        """Unit of each tag of a trace: the ``tag_unit`` coord, else the JSON in
        ``value.attrs["tag_units"]``, else the units of ``value``."""
        ds = self._ds
        if "tag" not in ds.coords:
            raise DatasetError("dataset has no 'tag' coord; tag units belong to a twin trace")
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

    @property
    def provenance(self) -> dict[str, Any]:
        """The provenance attrs present: ``workbench_version``, ``created``, ``scenario``,
        ``scenario_hash``, ``seed``, ``kind`` and ``fmu_guids`` (as a list)."""
        keys = (*PROVENANCE_ATTRS, "kind", "scenario", "scenario_hash", "seed", "fmu_guids")
        out = {k: self._ds.attrs[k] for k in keys if k in self._ds.attrs}
        if "fmu_guids" in out:
            out["fmu_guids"] = [g for g in str(out["fmu_guids"]).split(",") if g]
        return out

    def validate(self, *, require_provenance: bool = False, extra_dims: Iterable[str] = (),
                 trace: bool | None = None, name: str = "dataset") -> xr.Dataset:
        """Check the dataset against the workbench conventions (:func:`validate_dataset`).

        ``trace`` defaults to whether the kind is a trace kind (:data:`TRACE_KINDS`).
        Returns the dataset, so the call chains; raises :class:`DatasetError` listing every
        broken rule (each naming the variable or attr).
        """
        if trace is None:
            raw = self._ds.attrs.get("kind")
            trace = raw in TRACE_KINDS or KIND_ALIASES.get(str(raw)) in TRACE_KINDS
        return validate_dataset(self._ds, require_provenance=require_provenance, extra_dims=extra_dims,
                                trace=bool(trace), name=name)
