"""Golden-batch monitoring side by side with process-improve's batch monitoring on real nylon batches.

Data: the nylon autoclave batches shipped with process-improve (``datasets/batch/nylon.csv``,
57 batches × 10 tags, 113-135 samples each, no time column: one row per sample; Kassidas 1997,
also in Wold, Kettaneh-Wold, MacGregor & Dunn 2009). Read with our importer
(:func:`golden_batch.read_batch_records`, sample period 60 s) and checked equal to
process-improve's ``load_nylon()``.

Same input for both: every batch resampled linearly to the length of batch 1
(process-improve's ``resample_to_reference``), so the comparison is of the models,
not of the alignments. Same split (a seeded permutation: 40 batches for fitting,
the other 17 held out), same number of components (A = 3), same α = 0.01.

Candidate: :class:`golden_batch.GoldenBatchModel` (no golden-batch selection, so every
training batch is used; batch-wise MPCA, envelope, on-line T²/SPE by trimmed score
regression). Baseline: ``process_improve.batch.BatchPCA`` + ``BatchMonitor`` (the
Nomikos-MacGregor on-line scheme with per-sample limits, TSR score estimates).

Measured: fit time; scoring time per batch (the on-line T²/SPE trace of one complete
batch); and the flag rates of the held-out batches: at batch end (T² or SPE above its
limit; with the exact 99 % Clopper-Pearson interval) and per sample on line. The nylon
batches are not labelled: a held-out batch is taken to be normal, so a flag rate far above
α is a false-alarm rate only if the held-out batches are indeed normal.
"""

from __future__ import annotations

import time
from importlib.resources import as_file, files

import numpy as np

from benchmarks.harness import Benchmark

ALPHA = 0.01
A = 3
N_TRAIN = 40
SAMPLE_PERIOD = 60.0


def nylon_path():
    """The nylon CSV inside the installed process-improve package."""
    return files("process_improve") / "datasets" / "batch" / "nylon.csv"


def load(step: int = 1):
    """Nylon batches resampled to batch 1's length: ``(ids, x (I, K, J), tags, raw dict)``; every ``step``-th sample."""
    from process_improve.batch import load_nylon, resample_to_reference

    from golden_batch import read_batch_records

    with as_file(nylon_path()) as path:
        ours = read_batch_records(path, sample_period=SAMPLE_PERIOD).data
    theirs = load_nylon()
    tags = list(next(iter(theirs.values())).columns)
    for bid, frame in theirs.items():  # the importer reads what process-improve reads
        n = len(frame)
        got = np.stack([ours[t].sel(batch=str(bid)).values[:n] for t in tags], axis=-1)
        if not np.array_equal(got, frame.to_numpy(dtype=float)):
            raise AssertionError(f"imported nylon batch {bid} differs from process_improve.load_nylon()")
    ref = next(iter(theirs))
    aligned = resample_to_reference(theirs, columns_to_align=tags, reference_batch=ref)
    ids = list(aligned)
    x = np.stack([aligned[b][tags].to_numpy(dtype=float)[::step] for b in ids])
    return ids, x, tags


def as_batch_set(ids, x, tags):
    from golden_batch import make_batch_set

    return make_batch_set({t: x[:, :, j] for j, t in enumerate(tags)}, np.arange(x.shape[1]) * SAMPLE_PERIOD,
                          batch_ids=[str(b) for b in ids])


def as_dict(ids, x, tags):
    import pandas as pd

    return {b: pd.DataFrame(x[i], columns=tags) for i, b in enumerate(ids)}


def main(quick: bool = False) -> dict:
    """Run the benchmark; ``quick`` keeps every second sample (about 57 per batch) and times once."""
    from process_improve.batch import BatchMonitor
    from process_improve.batch import BatchPCA as PIBatchPCA

    from golden_batch import Aligner, BatchPCA, GoldenBatchModel, GoldenSelector, clopper_pearson

    step = 2 if quick else 1
    ids, x, tags = load(step)
    n_b, n_k, n_j = x.shape
    order = np.random.default_rng(0).permutation(n_b)
    train, test = np.sort(order[:N_TRAIN]), np.sort(order[N_TRAIN:])
    bench = Benchmark("golden_vs_process_improve",
                      f"nylon (real): fit on {len(train)} batches × {n_k} samples × {n_j} tags, "
                      f"score {len(test)} held-out batches; A = {A}, α = {ALPHA}")
    ours_train = as_batch_set([ids[i] for i in train], x[train], tags)
    ours_test = as_batch_set([ids[i] for i in test], x[test], tags)
    pi_train = as_dict([ids[i] for i in train], x[train], tags)
    pi_test = as_dict([ids[i] for i in test], x[test], tags)

    def fit_ours():
        return GoldenBatchModel(GoldenSelector(alpha=None, max_modes=1), aligner=Aligner("elapsed", n_points=n_k),
                                mpca=BatchPCA(A, alpha=ALPHA), quality_model="drop").fit(ours_train)

    def fit_theirs():
        pca = PIBatchPCA(n_components=A).fit(pi_train)
        return BatchMonitor(pca, conf_level=1 - ALPHA).fit(pi_train)

    repeats = 1 if quick else 3
    row = bench.compare(f"fit on {len(train)} batches", fit_ours, fit_theirs,
                        candidate_label="GoldenBatchModel (MPCA, CV limits, TSR, envelope)",
                        baseline_label="process-improve BatchPCA + BatchMonitor (per-sample limits)",
                        repeats=repeats, warmup=0 if quick else 1, work_units=len(train), unit="batch")
    ours, theirs = fit_ours(), fit_theirs()

    one = ours_test.isel(batch=[0])
    first = next(iter(pi_test))
    bench.compare("on-line T²/SPE trace of one complete batch",
                  lambda: ours.monitor_aligned(ours.align(one)), lambda: theirs.monitor(pi_test[first]),
                  candidate_label="GoldenBatchModel.align + monitor_aligned",
                  baseline_label="process-improve BatchMonitor.monitor",
                  repeats=3, warmup=1, work_units=1, unit="batch")

    # --- flag rates of the held-out batches --------------------------------------------------
    t0 = time.perf_counter()
    check = ours.check(ours_test)
    ours_end = (check["t2"] > check["t2_limit"]) | (check["spe"] > check["spe_limit"])
    mon = ours.monitor_aligned(ours.align(ours_test))
    ours_t2_on = (mon["online_t2"] > mon["t2_limit"]).values
    ours_spe_on = (mon["online_spe"] > mon["spe_limit"]).values
    traces = [theirs.monitor(pi_test[b]) for b in pi_test]
    theirs_end = np.array([tr.t2_alarm[-1] or tr.spe_alarm[-1] for tr in traces])
    theirs_t2_on = np.stack([tr.t2_alarm for tr in traces])
    theirs_spe_on = np.stack([tr.spe_alarm for tr in traces])
    n = len(test)
    for who, end, t2_on, spe_on in (("candidate", np.asarray(ours_end.values), ours_t2_on, ours_spe_on),
                                    ("baseline", theirs_end, theirs_t2_on, theirs_spe_on)):
        k = int(end.sum())
        lo, hi = clopper_pearson(k, n, 0.99)
        bench.record(f"{who}_batch_end_flag_rate", k / n)
        bench.record(f"{who}_batch_end_flag_rate_ci99", [lo, hi])
        bench.record(f"{who}_online_t2_alarm_rate_per_sample", float(t2_on.mean()))
        bench.record(f"{who}_online_spe_alarm_rate_per_sample", float(spe_on.mean()))
        bench.record(f"{who}_batches_with_an_online_alarm", float((t2_on | spe_on).any(axis=1).mean()))
    bench.record("flagged_batches_candidate", [str(b) for b in np.asarray(check["batch"].values)[np.asarray(ours_end)]])
    bench.record("flagged_batches_baseline", [str(b) for b, f in zip(pi_test, theirs_end, strict=True) if f])
    bench.record("held_out_batches", n)
    bench.record("alpha", ALPHA)
    bench.record("fit_speedup", row["speedup"])
    bench.record("quality_eval_s", time.perf_counter() - t0)
    bench.write()
    return {"comparisons": bench.comparisons, "metrics": bench.metrics}


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
