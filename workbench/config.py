"""YAML configs: ``extends:`` inheritance, ``overrides:`` with dotted paths, pydantic validation.

Every config file of the workbench (scenarios, twin bindings, campaigns, life
models) is YAML read with PyYAML's *safe* loader and validated by a pydantic v2
model owned by the package that uses it. This module adds what engineers need
around that:

``extends: base.yaml``
    Start from another file (relative to this one; a list is merged left to
    right). Mappings merge key by key, this file winning; lists and scalars are
    replaced whole. Missing files and cycles are errors.
``overrides:``
    What-if edits applied after the merge, as ``dotted.path: value``; a list
    item can be addressed by index (``stations[2]`` or ``stations.2``) or by its
    ``name``/``id`` (``line.stations.dryer.mttr: 45 min``).
``kind:``
    Names the config model (see ``twin_app/configs.py``); removed before validation
    unless the model declares a ``kind`` field.

Every error is a :class:`~workbench.errors.ConfigError` naming
``file:line:column``, the field path, the bad value and what is accepted.
"""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from workbench._ranges import check_int_sizes, range_message
from workbench._yaml import KEY_MARK, Mark, PathT, format_path, read_yaml
from workbench.errors import ConfigError, did_you_mean

__all__ = [
    "WorkbenchModel",
    "ResolvedConfig",
    "read_yaml",
    "resolve_config",
    "apply_overrides",
    "validate_config",
    "load_config",
    "format_path",
    "parse_override_args",
]


SPECIAL_KEYS = ("extends", "overrides")
MAX_ERRORS = 10


class WorkbenchModel(BaseModel):
    """Base of every config model: unknown fields are errors, defaults validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


@dataclass
class ResolvedConfig:
    """A config after ``extends`` and ``overrides``, with where each value came from.

    Attributes
    ----------
    data
        The merged plain data (dicts, lists, scalars).
    positions
        Field path tuple → ``(file, line, column)`` of the value.
    source
        The file that was loaded.
    files
        Every file read, in order (the ``extends`` chain).
    """

    data: dict[str, Any]
    positions: dict[PathT, Mark] = field(default_factory=dict)
    source: str = "<string>"
    files: list[str] = field(default_factory=list)

    def where(self, path: PathT) -> Mark | None:
        """Position of ``path`` or of its nearest recorded ancestor."""
        for n in range(len(path), -1, -1):
            mark = self.positions.get(tuple(path[:n]))
            if mark is not None:
                return mark
        return None


# --------------------------------------------------------------------------- extends + overrides
def _deep_merge(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            out[key] = _deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(top)


def _prune_positions(positions: dict[PathT, Mark], data: Any) -> None:
    """Drop positions of base values that a child replaced (lists/scalars replaced whole)."""
    for path in list(positions):
        cur = data
        ok = True
        for part in path:
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
                cur = cur[part]
            else:
                ok = False
                break
        if not ok:
            del positions[path]


def resolve_config(
    path: str | Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    _stack: tuple[Path, ...] = (),
) -> ResolvedConfig:
    """Read ``path``, follow ``extends``, apply file and caller ``overrides``.

    Parameters
    ----------
    path
        YAML config file.
    overrides
        Extra ``{"dotted.path": value}`` edits applied last (e.g. from the CLI).

    Returns
    -------
    ResolvedConfig

    Raises
    ------
    ConfigError
        For YAML problems, missing or cyclic ``extends``, bad override paths.
    """
    path = Path(path)
    real = path.resolve()
    source = str(path)
    data, positions = read_yaml(path)
    if data is None:
        raise ConfigError("file is empty; a config is a YAML mapping of fields", source=source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"top level is a {type(data).__name__}; a config must be a YAML mapping of fields",
            source=source, line=1, column=1,
        )
    files = [source]
    merged: dict[str, Any] = {}
    merged_pos: dict[PathT, Mark] = {}
    extends = data.pop("extends", None)
    if extends is not None:
        items = extends if isinstance(extends, list) else [extends]
        for i, item in enumerate(items):
            where = positions.get(("extends", i) if isinstance(extends, list) else ("extends",))
            line, col = (where[1], where[2]) if where else (None, None)
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(
                    f"{item!r} is not a file name; use e.g. extends: base.yaml",
                    source=source, line=line, column=col, path="extends",
                )
            target = (path.parent / item)
            if target.resolve() in (*_stack, real):
                chain = " → ".join(p.name for p in (*_stack, real, target.resolve()))
                raise ConfigError(
                    f"cyclic extends ({chain}); remove one of the extends",
                    source=source, line=line, column=col, path="extends",
                )
            if not target.is_file():
                siblings = [p.name for p in path.parent.glob("*.y*ml")]
                raise ConfigError(
                    f"file '{item}' not found in {path.parent or '.'}/; "
                    + did_you_mean(Path(item).name, siblings),
                    source=source, line=line, column=col, path="extends",
                )
            base = resolve_config(target, _stack=(*_stack, real))
            merged = _deep_merge(merged, base.data)
            merged_pos.update(base.positions)
            files.extend(base.files)
    file_overrides = data.pop("overrides", None)
    merged = _deep_merge(merged, data)
    _prune_positions(merged_pos, merged)
    merged_pos.update(
        {k: v for k, v in positions.items()
         if (not k or k[0] not in SPECIAL_KEYS) and KEY_MARK not in k}
    )
    resolved = ResolvedConfig(merged, merged_pos, source, files)
    if file_overrides is not None:
        if not isinstance(file_overrides, dict):
            where = positions.get(("overrides",))
            raise ConfigError(
                "must be a mapping of dotted paths to values, e.g. 'line.buffer.capacity: 10'",
                source=source, line=where and where[1], column=where and where[2], path="overrides",
            )
        for key, value in file_overrides.items():
            where = positions.get(("overrides", key, KEY_MARK))
            value_pos = {
                p[2:]: m for p, m in positions.items()
                if p[:2] == ("overrides", key) and KEY_MARK not in p
            }
            apply_overrides(resolved, {key: value}, mark=where, value_positions=value_pos)
    if overrides:
        apply_overrides(resolved, overrides)
    return resolved


_INDEX_RE = re.compile(r"\[(\d+)\]")


def _split_dotted(path: str) -> list[Any]:
    parts: list[Any] = []
    for chunk in path.split("."):
        if chunk == "":
            raise ValueError("empty segment")
        head, *rest = _INDEX_RE.split(chunk)
        if head:
            parts.append(head)
        for j, piece in enumerate(rest):
            if j % 2 == 0:
                parts.append(int(piece))
            elif piece:
                raise ValueError(f"unexpected text '{piece}'")
    return parts


def _item_names(items: list[Any]) -> list[str]:
    names = []
    for item in items:
        if isinstance(item, dict):
            for key in ("name", "id"):
                if key in item:
                    names.append(str(item[key]))
                    break
    return names


def apply_overrides(
    resolved: ResolvedConfig,
    overrides: Mapping[str, Any],
    *,
    mark: Mark | None = None,
    value_positions: Mapping[PathT, Mark] | None = None,
) -> ResolvedConfig:
    """Apply ``{"dotted.path": value}`` edits to ``resolved`` in place.

    Intermediate segments must exist; the last one may be a new key of a mapping
    (the model then decides whether it is a known field). A mapping value is
    deep-merged into an existing mapping.

    Raises
    ------
    ConfigError
        Naming the override, the segment that does not exist and the valid choices.
    """
    for dotted, value in overrides.items():
        line, col = (mark[1], mark[2]) if mark else (None, None)
        src = mark[0] if mark else resolved.source
        where = f"overrides.{dotted}"
        if not isinstance(dotted, str):
            raise ConfigError(f"override key {dotted!r} is not a dotted path", source=src,
                              line=line, column=col, path="overrides")
        try:
            parts = _split_dotted(dotted)
        except ValueError as exc:
            raise ConfigError(
                f"'{dotted}' is not a valid path ({exc}); use e.g. line.stations.dryer.mttr",
                source=src, line=line, column=col, path=where,
            ) from None
        cur: Any = resolved.data
        real_path: list[Any] = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            here = format_path(real_path) or "the top level"
            if isinstance(cur, dict):
                if isinstance(part, int) or (part not in cur and not last):
                    raise ConfigError(
                        f"no field '{part}' in {here}; {did_you_mean(str(part), map(str, cur))}",
                        source=src, line=line, column=col, path=where,
                    )
                key = part
            elif isinstance(cur, list):
                if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
                    key = int(part)
                    if key >= len(cur):
                        raise ConfigError(
                            f"index {key} is out of range for {here} ({len(cur)} items)",
                            source=src, line=line, column=col, path=where,
                        )
                else:
                    names = _item_names(cur)
                    if part not in names:
                        raise ConfigError(
                            f"no item named '{part}' in {here}; {did_you_mean(part, names)}",
                            source=src, line=line, column=col, path=where,
                        )
                    key = names.index(part)
            else:
                raise ConfigError(
                    f"{here} is a value ({cur!r}), not a mapping or list, so '{part}' cannot be set",
                    source=src, line=line, column=col, path=where,
                )
            real_path.append(key)
            if last:
                if isinstance(cur, dict) and isinstance(value, dict) and isinstance(cur.get(key), dict):
                    cur[key] = _deep_merge(cur[key], value)
                else:
                    cur[key] = copy.deepcopy(value)
            else:
                cur = cur[key]
        full = tuple(real_path)
        for p in [p for p in resolved.positions if p[: len(full)] == full]:
            del resolved.positions[p]
        resolved.positions[full] = mark if mark is not None else ("--set " + dotted, None, None)
        if value_positions and () in value_positions:
            resolved.positions[full] = value_positions[()]
        for sub, m in (value_positions or {}).items():
            resolved.positions[full + sub] = m
    return resolved


def parse_override_args(items: Iterable[str]) -> dict[str, Any]:
    """Parse CLI ``--set path=value`` items; values are read as YAML scalars.

    Raises
    ------
    ConfigError
        For an item without ``=``.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--set '{item}' is not path=value; use e.g. --set line.buffer.capacity=10"
            )
        value, _ = read_yaml(raw, source="--set") if raw.strip() else (None, {})
        out[key.strip()] = value
    return out


# --------------------------------------------------------------------------- validation
def _unwrap(tp: Any) -> list[Any]:
    """Alternatives inside an annotation (Optional, Union, Annotated unwrapped; containers kept)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin not in (Union, types.UnionType):
        return [tp]
    out = []
    for arg in get_args(tp):
        if arg is type(None) or isinstance(arg, str | int | float):
            continue
        out.extend(_unwrap(arg))
    return out


def _fields_at(model: type[BaseModel], path: PathT) -> list[str] | None:
    """Field names of the (sub)model addressed by ``path`` (best effort)."""
    candidates: list[Any] = [model]
    for part in path:
        nxt: list[Any] = []
        for cand in candidates:
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                if isinstance(part, str) and part in cand.model_fields:
                    nxt.extend(_unwrap(cand.model_fields[part].annotation))
            else:
                origin = get_origin(cand)
                if origin in (list, tuple, set, frozenset) and isinstance(part, int):
                    nxt.extend(_unwrap(get_args(cand)[0]) if get_args(cand) else [])
                elif origin is dict and get_args(cand):
                    nxt.extend(_unwrap(get_args(cand)[1]))
        candidates = [c for c in nxt]
    names: set[str] = set()
    for cand in candidates:
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            for fname, finfo in cand.model_fields.items():
                names.add(finfo.alias or fname)
    return sorted(names) or None


def _clean_loc(loc: tuple[Any, ...], data: Any) -> PathT:
    """Drop pydantic's union/validator tags from an error location, keeping data keys."""
    out: list[Any] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif last and isinstance(cur, dict):
            out.append(part)
        # otherwise: a tag such as 'function-after[...]' or a union member name
    return tuple(out)


def _short(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _message(err: Mapping[str, Any], model: type[BaseModel], path: PathT) -> str:
    etype = err["type"]
    msg = str(err.get("msg", "invalid value"))
    value = err.get("input")
    if etype == "extra_forbidden":
        valid = _fields_at(model, path[:-1]) or []
        return f"unknown field '{path[-1]}'; {did_you_mean(str(path[-1]), valid)}"
    if etype == "missing":
        return f"required field '{path[-1] if path else '?'}' is missing; add it"
    if etype == "quantity":
        return msg
    out_of_range = range_message(err, model, path, _short(value))
    if out_of_range:
        return out_of_range
    if etype == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        choices = re.findall(r"'([^']*)'", expected)
        hint = did_you_mean(str(value), choices) if choices else ""
        return f"{_short(value)} is not one of {expected}" + (f"; {hint}" if hint.startswith("did") else "")
    if etype == "value_error" and msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if etype == "assertion_error" and msg.startswith("Assertion failed, "):
        return msg[len("Assertion failed, "):]
    if isinstance(value, dict | list):
        what = "a mapping" if isinstance(value, dict) else "a list"
        return f"{what} is not valid here: {msg[0].lower() + msg[1:]}"
    return f"{_short(value)} is not valid: {msg[0].lower() + msg[1:]}"


def validate_config(
    data: Mapping[str, Any],
    model: type[BaseModel],
    *,
    resolved: ResolvedConfig | None = None,
    source: str | None = None,
):
    """Validate plain ``data`` with ``model``, turning pydantic errors into one ConfigError.

    Parameters
    ----------
    data
        Config data (after extends/overrides).
    model
        Pydantic model class.
    resolved
        Positions for file:line:column in messages.
    source
        File name for messages when ``resolved`` is not given.

    Returns
    -------
    An instance of ``model``.

    Raises
    ------
    ConfigError
        Listing up to 10 problems; ``.errors`` holds one ConfigError each.
    """
    check_int_sizes(data, resolved.where if resolved is not None else (lambda _p: None),
                    resolved.source if resolved is not None else source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: list[ConfigError] = []
        seen: set[PathT] = set()
        for err in exc.errors(include_url=False):
            path = _clean_loc(tuple(err["loc"]), data)
            if path in seen:  # union members report the same place several times
                continue
            seen.add(path)
            mark = resolved.where(path) if resolved is not None else None
            problems.append(
                ConfigError(
                    _message(err, model, path),
                    source=(mark[0] if mark else (resolved.source if resolved else source)),
                    line=mark[1] if mark else None,
                    column=mark[2] if mark else None,
                    path=format_path(path) or None,
                )
            )
        first = problems[0]
        more = problems[1:MAX_ERRORS]
        text = first.message
        if more:
            text += "".join(f"\n  also {p}" for p in more)
            if len(problems) > MAX_ERRORS:
                text += f"\n  (+{len(problems) - MAX_ERRORS} more problems)"
        error = ConfigError(text, source=first.source, line=first.line, column=first.column,
                            path=first.path)
        error.errors = problems
        raise error from None


def load_config(
    path: str | Path,
    model: type[BaseModel],
    *,
    overrides: Mapping[str, Any] | None = None,
    kind: str | None = None,
):
    """Read, resolve and validate a YAML config file.

    Parameters
    ----------
    path
        YAML file.
    model
        Pydantic model class (normally a :class:`WorkbenchModel`).
    overrides
        Extra ``{"dotted.path": value}`` edits (e.g. CLI ``--set``).
    kind
        If given, the file's ``kind:`` (when present) must equal it.

    Returns
    -------
    An instance of ``model``.

    Raises
    ------
    ConfigError
    """
    resolved = resolve_config(path, overrides=overrides)
    data = dict(resolved.data)
    if "kind" in data and "kind" not in model.model_fields:
        found = data.pop("kind")
        if kind is not None and found != kind:
            mark = resolved.where(("kind",))
            raise ConfigError(
                f'"{found}" is the wrong kind here; this command reads kind "{kind}"',
                source=mark[0] if mark else resolved.source,
                line=mark and mark[1], column=mark and mark[2], path="kind",
            )
    return validate_config(data, model, resolved=resolved)
