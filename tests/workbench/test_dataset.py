"""Dataset conventions and persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from workbench.dataset import (
    add_provenance,
    config_hash,
    open_zarr,
    read_netcdf,
    validate_dataset,
    with_units,
    write_netcdf,
    write_zarr,
)
from workbench.errors import DatasetError


def trace(n=5, t0=0):
    time = pd.date_range("2026-01-01", periods=n, freq="1s") + pd.Timedelta(seconds=t0)
    data = np.arange(2 * n, dtype=float).reshape(2, n)
    ds = xr.Dataset(
        {"T": (("source", "time"), data, {"units": "K", "long_name": "reactor temperature"})},
        coords={"source": ["real", "virtual"], "time": time},
    )
    return ds


def test_valid_trace_passes():
    ds = add_provenance(trace(), scenario="demo", scenario_hash=config_hash({"a": 1}), seed=3,
                        fmu_guids=["{abc}"], extra={"x": [1, 2]})
    validate_dataset(ds, require_provenance=True, trace=True)
    assert ds.attrs["seed"] == 3 and ds.attrs["fmu_guids"] == "{abc}"
    deviation = ds.sel(source="real") - ds.sel(source="virtual")
    assert float(deviation["T"][0]) == -5.0


def test_every_problem_is_listed():
    ds = xr.Dataset({"x": (("foo", "time"), np.zeros((2, 3)))}, coords={"time": [0.0, 1.0, 2.0]})
    with pytest.raises(DatasetError) as info:
        validate_dataset(ds, require_provenance=True, trace=True, name="bad.nc")
    text = str(info.value)
    for needle in ["dim 'foo'", "units 's'", "no attrs['units']", "no attrs['long_name']",
                   "workbench_version", "'source' dim"]:
        assert needle in text
    assert text.startswith("bad.nc breaks the dataset conventions")


def test_numeric_time_with_seconds_is_valid():
    ds = xr.Dataset({"x": ("time", [1.0, 2.0], {"units": "1", "long_name": "x"})},
                    coords={"time": ("time", [0.0, 1.0], {"units": "s"})})
    validate_dataset(ds)
    validate_dataset(ds.rename_dims({"time": "lane"}).rename({"time": "t"}), extra_dims=["lane"])


def test_netcdf_round_trip(tmp_path):
    ds = add_provenance(trace(), scenario="demo", seed=1, config={"nested": {"a": 1}})
    path = write_netcdf(ds, tmp_path / "sub" / "t.nc")
    back = read_netcdf(path)
    xr.testing.assert_allclose(back, ds)
    assert back["T"].attrs["units"] == "K"
    assert back.attrs["config"] == '{"nested": {"a": 1}}'


def test_zarr_append(tmp_path):
    store = tmp_path / "trace.zarr"
    write_zarr(trace(5), store, append_dim="time")
    write_zarr(trace(5, t0=5), store, append_dim="time")
    back = open_zarr(store).load()
    assert back.sizes["time"] == 10
    assert back.indexes["time"].is_monotonic_increasing


def test_missing_files_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_netcdf(tmp_path / "x.nc")
    with pytest.raises(DatasetError, match="no such Zarr store"):
        open_zarr(tmp_path / "x.zarr")


def test_with_units_copies():
    da = xr.DataArray([1.0])
    out = with_units(da, "K", "temperature")
    assert out.attrs == {"units": "K", "long_name": "temperature"} and da.attrs == {}
