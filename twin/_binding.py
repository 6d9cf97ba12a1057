"""The twin binding: which FMU, which parameters, which plant tag feeds which variable.

A binding YAML (``kind: twin-binding``) maps plant tags to FMU inputs and FMU
outputs to measured plant tags, with units (conversions are automatic, e.g. a
``degC`` tag bound to a ``K`` variable), plausibility ranges, deviation limits
and detection settings. ``twin monitor``, ``twin replay`` and ``twin calibrate``
read it. See ``scenarios/reactor_twin.yaml`` and ``docs/twin-monitoring.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin._advice import AdviceSettings
from twin.sources import OpcUaSecurity
from workbench.config import WorkbenchModel, load_config
from workbench.errors import ConfigError, did_you_mean
from workbench.units import Duration, parse_quantity

__all__ = [
    "TagBinding",
    "InputTag",
    "MeasuredTag",
    "QualitySettings",
    "DetectionSettings",
    "ResidualT2Settings",
    "SyncSettings",
    "JoinSettings",
    "CalibrationParameter",
    "OpcUaSettings",
    "TraceSettings",
    "GoldenSettings",
    "LookaheadSettings",
    "TwinBinding",
    "load_binding",
    "resolve_fmu",
]


def _check_unit(value: str) -> str:
    try:
        parse_quantity(f"1 {value}" if value.strip() not in ("", "1") else 1.0)
    except ConfigError as exc:
        raise ValueError(f'"{value}" is not a unit ({exc.message})') from None
    return value


class TagBinding(WorkbenchModel):
    """One plant tag bound to one FMU variable.

    ``low``/``high``/``max_rate`` are in the tag's ``unit``.
    """

    tag: str = Field(description="Plant tag name (OPC UA browse name / historian column)")
    variable: str = Field(description="FMU variable the tag feeds or is compared with")
    unit: str = Field("1", description="Unit of the plant tag")
    low: float | None = Field(None, description="Lowest plausible value (tag unit)")
    high: float | None = Field(None, description="Highest plausible value (tag unit)")
    max_rate: float | None = Field(None, gt=0, description="Largest plausible rate of change (tag unit/s)")
    stale_after: int | None = Field(None, ge=0, description="Identical values in a row that mean a frozen sensor")
    max_age: Duration | None = Field(
        None, description="Largest accepted sample age for this tag (default: quality.max_age); OPC UA reports "
        "by exception, so a constant set point keeps its old timestamp"
    )
    jump: float | None = Field(
        None, gt=0, description="Inputs only: a change larger than this (tag unit) between samples is a step "
        "at the start of the interval (e.g. a set-point change), held over the whole step"
    )

    @field_validator("unit")
    @classmethod
    def _unit_known(cls, value: str) -> str:
        return _check_unit(value)

    @model_validator(mode="after")
    def _range(self):
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class InputTag(TagBinding):
    """A plant tag fed to an FMU input."""

    sigma: float | None = Field(
        None, ge=0, description="Measurement-noise standard deviation of the input sensor (tag unit); with "
        "sync.method 'ekf' it enters the filter as process noise (errors in variables)"
    )


class MeasuredTag(TagBinding):
    """A measured plant tag compared with an FMU output (residual = plant − twin)."""

    sigma: float | None = Field(
        None, gt=0, description="Residual standard deviation (tag unit); estimated during warm-up if omitted"
    )
    limit: float | None = Field(None, gt=0, description="Absolute residual limit (tag unit)")
    method: Literal["ewma", "cusum", "none"] | None = Field(
        None, description="Drift detector on the residual (default: detection.method)"
    )
    sync: bool = Field(False, description="Re-sync this state of the twin from the measurement")


class QualitySettings(WorkbenchModel):
    """Defaults of the data-quality gate (per-tag values override)."""

    max_age: Duration = Field("1 h", description="Largest accepted sample age")
    stale_after: int = Field(0, ge=0, description="Identical values in a row that mean a frozen sensor (0 = off)")


class ResidualT2Settings(WorkbenchModel):
    """Hotelling T² on the vector of standardised residuals, χ² limit (see ``twin._resid_t2``)."""

    enabled: bool = Field(False, description="Run the residual T² alarm (off by default: a new alarm kind is opt-in)")
    alpha: float = Field(0.001, gt=0, lt=0.5, description="Per-sample false-alarm probability of the χ² limit")
    min_run: int = Field(1, ge=1, description="Samples in a row above the limit that raise an alarm")
    reference: int = Field(
        0, ge=0, description="0: R known (EKF innovation correlation, else independent), χ² limit; m > 0: mean and "
        "covariance estimated from the first m complete samples, Phase II F limit (Tracy, Young & Mason 1992)"
    )


class DetectionSettings(WorkbenchModel):
    """EWMA/CUSUM settings (Montgomery 2013, ch. 9; Lucas & Saccucci 1990) and the residual T²."""

    method: Literal["ewma", "cusum", "none"] = "cusum"
    lam: float = Field(0.2, gt=0, le=1, alias="lambda", description="EWMA weight λ")
    L: float = Field(2.962, gt=0, description="EWMA limit width (σ of the EWMA)")
    k: float = Field(0.5, ge=0, description="CUSUM reference value (σ units)")
    h: float = Field(5.0, gt=0, description="CUSUM decision interval (σ units)")
    clear: float = Field(
        0.5, gt=0, le=1, description="An EWMA/CUSUM alarm clears when its statistic falls to this fraction of "
        "its limit (deadband against chattering alarms, ISA-18.2)"
    )
    warmup: int = Field(30, ge=2, description="Samples used to estimate unknown σ")
    residual_t2: ResidualT2Settings = Field(
        default_factory=ResidualT2Settings, description="Hotelling T² on the standardised residual vector"
    )


class SyncSettings(WorkbenchModel):
    """State re-synchronisation of the twin from measurements."""

    method: Literal["none", "reset", "ekf"] = Field(
        "reset", description="'reset': move the measured states by the mean residual every interval; "
        "'ekf': extended Kalman filter on all FMU states every sample"
    )
    process_noise: dict[str, float] = Field(
        default_factory=dict, description="EKF process-noise std per state (FMU unit per √s)"
    )
    interval: Duration = Field("10 min", description="Time between re-syncs")
    guard: float = Field(
        0.5, ge=0, description="Skip a tag's sync while its detector statistic exceeds this fraction of its limit"
    )


# -- joining a running batch (docs/twin-monitoring.md, "Joining a running batch") ------------------
class JoinSettings(WorkbenchModel):
    """How the twin starts on a batch that is already running (state estimation at join).

    The twin catches its FMU up to the batch time with the first measured inputs
    held; the past inputs are unknown, so the unmeasured states are uncertain.
    With ``sync.method: ekf`` their covariance is propagated from ``input_std``
    through the catch-up; with any method the drift detectors are held while the
    residuals settle (see :class:`twin.Twin`).
    """

    when: Literal["auto", "always", "never"] = Field(
        "auto", description="'auto': when the batch-time tag reads more than 0 at the first sample; 'always': "
        "every start (also without a batch-time tag); 'never': start as at batch time 0 (no hold)"
    )
    input_std: dict[str, float] = Field(
        default_factory=dict, description="Standard deviation (tag unit) of each input's unknown past value around "
        "its first sample, during the catch-up; inputs not listed get input_rel × |first value|"
    )
    input_rel: float = Field(0.1, ge=0, description="Default past-input uncertainty as a fraction of |first value|")
    p0_scale: float = Field(
        0.01, ge=0, description="EKF: extra initial std of every unmeasured state, as a fraction of |its value|"
    )
    min_settle: Duration = Field(
        "10 min", description="Shortest hold of the drift detectors after joining (the filter's wide covariance "
        "shrinks meanwhile; an earlier consistent window is not enough)"
    )
    settle: Duration = Field(
        "10 min", description="Longest further hold after the shortest one, if the residuals are not consistent"
    )
    estimate: Duration = Field(
        "30 min", description="sync.method 'reset': time an EKF estimates the states after the join (detectors "
        "held) before the reset takes over; needs sigma on every synced output, else the reset settles alone"
    )
    window: int = Field(20, ge=2, description="Samples in the consistency window that ends the hold")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Level of the consistency tests that end the hold")

    @field_validator("input_std")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for tag, std in value.items():
            if not std >= 0:
                raise ValueError(f"input_std of '{tag}' must be >= 0 (tag unit), got {std}")
        return value


class CalibrationParameter(WorkbenchModel):
    """One FMU parameter that ``twin calibrate`` fits."""

    name: str
    initial: float | None = None
    low: float | None = None
    high: float | None = None


class OpcUaSettings(WorkbenchModel):
    """Where the plant's OPC UA server is and how to read it."""

    url: str = Field("opc.tcp://127.0.0.1:4840/twin/plant", description="Endpoint URL")
    namespace: str = Field("urn:twin-workbench:plant", description="Namespace URI of the tag nodes")
    publishing_interval: Duration = Field("0.5 s", description="Subscription publishing interval")
    reconnect_initial: Duration = Field("0.2 s", description="First reconnect delay (doubles up to max)")
    reconnect_max: Duration = Field("10 s", description="Largest reconnect delay")
    plant_time_scale: float = Field(
        1.0, gt=0, description="Plant seconds per wall second (emulators can run faster than real time)"
    )
    security: OpcUaSecurity = Field(
        default_factory=OpcUaSecurity, description="Security policy, certificates and user (password from "
        "password_env or password_file, never inline)"
    )


class TraceSettings(WorkbenchModel):
    """Where and how often the trace store is written."""

    path: str = Field("out/traces/twin.zarr", description="Zarr store directory (relative: to the working directory)")
    flush_interval: Duration = Field("2 s", description="Wall time between flushes (data at risk on a crash)")


class GoldenSettings(WorkbenchModel):
    """The golden-batch model scored on the running batch (``golden: model.nc`` or this mapping)."""

    model: str = Field(description="Golden-batch model file (twin golden build); relative: to the binding's folder "
                       "or the working folder")
    variables: dict[str, str] | None = Field(
        None, description="Model variable → plant tag; None: every model variable is a tag of the same name")


class ProjectionController(WorkbenchModel):
    """The plant's controller in the projection (``lookahead.controller``; ``twin.lookahead``'s ``switch``/``bumpless``).

    A twin driven by a measured manipulated variable (its model's controller off) would project
    that input held: the plant's controller frozen. With this section the projection switches the
    model's controller on and starts it bumplessly from the held manipulated value.
    """

    parameters: dict[str, float | bool] = Field(
        description="FMU parameters set for the projection only, e.g. {controller_enabled: true}")
    integrator: str = Field(description="FMU continuous state of the controller's integral action (e.g. I_err)")
    output: str = Field(description="FMU variable the controller sets (e.g. T_jacket_in)")
    input: str = Field(description="FMU input the twin is driven with for that value (e.g. T_cool_in)")


class LookaheadSettings(WorkbenchModel):
    """Monte-Carlo projection of the rest of the batch, judged against the golden envelope (``twin._lookahead``)."""

    every_min: float = Field(5.0, gt=0, description="Plant minutes between projections")
    replications: int = Field(50, ge=1, description="Monte-Carlo runs per projection")
    seed: int = Field(1, description="Seed of the first projection (the k-th uses seed + k)")
    alarm_probability: float = Field(0.5, gt=0, lt=1, description="Alarm when the probability of leaving the "
                                     "envelope (or of missing a quality spec) reaches this level")
    dt: Duration = Field("60 s", description="Step of the projected trajectories")
    std: dict[str, float] = Field(default_factory=dict, description="FMU parameter → standard deviation of its "
                                  "draws about the twin's value (independent normal draws)")
    quality: dict[str, dict[str, float | str]] = Field(
        default_factory=dict, description="Quality spec → {variable: FMU variable, low: x, high: y}: the projected "
        "final value of the variable is judged against [low, high]")
    controller: ProjectionController | None = Field(
        None, description="The plant's controller acts in the projection (bumpless start); None: inputs held")

    @field_validator("quality")
    @classmethod
    def _specs(cls, value):
        for name, spec in value.items():
            unknown = set(spec) - {"variable", "low", "high"}
            if "variable" not in spec or unknown or not ({"low", "high"} & set(spec)):
                raise ValueError(f"quality spec '{name}' must be {{variable: FMU variable, low: x and/or high: y}}, "
                                 f"got {spec}")
        return value


class TwinBinding(WorkbenchModel):
    """A twin binding (``kind: twin-binding``).

    Attributes
    ----------
    fmu
        FMU file (absolute, or relative to the YAML file, the working folder or the repo).
    sample_period
        Nominal plant sample period.
    parameters
        FMU parameter values of the twin (its belief about the plant).
    inputs
        Plant tags fed to FMU inputs.
    outputs
        Measured plant tags compared with FMU outputs.
    """

    name: str = "twin"
    description: str = ""
    fmu: str
    sample_period: Duration = Field("10 s")
    input_hold: Literal["mean", "zoh"] = Field(
        "mean", description="Input over a step: mean of its two samples ('mean') or the earlier sample ('zoh')"
    )
    batch_time_tag: str | None = Field(
        None, description="Plant tag with elapsed batch time (s); the twin fast-forwards its FMU to it on start"
    )
    start_values: dict[str, float] = Field(default_factory=dict, description="Initial FMU parameter/start values")
    parameters: dict[str, float | bool] = Field(default_factory=dict)
    inputs: list[InputTag] = Field(default_factory=list)
    outputs: list[MeasuredTag] = Field(min_length=1)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    join: JoinSettings = Field(default_factory=JoinSettings)
    calibration: list[CalibrationParameter] = Field(default_factory=list)
    opcua: OpcUaSettings = Field(default_factory=OpcUaSettings)
    trace: TraceSettings = Field(default_factory=TraceSettings)
    mspc: str | None = Field(None, description="MSPC model file (twin spc mspc build) scored on the raw plant tags; "
                             "its T²/SPE alarms join the alarm log")
    advice: AdviceSettings | None = Field(None, description="Set-points the twin may write (limits, rates, mode "
                                          "recommend or closed-loop); none: the twin never writes")
    golden: GoldenSettings | None = Field(
        None, description="Golden-batch model scored on the running batch (envelope, T², SPE, contributions, "
        "predicted quality); a bare path means model variables are tag names")
    lookahead: LookaheadSettings | None = Field(
        None, description="Projection of the rest of the batch against the golden envelope (needs golden)")
    source_file: str | None = Field(None, exclude=True, description="Set by load_binding")

    @field_validator("golden", mode="before")
    @classmethod
    def _golden_path(cls, value):
        return {"model": value} if isinstance(value, str | Path) else value

    @model_validator(mode="after")
    def _unique_tags(self):
        seen: set[str] = set()
        for tb in [*self.inputs, *self.outputs]:
            if tb.tag in seen:
                raise ValueError(f"tag '{tb.tag}' is bound twice; each plant tag may appear once")
            seen.add(tb.tag)
        if self.sample_period <= 0:
            raise ValueError("sample_period must be positive, e.g. '10 s'")
        if self.lookahead is not None and self.golden is None:
            raise ValueError("lookahead needs a golden-batch model to judge the projection against: add "
                             "`golden: model.nc`")
        inputs = [t.tag for t in self.inputs]
        for tag in self.join.input_std:
            if tag not in inputs:
                raise ValueError(f"join.input_std names '{tag}', which is not an input tag; "
                                 f"{did_you_mean(tag, inputs)}")
        return self

    @property
    def tags(self) -> list[TagBinding]:
        """Inputs then outputs (the order of trace ``tag`` coordinates)."""
        return [*self.inputs, *self.outputs]

    def fmu_path(self) -> Path:
        """The FMU file, resolved (see :func:`resolve_fmu`)."""
        return resolve_fmu(self.fmu, self.source_file)


def resolve_fmu(fmu: str, source_file: str | None = None) -> Path:
    """Find an FMU named in a config: :func:`fmu_models.resolve_fmu` (kept for existing callers).

    Tries the path (absolute, or relative to the config file's folder), then the
    current directory, then the shipped FMUs in ``fmu_models/build``.

    Raises
    ------
    ConfigError
        When no candidate exists (lists the places tried and the shipped names).
    """
    import fmu_models

    return fmu_models.resolve_fmu(fmu, source_file, field="fmu")


def load_binding(path: str | Path, *, overrides: dict | None = None) -> TwinBinding:
    """Load and validate a binding YAML (``kind: twin-binding``).

    Raises
    ------
    ConfigError
        With file:line:column of the bad value.
    """
    binding = load_config(path, TwinBinding, overrides=overrides, kind="twin-binding")
    binding.source_file = str(path)
    binding.opcua.security = binding.opcua.security.relative_to(Path(path).parent)
    return binding
