"""The scikit-learn contract of the golden_batch estimators, the composed model, its files and its config."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import golden_batch as gb
from workbench.errors import ConfigError, DatasetError, NotFittedError, WorkbenchError

DATA = Path(__file__).parent / "data"

ESTIMATORS = [
    gb.Aligner("indicator", indicator="conversion", n_points=50, window=0.3, online_window=0.4, reference="B0003",
               per_phase=False, weights={"temperature": 2.0}),
    gb.Envelope(2.5, quantiles=(0.01, 0.99), method="union", min_scale=1e-2),
    gb.BatchPCA(3, alpha=0.05, spe_method="jackson-mudholkar", cv_folds=3, online="pmp"),
    gb.ObservationPCA(2, alpha=0.05, k=2.0),
    gb.QualityPLS(2, quality=["yield"], max_components=4),
    gb.GoldenSelector("yield >= 0.9", alpha=None, n_components=3, max_modes=1, seed=7),
    gb.RecipeWindow(2.0, method="quantile"),
    gb.GoldenBatchModel(gb.GoldenSelector("yield >= 0.9", max_modes=1), aligner=gb.Aligner("elapsed", n_points=60),
                        envelope=gb.Envelope(2.5), mpca=gb.BatchPCA(3, alpha=0.05), quality_model="drop",
                        include_warp=False),
]


def _params_equal(a, b) -> bool:
    pa, pb = a.get_params(deep=True), b.get_params(deep=True)
    return pa.keys() == pb.keys() and all(repr(pa[k]) == repr(pb[k]) for k in pa)


@pytest.fixture(scope="module")
def history():
    return gb.make_synthetic_history(30, seed=21, n_samples=40)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_get_set_params_and_clone_round_trip(est):
    params = est.get_params(deep=False)
    twin = clone(est)
    assert twin is not est and _params_equal(twin, est)
    fresh = type(est)()
    assert fresh.set_params(**params) is fresh
    assert _params_equal(fresh, est)
    assert type(est).__name__ in repr(est)


def test_nested_params_reach_the_parts():
    model = gb.GoldenBatchModel(aligner=gb.Aligner("dtw"), envelope=gb.Envelope())
    deep = model.get_params(deep=True)
    assert deep["aligner__method"] == "dtw" and deep["envelope__k"] == 3.0
    model.set_params(aligner__window=0.35, envelope__method="quantile")
    assert model.aligner.window == 0.35 and model.envelope.method == "quantile"
    assert "GoldenBatchModel(" in repr(model) and "window=0.35" in repr(model)


def test_not_fitted_error_is_attribute_error_and_workbench_error():
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(NotFittedError, WorkbenchError) and issubclass(NotFittedError, DatasetError)
    cases = [
        (lambda: gb.GoldenBatchModel().check(None), "GoldenBatchModel", "fit(history) or load(path)"),
        (lambda: gb.GoldenBatchModel().start(), "GoldenBatchModel", "fit(history) or load(path)"),
        (lambda: gb.Aligner().start(), "Aligner", "fit(batch_set)"),
        (lambda: gb.Envelope().violation(np.zeros((3, 2))), "Envelope", "fit(aligned_golden_batches)"),
        (lambda: gb.BatchPCA().transform(np.zeros((2, 3, 4))), "BatchPCA", "fit(aligned_batches)"),
        (lambda: gb.ObservationPCA().score_bands(), "ObservationPCA", "fit(aligned_batches)"),
        (lambda: gb.QualityPLS().predict_from_trimmed(np.zeros(2), 1), "QualityPLS", "fit("),
        (lambda: gb.RecipeWindow().violation({"x": 1.0}), "RecipeWindow", "fit(golden_batch_parameters)"),
    ]
    for call, name, method in cases:
        with pytest.raises(NotFittedError) as info:
            call()
        msg = str(info.value)
        assert f"this {name} is not fitted yet" in msg and f"call {method}" in msg, msg
    assert not hasattr(gb.GoldenBatchModel(), "mpca_")  # an AttributeError, so hasattr is False
    with pytest.raises(AttributeError):
        gb.check_is_fitted(gb.Envelope())


def test_sklearn_check_is_fitted_agrees(history):
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    al = gb.Aligner("elapsed", n_points=30)
    with pytest.raises(SkNotFitted):
        check_is_fitted(al)
    check_is_fitted(al.fit(history))
    gb.check_is_fitted(al)


@pytest.fixture(scope="module")
def dtw_model(history):
    return gb.GoldenBatchModel("yield >= 0.9", aligner=gb.Aligner("dtw", window=0.25),
                               envelope=gb.Envelope(2.5, method="union"), mpca=gb.BatchPCA(3, alpha=0.05),
                               quality_model=gb.QualityPLS(max_components=3)).fit(history)


def test_save_load_identical_predictions_and_params(dtw_model, history, tmp_path):
    test = gb.make_synthetic_history(4, seed=22, n_samples=40, faults={"cooling": 2})
    back = gb.GoldenBatchModel.load(dtw_model.save(tmp_path / "m.nc"))
    assert _params_equal(back, dtw_model)
    for part in ("aligner_", "envelope_", "mpca_", "quality_model_"):
        assert _params_equal(getattr(back, part), getattr(dtw_model, part)), part
    a, b = dtw_model.check(test), back.check(test)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    aligned = dtw_model.align(test)
    ma, mb = dtw_model.monitor_aligned(aligned), back.monitor_aligned(back.align(test))
    for v in ma.data_vars:  # the loaded loadings are a transposed view: BLAS may sum in another order
        np.testing.assert_allclose(ma[v].values, mb[v].values, rtol=1e-12, atol=1e-12)


def test_part_files_keep_every_parameter(history):
    """A part saved alone comes back with all its parameters (not only those save/load used to list)."""
    al = gb.Aligner("elapsed", n_points=30, online_window=0.45, reference="B0002", per_phase=False).fit(history)
    back = gb.Aligner.from_dataset(al.to_dataset())
    assert _params_equal(back, al)
    aligned = al.transform(history)
    env = gb.Envelope(2.0, method="quantile", min_scale=0.01).fit(aligned)
    assert _params_equal(gb.Envelope.from_dataset(env.to_dataset()), env)
    pca = gb.BatchPCA(2, alpha=0.05, cv_folds=3).fit(aligned)
    assert _params_equal(gb.BatchPCA.from_dataset(pca.to_dataset()), pca)


def test_model_saved_by_the_previous_layout_still_loads(history):
    """``data/model_v1.nc`` was written by the flat-constructor code (``data/make_model_v1.py``)."""
    old = gb.GoldenBatchModel.load(DATA / "model_v1.nc")
    assert old.aligner.method == "dtw" and old.aligner.window == 0.25
    assert old.envelope.k == 2.5 and old.mpca.n_components == 3 and old.mpca.alpha == 0.05
    assert old.selection.spec == "yield >= 0.9" and old.selection.alpha is None
    assert (old.selection.max_modes, old.selection.seed) == (1, 4)
    # in_envelope: the simultaneous envelope verdict of issue 19 (formerly: every sample inside ±kσ)
    expected = pd.read_csv(DATA / "model_v1_check.csv", index_col="batch")
    test = gb.make_synthetic_history(4, seed=22, n_samples=40, faults={"cooling": 2})
    got = old.check(test).to_dataframe()
    for col in expected.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12, err_msg=col)
    # the composed form with the same settings gives the same numbers (the file was written when the DTW
    # reference was the median batch; the default is now the averaged reference)
    new = gb.GoldenBatchModel(gb.GoldenSelector("yield >= 0.9", alpha=None, max_modes=1, seed=4),
                              aligner=gb.Aligner("dtw", window=0.25, reference="median"), envelope=gb.Envelope(2.5),
                              mpca=gb.BatchPCA(3, alpha=0.05)).fit(history)
    fresh = new.check(test).to_dataframe()
    # the SPE limit (and so in_control) now comes from order-independent shuffled folds with a
    # conformal guard (issue 19), not the folds by position the file was written with; the envelope
    # band of a fresh model is calibrated on its leave-one-out values, which the old file lacks
    np.testing.assert_allclose(fresh["spe_limit"], expected["spe_limit"], rtol=0.3)
    for col in expected.columns.drop(["spe_limit", "in_control", "in_envelope"]):
        np.testing.assert_allclose(fresh[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12,
                                   err_msg=col)


def test_flat_keywords_warn_and_build_the_same_model(history):
    flat = dict(select="yield >= 0.9", alignment="elapsed", indicator=None, variables=None, n_points=60, band=0.3,
                k_sigma=2.5, quantiles=[0.01, 0.99], envelope_band="union", alpha=0.05, n_components=3,
                spe_method="jackson-mudholkar", quality=[], outlier_alpha=None, max_modes=1, seed=2)
    with pytest.warns(DeprecationWarning) as rec:
        old = gb.GoldenBatchModel(include_warp=False, **flat)
    msg = str(rec[0].message)
    for text in ("alignment= → aligner=Aligner(method=...)", "band= → aligner=Aligner(window=...)",
                 "k_sigma= → envelope=Envelope(k=...)", "envelope_band= → envelope=Envelope(method=...)",
                 "alpha= → mpca=BatchPCA(alpha=...)", "outlier_alpha= → selection=GoldenSelector(alpha=...)"):
        assert text in msg, (text, msg)
    new = gb.GoldenBatchModel(
        gb.GoldenSelector("yield >= 0.9", alpha=None, max_modes=1, seed=2),
        aligner=gb.Aligner("elapsed", n_points=60, window=0.3),
        envelope=gb.Envelope(2.5, quantiles=(0.01, 0.99), method="union"),
        mpca=gb.BatchPCA(3, alpha=0.05, spe_method="jackson-mudholkar"), quality_model="drop", include_warp=False)
    assert _params_equal(old, new)
    a, b = old.fit(history).check(history), new.fit(history).check(history)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    with pytest.warns(DeprecationWarning, match=r"GoldenBatchModel.k_sigma is deprecated.*envelope.k"):
        assert old.k_sigma == 2.5
    with pytest.warns(DeprecationWarning):
        assert old.quality == []
    with pytest.raises(TypeError, match="did you mean 'k_sigma'"):
        gb.GoldenBatchModel(k_sigmaa=2)


def test_renamed_part_parameters_warn():
    with pytest.warns(DeprecationWarning, match=r"Aligner\((online_)?band=...\) is deprecated .*; use Aligner\((online_)?window=...\)"):
        al = gb.Aligner("dtw", band=0.3, online_band=0.4)
    assert (al.window, al.online_window) == (0.3, 0.4) and "band" not in al.get_params()
    with pytest.warns(DeprecationWarning, match=r"use Envelope\(method=...\)"):
        assert gb.Envelope(band="quantile").method == "quantile"
    with pytest.warns(DeprecationWarning, match=r"use ObservationPCA\(k=...\)"):
        assert gb.ObservationPCA(n_sigma=2.0).k == 2.0
    x = np.sin(np.linspace(0, 3, 30))[:, None]
    with pytest.warns(DeprecationWarning, match="window"):
        old = gb.dtw_path(x, x[::2], band=0.5)
    new = gb.dtw_path(x, x[::2], window=0.5)
    np.testing.assert_array_equal(old[0], new[0])
    with pytest.raises(TypeError, match="unexpected keyword argument 'windw'"):
        gb.Aligner(windw=0.3)


def test_model_owns_the_variables_of_envelope_and_mpca(history):
    with pytest.raises(ConfigError, match="give variables to the aligner"):
        gb.GoldenBatchModel(envelope=gb.Envelope(variables=["temperature"])).fit(history)


def test_config_nested_form_and_flat_keys(tmp_path):
    from workbench.config import load_config

    p = tmp_path / "g.yaml"
    p.write_text("kind: golden-build\nselection: 'yield >= 0.9'\naligner: {method: elapsed, window: 0.3}\n"
                 "envelope: {k: 2.5, method: union}\nmpca: {n_components: 3, alpha: 0.05}\nquality_model: drop\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        nested = load_config(p, gb.GoldenBuildConfig).model()
    assert nested.selection.spec == "yield >= 0.9" and nested.aligner.window == 0.3
    assert nested.envelope.method == "union" and nested.mpca.n_components == 3 and nested.quality_model == "drop"
    p.write_text("kind: golden-build\nselect: 'yield >= 0.9'\nalignment: elapsed\nband: 0.3\nk_sigma: 2.5\n"
                 "envelope_band: union\nn_components: 3\nalpha: 0.05\nquality: []\n")
    with pytest.warns(DeprecationWarning, match="band → aligner.window"):
        flat = load_config(p, gb.GoldenBuildConfig).model()
    assert _params_equal(flat, nested)
    p.write_text("kind: golden-build\nk_sigma: 2\nenvelope: {k: 3}\n")
    with pytest.raises(ConfigError, match="keep only envelope.k"):
        load_config(p, gb.GoldenBuildConfig)
    p.write_text("kind: golden-build\naligner: {method: dtw, windw: 0.3}\n")
    with pytest.raises(ConfigError, match="windw"):
        load_config(p, gb.GoldenBuildConfig)


def test_config_parts_are_the_estimators_parameters():
    """The golden-build config is read from the estimators' signatures: nothing restated by hand."""
    cfg = gb.GoldenBuildConfig()
    model = cfg.model()
    for part, exclude in (("selection", {"variables"}), ("aligner", set()), ("envelope", {"variables"}),
                          ("mpca", {"variables"}), ("quality_model", {"variables"})):
        est = model.part(part)
        assert set(getattr(cfg, part).model_dump()) == set(est.get_params(deep=False)) - exclude, part
        defaults = type(est)().get_params(deep=False)
        for k, v in getattr(cfg, part).model_dump().items():
            assert v == defaults[k] or (isinstance(defaults[k], tuple) and tuple(v) == defaults[k]), (part, k)
    assert _params_equal(model, gb.GoldenBatchModel(gb.GoldenSelector(), aligner=gb.Aligner(),
                                                    envelope=gb.Envelope(), mpca=gb.BatchPCA(),
                                                    quality_model=gb.QualityPLS()))


def test_cli_build_sets_any_part_parameter(history, tmp_path, capsys):
    import json

    from twin_app.cli.main import main
    from workbench.dataset import write_netcdf

    write_netcdf(history, tmp_path / "history.nc")
    out = tmp_path / "m.nc"
    code = main(["golden", "build", str(tmp_path / "history.nc"), "--select", "yield >= 0.9", "--alignment", "elapsed",
                 "--set", "aligner.n_points=50", "--set", "envelope.method=union", "--set", "quality_model=drop",
                 "--set", "selection.max_modes=1", "-o", str(out), "--json"])
    assert code == 0, capsys.readouterr()
    assert json.loads(capsys.readouterr().out)["summary"]["golden_batches"] > 10
    model = gb.GoldenBatchModel.load(out)
    assert model.aligner.n_points == 50 and model.aligner.method == "elapsed" and model.envelope.method == "union"
    assert model.quality_model == "drop" and model.quality_model_ is None and model.selection.max_modes == 1
    code = main(["golden", "build", str(tmp_path / "history.nc"), "--set", "aligner.windw=0.3", "-o", str(out)])
    assert code == 2
    assert "windw" in capsys.readouterr().err
