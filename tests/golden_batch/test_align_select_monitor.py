"""Aligner, golden-batch selection, the golden model, on-line sessions and persistence."""

from __future__ import annotations

import numpy as np
import pytest

import golden_batch as gb
from workbench.dataset import validate_dataset
from workbench.errors import ConfigError, DatasetError


@pytest.fixture(scope="module")
def history():
    return gb.make_synthetic_history(50, seed=3, faults={"cooling": 3})


@pytest.fixture(scope="module")
def model(history):
    return gb.GoldenBatchModel(select="yield >= 0.9 and impurity < 0.02", alignment="elapsed",
                               n_points=100).fit(history.isel(batch=slice(0, 50)))


def test_elapsed_alignment_is_interpolation():
    t = np.array([[0, 60, 120, 180.0], [0, 50, 100, np.nan]])
    ds = gb.make_batch_set({"x": 2 * t + 1}, t)
    out = gb.Aligner("elapsed", n_points=5).fit_transform(ds)
    grid = out["time"].values
    np.testing.assert_allclose(out["x"].values[0], 2 * grid + 1)
    np.testing.assert_allclose(out["x"].values[1], 2 * np.minimum(grid, 100) + 1)  # held after the end


def test_dtw_per_phase_and_roundtrip(history):
    ds = gb.segment_phases(history.isel(batch=slice(0, 6)),
                           rules=[("start", "elapsed >= 0"), ("feed", "feed_rate > 2e-5")])
    al = gb.Aligner("dtw", band=0.3).fit(ds)
    out = al.transform(ds)
    assert not np.isnan(out["temperature"].values).any()
    back = gb.Aligner.from_dataset(al.to_dataset())
    np.testing.assert_allclose(back.grid_, al.grid_)
    np.testing.assert_allclose(back.reference_values_, al.reference_values_)


def test_selection_report(history):
    al = gb.Aligner("elapsed", n_points=60).fit_transform(history)
    sel = gb.select_golden(al, "yield >= 0.9 and impurity < 0.02")
    tab = sel.table
    assert set(sel.selected) == set(tab.index[tab["selected"]])
    failing = tab[~tab["meets_spec"]]
    assert len(failing) > 0 and all(r.startswith("fails") for r in failing["reason"])
    # the faulty batches (yield penalty 0.04) fail the spec or are excluded
    assert not any(b in sel.selected for b in history["batch"].values[50:])
    with pytest.raises(ConfigError, match="did you mean 'yield'"):
        gb.select_golden(al, "yeld > 0.9")


def test_selection_finds_two_operating_modes():
    a = gb.make_synthetic_history(40, seed=5)
    b = gb.make_synthetic_history(25, seed=6)
    b = b.assign(temperature=b["temperature"] + 8.0, jacket_temperature=b["jacket_temperature"] + 8.0)
    b = b.assign_coords(batch=[f"M{i:03d}" for i in range(25)])
    import xarray as xr

    both = xr.concat([a, b], dim="batch", join="outer")
    al = gb.Aligner("elapsed", n_points=60).fit_transform(both)
    sel = gb.select_golden(al, None, alpha=None, max_modes=3)
    assert sel.n_modes == 2
    # the larger mode is golden; the mixture may misassign a few batches near the boundary
    from_a = sum(s.startswith("B") for s in sel.selected)
    assert from_a >= 0.9 * len(sel.selected) and from_a >= 36


def test_model_check_and_persistence(model, history, tmp_path):
    res = model.check(history)
    faulty = res.isel(batch=slice(50, None))
    assert not faulty["in_control"].any()
    path = model.save(tmp_path / "env.nc")
    validate_dataset(model.to_dataset(), extra_dims=gb._monitor.EXTRA_DIMS)
    back = gb.GoldenBatchModel.load(path)
    res2 = back.check(history)
    np.testing.assert_allclose(res2["t2"].values, res["t2"].values, rtol=1e-12)
    np.testing.assert_allclose(res2["predicted_yield"].values, res["predicted_yield"].values, rtol=1e-12)
    assert back.selection_.selected == model.selection_.selected
    with pytest.raises(DatasetError, match="not a golden-batch model"):
        gb.GoldenBatchModel.from_dataset(history)


def test_session_matches_vectorised_monitor(model, history):
    """Sample by sample on the grid gives the same T², SPE and predictions as monitor_aligned."""
    raw = history.isel(batch=[50])
    aligned = model.align(raw)
    mon = model.monitor_aligned(aligned)
    s = model.start()
    t = aligned["time"].values
    for k in range(t.size):
        out = s.update(float(t[k]), {v: float(aligned[v].values[0, k]) for v in model.aligner_.variables_})
        assert out.index == k
        assert out.t2 == pytest.approx(float(mon.online_t2.values[0, k]), rel=1e-8)
        assert out.spe == pytest.approx(float(mon.online_spe.values[0, k]), rel=1e-8, abs=1e-10)
        assert out.predicted_quality["yield"] == pytest.approx(float(mon.predicted_yield.values[0, k]), rel=1e-9)
        contrib = sum(out.spe_contribution.values())
        assert contrib == pytest.approx(out.spe, rel=1e-9)
    assert s.to_dataset().sizes["sample"] == t.size


def test_quality_prediction_improves_with_data(model, history):
    test = gb.make_synthetic_history(40, seed=99)
    aligned = model.align(test)
    y = test["yield"].values
    q = model.quality_model_
    rmse_mean = np.sqrt(np.mean((y - q.y_mean_[0]) ** 2))
    rmse_end = np.sqrt(np.mean((q.predict(aligned)[:, 0] - y) ** 2))
    rmse_half = np.sqrt(np.mean((q.predict(aligned, upto=50)[:, 0] - y) ** 2))
    assert rmse_end < 0.85 * rmse_mean
    assert rmse_half < rmse_mean


def test_violation_of_golden_and_faulty(model, history):
    golden = model.align(history.sel(batch=[model.selection_.selected[0]]))
    faulty = model.align(history.isel(batch=[52]))
    names = model.variables_
    assert model.violation(golden[names].isel(batch=0)) < 0.05
    assert model.violation(faulty[names].isel(batch=0)) > 0.1


def test_config_kind(tmp_path):
    from workbench.config import load_config

    p = tmp_path / "g.yaml"
    p.write_text("kind: golden-build\nselect: 'yield >= 0.9'\nalignment: elapsed\nn_components: 3\n")
    cfg = load_config(p, gb.GoldenBuildConfig)
    m = cfg.model()
    assert m.alignment == "elapsed" and m.n_components == 3 and isinstance(m.n_components, int)
    p.write_text("kind: golden-build\nselect: 'yield >= '\n")
    with pytest.raises(ConfigError):
        load_config(p, gb.GoldenBuildConfig)
    p.write_text("kind: golden-build\nalignment: warp\n")
    with pytest.raises(ConfigError):
        load_config(p, gb.GoldenBuildConfig)


def test_demo_tour(tmp_path):
    from twin_app.tours.golden import demo_tour

    paths = demo_tour(tmp_path)
    assert [p.name for p in paths] == ["golden_history.nc", "golden_envelope.nc", "golden_check.csv"]
    import pandas as pd

    table = pd.read_csv(paths[2])
    faulty = table[table["fault"].fillna("") != ""]
    assert (~faulty["in_control"] | ~faulty["in_envelope"]).all()
