"""Serve an emulated plant on a real OPC UA server (asyncua) on 127.0.0.1.

Every plant tag is a ``Double`` variable ``ns=<namespace>;s=<tag>`` under
``Objects/Plant``; values carry the plant time as ``SourceTimestamp`` (epoch
``anchor`` + plant seconds) and a ``Bad_NoCommunication`` status while a sensor
drops out. With ``speed > 1`` the plant runs faster than real time (its
timestamps too). With a fixed ``anchor`` a restarted server catches the plant
up to where it would be now, as a real plant keeps running while its server is
down; without one, plant time 0 is the start of the server (a new timeline),
and :attr:`PlantServer.anchor` says which anchor resumes it.

Time comes from an injectable :class:`~twin.Clock`: by default a
:class:`~twin.WallClock` at ``speed``, in tests a :class:`~twin.ManualClock`
(virtual time: the plant runs as fast as the machine allows). :meth:`PlantServer.step_clock`
makes the server's clock jump (the timestamps of later samples move, the plant does
not). The number of samples published is the variable ``Plant/samples_published``.

Set-points (``setpoints:`` in the scenario) are writable ``Double`` variables with an
``EURange`` property (OPC UA Part 8, §5.3.2); the server itself refuses a write outside
that range with ``Bad_OutOfRange`` (Part 4, §7.34), and the plant takes an accepted value
from its next step on. Measured tags stay read-only (``Bad_UserAccessDenied``). With
set-points the server also carries the advice nodes a twin in ``recommend`` mode writes
and an operator confirms: ``Advice/<node>/recommended`` (Double), ``Advice/<node>/reason``
(String), ``Advice/proposal`` (String: the pending proposal's id) and ``Advice/confirm``
(String: ``"<proposal id> <operator>"``, written by the operator).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import math
import socket
import threading
import time as _time
from urllib.parse import urlparse

from twin.emulator._plant import PlantEmulator
from twin.emulator._scenario import PlantScenario
from twin.emulator._security import ServerSecurity

__all__ = ["PlantServer", "serve_plant"]

log = logging.getLogger(__name__)



def free_port() -> int:
    """A TCP port of 127.0.0.1 free now (for an emulator endpoint in a tour, a loop or a test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class PlantServer:
    """An OPC UA server publishing a :class:`PlantEmulator`.

    Parameters
    ----------
    scenario
        The plant scenario.
    endpoint
        Override of ``scenario.endpoint`` (host must be 127.0.0.1/localhost).
    speed
        Override of ``scenario.speed`` (plant s per wall s).
    anchor
        Wall-clock epoch (s) of plant time 0; default: now. Give the same anchor
        to a restarted server to resume the same plant run.
    seed
        Override of ``scenario.seed``.
    security
        Security policies, server certificate and user (:class:`ServerSecurity`);
        default: no security, anonymous access.
    start_on_subscribe
        Hold the plant at t = 0 until the first client subscribes (then anchor =
        that moment): demos and tests see the batch from its start.
    plant
        Anything with the :class:`PlantEmulator` surface (``tags``, ``units``,
        ``values``, ``time``, ``done``, ``advance()``, ``run_until(t)``; ``setpoint_value(node)`` and
        ``write_setpoint(node, value)`` to serve the scenario's set-points); default:
        a :class:`PlantEmulator` of ``scenario``.
    clock
        Plant clock (epoch s) pacing the samples (default: a :class:`~twin.WallClock`
        at ``speed`` whose plant time 0 is ``anchor``).

    Attributes
    ----------
    samples_published
        Sample instants written so far (also the OPC UA variable ``Plant/samples_published``).
    """

    #: name of the variable counting the published samples
    COUNTER = "samples_published"

    def __init__(
        self,
        scenario: PlantScenario,
        *,
        endpoint: str | None = None,
        speed: float | None = None,
        anchor: float | None = None,
        seed: int | None = None,
        plant=None,
        start_on_subscribe: bool = False,
        clock=None,
        security: ServerSecurity | None = None,
    ) -> None:
        self.scenario = scenario
        self.endpoint = endpoint or scenario.endpoint
        host = urlparse(self.endpoint).hostname
        _refuse_credentials_in(self.endpoint)
        if host not in ("127.0.0.1", "localhost"):
            from workbench.errors import ConfigError

            raise ConfigError(f"endpoint host '{host}' is not local; the emulator serves on 127.0.0.1 only",
                              path="endpoint")
        self.speed = float(speed or scenario.speed)
        self.anchor = anchor
        self.plant = plant if plant is not None else PlantEmulator(scenario, seed=seed)
        self.start_on_subscribe = start_on_subscribe
        self.security = security or ServerSecurity()
        self.ready = threading.Event()
        self.samples_published = 0
        self.clock = clock
        self.clock_offset = 0.0
        #: accepted set-point writes: ``(plant time, node, value)``
        self.setpoint_writes: list[tuple[float, str, float]] = []
        #: set-point writes refused: ``(plant time, node, value, status name)``
        self.writes_refused: list[tuple[float, str, object, str]] = []

    def step_clock(self, seconds: float) -> None:
        """Make the server's clock jump by ``seconds`` (negative: back) from the next sample on.

        The plant keeps running; only the ``SourceTimestamp`` of later samples moves, as when
        the clock of the server's host is set (an NTP step, a hand correction).
        """
        self.clock_offset += float(seconds)

    def _make_clock(self):
        from twin._clock import WallClock

        if self.anchor is None:
            self.anchor = _time.time()
        # plant time 0 at `anchor` on the wall clock: now = anchor + speed * (wall - anchor)
        return WallClock(speed=self.speed, origin=self.anchor + (_time.time() - self.anchor) * self.speed)

    def _stamp(self, plant_t: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.anchor + plant_t + self.clock_offset, tz=_dt.UTC)

    async def serve(self, *, stop: threading.Event | None = None, until: float | None = None,
                    on_ready=None) -> None:
        """Run the server until ``stop`` is set, plant time ``until`` or the scenario ends.

        ``on_ready(server)`` is called once the server listens (its :attr:`anchor` is known then).
        """
        from asyncua import Server, ua

        for name in ("asyncua", "asyncua.server", "asyncua.server.uaprocessor"):
            logging.getLogger(name).setLevel(logging.ERROR)
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"twin workbench plant emulator: {self.scenario.name}")
        await self.security.apply(server)
        idx = await server.register_namespace(self.scenario.namespace)
        plant_obj = await server.nodes.objects.add_object(ua.NodeId("Plant", idx), ua.QualifiedName("Plant", idx))
        nodes = {}
        tags = list(self.plant.tags)
        units = list(self.plant.units)
        if self.scenario.batch_time_tag:
            tags.append(self.scenario.batch_time_tag)
            units.append("s")
        for tag, unit in zip(tags, units, strict=True):
            node = await plant_obj.add_variable(ua.NodeId(tag, idx), ua.QualifiedName(tag, idx), math.nan,
                                                varianttype=ua.VariantType.Double)
            await node.write_attribute(ua.AttributeIds.Description,
                                       ua.DataValue(ua.Variant(ua.LocalizedText(f"unit: {unit}"))))
            nodes[tag] = node.nodeid
        counter = await plant_obj.add_variable(ua.NodeId(self.COUNTER, idx), ua.QualifiedName(self.COUNTER, idx),
                                               0, varianttype=ua.VariantType.UInt64)
        setpoints = await self._add_setpoints(server, plant_obj, idx)
        period = float(self.scenario.sample_period)
        fresh = self.anchor is None  # a new plant run starts at t = 0: nothing to catch up
        clock = self.clock if self.clock is not None else self._make_clock()
        if self.anchor is None:
            self.anchor = clock.now()
        held = self.start_on_subscribe
        pace0 = self.anchor  # plant-clock origin of the pacing (timestamps stay anchor + plant time)
        if not fresh:  # catch up to the plant time of "now" (restart of a running plant)
            behind = clock.now() - self.anchor
            self.plant.run_until(math.floor(behind / period) * period)
        log.info("plant %s: anchor %r (plant time 0); restart with this anchor to resume this run",
                 self.scenario.name, self.anchor)
        async with server:
            self.ready.set()
            if on_ready is not None:
                on_ready(self)
            while not (stop is not None and stop.is_set()):
                t = self.plant.time
                stamp = self._stamp(t)
                now = _dt.datetime.now(_dt.UTC)
                for tag in self.plant.tags:
                    v = self.plant.values[tag]
                    if math.isnan(v):
                        dv = ua.DataValue(ua.Variant(math.nan, ua.VariantType.Double),
                                          StatusCode=ua.StatusCode(ua.StatusCodes.BadNoCommunication),
                                          SourceTimestamp=stamp, ServerTimestamp=now)
                    else:
                        dv = ua.DataValue(ua.Variant(v, ua.VariantType.Double), SourceTimestamp=stamp,
                                          ServerTimestamp=now)
                    await server.write_attribute_value(nodes[tag], dv)
                for sp_node, nodeid in setpoints.items():
                    await server.write_attribute_value(nodeid, ua.DataValue(
                        ua.Variant(self.plant.setpoint_value(sp_node), ua.VariantType.Double),
                        SourceTimestamp=stamp, ServerTimestamp=now))
                if self.scenario.batch_time_tag:
                    await server.write_attribute_value(
                        nodes[self.scenario.batch_time_tag],
                        ua.DataValue(ua.Variant(t, ua.VariantType.Double), SourceTimestamp=stamp, ServerTimestamp=now))
                self.samples_published += 1
                await server.write_attribute_value(
                    counter.nodeid, ua.DataValue(ua.Variant(self.samples_published, ua.VariantType.UInt64),
                                                 SourceTimestamp=stamp, ServerTimestamp=now))
                if held:  # keep t = 0 on the server until somebody subscribes
                    while not server.iserver.subscription_service.subscriptions:
                        if stop is not None and stop.is_set():
                            return
                        await asyncio.sleep(0.02)
                    await asyncio.sleep(0.1)  # let the initial values reach the subscriber
                    pace0 = clock.now() - self.plant.time
                    held = False
                if self.plant.done or (until is not None and t >= until):
                    break
                self.plant.advance()
                delay = pace0 + self.plant.time - clock.now()
                if delay > 0:
                    if not await _sleep_unless_stopped(clock.asleep(delay), stop):
                        break
                else:
                    await asyncio.sleep(0)
            if stop is not None:
                while not stop.is_set() and until is None:
                    await asyncio.sleep(0.05)

    async def _add_setpoints(self, server, plant_obj, idx: int) -> dict:
        """Writable set-point nodes with EURange, the advice nodes, and the server-side range guard."""
        from asyncua import ua

        setpoints = getattr(self.scenario, "setpoints", None)  # a line plant's scenario has none
        if not setpoints:
            return {}
        if not hasattr(self.plant, "write_setpoint"):
            log.warning("plant %s: the plant object takes no set-point writes; set-points not served",
                        self.scenario.name)
            return {}
        nodes, ranges = {}, {}
        advice = await server.nodes.objects.add_object(ua.NodeId("Advice", idx), ua.QualifiedName("Advice", idx))
        for sp in setpoints:
            node = await plant_obj.add_variable(ua.NodeId(sp.node, idx), ua.QualifiedName(sp.node, idx),
                                                self.plant.setpoint_value(sp.node), varianttype=ua.VariantType.Double)
            await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(
                f"unit: {sp.unit}; set-point of {sp.input}"))))
            await node.add_property(ua.NodeId(f"{sp.node}.EURange", idx), ua.QualifiedName("EURange", 0),
                                    ua.Range(Low=sp.low, High=sp.high),
                                    datatype=ua.NodeId(ua.ObjectIds.Range))
            await node.set_writable()
            nodes[sp.node] = node.nodeid
            ranges[node.nodeid] = sp
            for leaf, value, vtype in (("recommended", math.nan, ua.VariantType.Double),
                                       ("reason", "", ua.VariantType.String)):
                name = f"Advice/{sp.node}/{leaf}"
                var = await advice.add_variable(ua.NodeId(name, idx), ua.QualifiedName(name, idx), value,
                                                varianttype=vtype)
                await var.set_writable()
        for name in ("Advice/proposal", "Advice/confirm"):
            var = await advice.add_variable(ua.NodeId(name, idx), ua.QualifiedName(name, idx), "",
                                            varianttype=ua.VariantType.String)
            await var.set_writable()
        self._guard_writes(server, ranges)
        return nodes

    def _guard_writes(self, server, ranges: dict) -> None:
        """Refuse client writes outside a set-point's EURange (``Bad_OutOfRange``); hand accepted ones to the plant.

        asyncua stores any value of the right type; a plant's server checks the range, so the
        emulator wraps the attribute service's ``write`` (the service every client write goes
        through; the server's own value updates do not).
        """
        from asyncua import ua

        service = server.iserver.attribute_service
        inner = service.write

        async def write(params, user=None):
            results: list = [None] * len(params.NodesToWrite)
            passed = []
            for i, wv in enumerate(params.NodesToWrite):
                sp = ranges.get(wv.NodeId) if wv.AttributeId == ua.AttributeIds.Value else None
                variant = wv.Value.Value if sp is not None and wv.Value is not None else None
                if variant is not None and variant.VariantType == ua.VariantType.Double:  # other types: the
                    value = variant.Value  # attribute service answers Bad_TypeMismatch
                    if not sp.low <= value <= sp.high:  # NaN fails too
                        results[i] = ua.StatusCode(ua.StatusCodes.BadOutOfRange)
                        self.writes_refused.append((self.plant.time, sp.node, value, "BadOutOfRange"))
                        continue
                passed.append(i)
            if passed:
                sub = ua.WriteParameters(NodesToWrite=[params.NodesToWrite[i] for i in passed])
                answers = await (inner(sub) if user is None else inner(sub, user=user))
                for i, status in zip(passed, answers, strict=True):
                    results[i] = status
                    sp = ranges.get(params.NodesToWrite[i].NodeId)
                    if sp is not None and status.is_good():
                        value = params.NodesToWrite[i].Value.Value.Value
                        self.plant.write_setpoint(sp.node, value)
                        self.setpoint_writes.append((self.plant.time, sp.node, value))
                        log.info("plant %s: set-point %s = %g %s from t = %g s", self.scenario.name, sp.node,
                                 value, sp.unit, self.plant.time)
            return results

        service.write = write

    def run(self, **kwargs) -> None:
        """Blocking :meth:`serve`."""
        asyncio.run(self.serve(**kwargs))

    def start_thread(self, timeout: float = 120.0) -> threading.Event:
        """Serve in a daemon thread; return the event that stops it (waits until ready).

        Raises :class:`~workbench.errors.ConnectionLostError` naming the endpoint when the
        server fails to start (with its reason) or is not listening within ``timeout`` wall s.
        """
        stop = threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.run(stop=stop)
            except BaseException as exc:  # noqa: BLE001 - reported by start_thread
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True, name="plant-server")
        self._thread.start()
        deadline = _time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if not self._thread.is_alive() or _time.monotonic() > deadline:
                from workbench.errors import ConnectionLostError

                why = f": {type(self.error).__name__}: {self.error}" if self.error else f" within {timeout:g} s"
                raise ConnectionLostError(f"plant emulator at {self.endpoint} did not start{why}")
        self._stop = stop
        return stop

    def stop_thread(self, timeout: float = 60.0) -> None:
        """Stop a server started with :meth:`start_thread` and wait until it has ended.

        Raises :class:`~workbench.errors.ConnectionLostError` if it is still running after
        ``timeout`` wall seconds (then it may still hold its port and its plant: a restart on
        either would not be a clean restart).
        """
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            from workbench.errors import ConnectionLostError

            raise ConnectionLostError(f"plant emulator at {self.endpoint} did not stop within {timeout:g} s")


async def _sleep_unless_stopped(sleep, stop: threading.Event | None) -> bool:
    """Await the clock's ``sleep``; cut it short when ``stop`` is set (then return False).

    A sample period can be long in wall time (60 s at real time), and a clock may wait on
    something else (a test's paced virtual clock waits for the client): ``stop_thread`` must
    not wait for either.
    """
    if stop is None:
        await sleep
        return True
    task = asyncio.ensure_future(sleep)
    while not task.done():
        if stop.is_set():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
        await asyncio.wait({task}, timeout=0.05)
    task.result()
    return True


def _refuse_credentials_in(endpoint: str) -> None:
    """A user part in the server's endpoint would be shown everywhere: refuse it."""
    if "@" in endpoint.partition("://")[2].partition("/")[0]:
        from twin.sources import mask_url
        from workbench.errors import ConfigError

        raise ConfigError(f"endpoint '{mask_url(endpoint)}' carries a user name; give the user with --user and "
                          "its password with --password-env or --password-file", path="endpoint")


def serve_plant(scenario: PlantScenario, **kwargs) -> None:
    """Serve ``scenario`` until it ends or Ctrl-C (the body of ``twin plant serve``)."""
    server = PlantServer(scenario, **{k: v for k, v in kwargs.items() if k in ("endpoint", "speed", "anchor", "seed",
                                                                            "security")})
    try:
        server.run(until=kwargs.get("until"), on_ready=kwargs.get("on_ready"))
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
