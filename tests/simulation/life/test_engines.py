"""Vectorised and event-driven engines: conventions, determinism, executors, maintenance logic."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulation.life import (
    DegradationPaths,
    run_life,
    simulate_missions,
    simulate_operation,
)
from simulation.life import _degradation as degradation_module
from tests.simulation.life.conftest import expo, make_model
from workbench.dataset import validate_dataset

EXTRA = ("bound", "component", "kpi")


def test_missions_dataset_follows_conventions(small_rbd):
    ds = simulate_missions(small_rbd)
    validate_dataset(ds, require_provenance=True, extra_dims=EXTRA)
    est = ds["reliability"].sel(bound="estimate")
    assert est[0] == 1.0 and np.all(np.diff(est.values) <= 0)
    assert np.all(ds["reliability"].sel(bound="lower") <= est) and np.all(est <= ds["reliability"].sel(bound="upper"))
    assert "reliability_analytic" in ds
    share = ds["failure_share"].sel(bound="estimate")
    assert float(share.sum()) == pytest.approx(1.0)


def test_same_seed_same_numbers_on_any_executor(small_rbd):
    serial = simulate_missions(small_rbd, missions=30000, chunk=10000)
    procs = simulate_missions(small_rbd, missions=30000, chunk=10000, executor="processes:2")
    xr.testing.assert_equal(serial.drop_attrs(), procs.drop_attrs())
    other = simulate_missions(small_rbd, missions=30000, chunk=10000, seed=99)
    assert not np.array_equal(other["reliability"].values, serial["reliability"].values)


def test_repairable_same_seed_same_numbers():
    m = make_model("a", [expo("a", repair={"distribution": "exponential", "mean": "20 h"})], replications=6)
    one = simulate_operation(m)
    two = simulate_operation(m, executor="processes:2")
    xr.testing.assert_equal(one.drop_attrs(), two.drop_attrs())
    validate_dataset(one, require_provenance=True, extra_dims=EXTRA)


def test_birnbaum_importance_of_series_component_is_product_of_others():
    """Series a–b: I_B(a) = R_b(t) (Rausand & Høyland 2004, §5.3)."""
    m = make_model({"type": "series", "blocks": ["a", "b"]}, [expo("a"), expo("b", "2000 h")],
                   missions=40000, importance_missions=40000)
    ds = simulate_missions(m)
    ib = ds["birnbaum_importance"]
    tol = 4.5 * np.sqrt(0.25 / 40000)
    assert float(ib.sel(component="a", bound="estimate")) == pytest.approx(np.exp(-0.5), abs=tol)
    assert float(ib.sel(component="b", bound="estimate")) == pytest.approx(np.exp(-1.0), abs=tol)
    assert float(ib.sel(component="a", bound="lower")) < np.exp(-0.5) < float(ib.sel(component="a", bound="upper")) + tol


def test_hot_standby_is_parallel():
    comps = [expo("a"), expo("b")]
    hot = simulate_missions(make_model({"type": "standby", "mode": "hot", "blocks": ["a", "b"]}, comps))
    par = simulate_missions(make_model({"type": "parallel", "blocks": ["a", "b"]}, comps))
    np.testing.assert_allclose(hot["reliability"].values, par["reliability"].values)


def test_crews_and_spares_cost_availability():
    """One crew for two units that often fail together is worse than two crews; an empty spare
    pool with a long lead time is worse still."""
    rep = {"distribution": "exponential", "mean": "50 h"}
    comps = [expo("a", "200 h", repair=rep), expo("b", "200 h", repair=rep)]
    sys = {"type": "series", "blocks": ["a", "b"]}
    sim = {"mission_time": "20000 h", "replications": 8}
    two = simulate_operation(make_model(sys, comps, **sim))
    m1 = make_model(sys, comps, **sim)
    m1.maintenance.crews = 1
    one = simulate_operation(m1)
    assert float(one.mean_availability[0]) < float(two.mean_availability[0])
    m_sp = make_model(sys, [dict(c, spare="pool") for c in comps],
                      maintenance={"crews": 1, "spares": [{"name": "pool", "stock": 0, "lead_time": "300 h"}]}, **sim)
    starved = simulate_operation(m_sp)
    assert float(starved.mean_availability[0]) < float(one.mean_availability[0])


def test_block_replacement_count():
    """Block replacement of a long-lived unit: one PM per interval."""
    comp = expo("a", "1e9 h", preventive={"policy": "block", "interval": "1000 h", "cost": 10})
    ds = simulate_operation(make_model("a", [comp], mission_time="10500 h", replications=3))
    assert float(ds["component_pm"].sel(bound="estimate", component="a")) == 10
    assert float(ds["cost"].sel(bound="estimate", kpi="preventive")) == pytest.approx(100)


def test_cold_standby_waits_without_ageing_in_event_engine():
    """Cold standby of two non-repairable-like units: the backup only starts ageing at switch-over,
    so mean time to first system failure = 2 × mean life (event engine)."""
    rep = {"distribution": "exponential", "mean": "1e7 h"}  # practically never repaired
    comps = [expo("a", repair=rep), expo("b", repair=rep)]
    m = make_model({"type": "standby", "blocks": ["a", "b"]}, comps, mission_time="30000 h",
                   replications=400, time_points=61)
    ds = simulate_operation(m)
    t = ds["time"].values / 3600 / 1000
    analytic = np.exp(-t) * (1 + t)  # Erlang-2 survival
    err = np.abs(ds["reliability"].sel(bound="estimate").values - analytic)
    assert err.max() < 4.5 * np.sqrt(0.25 / 400)


def test_run_life_picks_engine(small_rbd):
    assert run_life(small_rbd).attrs["engine"] == "vectorised"
    m = make_model("a", [expo("a", repair={"distribution": "exponential", "mean": "5 h"})], replications=3)
    assert run_life(m).attrs["engine"] == "event"


# ------------------------------------------------------------------ degradation (linear-path physics)
def _linear_paths(n=400, seed=0):
    """Degradation level = rate·t with a lognormal rate: first passage = threshold / rate exactly."""
    rng = np.random.default_rng(seed)
    rate = np.exp(rng.normal(np.log(1 / (1000 * 3600)), 0.3, n))  # reaches 1.0 after ~1000 h
    time = np.linspace(0, 4000 * 3600, 801)
    return DegradationPaths(time, rate[:, None] * time[None, :], [{"rate": r} for r in rate]), rate


def test_degradation_lives_and_condition_based_maintenance():
    paths, rate = _linear_paths()
    np.testing.assert_allclose(paths.lives(1.0), 1.0 / rate, rtol=1e-9)
    comp = {"name": "bearing",
            "degradation": {"model": "reference", "failure_threshold": 1.0, "horizon": "4000 h", "paths": 400},
            "costs": {"failure": 1000}}
    m = make_model("bearing", [comp], mission_time="800 h")
    pools = degradation_module.degradation_pools(m, paths={"bearing": paths})
    ds = simulate_missions(m, pools=pools)
    expected = np.mean(1.0 / rate > 800 * 3600)
    assert float(ds["mission_reliability"][0]) == pytest.approx(expected, abs=4.5 * np.sqrt(0.25 / 20000))
    # condition-based maintenance: inspect every 50 h, replace at 80 % of the failure level
    cbm = dict(comp, preventive={"policy": "condition", "inspection_interval": "50 h", "threshold": 0.8,
                                 "cost": 100})
    run_to_failure = simulate_operation(make_model("bearing", [comp], mission_time="20000 h", replications=10),
                                        paths={"bearing": paths})
    with_cbm = simulate_operation(make_model("bearing", [cbm], mission_time="20000 h", replications=10),
                                  paths={"bearing": paths})
    assert float(with_cbm["component_failures"][0, 0]) < 0.05 * float(run_to_failure["component_failures"][0, 0])
    assert float(with_cbm["component_pm"][0, 0]) > 10


@pytest.mark.dask
def test_dask_client_gives_the_same_numbers(small_rbd):
    from distributed import Client

    from workbench.executors import local_cluster

    # (a plain in-process LocalCluster serves HTTP on every interface, port 8787)
    with local_cluster(1, threads_per_worker=1, processes=False) as cluster, Client(cluster) as client:
        remote = simulate_missions(small_rbd, missions=20000, chunk=10000, executor=client)
    local = simulate_missions(small_rbd, missions=20000, chunk=10000)
    xr.testing.assert_equal(local.drop_attrs(), remote.drop_attrs())
