"""A small line-scenario model used to test the config machinery itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workbench.config import WorkbenchModel
from workbench.units import Duration, Fraction, Quantity, Temperature


class Failure(WorkbenchModel):
    mtbf: Duration
    mttr: Duration


class Station(WorkbenchModel):
    name: str
    servers: int = Field(1, ge=1)
    cycle_time: Duration
    failure: Failure | None = None
    type: Literal["machine", "batch"] = "machine"


class Line(WorkbenchModel):
    name: str
    stations: list[Station]
    coolant: Temperature = 288.15
    feed: Quantity("m3/s") = 0.0
    scrap: Fraction = 0.0


class Scenario(WorkbenchModel):
    line: Line
    seed: int = 0
