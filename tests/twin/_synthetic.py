"""A synthetic plant (sine waves, no FMU) to test the OPC UA plumbing on its own."""

from __future__ import annotations

import math
import socket

import twin
from twin import ManualClock
from twin.emulator import PlantScenario


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinePlant:
    """Tags A = sin(t/100), B = 2 + cos(t/100); exact values let tests check every sample."""

    tags = ["A", "B"]
    units = ["K", "K"]

    def __init__(self, period: float = 10.0, duration: float = 1e9) -> None:
        self.period = period
        self.duration = duration
        self.time = 0.0
        self.values = self._values()

    def _values(self):
        return {"A": math.sin(self.time / 100.0), "B": 2.0 + math.cos(self.time / 100.0)}

    @property
    def done(self) -> bool:
        return self.time >= self.duration

    def advance(self):
        self.time += self.period
        self.values = self._values()
        return self.values

    def run_until(self, t: float) -> None:
        while self.time + 1e-9 < t:
            self.advance()


def sine_scenario(port: int, speed: float = 100.0) -> PlantScenario:
    return PlantScenario(
        name="sine", fmu="(synthetic)", sample_period=10.0, speed=speed,
        endpoint=f"opc.tcp://127.0.0.1:{port}/twin/plant", batch_time_tag=None,
        tags=[{"tag": "A", "variable": "a", "unit": "K"}, {"tag": "B", "variable": "b", "unit": "K"}],
    )


T0 = 1.8e9  # plant epoch of the virtual clocks


def virtual_sine_server(sc: PlantScenario, duration: float, t0: float = T0):
    """A started emulator serving a :class:`SinePlant` on virtual time (plant time 0 at ``t0``)."""
    from twin.emulator import PlantServer

    server = PlantServer(sc, plant=SinePlant(duration=duration), clock=ManualClock(t0), start_on_subscribe=True)
    server.start_thread()
    return server


def virtual_source(endpoint: str, tags=("A", "B"), **options):
    """An :class:`OpcUaSource` on a virtual clock at ``T0`` (options override the defaults)."""
    from twin.sources import OpcUaSource

    kwargs = {"period": 10.0, "publishing_interval": 0.05, "clock": ManualClock(T0), "connect_timeout": 120,
              "data_timeout": 60}
    return OpcUaSource(endpoint, list(tags), **{**kwargs, **options})


class PacedClock(twin.PacedClock):
    """:class:`twin.PacedClock` with the tests' lead of ``AHEAD`` samples (the subscription's queue holds 1000
    values per tag; a real plant publishes one sample per period)."""

    AHEAD = 100

    def __init__(self, start: float) -> None:
        super().__init__(start, lead=self.AHEAD)
