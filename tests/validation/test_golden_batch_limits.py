"""T² and SPE control limits against independent computations (Monte Carlo of the null distribution).

* Phase II T² limit (F form, Tracy, Young & Mason 1992) vs the simulated
  distribution of T² of a new observation with mean and covariance estimated
  from ``n`` reference observations.
* Phase I T² limit (beta form) vs the simulated T² of reference observations.
* SPE limits (Jackson & Mudholkar 1979, Box 1954) vs the simulated quantile of
  the weighted chi-square ``Σ λ_j z_j²`` that SPE follows under the null.
* End to end: :class:`BatchPCA` fitted on in-control batches from a latent
  variable model; the false-alarm rate on new in-control batches is inside the
  99.9 % Clopper–Pearson interval around α.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from golden_batch import BatchPCA, spe_limit_box, spe_limit_jackson_mudholkar, t2_limit


def _binomial_ok(k: int, n: int, p: float, conf: float = 0.999) -> tuple[bool, tuple[float, float]]:
    """Is ``p`` inside the Clopper–Pearson interval of ``k`` successes in ``n``?"""
    lo = stats.beta.ppf((1 - conf) / 2, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(1 - (1 - conf) / 2, k + 1, n - k) if k < n else 1.0
    return lo <= p <= hi, (lo, hi)


@pytest.mark.parametrize("a,n", [(2, 20), (3, 30), (5, 60)])
def test_t2_phase2_limit_matches_monte_carlo(a, n):
    rng = np.random.default_rng(a * 100 + n)
    reps, alpha = 40_000, 0.05
    ref = rng.standard_normal((reps, n, a))
    mean = ref.mean(axis=1)
    d = ref - mean[:, None, :]
    cov = np.einsum("rni,rnj->rij", d, d) / (n - 1)
    x = rng.standard_normal((reps, a)) - mean
    t2 = np.einsum("ri,ri->r", x, np.linalg.solve(cov, x[..., None])[..., 0])
    limit = t2_limit(alpha, a, n, phase="II")
    exceed = int(np.sum(t2 > limit))
    ok, ci = _binomial_ok(exceed, reps, alpha)
    assert ok, f"exceedance {exceed / reps:.4f} not compatible with α={alpha} (CI {ci})"
    # and the naive chi-square limit (ignoring estimation) would be visibly wrong for small n
    if n <= 20:
        naive = stats.chi2.ppf(1 - alpha, a)
        assert np.mean(t2 > naive) > alpha * 1.3


@pytest.mark.parametrize("a,n", [(2, 15), (4, 40)])
def test_t2_phase1_limit_matches_monte_carlo(a, n):
    rng = np.random.default_rng(7 + a)
    reps, alpha = 30_000, 0.05
    ref = rng.standard_normal((reps, n, a))
    d = ref - ref.mean(axis=1, keepdims=True)
    cov = np.einsum("rni,rnj->rij", d, d) / (n - 1)
    x = d[:, 0, :]  # the first reference observation, judged against its own set
    t2 = np.einsum("ri,ri->r", x, np.linalg.solve(cov, x[..., None])[..., 0])
    limit = t2_limit(alpha, a, n, phase="I")
    ok, ci = _binomial_ok(int(np.sum(t2 > limit)), reps, alpha)
    assert ok, f"Phase I exceedance {np.mean(t2 > limit):.4f}, CI {ci}"
    assert limit < (n - 1) ** 2 / n  # the beta form is bounded


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("spectrum", ["geometric", "two-dominant"])
def test_spe_limits_match_weighted_chi_square(alpha, spectrum):
    rng = np.random.default_rng(11)
    if spectrum == "geometric":  # residual eigenvalues; h0 > 0
        lam = np.geomspace(2.0, 0.05, 25)
    else:  # a few dominant residual eigenvalues over many small ones: h0 < 0
        lam = np.concatenate([[0.19, 0.18], np.geomspace(0.07, 0.0015, 43)])
    q = rng.chisquare(1, size=(400_000, lam.size)) @ lam  # SPE under the null
    exact = np.quantile(q, 1 - alpha)
    jm = spe_limit_jackson_mudholkar(lam, alpha)
    box = spe_limit_box(q[:5000], alpha)
    # measured (seed 11): geometric ≤ 1.8 % off; two-dominant (h0 < 0) JM +5.4 %, Box −6 % at α = 1 %
    rel = 0.03 if spectrum == "geometric" else 0.07
    assert jm == pytest.approx(exact, rel=rel)
    assert box == pytest.approx(exact, rel=rel + 0.02)
    # what matters to users: the false-alarm rate each limit gives
    for limit in (jm, box):
        assert 0.6 * alpha < np.mean(q > limit) < 1.6 * alpha
    # Box's moments from the eigenvalues: m = Σλ, v = 2Σλ² gives the same limit as the sample moments
    g, h = lam @ lam / lam.sum(), lam.sum() ** 2 / (lam @ lam)
    assert g * stats.chi2.ppf(1 - alpha, h) == pytest.approx(box, rel=0.05)


def _latent_batches(rng, n, k=12, j=4, a=3, noise=0.3, loadings=None):
    p = loadings if loadings is not None else np.linalg.qr(rng.standard_normal((k * j, a)))[0] * 6
    t = rng.standard_normal((n, a)) * np.array([3.0, 2.0, 1.0])
    x = t @ p.T + noise * rng.standard_normal((n, k * j))
    return x.reshape(n, k, j), p


@pytest.mark.parametrize("spe_method", ["box", "jackson-mudholkar"])
def test_batch_pca_false_alarm_rate_is_alpha(spe_method):
    rng = np.random.default_rng(3)
    alpha = 0.05
    train, p = _latent_batches(rng, 300)
    model = BatchPCA(3, alpha=alpha, spe_method=spe_method).fit(train)
    new, _ = _latent_batches(rng, 4000, loadings=p)
    s = model.score_samples(new)
    for stat, limit in (("t2", model.t2_limit_), ("spe", model.spe_limit_)):
        k = int(np.sum(s[stat].values > limit))
        # the limits use estimated loadings and scaling: allow the 99.9 % CI plus 1.5 points
        rate = k / len(new)
        assert abs(rate - alpha) < 0.015 + 3 * np.sqrt(alpha * (1 - alpha) / len(new)), (stat, rate)


def test_online_limits_false_alarm_rate():
    """Per-time on-line T² (trimmed score regression) and SPE limits hold α on new batches."""
    from golden_batch import Aligner, GoldenBatchModel, GoldenSelector, make_batch_set

    rng = np.random.default_rng(5)
    x, p = _latent_batches(rng, 160)
    new, _ = _latent_batches(rng, 400, loadings=p)
    time = np.arange(x.shape[1]) * 60.0

    def as_set(arr, offset):
        return make_batch_set({f"v{j}": arr[:, :, j] for j in range(arr.shape[2])}, time,
                              batch_ids=[f"B{offset + i:05d}" for i in range(arr.shape[0])])

    model = GoldenBatchModel(GoldenSelector(alpha=None, max_modes=1),
                             aligner=Aligner("elapsed", n_points=x.shape[1]),
                             mpca=BatchPCA(n_components=3, alpha=0.05), quality_model="drop").fit(as_set(x, 0))
    mon = model.monitor_aligned(model.align(as_set(new, 10_000)))
    t2_rate = float((mon.online_t2 > mon.t2_limit).mean())
    spe_rate = float((mon.online_spe > mon.spe_limit).mean())
    print(f"on-line false-alarm rates at α=0.05: T² {t2_rate:.3f}, SPE {spe_rate:.3f}")
    assert abs(t2_rate - 0.05) < 0.02, t2_rate
    assert abs(spe_rate - 0.05) < 0.02, spe_rate
