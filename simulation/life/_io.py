"""Load life models, fitted-distribution files and life-data tables.

Life-data tables
----------------
A life-data CSV (or Parquet) file has either ``time`` [+ ``status``] [+ ``count``]
columns (exact failures and right-censored suspensions) or ``lower`` + ``upper``
[+ ``count``] columns (interval data: empty ``lower`` = left-censored, empty
``upper`` = right-censored, ``lower == upper`` = exact). Column names are matched
case-insensitively; other columns (serial numbers, notes) are ignored.

The **status convention** (column ``status``, ``event`` or ``failed``; cells
compared stripped and case-insensitively, ``1.0`` read as ``1``):

* failure: ``F``, ``fail``, ``failed``, ``failure``, ``event``, ``1``, ``true``, ``yes``;
* suspension (right-censored): ``S``, ``suspended``, ``suspension``, ``C``, ``censored``,
  ``right-censored``, ``survivor``, ``survived``, ``running``, ``0``, ``false``, ``no``.

Any other value is an error naming file:row:column — never silently a
suspension. R's ``survival`` coding (1 = censored, 2 = event) conflicts with
this convention on ``1``, so a ``2`` is an error that suggests
``--status-map 1=censored,2=failure``. A status map (``status_map=`` here,
``--status-map`` on the CLI) *replaces* the convention: only its codes are
accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from workbench.config import load_config
from workbench.errors import ConfigError, DataError

__all__ = [
    "load_life_model",
    "load_fitted",
    "write_fitted",
    "kpi_rows",
    "read_life_data",
    "parse_status_map",
    "FAILURE_CODES",
    "SUSPENSION_CODES",
]

#: Status cells read as a failure by default (stripped, case-insensitive).
FAILURE_CODES = ("f", "fail", "failed", "failure", "event", "1", "true", "yes")
#: Status cells read as a suspension (right-censored) by default.
SUSPENSION_CODES = ("s", "suspended", "suspension", "c", "censored", "right-censored", "survivor", "survived",
                    "running", "0", "false", "no")
#: Targets a ``--status-map`` entry may name, and whether they mean a failure.
STATUS_TARGETS = {"failure": True, "failed": True, "event": True,
                  "suspension": False, "suspended": False, "censored": False, "survivor": False,
                  "right-censored": False}
_NEEDS = ("a CSV with a header time[,status][,count] (exact/right-censored data) or lower,upper[,count] "
          "(interval data)")
_STATUS_COLUMNS = ("status", "event", "failed")
_COLUMNS = ("time", "lower", "upper", "count", *_STATUS_COLUMNS)


def load_life_model(path: str | Path, *, overrides: Mapping[str, Any] | None = None):
    """Read a ``kind: life`` YAML file (``extends``/``overrides`` supported).

    ``life: fitted.yaml`` entries are replaced by the fitted distribution stored
    in that file (path relative to the model file).

    Returns
    -------
    LifeModel
    """
    from simulation.life._config import LifeModel

    model = load_config(path, LifeModel, overrides=overrides, kind="life")
    try:
        return model.resolve_files(Path(path).resolve().parent)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=str(path), path="components.life") from None


def load_fitted(path: str | Path):
    """Read a ``kind: life-distribution`` file written by ``twin life fit``.

    Returns
    -------
    FittedLife
    """
    from simulation.life._config import FittedLife

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such fitted-distribution file; write one with `twin life fit DATA -o {path.name}`")
    return load_config(path, FittedLife, kind="life-distribution")


def write_fitted(fit, path: str | Path, *, unit: str = "h", source: str = "") -> Path:
    """Write a :class:`~simulation.life.LifeFit` as a ``kind: life-distribution`` YAML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "kind": "life-distribution",
        "life": fit.to_config().to_yaml_dict(unit),
        "source": source,
        "fit": fit.summary(unit=unit),
    }
    header = f"# fitted by twin life fit ({fit.distribution}, MLE); use it as `life: {path.name}` in a life model\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    return path


def kpi_rows(ds, unit: str) -> list[dict[str, Any]]:
    """The KPIs of a life result (variables over ``bound``), times shown in ``unit``.

    Returns
    -------
    list of dict
        One row per KPI: ``kpi``, ``estimate``, ``lower``, ``upper`` (floats), ``unit`` and
        ``description`` (the variable's ``long_name``). Durations stored in s are converted
        to ``unit``; other variables keep their own unit.
    """
    from workbench.units import convert

    rows = []
    for var in ds.data_vars:
        da = ds[var]
        if da.dims != ("bound",):
            continue
        u = da.attrs.get("units", "")
        scale, shown = (convert(1.0, "s", from_unit=unit), unit) if u == "s" else (1.0, u)
        e, lo, hi = (float(v) / scale for v in da.values)
        rows.append({"kpi": str(var), "estimate": e, "lower": lo, "upper": hi, "unit": shown,
                     "description": da.attrs.get("long_name", "")})
    return rows


# --------------------------------------------------------------------------- life-data tables
def _status_key(value) -> str:
    """A status cell as compared: stripped, lower-case, ``1.0`` → ``1``."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip().lower()
    try:
        x = float(text)
    except ValueError:
        return text
    return str(int(x)) if math.isfinite(x) and x == int(x) else text


def parse_status_map(spec: str | Mapping[str, str] | None) -> dict[str, bool] | None:
    """Parse a status map such as ``"F=failure,S=suspension"`` or ``{"1": "censored", "2": "failure"}``.

    Returns
    -------
    dict or None
        ``{code: is_failure}`` with codes as compared (stripped, lower-case, ``1.0`` → ``1``);
        None when ``spec`` is None or empty.

    Raises
    ------
    ConfigError
        An entry that is not ``CODE=TARGET`` or a target not in :data:`STATUS_TARGETS`.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        pairs = []
        for item in (p for p in spec.split(",") if p.strip()):
            code, eq, target = item.partition("=")
            if not eq or not code.strip():
                raise ConfigError(f'--status-map entry "{item.strip()}" is not CODE=TARGET; '
                                  f"use e.g. --status-map 1=censored,2=failure")
            pairs.append((code, target))
    else:
        pairs = list(spec.items())
    out: dict[str, bool] = {}
    for code, target in pairs:
        key, tgt = _status_key(code), str(target).strip().lower()
        if tgt not in STATUS_TARGETS:
            from workbench.errors import did_you_mean

            raise ConfigError(f'status map: "{target}" (for code "{code}") is not a status; use failure (failed, '
                              f"event) or suspension (suspended, censored, survivor, right-censored); "
                              f"{did_you_mean(tgt, STATUS_TARGETS)}")
        if key in out and out[key] != STATUS_TARGETS[tgt]:
            raise ConfigError(f'status map: code "{code}" is mapped to both failure and suspension')
        out[key] = STATUS_TARGETS[tgt]
    return out or None


def _status_error(table, i: int, column: str, value, status_map: dict[str, bool] | None) -> DataError:
    key = _status_key(value)
    shown = repr(str(value).strip()) if key else "empty cell"
    if status_map is not None:
        fail = ", ".join(k for k, v in status_map.items() if v) or "none"
        susp = ", ".join(k for k, v in status_map.items() if not v) or "none"
        return table.error(f"{shown} is not in the status map; accepted: failure = {fail}; suspension = {susp}",
                           i=i, column=column)
    accepted = (f"accepted (any case): failure = {', '.join(FAILURE_CODES)}; "
                f"suspension = {', '.join(SUSPENSION_CODES)}")
    if key == "2":
        return table.error(
            f"status 2 is not in the default convention (1 = failure, 0 = suspension); if the data use R's "
            f"survival coding (1 censored, 2 event), give --status-map 1=censored,2=failure "
            f"(status_map= in Python); {accepted}", i=i, column=column)
    return table.error(f"{shown} is not a known status; {accepted}; or name your codes with "
                       f"--status-map CODE=failure,CODE=suspension", i=i, column=column)


def life_data_from_table(table, *, unit: str = "h", status_map: str | Mapping[str, str] | None = None):
    """Build :class:`~simulation.life.LifeData` from a :class:`workbench.tables.Table`, checking every cell.

    Raises
    ------
    DataError
        A missing column, an empty table, a bad time/count/status/bound cell (named by
        source:row:column, with the value and what is accepted), or no failures.
    """
    from simulation.life._fitting import LifeData

    smap = parse_status_map(status_map)
    table.require_rows(f"give one row per unit ({_NEEDS})")
    n = len(table)
    count_col = table.find("count")
    count = (np.ones(n, int) if count_col is None
             else table.numbers(count_col, what="a whole number of units >= 1", minimum=1,
                                integer=True).astype(int))
    rep = np.repeat(np.arange(n), count)
    lower_col, upper_col = table.find("lower"), table.find("upper")
    if lower_col is not None or upper_col is not None:
        if lower_col is None or upper_col is None:
            raise table.missing_column("lower" if lower_col is None else "upper",
                                       "interval data need both lower and upper columns", _COLUMNS)
        what = f"a time in {unit} (>= 0) or an empty cell"
        lo = table.numbers(lower_col, what=what, allow_missing=True, minimum=0)
        hi = table.numbers(upper_col, what=what, allow_missing=True, minimum=0)
        for i in range(n):
            if math.isnan(lo[i]) and math.isnan(hi[i]):
                raise table.error("lower and upper are both empty; give at least one bound", i=i, column=lower_col)
            if hi[i] < lo[i]:
                raise table.error(f"upper {hi[i]:g} is below lower {lo[i]:g}; need lower <= upper",
                                  i=i, column=upper_col)
        lo = np.where(np.isnan(lo), 0.0, lo)[rep]
        hi = np.where(np.isnan(hi), np.inf, hi)[rep]
        exact = lo == hi
        right = np.isinf(hi)
        left = (lo == 0) & ~right & ~exact
        inter = ~(exact | right | left)
        return LifeData(failures=lo[exact], right=lo[right], left=hi[left],
                        interval=np.column_stack([lo[inter], hi[inter]]), unit=unit)
    time_col = table.find("time")
    if time_col is None:
        raise table.missing_column("time", f"life data need {_NEEDS}", _COLUMNS)
    t = table.numbers(time_col, what=f"a time in {unit} (>= 0)", minimum=0)
    status_col = next((c for c in map(table.find, _STATUS_COLUMNS) if c is not None), None)
    if status_col is None:
        failed = np.ones(n, bool)
    else:
        failed = np.empty(n, bool)
        codes = smap if smap is not None else {**dict.fromkeys(FAILURE_CODES, True),
                                               **dict.fromkeys(SUSPENSION_CODES, False)}
        for i, v in enumerate(table.frame[status_col].tolist()):
            key = _status_key(v)
            if key not in codes:
                raise _status_error(table, i, status_col, v, smap)
            failed[i] = codes[key]
    t, failed = t[rep], failed[rep]
    return LifeData(failures=t[failed], right=t[~failed], unit=unit)


def read_life_data(path: str | Path, *, unit: str = "h", status_map: str | Mapping[str, str] | None = None):
    """Read a life-data CSV or Parquet file (see the module docstring for columns and status codes).

    Parameters
    ----------
    path
        The file.
    unit
        Time unit of the numbers, e.g. ``"h"``.
    status_map
        Your status codes, e.g. ``"1=censored,2=failure"`` or ``{"F": "failure", "S": "suspension"}``;
        replaces the default convention.

    Returns
    -------
    LifeData

    Raises
    ------
    DataError
        Unreadable file or bad cell, named by file:row:column (exit code 2 on the CLI).
    ConfigError
        A malformed ``status_map``.
    """
    from workbench.tables import read_table

    table = read_table(path, needs=_NEEDS, text_cells=True)
    try:
        return life_data_from_table(table, unit=unit, status_map=status_map)
    except DataError as exc:
        if exc.source is None:  # a whole-data problem (e.g. no failures): name the file
            raise DataError(exc.message, source=str(path)) from None
        raise
