"""Datasets say what they are: the closed list of kinds, the ``ds.wb`` accessor, and the
report each kind gets from ``viz.report_result``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from workbench.dataset import (
    KIND_ALIASES,
    KINDS,
    TRACE_KINDS,
    add_provenance,
    open_zarr,
    read_netcdf,
    resolve_kind,
    write_netcdf,
    write_zarr,
)
from workbench.errors import DatasetError


def _result(kind: str | None = None, **extra) -> xr.Dataset:
    ds = xr.Dataset(
        {"T": (("time", "source"), np.arange(6.0).reshape(3, 2), {"units": "K", "long_name": "reactor temperature"}),
         "n": ("time", np.arange(3), {"units": "1", "long_name": "count"})},
        coords={"time": ("time", [0.0, 1.0, 2.0], {"units": "s", "long_name": "time"}),
                "source": ["real", "virtual"]},
    )
    return add_provenance(ds, kind=kind, scenario="unit", seed=7, fmu_guids=["{a}", "{b}"], **extra)


def test_every_kind_has_a_description():
    assert {"fmu-run", "golden-batch-model", "batch-set", "twin-trace", "line-twin-trace", "campaign"} <= set(KINDS)
    assert all(isinstance(v, str) and v for v in KINDS.values())
    assert TRACE_KINDS <= set(KINDS)
    assert set(KIND_ALIASES.values()) <= set(KINDS) and not set(KIND_ALIASES) & set(KINDS)
    with pytest.raises(TypeError):
        KINDS["new"] = "lists are closed"  # type: ignore[index]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_round_trips_netcdf_and_zarr(kind, tmp_path):
    ds = _result(kind)
    assert ds.wb.kind == kind and ds.attrs["kind"] == kind
    back_nc = read_netcdf(write_netcdf(ds, tmp_path / "r.nc"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back_zarr = open_zarr(write_zarr(ds, tmp_path / "r.zarr")).load()
    for back in (back_nc, back_zarr):
        assert back.wb.kind == kind
        back.wb.validate(require_provenance=True)
        xr.testing.assert_identical(back["T"], ds["T"])
    meta = json.loads((tmp_path / "r.zarr" / "zarr.json").read_text())
    assert meta["zarr_format"] == 3  # the one Zarr format: the trace store's v3


@pytest.mark.parametrize(("old", "new"), sorted(KIND_ALIASES.items()))
def test_legacy_kind_names_are_read_as_todays(old, new):
    ds = _result()
    ds.attrs["kind"] = old
    assert ds.wb.kind == new
    assert add_provenance(_result(), kind=old).attrs["kind"] == new  # written under today's name


def test_legacy_life_is_resolved_by_layout():
    ds = _result()
    ds.attrs["kind"] = "life"
    assert ds.wb.kind == "life-missions"
    ds["availability"] = ("time", np.ones(3), {"units": "1", "long_name": "point availability"})
    assert ds.wb.kind == "life-operation"


def test_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(DatasetError, match=r"'fmu-rn' is not a workbench result kind; did you mean 'fmu-run'"):
        add_provenance(_result(), kind="fmu-rn")
    ds = _result()
    ds.attrs["kind"] = "whatever"
    with pytest.raises(DatasetError, match="attrs\\['kind'\\] = 'whatever'.*valid kinds: fmu-run"):
        ds.wb.kind  # noqa: B018
    with pytest.raises(DatasetError, match="attrs\\['kind'\\] = 'whatever' is not a workbench result kind"):
        ds.wb.validate()
    assert resolve_kind("trace") == "twin-trace"


def test_accessor_reads_the_conventions():
    ds = _result("fmu-run")
    assert ds.wb.units("T") == "K" and ds.wb.units("time") == "s"
    assert ds.wb.long_name("T") == "reactor temperature"
    assert ds.wb.label("T") == "reactor temperature [K]" and ds.wb.label("n") == "count"
    assert ds.wb.description == KINDS["fmu-run"]
    prov = ds.wb.provenance
    assert prov["kind"] == "fmu-run" and prov["seed"] == 7 and prov["fmu_guids"] == ["{a}", "{b}"]
    assert {"workbench_version", "created", "scenario"} <= set(prov)
    assert _result().wb.kind is None  # written before kinds
    with pytest.raises(DatasetError, match="no variable 'TT'; did you mean 'T'"):
        ds.wb.units("TT")
    ds["x"] = ("time", np.zeros(3))
    with pytest.raises(DatasetError, match="variable 'x' has no attrs\\['units'\\]"):
        ds.wb.units("x")


def test_validate_names_the_variable_and_the_missing_attr():
    ds = _result("line-simulation")
    ds["bare"] = ("time", np.zeros(3), {"units": "m"})
    ds["nameless"] = ("time", np.zeros(3), {"long_name": "no unit"})
    with pytest.raises(DatasetError) as info:
        ds.wb.validate(name="bad.nc")
    text = str(info.value)
    assert text.startswith("bad.nc breaks the dataset conventions")
    assert "variable 'bare' has no attrs['long_name']" in text
    assert "variable 'nameless' has no attrs['units']" in text
    del ds.attrs["created"]
    with pytest.raises(DatasetError, match="attrs\\['created'\\] missing"):
        ds.drop_vars(["bare", "nameless"]).wb.validate(require_provenance=True)


def test_validate_checks_the_trace_layout_for_trace_kinds():
    ds = _result("twin-trace").isel(source=[0])
    with pytest.raises(DatasetError, match="'source' must contain 'real' and 'virtual'"):
        ds.wb.validate()
    ds.attrs["kind"] = "line-simulation"
    ds.wb.validate()  # not a trace: the layout rule does not apply
    assert _result("line-twin-trace").wb.is_trace and not _result("campaign").wb.is_trace


def test_tag_units_of_a_trace():
    ds = xr.Dataset({"value": (("time", "tag"), np.zeros((2, 2)), {"units": "mixed", "long_name": "v",
                                                                   "tag_units": json.dumps({"TI": "K"})})},
                    coords={"tag": ["TI", "FI"]})
    assert ds.wb.tag_units() == {"TI": "K", "FI": ""}
    ds = ds.assign_coords(tag_unit=("tag", ["K", "m3/s"]))
    assert ds.wb.tag_units() == {"TI": "K", "FI": "m3/s"}


# -- viz dispatches on the kind -----------------------------------------------------------------


@pytest.fixture(scope="module")
def golden_model():
    import golden_batch as gb

    history = gb.make_synthetic_history(16, seed=1, n_samples=50)
    assert history.wb.kind == "batch-set"
    return gb.GoldenBatchModel(aligner=gb.Aligner("elapsed")).fit(history)


def test_saved_golden_batch_model_gets_the_golden_report(golden_model, tmp_path):
    from viz import report_result, result_kind

    path = golden_model.save(tmp_path / "envelope.nc")
    assert read_netcdf(path).wb.kind == "golden-batch-model" == result_kind(read_netcdf(path))
    out, renderer = report_result(path, tmp_path / "golden.html")
    assert renderer == "viz.golden_report:write_golden_report"
    text = out.read_text()
    assert "Golden-batch report" in text and "Golden-batch selection" in text


def test_envelope_gets_the_golden_report(golden_model, tmp_path):
    from viz import report_result

    env = add_provenance(golden_model.envelope_.to_dataset(), kind="envelope")
    out, renderer = report_result(write_netcdf(env, tmp_path / "env.nc"), tmp_path / "env.html")
    assert renderer == "viz.golden_report:write_golden_report" and "Golden-batch report" in out.read_text()


def _samples():
    from simulation.life import LifeData, fit_life
    from viz import samples

    fit = fit_life(LifeData.from_frame(_failures(), unit="h"), "weibull")
    policy = xr.Dataset(
        {"cost_rate": (("bound", "trial"), np.array([[2.0, 1.0, 1.5], [1.8, 0.9, 1.3], [2.2, 1.1, 1.7]]),
                       {"units": "EUR/h", "long_name": "cost rate"}),
         "mean_availability": (("bound", "trial"), np.full((3, 3), 0.98), {"units": "1", "long_name": "A"})},
        coords={"interval": ("trial", [1000.0, 2000.0, 3000.0], {"units": "s", "long_name": "PM interval"}),
                "bound": ["estimate", "lower", "upper"]})
    return {
        "twin-trace": samples.trace_dataset(200, 3),
        "line-simulation": samples.line_result({"a": 0.5, "b": 0.9}),
        "mspc": samples.monitor_dataset(),
        "campaign": samples.campaign_result(),
        "life-operation": samples.life_result(),
        "life-fit-plot": fit.plot_data(),
        "life-pm-policy": add_provenance(policy, kind="life-pm-policy", scenario="pm"),
    }


def _failures():
    import pandas as pd

    t = np.random.default_rng(3).weibull(1.7, 25) * 1000.0
    return pd.DataFrame({"time": t, "status": np.ones(25, int)})


@pytest.mark.parametrize(("kind", "renderer", "needle"), [
    ("twin-trace", "generic", "real vs virtual"),
    ("line-simulation", "viz.line_report:write_line_report", "Line simulation: base"),
    ("mspc", "generic", "T² and SPE"),
    ("campaign", "viz.campaign_report:write_campaign_report", "campaign synthetic-campaign"),
    ("life-operation", "viz.life_report:write_life_report", "Point availability"),
    ("life-fit-plot", "viz.life_report:write_life_report", "probability plot"),
    ("life-pm-policy", "viz.life_report:write_life_report", "cost rate vs"),
])
def test_viz_dispatches_on_kind(kind, renderer, needle, tmp_path):
    from viz import report_result, result_kind

    ds = _samples()[kind]
    assert ds.wb.kind == kind == result_kind(ds)
    out, used = report_result(ds, tmp_path / f"{kind}.html")
    assert used == renderer
    assert needle in out.read_text()


def test_viz_guesses_the_kind_only_for_files_without_one():
    from viz import result_kind
    from viz.samples import line_result, monitor_dataset

    legacy = line_result({"a": 0.5})
    del legacy.attrs["kind"]
    assert result_kind(legacy) == "line-simulation"  # LEGACY layout guess
    legacy = monitor_dataset()
    legacy.attrs["kind"] = "line-simulation"  # the kind wins over the layout
    assert result_kind(legacy) == "line-simulation"
    legacy.attrs["kind"] = "not-a-kind"
    assert result_kind(legacy) == "generic"
