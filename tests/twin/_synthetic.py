"""A synthetic plant (sine waves, no FMU) to test the OPC UA plumbing on its own."""

from __future__ import annotations

import math
import socket

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
