"""Serve an emulated plant on a real OPC UA server (asyncua) on 127.0.0.1.

Every plant tag is a ``Double`` variable ``ns=<namespace>;s=<tag>`` under
``Objects/Plant``; values carry the plant time as ``SourceTimestamp`` (epoch
``anchor`` + plant seconds) and a ``Bad_NoCommunication`` status while a sensor
drops out. With ``speed > 1`` the plant runs faster than real time (its
timestamps too). With a fixed ``anchor`` a restarted server catches the plant
up to where it would be now, as a real plant keeps running while its server is
down.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import threading
import time as _time
from urllib.parse import urlparse

from twin.emulator._plant import PlantEmulator
from twin.emulator._scenario import PlantScenario
from twin.emulator._security import ServerSecurity

__all__ = ["PlantServer", "serve_plant"]

log = logging.getLogger(__name__)


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
        ``values``, ``time``, ``done``, ``advance()``, ``run_until(t)``); default:
        a :class:`PlantEmulator` of ``scenario``.
    """

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

    def _stamp(self, plant_t: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.anchor + plant_t, tz=_dt.UTC)

    async def serve(self, *, stop: threading.Event | None = None, until: float | None = None) -> None:
        """Run the server until ``stop`` is set, plant time ``until`` or the scenario ends."""
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
        period = float(self.scenario.sample_period)
        if self.anchor is None:
            self.anchor = _time.time()
        held = self.start_on_subscribe
        wall0 = self.anchor  # wall-clock origin of the pacing (timestamps stay anchor + plant time)
        # catch up to the plant time of "now" (restart of a running plant)
        behind = (_time.time() - self.anchor) * self.speed
        self.plant.run_until(math.floor(behind / period) * period)
        async with server:
            self.ready.set()
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
                if self.scenario.batch_time_tag:
                    await server.write_attribute_value(
                        nodes[self.scenario.batch_time_tag],
                        ua.DataValue(ua.Variant(t, ua.VariantType.Double), SourceTimestamp=stamp, ServerTimestamp=now))
                self.samples_published += 1
                if held:  # keep t = 0 on the server until somebody subscribes
                    while not server.iserver.subscription_service.subscriptions:
                        if stop is not None and stop.is_set():
                            return
                        await asyncio.sleep(0.02)
                    await asyncio.sleep(0.1)  # let the initial values reach the subscriber
                    wall0 = _time.time() - self.plant.time / self.speed
                    held = False
                if self.plant.done or (until is not None and t >= until):
                    break
                self.plant.advance()
                wake = wall0 + self.plant.time / self.speed
                delay = wake - _time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    await asyncio.sleep(0)
            if stop is not None:
                while not stop.is_set() and until is None:
                    await asyncio.sleep(0.05)

    def run(self, **kwargs) -> None:
        """Blocking :meth:`serve`."""
        asyncio.run(self.serve(**kwargs))

    def start_thread(self) -> threading.Event:
        """Serve in a daemon thread; return the event that stops it (waits until ready)."""
        stop = threading.Event()
        self._thread = threading.Thread(target=self.run, kwargs={"stop": stop}, daemon=True, name="plant-server")
        self._thread.start()
        if not self.ready.wait(20):
            from workbench.errors import ConnectionLostError

            raise ConnectionLostError(f"plant emulator at {self.endpoint} did not start within 20 s")
        self._stop = stop
        return stop

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start_thread`."""
        self._stop.set()
        self._thread.join(timeout)


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
        server.run(until=kwargs.get("until"))
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
