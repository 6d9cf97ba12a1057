"""Live plant data from OPC UA subscriptions (asyncua), with reconnect, gap and clock-step marking.

A background thread runs an asyncio loop holding one asyncua ``Client``. It
subscribes to every bound tag (node id ``ns=<namespace index>;s=<tag>``) with the
data-change trigger ``StatusValueTimestamp`` (OPC UA Part 4, §7.22.2), so every
sample the server writes arrives, changed value or not, with its
``SourceTimestamp``. :meth:`OpcUaSource.frames` groups the values into frames by
sample instant: a value belongs to the bucket ``round((timestamp - t_ref) /
period)``. A tag without a value in a bucket keeps its last value (and its old
timestamp, which the quality gate judges for timeliness). A bucket is emitted
when all tags arrived, when each missing tag has a value in a later bucket (one
tag's values arrive in order), or after ``hold`` (on the plant clock, and at least
a wall second: a loaded machine delays values, it does not lose them).

Every sample is accounted for, none is dropped silently:

* a value for an instant already emitted (the initial value re-sent after a
  reconnect, a straggler) is counted in :attr:`OpcUaSource.late_values`;
* a new instant whose time is not after the last emitted one (the server's clock
  stepped back) is emitted with its own time; the first frame of such a step
  carries ``clock_step`` (seconds, negative) and the gate flags the frames
  ``OUT_OF_ORDER`` / ``DUPLICATE``;
* after a reconnect, a plant whose time went back (a restarted emulator with a
  new anchor) starts a new timeline: the frame carries ``new_timeline=True`` and
  the twin records a flagged discontinuity.

When the server goes away (a health read fails or times out), or the subscription
delivers nothing for ``resubscribe_after`` while the server answers and the consumer
has taken every value received (a consumer busy with a backlog is not starved), the client
reconnects with exponential backoff (``reconnect_initial`` doubling up to
``reconnect_max``), subscribes anew, and marks the first frame after the outage
``reconnected=True``. No wait is unbounded: no data for ``data_timeout`` wall
seconds, or a dead client thread, ends :meth:`~OpcUaSource.frames` with a
:class:`~workbench.errors.ConnectionLostError` naming the endpoint and what it
waited for.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import queue
import threading
import time as _time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from twin._clock import Clock, WallClock
from twin.sources._base import Frame, Sample, Source
from twin.sources._nodes import MissingNodeError, missing_nodes
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

_RECONNECTED = "reconnected"
_STRAGGLER = "straggler"  # a value a torn-down client delivered after its teardown
_SAME_INSTANT = 1e-3  # s: timestamps this close are the same instant (OPC UA carries 100 ns)


class _SubscriptionSilent(Exception):
    """The server answers but the subscription delivered nothing for too long."""


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
    data_timeout
        Give up (raise :class:`ConnectionLostError`) when no value arrived for this many
        wall seconds (connected or not). Default: ``max(60, 20 · period / time_scale)``.
    resubscribe_after
        Reconnect and subscribe anew when the server answers but no value arrived for
        this many wall seconds since the consumer took the last value received.
        Default: ``data_timeout / 3``.
    clock
        Plant clock the hold of incomplete buckets is measured on (default:
        ``WallClock(speed=time_scale)``).
    check_nodes
        At the first connection, check that every tag's node exists and refuse to start
        (:class:`~twin.sources._nodes.MissingNodeError`, a ``ConfigError``) if one does not.
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
        data_timeout: float | None = None,
        resubscribe_after: float | None = None,
        clock: Clock | None = None,
        check_nodes: bool = True,
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
        self.data_timeout = float(data_timeout) if data_timeout is not None else max(
            60.0, 20.0 * self.period / self.time_scale)
        self.resubscribe_after = float(resubscribe_after) if resubscribe_after is not None else self.data_timeout / 3
        self.clock = clock if clock is not None else WallClock(speed=self.time_scale)
        #: plant seconds an incomplete bucket waits for its missing tags (and at least 1 wall second)
        self.hold_plant = 2 * self.period + 3 * self.publishing_interval * self.time_scale
        self.hold = 1.0 + 3 * self.publishing_interval + 2 * self.period / self.time_scale
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._unmonitored: set[str] = set()  # tags the server refused to monitor
        self._last_data = _time.monotonic()  # consumer side: last value taken from the queue
        self._last_heard = self._last_data  # client side: last notification received
        self.reconnects = 0
        self.resubscribes = 0
        self.health_checks = 0  # rounds of the client's health loop (each reads the server state, judges silence)
        self.disconnects: list[float] = []
        self.error: BaseException | None = None
        #: frames emitted (one per sample instant)
        self.instants = 0
        #: values for an instant already emitted (re-sent initial values, stragglers), not lost
        self.late_values = 0
        #: ``(last time before, first time after)`` of every backward clock step
        self.clock_steps: list[tuple[float, float]] = []
        #: new timelines started after a reconnect (a restarted plant whose time went back)
        self.timelines = 0
        self.check_nodes = check_nodes
        self._missing: MissingNodeError | None = None

    # -- consumer side --------------------------------------------------------------------
    def connect(self) -> None:
        """Start the client and wait for the first connection (``frames`` does it too).

        Raises
        ------
        ConnectionLostError
            No connection within ``connect_timeout``.
        MissingNodeError
            A bound node does not exist on the server (with ``check_nodes``).
        """
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
        if self._missing is not None:
            self.close()
            raise self._missing

    def frames(self) -> Iterator[Frame]:
        self.connect()
        pending: list[_Bucket] = []  # instants not emitted yet, in arrival order
        done: OrderedDict[int, set[str]] = OrderedDict()  # emitted instant (1 ms key) -> its tags
        last: dict[str, Sample] = {}
        seen_last: dict[str, tuple[float, object]] = {}  # tag -> (time, value) of its latest value
        prev_time = -math.inf  # time of the latest new instant
        marks = {"reconnected": False, "new_timeline": False, "clock_step": 0.0}
        after_reconnect = False
        self._last_data = _time.monotonic()
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                item = None
                self._refused()
                self._check_alive()
            if item is not None:
                if item == _RECONNECTED:
                    marks["reconnected"] = after_reconnect = True
                    continue
                if item == _STRAGGLER:  # a torn-down client's straggler (its server is gone)
                    self.late_values += 1
                    continue
                # values queued before their client was torn down are samples the server
                # published: a backlog the consumer has not reached yet is not dropped
                _gen, tag, value, ts, good = item
                seen = _emitted(done, ts)
                prior = seen_last.get(tag)
                resent = prior is not None and abs(prior[0] - ts) < _SAME_INSTANT and _same(prior[1], value)
                if seen is not None and (tag not in seen or resent):
                    # the latest value re-sent by a new (or re-created) subscription, or a straggler
                    # of an instant emitted without it: that instant is recorded, nothing is lost
                    self.late_values += 1
                    seen.add(tag)
                    continue
                seen_last[tag] = (ts, value)
                self._last_data = _time.monotonic()  # a new value (re-sent ones do not count)
                sample = Sample(tag, value, ts, self.units.get(tag), good)
                bucket = next((b for b in pending if abs(b.time - ts) < 0.5 * self.period and tag not in b.samples),
                              None)
                if bucket is None:
                    if ts < prev_time + _SAME_INSTANT:  # time went back
                        if after_reconnect:  # a restarted plant (new anchor): a new timeline from here
                            yield from self._ready(pending, last, done, flush=True)
                            done.clear()
                            marks["new_timeline"] = True
                            self.timelines += 1
                        else:  # the server's clock stepped back: keep every sample, flag the step
                            if not marks["clock_step"]:  # the jump: the time it has minus the time it should have
                                marks["clock_step"] = ts - (prev_time + self.period)
                            self.clock_steps.append((prev_time, ts))
                    after_reconnect = False
                    bucket = _Bucket(ts, {}, self.clock.now(), _time.monotonic(), dict(marks))
                    marks.update(reconnected=False, new_timeline=False, clock_step=0.0)
                    pending.append(bucket)
                    prev_time = ts
                bucket.samples[tag] = sample
            yield from self._ready(pending, last, done)
        return

    def _ready(self, pending: list[_Bucket], last: dict, done: OrderedDict, *, flush: bool = False):
        """Emit the pending instants that are due, oldest first: complete, every missing tag moved on, or held."""
        clock_now, wall_now = self.clock.now(), _time.monotonic()
        while pending:
            b = pending[0]
            held = clock_now - b.clock >= self.hold_plant and wall_now - b.wall >= self.hold
            if not (flush or held or _passed(b, pending, [t for t in self.tags if t not in self._unmonitored])):
                return
            pending.pop(0)
            last.update(b.samples)
            done[_key(b.time)] = set(b.samples)
            while len(done) > 4096:
                done.popitem(last=False)
            self.instants += 1
            yield Frame(b.time, {tag: last[tag] for tag in self.tags if tag in last}, **b.marks)

    def _check_alive(self) -> None:
        """Raise :class:`ConnectionLostError` when the client thread died or no value came for too long."""
        if self._stop.is_set():
            return
        why = f" (last error: {type(self.error).__name__}: {self.error})" if self.error else ""
        if self._thread is None or not self._thread.is_alive():
            self._stop.set()
            raise ConnectionLostError(f"OPC UA client of {self.url} stopped; no more data{why}")
        silent = _time.monotonic() - self._last_data
        if silent > self.data_timeout:
            self.close()
            raise ConnectionLostError(
                f"no data from OPC UA server {self.url} for {silent:.0f} s (waited for data changes of "
                f"{len(self.tags)} tags: {', '.join(self.tags[:4])}{', ...' if len(self.tags) > 4 else ''}; "
                f"{self.reconnects} reconnects, {self.resubscribes} re-subscriptions){why}"
            )

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
            self._thread = threading.Thread(target=self._run, daemon=True, name="opcua-source")
            self._thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported by frames() as a named error
            self.error = exc

    async def _main(self) -> None:
        for name in ("asyncua",):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        delay = self.reconnect_initial
        first = True
        while not self._stop.is_set():
            client = new_client(self._credentials, timeout=2.0)
            self._generation += 1
            try:
                await connect_client(client, self._credentials)
                if first and await self._refuse_missing_nodes(client):
                    break
                if not first:  # before subscribing: the new subscription's first values follow the mark
                    self.reconnects += 1
                    self._queue.put(_RECONNECTED)
                await self._subscribe(client, self._generation)
                first = False
                delay = self.reconnect_initial
                self._connected.set()
                health = client.get_node("i=2259")  # Server_ServerStatus_State
                since = _time.monotonic()
                while not self._stop.is_set():
                    await asyncio.sleep(0.25)
                    await asyncio.wait_for(health.read_value(), timeout=1.5)
                    self.health_checks += 1
                    if not self._queue.empty():  # the consumer is still taking a backlog: a server
                        since = _time.monotonic()  # that is quiet meanwhile is not (yet) suspicious
                    quiet = _time.monotonic() - max(self._last_heard, since)
                    if quiet > self.resubscribe_after:
                        self.resubscribes += 1
                        raise _SubscriptionSilent(f"no data change for {quiet:.1f} s while the server answers")
            except OpcUaSecurityError as exc:  # only a change of settings helps: no retry
                self.error = exc
                break
            except (Exception, asyncio.CancelledError) as exc:  # any transport/protocol failure -> reconnect
                # (CancelledError: a request future cancelled inside asyncua is a failure too, not our exit)
                self.error = exc
                if self._stop.is_set():
                    break
                self.disconnects.append(_time.time())
                log.info("OPC UA connection to %s lost (%s); retrying in %.2f s", self.url, exc, delay)
            finally:
                self._generation += 1  # whatever this client still delivers is a straggler
                try:
                    await asyncio.wait_for(client.disconnect(), timeout=1.0)
                except (Exception, asyncio.CancelledError):  # noqa: BLE001 - the server may be gone already
                    pass
            if self._stop.is_set():
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2.0, self.reconnect_max)

    async def _subscribe(self, client, generation: int) -> None:
        """Monitor every tag with the trigger ``StatusValueTimestamp``: each written sample is reported."""
        from asyncua import ua

        idx = await client.get_namespace_index(self.namespace)
        nodes = [client.get_node(f"ns={idx};s={tag}") for tag in self.tags]
        handles = {i + 1: tag for i, tag in enumerate(self.tags)}
        handler = _Handler(self, {n.nodeid: t for n, t in zip(nodes, self.tags, strict=True)}, generation)
        sub = await client.create_subscription(self.publishing_interval * 1000.0, handler)
        requests = []
        for handle, node in zip(handles, nodes, strict=True):
            params = ua.MonitoringParameters(ClientHandle=handle, SamplingInterval=0.0, QueueSize=1000,
                                             DiscardOldest=True,
                                             Filter=ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp))
            requests.append(ua.MonitoredItemCreateRequest(
                ItemToMonitor=ua.ReadValueId(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value),
                MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=params))
        results = await sub.create_monitored_items(requests)
        bad = {handles[i + 1]: r.name for i, r in enumerate(results) if isinstance(r, ua.StatusCode)}
        if bad:  # the gate flags them MISSING; frames do not wait for them
            log.warning("OPC UA server %s refused to monitor %s", self.url,
                        ", ".join(f"{t} ({why})" for t, why in bad.items()))
        self._unmonitored = set(bad)

    async def _refuse_missing_nodes(self, client) -> bool:
        """With ``check_nodes``: True (and the error kept for :meth:`connect`) if a bound node is missing."""
        if not self.check_nodes:
            return False
        missing = await missing_nodes(client, self.namespace, self.tags)
        if missing:
            self._missing = MissingNodeError(self.url, missing)
            self._connected.set()
        return bool(missing)


@dataclass(slots=True)
class _Bucket:
    """Values of one sample instant waiting to be emitted."""

    time: float
    samples: dict[str, Sample]
    clock: float  # plant clock when its first value arrived
    wall: float  # wall monotonic when its first value arrived
    marks: dict  # reconnected / new_timeline / clock_step of the frame it becomes


def _key(t: float) -> int:
    return round(t / _SAME_INSTANT)


def _emitted(done: OrderedDict, t: float) -> set[str] | None:
    """Tags of the emitted instant at time ``t`` (within 1 ms), or None."""
    k = _key(t)
    for j in (k, k - 1, k + 1):
        if j in done:
            return done[j]
    return None


def _same(a, b) -> bool:
    try:
        return a == b or (a != a and b != b)  # NaN (a dropped-out sensor) equals NaN here
    except Exception:  # noqa: BLE001 - exotic variant values
        return False


def _passed(b: _Bucket, pending: list[_Bucket], tags: list[str]) -> bool:
    """True when every tag missing from ``b`` already has a value in a later pending instant.

    One monitored item's values arrive in order (a publish response may list several values
    of one tag before the next tag's), so such a tag has no value for ``b``'s instant.
    """
    missing = [t for t in tags if t not in b.samples]
    if not missing:
        return True
    later = pending[1:]
    return all(any(t in c.samples for c in later) for t in missing)


class _Handler:
    """asyncua subscription handler: push (generation, tag, value, source time, good) to a queue."""

    def __init__(self, source: OpcUaSource, names: dict, generation: int) -> None:
        self.source = source
        self.out = source._queue
        self.names = names
        self.generation = generation

    def datachange_notification(self, node, val, data) -> None:
        dv = data.monitored_item.Value
        ts = dv.SourceTimestamp or dv.ServerTimestamp
        if ts is not None and ts.tzinfo is None:
            ts = ts.replace(tzinfo=_dt.UTC)
        t = ts.timestamp() if ts is not None else _time.time()
        good = dv.StatusCode is None or dv.StatusCode.is_good()
        if self.generation != self.source._generation:  # after its client was torn down (same loop)
            self.out.put(_STRAGGLER)
            return
        self.source._last_heard = _time.monotonic()
        self.out.put((self.generation, self.names.get(node.nodeid, str(node.nodeid)), val, t, good))

    def status_change_notification(self, status) -> None:  # pragma: no cover - logged only
        log.info("subscription status change: %s", status)
