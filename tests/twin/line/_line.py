"""Helpers of the line-twin tests: the shipped model, a binding, an emulated line."""

from __future__ import annotations

import socket
from pathlib import Path

from simulation.line import load_scenario
from twin.line import LineBinding, LineChange, LinePlant, LineTwin, load_line_binding

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "scenarios" / "assembly_line_twin_model.yaml"
BINDING = ROOT / "scenarios" / "assembly_line_twin.yaml"
PLANT = ROOT / "scenarios" / "assembly_line_twin_plant.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model():
    return load_scenario(MODEL)


def binding(**update) -> LineBinding:
    b = load_line_binding(BINDING)
    return b.model_copy(update=update) if update else b


def plant(*, seed: int = 1, duration: float = 7200.0, changes=(), line=None) -> LinePlant:
    """The model itself as the true line (plus scripted changes)."""
    return LinePlant(line or model(), changes=[LineChange(**c) for c in changes], seed=seed,
                     duration=duration, sample_period=5.0)


def follow(p: LinePlant, twin: LineTwin, until: float | None = None):
    """Feed the emulated line into the twin in-process; returns the alarms."""
    for t, values in p.frames(until=until):
        twin.step(t, values)
    return twin.deviation.alarms
