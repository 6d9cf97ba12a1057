"""The advice channel's gate (limits, rate, unknown nodes), its binding section and its audit,
on an in-memory writer (the OPC UA path: tests/twin/test_advice_opcua.py)."""

from __future__ import annotations

import math

import pytest
from _reactor import binding
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import ADVICE_KINDS, AdviceChannel, AdviceSettings, ManualClock
from workbench.errors import ConfigError, ConnectionLostError


class MemoryWriter:
    """Nodes in a dict; ``fail`` makes writes of that node raise (as a lost connection)."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = dict(values)
        self.writes: list[tuple[str, object]] = []
        self.fail: set[str] = set()

    def read(self, node):
        return self.values.get(node, "")

    def write(self, node, value):
        self.writes.append((node, value))
        if node in self.fail:
            raise ConnectionLostError(f"OPC UA server opc.tcp://127.0.0.1:1/x: writing {value!r} to node '{node}' "
                                      "failed: TimeoutError")
        self.values[node] = value


class Log:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def log_event(self, rec: dict) -> None:
        self.records.append(rec)


def _settings(mode="closed-loop", lo=50.0, hi=80.0, rate=1.0) -> AdviceSettings:
    return AdviceSettings(mode=mode, setpoints=[{"node": "SP", "limits": [lo, hi], "max_rate": rate, "unit": "degC"}])


@settings(max_examples=300, deadline=None)
@given(value=st.floats(-1e3, 1e3) | st.sampled_from([math.nan, math.inf]), current=st.floats(50.0, 80.0),
       lo=st.floats(0.0, 60.0), width=st.floats(1.0, 50.0), rate=st.floats(0.01, 10.0),
       minutes=st.floats(0.0, 30.0))
def test_gate_accepts_exactly_what_limits_and_rate_allow(value, current, lo, width, rate, minutes):
    hi = lo + width
    w = MemoryWriter({"SP": current})
    ch = AdviceChannel(_settings(lo=lo, hi=hi, rate=rate), w, trace=Log(), since=1000.0)
    p = ch.propose({"SP": value}, why="w", predicted_effect="e", at=1000.0 + 60.0 * minutes)
    inside = lo <= value <= hi
    slow = abs(value - current) <= rate * minutes * (1 + 1e-12) + 1e-9 * max(1.0, abs(current))
    expect = math.isfinite(value) and inside and slow
    assert (p.status == "written") == expect, (p.status, p.message)
    assert (("SP", value) in w.writes) == expect  # refused: nothing written, nothing clipped
    assert w.values["SP"] == (value if expect else current)
    (rec,) = ch.events
    assert rec["kind"] == ("ADVICE_WRITTEN" if expect else "ADVICE_REFUSED")


def test_whole_proposal_refused_if_one_change_is_bad_and_unknown_node_named():
    w = MemoryWriter({"SP": 60.0})
    ch = AdviceChannel(_settings(rate=100.0), w, trace=Log())
    p = ch.propose({"SP": 61.0, "SP_tmep": 3.0}, why="w", predicted_effect="e", at=0.0)
    assert p.status == "refused" and w.writes == []
    assert "'SP_tmep' is not a writable set-point" in p.message and "SP" in p.message
    assert [(e["tag"], e["kind"]) for e in ch.events] == [("SP", "ADVICE_REFUSED"), ("SP_tmep", "ADVICE_REFUSED")]
    assert "refused with the rest of the proposal" in ch.events[0]["message"]


def test_first_step_without_known_history_is_one_minute_worth():
    ch = AdviceChannel(_settings(rate=0.5), MemoryWriter({"SP": 60.0}), trace=Log())
    assert ch.propose({"SP": 60.6}, why="w", predicted_effect="e", at=5000.0).status == "refused"
    assert ch.propose({"SP": 60.5}, why="w", predicted_effect="e", at=5000.0).status == "written"


def test_failed_write_is_logged_once_and_never_retried():
    w = MemoryWriter({"SP": 60.0, "SP2": 1.0})
    w.fail.add("SP")
    s = AdviceSettings(mode="closed-loop", setpoints=[{"node": "SP", "limits": [50, 80], "max_rate": 5},
                                                      {"node": "SP2", "limits": [0, 2], "max_rate": 5}])
    log = Log()
    ch = AdviceChannel(s, w, trace=log, clock=ManualClock(100.0))
    p = ch.propose({"SP": 61.0, "SP2": 1.5}, why="w", predicted_effect="e")  # time from the clock
    assert p.status == "failed" and "TimeoutError" in p.message
    assert w.writes == [("SP", 61.0)]  # one attempt; SP2 not written after SP failed
    assert [(r["tag"], r["kind"], r["result"], r["start"]) for r in log.records] == [
        ("SP", "ADVICE_WRITE_FAILED", "failed", 100.0), ("SP2", "ADVICE_WRITE_FAILED", "not written", 100.0)]
    assert "not retried" in log.records[0]["message"]


def test_superseded_proposal_and_audit_fields():
    w = MemoryWriter({"SP": 60.0, "Advice/confirm": ""})
    ch = AdviceChannel(_settings(mode="recommend", rate=10.0), w, trace=Log())
    first = ch.propose({"SP": 61.0}, why="why1", predicted_effect="eff1", at=0.0)
    second = ch.propose({"SP": 62.0}, why="why2", predicted_effect="eff2", at=30.0)
    assert first.status == "superseded" and ch.pending is second and w.values["Advice/proposal"] == second.id
    assert w.values["SP"] == 60.0 and w.values["Advice/SP/recommended"] == 62.0
    assert {e["kind"] for e in ch.events} <= set(ADVICE_KINDS)
    rec = ch.events[-1]
    assert rec == {"tag": "SP", "kind": "ADVICE_PROPOSED", "start": 30.0, "end": 30.0, "magnitude": 2.0,
                   "direction": 1, "unit": "degC", "proposal": second.id, "value": 62.0, "previous": 60.0,
                   "mode": "recommend", "why": "why2", "predicted_effect": "eff2", "by": "twin", "result": "pending",
                   "message": "waiting for confirmation on Advice/confirm"}


def test_confirmation_rechecks_limits_and_rate_at_its_time():
    w = MemoryWriter({"SP": 60.0, "Advice/confirm": ""})
    ch = AdviceChannel(_settings(mode="recommend", rate=1.0), w, trace=Log(), since=0.0)
    p = ch.propose({"SP": 62.0}, why="w", predicted_effect="e", at=120.0)
    w.values["SP"] = 58.0  # an operator moved the set-point meanwhile: the step is now 4 K
    w.values["Advice/confirm"] = f"{p.id} dave"
    assert ch.poll_confirmations(150.0) == [p]
    assert p.status == "refused" and "exceeds max_rate" in p.message and w.values["SP"] == 58.0
    assert [e["kind"] for e in ch.events] == ["ADVICE_PROPOSED", "ADVICE_CONFIRMED", "ADVICE_REFUSED"]
    assert ch.events[-1]["by"] == "dave"


def test_no_time_no_clock_is_a_clear_error():
    ch = AdviceChannel(_settings(), MemoryWriter({"SP": 60.0}))
    with pytest.raises(ValueError, match="no plant time"):
        ch.propose({"SP": 60.5}, why="w", predicted_effect="e")


def test_binding_advice_section(tmp_path):
    b = binding(tmp_path, **{"advice": {"setpoints": [{"node": "SP_T_reactor", "limits": [60, 80], "max_rate": 0.5,
                                                       "unit": "degC"}]}})
    assert b.advice.mode == "recommend" and b.advice.confirm_timeout == 900.0
    shipped = binding(tmp_path).advice  # scenarios/reactor_twin.yaml: recommend mode, two set-points
    assert shipped.mode == "recommend" and [s.node for s in shipped.setpoints] == ["SP_T_reactor", "SP_feed"]
    assert binding(tmp_path, advice=None).advice is None
    with pytest.raises(ConfigError, match=r"advice.*limits|lo < hi"):
        binding(tmp_path, **{"advice": {"setpoints": [{"node": "SP", "limits": [80, 60], "max_rate": 1}]}})
    with pytest.raises(ConfigError, match="max_rate"):
        binding(tmp_path, **{"advice": {"setpoints": [{"node": "SP", "limits": [0, 1], "max_rate": 0}]}})
    with pytest.raises(ConfigError, match="mode"):
        binding(tmp_path, **{"advice": {"mode": "auto", "setpoints": [{"node": "SP", "limits": [0, 1],
                                                                        "max_rate": 1}]}})
    with pytest.raises(ConfigError, match="no advice: section"):
        AdviceChannel.from_binding(binding(tmp_path, advice=None))


def test_confirm_text_operator_with_spaces_and_reject_word():
    w = MemoryWriter({"SP": 60.0, "Advice/confirm": ""})
    ch = AdviceChannel(_settings(mode="recommend", rate=10.0), w, trace=Log())
    p = ch.propose({"SP": 61.0}, why="w", predicted_effect="e", at=0.0)
    w.values["Advice/confirm"] = p.id  # no operator: refused, stays pending
    assert ch.poll_confirmations(10.0) == [] and ch.pending is p and w.values["Advice/confirm"] == ""
    w.values["Advice/confirm"] = f"{p.id} Ann Lee"
    assert ch.poll_confirmations(20.0) == [p] and p.confirmed_by == "Ann Lee" and w.values["SP"] == 61.0
    q = ch.propose({"SP": 62.0}, why="w", predicted_effect="e", at=100.0)
    w.values["Advice/confirm"] = f"{q.id} Ann Lee REJECT"
    assert ch.poll_confirmations(110.0) == [q] and q.status == "rejected" and q.confirmed_by == "Ann Lee"
    assert w.values["SP"] == 61.0 and w.values["Advice/proposal"] == ""
