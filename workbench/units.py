"""Quantities with units: parse "350 K", "2 h", "5 m3/h", "12 %", "80 degC".

One :mod:`pint` registry for the whole workbench. Configs store plain floats in
a *canonical unit* chosen by the field (SI by default: seconds, kelvin, m3/s …);
users write any compatible unit. A bare number is taken to be in the canonical
unit already.

Use the pydantic field types in configs::

    class Station(WorkbenchModel):
        mttr: Duration                 # float seconds, from "45 min"
        coolant_temperature: Temperature  # float kelvin, from "15 degC"
        feed: Quantity("m3/s")         # float m3/s, from "5 m3/h"
        share: Fraction                # float in [0, 1], from "12 %"
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Annotated, Any

import pint
from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from workbench.errors import UnitError

__all__ = [
    "ureg",
    "parse_quantity",
    "convert",
    "normalise_unit",
    "Quantity",
    "Duration",
    "MAX_RUN_LENGTH_S",
    "RunLength",
    "Temperature",
    "Fraction",
    "dimension_name",
]

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.formatter.default_format = "~"

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?P<unit>.*?)\s*$")
# "m3", "cm2", "s-1" style exponents -> "m**3", "cm**2", "s**-1"
_EXPONENT_RE = re.compile(r"(?<=[A-Za-z])(-?\d+)\b")

_EXAMPLES = {
    "[time]": '"45 min"',
    "[temperature]": '"350 K" or "80 degC"',
    "dimensionless": '"12 %" or 0.12',
    "[length] ** 3 / [time]": '"5 m3/h"',
    "[mass] / [time]": '"120 kg/h"',
    "[length] ** 3": '"2.5 m3"',
    "[mass]": '"500 kg"',
    "[length]": '"1.2 m"',
    "[mass] / [length] / [time] ** 2": '"2 bar"',
    "[power]": '"5 kW"',
    "[mass] * [length] ** 2 / [time] ** 3": '"5 kW"',
    "1 / [time]": '"3 1/h"',
}

_DIMENSION_NAMES = {
    "[time]": "duration",
    "[temperature]": "temperature",
    "dimensionless": "dimensionless number",
    "[length] ** 3 / [time]": "volumetric flow",
    "[mass] / [time]": "mass flow",
    "[length] ** 3": "volume",
    "[mass]": "mass",
    "[length]": "length",
    "[mass] / [length] / [time] ** 2": "pressure",
    "[mass] * [length] ** 2 / [time] ** 3": "power",
    "1 / [time]": "rate",
}


def normalise_unit(unit: str) -> str:
    """Rewrite engineering shorthand into pint syntax.

    ``"m3/h"`` → ``"m**3/h"``, ``"%"`` → ``"percent"``, ``"°C"`` → ``"degC"``.

    Parameters
    ----------
    unit
        A unit string as users write it.

    Returns
    -------
    str
        The same unit in pint's grammar.
    """
    text = unit.strip().replace("°C", "degC").replace("°F", "degF").replace("℃", "degC")
    text = text.replace("%", "percent").replace("^", "**")
    text = _EXPONENT_RE.sub(lambda m: "**" + m.group(1), text)
    return text


@lru_cache(maxsize=512)
def _units(unit: str) -> pint.Unit:
    return ureg.Unit(normalise_unit(unit)) if unit.strip() else ureg.dimensionless


def dimension_name(unit: str) -> str:
    """Human name of the physical dimension of ``unit`` (e.g. ``"duration"``)."""
    dim = str(_units(unit).dimensionality)
    return _DIMENSION_NAMES.get(dim, f"quantity of dimension {dim}")


def _example(unit: str) -> str:
    dim = str(_units(unit).dimensionality)
    return _EXAMPLES.get(dim, f'"1 {unit}"')


def parse_quantity(text: str | float | int, unit: str | None = None) -> pint.Quantity:
    """Parse a quantity string, optionally checking its dimension.

    Parameters
    ----------
    text
        ``"350 K"``, ``"2 h"``, ``"5 m3/h"``, ``"12 %"``; a bare number is
        taken to be in ``unit`` (dimensionless if ``unit`` is None).
    unit
        If given, the result must be convertible to this unit.

    Returns
    -------
    pint.Quantity

    Raises
    ------
    UnitError
        When the text is not ``<number> <unit>``, the unit is unknown or the
        dimension does not match ``unit``.
    """
    target = _units(unit) if unit is not None else None
    if isinstance(text, bool):
        raise UnitError(f"{text!r} is not a quantity; use a number with a unit")
    if isinstance(text, int | float):
        return ureg.Quantity(float(text), target if target is not None else ureg.dimensionless)
    if not isinstance(text, str):
        raise UnitError(f"{text!r} is not a quantity; use a string such as \"2 h\"")
    match = _QUANTITY_RE.match(text)
    what = dimension_name(unit) if unit is not None else "quantity"
    hint = _example(unit) if unit is not None else '"2 h"'
    if not match:
        raise UnitError(f'"{text}" is not a {what}; use e.g. {hint}')
    value = float(match.group("value"))
    unit_text = match.group("unit")
    if not unit_text:
        return ureg.Quantity(value, target if target is not None else ureg.dimensionless)
    try:
        q = ureg.Quantity(value, normalise_unit(unit_text))
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError,
            TypeError, ValueError, SyntaxError, AssertionError, KeyError, TokenErrorType) as exc:
        raise UnitError(
            f'"{text}" is not a {what}: unknown unit "{unit_text}"; use e.g. {hint}'
        ) from exc
    if target is not None and q.dimensionality != target.dimensionality:
        raise UnitError(
            f'"{text}" is not a {what} (it is a {dimension_name(unit_text)}); use e.g. {hint}'
        )
    return q


try:  # tokenize errors raised by pint's parser on garbage such as "5 m3/(h"
    from tokenize import TokenError as TokenErrorType
except ImportError:  # pragma: no cover
    TokenErrorType = SyntaxError  # type: ignore[misc,assignment]


def convert(value: str | float | int, unit: str, *, from_unit: str | None = None) -> float:
    """Convert ``value`` to a float in ``unit`` — the workbench's one unit conversion.

    Parameters
    ----------
    value
        Quantity string (``"2 h"``) or bare number.
    unit
        Target unit, e.g. ``"s"``, ``"K"``, ``"m3/s"``, ``"h"``.
    from_unit
        Unit of a bare number (default: ``unit``, i.e. bare numbers are already in
        the target unit). Use it to turn a stored canonical value into a display
        unit: ``convert(7200.0, "h", from_unit="s")``.

    Returns
    -------
    float
        The magnitude in ``unit``.

    Raises
    ------
    UnitError
        Unknown unit, or dimensions of ``value``/``from_unit`` and ``unit`` differ.

    Examples
    --------
    >>> convert("2 h", "s")
    7200.0
    >>> round(convert("80 degC", "K"), 2)
    353.15
    >>> convert(5400.0, "h", from_unit="s")
    1.5
    """
    if from_unit is not None and not isinstance(value, bool) and isinstance(value, int | float):
        source = _units(from_unit)
        target = _units(unit)
        if source.dimensionality != target.dimensionality:
            raise UnitError(
                f"{from_unit!r} ({dimension_name(from_unit)}) cannot be converted to {unit!r} "
                f"({dimension_name(unit)})"
            )
        return float(ureg.Quantity(float(value), source).to(target).magnitude)
    q = parse_quantity(value, unit)
    try:
        return float(q.to(_units(unit)).magnitude)
    except pint.errors.DimensionalityError as exc:  # pragma: no cover - guarded above
        raise UnitError(f'"{value}" cannot be converted to {unit}') from exc


def _field_converter(unit: str, *, minimum: float | None, maximum: float | None, kind: str,
                     maximum_text: str | None = None):
    def _validate(value: Any) -> float:
        try:
            out = convert(value, unit)
        except UnitError as exc:
            raise PydanticCustomError("quantity", str(exc)) from None
        if not math.isfinite(out):
            raise PydanticCustomError("quantity", f"{value!r} is not a finite {kind}")
        if minimum is not None and out < minimum:
            raise PydanticCustomError(
                "quantity",
                f"{value!r} is a negative {kind}; use a value >= {minimum:g} {unit}"
                if minimum == 0
                else f"{value!r} is below the minimum {minimum:g} {unit}",
            )
        if maximum is not None and out > maximum:
            raise PydanticCustomError(
                "quantity", f"{value!r} is above the maximum {maximum:g} {unit}"
                + (f" ({maximum_text})" if maximum_text else "") + f" for a {kind}"
            )
        return out

    return _validate


class _QuantityFactory:
    """``Quantity("m3/s")`` (or ``Quantity["m3/s"]``) → float field converted to m3/s."""

    def __call__(self, unit: str, *, minimum: float | None = None, maximum: float | None = None):
        return quantity_type(unit, minimum=minimum, maximum=maximum)

    def __getitem__(self, unit: str):
        return quantity_type(unit)


def quantity_type(
    unit: str, *, minimum: float | None = None, maximum: float | None = None,
    maximum_text: str | None = None,
):
    """Build an annotated float type that parses quantities into ``unit``.

    Parameters
    ----------
    unit
        Canonical unit of the stored float.
    minimum, maximum
        Optional bounds in ``unit`` (inclusive).
    maximum_text
        The maximum as people say it (``"1000 years"``), shown beside it in messages.

    Returns
    -------
    typing.Annotated
        ``Annotated[float, ...]`` usable as a pydantic field type.
    """
    kind = dimension_name(unit)
    return Annotated[
        float,
        BeforeValidator(_field_converter(unit, minimum=minimum, maximum=maximum, kind=kind,
                                         maximum_text=maximum_text)),
        PlainSerializer(lambda v: v, return_type=float),
    ]


Quantity = _QuantityFactory()
Duration = quantity_type("s", minimum=0.0)
"""Non-negative duration stored in seconds ("45 min", "2 h", 30)."""
MAX_RUN_LENGTH_S = 1000 * 365.25 * 86400.0
RunLength = quantity_type("s", minimum=0.0, maximum=MAX_RUN_LENGTH_S, maximum_text="1000 years")
"""Simulated time of one run (horizon, warm-up, mission) in seconds: at most 1000 (Julian) years."""
Temperature = quantity_type("K", minimum=0.0)
"""Absolute temperature stored in kelvin ("350 K", "80 degC")."""
Fraction = quantity_type("dimensionless", minimum=0.0, maximum=1.0)
"""Fraction in [0, 1] ("12 %", 0.12)."""
