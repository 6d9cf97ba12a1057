"""Safe YAML reading that keeps the file, line and column of every value (for config errors)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError

__all__ = ["KEY_MARK", "MAX_ALIAS_NODES", "MAX_YAML_BYTES", "Mark", "PathT", "format_path", "read_yaml"]

MAX_YAML_BYTES = 5 * 1024 * 1024
"""Largest config file read (5 MiB); the shipped configs are a few kB."""
MAX_ALIAS_NODES = 100_000
"""Most YAML nodes that aliases (``*name``, ``<<: *name``) may add to a document when expanded.

Each alias repeats its anchored subtree; counting the subtree's size at every alias while the
document is composed refuses a "billion laughs" document (nested aliases, each level repeating
the one below) before the expanded tree is ever built, in time linear in the file size.
"""

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
    """Safe loader; we walk its node tree ourselves to keep line/column marks.

    Composing the node tree, it weighs every alias by the size of the subtree it repeats
    (sizes memoised per node, so the count is linear in the text) and stops with a
    :class:`ConfigError` at the alias that takes the expanded document past
    :data:`MAX_ALIAS_NODES`; an alias to an anchor still being composed (a recursive
    structure) is refused the same way.
    """

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self._source = source
        self._sizes: dict[int, int] = {}
        self._alias_nodes = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            where = {"source": self._source, "line": mark.line + 1, "column": mark.column + 1}
            if size is None:
                raise ConfigError(
                    "alias refers to an anchor that contains it (a recursive structure); "
                    "configs must be trees: copy the values instead", **where)
            self._alias_nodes += size
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise ConfigError(
                    f"aliases expand this document past {MAX_ALIAS_NODES:,} values (\"billion laughs\"); "
                    "use fewer or smaller anchors (*alias / <<: *alias), or write the values out",
                    **where)
            return node
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in children)
        return node


def _mark(node: yaml.Node, source: str) -> Mark:
    return (source, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(loader: _Loader, node: yaml.Node, source: str, path: PathT,
               positions: dict[PathT, Mark], depth: int = 0) -> Any:
    if depth > 100:
        raise ConfigError("nesting deeper than 100 levels", source=source,
                          line=node.start_mark.line + 1, column=node.start_mark.column + 1)
    positions[path] = _mark(node, source)
    if isinstance(node, yaml.MappingNode):
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)  # merged pairs first, then this mapping's own (which win)
        out: dict[str, Any] = {}
        own: set[str] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ConfigError(
                    f"mapping key {key!r} is not a name; keys must be plain text",
                    source=source, line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1, path=format_path(path) or None,
                )
            key = str(key) if not isinstance(key, str) else key
            if key in own:
                raise ConfigError(
                    f"duplicate key '{key}'; each key may appear once in a mapping",
                    source=source, line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                    path=format_path((*path, key)),
                )
            if key in out:  # a merged value (``<<: *x``) replaced by a later one: forget its positions
                n = len(path) + 1
                for p in [p for p in positions if len(p) >= n and p[:n] == (*path, key)]:
                    del positions[p]
            if id(key_node) in explicit:
                own.add(key)
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
            with text_or_path.open("rb") as fh:
                raw = fh.read(MAX_YAML_BYTES + 1)
            if len(raw) > MAX_YAML_BYTES:
                raise ConfigError(
                    f"file is larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB; a config is a small YAML "
                    "file (put data in CSV/NetCDF files and name them in the config)", source=source)
            text = raw.decode("utf-8")
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
        if len(text) > MAX_YAML_BYTES:
            raise ConfigError(f"text is longer than {MAX_YAML_BYTES:,} characters; a config is a small "
                              "YAML document", source=source)
    positions: dict[PathT, Mark] = {}
    try:
        loader = _Loader(text, source)
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
