"""Advice back to the plant over a real asyncua server (the emulator): set-points the physics
takes, the server's EURange guard, the twin's limits and rates, recommend-and-confirm, the audit.

The emulator runs on a gated virtual clock: it publishes and steps only up to the plant time a
test allows, so "nothing changes until confirmed" and "from the next step" are checked on exact
plant times, whatever the machine's load (waits are bounded and wait for the plant's state).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from _reactor import plant
from _synthetic import free_port

from twin import AdviceChannel, AdviceSettings, ManualClock, TraceStore, read_events
from twin.emulator import PlantEmulator, PlantServer
from twin.sources import OpcUaWriter, WriteRefused

pytestmark = pytest.mark.opcua

SETPOINTS = [{"node": "SP_T_reactor", "input": "T_sp", "unit": "degC", "low": 40, "high": 90},
             {"node": "SP_feed", "input": "F_B", "unit": "m3/h", "low": 0, "high": 0.5}]
T0 = 1.8e9


class GateClock(ManualClock):
    """Virtual time that does not pass beyond :attr:`allowed` (the test moves it)."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.allowed = start

    async def asleep(self, seconds: float) -> None:
        while self.now() + max(seconds, 0.0) > self.allowed + 1e-6:
            await asyncio.sleep(0.005)
        await super().asleep(seconds)


class Plant:
    """An emulator server on 127.0.0.1 with a gated clock; :meth:`run_to` lets it step to plant time t."""

    def __init__(self, **overrides) -> None:
        self.url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
        self.clock = GateClock(T0)
        self.scenario = plant(duration="2 h", setpoints=SETPOINTS, **overrides)
        self.server = PlantServer(self.scenario, endpoint=self.url, clock=self.clock)
        self.server.start_thread()
        self.period = float(self.scenario.sample_period)

    def run_to(self, t: float, timeout: float = 120.0) -> None:
        """Publish up to plant time ``t`` (the plant has then stepped to ``t + period``, and waits)."""
        self.clock.allowed = T0 + t
        deadline = time.monotonic() + timeout  # a bound on a wait for an event, not a timing assert
        while not (self.server.plant.time >= t + self.period - 1e-9 and self.server.samples_published
                   >= round(t / self.period) + 1):
            assert time.monotonic() < deadline, f"plant did not reach t = {t} s (at {self.server.plant.time} s)"
            time.sleep(0.01)

    @property
    def now(self) -> float:
        return self.clock.now()

    def close(self) -> None:
        self.server.stop_thread()


@pytest.fixture
def plant_server():
    p = Plant()
    yield p
    p.close()


def _channel(p: Plant, tmp_path, *, mode="closed-loop", limits=(40.0, 90.0), max_rate=5.0, since=None,
             confirm_timeout="15 min"):
    settings = AdviceSettings(mode=mode, confirm_timeout=confirm_timeout, setpoints=[
        {"node": "SP_T_reactor", "limits": list(limits), "max_rate": max_rate, "unit": "degC"},
        {"node": "SP_feed", "limits": [0.0, 0.4], "max_rate": 0.1, "unit": "m3/h"}])
    trace = TraceStore(tmp_path / "trace.zarr", ["TI_reactor"], ["degC"], time_kind="datetime")
    writer = OpcUaWriter(p.url, timeout=30.0)
    return AdviceChannel(settings, writer, trace=trace, since=T0 if since is None else since), trace


def test_physics_responds_to_a_written_setpoint_from_the_next_step(plant_server):
    p = plant_server
    ref = PlantEmulator(p.scenario)  # the same plant, same noise stream, nobody writes to it
    p.run_to(600.0)
    with OpcUaWriter(p.url, timeout=30.0) as w:
        assert w.eu_range("SP_T_reactor") == (40.0, 90.0)
        assert w.read("SP_T_reactor") == pytest.approx(345.0 - 273.15)
        w.write("SP_T_reactor", 80.0)
    ref.run_until(610.0)
    assert p.server.plant.values == ref.values  # up to the write: the same plant
    p.run_to(610.0)
    ref.advance()
    assert p.server.plant.values["TSP"] == pytest.approx(80.0)
    assert p.server.plant.values["TI_jacket_in"] > ref.values["TI_jacket_in"] + 5.0  # the controller acts at once
    p.run_to(2400.0)
    ref.run_until(2410.0)
    assert p.server.plant.values["TI_reactor"] > ref.values["TI_reactor"] + 3.0  # the reactor follows
    assert p.server.setpoint_writes == [(610.0, "SP_T_reactor", 80.0)]


def test_server_refuses_writes_outside_eurange_and_to_measured_tags(plant_server):
    p = plant_server
    p.run_to(100.0)
    with OpcUaWriter(p.url, timeout=30.0) as w:
        for node, value, status in (("SP_T_reactor", 95.0, "BadOutOfRange"), ("SP_T_reactor", float("nan"),
                                    "BadOutOfRange"), ("TI_reactor", 50.0, "BadUserAccessDenied")):
            with pytest.raises(WriteRefused) as err:
                w.write(node, value)
            assert err.value.status == status and node in str(err.value)
        assert w.read("SP_T_reactor") == pytest.approx(71.85)
    p.run_to(200.0)
    assert p.server.setpoint_writes == [] and p.server.plant.values["TSP"] == pytest.approx(71.85)
    assert [r[3] for r in p.server.writes_refused] == ["BadOutOfRange", "BadOutOfRange"]


def test_out_of_limit_proposal_refused_by_the_twin_and_logged(plant_server, tmp_path):
    p = plant_server
    p.run_to(600.0)
    ch, trace = _channel(p, tmp_path, limits=(60.0, 80.0), max_rate=100.0)
    prop = ch.propose({"SP_T_reactor": 85.0, "SP_feed": 0.2}, why="spec at risk", predicted_effect="+2 % yield",
                      at=p.now)
    assert prop.status == "refused" and "outside the limits [60, 80] degC" in prop.message
    p.run_to(700.0)
    assert p.server.setpoint_writes == []  # nothing written, not even the in-limit feed change
    events = read_events(trace.path)
    assert {(e["tag"], e["kind"], e["result"]) for e in events} == {
        ("SP_T_reactor", "ADVICE_REFUSED", "refused"), ("SP_feed", "ADVICE_REFUSED", "refused")}
    temp = next(e for e in events if e["tag"] == "SP_T_reactor")
    assert temp["value"] == 85.0 and temp["why"] == "spec at risk" and temp["predicted_effect"] == "+2 % yield"
    assert temp["by"] == "twin" and temp["start"] == T0 + 600.0 and "does not clip" in temp["message"]
    ch.close()


def test_out_of_eurange_write_is_refused_by_the_server_logged_and_not_retried(plant_server, tmp_path):
    p = plant_server
    p.run_to(300.0)
    ch, trace = _channel(p, tmp_path, limits=(20.0, 120.0), max_rate=100.0)  # wider than the server's EURange
    prop = ch.propose({"SP_T_reactor": 95.0}, why="test", predicted_effect="none", at=p.now)
    assert prop.status == "failed" and "BadOutOfRange" in prop.message
    p.run_to(400.0)
    assert len(p.server.writes_refused) == 1 and p.server.setpoint_writes == []  # one attempt, no retry
    (ev,) = read_events(trace.path)
    assert ev["kind"] == "ADVICE_WRITE_FAILED" and "BadOutOfRange" in ev["message"] and ev["value"] == 95.0
    assert ev["previous"] == pytest.approx(71.85) and ev["result"] == "failed"
    ch.close()


def test_recommend_mode_waits_for_confirmation_and_audits_who(plant_server, tmp_path):
    p = plant_server
    p.run_to(600.0)
    ch, trace = _channel(p, tmp_path, mode="recommend", max_rate=1.0)
    prop = ch.propose({"SP_T_reactor": 74.0}, why="look-ahead: conversion below spec", predicted_effect=
                      "P(miss spec) 0.4 -> 0.1", at=p.now)
    assert prop.status == "pending" and ch.pending is prop
    operator = OpcUaWriter(p.url, timeout=30.0)
    try:
        assert operator.read("Advice/proposal") == prop.id
        assert operator.read("Advice/SP_T_reactor/recommended") == 74.0
        assert "conversion below spec" in operator.read("Advice/SP_T_reactor/reason")
        for t in (700.0, 800.0, 900.0):  # nothing changes while nobody confirms
            p.run_to(t)
            assert ch.poll_confirmations(p.now) == []
        assert p.server.setpoint_writes == [] and p.server.plant.values["TSP"] == pytest.approx(71.85)
        operator.write("Advice/confirm", f"{prop.id}-old bob")  # a stale confirmation: refused, logged
        assert ch.poll_confirmations(p.now) == [] and ch.pending is prop
        operator.write("Advice/confirm", f"{prop.id} alice")
        assert ch.poll_confirmations(p.now) == [prop]
        assert prop.status == "written" and prop.confirmed_by == "alice"
        assert operator.read("Advice/proposal") == "" and operator.read("Advice/confirm") == ""
        p.run_to(1000.0)
        assert p.server.setpoint_writes == [(910.0, "SP_T_reactor", 74.0)]
        assert p.server.plant.values["TSP"] == pytest.approx(74.0)
    finally:
        operator.close()
        ch.close()
    kinds = [(e["kind"], e["by"]) for e in read_events(trace.path)]
    assert kinds == [("ADVICE_PROPOSED", "twin"), ("ADVICE_REFUSED", "bob"), ("ADVICE_CONFIRMED", "alice"),
                     ("ADVICE_WRITTEN", "alice")]
    confirmed = next(e for e in read_events(trace.path) if e["kind"] == "ADVICE_CONFIRMED")
    assert confirmed["proposal"] == prop.id and confirmed["start"] == T0 + 900.0
    assert confirmed["why"].startswith("look-ahead") and confirmed["predicted_effect"].endswith("0.1")


def test_recommend_mode_reject_and_expiry(plant_server, tmp_path):
    p = plant_server
    p.run_to(600.0)
    ch, trace = _channel(p, tmp_path, mode="recommend", confirm_timeout=300.0)
    first = ch.propose({"SP_feed": 0.25}, why="w", predicted_effect="e", at=p.now)
    with OpcUaWriter(p.url, timeout=30.0) as operator:
        operator.write("Advice/confirm", f"{first.id} carol reject")
    assert ch.poll_confirmations(p.now) == [first] and first.status == "rejected"
    p.run_to(700.0)
    second = ch.propose({"SP_feed": 0.25}, why="w", predicted_effect="e", at=p.now)
    p.run_to(900.0)
    assert ch.poll_confirmations(p.now) == []
    p.run_to(1100.0)
    assert ch.poll_confirmations(p.now) == [second] and second.status == "expired"
    assert p.server.setpoint_writes == []
    assert [e["kind"] for e in read_events(trace.path)] == ["ADVICE_PROPOSED", "ADVICE_REJECTED", "ADVICE_PROPOSED",
                                                             "ADVICE_EXPIRED"]
    ch.close()


def test_closed_loop_enforces_the_rate_limit(plant_server, tmp_path):
    p = plant_server
    p.run_to(600.0)
    ch, trace = _channel(p, tmp_path, max_rate=0.5, since=T0 + 540.0)  # 0.5 K/min; unchanged since t = 540 s
    big = ch.propose({"SP_T_reactor": 73.85}, why="w", predicted_effect="e", at=p.now)  # 2 K after 1 min
    assert big.status == "refused" and "exceeds max_rate 0.5 degC/min" in big.message
    ok = ch.propose({"SP_T_reactor": 72.35}, why="w", predicted_effect="e", at=p.now)  # 0.5 K after 1 min
    assert ok.status == "written", ok.message
    p.run_to(630.0)
    early = ch.propose({"SP_T_reactor": 72.85}, why="w", predicted_effect="e", at=p.now)  # 0.5 K after 0.5 min
    assert early.status == "refused" and "in 0.5 min" in early.message
    p.run_to(660.0)
    assert ch.propose({"SP_T_reactor": 72.85}, why="w", predicted_effect="e", at=p.now).status == "written"
    p.run_to(700.0)
    assert [(t, v) for t, _, v in p.server.setpoint_writes] == [(610.0, 72.35), (670.0, 72.85)]
    assert np.isclose(p.server.plant.values["TSP"], 72.85)
    kinds = [e["kind"] for e in read_events(trace.path)]
    assert kinds == ["ADVICE_REFUSED", "ADVICE_WRITTEN", "ADVICE_REFUSED", "ADVICE_WRITTEN"]
    ch.close()


def test_lost_connection_write_fails_logged_and_not_retried(tmp_path):
    p = Plant()
    try:
        p.run_to(300.0)
        ch, trace = _channel(p, tmp_path, mode="recommend", max_rate=100.0)
        prop = ch.propose({"SP_T_reactor": 75.0}, why="w", predicted_effect="e", at=p.now)
        assert prop.status == "pending"
    finally:
        p.close()
    ch.writer.timeout = 2.0
    for t in (400.0, 410.0, 420.0):  # the confirm node is unreadable: logged once, the proposal stays pending
        assert ch.poll_confirmations(T0 + t) == [] and ch.pending is prop
    refused = ch.propose({"SP_T_reactor": 76.0}, why="w", predicted_effect="e", at=T0 + 400.0)
    assert refused.status == "refused" and "not readable" in refused.message
    kinds = [e["kind"] for e in read_events(trace.path)]
    assert kinds == ["ADVICE_PROPOSED", "ADVICE_WRITE_FAILED", "ADVICE_REFUSED"]
    ch.close()


def test_cli_advise_and_confirm(plant_server, tmp_path, capsys):
    from _reactor import TWIN_YAML

    from twin_app.cli.main import main

    p = plant_server
    p.run_to(600.0)
    log = tmp_path / "advice"
    common = [str(TWIN_YAML), "--url", p.url]
    assert main(["plant", "advise", *common, "--set", "SP_T_reactor=95", "--reason", "r", "--log", str(log)]) == 1
    assert "outside the limits [60, 85] degC" in " ".join(capsys.readouterr().out.split())
    assert main(["plant", "advise", *common, "--set", "SP_T_reactor=72.5", "--reason", "spec at risk",
                 "--effect", "+1 % conversion", "--log", str(log)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "pending" in out and "twin plant confirm" in out
    assert main(["plant", "confirm", *common, "--operator", "erin"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "72.5" in out and "spec at risk" in out and "SP_feed" not in out  # only what the proposal changes
    events = read_events(log)
    pid = events[-1]["proposal"]
    with OpcUaWriter(p.url, timeout=30.0) as w:
        assert w.read("Advice/confirm") == f"{pid} erin"
    assert [(e["kind"], e["start"]) for e in events] == [("ADVICE_REFUSED", T0 + 600.0), ("ADVICE_PROPOSED",
                                                                                            T0 + 600.0)]
    assert main(["plant", "advise", *common, "--set", "SP_T_reactor", "--reason", "r", "--log", str(log)]) == 2
    assert "expected NODE=VALUE" in capsys.readouterr().err
