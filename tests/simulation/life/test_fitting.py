"""Life-data fitting: agreement with lifelines, censoring, bounds, data parsing, YAML output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.life import LifeData, fit_best, fit_life, load_fitted, write_fitted
from workbench.errors import ConfigError, DataQualityError


@pytest.fixture(scope="module")
def censored():
    rng = np.random.default_rng(0)
    T = rng.weibull(2.0, 150) * 1000
    C = rng.uniform(0, 1500, 150)
    return T, C


def test_right_censored_weibull_matches_lifelines(censored):
    from lifelines import WeibullFitter

    T, C = censored
    obs, E = np.minimum(T, C), T <= C
    ref = WeibullFitter().fit(obs, E)
    fit = fit_life(LifeData(failures=obs[E], right=obs[~E]), "weibull")
    assert fit.params["shape"] == pytest.approx(ref.rho_, rel=1e-5)
    assert fit.params["scale"] == pytest.approx(ref.lambda_, rel=1e-5)
    assert fit.loglik == pytest.approx(ref.log_likelihood_, rel=1e-6)


def test_interval_censored_weibull_matches_lifelines(censored):
    from lifelines import WeibullFitter

    T, _ = censored
    lo = np.floor(T / 100) * 100
    ref = WeibullFitter().fit_interval_censoring(lo, lo + 100)
    fit = fit_life(LifeData(interval=np.column_stack([lo, lo + 100])), "weibull")
    assert fit.params["shape"] == pytest.approx(ref.rho_, rel=1e-4)
    assert fit.params["scale"] == pytest.approx(ref.lambda_, rel=1e-4)


def test_lognormal_and_exponential_closed_forms():
    x = np.random.default_rng(1).lognormal(3.0, 0.5, 80)
    ln = fit_life(LifeData(failures=x), "lognormal")
    assert np.log(ln.params["median"]) == pytest.approx(np.log(x).mean(), rel=1e-6)
    assert ln.params["sigma"] == pytest.approx(np.log(x).std(), rel=1e-5)
    # exponential with suspensions: MLE mean = total time on test / failures (Epstein 1954)
    fail, susp = x[:50], x[50:]
    ex = fit_life(LifeData(failures=fail, right=susp), "exponential")
    assert ex.params["mean"] == pytest.approx(x.sum() / 50, rel=1e-6)
    # Fisher information of log θ is r (failures): bounds θ̂·exp(∓z/√r) (Meeker & Escobar 1998, §7.5)
    z = 1.959963984540054
    theta = ex.params["mean"]
    assert ex.bounds["mean"][0] == pytest.approx(theta * np.exp(-z / np.sqrt(50)), rel=1e-4)
    assert ex.bounds["mean"][1] == pytest.approx(theta * np.exp(z / np.sqrt(50)), rel=1e-4)


def test_likelihood_ratio_bounds(censored):
    T, C = censored
    obs, E = np.minimum(T, C), T <= C
    d = LifeData(failures=obs[E], right=obs[~E])
    fisher = fit_life(d, "weibull")
    lr = fit_life(d, "weibull", bounds="likelihood")
    for k, v in lr.params.items():
        lo, hi = lr.bounds[k]
        assert lo < v < hi
        assert lo == pytest.approx(fisher.bounds[k][0], rel=0.08)
        assert hi == pytest.approx(fisher.bounds[k][1], rel=0.08)


def test_reliability_bounds_and_b_life(censored):
    T, _ = censored
    fit = fit_life(LifeData(failures=T), "weibull")
    r = fit.reliability([200.0, 800.0, 1500.0])
    assert np.all(r[1] < r[0]) and np.all(r[0] < r[2])
    b10 = fit.b_life(0.10)
    assert fit.frozen.cdf(b10[0]) == pytest.approx(0.10)
    assert b10[1] < b10[0] < b10[2]


def test_best_fit_ranking_and_gof():
    x = np.random.default_rng(3).weibull(3.0, 300) * 500
    fits = fit_best(LifeData(failures=x))
    assert fits[0].distribution in ("weibull", "normal", "gamma")  # Weibull β=3 is near-normal
    assert fits[-1].distribution == "exponential"
    assert all(np.isfinite(f.ad) for f in fits) and fits[0].ppcc > 0.98


def test_from_frame_status_and_intervals():
    df = pd.DataFrame({"time": [10, 20, 30, 40], "status": [1, 0, 1, 1], "count": [2, 1, 1, 1]})
    d = LifeData.from_frame(df)
    assert sorted(d.failures) == [10, 10, 30, 40] and list(d.right) == [20]
    iv = pd.DataFrame({"lower": [np.nan, 5, 10, 20], "upper": [5, 10, 10, np.nan]})
    d2 = LifeData.from_frame(iv)
    assert list(d2.left) == [5] and d2.interval.tolist() == [[5, 10]] and list(d2.failures) == [10]
    assert list(d2.right) == [20]
    with pytest.raises(ConfigError, match="columns"):
        LifeData.from_frame(pd.DataFrame({"tiem": [1.0]}))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20),
       st.lists(st.booleans(), min_size=1, max_size=20))
def test_from_frame_accepts_any_clean_table(times, flags):
    n = min(len(times), len(flags))
    df = pd.DataFrame({"time": times[:n], "status": [int(f) for f in flags[:n]]})
    if not any(flags[:n]):
        with pytest.raises(DataQualityError, match="no failures"):
            LifeData.from_frame(df)
        return
    d = LifeData.from_frame(df)
    assert d.n == n and d.n_failed == sum(flags[:n])


def test_bad_data_rejected():
    with pytest.raises(DataQualityError):
        LifeData(failures=[1.0, -2.0])
    with pytest.raises(DataQualityError):
        LifeData(interval=[[5.0, 3.0]])
    with pytest.raises(ConfigError, match="did you mean 'weibull'"):
        fit_life(LifeData(failures=[1.0, 2.0, 3.0]), "weibul")


def test_fitted_file_round_trip(tmp_path, censored):
    T, _ = censored
    fit = fit_life(LifeData(failures=T, unit="h"), "weibull")
    path = write_fitted(fit, tmp_path / "fitted.yaml", unit="h")
    back = load_fitted(path).life
    assert back.shape == pytest.approx(fit.params["shape"], rel=1e-7)
    assert back.scale == pytest.approx(fit.params["scale"] * 3600, rel=1e-7)
    assert path.read_text().startswith("# fitted by twin life fit")
