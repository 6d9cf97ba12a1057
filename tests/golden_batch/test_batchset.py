"""Reading histories (long and wide tables, NetCDF) and phase segmentation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from golden_batch import (
    make_batch_set,
    quality_variables,
    read_history,
    segment_phases,
    trajectory_variables,
)
from workbench.dataset import validate_dataset, write_netcdf
from workbench.errors import ConfigError, DatasetError


def _long_table():
    rows = []
    start = pd.Timestamp("2026-01-01T00:00:00Z")
    for b, n in (("A1", 5), ("A2", 4)):
        for i in range(n):
            ts = start + pd.Timedelta(minutes=2 * i) + pd.Timedelta(days=1 if b == "A2" else 0)
            rows.append({"batch_id": b, "timestamp": ts.isoformat(), "tag": "T", "value": 300 + i, "units": "K"})
            rows.append({"batch_id": b, "timestamp": ts.isoformat(), "tag": "F", "value": 0.1 * i, "units": "m3/s"})
        rows.append({"batch_id": b, "timestamp": "", "tag": "yield", "value": 0.9 if b == "A1" else 0.8, "units": "1"})
    return pd.DataFrame(rows)


def test_read_long_csv(tmp_path):
    path = tmp_path / "hist.csv"
    _long_table().to_csv(path, index=False)
    ds = read_history(path)
    assert list(ds["batch"].values) == ["A1", "A2"]
    assert trajectory_variables(ds) == ["F", "T"]
    assert quality_variables(ds) == ["yield"]
    np.testing.assert_allclose(ds["elapsed"].values[0], [0, 120, 240, 360, 480])
    assert np.isnan(ds["T"].values[1, 4])
    assert ds["T"].attrs["units"] == "K"
    np.testing.assert_allclose(ds["yield"].values, [0.9, 0.8])
    validate_dataset(ds)


def test_read_wide_parquet_and_netcdf(tmp_path):
    df = pd.DataFrame({"batch_id": ["b"] * 3 + ["c"] * 3, "elapsed": [0, 60, 120] * 2, "T": [1, 2, 3, 4, 5, 6.0]})
    df.to_parquet(tmp_path / "w.parquet")
    q = pd.DataFrame({"batch_id": ["b", "c"], "yield": [0.9, 0.95]})
    q.to_csv(tmp_path / "q.csv", index=False)
    ds = read_history(tmp_path / "w.parquet", quality=tmp_path / "q.csv")
    np.testing.assert_allclose(ds["T"].values, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(ds["yield"].values, [0.9, 0.95])
    write_netcdf(ds, tmp_path / "h.nc")
    back = read_history(tmp_path / "h.nc")
    np.testing.assert_allclose(back["T"].values, ds["T"].values)
    assert quality_variables(back) == ["yield"]


def test_bad_inputs(tmp_path):
    with pytest.raises(DatasetError, match="no such history file"):
        read_history(tmp_path / "missing.csv")
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DatasetError, match="batch_id"):
        read_history(tmp_path / "bad.csv")
    with pytest.raises(DatasetError, match="shape"):
        make_batch_set({"a": np.zeros((2, 3))}, np.zeros(4))


def test_segment_phases_by_rules_and_tag():
    t = np.arange(10) * 60.0
    feed = np.array([[0, 0, 0, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1, 0, 0.0]])
    ds = make_batch_set({"feed": feed}, t)
    out = segment_phases(ds, rules=[("heat-up", "elapsed >= 0"), ("feed", "feed > 0"), ("hold", "feed <= 0")])
    np.testing.assert_array_equal(out["phase"].values[0], [0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(out["phase"].values[1], [0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
    assert out["phase"].attrs["phase_names"] == "heat-up,feed,hold"
    again = segment_phases(out.rename({"phase": "step"}), tag="step")
    np.testing.assert_array_equal(again["phase"].values, out["phase"].values)
    with pytest.raises(ConfigError, match="unknown variable"):
        segment_phases(ds, rules=[("a", "elapsed >= 0"), ("b", "fed > 0")])


def test_batches_from_twin_trace():
    import xarray as xr

    from golden_batch import batches_from_trace

    t = np.datetime64("2026-01-01T00:00:00") + np.arange(10) * np.timedelta64(60, "s")
    bid = np.array(["", "b1", "b1", "b1", "", "b2", "b2", "b2", "b2", ""])
    temp = np.arange(10.0)
    trace = xr.Dataset(
        {"T": (("source", "time"), np.stack([temp, temp + 0.5]), {"units": "K", "long_name": "temperature"}),
         "batch_id": (("source", "time"), np.stack([bid, bid]))},
        coords={"time": t, "source": ["real", "virtual"]},
    )
    ds = batches_from_trace(trace, "batch_id")
    assert list(ds["batch"].values) == ["b1", "b2"]
    np.testing.assert_allclose(ds["T"].values[0, :3], [1, 2, 3])
    np.testing.assert_allclose(ds["elapsed"].values[1], [0, 60, 120, 180])
    assert ds["T"].attrs["units"] == "K"
