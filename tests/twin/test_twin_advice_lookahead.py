"""Advice from the look-ahead (``Twin.attach_advice``): a projection that alarms starts a search of the advised
set-points through the same projection; the best change is proposed through the audited channel.

The plant: emulated 30-min batches of the controlled reactor; the golden model is built from batches run at
set-points 343–347 K; the new batch runs at 351.15 K, so the twin's projection (its controller on, started
bumplessly) leaves the envelope, and the search should bring the set-point back into the band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _reactor import PLANT_YAML, need_fmu
from _reactor import binding as make_binding

import golden_batch as gb
from twin import ADVICE_KINDS, AdviceChannel, AdviceSettings, Twin, read_events
from twin.emulator import PlantEmulator, load_plant_scenario
from twin.sources import ReplaySource
from workbench.errors import ConfigError

CONTROLLER = {"parameters": {"controller_enabled": True}, "integrator": "I_err", "output": "T_jacket_in",
              "input": "T_cool_in"}
LOOKAHEAD = {"every_min": 10, "replications": 4, "std": {"U": 20.0}, "seed": 3, "controller": CONTROLLER}


def _batch(seed: int, t_sp: float) -> pd.DataFrame:
    sc = load_plant_scenario(PLANT_YAML, overrides={
        "fmu": str(need_fmu()), "duration": "30 min", "faults": [], "drift": [], "seed": seed,
        "inputs": {"T_sp": t_sp, "F_B": 6.0e-5, "F_cool": 2.0e-3, "T_cool_in": 293.15}})
    return pd.DataFrame([{"time": f.time, **{k: s.value for k, s in f.samples.items()}}
                         for f in PlantEmulator(sc).frames()])


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("advice_lookahead")
    frames = [_batch(s, t) for s, t in zip(range(1, 11), np.linspace(343.0, 347.0, 10), strict=True)]
    tags = ["TI_reactor", "TI_jacket"]
    history = gb.make_batch_set({t: np.stack([f[t].values for f in frames]) for t in tags}, frames[0]["time"].values,
                                units={t: "degC" for t in tags})
    gb.GoldenBatchModel(None, aligner=gb.Aligner("elapsed", n_points=len(frames[0])), mpca=gb.BatchPCA(2)).fit(
        history).save(d / "golden.nc")
    _batch(50, 351.15).to_csv(d / "hot.csv", index=False)
    return d


class Nodes:
    """The plant's set-point and advice nodes in memory (the channel itself is tested over OPC UA in
    test_advice_opcua.py); ``confirm_with`` plays the operator."""

    def __init__(self, **values) -> None:
        self.values = dict(values)
        self.writes: list[tuple[str, object]] = []
        self.confirm_with: str | None = None

    def read(self, node):
        if node == "Advice/confirm" and self.confirm_with and self.values.get("Advice/proposal"):
            return f"{self.values['Advice/proposal']} {self.confirm_with}"
        return self.values.get(node, "")

    def write(self, node, value) -> None:
        self.values[node] = value
        self.writes.append((node, value))


def _advice(mode: str) -> AdviceSettings:
    return AdviceSettings(mode=mode, candidates=5, cooldown="30 min", setpoints=[
        {"node": "SP_T_reactor", "input": "T_sp", "limits": [60, 85], "max_rate": 1.0, "unit": "degC"}])


def _run(d, tmp_path, mode: str, nodes: Nodes):
    b = make_binding(tmp_path, golden=str(d / "golden.nc"), lookahead=LOOKAHEAD)
    twin = Twin(b, trace=tmp_path / "t.zarr")
    channel = AdviceChannel(_advice(mode), nodes, since=0.0)  # the set-point unchanged since the batch start
    twin.attach_advice(channel)
    twin.run(ReplaySource(d / "hot.csv", units={t.tag: t.unit for t in b.tags}))
    twin.close()
    return twin, channel


def test_alarming_projection_proposes_the_set_point_back_into_the_envelope(case, tmp_path):
    nodes = Nodes(SP_T_reactor=78.0)
    twin, channel = _run(case, tmp_path, "closed-loop", nodes)
    advisor = twin.addons.advisor
    first = advisor.searches[0]
    assert first["time"] == 600.0 and first["probability"] == 1.0  # the 78 °C batch leaves the 70–74 °C band
    # candidates: what limits [60, 85] and 1 °C/min over the 10 min since the start allow, evenly, current left out
    assert [c["value"] for c in first["candidates"]] == pytest.approx([68.0, 72.25, 76.5, 80.75, 85.0])
    best = min(first["candidates"], key=lambda c: c["probability"])
    assert best["value"] == pytest.approx(72.25) and best["probability"] <= 0.25
    (p,) = channel.proposals  # cooldown 30 min: one proposal in the 30-min batch
    assert p.status == "written" and p.changes == {"SP_T_reactor": pytest.approx(72.25)} and p.at == 600.0
    assert ("SP_T_reactor", pytest.approx(72.25)) in nodes.writes
    assert "P(leave envelope) 1.00" in p.why and "78 → 72.25 degC" in p.predicted_effect
    events = [e for e in read_events(tmp_path / "t.zarr") if e["kind"] in ADVICE_KINDS]
    assert [(e["kind"], e["tag"], e["value"], e["previous"]) for e in events] == [
        ("ADVICE_WRITTEN", "SP_T_reactor", pytest.approx(72.25), 78.0)]


def test_recommend_mode_waits_for_the_operator_then_writes(case, tmp_path):
    nodes = Nodes(SP_T_reactor=78.0)
    nodes.confirm_with = "ana"  # the operator answers at the sample after the proposal
    _, channel = _run(case, tmp_path, "recommend", nodes)
    (p,) = channel.proposals
    assert p.status == "written" and p.confirmed_by == "ana"
    kinds = [e["kind"] for e in read_events(tmp_path / "t.zarr") if e["kind"] in ADVICE_KINDS]
    assert kinds == ["ADVICE_PROPOSED", "ADVICE_CONFIRMED", "ADVICE_WRITTEN"]
    confirmed = next(e for e in read_events(tmp_path / "t.zarr") if e["kind"] == "ADVICE_CONFIRMED")
    assert confirmed["start"] == 610.0 and confirmed["by"] == "ana"  # one sample (10 s) after the proposal


def test_advice_needs_lookahead_and_a_searchable_set_point(case, tmp_path):
    b = make_binding(tmp_path, golden=str(case / "golden.nc"))
    with pytest.raises(ConfigError, match="advice from the twin needs lookahead"):
        Twin(b).attach_advice(AdviceChannel(_advice("recommend"), Nodes()))
    twin = Twin(make_binding(tmp_path, golden=str(case / "golden.nc"), lookahead=LOOKAHEAD))
    bad = AdviceSettings(setpoints=[{"node": "SP_T_reactor", "input": "T_set", "limits": [60, 85], "max_rate": 1.0}])
    with pytest.raises(ConfigError, match=r"advice\.setpoints\[0\]\.input: 'T_set' is not an input.*T_sp"):
        twin.attach_advice(AdviceChannel(bad, Nodes()))
    none = AdviceSettings(setpoints=[{"node": "SP_T_reactor", "limits": [60, 85], "max_rate": 1.0}])
    with pytest.raises(ConfigError, match="no set-point names the FMU input"):
        twin.attach_advice(AdviceChannel(none, Nodes()))
