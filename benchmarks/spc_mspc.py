"""MSPC of a continuous process: scoring cost per sample and fit time on 10⁶ × 50 with bounded memory.

Candidate: :class:`spc.PCAMonitor` – ``score_samples`` (T², SPE, limits, flags, scores and the
exact T² and SPE contributions of every variable, missing-value handling) and ``fit`` (row
chunks, one K × K cross-product per fold: memory bounded by a chunk, not by the data).

Baseline: scikit-learn ``StandardScaler`` + ``PCA`` (full SVD of the scaled copy of the data)
for the fit; ``PCA.transform`` plus T² and SPE by hand (no contributions) for scoring, with
the same Tracy–Young–Mason and Jackson–Mudholkar limits.

Quality beside speed: the largest T² difference between the two (same model), and the
false-alarm rates of both on held-out normal samples (target α = 0.01). Memory: the peak of
allocations during each fit beyond the data itself (``tracemalloc``, which numpy reports to).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from benchmarks.harness import Benchmark

ALPHA = 0.01
A = 5
K = 60  # scoring: ≥ 50 variables
K_FIT = 50


class SklearnMonitor:
    """StandardScaler + PCA with T², SPE and limits computed by hand (the baseline)."""

    def fit(self, x: np.ndarray) -> SklearnMonitor:
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        from golden_batch import spe_limit_jackson_mudholkar, t2_limit

        self.scaler = StandardScaler().fit(x)
        z = self.scaler.transform(x) * np.sqrt(len(x) / (len(x) - 1))  # ddof=1 scaling, as the candidate
        self.pca = PCA(svd_solver="full").fit(z)  # every eigenvalue, for the Jackson–Mudholkar limit
        resid = self.pca.explained_variance_[A:]
        # keep A components for transform (PCA(A) runs the same full SVD and would drop the rest)
        self.pca.components_ = self.pca.components_[:A]
        self.pca.explained_variance_ = self.pca.explained_variance_[:A]
        self.pca.n_components_ = A
        self.t2_limit = t2_limit(ALPHA, A, len(x))
        self.spe_limit = spe_limit_jackson_mudholkar(resid, ALPHA)
        return self

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self.scaler.transform(x) * np.sqrt(self.scaler.n_samples_seen_ / (self.scaler.n_samples_seen_ - 1))
        t = self.pca.transform(z)
        t2 = np.sum(t * t / self.pca.explained_variance_, axis=1)
        r = z - self.pca.inverse_transform(t)
        return t2, np.sum(r * r, axis=1)


def _peak_mb(fn) -> tuple[float, object]:
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6, out


def main(quick: bool = False) -> dict:
    """Run the benchmark; ``quick`` scores 2 000 samples and fits 10⁵ × 50."""
    from spc import PCAMonitor, make_process_data

    n_train, n_score = (2000, 2000) if quick else (20000, 20000)
    n_fit = 100_000 if quick else 1_000_000
    bench = Benchmark("spc_mspc", f"PCA monitor: scoring {n_score} × {K} samples, fit on {n_fit} × {K_FIT}")

    # --- scoring --------------------------------------------------------------------------------
    train = make_process_data(n_train, n_variables=K, n_latent=A, seed=1, structure_seed=3)
    held = make_process_data(n_score, n_variables=K, n_latent=A, seed=2, structure_seed=3)
    model = PCAMonitor(A, alpha=ALPHA).fit(train)
    base = SklearnMonitor().fit(train.to_numpy())
    held_np = held.to_numpy()

    row = bench.compare(
        f"score {n_score} samples × {K} variables",
        lambda: model.score_arrays(held_np), lambda: base.score(held_np),
        candidate_label="PCAMonitor.score_arrays (T², SPE, flags, scores, exact contributions, missing-value check)",
        baseline_label="sklearn PCA.transform + T²/SPE by hand (no contributions)",
        repeats=5, warmup=1, work_units=n_score, unit="sample",
        quality=lambda c, b: {"max_abs_t2_difference": float(np.max(np.abs(c["t2"] - b[0]))),
                              "max_abs_spe_difference": float(np.max(np.abs(c["spe"] - b[1])))},
    )
    bench.record("score_us_per_sample_candidate", row["candidate"]["median_s"] / n_score * 1e6)
    bench.record("score_us_per_sample_baseline", row["baseline"]["median_s"] / n_score * 1e6)
    one = held_np[:1]
    for label, fn in (("score_us_single_sample_candidate", lambda: model.score_arrays(one)),
                      ("score_us_single_sample_baseline", lambda: base.score(one))):
        fn()
        t0 = time.perf_counter()
        for _ in range(200):
            fn()
        bench.record(label, (time.perf_counter() - t0) / 200 * 1e6)
    t0 = time.perf_counter()
    model.score_samples(held)
    bench.record("score_samples_dataset_us_per_sample", (time.perf_counter() - t0) / n_score * 1e6)
    s = model.score_samples(held)
    bt2, bspe = base.score(held_np)
    bench.record("candidate_t2_false_alarm_rate", float(s["t2_alarm"].mean()))
    bench.record("candidate_spe_false_alarm_rate", float(s["spe_alarm"].mean()))
    bench.record("baseline_t2_false_alarm_rate", float(np.mean(bt2 > base.t2_limit)))
    bench.record("baseline_spe_false_alarm_rate", float(np.mean(bspe > base.spe_limit)))
    bench.record("alpha", ALPHA)

    # --- fit on 10⁶ × 50 --------------------------------------------------------------------------
    big = make_process_data(n_fit, n_variables=K_FIT, n_latent=A, seed=4).to_numpy()
    data_mb = big.nbytes / 1e6
    row = bench.compare(
        f"fit {n_fit} samples × {K_FIT} variables (A = {A}, Jackson–Mudholkar)",
        lambda: PCAMonitor(A, alpha=ALPHA).fit(big), lambda: SklearnMonitor().fit(big),
        candidate_label="PCAMonitor.fit (chunked covariance)",
        baseline_label="sklearn StandardScaler + PCA (full SVD of the scaled copy)",
        repeats=1 if not quick else 2, warmup=0, work_units=n_fit, unit="sample",
        quality=lambda c, b: {"t2_limit_difference": abs(c.t2_limit_ - b.t2_limit),
                              "spe_limit_relative_difference": abs(c.spe_limit_ / b.spe_limit - 1)},
    )
    cand_mb, _ = _peak_mb(lambda: PCAMonitor(A, alpha=ALPHA).fit(big))
    base_mb, _ = _peak_mb(lambda: SklearnMonitor().fit(big))
    bench.record("fit_data_mb", data_mb)
    bench.record("fit_peak_extra_mb_candidate", cand_mb)
    bench.record("fit_peak_extra_mb_baseline", base_mb)
    t0 = time.perf_counter()
    cv = PCAMonitor("cv", alpha=ALPHA, max_components=10).fit(big)
    bench.record("fit_with_cross_validation_s", time.perf_counter() - t0)
    bench.record("fit_with_cross_validation_components", cv.n_components_)
    bench.write()
    return {"comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
