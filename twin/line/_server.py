"""Serve the line-mode plant emulator over OPC UA (reusing the twin's :class:`~twin.emulator.PlantServer`).

Every tag of :func:`~twin.line.line_tags` is a ``Double`` variable
``ns=<namespace>;s=<tag>`` under ``Objects/Plant``, stamped with the plant time
(epoch ``anchor`` + plant seconds); the plant clock itself is published on
``batch_time_tag`` (``line.clock``). State codes are :data:`~twin.line.STATE_CODES`.
"""

from __future__ import annotations

from pathlib import Path

from twin.emulator import PlantServer
from twin.line._config import LinePlantScenario, load_line_plant
from twin.line._plant import LinePlant

__all__ = ["line_plant_server", "serve_line_plant"]


def line_plant_server(scenario: LinePlantScenario | str | Path, *, endpoint: str | None = None,
                      speed: float | None = None, anchor: float | None = None, seed: int | None = None,
                      plant: LinePlant | None = None, clock=None, start_on_subscribe: bool = False) -> PlantServer:
    """An OPC UA :class:`~twin.emulator.PlantServer` publishing a :class:`LinePlant`.

    Parameters
    ----------
    scenario
        ``kind: line-plant`` scenario (or its path).
    endpoint, speed, anchor, seed
        Overrides (see :class:`~twin.emulator.PlantServer`). Give a restarted server the
        same ``anchor`` and ``plant`` to resume the same line run.
    plant
        An existing emulated line (default: a new one of ``scenario``).
    clock, start_on_subscribe
        As for :class:`~twin.emulator.PlantServer` (a :class:`~twin.ManualClock` runs the
        line on virtual time).
    """
    sc = scenario if isinstance(scenario, LinePlantScenario) else load_line_plant(scenario)
    plant = plant if plant is not None else LinePlant.from_scenario(sc, seed=seed)
    return PlantServer(sc, endpoint=endpoint, speed=speed, anchor=anchor, plant=plant,  # type: ignore[arg-type]
                       clock=clock, start_on_subscribe=start_on_subscribe)


def serve_line_plant(scenario: LinePlantScenario | str | Path, *, endpoint: str | None = None,
                     speed: float | None = None, anchor: float | None = None, seed: int | None = None,
                     until: float | None = None) -> PlantServer:
    """Serve a line-mode emulator until its duration, ``until`` (plant s) or Ctrl-C
    (the body of ``twin plant serve LINE_PLANT.yaml``); returns the finished server."""
    server = line_plant_server(scenario, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed)
    try:
        server.run(until=until)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
    return server
