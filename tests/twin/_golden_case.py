"""A golden-batch model built from golden_batch's synthetic history and a running batch replayed
through the reactor twin (shared by tests/twin and tests/validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _reactor import binding as make_binding

import golden_batch as gb

#: Model variable → twin tag (units: K → degC, m3/s → m3/h: converted by the twin).
MAPPING = {"temperature": "TI_reactor", "jacket_temperature": "TI_jacket", "feed_rate": "FI_feed"}
N_POINTS = 40


def build_model(path, *, alignment: str = "elapsed", seed: int = 0, k: float = 3.0):
    """Fit a golden-batch model (with a quality PLS part) on a synthetic history and save it."""
    history = gb.make_synthetic_history(24, seed, n_samples=N_POINTS)
    model = gb.GoldenBatchModel(None, aligner=gb.Aligner(alignment, variables=list(MAPPING), n_points=N_POINTS),
                                envelope=gb.Envelope(k=k), mpca=gb.BatchPCA(2, alpha=0.01)).fit(history)
    model.save(path)
    return model


def running_batch(seed: int = 7, fault: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One batch (elapsed s, values (n, 3) in model units and order) of a new synthetic history."""
    h = gb.make_synthetic_history(1, seed, n_samples=N_POINTS, faults={fault: 1} if fault else None,
                                  fault_size=3.0)
    b = h.isel(batch=-1)
    el = b["elapsed"].values
    ok = np.isfinite(el)
    return el[ok], np.stack([b[v].values[ok] for v in MAPPING], axis=-1)


def write_replay(path, elapsed: np.ndarray, values: np.ndarray) -> None:
    """The batch as a wide CSV of twin tags in the tags' units (degC, m3/h)."""
    n = len(elapsed)  # the other inputs constant, so the twin has every input (and replay takes the block path)
    pd.DataFrame({"time": elapsed, "TI_reactor": values[:, 0] - 273.15, "TI_jacket": values[:, 1] - 273.15,
                  "FI_feed": values[:, 2] * 3600.0, "FI_cool": np.full(n, 7.2), "TI_jacket_in": np.full(n, 20.0),
                  "TSP": np.full(n, 71.85)}).to_csv(path, index=False, float_format="%.17g")


def golden_binding(tmp_path, model_path, **overrides):
    return make_binding(tmp_path, **{"golden": {"model": str(model_path), "variables": dict(MAPPING)},
                                     "sample_period": "60 s", "sync.method": "none", **overrides})
