"""Per-batch data-quality summary of imported batch records, shown before anything is modelled.

For each batch of a raw batch set: its length (samples and duration), the missing cells
of every tag, *frozen* runs (the same value repeated for at least ``frozen`` consecutive
samples: a stuck sensor or a historian that stopped updating and repeats the last
value), values outside a plausible range given per tag, and the time-order faults the
reader found in the file (:class:`golden_batch.TimeOrder`: repeated and backward times).
These are the completeness, validity and consistency dimensions of data quality
(DAMA UK, *The six primary dimensions for data quality assessment*, 2013).

The summary only describes; nothing is dropped or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from golden_batch._batchset import trajectory_variables
from golden_batch._records import TimeOrder
from workbench.errors import ConfigError, did_you_mean

__all__ = ["BatchDataQuality", "data_quality_summary", "frozen_runs"]


@dataclass(frozen=True)
class BatchDataQuality:
    """What the data-quality summary found in one batch.

    Attributes
    ----------
    batch
        Batch id.
    samples
        Samples of the batch (rows with a time and at least one value).
    duration_s
        Elapsed time of the last sample, s.
    missing
        Tag → missing cells within the batch (tags without a gap are left out).
    frozen
        Tag → runs ``(start_s, n_samples)`` of one value repeated at least ``frozen`` times.
    out_of_range
        Tag → values outside the range given for the tag.
    duplicate_times, backward_times
        Repeated and backward times in the file (see :class:`TimeOrder`).
    first_time_fault_row
        File row of the first repeated or backward time, or None.
    """

    batch: str
    samples: int
    duration_s: float
    missing: dict[str, int] = field(default_factory=dict)
    frozen: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    duplicate_times: int = 0
    backward_times: int = 0
    first_time_fault_row: int | None = None

    @property
    def findings(self) -> int:
        """Number of findings: missing cells, frozen runs, out-of-range values and time-order faults."""
        return (sum(self.missing.values()) + sum(len(r) for r in self.frozen.values())
                + sum(self.out_of_range.values()) + self.duplicate_times + self.backward_times)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (frozen runs as ``{"start_s", "samples"}`` records)."""
        return {
            "batch": self.batch, "samples": self.samples, "duration_s": self.duration_s,
            "missing": dict(self.missing),
            "frozen": {t: [{"start_s": s, "samples": n} for s, n in runs] for t, runs in self.frozen.items()},
            "out_of_range": dict(self.out_of_range),
            "duplicate_times": self.duplicate_times, "backward_times": self.backward_times,
            "first_time_fault_row": self.first_time_fault_row, "findings": self.findings,
        }


def frozen_runs(values: np.ndarray, min_samples: int) -> list[tuple[int, int]]:
    """Runs ``(start index, length)`` of one finite value repeated at least ``min_samples`` times in a row.

    A missing value (NaN) ends a run.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return []
    change = np.ones(x.size, dtype=bool)
    change[1:] = ~(x[1:] == x[:-1])  # NaN == NaN is False: a gap starts a new run
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, x.size))
    keep = (lengths >= min_samples) & np.isfinite(x[starts])
    return [(int(s), int(n)) for s, n in zip(starts[keep], lengths[keep], strict=True)]


def data_quality_summary(
    ds: xr.Dataset,
    *,
    frozen: int = 10,
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    time_order: Mapping[str, TimeOrder] | None = None,
) -> list[BatchDataQuality]:
    """Summarise the data quality of every batch of a raw batch set.

    Parameters
    ----------
    ds
        Raw batch set (dims ``batch`` × ``sample``), e.g. :attr:`BatchRecords.data`.
    frozen
        A value repeated in at least this many consecutive samples is a frozen run (>= 2).
    ranges
        Tag → ``(low, high)`` plausible range in the tag's unit (None: open on that side).
    time_order
        Batch id → :class:`TimeOrder` found in the file (:attr:`BatchRecords.time_order`).

    Returns
    -------
    list of BatchDataQuality
        One per batch, in the order of the batch set.
    """
    if int(frozen) < 2:
        raise ConfigError(f"a frozen run needs at least 2 equal samples in a row; got frozen={frozen}",
                          path="frozen")
    tags = trajectory_variables(ds)
    for tag, (lo, hi) in (ranges or {}).items():
        if tag not in tags:
            raise ConfigError(f"no tag '{tag}' to check a range on; {did_you_mean(tag, tags)}", path=f"range.{tag}")
        if lo is not None and hi is not None and not lo < hi:
            raise ConfigError(f"the range of '{tag}' must have low < high; got {lo:g}:{hi:g}", path=f"range.{tag}")
    elapsed = ds["elapsed"].values
    values = {t: ds[t].values for t in tags}
    out = []
    for b, bid in enumerate(map(str, ds["batch"].values)):
        valid = np.isfinite(elapsed[b])
        el = elapsed[b, valid]
        missing, runs, outside = {}, {}, {}
        for t in tags:
            x = values[t][b, valid]
            n_miss = int(np.isnan(x).sum())
            if n_miss:
                missing[t] = n_miss
            found = frozen_runs(x, int(frozen))
            if found:
                runs[t] = [(float(el[s]), n) for s, n in found]
            if ranges and t in ranges:
                lo, hi = ranges[t]
                bad = np.zeros(x.shape, dtype=bool)
                if lo is not None:
                    bad |= x < lo
                if hi is not None:
                    bad |= x > hi
                if bad.any():
                    outside[t] = int(bad.sum())
        order = (time_order or {}).get(bid, TimeOrder())
        out.append(BatchDataQuality(bid, int(valid.sum()), float(el.max()) if el.size else 0.0, missing, runs,
                                    outside, order.duplicate_times, order.backward_times, order.first_row))
    return out
