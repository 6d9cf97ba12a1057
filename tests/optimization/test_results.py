"""Campaign results: the best recipe's trajectory and the envelope bands in trials.nc, CSV rows."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from optimization import EnvelopeBand, load_campaign, recipe_metrics
from optimization import _results as results
from optimization._results import TRIALS_EXTRA_DIMS, collect_results
from workbench.dataset import read_netcdf, validate_dataset
from workbench.errors import DatasetError

# the shipped reactor campaign (golden-batch envelope on T from three proven recipes, pruning in 4
# chunks) on the reference equations (SciPy), searching near the proven recipes so a few trials
# find feasible ones
SHIPPED = Path(__file__).resolve().parents[2] / "scenarios" / "reactor_campaign.yaml"
NEAR_PROVEN = {"model.backend": "reference", "sampler.seed": 1,
               "parameters.jacket_inlet_1.low": "330 K", "parameters.jacket_inlet_1.high": "342 K",
               "parameters.jacket_inlet_2.low": "330 K", "parameters.jacket_inlet_2.high": "342 K",
               "parameters.feed_rate_1.low": 1.2e-4, "parameters.feed_rate_1.high": 1.5e-4}
SINGLE = [{"metric": "yield", "direction": "maximize"}]
TWO = [*SINGLE, {"metric": "utility_energy", "direction": "minimize"}]


def _run(tmp_path, name, objectives=SINGLE, trials=6, impurity_max=0.05):
    camp = load_campaign(SHIPPED, storage=str(tmp_path / f"{name}.journal"), overrides={
        **NEAR_PROVEN, "name": name, "objectives": objectives, "budget.trials": trials,
        "constraints.1.max": impurity_max})
    return camp, camp.run(workers=1, progress=False)


@pytest.fixture(scope="module")
def env_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("results"), "env-yield")


def _stored_trajectory(ds: xr.Dataset) -> xr.Dataset:
    return xr.Dataset({str(v)[5:]: ds[v] for v in ds.data_vars if str(v).startswith("best_")})


def _stored_band(ds: xr.Dataset, var: str = "T") -> EnvelopeBand:
    lo, hi = ds[f"envelope_lower_{var}"], ds[f"envelope_upper_{var}"]
    ok = np.isfinite(lo.values)
    return EnvelopeBand(var, ds["envelope_time"].values[ok], lo.values[ok], hi.values[ok], lo.attrs["units"])


def test_best_trajectory_is_the_best_recipe_simulated_again(env_run):
    camp, res = env_run
    assert res.status == "ok", res.message
    assert res.message.startswith("best recipe: trial") and not re.search(r"\d 1;", res.message)  # no unit "1"
    ds = res.trials
    assert ds.attrs["best_trajectory_trial"] == res.best["number"]
    assert ds.attrs["best_trajectory_backend"] == "reference"
    ref = camp.problem.trajectory(res.best["params"])  # an independent run of the same recipe
    assert {f"best_{v}" for v in ref.data_vars} <= set(ds.data_vars)
    np.testing.assert_allclose(ds["time"].values, ref["time"].values)
    assert ds["time"].attrs["units"] == "s"
    for v in ref.data_vars:
        np.testing.assert_allclose(ds[f"best_{v}"].values, ref[v].values, rtol=1e-12, atol=0)
        assert ds[f"best_{v}"].attrs["units"] == ref[v].attrs["units"]
        assert ds[f"best_{v}"].attrs["long_name"]
    assert ds["best_T"].attrs["units"] == "K" and ds["best_T"].dims == ("time",)
    # the file alone reproduces the best trial's figures, envelope verdict included. The trial ran
    # in 4 chunks (pruning), the stored trajectory in one piece: they agree to the integrator's
    # tolerance (rtol 1e-7), not bit for bit
    again = recipe_metrics(_stored_trajectory(ds), [_stored_band(ds)])
    for k, v in res.best["metrics"].items():
        assert again[k] == pytest.approx(v, rel=1e-6, abs=1e-6), k


def test_stored_band_is_the_campaigns_envelope(env_run):
    camp, res = env_run
    ds = res.trials
    band = camp.problem.envelopes[0]
    assert ds["envelope_lower_T"].dims == ("envelope_time",)
    assert ds["envelope_lower_T"].attrs["units"] == band.units == "K"
    assert ds["envelope_time"].attrs["units"] == "s"
    np.testing.assert_array_equal(ds["envelope_time"].values, band.time)
    np.testing.assert_array_equal(ds["envelope_lower_T"].values, band.lower)
    np.testing.assert_array_equal(ds["envelope_upper_T"].values, band.upper)
    # the stored band gives the campaign's verdict on a batch outside it: 1.5 K above the top
    t = ds["time"].values
    _, hi = band.bounds_at(t)
    hot = {"time": t, "T": np.where(t > 3600.0, hi + 1.5, ds["best_T"].values)}
    assert _stored_band(ds).violation(hot) == pytest.approx(band.violation(hot)) == pytest.approx(1.5)
    # and on every complete trial, re-simulated
    done = np.flatnonzero(ds["state"].values == "COMPLETE")
    viol = ds["envelope_violation"].values
    assert viol[done].max() > 0 and viol[done].min() == 0  # this search has trials on both sides
    for i in done[:3]:
        params = {str(v)[6:]: float(ds[v].values[i]) for v in ds.data_vars if str(v).startswith("param_")}
        traj = camp.problem.trajectory(params)
        assert _stored_band(ds).violation(traj) == pytest.approx(viol[i], abs=1e-5)  # K; chunked vs one piece


def test_trials_file_is_self_contained_and_follows_the_conventions(env_run, tmp_path):
    _, res = env_run
    validate_dataset(res.trials, require_provenance=True, extra_dims=TRIALS_EXTRA_DIMS)
    with pytest.raises(DatasetError, match="envelope_time"):
        validate_dataset(res.trials)  # the band's dim is this package's own
    nc, csv_path, summary = res.write(tmp_path / "out")
    back = read_netcdf(nc)
    for v in ("best_T", "best_yield_C", "envelope_lower_T", "envelope_upper_T", "objective_0"):
        np.testing.assert_array_equal(back[v].values, res.trials[v].values)
        assert back[v].attrs["units"] == res.trials[v].attrs["units"]
    assert int(back.attrs["best_trajectory_trial"]) == res.best["number"]
    assert summary.exists()


def test_csv_has_one_row_per_trial(env_run, tmp_path):
    _, res = env_run
    ds = res.trials
    path = res.to_csv(tmp_path / "trials.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == ds.sizes["trial"]
    assert [int(r["trial"]) for r in rows] == ds["trial"].values.tolist()
    cols = set(rows[0])
    assert not {c for c in cols if c.startswith(("best_", "envelope_lower_", "envelope_upper_")) or c in ("time", "envelope_time")}
    assert {"param_jacket_inlet_1", "objective_0", "feasible", "state", "yield", "envelope_violation"} <= cols
    np.testing.assert_allclose([float(r["objective_0"]) for r in rows], ds["objective_0"].values)
    # the naive export is what the filter avoids: a cross product of trial × time × envelope time
    assert len(ds.to_dataframe()) == ds.sizes["trial"] * ds.sizes["time"] * ds.sizes["envelope_time"]


def test_collect_results_simulates_the_best_recipe_once(env_run, monkeypatch):
    camp, res = env_run
    calls = []
    real = camp.problem.trajectory
    monkeypatch.setattr(camp.problem, "trajectory", lambda values: calls.append(values) or real(values))
    monkeypatch.setattr(results, "_TRAJECTORIES", type(results._TRAJECTORIES)())
    first = collect_results(camp, camp.study())
    again = collect_results(camp, camp.study())
    assert len(calls) == 1 and calls[0] == res.best["params"]
    np.testing.assert_array_equal(first.trials["best_T"].values, again.trials["best_T"].values)
    bare = collect_results(camp, camp.study(), trajectory=False)
    assert len(calls) == 1
    assert not [v for v in bare.trials.data_vars if str(v).startswith("best_")] and "time" not in bare.trials.dims
    assert "envelope_upper_T" in bare.trials  # the band is stored either way


def test_multi_objective_stores_the_pareto_recipe_best_on_the_first_objective(tmp_path):
    camp, res = _run(tmp_path, "env-two", objectives=TWO, trials=6)
    assert res.best is None and len(res.pareto) >= 2  # a real choice of recipe
    top = max(res.pareto, key=lambda p: p["values"][0])  # yield is maximised
    ds = res.trials
    assert ds.attrs["best_trajectory_trial"] == top["number"]
    ref = camp.problem.trajectory(top["params"])
    np.testing.assert_allclose(ds["best_T"].values, ref["T"].values, rtol=1e-12)
    assert ds["best_yield_C"].values[-1] == pytest.approx(top["metrics"]["yield"], rel=1e-6)  # chunked trial


def test_infeasible_campaign_stores_the_band_but_no_trajectory(tmp_path):
    _, res = _run(tmp_path, "env-none", trials=3, impurity_max=1e-4)
    assert res.status == "infeasible"
    ds = res.trials
    assert "envelope_lower_T" in ds and not [v for v in ds.data_vars if str(v).startswith("best_")]
    assert "best_trajectory_trial" not in ds.attrs
    paths = res.write(tmp_path / "out")
    with paths[1].open() as f:
        assert len(list(csv.DictReader(f))) == 3


LINE_CAMPAIGN = """\
kind: campaign
name: line-small
model: {{type: line, scenario: {scenario}, horizon: 1 d, warmup: 6 h}}
parameters:
  - {{name: stations.weld.servers, type: int, low: 2, high: 4}}
objectives: [{{metric: throughput, direction: maximize}}]
sampler: {{name: random, seed: 3}}
budget: {{trials: 3}}
noise: {{min_repeats: 2, max_repeats: 2, ci_halfwidth: 100}}
pruning: {{enabled: false}}
"""


def test_line_campaign_has_no_trajectory_and_still_writes(line_scenario, tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(LINE_CAMPAIGN.format(scenario=line_scenario))
    res = load_campaign(path).run(workers=1, progress=False)
    assert res.status == "ok" and res.best is not None
    ds = res.trials
    assert set(ds.dims) == {"trial"}
    assert not [v for v in ds.data_vars if str(v).startswith(("best_", "envelope_lower_", "envelope_upper_"))]
    nc, csv_path, _ = res.write(tmp_path / "out")
    with csv_path.open() as f:
        assert len(list(csv.DictReader(f))) == ds.sizes["trial"] == 3
    assert read_netcdf(nc).sizes["trial"] == 3


@st.composite
def _bands(draw):
    out = []
    for var in draw(st.lists(st.sampled_from(["T", "V", "T"]), min_size=1, max_size=3)):
        n = draw(st.integers(2, 6))
        steps = draw(st.lists(st.floats(1.0, 500.0), min_size=n - 1, max_size=n - 1))
        t = draw(st.floats(0.0, 1000.0)) + np.concatenate([[0.0], np.cumsum(steps)])
        lo = np.array(draw(st.lists(st.floats(-50.0, 50.0), min_size=n, max_size=n)))
        width = np.array(draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n)))
        out.append(EnvelopeBand(var, t, lo, lo + width, "K"))
    return out


@settings(max_examples=60, deadline=None)
@given(_bands())
def test_bands_on_a_union_grid_are_the_same_bands(bands):
    ds = results._bands_dataset(bands)
    grid = ds["envelope_time"].values
    seen: dict[str, int] = {}
    for b in bands:
        seen[b.variable] = seen.get(b.variable, 0) + 1
        name = b.variable if seen[b.variable] == 1 else f"{b.variable}_{seen[b.variable]}"
        lo, hi = ds[f"envelope_lower_{name}"].values, ds[f"envelope_upper_{name}"].values
        assert ds[f"envelope_lower_{name}"].attrs["variable"] == b.variable
        inside = (grid >= b.time[0] - 1e-9) & (grid <= b.time[-1] + 1e-9)  # as EnvelopeBand.violation
        assert np.isnan(lo[~inside]).all() and np.isfinite(lo[inside]).all()
        back = EnvelopeBand(b.variable, grid[inside], lo[inside], hi[inside])
        dense = np.linspace(b.time[0], b.time[-1], 97)
        for a, c in zip(back.bounds_at(dense), b.bounds_at(dense), strict=True):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-9)


def test_importances_of_a_large_campaign_come_from_a_subsample(monkeypatch):
    """Above IMPORTANCE_TRIALS complete trials fANOVA runs on a seeded subsample: same ranking,
    values close to the full computation (objective dominated by x, then y, z inert)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def objective(t):
        x, y, z = (t.suggest_float(n, 0, 1) for n in "xyz")
        return (x - 0.3) ** 2 + 0.05 * y + 0.0 * z

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    study.optimize(objective, n_trials=160)
    done = study.get_trials(deepcopy=False)
    full = results._importances(study, done, multi=False)
    monkeypatch.setattr(results, "IMPORTANCE_TRIALS", 80)
    sub = results._importances(study, done, multi=False)
    assert list(sub) == list(full) == ["x", "y", "z"]
    assert all(abs(sub[k] - full[k]) < 0.1 for k in full), (sub, full)
    assert sub == results._importances(study, done, multi=False)  # seeded
