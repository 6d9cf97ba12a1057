"""Detection performance of a golden-batch model on labelled batches.

For each batch the on-line statistics (:meth:`GoldenBatchModel.monitor_aligned`)
raise an alarm at the first grid point where T² or SPE exceeds its limit for
``n_consecutive`` grid points in a row (a run rule that trades a little delay for
far fewer false alarms on autocorrelated statistics). The delay is measured in
the batch's own elapsed time (``warped_time``) from the labelled fault onset.
The complete-batch statistics (batch-level T², SPE) are reported beside, since
their false-alarm probability per batch is exactly the model's α under the null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

__all__ = ["detection_table", "detection_summary", "clopper_pearson"]


def clopper_pearson(k: int, n: int, conf: float = 0.99) -> tuple[float, float]:
    """Exact binomial confidence interval of a proportion ``k/n`` (Clopper & Pearson 1934)."""
    lo = float(stats.beta.ppf((1 - conf) / 2, k, n - k + 1)) if k > 0 else 0.0
    hi = float(stats.beta.ppf(1 - (1 - conf) / 2, k + 1, n - k)) if k < n else 1.0
    return lo, hi


def _first_run(flags: np.ndarray, n: int) -> int:
    """Index where the first run of ``n`` consecutive True values completes, or -1."""
    if n <= 1:
        idx = np.flatnonzero(flags)
        return int(idx[0]) if idx.size else -1
    run = np.convolve(flags.astype(int), np.ones(n, int), mode="valid")
    idx = np.flatnonzero(run == n)
    return int(idx[0] + n - 1) if idx.size else -1


def detection_table(model, batches: xr.Dataset, *, n_consecutive: int = 3) -> pd.DataFrame:
    """One row per batch: fault label, batch-level alarms, on-line first alarm and delay.

    Parameters
    ----------
    model
        A fitted :class:`~golden_batch.GoldenBatchModel`.
    batches
        Raw batches with ``fault`` (str, "" for normal) and ``fault_start`` (s) labels.
    n_consecutive
        Run length of the on-line alarm rule.
    """
    aligned = model.align(batches)
    mon = model.monitor_aligned(aligned)
    final = model.mpca_.score_samples(aligned)
    over = (mon.online_t2 > mon.t2_limit) | (mon.online_spe > mon.spe_limit)
    wt = aligned["warped_time"].values if "warped_time" in aligned else np.broadcast_to(
        aligned["time"].values, over.shape)
    faults = batches["fault"].values.astype(str) if "fault" in batches else np.full(batches.sizes["batch"], "")
    starts = batches["fault_start"].values if "fault_start" in batches else np.full(batches.sizes["batch"], np.nan)
    rows = []
    for b, bid in enumerate(aligned["batch"].values):
        k = _first_run(over.values[b], n_consecutive)
        t_alarm = float(wt[b, k]) if k >= 0 else np.nan
        rows.append({
            "batch": str(bid), "fault": faults[b],
            "final_t2_alarm": bool(final["t2"].values[b] > model.mpca_.t2_limit_),
            "final_spe_alarm": bool(final["spe"].values[b] > model.mpca_.spe_limit_),
            "online_t2_rate": float((mon.online_t2.values[b] > mon.t2_limit.values).mean()),
            "online_spe_rate": float((mon.online_spe.values[b] > mon.spe_limit.values).mean()),
            "online_alarm": k >= 0,
            "alarm_time_s": t_alarm,
            "delay_s": t_alarm - starts[b] if faults[b] and k >= 0 else np.nan,
            "alarm_before_fault": bool(faults[b] and k >= 0 and t_alarm < starts[b]),
        })
    return pd.DataFrame(rows).set_index("batch")


def detection_summary(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per fault type: batches, detection rate, median/max delay; for normal batches false-alarm rates.

    Detection counts an on-line alarm at or after the fault onset, or the
    complete-batch T²/SPE alarm. Normal rows give the rates with 99 % Clopper–Pearson
    intervals in ``*_ci`` columns.
    """
    rows = []
    for fault, g in table.groupby("fault"):
        n = len(g)
        if fault == "":
            final = g["final_t2_alarm"] | g["final_spe_alarm"]
            t2k, spek = int(g["final_t2_alarm"].sum()), int(g["final_spe_alarm"].sum())
            rows.append({
                "fault": "none", "batches": n,
                "final_t2_false_alarm_rate": t2k / n, "final_t2_ci": clopper_pearson(t2k, n),
                "final_spe_false_alarm_rate": spek / n, "final_spe_ci": clopper_pearson(spek, n),
                "final_any_false_alarm_rate": float(final.mean()),
                "online_t2_sample_rate": float(g["online_t2_rate"].mean()),
                "online_spe_sample_rate": float(g["online_spe_rate"].mean()),
                "online_batch_false_alarm_rate": float(g["online_alarm"].mean()),
                "alpha": alpha,
            })
        else:
            online = g["online_alarm"] & ~g["alarm_before_fault"]
            final = g["final_t2_alarm"] | g["final_spe_alarm"]
            d = g.loc[online, "delay_s"]
            rows.append({
                "fault": fault, "batches": n,
                "online_detection_rate": float(online.mean()),
                "final_detection_rate": float(final.mean()),
                "detection_rate": float((online | final).mean()),
                "median_delay_s": float(d.median()) if len(d) else np.nan,
                "max_delay_s": float(d.max()) if len(d) else np.nan,
            })
    return pd.DataFrame(rows).set_index("fault")
