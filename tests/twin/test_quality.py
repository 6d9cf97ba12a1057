"""Data-quality gate: malformed sample streams are flagged and counted, never crash."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin import DIMENSIONS, GateTag, QualityFlag, QualityGate
from twin.sources import Frame, Sample

TAGS = [
    GateTag("T", "K", low=250.0, high=450.0, max_age=30.0, stale_after=5, max_rate=2.0),
    GateTag("F", "m3/s", low=0.0, high=0.01),
    GateTag("P", "bar", low=0.0, high=20.0, max_age=5.0),
]

weird_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e3, max_value=1e3),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.lists(st.floats(), max_size=2),
    st.just("351.2"),
)
units = st.sampled_from([None, "K", "degC", "m3/s", "m3/h", "bar", "Pa", "kg", "furlong", "", "%"])
tag_names = st.sampled_from(["T", "F", "P", "UNKNOWN", ""])


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    out = []
    t = 0.0
    for _ in range(n):
        step = draw(st.sampled_from([10.0, 10.0, 10.0, 0.0, -10.0, 35.0, 1e6, math.nan]))
        t = t + step if math.isfinite(step) else step
        samples = {}
        for name in draw(st.lists(tag_names, max_size=5)):
            age = draw(st.sampled_from([0.0, 0.0, 3.0, 100.0, math.nan]))
            samples[name] = Sample(name, draw(weird_values), (t if math.isfinite(t) else 0.0) - age,
                                   draw(units), draw(st.booleans()) or True)
        out.append(Frame(t, samples, reconnected=draw(st.booleans()) and draw(st.booleans())))
        if not math.isfinite(t):
            t = 0.0
    return out


def _oracle_rejected(times: list[float]) -> int:
    last = math.nan
    rejected = 0
    for t in times:
        if not math.isfinite(t) or (math.isfinite(last) and t <= last):
            rejected += 1
            continue
        last = t
    return rejected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=frames())
def test_gate_never_crashes_and_counts_every_flag(stream):
    gate = QualityGate(TAGS, period=10.0)
    tally = {}
    for frame in stream:
        res = gate.check(frame)  # must not raise, whatever the frame holds
        assert res.values.shape == (3,) and res.flags.shape == (3,)
        usable = res.usable
        # usable values are finite numbers, unusable ones are NaN
        assert np.all(np.isfinite(res.values[usable]) | ~res.accepted)
        assert np.all(np.isnan(res.values[~usable]))
        for i, tag in enumerate(TAGS):
            for flag in QualityFlag:
                if flag and res.flags[i] & flag:
                    tally[(tag.name, flag.name)] = tally.get((tag.name, flag.name), 0) + 1
            if res.accepted and usable[i]:
                v = res.values[i]
                assert tag.low <= v <= tag.high
        if res.accepted:
            for i, tag in enumerate(TAGS):
                s = frame.samples.get(tag.name)
                if s is None:
                    assert res.flags[i] & QualityFlag.MISSING
                    continue
                raw = s.value
                numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
                if not numeric or not math.isfinite(float(raw)):
                    is_num_str = isinstance(raw, str) and _is_float(raw)
                    if not is_num_str:
                        assert res.flags[i] & QualityFlag.INVALID
    assert gate.frames_seen == len(stream)
    assert gate.frames_rejected == _oracle_rejected([f.time for f in stream])
    counted = {k: v for k, v in gate.counts.items() if k[1] != "UNKNOWN_TAG"}
    assert counted == tally
    dims = gate.dimension_counts()
    assert set(dims) == set(DIMENSIONS)
    assert sum(dims.values()) == sum(tally.values())


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def test_each_dimension_is_flagged():
    gate = QualityGate(TAGS, period=10.0)
    ok = {"T": Sample("T", 350.0, 0.0, "K"), "F": Sample("F", 0.002, 0.0, "m3/s"), "P": Sample("P", 2.0, 0.0, "bar")}
    assert gate.check(Frame(0.0, ok)).flags.tolist() == [0, 0, 0]
    # unit conversion: degC -> K, m3/h -> m3/s, Pa -> bar
    r = gate.check(Frame(10.0, {"T": Sample("T", 76.85, 10.0, "degC"), "F": Sample("F", 3.6, 10.0, "m3/h"),
                                "P": Sample("P", 2e5, 10.0, "Pa")}))
    assert np.allclose(r.values, [350.0, 0.001, 2.0]) and r.flags.tolist() == [0, 0, 0]
    # validity, accuracy, consistency (unit + rate), completeness
    r = gate.check(Frame(20.0, {"T": Sample("T", 900.0, 20.0, "K"), "F": Sample("F", "abc", 20.0),
                                "P": Sample("P", 2.0, 20.0, "kg")}))
    assert r.flags[0] & QualityFlag.OUT_OF_RANGE
    assert r.flags[1] & QualityFlag.INVALID
    assert r.flags[2] & QualityFlag.UNIT_MISMATCH
    r = gate.check(Frame(30.0, {"T": Sample("T", 400.0, 30.0, "K")}))  # 50 K in 10 s > 2 K/s
    assert r.flags[0] & QualityFlag.INCONSISTENT
    assert r.flags[1] & QualityFlag.MISSING and r.flags[2] & QualityFlag.MISSING
    # uniqueness and order
    assert not gate.check(Frame(30.0, ok)).accepted
    assert not gate.check(Frame(25.0, ok)).accepted
    # timeliness: late sample, gap
    r = gate.check(Frame(70.0, {"P": Sample("P", 2.0, 60.0, "bar")}))
    assert r.flags[2] & QualityFlag.LATE and r.gap == 30.0 and r.flags[2] & QualityFlag.GAP
    dims = gate.dimension_counts()
    assert all(dims[d] > 0 for d in DIMENSIONS), dims


def test_frozen_value_is_stale():
    gate = QualityGate([GateTag("T", "K", stale_after=3)], period=1.0)
    flags = [int(gate.check(Frame(float(k), {"T": Sample("T", 350.0, float(k), "K")})).flags[0]) for k in range(6)]
    assert [bool(f & QualityFlag.STALE) for f in flags] == [False, False, False, True, True, True]
    r = gate.check(Frame(6.0, {"T": Sample("T", 350.1, 6.0, "K")}))
    assert not r.flags[0] & QualityFlag.STALE
