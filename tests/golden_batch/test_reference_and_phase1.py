"""The two causes of held-out false alarms above α on the synthetic history (issue 19 §4).

* The DTW reference was one batch (the one of median duration): which batch that
  was decided how well new batches aligned. The default reference is now the
  averaged one of Kassidas et al. (1998) – the same whichever few batches Phase I drops.
* Phase I repeats its Bonferroni test on the trimmed set, whose narrower limits
  "peel" normal tail batches round after round; ``max_iterations=1`` keeps one round.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden_batch as gb


@pytest.fixture(scope="module")
def history():
    return gb.make_synthetic_history(40, seed=3)


def _without_middle(ds):
    """The history without the three batches of median duration (the median batch changes)."""
    order = np.argsort(np.nanmax(ds["elapsed"].values, axis=1))
    keep = np.setdiff1d(np.arange(ds.sizes["batch"]), order[19:22])
    return ds.isel(batch=keep)


def test_default_reference_is_the_average_fixed_point(history):
    al = gb.Aligner("dtw").fit(history)
    assert al.reference == "average"
    ref = al.reference_values_
    aligned = al.transform(history)
    mean = np.stack([aligned[v].values for v in al.variables_], axis=-1).mean(axis=0)
    # one more Kassidas iteration hardly moves it: it is (nearly) the mean aligned trajectory
    step = np.abs(al._standardise(mean) - al._standardise(ref))
    assert np.mean(step) < 0.05
    single = gb.Aligner("dtw", reference="median").fit(history)
    assert single.reference_batch_ == al.reference_batch_  # same grid batch
    assert np.mean(np.abs(al._standardise(single.reference_values_) - al._standardise(ref))) > 0.1
    np.testing.assert_array_equal(al.grid_, single.grid_)


def test_average_reference_hardly_changes_when_batches_are_dropped(history):
    dropped = _without_middle(history)
    change = {}
    for ref in ("median", "average"):
        a, b = gb.Aligner("dtw", reference=ref).fit(history), gb.Aligner("dtw", reference=ref).fit(dropped)
        assert a.reference_batch_ != b.reference_batch_
        n = min(a.grid_.size, b.grid_.size)
        change[ref] = float(np.mean(np.abs(a._standardise(a.reference_values_[:n])
                                           - a._standardise(b.reference_values_[:n]))))
    # measured: 0.29 (one batch as the reference) vs 0.07 (the average)
    assert change["average"] < 0.5 * change["median"], change


def test_average_reference_round_trips_and_aligns_on_line(history, tmp_path):
    al = gb.Aligner("dtw").fit(history)
    back = gb.Aligner.from_dataset(al.to_dataset())
    np.testing.assert_allclose(back.reference_values_, al.reference_values_)
    assert back.transform(history.isel(batch=[0]))["dtw_distance"].item() == pytest.approx(
        al.transform(history.isel(batch=[0]))["dtw_distance"].item())


def _heavy_tailed_history(seed=7, n=100, k=40):
    """Normal batches whose latent disturbances are t(1.5): heavy-tailed T², no faults."""
    rng = np.random.default_rng(seed)
    lat = rng.standard_t(1.5, (n, 4))
    t = np.linspace(0, 1, k)
    basis = np.stack([np.sin(np.pi * (i + 1) * t) for i in range(4)])
    x = {f"v{j}": lat @ (basis * rng.standard_normal((4, 1))) + 0.3 * rng.standard_normal((n, k)) for j in range(5)}
    ds = gb.make_batch_set(x, np.arange(k) * 60.0)
    return gb.Aligner("elapsed", n_points=k).fit_transform(ds)


def test_phase1_rounds_peel_heavy_tails():
    al = _heavy_tailed_history()
    one = gb.select_golden(al, n_components=4, max_iterations=1)
    again = gb.select_golden(al, n_components=4)
    removed_one, removed_again = int(one.table["outlier"].sum()), int(again.table["outlier"].sum())
    # repeated rounds on the trimmed set peel more normal tail batches (measured 4 vs 8)
    assert 0 < removed_one < removed_again
    levels = {r.rsplit("=", 1)[-1] for r in one.table.loc[one.table["outlier"], "reason"]}
    assert levels == {" 5e-05)"}  # every removal at the first round's α/(2n), n = 100


def test_online_dtw_of_a_shorter_batch_reaches_the_end(history):
    """A batch 10 % shorter than the reference (every 10th sample of it dropped) reaches its last point on line.

    With symmetric rows each skipped reference point costs one more path cell, and
    ``argmin_j D[i, j]`` ended short of the end (the asymmetric rows count one cost per sample).
    """
    al = gb.Aligner("dtw", reference="median", online_window=0.3).fit(history)
    ref = al.reference_values_
    keep = np.flatnonzero(np.arange(ref.shape[0]) % 10 != 5)
    el = np.arange(keep.size) * 60.0
    for seed in range(5):  # measured: symmetric rows ended 1-3 points short in each of these
        rng = np.random.default_rng(seed)
        x = ref[keep] + 0.3 * al.scale_ * rng.standard_normal((keep.size, ref.shape[1]))
        online = al.start()
        pos = [online.update(t, row) for t, row in zip(el, x, strict=True)]
        assert pos[-1] == al.grid_.size - 1, seed
