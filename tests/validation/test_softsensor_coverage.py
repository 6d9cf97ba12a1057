"""Soft sensors against known truth: conformal coverage on new groups, and the LDPE data set.

* **Coverage**: split-conformal intervals (Lei et al. 2018) from held-out groups cover a new
  lab value with probability ≥ 1 − α when groups are exchangeable. The synthetic plant
  (:func:`spc.make_softsensor_data`: days with their own offset, a lagged and a quadratic term)
  is fitted on 20 days and checked on 3 fresh days, over many seeds. Two estimates of the
  coverage: one test value per seed (independent Bernoulli draws: exact Clopper–Pearson CI), and
  every test value pooled with a cluster-robust CI (the mean of per-seed coverages ± t·s/√S). The
  same runs with the quantile of the *in-sample* residuals (what an interval without held-out
  groups would use) cover less, which shows the check has power.
* **LDPE** (MacGregor et al. 1994, via process-improve, MIT): grouped-CV RMSE of the soft
  sensor (9 blocks of 6 consecutive samples) for each quality variable, against the mean
  predictor; beside it the in-sample RMSE of the published PLS2 model with A = 6
  (``Yhat_A6.csv``, fitted on all 54 samples – no held-out error is published for this set).
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spc import SoftSensor, make_softsensor_data

pytestmark = pytest.mark.slow

ALPHA = 0.1


def _coverage_runs(model: str, seeds: range) -> dict:
    one, pooled, naive = [], [], []
    for seed in seeds:
        f, _ = make_softsensor_data(20, seed=seed, structure_seed=1)
        s = SoftSensor("quality", lags=1, model=model, alpha=ALPHA).fit(f, groups=f.index.floor("D").astype(str))
        g, _ = make_softsensor_data(3, seed=10_000 + seed, structure_seed=1)
        p = s.predict(g)
        y = g["quality"].to_numpy()
        lab = ~np.isnan(y) & ~np.isnan(p["prediction"].values)
        hit = (y >= p["lower"].values) & (y <= p["upper"].values)
        one.append(bool(hit[np.flatnonzero(lab)[1]]))
        pooled.append(float(hit[lab].mean()))
        r = np.sort(np.abs(s.y_train_ - s.fitted_))
        q_in = r[int(np.ceil((1 - ALPHA) * (len(r) + 1))) - 1]
        naive.append(float((np.abs(y[lab] - p["prediction"].values[lab]) <= q_in).mean()))
    k, n = int(np.sum(one)), len(one)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    m, sd = float(np.mean(pooled)), float(np.std(pooled, ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    return {"one": (k / n, ci.low, ci.high), "pooled": (m, m - half, m + half), "naive": float(np.mean(naive))}


@pytest.mark.parametrize(("model", "seeds"), [("pls", range(40)), ("hgb", range(500, 508))])
def test_conformal_coverage_is_nominal_on_new_groups(model, seeds):
    res = _coverage_runs(model, seeds)
    print(f"\n{model}: one-per-seed coverage {res['one']}, pooled {res['pooled']}, in-sample quantile {res['naive']}")
    est, lo, hi = res["one"]
    assert lo <= 1 - ALPHA <= hi, res
    est, lo, hi = res["pooled"]
    assert lo - 0.02 <= 1 - ALPHA <= hi + 0.02, res  # ≈ nominal (CV+ can be slightly conservative)
    assert res["naive"] < lo, res  # an interval from in-sample residuals undercovers


def _ldpe() -> pd.DataFrame:
    path = importlib.resources.files("process_improve") / "datasets" / "multivariate" / "LDPE"
    return pd.read_csv(path / "LDPE.csv", index_col=0), pd.read_csv(path / "Yhat_A6.csv", header=None).to_numpy()


QUALITY = ["Conv", "Mn", "Mw", "LCB", "SCB"]


def test_ldpe_grouped_cv_rmse_beats_the_mean_predictor():
    d, yhat = _ldpe()
    rows = []
    for j, q in enumerate(QUALITY):
        s = SoftSensor(q, features=list(d.columns[:14])).fit(d, groups=np.arange(len(d)) // 6)
        published_fit = float(np.sqrt(np.mean((d[q].to_numpy() - yhat[:, j]) ** 2)))
        rows.append({"quality": q, "model": s.model_, "A": s.n_components_, **s.cv_rmse_,
                     "published_A6_in_sample": published_fit})
        assert s.cv_rmse_[s.model_] < 0.5 * s.cv_rmse_["mean"], rows[-1]
    print("\n" + pd.DataFrame(rows).to_string(float_format=lambda v: f"{v:.4g}"))
