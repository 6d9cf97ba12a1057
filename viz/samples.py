"""Synthetic example datasets in the workbench layouts (inputs for view tests, benchmarks, tours).

Every dataset here is labelled synthetic (``attrs["synthetic"] = 1``) and carries its
``kind``; see :mod:`viz._samples` for what each one models.
"""

from viz._samples import (
    append_trace,
    campaign_result,
    envelope_dataset,
    life_result,
    line_result,
    monitor_dataset,
    trace_dataset,
    write_all,
    write_trace,
)

__all__ = [
    "write_trace",
    "append_trace",
    "trace_dataset",
    "monitor_dataset",
    "envelope_dataset",
    "line_result",
    "campaign_result",
    "life_result",
    "write_all",
]
