"""A small phased batch history for tests: 12 batches of 30–33 samples, phase 'fill' for the first half, then 'react'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_phased_history(path: Path, *, temperature: str = "T") -> Path:
    """Write the history as a wide CSV (phase column ``stage``); ``temperature`` names the T column."""
    rng = np.random.default_rng(3)
    rows = []
    for b in range(12):
        n = 30 + b % 4
        for k in range(n):
            rows.append({"batch_id": f"B{b:02d}", "elapsed": 60.0 * k, "stage": "fill" if k < n // 2 else "react",
                         temperature: 300 + k + rng.normal(0, 0.3), "P": 1 + 0.01 * k + rng.normal(0, 0.01)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
