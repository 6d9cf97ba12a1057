"""spc.SoftSensor: grouped CV, model choice, conformal quantile, domain flag, bad input, save/load."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spc import SoftSensor, find_leakage, grouped_folds, load_soft_sensor, make_softsensor_data
from spc._softsensor import _pls_predictions
from workbench.errors import ConfigError, DataError, DatasetError


def _linear(n=180, n_groups=9, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = x @ [1.0, -0.5, 0.3, 0.0] + noise * rng.normal(size=n)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(q=y), np.repeat(np.arange(n_groups), n // n_groups)


@pytest.fixture(scope="module")
def plant():
    f, _ = make_softsensor_data(20, seed=3, structure_seed=1)
    return f, f.index.floor("D").astype(str)


@given(st.lists(st.integers(0, 7), min_size=12, max_size=60), st.integers(2, 6))
@settings(max_examples=60, deadline=None)
def test_folds_never_split_a_group_and_hold_out_every_row_once(groups, n_splits):
    g = np.asarray(groups)
    if len(np.unique(g)) < 2:
        return
    folds = grouped_folds(g, n_splits)
    seen = np.zeros(len(g), dtype=int)
    for tr, te in folds:
        assert not set(g[tr]) & set(g[te])
        seen[te] += 1
    assert (seen == 1).all()
    assert len(folds) == min(n_splits, len(np.unique(g))) or len(np.unique(g)) <= n_splits


def test_pls_shortcut_equals_a_fit_per_number_of_components():
    from sklearn.cross_decomposition import PLSRegression

    f, _ = _linear()
    x, y = f[["a", "b", "c", "d"]].to_numpy(), f["q"].to_numpy()
    many = _pls_predictions(x[:150], y[:150], x[150:], 4)
    for a in range(1, 5):
        ref = PLSRegression(a, scale=True).fit(x[:150], y[:150]).predict(x[150:]).ravel()
        np.testing.assert_allclose(many[:, a - 1], ref, rtol=1e-9, atol=1e-9)


def test_linear_data_choose_pls_and_beat_the_mean():
    f, g = _linear()
    s = SoftSensor("q").fit(f, groups=g)
    assert s.model_ == "pls" and s.n_components_ >= 2
    assert s.cv_rmse_["pls"] < 0.2 * s.cv_rmse_["mean"]
    assert s.cv_scheme_ == "GroupKFold(5)"


def test_a_step_law_chooses_gradient_boosting():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(240, 3))
    y = np.where(x[:, 0] > 0, 5.0, 0.0) * np.sign(x[:, 1]) + 0.05 * rng.normal(size=240)
    f = pd.DataFrame(x, columns=["a", "b", "c"]).assign(q=y)
    s = SoftSensor("q").fit(f, groups=np.repeat(np.arange(8), 30))
    assert s.model_ == "hgb" and s.cv_rmse_["hgb"] < 0.5 * s.cv_rmse_["pls"]


def test_conformal_quantile_is_the_lei_rank_of_held_out_residuals():
    f, g = _linear(n=99, n_groups=9)
    s = SoftSensor("q", model="pls", alpha=0.2).fit(f, groups=g)
    r = np.sort(np.abs(s.y_train_ - s.cv_prediction_))
    k = math.ceil(0.8 * (len(r) + 1))
    assert s.conformal_quantile_ == r[k - 1]
    p = s.predict(f)
    np.testing.assert_allclose(p["upper"] - p["lower"], 2 * s.conformal_quantile_)
    # the held-out predictions are not the in-sample ones: each row's group was left out
    assert not np.allclose(s.cv_prediction_, s.fitted_)


def test_too_high_a_level_for_the_sample_gives_an_infinite_interval():
    f, g = _linear(n=18, n_groups=3)
    s = SoftSensor("q", model="pls", alpha=0.01).fit(f, groups=g)
    assert s.conformal_quantile_ == math.inf


def test_out_of_domain_and_missing_inputs_are_flagged(plant):
    f, g = plant
    s = SoftSensor("quality", lags=1, model="pls").fit(f, groups=g)
    new = f.iloc[:50].copy()
    new.iloc[20:30, 2] += 20 * f["tag2"].std()
    new.iloc[40, 4] = np.nan
    p = s.predict(new)
    flag = p["flag"].values
    assert all(str(v).startswith("out of domain") for v in flag[20:30])
    assert not p["in_domain"].values[20:30].any()
    assert flag[40] == "missing tag4" and flag[41] == "missing tag4[t-1]"
    assert np.isnan(p["prediction"].values[40]) and np.isnan(p["prediction"].values[0])  # t=0 has no lag
    assert flag[0] == "missing tag0[t-1]"
    ok = flag == "ok"
    assert ok.sum() >= 30
    assert "measured" in p and p.attrs["kind"] == "softsensor-prediction"


def test_rows_without_target_or_with_gaps_are_counted(plant):
    f, g = plant
    f = f.copy()
    f.iloc[8, 1] = np.nan  # a lab row with a missing input
    s = SoftSensor("quality").fit(f, groups=g)
    assert s.n_unlabelled_ == int(f["quality"].isna().sum())
    assert s.n_incomplete_ == 1
    assert s.n_samples_ == int(f["quality"].notna().sum()) - 1


def test_save_and_load_predict_the_same(plant, tmp_path):
    f, g = plant
    for model in ("pls", "hgb"):
        s = SoftSensor("quality", lags=1, model=model).fit(f, groups=g)
        back = load_soft_sensor(s.save(tmp_path / f"{model}.nc"))
        a, b = s.predict(f), back.predict(f)
        np.testing.assert_array_equal(a["prediction"].values, b["prediction"].values)
        np.testing.assert_array_equal(a["flag"].values, b["flag"].values)
        assert back.conformal_quantile_ == s.conformal_quantile_ and back.cv_rmse_ == s.cv_rmse_


def test_a_model_that_does_not_refit_the_same_is_refused(plant, tmp_path):
    f, g = plant
    ds = SoftSensor("quality", model="pls").fit(f, groups=g).to_dataset()
    ds["fitted"] = ds["fitted"] + 1.0
    with pytest.raises(DatasetError, match="does not reproduce its stored fitted values"):
        SoftSensor.from_dataset(ds)
    ds.attrs["kind"] = "mspc-model"
    with pytest.raises(DatasetError, match="not a soft-sensor model"):
        SoftSensor.from_dataset(ds)


# ------------------------------------------------------------------ bad input
def test_a_shifted_copy_of_the_target_is_refused_by_name(plant):
    f, g = plant
    f = f.copy()
    f["lab_copy"] = f["quality"].shift(2) * 3 + 1
    with pytest.raises(DataError, match=r"feature 'lab_copy' is the target 2 row\(s\) earlier .*--allow-leakage"):
        SoftSensor("quality").fit(f, groups=g)
    assert find_leakage(f, "quality", ["tag0", "lab_copy"])[0][:2] == ("lab_copy", 2)
    f = f.drop(columns=["lab_copy"]).assign(last_lab=f["quality"].ffill())  # the last lab value, held
    with pytest.raises(DataError, match=r"feature 'last_lab' is a copy of 'quality'"):
        SoftSensor("quality").fit(f, groups=g)
    s = SoftSensor("quality", allow_leakage=True, model="pls").fit(f, groups=g)
    assert s.leakage_[0][:2] == ("last_lab", 0) and s.summary()["leakage_allowed"] == ["last_lab (shift 0)"]


def test_an_unrelated_feature_is_no_leak(plant):
    f, _ = plant
    assert find_leakage(f, "quality", [f"tag{j}" for j in range(6)]) == []


def test_too_few_groups_is_refused(plant):
    f, _ = plant
    with pytest.raises(DataError, match=r"at least 3 groups with target values; the data has 2"):
        SoftSensor("quality").fit(f, groups=np.arange(len(f)) * 2 // len(f))


def test_constant_feature_is_refused_by_name(plant):
    f, g = plant
    with pytest.raises(DataError, match=r"feature column\(s\) still are constant"):
        SoftSensor("quality").fit(f.assign(still=4.0), groups=g)


def test_a_mostly_missing_feature_is_refused_by_name(plant):
    f, g = plant
    f = f.copy()
    f.loc[f.index[: len(f) * 2 // 3], "tag3"] = np.nan
    with pytest.raises(DataError, match=r"feature column 'tag3' is missing on \d+ % of the rows with a target"):
        SoftSensor("quality").fit(f, groups=g)


def test_unknown_columns_and_parameters_are_named(plant):
    f, g = plant
    with pytest.raises(DataError, match="target column 'qualty' is not in the data.*did you mean 'quality'"):
        SoftSensor("qualty").fit(f, groups=g)
    with pytest.raises(DataError, match=r"feature column\(s\) tag9 are not in the data"):
        SoftSensor("quality", features=["tag0", "tag9"]).fit(f, groups=g)
    with pytest.raises(ConfigError, match="model must be one of auto, pls, hgb"):
        SoftSensor("quality", model="forest").fit(f, groups=g)
    with pytest.raises(ConfigError, match=r"alpha must be a float in \(0, 1\)"):
        SoftSensor("quality", alpha=1.5).fit(f, groups=g)
    with pytest.raises(DataError, match="groups has 3 entries; the data has"):
        SoftSensor("quality").fit(f, groups=[1, 2, 3])
    s = SoftSensor("quality", model="pls").fit(f, groups=g)
    with pytest.raises(DataError, match=r"column\(s\) tag5 of the soft sensor are not in the data"):
        s.predict(f.drop(columns=["tag5"]))


@given(st.integers(-5, 5), st.floats(0.1, 100.0) | st.floats(-100.0, -0.1), st.floats(-1e3, 1e3),
       st.integers(0, 2**31 - 1), st.sampled_from([1, 2, 4]))
@settings(max_examples=80, deadline=None)
def test_leakage_gate_finds_any_shifted_rescaled_copy(shift, scale, offset, seed, every):
    """Property: ``a · y(t − s) + b`` is found with its shift, for any lab spacing; the real inputs are not."""
    rng = np.random.default_rng(seed)
    n = 200
    y = np.cumsum(rng.normal(size=n)) + rng.normal(size=n)
    frame = pd.DataFrame({"x": rng.normal(size=n), "leak": scale * pd.Series(y).shift(shift).to_numpy() + offset})
    lab = y.copy()
    lab[np.arange(n) % every != 0] = np.nan  # lab values every `every` rows; the leak is a dense copy
    frame["q"] = lab
    found = find_leakage(frame, "q", ["x", "leak"])
    assert [f for f, _, _ in found] == ["leak"]
    assert found[0][1] == shift
