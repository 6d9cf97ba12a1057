"""Start values by declared type: parse text (``-p NAME=VALUE``) and check Python values.

Every value the runtime sets goes through :func:`coerce_value`, so a value that does not
fit its variable is a :class:`~workbench.errors.ConfigError` naming the variable, the value
and the valid range, never a silent wrap-around in ctypes (``Int8 = 300`` would become 44).

========================  =====================================================================
FMI type                  accepted
========================  =====================================================================
Real, Float64, Float32    ``float(text)`` (``inf``/``nan`` refused); Float32 must fit ±3.4028235e38
Integer, Int8 … UInt64    an exact integer (``42``, ``-7``, ``0x1f``; ``1e3`` and ``2.5`` refused)
                          within the type's range (FMI 2 Integer: 32-bit signed)
Boolean                   ``true``/``false``/``1``/``0``, any case
Enumeration               an item name of the declared type (``fast``) or its integer value
String                    the text verbatim (``007`` stays ``007``)
========================  =====================================================================

Array variables (FMI 3 ``<Dimension>``) take one value per element: a sequence in Python,
or the elements separated by spaces or commas on the command line (``gains=1,2,3``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.errors import ConfigError

if TYPE_CHECKING:
    from fmu_models._describe import FmuVariable

__all__ = ["INT_RANGES", "coerce_value", "parse_value", "value_kind"]

INT_RANGES: dict[str, tuple[int, int]] = {
    "Int8": (-(2**7), 2**7 - 1),
    "UInt8": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "UInt64": (0, 2**64 - 1),
    "Integer": (-(2**31), 2**31 - 1),  # FMI 2.0 fmi2Integer is a C int
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def value_kind(var: FmuVariable, fmi_version: int) -> str:
    """``"float"``, ``"int"``, ``"bool"``, ``"enum"`` or ``"str"`` for a variable type."""
    t = var.type
    if t in ("Real", "Float64", "Float32"):
        return "float"
    if t in INT_RANGES:
        return "int"
    if t == "Boolean":
        return "bool"
    if t == "Enumeration":
        return "enum"
    if t == "String":
        return "str"
    raise ConfigError(f"variable '{var.name}' has type {t}, which the runtime cannot set")


def _int_range(var: FmuVariable, fmi_version: int) -> tuple[int, int]:
    if var.type == "Enumeration":
        return INT_RANGES["Int64" if fmi_version == 3 else "Integer"]
    return INT_RANGES[var.type]


def _bad(fmu: str, var: FmuVariable, value: Any, rule: str) -> ConfigError:
    return ConfigError(f"{fmu}: {var.causality} '{var.name}' ({var.type}) = {value!r}: {rule}")


def _scalar(var: FmuVariable, value: Any, fmu: str, fmi_version: int) -> Any:
    kind = value_kind(var, fmi_version)
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer) and int(value) in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise _bad(fmu, var, value, "give true, false, 1 or 0")
    if kind == "float":
        try:
            out = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise _bad(fmu, var, value, "give a number such as 1.5 or 2e-3") from None
        if not math.isfinite(out):
            raise _bad(fmu, var, value, "give a finite number")
        if var.type == "Float32" and abs(out) > _FLOAT32_MAX:
            raise _bad(fmu, var, value, f"a Float32 must lie within ±{_FLOAT32_MAX:.8g}")
        return out
    # int / enum
    if kind == "enum" and isinstance(value, str) and value.strip() in dict(var.items):
        return dict(var.items)[value.strip()]
    if isinstance(value, int | np.integer | bool | np.bool_):  # a Python bool is 0 or 1
        out = int(value)
    elif isinstance(value, float | np.floating) and float(value).is_integer():
        out = int(value)
    else:
        text = str(value).strip()
        try:
            out = (
                int(text, 0)
                if text.lower().lstrip("+-").startswith(("0x", "0o", "0b"))
                else int(text, 10)
            )
        except ValueError:
            rule = "give an exact integer"
            if kind == "enum" and var.items:
                rule = "give one of " + ", ".join(f"{n} ({v})" for n, v in var.items)
            raise _bad(fmu, var, value, rule) from None
    if kind == "enum" and var.items and out not in {v for _, v in var.items}:
        raise _bad(
            fmu,
            var,
            value,
            "not an item; give one of " + ", ".join(f"{n} ({v})" for n, v in var.items),
        )
    lo, hi = _int_range(var, fmi_version)
    if not lo <= out <= hi:
        raise _bad(fmu, var, value, f"out of range for {var.type}; valid range is {lo} … {hi}")
    return out


def coerce_value(var: FmuVariable, value: Any, *, fmu: str, fmi_version: int) -> Any:
    """The value to pass to the FMU's setter for ``var``: typed, range-checked.

    Text is parsed as :func:`parse_value` does. Array variables get a list of
    ``prod(var.shape)`` elements. Raises :class:`ConfigError` naming the variable.
    """
    if var.shape:
        n = int(np.prod(var.shape))
        if isinstance(value, str):
            items: Sequence[Any] = value.replace(",", " ").split()
        elif isinstance(value, Sequence | np.ndarray):
            items = list(np.asarray(value, dtype=object).ravel())
        else:
            items = [value]
        if len(items) != n:
            raise _bad(
                fmu, var, value, f"an array of shape {var.shape} needs {n} values, got {len(items)}"
            )
        return [_scalar(var, v, fmu, fmi_version) for v in items]
    return _scalar(var, value, fmu, fmi_version)


def parse_value(var: FmuVariable, text: str, *, fmu: str, fmi_version: int) -> Any:
    """Parse a start value written as text (``twin fmu run -p NAME=VALUE``) by the variable's type."""
    return coerce_value(var, text, fmu=fmu, fmi_version=fmi_version)
