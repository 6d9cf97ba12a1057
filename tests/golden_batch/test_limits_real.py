"""Limits that hold (issue 19 §4): Phase I trimming, operating modes, order independence, real data.

Real data: the nylon batch data set shipped by process-improve (MIT; 57 batches of
10 tags; Tag01 is the recipe step 1-5, read as the phase). It has no quality
labels, so every batch counts as normal; the held-out flag rate is reported with
its Clopper–Pearson interval (docs/golden-batch.md) and tested against a stated
tolerance below.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

import golden_batch as gb

DATA = importlib.resources.files("process_improve") / "datasets" / "batch"


@pytest.fixture(scope="module")
def nylon():
    return gb.read_history(DATA / "nylon.csv", phase="Tag01", sample_period=60.0)


@pytest.fixture(scope="module")
def nylon_aligned(nylon):
    return gb.Aligner("elapsed", n_points=60).fit_transform(nylon)


def test_real_history_reads_with_phase_and_sample_period(nylon):
    assert nylon.sizes["batch"] == 57 and "Tag01" not in gb.trajectory_variables(nylon)
    assert nylon["phase"].attrs["phase_names"] == "1,2,3,4,5"
    lengths = gb.batch_lengths(nylon)
    assert lengths.min() == 113 and lengths.max() == 135
    assert float(nylon["elapsed"].isel(batch=0, sample=2)) == 120.0


def test_phase1_trimming_is_family_wise_and_capped(nylon_aligned):
    sel = gb.select_golden(nylon_aligned, alpha=0.01)
    removed = int(sel.table["outlier"].sum())
    assert removed <= 0.1 * 57  # per-batch tests at α removed about a quarter of it
    assert all("Bonferroni" in r for r in sel.table.loc[sel.table["outlier"], "reason"])
    capped = gb.select_golden(nylon_aligned, alpha=0.5, max_outlier_fraction=0.05)
    assert int(capped.table["outlier"].sum()) <= 2


def test_modes_are_opt_in_and_need_clear_separation(nylon_aligned):
    assert len(gb.select_golden(nylon_aligned, alpha=None).selected) == 57  # no modes by default
    rng = np.random.default_rng(5)
    n, k = 80, 30
    skewed = 1 + 0.2 * rng.standard_normal(n)  # one continuous family: no modes
    x = skewed[:, None, None] * np.linspace(1, 2, k)[None, :, None] + 0.05 * rng.standard_normal((n, k, 2))
    ds = gb.make_batch_set({"a": x[..., 0], "b": x[..., 1]}, np.arange(k) * 60.0)
    al = gb.Aligner("elapsed", n_points=k).fit_transform(ds)
    sel = gb.select_golden(al, max_modes=3)
    assert sel.n_modes == 1 and len(sel.selected) == n


def test_limits_do_not_depend_on_batch_order(nylon_aligned):
    perm = np.random.default_rng(1).permutation(57)
    a = gb.BatchPCA(4, alpha=0.05).fit(nylon_aligned)
    b = gb.BatchPCA(4, alpha=0.05).fit(nylon_aligned.isel(batch=perm))
    np.testing.assert_allclose(b.spe_limit_, a.spe_limit_, rtol=1e-8)
    np.testing.assert_allclose(b.online_spe_limit_, a.online_spe_limit_, rtol=1e-8)
    np.testing.assert_allclose(np.sort(b.spe_reference_), np.sort(a.spe_reference_), rtol=1e-8)


def test_conformal_limit_holds_on_heavy_tails():
    """Monte Carlo: a new lognormal value exceeds the conformal limit of 39 others at most α of the time."""
    rng = np.random.default_rng(0)
    reps, n, alpha = 4000, 39, 0.05
    ref = rng.lognormal(0, 1.5, (reps, n))
    new = rng.lognormal(0, 1.5, reps)
    lim = gb.conformal_limit(ref, alpha)
    k = int(np.sum(new > lim))
    lo, hi = gb.clopper_pearson(k, reps, 0.99)
    assert lo <= alpha  # exact: P(exceed) = 1 - ⌈(1-α)(n+1)⌉/(n+1) = 0.05 here
    assert np.isinf(gb.conformal_limit(ref[0, :10], 0.01))


def test_held_out_normal_batches_flagged_near_alpha(nylon):
    """5-fold by batch (seeded): every batch is scored by a model that never saw it.

    Stated tolerance: for T² and for SPE separately, the number of flagged batches
    is not significantly above α – α is at or above the lower end of its 99 %
    Clopper–Pearson interval. (The nylon set has no labels: a few batches may truly
    be abnormal, so the test cannot also demand the upper end.)
    """
    alpha = 0.05
    ids = np.sort(nylon["batch"].values)
    fold = np.empty(ids.size, int)
    fold[np.random.default_rng(0).permutation(ids.size)] = np.arange(ids.size) % 5
    t2 = spe = 0
    for f in range(5):
        model = gb.GoldenBatchModel(aligner=gb.Aligner("elapsed", n_points=60), mpca=gb.BatchPCA(0.8, alpha=alpha),
                                    quality_model="drop").fit(nylon.sel(batch=ids[fold != f]))
        c = model.check(nylon.sel(batch=ids[fold == f]))
        t2 += int((c["t2"] > c["t2_limit"]).sum())
        spe += int((c["spe"] > c["spe_limit"]).sum())
    for k in (t2, spe):
        lo, _ = gb.clopper_pearson(k, ids.size, 0.99)
        assert lo <= alpha, (t2, spe)
