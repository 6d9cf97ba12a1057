"""Live state of a line, to start a simulation from "now" (the twin's forecast)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workbench.config import WorkbenchModel
from workbench.units import Duration, Fraction

__all__ = ["LineSnapshot", "ServerSnapshot", "WipItem"]


class WipItem(WorkbenchModel):
    """Work waiting in a buffer."""

    product: str | None = Field(None, description="Product (default: the first product).")
    count: int = Field(1, ge=1)
    age: Duration = Field(0.0, description="Time already spent in the line (for lead times).")


class ServerSnapshot(WorkbenchModel):
    """State of one machine (server) of a station.

    ``busy``: working on ``items`` of ``product`` with ``remaining`` work (or ``progress``
    done of a freshly sampled job time); ``down``: under repair for ``repair_remaining``
    (sampled if omitted), then finishes its job if it holds one; ``maintenance``: in
    preventive maintenance for ``repair_remaining``; ``blocked``: holds finished items
    that wait for space downstream; ``idle``: waiting for work.
    """

    state: Literal["idle", "busy", "down", "maintenance", "blocked"] = "idle"
    product: str | None = None
    items: int = Field(1, ge=1)
    remaining: Duration | None = None
    progress: Fraction | None = None
    repair_remaining: Duration | None = None
    age: Duration = 0.0
    last_product: str | None = Field(None, description="Product of the last job (for changeovers).")


class LineSnapshot(WorkbenchModel):
    """WIP per buffer and machine states at clock time ``time``.

    The simulation clock starts at ``time`` (so shift calendars keep their phase) and
    runs for the experiment's horizon from there.
    """

    time: Duration = 0.0
    buffers: dict[str, int | list[WipItem]] = Field(default_factory=dict)
    stations: dict[str, list[ServerSnapshot]] = Field(default_factory=dict)
