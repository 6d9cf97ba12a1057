"""How reports write numbers, units and times (one style for every report).

* A number always goes with its unit; a dimensionless quantity (UCUM/CF unit ``"1"`` or none)
  gets no unit (``unit_label`` gives ``"–"`` for table headers), never the unit ``"1"``;
  fractions may be shown as % with :func:`fmt_percent`.
* Times are ISO 8601 with their UTC offset, in the plant's time zone (``attrs["timezone"]``
  or ``attrs["time_zone"]``/``attrs["tz"]``, an IANA name such as ``Europe/Berlin``), else
  UTC — :func:`plant_timezone` says which was used. Epoch seconds are never shown as numbers.
* Values that are JSON or Python mappings (provenance attrs) become ``key = value`` lists,
  never ``{'…'}`` text.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

__all__ = [
    "DIMENSIONLESS",
    "is_dimensionless",
    "unit_label",
    "fmt_number",
    "fmt_quantity",
    "fmt_percent",
    "plant_timezone",
    "fmt_time",
    "fmt_value",
    "file_digest",
    "workbench_version",
    "looks_like_epoch",
    "strip_unit_one",
]

#: Unit strings meaning "no unit".
DIMENSIONLESS = frozenset({"", "1", "-", "–", "dimensionless", "none", "None"})
_TZ_ATTRS = ("timezone", "time_zone", "tz", "plant_timezone")
#: Epoch seconds of 2001-09-09 … 2286: a float in this range under a time-like name is a date.
_EPOCH_MIN, _EPOCH_MAX = 1.0e9, 1.0e10
_TIME_KEYS = re.compile(r"(^|_)(time|created|start|end|at|timestamp|since|until|t0|first|last)($|_)", re.I)


def is_dimensionless(unit: Any) -> bool:
    """True for ``"1"``, ``""``, ``None``, ``"dimensionless"``."""
    return unit is None or str(unit).strip() in DIMENSIONLESS


def unit_label(unit: Any) -> str:
    """A unit for a table header or axis title: ``"–"`` when dimensionless."""
    return "–" if is_dimensionless(unit) else str(unit)


def fmt_number(v: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``nan`` as ``–``); never scientific for
    moderate magnitudes."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and (abs(x) >= 10 ** (digits + 3) or abs(x) < 1e-4):
        return f"{x:.{digits - 1}e}"
    if x == int(x) and abs(x) < 10 ** (digits + 3):
        return f"{int(x):d}"
    return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.0f}"


def fmt_quantity(v: Any, unit: Any, digits: int = 4) -> str:
    """``"12.3 K"``; dimensionless values without a unit (``"0.8622"``); ``%`` kept as ``"86.2 %"``."""
    num = fmt_number(v, digits)
    if is_dimensionless(unit) or num == "–":
        return num
    return f"{num} {unit}"


def fmt_percent(v: Any, digits: int = 3) -> str:
    """A fraction (0–1) as a percentage: ``0.862`` → ``"86.2 %"``."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "–" if math.isnan(x) else f"{100 * x:.{digits}g} %"


def plant_timezone(attrs: Mapping[str, Any] | None) -> tuple[_dt.tzinfo, str]:
    """The plant's time zone from dataset attrs, else UTC; and a note saying which.

    Returns
    -------
    (tzinfo, str)
        The zone and e.g. ``"Europe/Berlin (from the data's attrs['timezone'])"`` or
        ``"UTC (the data names no time zone)"``.
    """
    for key in _TZ_ATTRS:
        name = (attrs or {}).get(key)
        if name:
            try:
                return ZoneInfo(str(name)), f"{name} (from the data's attrs['{key}'])"
            except (ZoneInfoNotFoundError, ValueError):
                return _dt.UTC, f"UTC (attrs['{key}'] = {name!r} is not an IANA time zone)"
    return _dt.UTC, "UTC (the data names no time zone)"


def fmt_time(value: Any, tz: _dt.tzinfo | None = None) -> str:
    """ISO 8601 with UTC offset in ``tz`` (default UTC) from epoch seconds, datetime64,
    ``datetime`` or an ISO string. Naive values are taken as UTC."""
    tz = tz or _dt.UTC
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    elif isinstance(value, np.datetime64):
        if np.isnat(value):
            return "–"
        t = _dt.datetime.fromtimestamp(value.astype("datetime64[ms]").astype(np.int64) / 1000, _dt.UTC)
    elif isinstance(value, _dt.datetime):
        t = value
    else:
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(x):
            return "–"
        t = _dt.datetime.fromtimestamp(x, _dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(tz).isoformat(timespec="seconds")


def looks_like_epoch(key: str, value: Any) -> bool:
    """True for a float under a time-like name in the epoch-seconds range (2001–2286)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return bool(_TIME_KEYS.search(str(key))) and _EPOCH_MIN <= float(value) < _EPOCH_MAX


def _mapping_text(d: Mapping[str, Any], tz: _dt.tzinfo | None) -> str:
    return "; ".join(f"{k} = {fmt_value(v, key=str(k), tz=tz)}" for k, v in d.items())


def fmt_value(v: Any, *, key: str = "", unit: Any = None, tz: _dt.tzinfo | None = None) -> str:
    """Any attr/cell value as report text: numbers with unit, epoch-like times as ISO,
    mappings (also JSON text of one) as ``k = v; …``, lists joined by ``, ``."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in "{[" and s[-1:] in "}]":  # JSON objects (or lists of them) as key = value text
            try:
                parsed = json.loads(s)
            except ValueError:
                return v
            if (isinstance(parsed, dict) and parsed) or (isinstance(parsed, list) and any(isinstance(x, dict) for x in parsed)):
                return fmt_value(parsed, key=key, unit=unit, tz=tz)
        return v
    if isinstance(v, Mapping):
        return _mapping_text(v, tz)
    if isinstance(v, list | tuple):
        return ", ".join(fmt_value(x, key=key, unit=unit, tz=tz) for x in v)
    if isinstance(v, np.datetime64 | _dt.datetime):
        return fmt_time(v, tz)
    if looks_like_epoch(key, v):
        return fmt_time(v, tz)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return fmt_quantity(v, unit)
    return str(v)


_NUMBER_UNIT_ONE = re.compile(r"(\d(?:[\d.]*\d)?(?:[eE][+-]?\d+)?) 1(?=[\s;,)\]]|$)")


def strip_unit_one(text: str) -> str:
    """Drop the unit ``1`` after numbers in producer messages: ``"yield = 0.8627 1; …"`` → ``"yield = 0.8627; …"``."""
    return _NUMBER_UNIT_ONE.sub(r"\1", text)


def file_digest(path: str | Path, n: int = 12) -> str:
    """The first ``n`` hex digits of the SHA-256 of a file, or of a directory's files (Zarr)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        if p.is_dir():
            h.update(str(q.relative_to(p)).encode())
        with q.open("rb") as f:
            for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:n]


def workbench_version() -> str:
    """The installed workbench version (``0+unknown`` when not installed)."""
    try:
        from importlib.metadata import version

        return version("twin-workbench")
    except Exception:  # noqa: BLE001 - not installed
        return "0+unknown"
