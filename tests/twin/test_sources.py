"""Historian replay and in-process sources: same frames from every file layout."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twin.sources import Frame, MemorySource, ReplaySource, Sample
from workbench.errors import ConfigError, DatasetError

T = np.arange(6) * 10.0
TI = 350.0 + np.arange(6)
FI = np.full(6, 0.002)


def _frames_as_tuples(src):
    return [(f.time, {k: (float(s.value), s.unit) for k, s in f.samples.items()}) for f in src.frames()]


def _expected(units=True):
    return [(t, {"TI": (ti, "K" if units else None), "FI": (fi, "m3/s" if units else None)})
            for t, ti, fi in zip(T, TI, FI, strict=True)]


def test_wide_csv_parquet_netcdf_zarr_and_long_csv_agree(tmp_path):
    wide = pd.DataFrame({"time": T, "TI": TI, "FI": FI})
    wide.to_csv(tmp_path / "w.csv", index=False)
    wide.to_parquet(tmp_path / "w.parquet")
    long = pd.DataFrame(
        [(t, tag, v, u) for t, ti, fi in zip(T, TI, FI, strict=True) for tag, v, u in (("TI", ti, "K"), ("FI", fi, "m3/s"))],
        columns=["time", "tag", "value", "unit"],
    )
    long.to_csv(tmp_path / "l.csv", index=False)
    ds = xr.Dataset({"TI": ("time", TI, {"units": "K"}), "FI": ("time", FI, {"units": "m3/s"})},
                    coords={"time": ("time", T, {"units": "s"})})
    ds.to_netcdf(tmp_path / "w.nc", engine="h5netcdf")
    ds.to_zarr(tmp_path / "w.zarr", mode="w", consolidated=False)
    units = {"TI": "K", "FI": "m3/s"}
    for name in ("w.csv", "w.parquet"):
        assert _frames_as_tuples(ReplaySource(tmp_path / name, units=units)) == _expected()
    for name in ("l.csv", "w.nc", "w.zarr"):
        assert _frames_as_tuples(ReplaySource(tmp_path / name)) == _expected(), name


def test_datetime_axis_gives_epoch_seconds(tmp_path):
    stamps = pd.date_range("2026-01-05 08:00", periods=3, freq="10s")
    pd.DataFrame({"time": stamps.astype(str), "TI": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "d.csv", index=False)
    src = ReplaySource(tmp_path / "d.csv")
    assert src.time_kind == "datetime"
    times = [f.time for f in src.frames()]
    assert times[0] == pytest.approx(pd.Timestamp("2026-01-05 08:00", tz="UTC").timestamp())
    assert np.diff(times).tolist() == [10.0, 10.0]


def test_replay_speed(tmp_path):
    pd.DataFrame({"time": [0.0, 1.0, 2.0, 3.0], "TI": [1.0, 2.0, 3.0, 4.0]}).to_csv(tmp_path / "s.csv", index=False)
    t0 = time.perf_counter()
    assert len(list(ReplaySource(tmp_path / "s.csv", speed=10).frames())) == 4
    paced = time.perf_counter() - t0
    assert paced >= 0.29  # 3 s of plant time at 10x
    t0 = time.perf_counter()
    list(ReplaySource(tmp_path / "s.csv", speed="max").frames())
    assert time.perf_counter() - t0 < paced


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="no such historian file"):
        ReplaySource(tmp_path / "missing.csv")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(DatasetError, match="unknown historian format"):
        ReplaySource(tmp_path / "x.txt")
    pd.DataFrame({"when": [0], "TI": [1]}).to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(DatasetError, match="no 'time' column"):
        ReplaySource(tmp_path / "n.csv")
    with pytest.raises(ConfigError, match="replay speed"):
        ReplaySource(tmp_path / "n.csv", speed="fast-ish")


def test_memory_source():
    frames = [Frame(float(k), {"A": Sample("A", k, float(k))}) for k in range(3)]
    with MemorySource(frames) as src:
        assert [f.time for f in src] == [0.0, 1.0, 2.0]
