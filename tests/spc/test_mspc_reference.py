"""PCA/PLS monitors against independent references.

* LDPE (MacGregor, Jaeckle, Kiparissides & Koutoudi 1994, *AIChE J.* 40(5):826-838; the data
  set and the reference PLS results ship with process-improve, MIT): 54 samples of 14 process
  variables and 5 quality variables of a tubular low-density-polyethylene reactor; reference
  X scores ``T.csv``, X loadings ``P.csv`` and Hotelling's T² for A = 3 and A = 6 of the PLS
  model of the autoscaled data (scores scaled by their sample variance).
  Tolerance: LDPE.csv gives the data to 3-5 significant digits (e.g. ``0.4507``, ``3021``), the
  reference files to 7; re-computing from the rounded data moves the T² values by up to
  0.25 % and the scores by up to 0.003 (on scores of standard deviation ≈ 1-2), so T² is
  compared at 0.5 % relative, scores and loadings at 0.01 absolute.
* scikit-learn's ``PCA`` (SVD of the whole matrix) for the chunked-covariance PCA.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest

from spc import PCAMonitor, PLSMonitor, make_process_data

LDPE = importlib.resources.files("process_improve") / "datasets" / "multivariate" / "LDPE"


def _ref(name: str) -> np.ndarray:
    with importlib.resources.as_file(LDPE / name) as path:
        return pd.read_csv(path, header=None).to_numpy()


@pytest.fixture(scope="module")
def ldpe() -> pd.DataFrame:
    with importlib.resources.as_file(LDPE / "LDPE.csv") as path:
        return pd.read_csv(path, index_col=0)


@pytest.mark.parametrize("a", [3, 6])
def test_ldpe_hotelling_t2_reproduced(ldpe, a):
    quality = list(ldpe.columns[14:])
    model = PLSMonitor(quality, a, scaling="autoscale").fit(ldpe)
    assert model.variables_ == list(ldpe.columns[:14])
    t2 = model.score_samples(ldpe)["t2"].values
    ref = _ref(f"Hotellings_T2_A{a}.csv").ravel()
    np.testing.assert_allclose(t2, ref, rtol=5e-3)


def test_ldpe_scores_and_loadings_reproduced(ldpe):
    model = PLSMonitor(list(ldpe.columns[14:]), 6).fit(ldpe)
    t = model.transform(ldpe)
    t_ref, p_ref = _ref("T.csv"), _ref("P.csv")
    sign = np.sign(np.sum(t * t_ref, axis=0))  # a component's sign is arbitrary
    np.testing.assert_allclose(t * sign, t_ref, atol=1e-2)
    np.testing.assert_allclose(model.loadings_ * sign, p_ref, atol=1e-2)


def test_chunked_pca_equals_sklearn_pca():
    from sklearn.decomposition import PCA

    data = make_process_data(3000, n_variables=12, seed=3)
    model = PCAMonitor(4).fit(data)
    z = (data - data.mean()) / data.std(ddof=1)
    ref = PCA(4).fit(z)
    np.testing.assert_allclose(model.score_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(model.loadings_), np.abs(ref.components_.T), atol=1e-10)
    t_ref = ref.transform(z)
    np.testing.assert_allclose(np.abs(model.transform(data)), np.abs(t_ref), atol=1e-8)
