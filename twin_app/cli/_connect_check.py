"""``twin config validate --connect``: connect to a binding's OPC UA server and check every bound node.

The check is the one the live twin makes when it starts (:class:`twin.sources.OpcUaSource`
with ``check_nodes``), so it connects exactly as the twin would; here it only connects,
reads the nodes and disconnects. A missing node is reported with its tag, node id and the
binding's file:line where the tag is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import format_path, resolve_config

__all__ = ["check_binding_nodes", "BINDING_KINDS"]

#: Config kinds that name OPC UA nodes.
BINDING_KINDS = ("twin-binding", "line-binding")


def _endpoint(file: Path, config, kind: str) -> tuple[str, str, list[str]]:
    """(url, namespace, tags) that the live twin of this binding subscribes to."""
    if kind == "line-binding":
        from simulation.line import load_scenario
        from twin.line import LineState

        config = config.model_copy(
            update={"base_dir": str(Path(file).resolve().parent)}
        )  # as load_line_binding
        tags = LineState(config, load_scenario(config.scenario_path())).tags()
        return config.opcua.endpoint, config.opcua.namespace, tags
    tags = [t.tag for t in config.tags] + ([config.batch_time_tag] if config.batch_time_tag else [])
    return config.opcua.url, config.opcua.namespace, tags


def _where(data: Any, value: str, path: tuple = ()) -> tuple | None:
    """Path of the first string ``value`` in the resolved YAML data (depth first)."""
    if isinstance(data, str):
        return path if data == value else None
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, item in items:
        found = _where(item, value, (*path, key))
        if found is not None:
            return found
    return None


def check_binding_nodes(
    file: Path, config, kind: str, *, overrides: dict | None = None, timeout: float = 20.0
) -> str:
    """Connect to the server of a binding and check that every bound node exists.

    Returns
    -------
    str
        ``"N nodes found on URL"``, or why nothing was checked (not a binding).

    Raises
    ------
    twin.sources.MissingNodeError
        One or more nodes do not exist (a ``ConfigError``, exit 2): every one is named, with
        the file:line of the first missing tag.
    workbench.errors.ConnectionLostError
        The server could not be reached within ``timeout`` seconds.
    """
    from twin.sources import MissingNodeError, OpcUaSource

    if kind not in BINDING_KINDS:
        return f"not an OPC UA binding (kind {kind}): nothing to connect to"
    url, namespace, tags = _endpoint(file, config, kind)
    source = OpcUaSource(url, tags, period=1.0, namespace=namespace, connect_timeout=timeout)
    try:
        source.connect()
    except MissingNodeError as exc:
        resolved = resolve_config(file, overrides=overrides)
        path = _where(resolved.data, exc.missing[0].tag)
        mark = resolved.where(path) if path is not None else None
        raise MissingNodeError(
            url,
            exc.missing,
            source=mark[0] if mark else str(file),
            line=mark[1] if mark else None,
            column=mark[2] if mark else None,
            path=format_path(path) if path else None,
        ) from None
    finally:
        source.close()
    return f"{len(tags)} nodes found on {url}"
