"""The whole loop (``twin loop``, :func:`twin.run_batch_loop`): plant emulator over a real asyncua server, the twin
with golden model, look-ahead and advice confirmed by an operator, run-to-run between batches.

Independent expectations: with nothing written, the batch the loop serves over OPC UA is the batch the same
emulator runs in process (same seed), to the last digit; the next recipe is the EWMA offset controller's
(Sachs, Hu & Ingolfsson 1995) from the measured quality, computed here by hand; a written set-point changes
the plant's physics (paired with the same batch without advice).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _reactor import ROOT, need_fmu

from twin import ADVICE_KINDS, load_batch_loop, read_events, run_batch_loop
from twin._batch_loop import _plant
from twin.emulator import PlantEmulator
from workbench.errors import ConfigError

pytestmark = pytest.mark.opcua

TARGET, GAIN = 0.0177, 0.002


def _scenario(tmp_path, **overrides):
    need_fmu()
    base = {"batches": 2, "duration": "1 h", "golden.path": str(tmp_path / "golden.nc"), "golden.batches": 6,
            "recipe": {"T_sp": 349.0}, "faults": [], "quality.noise": 0.0,
            "twin_overrides": {"lookahead.every_min": 15},
            "r2r": {"target": TARGET, "gains": {"T_sp": GAIN}, "lam": 0.5, "limits": {"T_sp": [338.0, 350.0]},
                    "gain_ratio": [0.7, 1.5]}}
    return load_batch_loop(ROOT / "scenarios" / "reactor_loop.yaml", overrides={**base, **overrides})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("loop")
    sc = _scenario(d)
    quiet = run_batch_loop(sc, d / "quiet", advise=False, echo=lambda *_: None)
    advised = run_batch_loop(sc, d / "advised", echo=lambda *_: None)
    return sc, quiet, advised, d


def test_without_advice_the_served_batch_is_the_in_process_batch_and_r2r_sets_the_next_recipe(runs):
    sc, quiet, _, d = runs
    first, second = quiet.records
    plant = _plant(sc, 1, {"T_sp": 349.0}, seed=sc.seed + 1)
    emulator = PlantEmulator(plant)
    for _ in emulator.frames():
        pass
    assert first.quality == float(emulator.model.read(["impurity_D"])[0])  # noise 0: the plant's own value
    assert first.proposals == [] and first.setpoint_writes == []
    # EWMA offset controller after one batch: offset = y1 − b·u1, next u = (target − offset) / b, within limits
    expected = float(np.clip((TARGET - (first.quality - GAIN * 349.0)) / GAIN, 338.0, 350.0))
    assert second.recipe["T_sp"] == pytest.approx(expected, rel=1e-12)
    assert (second.recipe["T_sp"] - 349.0) * (TARGET - first.quality) > 0  # towards the target (gain > 0)
    assert second.parameters["R_fouling"] == pytest.approx(1.0e-4) and first.parameters["R_fouling"] == 0.0
    saved = json.loads((d / "quiet" / "loop.json").read_text())
    assert [b["quality"] for b in saved["batches"]] == [first.quality, second.quality]


def test_projection_alarm_is_advised_confirmed_written_and_the_plant_responds(runs):
    sc, quiet, advised, _ = runs
    first = advised.records[0]
    written = [p for p in first.proposals if p["status"] == "written"]
    assert written, first.proposals
    p = written[0]
    assert p["by"] == sc.operator and p["at_min"] == pytest.approx(15.0)  # the first projection, 15 plant minutes
    (node, value), = p["changes"].items()
    assert node in {"SP_T_reactor", "SP_feed"}
    assert [(w["node"], w["value"]) for w in first.setpoint_writes][:1] == [(node, pytest.approx(value))]
    events = [e for e in read_events(first.trace) if e["kind"] in ADVICE_KINDS][:3]
    assert [(e["kind"], e["by"]) for e in events] == [
        ("ADVICE_PROPOSED", "twin"), ("ADVICE_CONFIRMED", sc.operator), ("ADVICE_WRITTEN", sc.operator)]
    t0 = events[0]["start"] - 15 * 60.0  # plant epoch of the batch start
    assert [round((e["start"] - t0) / 60.0, 6) for e in events] == [15.0, 16.0, 16.0]  # confirmed at the next sample
    # the plant took it while at most one sample ahead of the twin (lock-step, lead 1; its clock is the end of its
    # last step)
    assert 16.0 <= first.setpoint_writes[0]["at_min"] <= 18.0
    # the write reached the physics: the same batch without advice ends elsewhere
    assert abs(first.quality - quiet.records[0].quality) > 1e-4


def test_loop_scenario_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"per_batch\.k3_ref: 'k3_ref' is not a parameter"):
        _plant(_scenario(tmp_path, per_batch={"k3_ref": 1.0}), 2, {"T_sp": 345.0})
    unstable = {"target": 0.0177, "gains": {"T_sp": 0.002}, "lam": 0.9, "gain_ratio": [1.0, 3.0]}
    with pytest.raises(ConfigError, match=r"0 < λ·ξ < 2 \(Ingolfsson & Sachs 1993\).*λ·ξ = 2\.7"):  # λξ up to 2.7: outside 0 < λξ < 2 (Ingolfsson & Sachs)
        run_batch_loop(_scenario(tmp_path, r2r=unstable), tmp_path, echo=lambda *_: None)
    assert not (tmp_path / "batch_01.zarr").exists()  # refused before any batch ran
