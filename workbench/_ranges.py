"""Numbers in configs checked for range: machine-size integers and a field's declared bounds.

YAML integers have no size limit, so ``replications: 1000000000000000000000000000000`` reads as
a Python int that overflows later in NumPy (``OverflowError``). Every integer of a config must fit
a signed 64-bit integer (the range NumPy, HDF5/NetCDF and Optuna's storages keep), and a
pydantic bound (``Field(ge=2, le=100_000)``) is reported with the whole allowed range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from workbench._yaml import Mark, PathT, format_path
from workbench.errors import ConfigError

__all__ = ["INT64_MAX", "INT64_MIN", "check_int_sizes", "range_message"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_BOUND_TYPES = ("greater_than_equal", "less_than_equal", "greater_than", "less_than")


def check_int_sizes(data: Any, where: Callable[[PathT], Mark | None], source: str | None) -> None:
    """Raise a ConfigError at the first integer of ``data`` outside the signed 64-bit range."""
    stack: list[tuple[PathT, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64_MIN <= value <= INT64_MAX
        ):
            mark = where(path)
            digits = len(str(abs(value)))
            raise ConfigError(
                f"{value:.3e} ({digits} digits) is out of range; integers in a config must be between "
                f"{INT64_MIN:,} and {INT64_MAX:,} (64-bit)",
                source=mark[0] if mark else source,
                line=mark and mark[1],
                column=mark and mark[2],
                path=format_path(path) or None,
            )


def _field_bounds(model: type[BaseModel], path: PathT) -> tuple[Any, Any, bool, bool] | None:
    """(low, high, low inclusive, high inclusive) declared on the field at ``path``, if found."""
    from workbench.config import _unwrap  # the annotation walker lives with the validation code

    candidates: list[Any] = [model]
    info = None
    for part in path:
        nxt: list[Any] = []
        info = None
        for cand in candidates:
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                if isinstance(part, str) and part in cand.model_fields:
                    info = cand.model_fields[part]
                    nxt.extend(_unwrap(info.annotation))
            else:
                args = getattr(cand, "__args__", ())
                if isinstance(part, int) and args:
                    nxt.extend(_unwrap(args[0]))
                elif isinstance(part, str) and len(args) == 2:
                    nxt.extend(_unwrap(args[1]))
        candidates = nxt
    if info is None:
        return None
    low = high = None
    low_inc = high_inc = True
    for meta in info.metadata:  # pydantic's Ge/Gt/Le/Lt constraint objects (annotated-types)
        if getattr(meta, "ge", None) is not None:
            low = meta.ge
        elif getattr(meta, "gt", None) is not None:
            low, low_inc = meta.gt, False
        elif getattr(meta, "le", None) is not None:
            high = meta.le
        elif getattr(meta, "lt", None) is not None:
            high, high_inc = meta.lt, False
    return low, high, low_inc, high_inc


def range_message(
    err: Mapping[str, Any], model: type[BaseModel], path: PathT, shown: str
) -> str | None:
    """``"<value> is not valid: input should be <= b; <field> must be between a and b"`` for a bound
    error (pydantic's rule, then the whole allowed range of the field), else None."""
    if err["type"] not in _BOUND_TYPES:
        return None
    msg = str(err.get("msg", "out of range"))
    head = f"{shown} is not valid: {msg[0].lower() + msg[1:]}"
    name = str(path[-1]) if path else "the value"
    bounds = _field_bounds(model, path)
    if bounds is None:
        return head
    low, high, low_inc, high_inc = bounds

    def fmt(v: Any) -> str:
        return f"{v:,}" if isinstance(v, int) else f"{v:g}"

    if low is not None and high is not None:
        rule = f"between {fmt(low)} and {fmt(high)}"
        if not (low_inc and high_inc):
            rule = f"in {'[' if low_inc else '('}{fmt(low)}, {fmt(high)}{']' if high_inc else ')'}"
    elif low is not None:
        rule = f"{'at least' if low_inc else 'greater than'} {fmt(low)}"
    else:
        rule = f"{'at most' if high_inc else 'less than'} {fmt(high)}"
    return f"{head}; {name} must be {rule}"
