"""Jobs of the vectorised life Monte Carlo return reductions; the results equal the full-sample ones.

The B-lives come from per-chunk windows (:mod:`simulation.life._orderstats`); they
must equal ``quantile_ci`` on the whole sorted sample bit for bit, and a window
that misses a needed rank must be detected (never a wrong value).
"""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.life import _montecarlo, _orderstats, simulate_missions
from simulation.life._stats import combine_moments, mean_ci, mean_ci_from_moments, quantile_ci
from tests.simulation.life.conftest import expo, make_model

CONF = 0.9


# ------------------------------------------------------------------ order statistics from windows
values = st.lists(
    st.one_of(st.integers(0, 30).map(float), st.floats(0, 1e6, allow_nan=False), st.just(np.inf)),
    min_size=1, max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(values, st.floats(0.0, 1.0))
def test_linear_quantile_is_numpy_quantile_bit_for_bit(x, p):
    x = np.sort(np.array(x))
    with np.errstate(invalid="ignore"):  # inf − inf: NumPy's NaN, which we must reproduce
        want = np.quantile(x, p)
        got = _orderstats.linear_quantile(len(x), p, x.__getitem__)
        assert np.array_equal(np.float64(got), want, equal_nan=True), (got, want)
        assert np.array_equal(_orderstats.quantile_ci_at(len(x), p, CONF, x.__getitem__), quantile_ci(x, p, CONF),
                              equal_nan=True)


@pytest.mark.parametrize("n", [999_999, 8_000_000])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.5])
def test_linear_quantile_at_large_n(n, p):
    x = np.arange(n, dtype=float) * 1.37
    assert _orderstats.linear_quantile(n, p, lambda r: r * 1.37) == np.quantile(x, p)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rank_values_are_exact_or_a_detected_miss(data):
    """Arbitrary (even absurd) windows: every value returned is the true order statistic."""
    k = data.draw(st.integers(1, 5), label="chunks")
    chunks = [np.array(data.draw(st.lists(st.integers(0, 12).map(float), min_size=1, max_size=60)))
              for _ in range(k)]
    windows = []
    for c in chunks:
        lo = data.draw(st.integers(0, len(c)))
        hi = data.draw(st.integers(lo, len(c)))  # may be empty
        windows.append((lo, np.sort(c)[lo:hi]))
    full = np.sort(np.concatenate(chunks))
    ranks = sorted(set(data.draw(st.lists(st.integers(0, len(full) - 1), min_size=1, max_size=4))))
    got = _orderstats.rank_values(windows, [len(c) for c in chunks], ranks)
    if got is not None:
        assert got == {r: full[r] for r in ranks}
    # windows covering every chunk entirely never miss
    whole = _orderstats.rank_values([(0, np.sort(c)) for c in chunks], [len(c) for c in chunks], ranks)
    assert whole == {r: full[r] for r in ranks}


def test_default_windows_find_the_b_life_ranks():
    rng = np.random.default_rng(3)
    chunks = [rng.weibull(1.5, 100_000) for _ in range(6)] + [rng.weibull(1.5, 12_345)]
    full = np.sort(np.concatenate(chunks))
    fr = _orderstats.window_fractions(len(full), _montecarlo.B_LIVES, CONF)
    per_chunk = [_orderstats.take_windows(c, fr) for c in chunks]
    assert max(len(w) for ws in per_chunk for _, w in ws) < 0.05 * 100_000  # a window, not the chunk
    for i, p in enumerate(_montecarlo.B_LIVES):
        ranks = _orderstats.needed_ranks(len(full), p, CONF)
        got = _orderstats.rank_values([ws[i] for ws in per_chunk], [len(c) for c in chunks], ranks)
        assert got == {r: full[r] for r in ranks}


# ------------------------------------------------------------------ pooled moments
def test_pooled_moments_give_the_full_sample_mean_ci():
    rng = np.random.default_rng(5)
    chunks = [rng.lognormal(10, 1.2, n) for n in (1000, 7, 1, 5000, 333)]
    acc = (0, 0.0, 0.0)
    for c in chunks:
        acc = combine_moments(acc, (len(c), float(c.mean()), float(np.square(c - c.mean()).sum())))
    full = np.concatenate(chunks)
    assert acc[0] == len(full)
    np.testing.assert_allclose(acc[1], full.mean(), rtol=1e-14)
    np.testing.assert_allclose(acc[2], full.var() * len(full), rtol=1e-12)
    np.testing.assert_allclose(mean_ci_from_moments(*acc, CONF), mean_ci(full, CONF), rtol=1e-12)


# ------------------------------------------------------------------ simulate_missions
def _rbd():
    comps = [expo("a"), expo("b", "2000 h"), expo("c", "1500 h"),
             {"name": "d", "life": {"distribution": "weibull", "shape": 2.0, "scale": "3000 h"}}]
    system = {"type": "series", "blocks": ["d", {"type": "parallel", "blocks": ["a", "b", "c"]}]}
    return make_model(system, comps, confidence=CONF, importance_missions=3000)


def _tied():
    """A degradation component drawing from a pool of 40 lives (one infinite): ties everywhere."""
    comps = [{"name": "bearing",
              "degradation": {"model": "reference", "failure_threshold": 1.0, "horizon": "4000 h", "paths": 40}},
             expo("motor", "5000 h")]
    model = make_model({"type": "series", "blocks": ["bearing", "motor"]}, comps, confidence=CONF,
                       mission_time="2000 h")
    pool = np.round(np.random.default_rng(1).uniform(100, 3000, 40)) * 3600.0
    pool[7] = np.inf
    return model, {"bearing": pool}


def _all_lives(model, missions, chunk, seed, pools=None):
    jobs = _montecarlo._jobs(model, missions, seed, chunk, pools, windows=())
    return np.concatenate([_montecarlo._run_chunk(replace(j, keep_lives=True))["life"] for j in jobs])


@pytest.mark.parametrize("case", ["rbd", "tied"])
def test_windowed_results_equal_the_full_sample(case, monkeypatch):
    model, pools = (_rbd(), None) if case == "rbd" else _tied()
    kw = dict(missions=70_000, chunk=20_000, seed=4, pools=pools)  # 3 × 20 000 + 10 000, blocks of 8192
    fast = simulate_missions(model, **kw)
    assert fast.attrs["order_statistics"] == "per-chunk windows"
    # windows of negative width always miss: the exact fallback gathers every life
    monkeypatch.setattr(_orderstats, "WINDOW_SIGMAS", -1e9)
    slow = simulate_missions(model, **kw)
    assert slow.attrs["order_statistics"] == "full sample"
    xr.testing.assert_identical(fast.drop_attrs(), slow.drop_attrs())
    # and both are quantile_ci / mean_ci / counts of the whole sample
    life = np.sort(_all_lives(model, 70_000, 20_000, 4, pools))
    for name, p in (("b1_life", 0.01), ("b10_life", 0.10)):
        assert np.array_equal(fast[name].values, quantile_ci(life, p, CONF), equal_nan=True)
    tm = model.simulation.mission_time
    assert int(round(float(fast["mission_reliability"][0]) * 70_000)) == np.count_nonzero(life > tm)
    if np.isfinite(life).all():
        np.testing.assert_allclose(fast["mttf"].values, mean_ci(life, CONF), rtol=1e-12)
    else:
        assert np.isinf(fast["mttf"].values).all()


def test_a_job_returns_reductions_not_every_life():
    model = _rbd()
    grid = np.linspace(0.0, model.simulation.mission_time, model.simulation.time_points)
    fr = _orderstats.window_fractions(800_000, _montecarlo.B_LIVES, CONF)
    out = _montecarlo._run_chunk(_montecarlo._Chunk(model, 100_000, 1, 0, grid, None, windows=fr))
    assert "life" not in out
    assert len(pickle.dumps(out)) < 0.1 * 100_000 * 8  # under a tenth of the lives it summarises


def test_sample_exposure_lives_into_a_buffer():
    model = _rbd()
    buf = np.empty((500, 4), order="F")
    a = _montecarlo.sample_exposure_lives(model, np.random.default_rng(2), 500, out=buf)
    b = _montecarlo.sample_exposure_lives(model, np.random.default_rng(2), 500)
    assert a is buf and np.array_equal(a, b)


# ------------------------------------------------------------------ structure evaluation
def _stacked_reference(node, T):
    """Series = argmin, parallel = argmax, k-out-of-n = (n−k+1)-th smallest over stacked children."""
    if isinstance(node, int):
        return T[:, node], np.full(len(T), node)
    parts = [_stacked_reference(c, T) for c in node.children]
    lives, causes = np.stack([p[0] for p in parts], 1), np.stack([p[1] for p in parts], 1)
    if node.type == "series":
        pick = np.argmin(lives, 1)
    elif node.type == "parallel":
        pick = np.argmax(lives, 1)
    else:
        pick = np.argpartition(lives, lives.shape[1] - node.k, axis=1)[:, lives.shape[1] - node.k]
    return np.take_along_axis(lives, pick[:, None], 1)[:, 0], np.take_along_axis(causes, pick[:, None], 1)[:, 0]


def test_folded_series_parallel_equal_stacked_argmin_argmax():
    """Ties (first child wins), inf and NaN lives (first NaN wins) as NumPy's argmin/argmax."""
    from simulation.life._rbd import Structure

    names = [f"c{i}" for i in range(9)]
    system = {"type": "series", "blocks": [
        {"type": "parallel", "blocks": ["c0", "c1", {"type": "series", "blocks": ["c2", "c3"]}]},
        {"type": "k_out_of_n", "k": 2, "blocks": ["c4", "c5", {"type": "parallel", "blocks": ["c6", "c7"]}]},
        "c8"]}
    structure = Structure(make_model(system, [expo(n) for n in names]))
    rng = np.random.default_rng(11)
    T = np.round(rng.exponential(1.0, (5000, 9)), 1)  # many ties
    T[rng.random(T.shape) < 0.03] = np.inf
    T[rng.random(T.shape) < 0.03] = np.nan
    life, cause = structure.system_life(T, T)
    ref_life, ref_cause = _stacked_reference(structure.root, T)
    assert np.array_equal(life, ref_life, equal_nan=True)
    assert np.array_equal(cause, ref_cause)
