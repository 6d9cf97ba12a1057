"""Plant-emulator scenario (``kind: plant-emulator``): hidden truth, noise, drift, faults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from workbench.config import WorkbenchModel, load_config
from workbench.units import Duration

__all__ = ["PlantTag", "PlantDrift", "PlantFault", "PlantSetpoint", "PlantScenario", "load_plant_scenario"]


class PlantTag(WorkbenchModel):
    """One published plant tag: an FMU variable in a plant unit, plus measurement noise."""

    tag: str
    variable: str = Field(description="FMU output, or FMU input (then the commanded value is published)")
    unit: str = Field("1", description="Unit of the published tag (converted from the FMU unit)")
    noise: float = Field(0.0, ge=0, description="Std dev of white Gaussian measurement noise (tag unit)")


class PlantDrift(WorkbenchModel):
    """Slow linear drift of a tunable FMU parameter (e.g. fouling resistance growing)."""

    parameter: str
    rate: float = Field(description="Change per second (parameter unit / s)")
    start: Duration = 0.0


class PlantFault(WorkbenchModel):
    """A scripted fault.

    kinds
    -----
    ``bias``: add ``value`` (tag unit) to ``tag``. ``stuck``: ``tag`` freezes at its
    last value. ``dropout``: ``tag`` reports a bad status/NaN. ``valve``: the
    coolant flow ``input`` (default ``F_cool``) reaching the plant drops to
    ``value`` × commanded while its tag keeps showing the command.
    ``parameter``: set FMU parameter ``parameter`` to ``value``.
    """

    kind: Literal["bias", "stuck", "dropout", "valve", "parameter"]
    at: Duration
    until: Duration | None = None
    tag: str | None = None
    value: float = 0.0
    input: str = "F_cool"
    parameter: str | None = None

    @model_validator(mode="after")
    def _needs(self):
        if self.kind in ("bias", "stuck", "dropout") and not self.tag:
            raise ValueError(f"a '{self.kind}' fault needs 'tag'")
        if self.kind == "parameter" and not self.parameter:
            raise ValueError("a 'parameter' fault needs 'parameter'")
        if self.until is not None and self.until <= self.at:
            raise ValueError(f"until ({self.until} s) must be after at ({self.at} s)")
        return self


class PlantSetpoint(WorkbenchModel):
    """A writable set-point node: a client's write replaces the recipe's value of an FMU input.

    The server refuses a write outside ``[low, high]`` (the node's ``EURange``) with
    ``Bad_OutOfRange``; an accepted value drives the plant from its next step on, until the
    next write (the recipe's later steps for that input no longer apply).
    """

    node: str = Field(description="Node name (string node id in the plant namespace)")
    input: str = Field(description="FMU input the set-point drives (one of the scenario's inputs)")
    unit: str = Field("1", description="Unit of the node's value (converted to the FMU unit)")
    low: float = Field(description="EURange low (node unit)")
    high: float = Field(description="EURange high (node unit)")

    @model_validator(mode="after")
    def _range(self):
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low:g}, high={self.high:g})")
        return self


class PlantScenario(WorkbenchModel):
    """An emulated plant served over OPC UA by ``twin plant serve``.

    Attributes
    ----------
    parameters
        Hidden "true" FMU parameters of the plant (the twin does not know them).
    inputs
        The plant's recipe: FMU inputs as constants or ``[[t_s, value], ...]``
        step profiles (FMU units).
    speed
        Plant seconds per wall-clock second (1 = real time).
    setpoints
        Writable set-point nodes (with EURange) and, with them, the advice nodes
        ``Advice/<node>/recommended``, ``Advice/<node>/reason``, ``Advice/proposal`` and
        ``Advice/confirm`` (see docs/twin-monitoring.md, "Advice back to the plant").
    """

    name: str = "plant"
    fmu: str
    sample_period: Duration = "10 s"
    duration: Duration = "8 h"
    speed: float = Field(1.0, gt=0)
    seed: int = 0
    endpoint: str = "opc.tcp://127.0.0.1:4840/twin/plant"
    namespace: str = "urn:twin-workbench:plant"
    parameters: dict[str, float | bool] = Field(default_factory=dict)
    inputs: dict[str, float | list[tuple[float, float]]] = Field(default_factory=dict)
    tags: list[PlantTag] = Field(min_length=1)
    drift: list[PlantDrift] = Field(default_factory=list)
    faults: list[PlantFault] = Field(default_factory=list)
    setpoints: list[PlantSetpoint] = Field(default_factory=list)
    batch_time_tag: str | None = Field("BatchTime", description="Tag publishing elapsed batch time (s); null: none")
    source_file: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _tags_known(self):
        names = {t.tag for t in self.tags}
        for i, f in enumerate(self.faults):
            if f.tag is not None and f.tag not in names:
                from workbench.errors import did_you_mean

                raise ValueError(f"faults[{i}].tag '{f.tag}' is not a plant tag; {did_you_mean(f.tag, names)}")
        from workbench.errors import did_you_mean

        seen = set(names) | {self.batch_time_tag}
        for i, sp in enumerate(self.setpoints):
            if sp.input not in self.inputs:
                raise ValueError(f"setpoints[{i}].input '{sp.input}' is not one of the scenario's inputs; "
                                 f"{did_you_mean(sp.input, list(self.inputs))}")
            if sp.node in seen:
                raise ValueError(f"setpoints[{i}].node '{sp.node}' is already a node of this plant; "
                                 "give the set-point a name of its own")
            seen.add(sp.node)
        return self


def load_plant_scenario(path: str | Path, *, overrides: dict | None = None) -> PlantScenario:
    """Load and validate a plant-emulator YAML (``kind: plant-emulator``)."""
    sc = load_config(path, PlantScenario, overrides=overrides, kind="plant-emulator")
    sc.source_file = str(path)
    return sc
