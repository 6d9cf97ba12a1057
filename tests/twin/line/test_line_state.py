"""State reconstruction from the published tags against the emulator's exact model state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _line import binding, model, plant
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.line import parse_distribution
from twin.line import LineState, Observation, residual, sample_snapshot


def test_snapshot_matches_the_emulated_line_at_every_sample():
    sc = model()
    p = plant(seed=5, duration=5400.0)
    state = LineState(binding(), sc)
    checked = 0
    for _, values in p.frames():
        state.update(values["line.clock"], values)
        if int(values["line.clock"]) % 300:
            continue
        exact = p.snapshot()
        mine = state.snapshot()
        assert mine.time == exact.time
        for name in ("kitting", "press", "test", "pack"):
            exact_buf = exact.buffers.get(name, [])
            assert mine.buffers.get(name, 0) == sum(w.count for w in exact_buf), (name, mine.time)
            e, m = exact.stations[name][0], mine.stations[name][0]
            assert m.state == e.state, (name, mine.time, m, e)
            if e.state in ("busy", "down", "blocked"):
                assert m.product == e.product
        checked += 1
    assert checked >= 15
    assert state.shipped == p.values["line.shipped"]


def test_observed_cycle_times_follow_the_model():
    """Cycle times read from the tags are draws of the model's distribution (KS, α = 0.001)."""
    from scipy import stats

    sc = model()
    p = plant(seed=8, duration=4 * 3600.0)
    state = LineState(binding(), sc)
    obs: list[Observation] = []
    for _, values in p.frames():
        obs += state.update(values["line.clock"], values)
    for name in ("kitting", "press", "pack"):
        x = [o.value for o in obs if o.station == name and o.parameter == "process_time"]
        assert len(x) > 150
        assert stats.kstest(x, sc.station(name).process_time.frozen.cdf).pvalue > 1e-3
    # processed counts add up to the counters
    for name in ("kitting", "press", "test", "pack"):
        n = sum(o.value for o in obs if o.station == name and o.parameter == "processed")
        assert n == p.values[f"{name}.cycles"]


def test_resync_observes_no_duration_across_the_gap():
    sc = model()
    state = LineState(binding(), sc)
    base = {"press.state": 1.0, "press.cycles": 3.0, "line.shipped": 0.0}
    state.update(0.0, base)
    state.update(5.0, {**base, "press.state": 4.0})  # goes down
    obs = state.update(600.0, {**base, "press.state": 1.0, "press.cycles": 9.0}, resync=True)
    assert not [o for o in obs if o.parameter in ("down", "process_time")]
    assert sum(o.value for o in obs if o.parameter == "processed") == 6
    assert not state.stations["press"].machines[0].since_known


def test_residual_is_conditional_on_age():
    d = parse_distribution("lognormal(mean=60 s, cv=0.15)", "s")
    f = d.frozen
    rng = np.random.default_rng(1)
    a = 55.0
    r = np.array([residual(d, a, rng) for _ in range(4000)])
    # E[T - a | T > a] by numerical integration of the survival function
    ts = np.linspace(a, 200, 20001)
    expect = np.trapezoid(f.sf(ts), ts) / f.sf(a)
    assert r.mean() == pytest.approx(expect, rel=0.03)
    med = residual(d, a, None)
    assert f.cdf(a + med) == pytest.approx(f.cdf(a) + 0.5 * f.sf(a), abs=1e-9)
    c = parse_distribution("30 s", "s")
    assert residual(c, 10.0, None) == 20.0 and residual(c, 40.0, None) == 0.0


@settings(max_examples=60, deadline=None)
@given(age=st.one_of(st.none(), st.floats(0, 1e5)), u=st.integers(0, 2**31))
def test_residual_is_never_negative(age, u):
    for spec in ("exponential(mean=3 h)", "gamma(a=16, scale=3.25 s)", "triangular(min=1 s, mode=2 s, max=4 s)"):
        d = parse_distribution(spec, "s")
        r = residual(d, age, np.random.default_rng(u))
        assert r >= 0 and math.isfinite(r)


def test_sample_snapshot_clips_buffers_and_handles_down_without_failures():
    sc = model()
    tpl = {"time": 100.0, "buffers": {"kitting": 99},
           "machines": {"test": [{"state": "down", "elapsed": 10.0, "work_done": 3.0, "product": "A"}],
                        "press": [{"state": "down", "elapsed": 10.0, "work_done": 3.0, "product": "A"}]}}
    snap = sample_snapshot(tpl, sc, np.random.default_rng(0))
    assert snap.buffers["kitting"] == 4
    assert snap.stations["test"][0].state == "busy"  # the model of 'test' knows no failures
    assert snap.stations["press"][0].state == "down" and snap.stations["press"][0].repair_remaining > 0
