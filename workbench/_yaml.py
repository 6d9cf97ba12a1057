"""Safe YAML reading that keeps the file, line and column of every value (for config errors)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError

__all__ = ["KEY_MARK", "Mark", "PathT", "format_path", "read_yaml"]

PathT = tuple[Any, ...]
Mark = tuple[str, int | None, int | None]  # file, line (1-based), column (1-based)
KEY_MARK = object()  # positions[(*path, KEY_MARK)] is where the key of ``path`` is written


def format_path(path: Iterable[Any]) -> str:
    """Render a path tuple as ``a.b[2].c``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Loader(yaml.SafeLoader):
    """Safe loader; we walk its node tree ourselves to keep line/column marks."""


def _mark(node: yaml.Node, source: str) -> Mark:
    return (source, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(loader: _Loader, node: yaml.Node, source: str, path: PathT,
               positions: dict[PathT, Mark], depth: int = 0) -> Any:
    if depth > 100:
        raise ConfigError("nesting deeper than 100 levels", source=source,
                          line=node.start_mark.line + 1, column=node.start_mark.column + 1)
    positions[path] = _mark(node, source)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ConfigError(
                    f"mapping key {key!r} is not a name; keys must be plain text",
                    source=source, line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1, path=format_path(path) or None,
                )
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                raise ConfigError(
                    f"duplicate key '{key}'; each key may appear once in a mapping",
                    source=source, line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                    path=format_path((*path, key)),
                )
            positions[(*path, key, KEY_MARK)] = _mark(key_node, source)
            out[key] = _construct(loader, value_node, source, (*path, key), positions, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, source, (*path, i), positions, depth + 1)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def read_yaml(text_or_path: str | Path, *, source: str | None = None) -> tuple[Any, dict[PathT, Mark]]:
    """Read one YAML document safely, keeping the position of every value.

    Parameters
    ----------
    text_or_path
        A :class:`~pathlib.Path` to read, or YAML text.
    source
        Name used in messages (defaults to the path or ``<string>``).

    Returns
    -------
    (data, positions)

    Raises
    ------
    ConfigError
        For unreadable files, invalid YAML, duplicate or non-text keys.
    """
    if isinstance(text_or_path, Path):
        source = source or str(text_or_path)
        try:
            text = text_or_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found; give the path of a YAML config", source=source) from None
        except IsADirectoryError:
            raise ConfigError("is a directory; give the path of a YAML file", source=source) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
        except OSError as exc:
            raise ConfigError(f"cannot be read ({exc.strerror})", source=source) from None
    else:
        text = text_or_path
        source = source or "<string>"
    positions: dict[PathT, Mark] = {}
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = None if node is None else _construct(loader, node, source, (), positions)
        finally:
            loader.dispose()
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        raise ConfigError(
            f"invalid YAML: {problem}{ctx}; check indentation, colons and quotes",
            source=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        # PyYAML constructors raise these on e.g. absurd timestamps or recursive aliases
        raise ConfigError(f"invalid YAML value: {exc}", source=source) from None
    return data, positions
