"""The line twin: live machine states and production events bound to the SimPy line model.

Public API::

    from twin.line import load_line_binding, LineTwin, monitor_line, calibrate_line
    binding = load_line_binding("scenarios/assembly_line_twin.yaml")
    report = monitor_line("scenarios/assembly_line_twin.yaml", trace="line.zarr")   # OPC UA
    cal = calibrate_line(binding, "line.zarr", start=3 * 3600)
    cal.write("assembly_line_twin_model_calibrated.yaml")

The line-mode plant emulator (:class:`LinePlant`, :func:`serve_line_plant`) publishes
a SimPy run of a shipped line scenario with hidden true parameters and scripted
changes over OPC UA. See ``docs/line-twin.md``.
"""

from twin.line._calibrate import Estimate, LineCalibration, calibrate_line, observations_from_trace
from twin.line._config import (
    SIGNALS,
    STATE_CODES,
    DeviationSettings,
    ForecastSettings,
    LineBinding,
    LineChange,
    LinePlantScenario,
    ShiftSettings,
    StationSignals,
    load_line_binding,
    load_line_plant,
)
from twin.line._deviation import DeviationMonitor, LineAlarm, ad_pvalue, anderson_darling
from twin.line._forecast import ShiftForecast, forecast_shift, prediction_interval
from twin.line._monitor import LineStep, LineTwin, LineTwinReport, monitor_line
from twin.line._monitor import (
    open_line_trace as open_line_trace,  # deprecated alias of twin.open_trace
)
from twin.line._plant import LinePlant, line_tags
from twin.line._server import line_plant_server, serve_line_plant
from twin.line._state import LineState, MachineState, Observation, residual, sample_snapshot

__all__ = [
    "STATE_CODES",
    "SIGNALS",
    "LineBinding",
    "StationSignals",
    "ShiftSettings",
    "ForecastSettings",
    "DeviationSettings",
    "LineChange",
    "LinePlantScenario",
    "load_line_binding",
    "load_line_plant",
    "LinePlant",
    "line_tags",
    "line_plant_server",
    "serve_line_plant",
    "LineState",
    "MachineState",
    "Observation",
    "residual",
    "sample_snapshot",
    "ShiftForecast",
    "forecast_shift",
    "prediction_interval",
    "DeviationMonitor",
    "LineAlarm",
    "anderson_darling",
    "ad_pvalue",
    "LineTwin",
    "LineStep",
    "LineTwinReport",
    "monitor_line",
    "calibrate_line",
    "LineCalibration",
    "Estimate",
    "observations_from_trace",
]

