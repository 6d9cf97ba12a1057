"""Which values a run records, and how they are read: the output plan.

A run records *columns*. A scalar variable is one column named like the variable; an
FMI 3.0 array variable (``<Dimension>``) is one column per element named
``name[i]`` (1-based, ``name[i,j]`` for more dimensions, row-major as FMI 3 serializes
arrays), which is exactly how FMI 2.0 exports spell array elements — so a model gives the
same dataset whichever FMI version it was exported with.

Scalar Real/Float64 columns are read with one ``fmi2GetReal``/``fmi3GetFloat64`` array call
into a float64 matrix (the C stepping loop writes there directly). Every other column
(Float32, Int8 … UInt64, Integer, Boolean, Enumeration, array elements) is read with the
getter of its own type and kept in its own NumPy dtype, so integers stay exact integers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.errors import FmuError, did_you_mean

if TYPE_CHECKING:
    from fmu_models._describe import FmuVariable
    from fmu_models._instance import FmuInstance

__all__ = ["Column", "OutputPlan", "RECORDABLE", "column_names", "plan_outputs"]

DTYPES: dict[str, Any] = {
    "Real": np.float64,
    "Float64": np.float64,
    "Float32": np.float32,
    "Int8": np.int8,
    "UInt8": np.uint8,
    "Int16": np.int16,
    "UInt16": np.uint16,
    "Int32": np.int32,
    "UInt32": np.uint32,
    "Int64": np.int64,
    "UInt64": np.uint64,
    "Integer": np.int32,
    "Boolean": np.bool_,
    "Enumeration": np.int64,
}
RECORDABLE = frozenset(DTYPES)
"""FMI types a run can record (String, Binary and Clock variables are not recorded)."""

_ELEMENT = re.compile(r"^(?P<base>.+)\[(?P<idx>\d+(?:\s*,\s*\d+)*)\]$")


@dataclass(frozen=True)
class Column:
    """One recorded column: a scalar variable, or one element (``flat``) of an array variable."""

    name: str
    var: FmuVariable
    flat: int | None = None

    @property
    def dtype(self) -> Any:
        return DTYPES[self.var.type]


def column_names(var: FmuVariable) -> list[str]:
    """``[var.name]`` for a scalar, ``name[1]`` … (1-based, row-major) for an array variable."""
    if not var.shape:
        return [var.name]
    return [
        f"{var.name}[{','.join(str(i + 1) for i in idx)}]"
        for idx in itertools.product(*(range(d) for d in var.shape))
    ]


def _getter_type(var: FmuVariable, fmi_version: int) -> str:
    if var.type == "Enumeration":
        return "Integer" if fmi_version == 2 else "Int64"
    return var.type


@dataclass
class OutputPlan:
    """The columns of a run: ``real`` (scalar Real/Float64, fast path) and ``typed`` (the rest)."""

    columns: tuple[Column, ...]
    real: tuple[str, ...] = field(init=False)
    typed: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.real = tuple(
            c.name for c in self.columns if c.flat is None and c.var.is_scalar_float64
        )
        self.typed = tuple(
            c for c in self.columns if not (c.flat is None and c.var.is_scalar_float64)
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Every column name, in the order the user asked for (or the model declares)."""
        return tuple(c.name for c in self.columns)

    @property
    def variables(self) -> list[str]:
        """Names of the FMU variables behind the columns (arrays once)."""
        return list(dict.fromkeys(c.var.name for c in self.columns))

    def typed_buffers(self, n_rows: int) -> dict[str, np.ndarray]:
        """Zeroed arrays (one per typed column) in the column's own dtype."""
        return {c.name: np.zeros(n_rows, dtype=c.dtype) for c in self.typed}

    def reader(self, inst: FmuInstance) -> TypedReader:
        """A reader of the typed columns through ``inst``'s typed getters."""
        return TypedReader(inst, self.typed)


class TypedReader:
    """Reads the typed columns with one getter call per FMI type (``getInt8``, ``getBoolean`` …)."""

    def __init__(self, inst: FmuInstance, columns: Sequence[Column]):
        self.inst = inst
        v = inst.fmi_version
        groups: dict[str, list[FmuVariable]] = {}
        for c in columns:
            g = groups.setdefault(_getter_type(c.var, v), [])
            if c.var not in g:
                g.append(c.var)
        self.calls: list[tuple[str, list[int], int, list[tuple[str, int]]]] = []
        for t, variables in groups.items():
            offsets, pos = {}, 0
            for var in variables:
                offsets[var.name] = pos
                pos += var.size
            picks = [
                (c.name, offsets[c.var.name] + (c.flat or 0))
                for c in columns
                if _getter_type(c.var, v) == t
            ]
            self.calls.append((f"get{t}", [var.value_reference for var in variables], pos, picks))

    def read(self, buffers: dict[str, np.ndarray], row: int) -> None:
        """Read every typed column into ``buffers[name][row]``."""
        inst = self.inst
        for fname, vrs, n_values, picks in self.calls:
            args = (vrs,) if inst.fmi_version == 2 else (vrs, n_values)
            values = inst.call(fname, *args, at=inst.time)
            for name, k in picks:
                buffers[name][row] = values[k]

    def c_groups(
        self, n_rows: int
    ) -> list[tuple[Any, np.ndarray, np.ndarray, list[tuple[str, int]]]]:
        """The typed getters as ``wb_extra`` records for the C loop: ``(record, buffer, vrs, picks)``.

        ``buffer`` has one row per recorded point in the getter's C type (``fmi2Boolean`` is an
        int, ``fmi3Boolean`` a C bool); :meth:`scatter` copies its columns into the buffers.
        """
        from fmu_models._stepper import WbExtra

        v = self.inst.fmi_version
        groups = []
        for fname, vrs, n_values, picks in self.calls:
            t = fname[3:]
            dtype = np.int32 if (v == 2 and t in ("Integer", "Boolean")) else DTYPES[t]
            buf = np.zeros((n_rows, n_values), dtype=dtype)
            vr = np.array(vrs, dtype=np.uint32)
            rec = WbExtra(
                self.inst.pointer(f"fmi{v}Get{t}"),
                vr.ctypes.data,
                len(vrs),
                n_values,
                buf.ctypes.data,
                buf.strides[0],
            )
            groups.append((rec, buf, vr, picks))
        return groups

    @staticmethod
    def scatter(
        groups: list[tuple[Any, np.ndarray, np.ndarray, list[tuple[str, int]]]],
        buffers: dict[str, np.ndarray],
        rows: slice,
    ) -> None:
        """Copy the rows ``rows`` of the C loop's group buffers into the column buffers."""
        for _rec, buf, _vr, picks in groups:
            for name, k in picks:
                buffers[name][rows] = buf[rows, k]

    def values(self) -> dict[str, Any]:
        """The current value of every typed column."""
        out: dict[str, Any] = {}
        for fname, vrs, n_values, picks in self.calls:
            args = (vrs,) if self.inst.fmi_version == 2 else (vrs, n_values)
            values = self.inst.call(fname, *args, at=self.inst.time)
            for name, k in picks:
                out[name] = values[k]
        return out


def plan_outputs(
    fmu: str,
    variables: dict[str, FmuVariable],
    requested: Sequence[str] | None,
    declared: Sequence[FmuVariable],
) -> OutputPlan:
    """The columns to record: ``requested`` names (variables or ``name[i]`` elements), else every output.

    ``"time"`` in ``requested`` is skipped: time is the coordinate of every result.
    Raises :class:`FmuError` for unknown names (with did-you-mean) and unrecordable types.
    """
    if requested is None:
        cols = [
            c
            for var in declared
            if var.causality == "output" and var.type in RECORDABLE
            for c in _columns(var)
        ]
        return OutputPlan(tuple(cols))
    cols: list[Column] = []
    for name in requested:
        if name == "time" and (name not in variables or variables[name].causality == "independent"):
            continue
        var = variables.get(name)
        if var is None:
            m = _ELEMENT.match(name)
            base = variables.get(m["base"]) if m else None
            if base is None or not base.shape:
                choices = list(variables) + [
                    n for v in variables.values() if v.shape for n in column_names(v)
                ]
                raise FmuError(
                    f"{fmu}: output '{name}' is not a variable of this FMU; {did_you_mean(name, choices)}"
                )
            if base.type not in RECORDABLE:
                raise _unrecordable(fmu, base)
            names = column_names(base)
            key = f"{base.name}[{','.join(s.strip() for s in m['idx'].split(','))}]"
            if key not in names:
                raise FmuError(
                    f"{fmu}: output '{name}' is outside the array {base.name} of shape {base.shape}; "
                    f"elements are {names[0]} … {names[-1]}"
                )
            cols.append(Column(key, base, names.index(key)))
            continue
        if var.type not in RECORDABLE:
            raise _unrecordable(fmu, var)
        cols.extend(_columns(var))
    return OutputPlan(tuple(dict.fromkeys(cols)))


def _columns(var: FmuVariable) -> list[Column]:
    if not var.shape:
        return [Column(var.name, var)]
    return [Column(n, var, k) for k, n in enumerate(column_names(var))]


def _unrecordable(fmu: str, var: FmuVariable) -> FmuError:
    return FmuError(
        f"{fmu}: output '{var.name}' has type {var.type}, which a run cannot record; "
        f"record Real/Float, Integer, Boolean or Enumeration variables"
    )
