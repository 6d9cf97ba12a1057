"""The twin loop on the reactor FMU: model adapter, replay, trace, sync, look-ahead, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _reactor import binding as make_binding
from _reactor import need_fmu, plant

from twin import FmuStepper, Twin, lookahead, open_trace
from twin.emulator import PlantEmulator
from twin.sources import MemorySource, ReplaySource


def test_me_rk4_matches_cs_solver():
    fmu = need_fmu()
    kw = dict(inputs=["F_B", "F_cool", "T_cool_in"], outputs=["T", "T_jacket", "V", "yield_C"],
              parameters={"controller_enabled": False})
    cs, me = FmuStepper(fmu, mode="cs", **kw), FmuStepper(fmu, mode="me", me_step=2.5, **kw)
    u = np.array([6e-5, 2e-3, 330.0])
    worst = np.zeros(4)
    for _ in range(360):  # 1 h in 10 s steps
        worst = np.maximum(worst, np.abs(cs.step(u, 10.0) - me.step(u, 10.0)))
    # RK4 at 2.5 s vs the FMU's error-controlled solver (rtol 1e-7)
    assert worst[0] < 1e-3 and worst[1] < 1e-3 and worst[2] < 1e-6 and worst[3] < 1e-5, worst
    cs.close()
    me.close()


def _history(tmp_path, hours=1.0, **plant_overrides):
    sc = plant(duration=f"{hours} h", **plant_overrides)
    emu = PlantEmulator(sc)
    rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in emu.frames()]
    path = tmp_path / "history.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path, emu


@pytest.mark.parametrize("sync", ["ekf", "reset"])
def test_replay_writes_trace_and_twin_follows_clean_plant(tmp_path, sync):
    path, _ = _history(tmp_path, hours=1.0)
    b = make_binding(tmp_path, **{"sync.method": sync})
    twin = Twin(b, trace=tmp_path / "t.zarr")
    report = twin.run(ReplaySource(path, units={t.tag: t.unit for t in b.tags}))
    report = twin.close()
    assert report.samples == 361 and report.rejected == 0 and not report.events
    # the EKF corrects the states at every sample, the reset every 10 min
    assert report.syncs >= (360 if sync == "ekf" else 5)
    ds = open_trace(tmp_path / "t.zarr")
    assert ds.sizes["time"] == 361
    res = ds["residual"].sel(tag="TI_reactor").values[1:]
    # clean plant, same parameters: residual is measurement noise (σ = 0.05 K) plus input noise effects
    assert np.nanstd(res) < 0.1 and abs(np.nanmean(res)) < 0.03
    assert ds["quality"].values.max() == 0


def test_bad_samples_are_flagged_not_fatal(tmp_path):
    sc = plant(duration="20 min")
    frames = list(PlantEmulator(sc).frames())
    frames[10].samples["TI_reactor"] = frames[10].samples["TI_reactor"].__class__("TI_reactor", "NaN?", frames[10].time, "degC")
    frames.insert(20, frames[19])  # duplicate time
    del frames[30:33]  # gap
    b = make_binding(tmp_path)
    twin = Twin(b, trace=tmp_path / "q.zarr")
    twin.run(MemorySource(frames))
    report = twin.close()
    assert report.rejected == 1 and len(report.gaps) == 1
    dims = report.quality["dimensions"]
    assert dims["validity"] >= 1 and dims["uniqueness"] >= 1 and dims["completeness"] >= 1
    ds = open_trace(tmp_path / "q.zarr")
    assert np.isnan(ds["value"].sel(source="real", tag="TI_reactor").values[10])
    assert ds["gap"].values.max() == pytest.approx(30.0)


def test_lookahead_is_consistent_and_restores_state(tmp_path):
    sc = plant(duration="1 h")
    b = make_binding(tmp_path, **{"sync.method": "none"})
    twin = Twin(b)
    twin.run(MemorySource(PlantEmulator(sc).frames()))
    t_now = twin.batch_time
    y_now = twin.model.read()
    det = lookahead(twin.model, until=t_now + 1800, outputs=["T", "yield_C"], dt=10.0)
    # the same continuation by hand
    u = twin.model._u.copy()
    snap = twin.snapshot()
    by_hand = [twin.model.step(u, 10.0) for _ in range(180)]
    twin.model.set_state(snap)
    twin.model.free_state(snap)
    assert det.dataset["T"].values[0, -1] == pytest.approx(by_hand[-1][0], abs=1e-9)
    assert twin.batch_time == t_now and np.allclose(twin.model.read(), y_now)
    mc = lookahead(twin.model, until=8 * 3600, outputs=["yield_C", "T"], dt=60.0, parameters=["U"],
                   mean=[400.0], covariance=np.array([[40.0**2]]), n=12, seed=3)
    s = mc.summary["yield_C"]
    assert s["final_std"] > 0 and 0 < s["final_mean"] < 1
    assert mc.dataset.sizes["replication"] == 12 and "param_U" in mc.dataset
    assert twin.batch_time == t_now and np.allclose(twin.model.read(), y_now)
    lines = mc.describe()
    assert any("yield_C" in line for line in lines) and any(" K;" in line for line in lines)  # T has its unit
    assert not any(re.search(r"\d 1(;|$)", line) for line in lines), lines  # yield_C: never the unit "1"
