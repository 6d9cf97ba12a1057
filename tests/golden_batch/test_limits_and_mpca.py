"""Batch-wise and observation-wise MPCA: scores vs scikit-learn, contributions sum to T²/SPE, partial scores."""

from __future__ import annotations

import numpy as np
import pytest

from golden_batch import BatchPCA, ObservationPCA, t2_limit
from workbench.errors import ConfigError, DatasetError


def _data(seed=0, n=40, k=15, j=3):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((k * j, 2))
    t = rng.standard_normal((n, 2)) * [3, 1.5]
    return (t @ p.T + 0.2 * rng.standard_normal((n, k * j))).reshape(n, k, j)


def test_scores_match_sklearn_pca():
    from sklearn.decomposition import PCA

    x = _data()
    m = BatchPCA(3, cv_folds=0).fit(x)
    xu = x.reshape(len(x), -1)
    z = (xu - xu.mean(0)) / xu.std(0, ddof=1)
    ref = PCA(3, svd_solver="full").fit(z)
    ours = m.transform(x)
    theirs = ref.transform(z)
    for a in range(3):  # equal up to sign
        s = np.sign(ours[:, a] @ theirs[:, a])
        np.testing.assert_allclose(ours[:, a], s * theirs[:, a], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(m.explained_variance_, ref.explained_variance_, rtol=1e-10)


def test_contributions_sum_to_statistics():
    x = _data(1)
    m = BatchPCA(2).fit(x[:30])
    s = m.score_samples(x[30:])
    c = m.contributions(x[30:])
    np.testing.assert_allclose(c["t2_contribution"].sum(("time", "variable")).values, s["t2"].values, rtol=1e-9)
    np.testing.assert_allclose(c["spe_contribution"].sum(("time", "variable")).values, s["spe"].values, rtol=1e-9)


def test_contribution_points_at_faulty_variable():
    x = _data(2)
    m = BatchPCA(2).fit(x[:35])
    bad = x[35:36].copy()
    bad[0, 8:, 1] += 3.0  # variable 1 drifts from time 8
    c = m.contributions(bad)["spe_contribution"].sum("time").values[0]
    assert int(np.argmax(c)) == 1


@pytest.mark.parametrize("online", ["tsr", "pmp"])
def test_partial_scores_at_full_length_equal_full_scores(online):
    x = _data(3)
    m = BatchPCA(2, online=online).fit(x)
    z = (x[0].reshape(-1) - m.mean_) / m.scale_
    full = z @ m.components_.T
    np.testing.assert_allclose(m.partial_scores(z.reshape(m.n_times_, -1)), full, rtol=1e-6, atol=1e-8)


def test_predict_and_limits():
    x = _data(4)
    m = BatchPCA(2, alpha=0.05).fit(x)
    assert m.t2_limit_ == pytest.approx(t2_limit(0.05, 2, len(x)))
    assert m.t2_limit_phase1_ < m.t2_limit_
    flags = m.predict(x + np.where(np.arange(x.shape[0]) == 0, 5.0, 0.0)[:, None, None])
    assert not bool(flags["in_control"].values[0])


def test_validation_errors():
    with pytest.raises(ConfigError):
        t2_limit(1.5, 2, 10)
    with pytest.raises(ConfigError):
        t2_limit(0.05, 5, 6)
    with pytest.raises(DatasetError):
        BatchPCA().transform(_data())
    with pytest.raises(ConfigError):
        BatchPCA(spe_method="magic").fit(_data())


def test_observation_pca_evolution_model():
    x = _data(5)
    m = ObservationPCA(2, alpha=0.01).fit(x[:30])
    s = m.score_samples(x[30:])
    assert s["t2"].dims == ("batch", "time")
    assert float((s["t2"] > s["t2_limit"]).mean()) < 0.1
    bands = m.score_bands()
    assert np.all(bands["score_upper"] > bands["score_lower"])
    bad = x[30:31].copy()
    bad[0, 5:] += 4.0 * m.scale_
    flags = m.predict(bad)
    assert not bool(flags["in_control"].isel(time=slice(5, None)).any())
