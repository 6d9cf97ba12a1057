"""The block path of max-speed replay gives exactly what the per-frame path gives.

`Twin.run(ReplaySource(..., speed="max"))` processes clean stretches of a wide
historian file in blocks (vectorised gate and detectors, C-stepped FMU); every
frame the block path cannot take (duplicate / out-of-order / NaN times, warm-up,
first frame) goes through :meth:`Twin.process`. These tests replay the same
files through both paths (``twin.block_path = False`` forces per-frame) and
require bit-identical traces, alarm events, quality counts and reports.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _reactor import PLANT_YAML, need_fmu
from _reactor import binding as make_binding

from twin import Twin, open_trace
from twin.emulator import PlantEmulator, load_plant_scenario
from twin.sources import ReplaySource

FAULTS = [
    {"kind": "bias", "tag": "TI_reactor", "at": "30 min", "until": "60 min", "value": 0.5},
    {"kind": "stuck", "tag": "TI_jacket", "at": "70 min", "until": "80 min"},
    {"kind": "dropout", "tag": "FI_feed", "at": "90 min", "until": "100 min"},
]


def _history(tmp_path, messy: bool) -> tuple:
    sc = load_plant_scenario(PLANT_YAML, overrides={"fmu": str(need_fmu()), "duration": "2.5 h", "faults": FAULTS})
    rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in PlantEmulator(sc).frames()]
    df = pd.DataFrame(rows)
    units = None
    if messy:
        df["TI_jacket"] = df["TI_jacket"] + 273.15  # reported in K, bound in degC: converted by the gate
        df["XX_unknown"] = 1.0  # a column the binding does not know
        df = df.astype({"FI_cool": object})
        df.loc[40, "FI_cool"] = "bad"  # non-numeric value: object column
        df.loc[50, "TI_reactor"] = 400.0  # out of range
        df.loc[60, "LI_volume"] = np.nan
        df = pd.concat([df.iloc[:100], df.iloc[[99]], df.iloc[100:]])  # duplicate time
        df = pd.concat([df.iloc[:200], df.iloc[[150]], df.iloc[200:]])  # out of order
        df = df.drop(df.index[300:310])  # a gap of 10 samples
        nan_row = df.iloc[[400]].copy()
        nan_row["time"] = np.nan
        df = pd.concat([df.iloc[:400], nan_row, df.iloc[400:]])  # NaN time
        units = {"TI_jacket": "K"}
    path = tmp_path / "history.csv"
    df.to_csv(path, index=False)
    return path, units


def _run(tmp_path, name, binding, path, units, block, warmup=False, **run_kw):
    twin = Twin(binding, trace=tmp_path / f"{name}.zarr", overwrite=True)  # runs reuse names
    twin.block_path = block
    if warmup:  # σ of the first tag unknown: estimated from the first `warmup` residuals
        twin.detector.sigma[0] = np.nan
        twin.detector._all_ready = False
    calls = []
    if block:
        orig = twin._process_block
        twin._process_block = lambda *a: (calls.append(len(a[0])), orig(*a))[1]
    src = ReplaySource(path, units={**{t.tag: t.unit for t in binding.tags}, **(units or {})})
    progress = []
    twin.run(src, on_progress=progress.append, **run_kw)
    report = twin.close()
    assert sum(progress) == report.samples + report.rejected  # every frame reported once
    ds = open_trace(tmp_path / f"{name}.zarr")
    events = (tmp_path / f"{name}.zarr" / "events.jsonl").read_text()
    d = report.as_dict()
    for key in ("wall_time_s", "samples_per_s", "trace"):
        d.pop(key)
    return ds, events, d, twin, sum(calls)


@pytest.mark.parametrize(("messy", "method", "warmup"),
                         [(False, "cusum", False), (True, "cusum", False), (True, "ewma", True)])
def test_block_path_equals_frame_path(tmp_path, messy, method, warmup):
    path, units = _history(tmp_path, messy)
    b = make_binding(tmp_path, **{"sync.method": "none", "detection.method": method})
    ds_f, ev_f, rep_f, tw_f, _ = _run(tmp_path, "frame", b, path, units, block=False, warmup=warmup)
    ds_b, ev_b, rep_b, tw_b, n_block = _run(tmp_path, "block", b, path, units, block=True, warmup=warmup)
    assert n_block > 0.9 * rep_f["samples"]  # the block path really ran
    for name in ("value", "residual", "statistic", "alarm", "quality", "gap", "time"):
        a, c = ds_f[name].values, ds_b[name].values
        assert a.dtype == c.dtype and a.shape == c.shape, name
        assert np.array_equal(a, c, equal_nan=a.dtype.kind == "f"), name
    assert rep_b == rep_f
    assert ev_b == ev_f
    assert rep_f["events"], "the faults must raise alarms, or the comparison of events is empty"
    if messy:
        q = rep_f["quality"]
        assert q["frames_rejected"] == 3 and q["tags"]["XX_unknown"]["UNKNOWN_TAG"] > 0
        assert q["tags"]["FI_cool"]["INVALID"] >= 1 and q["tags"]["TI_reactor"]["OUT_OF_RANGE"] >= 1
        assert rep_f["gaps"]
    assert dict(tw_b.gate.counts) == dict(tw_f.gate.counts)
    for attr in ("z", "c_plus", "c_minus", "n_samples", "sigma"):
        assert np.array_equal(getattr(tw_b.detector, attr), getattr(tw_f.detector, attr)), attr
    assert np.array_equal(tw_b._u, tw_f._u) and tw_b.model.time == tw_f.model.time
    assert np.array_equal(tw_b.model.read(), tw_f.model.read())
    assert [vars(s) for s in tw_b.gate._state] == [vars(s) for s in tw_f.gate._state]


def test_block_path_respects_until_and_max_frames(tmp_path):
    path, units = _history(tmp_path, messy=True)
    b = make_binding(tmp_path, **{"sync.method": "none"})
    for kw in ({"until": 3000.0}, {"max_frames": 250}):
        ds_f, ev_f, rep_f, _, _ = _run(tmp_path, "f", b, path, units, block=False, **kw)
        ds_b, ev_b, rep_b, _, _ = _run(tmp_path, "b", b, path, units, block=True, **kw)
        assert rep_b == rep_f and ev_b == ev_f, kw
        assert np.array_equal(ds_f["residual"].values, ds_b["residual"].values, equal_nan=True), kw
        assert ds_f.sizes["time"] < 900


def test_block_path_events_are_logged_in_order(tmp_path):
    path, units = _history(tmp_path, messy=False)
    b = make_binding(tmp_path, **{"sync.method": "none"})
    _, events, rep, _, _ = _run(tmp_path, "b", b, path, units, block=True)
    records = [json.loads(line) for line in events.splitlines()]
    starts = [r for r in records if r["end"] is None]
    ends = [r for r in records if r["end"] is not None]
    assert starts and len(starts) == len(rep["events"])
    key = lambda r: (r["tag"], r["kind"], r["start"])  # noqa: E731
    assert sorted(map(key, starts)) == sorted(map(key, ends))  # every alarm logged at start and at end
    assert [r["start"] for r in starts] == sorted(r["start"] for r in starts)
