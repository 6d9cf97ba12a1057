"""Writes to an OPC UA server (asyncua): the one path by which the twin sends values to the plant.

:class:`OpcUaWriter` holds one client session (same URL, namespace and security block as
:class:`~twin.sources.OpcUaSource`, :func:`connect_client` checks the server's offer the same
way) on an event loop of its own, and offers blocking :meth:`~OpcUaWriter.read`,
:meth:`~OpcUaWriter.write` and :meth:`~OpcUaWriter.eu_range`. Each call is one service request;
nothing is queued or resent:

* the server refusing a write (``Bad_OutOfRange`` outside the node's EURange,
  ``Bad_UserAccessDenied`` on a read-only node, ``Bad_TypeMismatch``, …; OPC UA Part 4, §7.34)
  raises :class:`WriteRefused` carrying the status name;
* a transport failure (server gone, timeout) raises :class:`~workbench.errors.ConnectionLostError`;
  the session is dropped and the *next* call connects afresh. The failed write is not
  repeated: whoever asked for it decides (the advice channel logs it and stops there).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from twin.sources._opcua_security import (
    OpcUaSecurity,
    OpcUaSecurityError,
    client_credentials,
    connect_client,
    new_client,
)
from workbench.errors import ConnectionLostError, WorkbenchError

__all__ = ["OpcUaWriter", "WriteRefused"]

log = logging.getLogger(__name__)


class WriteRefused(WorkbenchError):
    """The server answered a write with a bad status (``status``: e.g. ``'BadOutOfRange'``)."""

    def __init__(self, url: str, node: str, value: Any, status: str) -> None:
        self.node, self.value, self.status = node, value, status
        super().__init__(f"OPC UA server {url} refused writing {value!r} to node '{node}': {status}")


class OpcUaWriter:
    """Blocking reads and writes of ``ns=<namespace>;s=<node>`` variables.

    Parameters
    ----------
    url
        Endpoint (a password in it is moved out, as for :class:`~twin.sources.OpcUaSource`).
    namespace
        Namespace URI of the nodes.
    security
        Policy, certificates and user (:class:`OpcUaSecurity`); default: none.
    timeout
        Wall seconds one connection or request may take before it counts as lost.
    """

    def __init__(self, url: str, *, namespace: str = "urn:twin-workbench:plant",
                 security: OpcUaSecurity | None = None, timeout: float = 10.0) -> None:
        self._credentials = client_credentials(url, security)
        self.url = self._credentials.shown
        self.namespace = namespace
        self.timeout = float(timeout)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client = None
        self._ns: int | None = None
        self._lock = threading.Lock()
        #: sessions opened (1 + the reconnections after a lost connection)
        self.connections = 0

    # -- public ---------------------------------------------------------------------------
    def read(self, node: str) -> Any:
        """The node's current value."""
        return self._call(self._read(node), f"reading node '{node}'")

    def source_time(self, node: str) -> float | None:
        """The ``SourceTimestamp`` of the node's value (epoch s: the plant's clock), None without one."""
        return self._call(self._source_time(node), f"reading node '{node}'")

    def eu_range(self, node: str) -> tuple[float, float] | None:
        """``(low, high)`` of the node's ``EURange`` property (OPC UA Part 8, §5.3.2), None without one."""
        return self._call(self._eu_range(node), f"reading the EURange of node '{node}'")

    def write(self, node: str, value: float | str) -> None:
        """Write ``value`` (a float as ``Double``, a str as ``String``) once.

        Raises
        ------
        WriteRefused
            The server answered with a bad status (the value was not taken).
        ConnectionLostError
            No answer (the value may or may not have been taken; it is not resent).
        """
        self._call(self._write(node, value), f"writing {value!r} to node '{node}'")

    def close(self) -> None:
        """End the session and the writer's event loop."""
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is None:
                return
            if self._client is not None:
                fut = asyncio.run_coroutine_threadsafe(self._drop(), loop)
                try:
                    fut.result(self.timeout)
                except Exception:  # noqa: BLE001 - the server may be gone already
                    pass
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(self.timeout)

    def __enter__(self) -> OpcUaWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- loop -----------------------------------------------------------------------------
    def _call(self, coro, what: str):
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="opcua-writer")
                self._thread.start()
            fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
            try:
                return fut.result(2 * self.timeout + 1.0)
            except (WriteRefused, OpcUaSecurityError, ConnectionLostError):
                raise
            except Exception as exc:  # noqa: BLE001 - any transport failure: named, session dropped
                fut.cancel()
                try:  # drop the session: the next call connects afresh
                    asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(2.0)
                except Exception:  # noqa: BLE001 - gone already
                    self._client = None
                raise ConnectionLostError(f"OPC UA server {self.url}: {what} failed: "
                                          f"{type(exc).__name__}: {exc}".rstrip(": ")) from None

    async def _session(self):
        if self._client is None:
            logging.getLogger("asyncua").setLevel(logging.ERROR)  # as OpcUaSource: no session-timeout chatter
            client = new_client(self._credentials, timeout=self.timeout)
            await asyncio.wait_for(connect_client(client, self._credentials), self.timeout)
            self._ns = await asyncio.wait_for(client.get_namespace_index(self.namespace), self.timeout)
            self._client = client
            self.connections += 1
        return self._client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.disconnect(), 1.0)
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - gone already
                pass

    async def _node(self, node: str):
        client = await self._session()
        return client.get_node(f"ns={self._ns};s={node}")

    async def _read(self, node: str):
        from asyncua import ua

        n = await self._node(node)
        try:
            return await asyncio.wait_for(n.read_value(), self.timeout)
        except ua.UaStatusCodeError as exc:
            raise WriteRefused(self.url, node, None, _status(exc)) from None

    async def _source_time(self, node: str):
        n = await self._node(node)
        dv = await asyncio.wait_for(n.read_data_value(), self.timeout)
        return dv.SourceTimestamp.timestamp() if dv.SourceTimestamp is not None else None

    async def _eu_range(self, node: str):
        from asyncua import ua

        n = await self._node(node)
        try:
            prop = await asyncio.wait_for(n.get_child("0:EURange"), self.timeout)
        except ua.UaStatusCodeError:
            return None
        rng = await asyncio.wait_for(prop.read_value(), self.timeout)
        return float(rng.Low), float(rng.High)

    async def _write(self, node: str, value) -> None:
        from asyncua import ua

        if isinstance(value, str):
            variant = ua.Variant(value, ua.VariantType.String)
        else:
            value = float(value)
            variant = ua.Variant(value, ua.VariantType.Double)
        n = await self._node(node)
        try:
            await asyncio.wait_for(n.write_attribute(ua.AttributeIds.Value, ua.DataValue(variant)), self.timeout)
        except ua.UaStatusCodeError as exc:
            raise WriteRefused(self.url, node, value, _status(exc)) from None


def _status(exc) -> str:
    """``'BadOutOfRange'`` for an asyncua status-code exception."""
    name = type(exc).__name__
    if name.startswith("Bad") or getattr(exc, "code", None) is None:
        return name
    from asyncua import ua

    return ua.StatusCode(exc.code).name
