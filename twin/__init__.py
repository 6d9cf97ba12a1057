"""The Twin: live plant data bound to FMU physics.

Public API::

    from twin import Twin, load_binding, TraceStore, open_trace, calibrate, lookahead, AdviceChannel
    binding = load_binding("scenarios/reactor_twin.yaml")
    twin = Twin(binding, trace="run.zarr")
    report = twin.run(ReplaySource("history.csv", speed="max"))
    twin.close()

Set-point advice back to the plant (a binding's ``advice:`` section, audited writes over
OPC UA): :class:`AdviceChannel`; an operator confirms a proposal with :func:`confirm_proposal`.
Sources live in :mod:`twin.sources`, the plant emulator in :mod:`twin.emulator`.

:func:`open_trace` is the one reader of trace stores (twin and line twin; read-only,
safe while a twin appends). ``read_trace_rows`` and ``trace_rows`` are deprecated
aliases of it.
"""

from twin._advice import (
    ADVICE_KINDS,
    AdviceChannel,
    AdviceSetpoint,
    AdviceSettings,
    Proposal,
    confirm_proposal,
)
from twin._batch_loop import (
    BatchLoopScenario,
    BatchRecord,
    LoopResult,
    load_batch_loop,
    run_batch_loop,
)
from twin._binding import (
    CalibrationParameter,
    DetectionSettings,
    GoldenSettings,
    InputTag,
    JoinSettings,
    LookaheadSettings,
    MeasuredTag,
    QualitySettings,
    ResidualT2Settings,
    SyncSettings,
    TagBinding,
    TwinBinding,
    load_binding,
)
from twin._calib_windows import ExcludedWindow, parse_window, windows_from_faults
from twin._calibrate import CalibrationResult, calibrate
from twin._clock import Clock, ManualClock, PacedClock, WallClock
from twin._degradation import (
    CleaningPlan,
    Crossing,
    DriftFit,
    cleaning_cost_rate,
    fit_drift,
    optimal_cleaning_interval,
)
from twin._detect import AlarmEvent, DetectorBank, cusum_arl_siegmund, ewma_arl
from twin._lookahead import (
    FAN_QUANTILES,
    LookaheadResult,
    ProjectionJudgement,
    bumpless_integrator,
    judge_projection,
    lookahead,
    projection_fan,
    write_projection,
)
from twin._maintain import (
    DRIFT_SCALES,
    MaintenanceForecast,
    ParameterPath,
    maintenance_forecast,
    parameter_path,
)
from twin._model import FmuStepper
from twin._quality import DIMENSIONS, GateResult, GateTag, QualityFlag, QualityGate
from twin._resid_t2 import ResidualT2, residual_t2
from twin._trace import TRACE_NOT_PERSISTED, TraceExistsError, TraceStore, TraceVariable
from twin._trace_read import open_trace, read_events
from twin._trace_read import read_trace_rows as read_trace_rows  # deprecated alias of open_trace
from twin._trace_read import trace_rows as trace_rows  # deprecated alias of open_trace
from twin._twin import Twin, TwinReport, TwinStep

__all__ = [
    "Twin",
    "TwinReport",
    "TwinStep",
    "TwinBinding",
    "TagBinding",
    "InputTag",
    "MeasuredTag",
    "QualitySettings",
    "DetectionSettings",
    "ResidualT2Settings",
    "GoldenSettings",
    "LookaheadSettings",
    "SyncSettings",
    "JoinSettings",
    "CalibrationParameter",
    "load_binding",
    "QualityGate",
    "QualityFlag",
    "GateTag",
    "GateResult",
    "DIMENSIONS",
    "DetectorBank",
    "AlarmEvent",
    "ResidualT2",
    "residual_t2",
    "ewma_arl",
    "cusum_arl_siegmund",
    "TraceStore",
    "TraceExistsError",
    "TraceVariable",
    "TRACE_NOT_PERSISTED",
    "open_trace",
    "read_events",
    "FmuStepper",
    "calibrate",
    "CalibrationResult",
    "ExcludedWindow",
    "parse_window",
    "windows_from_faults",
    "fit_drift",
    "DriftFit",
    "Crossing",
    "CleaningPlan",
    "cleaning_cost_rate",
    "optimal_cleaning_interval",
    "parameter_path",
    "ParameterPath",
    "maintenance_forecast",
    "MaintenanceForecast",
    "DRIFT_SCALES",
    "lookahead",
    "BatchLoopScenario",
    "BatchRecord",
    "LoopResult",
    "load_batch_loop",
    "run_batch_loop",
    "projection_fan",
    "write_projection",
    "FAN_QUANTILES",
    "bumpless_integrator",
    "LookaheadResult",
    "judge_projection",
    "ProjectionJudgement",
    "Clock",
    "WallClock",
    "ManualClock",
    "PacedClock",
    "AdviceChannel",
    "AdviceSettings",
    "AdviceSetpoint",
    "Proposal",
    "ADVICE_KINDS",
    "confirm_proposal",
]
