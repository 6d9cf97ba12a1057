"""Alignment checks: zero-width envelope of identical batches, DTW recovers a known warp,
our DTW equals dtaidistance's, on-line open-end DTW follows the warp of a running batch."""

from __future__ import annotations

import numpy as np
import pytest

from golden_batch import Aligner, Envelope, dtw_path, make_batch_set, make_synthetic_history


@pytest.mark.parametrize("method", ["elapsed", "indicator", "dtw"])
def test_identical_batches_give_zero_width_envelope(method):
    hist = make_synthetic_history(8, seed=4, identical=True)
    aligned = Aligner(method, indicator="conversion", n_points=80).fit_transform(hist)
    env = Envelope(3.0, quantiles=(0.01, 0.99)).fit(aligned)
    assert np.all(np.isfinite(env.mean_))
    scale = np.abs(env.mean_).max(axis=0) + 1e-30
    assert np.max((env.upper_ - env.lower_) / scale) < 1e-9
    assert np.max((env.q_upper_ - env.q_lower_) / scale) < 1e-9
    assert env.violation(aligned[env.variables_].isel(batch=0)) == 0.0


def _signal(s: np.ndarray) -> np.ndarray:
    """A 3-variable trajectory with distinct features along normalised time ``s`` in [0, 1]."""
    return np.stack([np.sin(3 * np.pi * s) + 2 * s, np.exp(-((s - 0.4) / 0.08) ** 2), np.tanh(8 * (s - 0.7))], -1)


def _warp(u: np.ndarray) -> np.ndarray:
    """Known monotone time warp of [0, 1] onto itself (query time u → reference time)."""
    return u + 0.12 * np.sin(np.pi * u) * (1 - u)


@pytest.mark.parametrize("n_query", [160, 240])
def test_dtw_recovers_known_time_warp(n_query):
    n_ref = 200
    ref = _signal(np.linspace(0, 1, n_ref))
    u = np.linspace(0, 1, n_query)
    query = _signal(_warp(u))
    path, dist = dtw_path(query, ref, window=0.25)
    # reference index each query sample maps to (mean over the path), against the true warp
    mapped = np.bincount(path[:, 0], weights=path[:, 1]) / np.bincount(path[:, 0])
    truth = _warp(u) * (n_ref - 1)
    err = np.abs(mapped - truth)
    assert err.max() < 3.0, err.max()  # grid points
    assert err.mean() < 1.0, err.mean()
    # without warping the same comparison is far off (the check can fail)
    naive = u * (n_ref - 1)
    assert np.abs(naive - truth).max() > 10


def test_dtw_matches_dtaidistance():
    from dtaidistance import dtw_ndim

    rng = np.random.default_rng(0)
    a = np.cumsum(rng.standard_normal((90, 3)), axis=0)
    b = np.cumsum(rng.standard_normal((110, 3)), axis=0)
    path, dist = dtw_path(a, b, window=1.0)
    assert dist == pytest.approx(dtw_ndim.distance(a, b), rel=1e-9)
    # the path's cost equals the distance (it is optimal)
    cost = np.sqrt(np.sum((a[path[:, 0]] - b[path[:, 1]]) ** 2))
    assert cost == pytest.approx(dist, rel=1e-9)
    ref_path = np.asarray(dtw_ndim.warping_path(a, b))
    ref_cost = np.sqrt(np.sum((a[ref_path[:, 0]] - b[ref_path[:, 1]]) ** 2))
    assert cost == pytest.approx(ref_cost, rel=1e-9)


def test_aligner_dtw_recovers_warp_and_online_follows():
    n_ref = 150
    t_ref = np.linspace(0, 1, n_ref)
    ref = _signal(t_ref)
    n_q = 180
    u = np.linspace(0, 1, n_q)
    q = _signal(_warp(u))
    el_ref, el_q = t_ref * 9000.0, u * 9000.0 * (n_q - 1) / (n_ref - 1)
    arr = np.full((2, n_q, 3), np.nan)
    arr[0, :n_ref], arr[1] = ref, q
    elapsed = np.full((2, n_q), np.nan)
    elapsed[0, :n_ref], elapsed[1] = el_ref, el_q
    ds = make_batch_set({f"v{j}": arr[:, :, j] for j in range(3)}, elapsed)
    al = Aligner("dtw", window=0.25, reference="B0000").fit(ds)
    out = al.transform(ds)
    # the warped batch lands on the reference trajectory
    got = np.stack([out[f"v{j}"].values[1] for j in range(3)], -1)
    assert np.max(np.abs(got - ref)) < 0.1
    # on line (open-end DTW) the grid position follows the true warp
    online = al.start()
    pos = np.array([online.update(el_q[i], q[i]) for i in range(n_q)])
    truth = _warp(u) * (n_ref - 1)
    assert np.median(np.abs(pos - truth)) <= 2.0
    assert np.max(np.abs(pos - truth)[20:]) < 8.0
