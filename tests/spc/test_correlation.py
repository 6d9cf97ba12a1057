"""Lagged correlation ranking against pandas/scipy, on a synthetic process with a known lag and on LDPE."""

from __future__ import annotations

import importlib.resources
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spc import lagged_correlation


def test_finds_the_lag_of_a_delayed_effect_and_matches_scipy():
    rng = np.random.default_rng(4)
    n = 300
    a = rng.standard_normal(n)
    b = rng.standard_normal(n)
    y = np.r_[np.zeros(3), 0.8 * a[:-3]] + 0.3 * b + 0.5 * rng.standard_normal(n)  # a acts 3 samples later
    noise = rng.standard_normal(n)
    res = lagged_correlation({"a": a, "b": b, "noise": noise, "y": y}, "y", lags=5)
    assert [r.column for r in res.rows[:2]] == ["a", "b"]
    top = res.rows[0]
    assert top.lag == 3 and res.rows[1].lag == 0
    r, p = stats.pearsonr(a[:-3], y[3:])
    assert top.r == pytest.approx(r) and top.p_value == pytest.approx(p, rel=1e-6)
    assert top.p_adjusted == pytest.approx(min(1, 6 * p), rel=1e-6)
    half = 1.959964 / math.sqrt(top.n - 3)
    assert (top.lower, top.upper) == pytest.approx((math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)))
    assert top.significant and not next(c for c in res.rows if c.column == "noise").significant
    # r at every lag equals pandas' correlation of the shifted column
    frame = pd.DataFrame({"a": a, "y": y})
    for k, rk in enumerate(top.by_lag):
        assert rk == pytest.approx(frame["a"].shift(k).corr(frame["y"]))


def test_missing_values_are_dropped_pairwise():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50)
    y = x + rng.standard_normal(50)
    x[[3, 7]] = np.nan
    y[10] = np.nan
    res = lagged_correlation({"x": x, "y": y}, "y")
    assert res.rows[0].n == 47
    assert res.rows[0].r == pytest.approx(pd.Series(x).corr(pd.Series(y)))


def test_real_ldpe_ranking_matches_pandas():
    """LDPE (process-improve): the lag-0 ranking of the process variables with Mw equals pandas' |corr| order."""
    path = importlib.resources.files("process_improve") / "datasets" / "multivariate" / "LDPE" / "LDPE.csv"
    d = pd.read_csv(path).iloc[:, 1:]
    process = [c for c in d.columns if c not in ("Conv", "Mn", "Mw", "LCB", "SCB")]
    res = lagged_correlation({c: d[c].to_numpy(float) for c in [*process, "Mw"]}, "Mw")
    want = d[process].corrwith(d["Mw"]).abs().sort_values(ascending=False)
    assert [r.column for r in res.rows] == list(want.index)
    assert [abs(r.r) for r in res.rows] == pytest.approx(list(want.values))


def test_constant_column_is_skipped_and_errors():
    res = lagged_correlation({"c": np.ones(20), "x": np.arange(20.0), "y": np.arange(20.0) ** 2}, "y")
    assert "c" in res.skipped and [r.column for r in res.rows] == ["x"]
    with pytest.raises(ValueError, match="no column"):
        lagged_correlation({"x": np.arange(5.0)}, "y")
    with pytest.raises(ValueError, match="fewer than 4 pairs"):
        lagged_correlation({"x": np.arange(6.0), "y": np.arange(6.0)}, "y", lags=3)
