"""``lookahead:`` in the binding: every N plant minutes the twin projects the rest of the batch and judges it
against the golden envelope; probabilities in the trace, alarms in the alarm log."""

from __future__ import annotations

import numpy as np
import pytest
from _golden_case import build_model, golden_binding, running_batch, write_replay

from twin import Twin, open_trace
from twin.sources import ReplaySource
from workbench.errors import ConfigError


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("lookahead")
    build_model(d / "narrow.nc", k=3.0)
    build_model(d / "wide.nc", k=1e6)  # a band no projection leaves
    csv = d / "batch.csv"
    write_replay(csv, *running_batch(seed=5))
    return d, csv


def _run(tmp_path, model, csv, lookahead, on_step=None, **overrides):
    b = golden_binding(tmp_path, model, lookahead=lookahead, **overrides)
    twin = Twin(b, trace=tmp_path / "t.zarr", overwrite=True)
    twin.run(ReplaySource(csv, units={t.tag: t.unit for t in b.tags}), on_step=on_step)
    report = twin.close()
    return twin, report, open_trace(tmp_path / "t.zarr")


def test_projections_every_n_plant_minutes_and_the_envelope_judgement(models, tmp_path):
    d, csv = models
    seen = []

    def check(step):  # at a projection: its first projected point is the twin's state (tag → model units)
        la = twin_box[0].addons.lookahead
        if la.projection is not None and la.projection[0][0] == twin_box[0].model.time and step.time not in seen:
            seen.append(step.time)
            times, x = la.projection
            i = twin_box[0].tags.index("TI_reactor")
            np.testing.assert_allclose(x[0, 0, 0], step.virtual[i] + 273.15, rtol=1e-12)

    twin_box = []
    b = golden_binding(tmp_path, d / "narrow.nc", lookahead={"every_min": 10, "replications": 1})
    twin = Twin(b, trace=tmp_path / "t.zarr")
    twin_box.append(twin)
    twin.run(ReplaySource(csv, units={t.tag: t.unit for t in b.tags}), on_step=check)
    report = twin.close()
    ds = open_trace(tmp_path / "t.zarr")
    p = ds["lookahead_p_leave"].values
    t = ds["time"].values
    done = t[np.isfinite(p)]
    assert list(done) == [600.0, 1200.0, 1800.0] and seen == list(done)
    assert set(p[np.isfinite(p)]) <= {0.0, 1.0}  # one deterministic run
    assert twin.addons.lookahead.variables == ["temperature", "jacket_temperature"]  # FI_feed is an input: held
    # the twin (held inputs, no controller) is far below the synthetic batch's temperatures: every projection
    # leaves the band at its first projected sample, one step (dt = 60 s) after the start
    assert list(p[np.isfinite(p)]) == [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(ds["lookahead_time_to_violation"].values[np.isfinite(p)], [60.0, 60.0, 60.0])
    la = [e for e in report.events if e.kind.startswith("lookahead-")]
    assert [(e.kind, e.tag, e.start, e.end, e.magnitude) for e in la] == [
        ("lookahead-envelope", "TI_reactor", 600.0, float(t[-1]), 1.0)]


def test_wide_envelope_is_never_left(models, tmp_path):
    d, csv = models
    _, report, ds = _run(tmp_path, d / "wide.nc", csv, {"every_min": 10, "replications": 4, "std": {"U": 50.0}})
    p = ds["lookahead_p_leave"].values
    assert (p[np.isfinite(p)] == 0.0).all() and np.isfinite(p).sum() == 3
    assert np.isnan(ds["lookahead_time_to_violation"].values).all()
    assert not [e for e in report.events if e.kind.startswith("lookahead-")]


@pytest.fixture(scope="module")
def plant_model(tmp_path_factory):
    """A golden model of emulated plant batches (tags as variables: a bare model path) and a new batch."""
    import pandas as pd
    from _reactor import PLANT_YAML, need_fmu

    import golden_batch as gb
    from twin.emulator import PlantEmulator, load_plant_scenario

    def batch(seed):
        sc = load_plant_scenario(PLANT_YAML, overrides={"fmu": str(need_fmu()), "duration": "30 min", "faults": [],
                                                        "drift": [], "seed": seed})
        return pd.DataFrame([{"time": f.time, **{k: s.value for k, s in f.samples.items()}}
                             for f in PlantEmulator(sc).frames()])

    d = tmp_path_factory.mktemp("lookahead_plant")
    frames = [batch(s) for s in range(1, 11)]
    tags = ["TI_reactor", "TI_jacket"]
    history = gb.make_batch_set({t: np.stack([f[t].values for f in frames]) for t in tags}, frames[0]["time"].values,
                                units={t: "degC" for t in tags})
    n = len(frames[0])  # one grid point per sample
    gb.GoldenBatchModel(None, aligner=gb.Aligner("elapsed", n_points=n), mpca=gb.BatchPCA(2)).fit(history).save(
        d / "plant.nc")
    batch(50).to_csv(d / "batch.csv", index=False)
    return d


def test_seeded_monte_carlo_repeats_and_spec_probability(plant_model, tmp_path):
    d = plant_model
    la = {"every_min": 10, "replications": 12, "std": {"U": 100.0}, "seed": 4,
          "quality": {"volume": {"variable": "V", "high": 1.0}}}
    from _reactor import binding as make_binding

    def run(sub, **kw):
        b = make_binding(tmp_path / sub, golden=str(d / "plant.nc"), lookahead={**la, **kw}, **{"sync.method": "none"})
        twin = Twin(b, trace=tmp_path / sub / "t.zarr")
        twin.run(ReplaySource(d / "batch.csv", units={t.tag: t.unit for t in b.tags}))
        return twin.close(), open_trace(tmp_path / sub / "t.zarr")

    (r1, a), (r2, b), (_, c) = run("a"), run("b"), run("c", seed=5)
    names = ("lookahead_p_leave", "lookahead_time_to_violation", "lookahead_p_miss_volume")
    for v in names:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert np.isfinite(a["lookahead_p_leave"].values).sum() == 2  # 10 and 20 min (30 min is the end)
    ttv, ttv_other = a[names[1]].values, c[names[1]].values
    assert not np.array_equal(ttv[np.isfinite(ttv)], ttv_other[np.isfinite(ttv_other)])  # the draws matter
    miss = a[names[2]].values
    m = miss[np.isfinite(miss)]
    assert len(m) == 2 and ((m >= 0) & (m <= 1)).all() and np.allclose(m * 12, np.round(m * 12))  # share of 12 runs
    assert [(e.start, e.kind, e.tag) for e in r1.events] == [(e.start, e.kind, e.tag) for e in r2.events]


def test_lookahead_needs_golden_and_known_parameters(models, tmp_path):
    d, _ = models
    from _reactor import binding as make_binding

    with pytest.raises(ConfigError, match="lookahead needs a golden-batch model"):
        make_binding(tmp_path, lookahead={"every_min": 5})
    with pytest.raises(ConfigError, match=r"lookahead\.std\.UA: lookahead\.std names 'UA', which is not a parameter"):
        Twin(golden_binding(tmp_path, d / "narrow.nc", lookahead={"std": {"UA": 1.0}}))
    with pytest.raises(ConfigError, match=r"quality spec 'y' must be"):
        golden_binding(tmp_path, d / "narrow.nc", lookahead={"quality": {"y": {"variable": "V"}}})


def test_latest_projection_is_written_as_a_fan_beside_the_trace(models, tmp_path):
    import xarray as xr

    from twin import FAN_QUANTILES

    d, csv = models
    twin, _, ds = _run(tmp_path, d / "narrow.nc", csv, {"every_min": 10, "replications": 5, "std": {"U": 80.0}})
    la = twin.addons.lookahead
    times, x = la.projection  # the last projection (20 ... 30 min)
    with xr.open_dataset(tmp_path / "t.zarr" / "projection.nc") as fan:
        assert list(fan["quantile"].values) == list(FAN_QUANTILES)
        np.testing.assert_array_equal(fan["time"].values, times)
        for j, v in enumerate(la.variables):
            np.testing.assert_allclose(fan[v].values, np.quantile(x[:, :, j], FAN_QUANTILES, axis=0), rtol=1e-12)
            assert fan[v].attrs["units"] == "K"
        p = ds["lookahead_p_leave"].values
        last = np.flatnonzero(np.isfinite(p))[-1]
        assert fan.attrs["p_leave"] == p[last] and fan.attrs["made_at"] == ds["time"].values[last]
        assert fan.attrs["replications"] == 5 and fan.attrs["start"] == times[0]
    assert not list((tmp_path / "t.zarr").glob("*.partial"))
