"""Envelope bands and violation; recipe windows and capability indices (Montgomery)."""

from __future__ import annotations

import numpy as np
import pytest

from golden_batch import Envelope, RecipeWindow, capability
from workbench.errors import ConfigError, DatasetError


def _aligned(seed=0, n=50, k=40):
    rng = np.random.default_rng(seed)
    base = np.sin(np.linspace(0, 3, k))[None, :, None] * [1.0, 2.0]
    return base + 0.1 * rng.standard_normal((n, k, 2))


def test_sigma_and_quantile_bands():
    x = _aligned()
    env = Envelope(2.0, quantiles=(0.1, 0.9)).fit(x)
    np.testing.assert_allclose(env.upper_ - env.lower_, 4 * x.std(axis=0, ddof=1))
    np.testing.assert_allclose(env.q_lower_, np.quantile(x, 0.1, axis=0))
    q = Envelope(band="quantile", quantiles=(0.1, 0.9)).fit(x)
    frac = q.predict(x)["in_envelope"].mean().item()
    assert 0.75 < frac < 0.85


def test_violation_zero_inside_and_grows_outside():
    x = _aligned(1)
    env = Envelope(3.0).fit(x)
    mean = env.mean_
    assert env.violation(mean) == 0.0
    v1 = env.violation(mean + 5 * env.std_)
    v2 = env.violation(mean + 8 * env.std_)
    assert 0 < v1 < v2
    # 5σ everywhere on 2 variables, band at 3σ: 2σ excursion per variable, time-averaged
    assert v1 == pytest.approx(4.0, rel=1e-6)
    # a short excursion costs less than a long one
    short = mean.copy()
    short[:5] += 5 * env.std_[:5]
    assert 0 < env.violation(short) < v1


def test_violation_on_dataset_with_own_time_grid():
    import xarray as xr

    x = _aligned(2)
    env = Envelope().fit(x)
    t = np.linspace(0, env.time_[-1], 301)
    ds = xr.Dataset({f"x{j}": ("time", np.interp(t, env.time_, env.mean_[:, j])) for j in range(2)},
                    coords={"time": t})
    assert env.violation(ds.rename({"x0": "x0", "x1": "x1"})) == 0.0


def test_envelope_roundtrip():
    env = Envelope().fit(_aligned(3))
    back = Envelope.from_dataset(env.to_dataset())
    x = _aligned(4)
    np.testing.assert_array_equal(back.excursion(x), env.excursion(x))


def test_capability_matches_hand_computation():
    x = np.array([10.2, 9.8, 10.1, 10.4, 9.9, 10.0, 10.3, 9.7])
    c = capability(x, 9.0, 11.5)
    mr = np.mean(np.abs(np.diff(x))) / 1.128
    s = x.std(ddof=1)
    assert c.cp == pytest.approx(2.5 / (6 * mr))
    assert c.cpk == pytest.approx(min(11.5 - x.mean(), x.mean() - 9.0) / (3 * mr))
    assert c.pp == pytest.approx(2.5 / (6 * s))
    assert c.ppk == pytest.approx((x.mean() - 9.0) / (3 * s))
    one = capability(x, usl=11.0)
    assert np.isnan(one.cp) and one.cpk == pytest.approx((11.0 - x.mean()) / (3 * mr))


def test_capability_of_normal_process_estimates_true_value():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 0.5, 20_000)
    c = capability(x, 3.5, 7.0)
    assert c.cp == pytest.approx(3.5 / 3.0, rel=0.03)
    assert c.ppk == pytest.approx(1.5 / 1.5, rel=0.03)


def test_recipe_window():
    rng = np.random.default_rng(1)
    params = {"T_sp": rng.normal(345, 0.5, 40), "feed_start": rng.normal(1800, 60, 40)}
    w = RecipeWindow(3.0).fit(params)
    assert w.violation({"T_sp": 345.0, "feed_start": 1800.0}) == 0.0
    assert w.violation({"T_sp": 350.0, "feed_start": 1800.0}) > 0
    table = w.table({"T_sp": (343.0, 347.0)})
    assert {"cp", "cpk", "pp", "ppk"} <= set(table.columns)
    with pytest.raises(ConfigError):
        capability([1, 2, 3], 5, 4)


def test_envelope_scores_one_batch_and_a_running_batch():
    """A single (time, variable) batch and a batch still running score like the same rows of a batch set."""
    rng = np.random.default_rng(4)
    golden = rng.normal(size=(25, 40, 2)) + np.linspace(0, 4, 40)[None, :, None]
    env = Envelope().fit(golden)
    new = golden[:3] + np.array([0.0, 0.5])  # shift the second variable
    whole = env.score_samples(new)
    one = env.score_samples(new[1])
    np.testing.assert_array_equal(one["z"].values[0], whole["z"].values[1])
    running = env.score_samples(new[2, :15])
    assert running.sizes == {"batch": 1, "time": 15, "variable": 2}
    np.testing.assert_array_equal(running["excursion"].values[0], whole["excursion"].values[2, :15])
    assert env.predict(new[1])["fraction_inside"].shape == (1,)
    with pytest.raises(DatasetError, match="has 1 variables; this envelope has 2"):
        env.score_samples(new[0, :, :1])
