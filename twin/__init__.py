"""The Twin: live plant data bound to FMU physics.

Public API::

    from twin import Twin, load_binding, TraceStore, open_trace, calibrate, lookahead
    binding = load_binding("scenarios/reactor_twin.yaml")
    twin = Twin(binding, trace="run.zarr")
    report = twin.run(ReplaySource("history.csv", speed="max"))
    twin.close()

Sources live in :mod:`twin.sources`, the plant emulator in :mod:`twin.emulator`.

:func:`open_trace` is the one reader of trace stores (twin and line twin; read-only,
safe while a twin appends). ``read_trace_rows`` and ``trace_rows`` are deprecated
aliases of it.
"""

import importlib

# Names are imported on first use (PEP 562) so that ``twin --help`` and the CLI stay fast:
# the package's modules pull in xarray, scipy and asyncua.
_LAZY = {
    "CalibrationParameter": "twin._binding",
    "DetectionSettings": "twin._binding",
    "InputTag": "twin._binding",
    "MeasuredTag": "twin._binding",
    "QualitySettings": "twin._binding",
    "SyncSettings": "twin._binding",
    "TagBinding": "twin._binding",
    "TwinBinding": "twin._binding",
    "load_binding": "twin._binding",
    "CalibrationResult": "twin._calibrate",
    "calibrate": "twin._calibrate",
    "AlarmEvent": "twin._detect",
    "DetectorBank": "twin._detect",
    "cusum_arl_siegmund": "twin._detect",
    "ewma_arl": "twin._detect",
    "LookaheadResult": "twin._lookahead",
    "lookahead": "twin._lookahead",
    "FmuStepper": "twin._model",
    "DIMENSIONS": "twin._quality",
    "GateResult": "twin._quality",
    "GateTag": "twin._quality",
    "QualityFlag": "twin._quality",
    "QualityGate": "twin._quality",
    "TraceStore": "twin._trace",
    "open_trace": "twin._trace",
    "read_events": "twin._trace",
    "read_trace_rows": "twin._trace",
    "trace_rows": "twin._trace",
    "Twin": "twin._twin",
    "TwinReport": "twin._twin",
    "TwinStep": "twin._twin",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'twin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "SyncSettings",
    "CalibrationParameter",
    "load_binding",
    "QualityGate",
    "QualityFlag",
    "GateTag",
    "GateResult",
    "DIMENSIONS",
    "DetectorBank",
    "AlarmEvent",
    "ewma_arl",
    "cusum_arl_siegmund",
    "TraceStore",
    "open_trace",
    "read_events",
    "read_trace_rows",
    "trace_rows",
    "FmuStepper",
    "calibrate",
    "CalibrationResult",
    "lookahead",
    "LookaheadResult",
]

