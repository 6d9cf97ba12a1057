"""PCA/PLS monitors on a synthetic correlated process: false alarms at α, diagnosis, missing values, lags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import spc._mspc as mspc_core
from golden_batch import clopper_pearson
from spc import PCAMonitor, PLSMonitor, load_monitor, make_process_data
from workbench.errors import ConfigError, DataError, DatasetError, NotFittedError

ALPHA = 0.01


@pytest.fixture(scope="module")
def process():
    train = make_process_data(3000, n_variables=12, n_latent=3, seed=1, structure_seed=7)
    held = make_process_data(5000, n_variables=12, n_latent=3, seed=2, structure_seed=7)
    return train, held


@pytest.fixture(scope="module")
def model(process):
    return PCAMonitor(alpha=ALPHA).fit(process[0])


def test_cross_validation_finds_the_number_of_latent_factors(model):
    assert model.n_components_ == 3
    press = np.asarray(model.cv_press_)
    assert press[2] < press[1] < press[0] and press[3] > press[2]  # a real minimum at A = 3


@pytest.mark.parametrize("spe_method", ["jackson-mudholkar", "box"])
def test_held_out_normal_samples_alarm_at_alpha(process, spe_method):
    """Each statistic flags ≈ α of new normal samples: inside the 99.9 % Clopper–Pearson interval."""
    train, held = process
    m = PCAMonitor(3, alpha=ALPHA, spe_method=spe_method).fit(train)
    s = m.score_samples(held)
    n = held.shape[0]
    for stat in ("t2_alarm", "spe_alarm"):
        k = int(s[stat].sum())
        lo, hi = clopper_pearson(k, n, 0.999)
        assert lo <= ALPHA <= hi, f"{stat}: {k}/{n} alarms, 99.9 % CI [{lo:.4f}, {hi:.4f}] misses α={ALPHA}"


@pytest.mark.parametrize("var,bias", [("x04", 4.0), ("x09", -5.0)])
def test_a_biased_sensor_is_the_top_spe_contribution(process, model, var, bias):
    held = process[1].iloc[:300].copy()
    held[var] += bias * held[var].std()
    s = model.score_samples(held)
    assert s["spe_alarm"].mean() > 0.9
    top = s["spe_contribution"].idxmax("variable").values
    assert (top == var).mean() > 0.9
    np.testing.assert_allclose(s["spe_contribution"].sum("variable"), s["spe"], rtol=1e-12)


def test_contributions_sum_to_the_statistics_with_missing_values_and_lags(process):
    train, held = process
    held = held.iloc[:400].copy()
    held.iloc[::7, 2] = np.nan
    held.iloc[3::11, [0, 5, 8]] = np.nan
    for missing in ("tsr", "pmp"):
        m = PCAMonitor(3, lags=2, missing=missing).fit(train)
        s = m.score_samples(held)
        assert s.sizes["sample"] == 400  # nothing dropped: the first 2 samples lack their lags, still scored
        # row 0: 2 × 12 lag cells + its own x02; row 1: 12 lag-2 cells + x02 of row 0 (its lag 1)
        assert s["n_missing"].values[0] == 25 and s["n_missing"].values[1] == 13
        np.testing.assert_allclose(s["t2_contribution"].sum("variable"), s["t2"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s["spe_contribution"].sum("variable"), s["spe"], rtol=1e-10, atol=1e-12)


def test_missing_values_are_imputed_close_to_the_complete_scores(process, model):
    held = process[1].iloc[:2000]
    full = model.score_samples(held)
    gap = held.copy()
    gap["x03"] = np.nan
    for method in ("tsr", "pmp"):
        m = PCAMonitor(3, missing=method).fit(process[0])
        part = m.score_samples(gap)
        err = part["scores"].values - full["scores"].values
        # one of 12 strongly correlated tags gone: scores move little against their spread
        assert np.sqrt(np.mean(err**2, axis=0)).max() < 0.1 * np.sqrt(model.score_variance_).min()
        assert part["t2_alarm"].mean() < 3 * ALPHA
    empty = held.iloc[:3].copy()
    empty.iloc[1] = np.nan
    s = model.score_samples(empty)
    assert list(s["flag"].values[1:2]) == ["no data"] and np.isnan(s["t2"].values[1])


def test_dynamic_pca_catches_a_broken_autocorrelation_that_static_pca_misses():
    """Ku et al. (1995): a change of dynamics within the static correlation is seen only with lags."""
    train = make_process_data(4000, n_variables=6, n_latent=2, noise=0.1, phi=0.95, seed=1, structure_seed=3)
    held = make_process_data(2000, n_variables=6, n_latent=2, noise=0.1, phi=0.95, seed=2, structure_seed=3)
    shuffled = held.copy()
    shuffled.iloc[:, :] = held.to_numpy()[np.random.default_rng(0).permutation(len(held))]  # same marginals
    static = PCAMonitor(2).fit(train)
    dynamic = PCAMonitor(4, lags=1).fit(train)
    assert static.predict(shuffled).mean() < 0.05
    assert dynamic.predict(shuffled).mean() > 0.5
    assert dynamic.predict(held).mean() < 0.05


def test_chunked_fit_equals_one_chunk(process, monkeypatch):
    train = process[0]
    whole = PCAMonitor(3, lags=1, spe_method="box").fit(train)
    monkeypatch.setattr(mspc_core, "CHUNK_ROWS", 97)
    monkeypatch.setattr(mspc_core.iter_lagged, "__defaults__", (97,))
    chunked = PCAMonitor(3, lags=1, spe_method="box").fit(train)
    np.testing.assert_allclose(chunked.covariance_, whole.covariance_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(chunked.spe_limit_, whole.spe_limit_, rtol=1e-9)
    np.testing.assert_allclose(chunked.score_samples(train)["t2"], whole.score_samples(train)["t2"], rtol=1e-8)


@pytest.mark.parametrize("scaling", ["autoscale", "mean", "pareto"])
def test_save_load_round_trip(process, tmp_path, scaling):
    train, held = process
    m = PCAMonitor(scaling=scaling, lags=1).fit(train)
    path = m.save(tmp_path / "m.nc")
    back = load_monitor(path)
    assert isinstance(back, PCAMonitor) and back.get_params() == m.get_params()
    a, b = m.score_samples(held.iloc[:200]), back.score_samples(held.iloc[:200])
    np.testing.assert_array_equal(a["t2"], b["t2"])
    np.testing.assert_array_equal(a["flag"], b["flag"])
    assert (back.t2_limit_, back.spe_limit_) == (m.t2_limit_, m.spe_limit_)


def test_scaling_is_applied_as_chosen(process):
    train = process[0]
    sd = train.std(ddof=1).to_numpy()
    assert np.allclose(PCAMonitor(2, scaling="autoscale").fit(train).scale_, sd)
    assert np.allclose(PCAMonitor(2, scaling="mean").fit(train).scale_, 1.0)
    assert np.allclose(PCAMonitor(2, scaling="pareto").fit(train).scale_, np.sqrt(sd))


def test_pls_predicts_quality_and_monitors_x(tmp_path):
    rng = np.random.default_rng(4)
    x = make_process_data(1500, n_variables=8, n_latent=2, seed=4)
    data = x.assign(quality=2.0 * x["x01"] - x["x05"] + 0.05 * rng.normal(size=len(x)))
    m = PLSMonitor(["quality"]).fit(data.iloc[:1000])
    test = data.iloc[1000:]
    yhat = m.predict_quality(test.drop(columns="quality")).ravel()
    r2 = 1 - np.sum((yhat - test["quality"]) ** 2) / np.sum((test["quality"] - test["quality"].mean()) ** 2)
    assert r2 > 0.95
    s = m.score_samples(test)
    np.testing.assert_allclose(s["t2_contribution"].sum("variable"), s["t2"], rtol=1e-10)
    back = load_monitor(m.save(tmp_path / "pls.nc"))
    np.testing.assert_allclose(back.predict_quality(test).ravel(), yhat)


def test_bad_input_gets_clear_errors(process, tmp_path):
    train = process[0]
    with pytest.raises(DataError, match="x02 are constant.*--exclude x02"):
        PCAMonitor(2).fit(train.assign(x02=5.0))
    with pytest.raises(DataError, match="too few for 12 variables and 3 component.*at least .* 15 samples"):
        PCAMonitor(3).fit(train.iloc[:14])
    with pytest.raises(ConfigError, match="scaling must be one of autoscale, mean, pareto; got 'unit'"):
        PCAMonitor(scaling="unit").fit(train)
    with pytest.raises(ConfigError, match="n_components must be an integer >= 1 or 'cv'"):
        PCAMonitor(0).fit(train)
    with pytest.raises(ConfigError, match="n_components = 12 must be smaller than the number of variables .12"):
        PCAMonitor(12).fit(train)
    with pytest.raises(NotFittedError, match="not fitted"):
        PCAMonitor().score_samples(train)
    m = PCAMonitor(2).fit(train)
    with pytest.raises(DataError, match="columns x03, x07 are not in the data"):
        m.score_samples(train.drop(columns=["x03", "x07"]))
    with pytest.raises(DatasetError, match="not a PCA monitor file"):
        PCAMonitor.from_dataset(xr.Dataset(attrs={"kind": "batch-set"}))
    xr.Dataset({"a": ("time", [1.0])}, attrs={"kind": "batch-set"}).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(DatasetError, match="other.nc: not an MSPC model .*twin spc mspc build"):
        load_monitor(tmp_path / "other.nc")


@given(
    z=arrays(np.float64, (6, 5), elements=st.floats(-5, 5)),
    mask=arrays(np.bool_, (6, 5)),
    method=st.sampled_from(["tsr", "pmp"]),
)
def test_contributions_always_sum_to_t2_and_spe(z, mask, method):
    """Property: for any sample, missing pattern and scoring method, Σ contributions = statistic."""
    m = _SMALL_MODEL.set_params(missing=method)
    x = m.mean_ + z * m.scale_
    x[mask] = np.nan
    s = m.score_samples(pd.DataFrame(x, columns=m.variables_))
    ok = ~np.isnan(s["t2"].values)
    np.testing.assert_allclose(s["t2_contribution"].sum("variable").values[ok], s["t2"].values[ok], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s["spe_contribution"].sum("variable").values[ok], s["spe"].values[ok], rtol=1e-9, atol=1e-9)
    assert (s["spe"].values[ok] >= 0).all()


_SMALL_MODEL = PCAMonitor(2).fit(make_process_data(300, n_variables=5, n_latent=2, seed=9))


def test_live_session_scores_like_the_batch_path(process):
    train, held = process
    held = held.iloc[:40].copy()
    held.iloc[5, 3] = np.nan
    m = PCAMonitor(3, lags=2).fit(train)
    batch = m.score_samples(held)
    session = m.start()
    for i, (t, row) in enumerate(held.iterrows()):
        values = {k: v for k, v in row.items() if not np.isnan(v)}  # an absent tag is a missing value
        s = session.update(values, time=t)
        assert s.time == t and s.flag == batch["flag"].values[i] and s.n_missing == batch["n_missing"].values[i]
        np.testing.assert_allclose([s.t2, s.spe], [batch["t2"].values[i], batch["spe"].values[i]], rtol=1e-10)
        np.testing.assert_allclose(sum(s.spe_contribution.values()), s.spe, rtol=1e-10)
    biased = session.update(held.iloc[-1].to_numpy() + 10 * train.std().to_numpy() * (held.columns == "x06"))
    assert biased.alarm and biased.top(1)[0][0] == "x06"
    with pytest.raises(DatasetError, match="variables x99 that the model does not know"):
        session.update({"x99": 1.0})
