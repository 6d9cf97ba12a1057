"""Regime slicing against known change points: F1 of the detected boundaries, over seeds.

:func:`spc.make_regime_data` draws a process that jumps between 3 modes (levels N(0, 3²) in
noise units, 3 variables) at 5 random change points at least 60 samples apart, 1500 samples.
A detected boundary is a true positive when it lies within ``TOL`` samples of a true change
point not yet matched (``ruptures.metrics.precision_recall``, an independent implementation of
the matching). Reported: precision, recall and F1 pooled over seeds, for PELT and BinSeg, on
white noise and on AR(1) noise (φ = 0.5, where the default BIC penalty over-segments and a
penalty scale is needed), and the adjusted Rand index of the regime labels against the true
modes.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from ruptures.metrics import precision_recall
from sklearn.metrics import adjusted_rand_score

from spc import find_regimes, make_regime_data

pytestmark = pytest.mark.slow

TOL = 10  # samples
SEEDS = range(10)


@functools.cache
def _score(method: str, phi: float, penalty_scale: float) -> dict:
    tp = n_true = n_found = 0
    ari = []
    for seed in SEEDS:
        frame, cps, mode = make_regime_data(1500, phi=phi, seed=seed)
        r = find_regimes(frame, method=method, penalty_scale=penalty_scale)
        n = len(frame)
        if r.breakpoints:
            p, _ = precision_recall([*cps, n], [*r.breakpoints, n], margin=TOL)
            tp += round(p * len(r.breakpoints))
        n_true += len(cps)
        n_found += len(r.breakpoints)
        ari.append(adjusted_rand_score(mode, r.regime))
    precision, recall = tp / max(n_found, 1), tp / n_true
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "ari": float(np.mean(ari))}


@pytest.mark.parametrize(("method", "phi", "penalty_scale", "f1_min"), [
    ("pelt", 0.0, 1.0, 0.95),
    ("binseg", 0.0, 1.0, 0.95),
    ("pelt", 0.5, 3.0, 0.85),
])
def test_boundaries_f1_within_tolerance(method, phi, penalty_scale, f1_min):
    s = _score(method, phi, penalty_scale)
    print(f"\n{method} phi={phi} penalty x{penalty_scale}: {s}")
    assert s["f1"] >= f1_min, s
    assert s["ari"] >= 0.8, s


def test_the_default_penalty_over_segments_autocorrelated_noise():
    """Why the penalty scale exists: on AR(1) noise the BIC penalty finds spurious change points."""
    s = _score("pelt", 0.5, 1.0)
    print(f"\npelt phi=0.5 penalty x1: {s}")
    assert s["precision"] < _score("pelt", 0.5, 3.0)["precision"]
