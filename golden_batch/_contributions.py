"""Contributions of the variables to Hotelling's T² and to the SPE, summing exactly to them.

Written once for every latent-variable monitor of the workbench (batch MPCA and the
continuous PCA/PLS monitors of :mod:`spc`).

* T² (Westerhuis, Gurden & Smilde 2000, *Chemom. Intell. Lab. Syst.* 51:95-114;
  Nomikos 1996, *ISA Trans.* 35:259-266): with scores ``t = z W`` (``W`` = loadings
  ``P`` for PCA, ``W* = W(PᵀW)⁻¹`` for PLS, or the pattern-specific map of a sample
  with missing values) and score variances ``λ``::

      c_j = z_j · Σ_a W_ja t_a / λ_a,     Σ_j c_j = Σ_a t_a² / λ_a = T²

  A single ``c_j`` may be negative (a variable pulling the sample towards the centre).
* SPE (Miller, Swanick & Glassey 1998, in *Statistical Process Control in Manufacturing*
  / MacGregor et al. 1994): ``c_j = e_j²`` of the scaled residual ``e = z − t Pᵀ``;
  they sum to ``SPE = Σ_j e_j²``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["t2_contributions", "spe_contributions"]


def t2_contributions(z: np.ndarray, weights: np.ndarray, scores: np.ndarray, score_variance: np.ndarray) -> np.ndarray:
    """Per-variable contributions to T², summing to ``Σ_a t_a²/λ_a`` of each row.

    Parameters
    ----------
    z
        Scaled observations ``(n, K)`` (a missing value as 0: it then contributes nothing).
    weights
        ``(K, A)`` with ``scores = z @ weights`` (or ``(n, K, A)``, one map per row).
    scores
        ``(n, A)``: the scores of the rows, ``z @ weights``.
    score_variance
        ``(A,)``: the variances ``λ_a`` of the scores in the reference set.
    """
    w = np.asarray(weights, dtype=float)
    u = np.asarray(scores, dtype=float) / np.asarray(score_variance, dtype=float)
    back = np.einsum("nka,na->nk", w, u) if w.ndim == 3 else u @ w.T
    return np.asarray(z, dtype=float) * back


def spe_contributions(residuals: np.ndarray) -> np.ndarray:
    """Per-variable contributions ``e_j²`` to the SPE (a missing residual as 0)."""
    e = np.asarray(residuals, dtype=float)
    return e * e
