"""Config model of a life simulation (``kind: life``): components, RBD, maintenance.

Example (``scenarios/pump_station_life.yaml``)::

    kind: life
    name: pump_station
    components:
      - name: pump_a
        life: {distribution: weibull, shape: 1.8, scale: 12000 h}
        repair: {distribution: lognormal, median: 8 h, sigma: 0.5}
    system:
      type: series
      blocks: [inlet_valve, {type: parallel, blocks: [pump_a, pump_b]}]
    simulation: {mission_time: 8760 h, missions: 100000, seed: 1}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from simulation.life._distributions import LifeDistribution
from simulation.life._stress import Acceleration, LifeProfile
from workbench.config import WorkbenchModel
from workbench.errors import did_you_mean
from workbench.units import Duration, Fraction, RunLength

__all__ = [
    "Block",
    "Component",
    "Degradation",
    "Preventive",
    "ComponentCosts",
    "SparePool",
    "Maintenance",
    "LifeSimulation",
    "LifeModel",
    "FittedLife",
]

_BLOCK_TYPES = ("series", "parallel", "k_out_of_n", "standby")


class Block(WorkbenchModel):
    """A reliability-block-diagram node; ``blocks`` holds component names or nested blocks.

    ``standby``: the first block is active, the others wait; ``mode`` cold (no
    ageing while waiting), warm (ageing at ``dormant_factor`` of the active rate)
    or hot (= parallel). Each switch-over succeeds with ``switch_reliability``.
    """

    type: str
    name: str | None = None
    blocks: list[str | Block]
    k: int | None = None
    mode: Literal["cold", "warm", "hot"] = "cold"
    dormant_factor: Fraction | None = None
    switch_reliability: Fraction = 1.0

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        v = value.lower().replace("-", "_")
        v = {"koon": "k_out_of_n", "k_of_n": "k_out_of_n", "kofn": "k_out_of_n"}.get(v, v)
        if v not in _BLOCK_TYPES:
            raise ValueError(f'"{value}" is not a block type; {did_you_mean(value, _BLOCK_TYPES)}')
        return v

    @model_validator(mode="after")
    def _shape(self) -> Block:
        if not self.blocks:
            raise ValueError(f"a {self.type} block needs at least one block")
        if self.type == "k_out_of_n":
            if self.k is None or not 1 <= self.k <= len(self.blocks):
                raise ValueError(f"k_out_of_n needs 1 <= k <= {len(self.blocks)} (got k={self.k})")
        elif self.k is not None:
            raise ValueError(f"k is only used by k_out_of_n blocks, not {self.type}")
        if self.type != "standby" and (self.dormant_factor is not None or self.switch_reliability != 1.0):
            raise ValueError("dormant_factor and switch_reliability belong to standby blocks")
        if self.type == "standby" and self.mode == "warm" and self.dormant_factor is None:
            raise ValueError("a warm standby needs dormant_factor (ageing rate while waiting, 0..1)")
        return self

    @property
    def factor(self) -> float:
        """Ageing rate of waiting units relative to active ones."""
        return {"cold": 0.0, "hot": 1.0}.get(self.mode, self.dormant_factor or 0.0)

    def component_names(self) -> list[str]:
        """Every component name under this block (with repeats)."""
        out: list[str] = []
        for b in self.blocks:
            out.extend([b] if isinstance(b, str) else b.component_names())
        return out


class Degradation(WorkbenchModel):
    """Degradation-based failure: a degradation path crossing ``failure_threshold``.

    The path comes from the physics layer's degradation model (the FMU
    ``fmu_models/build/degradation.fmu`` or its Python reference), run for
    ``paths`` random parameter draws; lives are first-passage times.
    """

    model: Literal["fmu", "reference"] = "fmu"
    fmu: str | None = None
    output: str | None = None
    parameters: dict[str, LifeDistribution | float] = {}
    inputs: dict[str, float] = {}
    failure_threshold: float
    horizon: RunLength
    paths: int = Field(200, le=1_000_000)
    steps: int = Field(400, le=1_000_000)

    @field_validator("paths", "steps")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"must be >= 2 (got {v})")
        return v


class Preventive(WorkbenchModel):
    """Preventive maintenance of a component.

    ``age``: replace when the component reaches age ``interval`` (Barlow & Proschan
    1965); ``block``: replace at ``interval``, 2·interval, … regardless of age;
    ``condition``: inspect every ``inspection_interval`` and replace when the
    degradation level is ≥ ``threshold``.
    """

    policy: Literal["age", "block", "condition"]
    interval: Duration | None = None
    inspection_interval: Duration | None = None
    threshold: float | None = None
    duration: Duration = 0.0
    cost: float = 0.0
    inspection_cost: float = 0.0

    @model_validator(mode="after")
    def _needs(self) -> Preventive:
        if self.policy in ("age", "block") and not self.interval:
            raise ValueError(f"{self.policy} replacement needs a positive interval, e.g. \"4000 h\"")
        if self.policy == "condition" and (not self.inspection_interval or self.threshold is None):
            raise ValueError("condition-based maintenance needs inspection_interval and threshold")
        return self


class ComponentCosts(WorkbenchModel):
    """Costs in the model's currency."""

    failure: float = 0.0
    repair_per_hour: float = 0.0
    spare: float = 0.0


class Component(WorkbenchModel):
    """A component: life at reference stress, acceleration, repair, maintenance, costs."""

    name: str
    life: LifeDistribution | str | None = None
    acceleration: list[Acceleration] = []
    degradation: Degradation | None = None
    repair: LifeDistribution | None = None
    preventive: Preventive | None = None
    spare: str | None = None
    costs: ComponentCosts = ComponentCosts()

    @field_validator("life", mode="before")
    @classmethod
    def _call_form(cls, value: Any) -> Any:
        # "weibull(shape=1.8, scale=12000 h)" is a distribution, any other string a fitted file
        if isinstance(value, str) and "(" in value:
            return LifeDistribution.model_validate(value)
        return value

    @model_validator(mode="after")
    def _life(self) -> Component:
        if self.life is None and self.degradation is None:
            raise ValueError(f"component '{self.name}' needs a life distribution or a degradation model")
        if self.preventive is not None and self.preventive.policy == "condition" and self.degradation is None:
            raise ValueError(f"component '{self.name}': condition-based maintenance needs a degradation model")
        return self


class SparePool(WorkbenchModel):
    """A pool of spares with one-for-one reordering after ``lead_time``."""

    name: str
    stock: int = 1
    lead_time: Duration = 0.0

    @field_validator("stock")
    @classmethod
    def _stock(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"stock must be >= 0 (got {v})")
        return v


class Maintenance(WorkbenchModel):
    """Shared maintenance resources and costs."""

    crews: int | None = None
    spares: list[SparePool] = []
    downtime_cost_per_hour: float = 0.0

    @field_validator("crews")
    @classmethod
    def _crews(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"crews must be >= 1 or omitted for unlimited (got {v})")
        return v


class LifeSimulation(WorkbenchModel):
    """How to simulate: mission time, sample sizes, seed, engine."""

    mission_time: RunLength
    horizon: RunLength | None = None
    missions: int = Field(100_000, le=100_000_000)
    replications: int = Field(100, le=1_000_000)
    time_points: int = Field(101, le=100_000)
    seed: int = 0
    confidence: Fraction = 0.95
    engine: Literal["auto", "vectorised", "event"] = "auto"
    importance_missions: int = Field(50_000, le=100_000_000)
    report_unit: str = "h"

    @model_validator(mode="after")
    def _sizes(self) -> LifeSimulation:
        if self.mission_time <= 0:
            raise ValueError("mission_time must be positive, e.g. \"8760 h\"")
        for name in ("missions", "replications", "time_points", "importance_missions"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2 (got {getattr(self, name)})")
        return self


class LifeModel(WorkbenchModel):
    """A system life model: ``kind: life``."""

    kind: Literal["life"] = "life"
    name: str
    description: str = ""
    currency: str = "EUR"
    components: list[Component]
    system: Block | str
    profile: LifeProfile | None = None
    maintenance: Maintenance = Maintenance()
    simulation: LifeSimulation

    @model_validator(mode="after")
    def _references(self) -> LifeModel:
        names = [c.name for c in self.components]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"component names must be unique; repeated: {', '.join(dup)}")
        used = [self.system] if isinstance(self.system, str) else self.system.component_names()
        for n in used:
            if n not in names:
                raise ValueError(f"system uses component '{n}', which is not defined; {did_you_mean(n, names)}")
        pools = [p.name for p in self.maintenance.spares]
        for c in self.components:
            if c.spare is not None and c.spare not in pools:
                raise ValueError(
                    f"component '{c.name}' uses spare pool '{c.spare}', which is not defined; "
                    f"{did_you_mean(c.spare, pools)}"
                )
        unused = [n for n in names if n not in used]
        if unused:
            raise ValueError(f"components not used in the system: {', '.join(unused)}")
        return self

    def component(self, name: str) -> Component:
        """The component called ``name``."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def repairable(self) -> bool:
        """True when any component has repair or preventive maintenance."""
        return any(c.repair is not None or c.preventive is not None for c in self.components)

    def resolve_files(self, base: str | Path) -> LifeModel:
        """Replace ``life: fitted.yaml`` references (relative to ``base``) by the fitted distribution."""
        from simulation.life._io import load_fitted

        base = Path(base)
        for c in self.components:
            if isinstance(c.life, str):
                path = Path(c.life)
                c.life = load_fitted(path if path.is_absolute() else base / path).life
        return self


class FittedLife(WorkbenchModel):
    """A fitted life distribution written by ``twin life fit`` (``kind: life-distribution``)."""

    kind: Literal["life-distribution"] = "life-distribution"
    life: LifeDistribution
    source: str = ""
    fit: dict[str, Any] = {}
