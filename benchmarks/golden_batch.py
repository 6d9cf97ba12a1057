"""Golden-batch analytics: MPCA fit on 1,000 × 500 × 20 and per-sample on-line latency.

Candidate: :class:`golden_batch.BatchPCA` (batch-wise unfolded MPCA with
cross-validated SPE limits and per-time trimmed-score-regression matrices) and
:class:`golden_batch.MonitorSession` (one sample: alignment, envelope flags,
on-line T², SPE, contributions, quality prediction).

Baseline: the straightforward per-time-slice approach with scikit-learn – one
``sklearn.decomposition.PCA`` per time point fitted on the ``I × J`` slice, and
on line ``pca_k.transform`` plus T²/SPE of that slice for each sample.

Quality beside speed: the per-sample false-alarm rate of both monitors on
held-out normal batches at α = 0.01 (target: α).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.harness import Benchmark

ALPHA = 0.01
N_COMPONENTS = 5


def _data(n_batches: int, n_samples: int, n_vars: int, seed: int) -> np.ndarray:
    from golden_batch import Aligner, make_synthetic_history

    raw = make_synthetic_history(n_batches, seed=seed, n_samples=n_samples, n_variables=n_vars, warp=0.0)
    aligned = Aligner("elapsed", n_points=n_samples).fit_transform(raw)
    names = [v for v in aligned.data_vars if aligned[v].attrs.get("role") == "trajectory"]
    return np.stack([aligned[v].values for v in names], -1)


class SliceBaseline:
    """Per-time-slice PCA monitor with scikit-learn (the baseline)."""

    def fit(self, x: np.ndarray) -> SliceBaseline:
        from sklearn.decomposition import PCA

        from golden_batch import spe_limit_box, t2_limit

        i, k, j = x.shape
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0, ddof=1) + 1e-12
        self.models, self.spe_limits = [], np.empty(k)
        for t in range(k):
            z = (x[:, t] - self.mean[t]) / self.std[t]
            pca = PCA(N_COMPONENTS).fit(z)
            r = z - pca.inverse_transform(pca.transform(z))
            self.models.append(pca)
            self.spe_limits[t] = spe_limit_box(np.sum(r * r, axis=1), ALPHA)
        self.t2_limit = t2_limit(ALPHA, N_COMPONENTS, i)
        return self

    def sample(self, t: int, x: np.ndarray) -> tuple[float, float]:
        z = ((x - self.mean[t]) / self.std[t])[None]
        pca = self.models[t]
        s = pca.transform(z)
        t2 = float(np.sum(s**2 / pca.explained_variance_))
        r = z - pca.inverse_transform(s)
        return t2, float(np.sum(r * r))


def main(quick: bool = False) -> dict:
    """Run the benchmark; ``quick`` uses 100 × 100 × 20."""
    from golden_batch import Aligner, BatchPCA, GoldenBatchModel, GoldenSelector, make_batch_set

    n_b, n_s, n_v = (100, 100, 20) if quick else (1000, 500, 20)
    bench = Benchmark("golden_batch", f"MPCA fit on {n_b}×{n_s}×{n_v} and per-sample on-line monitoring")
    n_held = 20 if quick else 200
    data = _data(n_b + n_held, n_s, n_v, seed=1)  # one generator: same variable definitions
    x, held = data[:n_b], data[n_b:]

    # --- fit ---------------------------------------------------------------------------
    bench.compare(
        f"fit {n_b} batches × {n_s} samples × {n_v} variables",
        lambda: BatchPCA(N_COMPONENTS, alpha=ALPHA).fit(x),
        lambda: SliceBaseline().fit(x),
        candidate_label="BatchPCA (batch-wise MPCA, CV limits, TSR matrices)",
        baseline_label="500 × sklearn PCA per time slice" if not quick else "sklearn PCA per time slice",
        repeats=1 if not quick else 2, warmup=0, work_units=n_b, unit="batch",
    )

    # --- on-line latency ------------------------------------------------------------------
    n_fit = min(n_b, 200)
    time_grid = np.arange(n_s) * 60.0

    def as_set(arr):
        return make_batch_set({f"v{j:02d}": arr[:, :, j] for j in range(arr.shape[2])}, time_grid)

    model = GoldenBatchModel(GoldenSelector(alpha=None, max_modes=1),
                             aligner=Aligner(method="elapsed", n_points=n_s),
                             mpca=BatchPCA(n_components=N_COMPONENTS, alpha=ALPHA),
                             quality_model="drop").fit(as_set(x[:n_fit]))
    baseline = SliceBaseline().fit(x[:n_fit])
    batch = held[0]
    names = model.aligner_.variables_

    def run_candidate():
        s = model.start()
        for k in range(n_s):
            s.update(time_grid[k], batch[k])
        return s

    def run_baseline():
        return [baseline.sample(k, batch[k]) for k in range(n_s)]

    row = bench.compare(
        f"on-line monitoring, one batch of {n_s} samples × {len(names)} variables",
        run_candidate, run_baseline,
        candidate_label="MonitorSession.update (align + envelope + T² + SPE + contributions)",
        baseline_label="sklearn PCA.transform per time slice (T² + SPE only)",
        repeats=3, warmup=1, work_units=n_s, unit="sample",
    )
    per_sample_ms = row["candidate"]["median_s"] / n_s * 1e3
    bench.record("online_latency_ms_per_sample", per_sample_ms)
    bench.record("online_latency_target_ms", 1.0)
    bench.record("online_latency_meets_target", bool(per_sample_ms < 1.0))
    bench.record("baseline_latency_ms_per_sample", row["baseline"]["median_s"] / n_s * 1e3)

    # --- quality: false-alarm rates on held-out normal batches ------------------------------
    t0 = time.perf_counter()
    mon = model.monitor_aligned(model.align(as_set(held)))
    bench.record("candidate_online_t2_false_alarm_rate", float((mon.online_t2 > mon.t2_limit).mean()))
    bench.record("candidate_online_spe_false_alarm_rate", float((mon.online_spe > mon.spe_limit).mean()))
    base_t2, base_spe = [], []
    for b in range(held.shape[0]):
        res = np.array([baseline.sample(k, held[b, k]) for k in range(n_s)])
        base_t2.append(res[:, 0] > baseline.t2_limit)
        base_spe.append(res[:, 1] > baseline.spe_limits)
    bench.record("baseline_online_t2_false_alarm_rate", float(np.mean(base_t2)))
    bench.record("baseline_online_spe_false_alarm_rate", float(np.mean(base_spe)))
    bench.record("alpha", ALPHA)
    bench.record("quality_eval_s", time.perf_counter() - t0)
    bench.write()
    return {"comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
