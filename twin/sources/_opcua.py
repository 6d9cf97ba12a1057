"""Live plant data from OPC UA subscriptions (asyncua), with reconnect and gap marking.

A background thread runs an asyncio loop holding one asyncua ``Client``. It
subscribes to every bound tag (node id ``ns=<namespace index>;s=<tag>``) and
queues each data change with its ``SourceTimestamp``. :meth:`OpcUaSource.frames`
groups the changes into frames by sample instant: a value belongs to the bucket
``round((timestamp - t_ref) / period)``. OPC UA reports by exception, so a tag
without a change in a bucket keeps its last value (and its old timestamp, which
the quality gate judges for timeliness and staleness). A bucket is emitted when
all tags arrived, when two newer buckets exist, or after ``hold`` seconds.

When the server goes away (a health read fails or times out) the client
reconnects with exponential backoff (``reconnect_initial`` doubling up to
``reconnect_max``), re-subscribes, and marks the first frame after the outage
``reconnected=True``; the twin records the gap.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import queue
import threading
import time as _time
from collections.abc import Iterator, Sequence

from twin.sources._base import Frame, Sample, Source
from twin.sources._opcua_security import (
    OpcUaSecurity,
    OpcUaSecurityError,
    client_credentials,
    connect_client,
    new_client,
)
from workbench.errors import ConnectionLostError

__all__ = ["OpcUaSource"]

log = logging.getLogger(__name__)


class OpcUaSource(Source):
    """Frames from an OPC UA server.

    Parameters
    ----------
    url
        Endpoint, e.g. ``opc.tcp://127.0.0.1:4840/twin/plant``. A password in it is
        moved out of the URL (with a warning); ``self.url`` is the masked URL.
    tags
        Tag names (string node ids in ``namespace``).
    period
        Plant sample period (s) used to bucket source timestamps.
    namespace
        Namespace URI of the tag nodes.
    units
        Unit per tag, attached to the samples.
    publishing_interval
        Subscription publishing interval (s).
    reconnect_initial, reconnect_max
        Backoff delays (s).
    time_scale
        Plant seconds per wall second (> 1 for accelerated emulators); scales ``hold``.
    connect_timeout
        Give up (raise :class:`ConnectionLostError`) if the first connection is not
        made within this many seconds.
    security
        Policy, certificates and user (:class:`OpcUaSecurity`); default: none. A
        server refusing them raises :class:`OpcUaSecurityError` at once (no retries).
    """

    time_kind = "datetime"

    def __init__(
        self,
        url: str,
        tags: Sequence[str],
        *,
        period: float,
        namespace: str = "urn:twin-workbench:plant",
        units: dict[str, str] | None = None,
        publishing_interval: float = 0.5,
        reconnect_initial: float = 0.2,
        reconnect_max: float = 10.0,
        time_scale: float = 1.0,
        connect_timeout: float = 30.0,
        security: OpcUaSecurity | None = None,
    ) -> None:
        self._credentials = client_credentials(url, security)
        self.url = self._credentials.shown
        self.tags = list(tags)
        self.period = float(period)
        self.namespace = namespace
        self.units = dict(units or {})
        self.publishing_interval = float(publishing_interval)
        self.reconnect_initial = float(reconnect_initial)
        self.reconnect_max = float(reconnect_max)
        self.time_scale = float(time_scale)
        self.connect_timeout = float(connect_timeout)
        self.hold = 3 * self.publishing_interval + 2 * self.period / self.time_scale
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self.reconnects = 0
        self.disconnects: list[float] = []
        self.error: BaseException | None = None

    # -- consumer side --------------------------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        self._start()
        deadline = _time.monotonic() + self.connect_timeout
        while not self._connected.wait(0.05) and not self._refused() and _time.monotonic() < deadline:
            pass
        if not self._connected.is_set():
            self.close()
            raise ConnectionLostError(
                f"OPC UA server {self.url} not reachable within {self.connect_timeout:g} s"
                + (f" ({self.error})" if self.error else "")
            )
        buckets: dict[int, dict[str, Sample]] = {}
        born: dict[int, float] = {}
        last: dict[str, Sample] = {}
        t_ref: float | None = None
        emitted = -math.inf
        pending_reconnect = False
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                item = None
                self._refused()
            if item is not None:
                if item == "reconnected":
                    pending_reconnect = True
                    continue
                tag, value, ts, good = item
                if t_ref is None:
                    t_ref = ts
                k = round((ts - t_ref) / self.period)
                if k <= emitted:  # unchanged value re-sent (e.g. initial value after a reconnect)
                    last.setdefault(tag, Sample(tag, value, ts, self.units.get(tag), good))
                    continue
                buckets.setdefault(k, {})[tag] = Sample(tag, value, ts, self.units.get(tag), good)
                born.setdefault(k, _time.monotonic())
            now = _time.monotonic()
            for k in sorted(buckets):
                b = buckets[k]
                newer = sum(1 for j in buckets if j > k)
                if len(b) < len(self.tags) and newer < 2 and now - born[k] < self.hold:
                    break
                del buckets[k]
                del born[k]
                last.update(b)
                samples = {tag: last[tag] for tag in self.tags if tag in last}
                emitted = k
                frame = Frame(t_ref + k * self.period, samples, reconnected=pending_reconnect)
                pending_reconnect = False
                yield frame
        return

    def _refused(self) -> bool:
        """Raise the server's refusal of our security settings (not retried), else False."""
        if isinstance(self.error, OpcUaSecurityError) and not self._stop.is_set():
            self.close()
            raise self.error
        return False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    # -- client thread --------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True,
                                            name="opcua-source")
            self._thread.start()

    async def _main(self) -> None:
        for name in ("asyncua",):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        delay = self.reconnect_initial
        first = True
        while not self._stop.is_set():
            client = new_client(self._credentials, timeout=2.0)
            try:
                await connect_client(client, self._credentials)
                idx = await client.get_namespace_index(self.namespace)
                nodes = [client.get_node(f"ns={idx};s={tag}") for tag in self.tags]
                handler = _Handler(self._queue, {n.nodeid: t for n, t in zip(nodes, self.tags, strict=True)})
                sub = await client.create_subscription(self.publishing_interval * 1000.0, handler)
                await sub.subscribe_data_change(nodes, queuesize=1000)
                if not first:
                    self.reconnects += 1
                    self._queue.put("reconnected")
                first = False
                delay = self.reconnect_initial
                self._connected.set()
                health = client.get_node("i=2259")  # Server_ServerStatus_State
                while not self._stop.is_set():
                    await asyncio.sleep(0.25)
                    await asyncio.wait_for(health.read_value(), timeout=1.5)
            except OpcUaSecurityError as exc:  # only a change of settings helps: no retry
                self.error = exc
                break
            except Exception as exc:  # any transport/protocol failure -> reconnect
                self.error = exc
                if self._stop.is_set():
                    break
                self.disconnects.append(_time.time())
                log.info("OPC UA connection to %s lost (%s); retrying in %.2f s", self.url, exc, delay)
            finally:
                try:
                    await asyncio.wait_for(client.disconnect(), timeout=1.0)
                except Exception:  # noqa: BLE001 - the server may be gone already
                    pass
            if self._stop.is_set():
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2.0, self.reconnect_max)


class _Handler:
    """asyncua subscription handler: push (tag, value, source time, good) to a queue."""

    def __init__(self, out: queue.Queue, names: dict) -> None:
        self.out = out
        self.names = names

    def datachange_notification(self, node, val, data) -> None:
        dv = data.monitored_item.Value
        ts = dv.SourceTimestamp or dv.ServerTimestamp
        if ts is not None and ts.tzinfo is None:
            ts = ts.replace(tzinfo=_dt.UTC)
        t = ts.timestamp() if ts is not None else _time.time()
        good = dv.StatusCode is None or dv.StatusCode.is_good()
        self.out.put((self.names.get(node.nodeid, str(node.nodeid)), val, t, good))

    def status_change_notification(self, status) -> None:  # pragma: no cover - logged only
        log.info("subscription status change: %s", status)
