"""Do the bound OPC UA nodes exist? One read at connect, so a misspelt tag stops the twin at once.

A binding names each tag by its string node id ``ns=<index of the namespace URI>;s=<tag>``.
The server answers a read of a node it does not have with ``BadNodeIdUnknown`` (OPC UA
Part 4, §7.34 status codes; Part 6 for the ``ns=…;s=…`` notation); without this check the
live twin would run on, with the tag missing from every frame ("completeness" alone hinting
at it). :func:`missing_nodes` reads the ``NodeClass`` attribute of every bound node in one
``Read`` service call and lists those that failed; :class:`MissingNodeError` names each tag,
its node id, the status and the closest tag names the server does have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workbench.errors import ConfigError, did_you_mean

__all__ = ["MissingNode", "MissingNodeError", "missing_nodes"]

#: Nodes browsed under ``Objects`` for did-you-mean suggestions (bounded on big servers).
_BROWSE_LIMIT = 5000


@dataclass(frozen=True)
class MissingNode:
    """A bound tag whose node the server does not have."""

    tag: str
    node_id: str
    status: str
    hint: str = ""

    def __str__(self) -> str:
        return f"tag '{self.tag}': node {self.node_id} {self.status}" + (
            f", {self.hint}" if self.hint else ""
        )


class MissingNodeError(ConfigError):
    """Bound OPC UA nodes do not exist on the server (exit code 2); ``missing`` lists them."""

    def __init__(
        self,
        url: str,
        missing: Sequence[MissingNode],
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.url = url
        self.missing = list(missing)
        listed = "; ".join(map(str, self.missing))
        super().__init__(
            f"{len(self.missing)} bound OPC UA node(s) do not exist on {url} (correct the tag names or "
            f"the namespace in the binding, or serve these nodes): {listed}",
            source=source,
            line=line,
            column=column,
            path=path,
        )


async def missing_nodes(client, namespace: str, tags: Sequence[str]) -> list[MissingNode]:
    """Every tag of ``tags`` whose node ``ns=<namespace>;s=<tag>`` the connected ``client``'s server lacks.

    A namespace URI the server does not know makes every tag missing.
    """
    from asyncua import ua

    try:
        idx = await client.get_namespace_index(namespace)
    except ValueError:
        known = await client.get_namespace_array()
        return [
            MissingNode(
                t,
                f"ns=?;s={t}",
                f"is in namespace {namespace!r}, which the server does not have",
                did_you_mean(namespace, known) if known else "",
            )
            for t in tags
        ]
    params = ua.ReadParameters()
    for tag in tags:
        rv = ua.ReadValueId()
        rv.NodeId = ua.NodeId(tag, idx)
        rv.AttributeId = ua.AttributeIds.NodeClass
        params.NodesToRead.append(rv)
    results = await client.uaclient.read(params) if tags else []
    bad = [
        (tag, dv.StatusCode)
        for tag, dv in zip(tags, results, strict=True)
        if dv.StatusCode is not None and not dv.StatusCode.is_good()
    ]
    if not bad:
        return []
    names = await _tag_names(client, idx)
    return [
        MissingNode(
            tag,
            f"ns={idx};s={tag}",
            f"does not exist ({code.name})",
            did_you_mean(tag, names) if names else "",
        )
        for tag, code in bad
    ]


async def _tag_names(client, idx: int) -> list[str]:
    """String ids of the variables in namespace ``idx`` under ``Objects`` (breadth first, bounded)."""
    from asyncua import ua

    out: list[str] = []
    todo = [client.nodes.objects]
    seen = 0
    try:
        while todo and seen < _BROWSE_LIMIT:
            node = todo.pop(0)
            for child in await node.get_children():
                seen += 1
                nid = child.nodeid
                if nid.NamespaceIndex == idx and nid.NodeIdType == ua.NodeIdType.String:
                    out.append(str(nid.Identifier))
                if nid.NamespaceIndex != 0:
                    todo.append(child)
    except Exception:  # noqa: BLE001 - suggestions are a courtesy; the missing nodes are reported anyway
        pass
    return out
