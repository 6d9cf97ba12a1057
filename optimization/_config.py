"""Campaign configuration (``kind: campaign``): search space, objectives, constraints, sampler."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from workbench.config import WorkbenchModel
from workbench.units import Duration, RunLength, convert

__all__ = [
    "CampaignConfig", "FloatParameter", "IntParameter", "CategoricalParameter", "ObjectiveSpec",
    "ConstraintSpec", "SamplerSpec", "BudgetSpec", "NoiseSpec", "PruningSpec", "ReactorProblemSpec",
    "EnvelopeSpec", "SAMPLERS",
]

SAMPLERS = ("tpe", "cmaes", "nsga2", "gp", "random", "qmc")


def _in_unit(value: Any, unit: str) -> float:
    if unit in ("", "1"):
        return float(convert(value, "dimensionless")) if isinstance(value, str) else float(value)
    return convert(value, unit)


class FloatParameter(WorkbenchModel):
    """A continuous recipe parameter; ``low``/``high`` may carry units (``"330 K"``, ``"2 h"``)."""

    name: str
    type: Literal["float"] = "float"
    low: float | str
    high: float | str
    unit: str = Field("1", description="unit of the value handed to the model (SI)")
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> FloatParameter:
        self.low = _in_unit(self.low, self.unit)
        self.high = _in_unit(self.high, self.unit)
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low:g}, high={self.high:g}) {self.unit}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scaled parameter needs low > 0, got low={self.low:g}")
        if self.log and self.step is not None:
            raise ValueError("`step` and `log` cannot be used together")
        return self


class IntParameter(WorkbenchModel):
    """An integer recipe parameter."""

    name: str
    type: Literal["int"]
    low: int
    high: int
    unit: str = "1"
    step: int = 1
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> IntParameter:
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low}, high={self.high})")
        return self


class CategoricalParameter(WorkbenchModel):
    """A parameter chosen from a list."""

    name: str
    type: Literal["categorical"]
    choices: list[str | int | float | bool] = Field(min_length=1)
    unit: str = "1"


def _param_type(v: Any) -> str:
    if isinstance(v, dict):
        return v.get("type", "float")
    return getattr(v, "type", "float")


Parameter = Annotated[
    Annotated[FloatParameter, Tag("float")] | Annotated[IntParameter, Tag("int")]
    | Annotated[CategoricalParameter, Tag("categorical")],
    Discriminator(_param_type),
]


class ObjectiveSpec(WorkbenchModel):
    """One objective: a metric of the evaluated batch and a direction."""

    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"


class ConstraintSpec(WorkbenchModel):
    """``min <= metric <= max`` (either side optional); ``max: 0`` with ``envelope_violation``."""

    metric: str
    min: float | str | None = None
    max: float | str | None = None
    unit: str = "1"

    @model_validator(mode="after")
    def _one_side(self) -> ConstraintSpec:
        if self.min is None and self.max is None:
            raise ValueError(f"constraint on {self.metric!r} needs `min` or `max`")
        if self.min is not None:
            self.min = _in_unit(self.min, self.unit)
        if self.max is not None:
            self.max = _in_unit(self.max, self.unit)
        return self


class SamplerSpec(WorkbenchModel):
    """Optuna sampler: ``tpe``, ``cmaes``, ``nsga2``, ``gp``, ``random`` or ``qmc``."""

    name: Literal["tpe", "cmaes", "nsga2", "gp", "random", "qmc"] = "tpe"
    seed: int = 0
    n_startup_trials: int | None = Field(None, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)


class BudgetSpec(WorkbenchModel):
    """Stop after ``trials`` finished trials in the study and/or after ``timeout``."""

    trials: int = Field(50, ge=1, le=1_000_000)
    timeout: Duration | None = None


class NoiseSpec(WorkbenchModel):
    """Repeat stochastic evaluations until the CI half-width of the first objective is small.

    Each trial evaluates at least ``min_repeats`` seeds, then adds seeds until the
    Student-t half-width at ``confidence`` is below ``ci_halfwidth`` (absolute, metric
    units) or ``max_repeats`` is reached; objectives are the means.
    """

    min_repeats: int = Field(1, ge=1)
    max_repeats: int = Field(1, ge=1, le=10_000)
    ci_halfwidth: float | None = Field(None, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)


class PruningSpec(WorkbenchModel):
    """Simulate each trial in ``chunks``; prune it once it leaves the envelope by > ``tolerance``."""

    enabled: bool = True
    chunks: int = Field(4, ge=1)
    tolerance: float = Field(0.0, ge=0)


class EnvelopeSpec(WorkbenchModel):
    """A golden-batch envelope on one trajectory variable.

    Either ``file`` (a NetCDF written by ``twin golden build`` / ``golden_batch``, or one
    with ``lower``/``upper`` over ``time``) or ``from_recipes``: proven recipes simulated on the twin,
    band = mean ± ``k`` sd, at least ``min_halfwidth`` wide.
    """

    variable: str = "T"
    file: Path | None = None
    from_recipes: list[dict[str, Any]] | None = None
    k: float = Field(3.0, gt=0)
    min_halfwidth: float = Field(2.0, ge=0)

    @model_validator(mode="after")
    def _source(self) -> EnvelopeSpec:
        if (self.file is None) == (self.from_recipes is None):
            raise ValueError("give exactly one of `file` or `from_recipes`")
        return self


class ReactorProblemSpec(WorkbenchModel):
    """The reactor recipe problem: staged jacket-inlet and feed programmes on the reactor twin."""

    type: Literal["reactor"] = "reactor"
    backend: Literal["auto", "fmu", "reference"] = "auto"
    batch_time: Duration = 4 * 3600.0
    jacket_stages: int = Field(2, ge=1)
    feed_stages: int = Field(2, ge=1)
    jacket_inlet: list[float | str] = Field(default_factory=lambda: [340.0])
    feed_rate: list[float | str] = Field(default_factory=lambda: [1.0e-4])
    parameters: dict[str, float | bool] = Field(default_factory=dict)
    output_interval: Duration = 60.0
    envelopes: list[EnvelopeSpec] = Field(default_factory=list)

    @field_validator("jacket_inlet")
    @classmethod
    def _kelvin(cls, v: list[Any]) -> list[float]:
        return [convert(x, "K") for x in v]

    @field_validator("feed_rate")
    @classmethod
    def _m3s(cls, v: list[Any]) -> list[float]:
        return [convert(x, "m3/s") for x in v]


class LineProblemSpec(WorkbenchModel):
    """A line-simulation problem: parameters are set on a line scenario (``simulation.line``)."""

    type: Literal["line"]
    scenario: Path
    horizon: RunLength | None = Field(None, description="replaces the scenario's experiment.horizon")
    warmup: RunLength | None = Field(None, description="replaces the scenario's experiment.warmup")


Problem = Annotated[ReactorProblemSpec | LineProblemSpec, Field(discriminator="type")]


class CampaignConfig(WorkbenchModel):
    """A recipe optimisation campaign (``kind: campaign``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    model: Problem = Field(default_factory=ReactorProblemSpec)
    parameters: list[Parameter] = Field(min_length=1)
    objectives: list[ObjectiveSpec] = Field(min_length=1)
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    noise: NoiseSpec = Field(default_factory=NoiseSpec)
    pruning: PruningSpec = Field(default_factory=PruningSpec)
    storage: str | None = Field(None, description="RDB URL (postgresql://...) or journal file path; "
                                "default: <name>.journal next to the campaign file")

    @model_validator(mode="after")
    def _names(self) -> CampaignConfig:
        names = [p.name for p in self.parameters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"parameter names must be unique, got duplicates {sorted(dup)}")
        if self.noise.max_repeats < self.noise.min_repeats:
            raise ValueError("noise: max_repeats must be >= min_repeats")
        return self
