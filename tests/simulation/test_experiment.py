"""Replications, confidence intervals, CRN comparisons, sequential runs, dataset conventions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulation.line import LineScenario, compare, kpi_names, simulate
from workbench.dataset import read_netcdf, validate_dataset, write_netcdf
from workbench.errors import SimulationError


def line(**exp) -> LineScenario:
    return LineScenario.model_validate({
        "name": "two",
        "source": {"interarrival": "exponential(mean=1 min)"},
        "stations": [
            {"name": "a", "buffer": 3, "process_time": "exponential(mean=0.7 min)",
             "failures": [{"ttf": "exponential(mean=3 h)", "ttr": "exponential(mean=15 min)"}]},
            {"name": "b", "buffer": 3, "process_time": "exponential(mean=0.8 min)"},
        ],
        "experiment": {"horizon": "1 d", "warmup": "2 h", "replications": 5, "seed": 9, **exp},
    })


@pytest.fixture(scope="module")
def base():
    return simulate(line())


def test_dataset_follows_conventions(base, tmp_path):
    validate_dataset(base, require_provenance=True, extra_dims=["segment"])
    assert base["value"].dims == ("replication", "kpi")
    assert list(base["kpi"].values) == kpi_names(line())
    assert base.attrs["seed"] == 9 and base.attrs["scenario"] == "two"
    back = read_netcdf(write_netcdf(base, tmp_path / "r.nc"))
    np.testing.assert_array_equal(back["value"].values, base["value"].values)
    assert "gantt_state" in back and back.sizes["segment"] > 10


def test_ci_is_the_t_interval(base):
    x = base["value"].sel(kpi="throughput").values
    hw = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    assert float(base["half_width"].sel(kpi="throughput")) == pytest.approx(hw)
    lo, hi = base["ci"].sel(kpi="throughput").values
    assert lo == pytest.approx(x.mean() - hw) and hi == pytest.approx(x.mean() + hw)


def test_identical_variant_has_zero_difference(base):
    same = simulate(line())
    c = compare(base, {"same": same})
    assert np.all(c["delta"].values[np.isfinite(c["delta"].values)] == 0)
    assert int(c["significant"].sum()) == 0


def test_crn_makes_paired_ci_narrower_than_independent(base):
    faster = simulate(line().model_copy(update={"stations": [
        line().stations[0], line().stations[1].model_copy(update={"process_time": line().stations[1].process_time.__class__(
            "expon", (("scale", 0.7 * 60),))})]}))
    c = compare(base, {"faster_b": faster}).sel(variant="faster_b", kpi="lead_time")
    assert int(c["significant"]) == 1 and float(c["delta"]) < 0
    paired_hw = float(c["delta_ci"].sel(bound="high") - c["delta"])
    # independent two-sample interval of the same difference (Welch) is wider under CRN
    b, v = base["value"].sel(kpi="lead_time").values, faster["value"].sel(kpi="lead_time").values
    indep_hw = stats.t.ppf(0.975, len(b) - 1) * np.sqrt(b.var(ddof=1) / len(b) + v.var(ddof=1) / len(v))
    assert paired_hw < indep_hw


def test_compare_refuses_unpaired_runs(base):
    other = simulate(line(), seed=10)
    with pytest.raises(SimulationError, match="same seed"):
        compare(base, {"other": other})


def test_sequential_replications_reach_target():
    ds = simulate(line(replications=3, target_half_width=0.02, max_replications=30))
    n = ds.sizes["replication"]
    rel = float(ds["half_width"].sel(kpi="throughput") / ds["mean"].sel(kpi="throughput"))
    assert 3 < n <= 30
    assert rel <= 0.02 or n == 30
    # the first replications are the same as a fixed-count run (seeds spawned by index)
    fixed = simulate(line(replications=3))
    np.testing.assert_array_equal(ds["value"].values[:3], fixed["value"].values)


@pytest.mark.dask
def test_dask_client_gives_the_same_numbers(base):
    distributed = pytest.importorskip("distributed")
    from workbench.executors import local_cluster

    with local_cluster(1, threads_per_worker=1, processes=True) as cluster, distributed.Client(cluster) as client:
        ds = simulate(line(), executor=client)
    np.testing.assert_array_equal(ds["value"].values, base["value"].values)


def test_compare_on_the_union_of_stations(base):
    """A station only one side has keeps its KPIs: NaN on the side without it, named in an attr."""
    from simulation.line import absent_stations

    scenario = line()
    extra = scenario.model_copy(update={"name": "three", "stations": [
        *scenario.stations, scenario.stations[1].model_copy(update={"name": "c"})]})
    three = simulate(extra)
    c = compare(base, {"three": three})
    assert "utilisation[c]" in c["kpi"].values and absent_stations(c) == {"two": ["c"]}
    row = c.sel(variant="three", kpi="utilisation[c]")
    assert np.isnan(float(row["base_mean"])) and np.isnan(float(row["delta"])) and int(row["pairs"]) == 0
    expected = three["value"].sel(kpi="utilisation[c]").values.mean()
    assert float(row["variant_mean"]) == pytest.approx(expected)
    assert str(row["kpi_units"].item()) == str(three["kpi_units"].sel(kpi="utilisation[c]").item())
    # the other way round: the variant lacks a station of the base
    back = compare(three, {"two": base})
    assert absent_stations(back) == {"two": ["c"]}
    assert np.isnan(float(back.sel(variant="two", kpi="utilisation[c]")["variant_mean"]))
    # shared stations are compared as before
    assert int(back.sel(variant="two", kpi="throughput")["pairs"]) == base.sizes["replication"]
    assert absent_stations(compare(base, {"same": base})) == {}
