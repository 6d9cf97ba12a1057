"""Forecasts: order-statistic intervals, reproducibility on any executor, the forecast
history in the trace with actual output and error filled in at the end of the shift."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _line import binding, follow, model, plant

from twin import open_trace
from twin.line import LineState, LineTwin, forecast_shift, prediction_interval
from workbench.dataset import validate_dataset


def test_prediction_interval_order_statistics():
    x = np.arange(1, 40)  # 39 values
    lo, hi, cov = prediction_interval(x[::-1], 0.9)
    assert (lo, hi) == (2, 38) and cov == pytest.approx(0.9)
    lo, hi, cov = prediction_interval(np.arange(19), 0.9)
    assert (lo, hi) == (0, 18) and cov == pytest.approx(0.9)
    # empirical check: a fresh draw falls inside with probability (n+1-2k)/(n+1)
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(4000):
        s = rng.gamma(2.0, size=40)
        lo, hi, _ = prediction_interval(s[:39], 0.9)
        hits += lo <= s[39] <= hi
    assert hits / 4000 == pytest.approx(0.9, abs=0.015)


def test_same_seed_same_forecast_on_any_executor():
    sc = model()
    p = plant(seed=4, duration=3600.0)
    state = LineState(binding(), sc)
    for _, v in p.frames(until=1800.0):
        state.update(v["line.clock"], v)
    kw = dict(shift_end=3600.0, shipped_so_far=state.shipped, replications=8, seed=11)
    a = forecast_shift(sc, state.template(), **kw)
    b = forecast_shift(sc, state.template(), executor="processes:2", **kw)
    np.testing.assert_array_equal(a.totals, b.totals)
    assert a.expected_bottleneck == "press"
    assert sum(a.bottleneck.values()) == pytest.approx(1.0)
    assert all(0 < v <= 1 for v in a.oee.values())
    with pytest.raises(Exception, match="already ended"):
        forecast_shift(sc, state.template(), shift_end=1000.0)


def test_twin_records_forecast_history_with_actuals(tmp_path):
    b = binding(shift=binding().shift.model_copy(update={"length": 3600.0}),
                forecast=binding().forecast.model_copy(update={"every": 1200.0, "replications": 9}))
    p = plant(seed=6, duration=7200.0 + 5.0)
    twin = LineTwin(b, scenario=model(), trace=tmp_path / "t.zarr", time_kind="elapsed")
    follow(p, twin)
    report = twin.close()
    ds = open_trace(tmp_path / "t.zarr")
    fc = open_trace(tmp_path / "t.zarr", group="forecast")
    events, snaps = json.loads(ds.attrs["alarm_events"]), json.loads(ds.attrs["snapshots"])
    assert ds.wb.kind == "line-twin-trace" and fc.wb.kind == "line-forecast"
    assert ds.sizes["time"] == report.samples == 1442
    assert fc.sizes["time"] == len(report.forecasts) >= 6
    validate_dataset(fc, extra_dims=("replication",))
    first_shift = fc["shift_end"].values == 3600.0
    # actual of shift 1 = shipped counter at 1 h; error = median - actual
    shipped = ds["value"].sel(source="real", tag="line.shipped").values
    t = ds["time"].values
    actual = shipped[np.flatnonzero(t >= 3600.0)[0]]
    assert np.all(fc["actual"].values[first_shift] == actual)
    np.testing.assert_allclose(fc["error"].values[first_shift], fc["median"].values[first_shift] - actual)
    assert len([s for s in snaps if s["reason"] == "forecast"]) == len(report.forecasts)
    assert events == []
    # virtual side: the model's mean cycle time on the cycle-time tags
    assert ds["value"].sel(source="virtual", tag="press.cycle_time").values[0] == pytest.approx(60.0)
