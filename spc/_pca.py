"""PCA monitor of a continuous process (MacGregor & Kourti 1995, *Control Eng. Practice* 3(3):403-414).

The principal components are the eigenvectors of the covariance of the scaled data,
accumulated in row chunks (:mod:`spc._mspc`), so 10⁶ samples × 50 variables fit with bounded
memory; they equal scikit-learn's ``PCA`` components up to sign (tested).

Number of components by cross-validation (``n_components="cv"``): row-wise contiguous
folds, and within each held-out sample every variable predicted from the others with the
fold's loadings – the element-wise k-fold (ekf) scheme of Bro, Kjeldahl, Smilde & Kiers
(2008, *Anal. Bioanal. Chem.* 390:1241-1251), with the missing variable imputed by
projection to the model plane. For orthonormal loadings that prediction error has the
closed form (Sherman–Morrison on ``P_{-j}ᵀP_{-j} = I − p_j p_jᵀ``)::

    e_j = r_j / (1 − h_j),     r = z − z P Pᵀ,   h_j = Σ_a p_ja²

so PRESS(A) = Σ e_j² costs one pass over the data for all A; A = argmin PRESS (unlike
row-wise PRESS of ``z − zPPᵀ``, it does not fall monotonically with A; Camacho & Ferrer
2012, *J. Chemometrics* 26:361-373). The same pass gives the out-of-fold SPE moments for
Box's SPE limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spc._mspc import LatentMonitor, iter_lagged, single_blas_thread

__all__ = ["PCAMonitor"]


def _eig(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, ≥ 0) and eigenvectors, each signed so its largest |entry| is positive."""
    w, v = np.linalg.eigh(s)
    w, v = np.clip(w[::-1], 0, None), v[:, ::-1]
    big = np.argmax(np.abs(v), axis=0)
    return w, v * np.sign(v[big, np.arange(v.shape[1])])


class PCAMonitor(LatentMonitor):
    """Hotelling T² and SPE monitor on principal components of normal operating data.

    Parameters
    ----------
    n_components
        Number of components ``A``, or ``"cv"`` to choose it by ekf cross-validation.
    scaling
        ``"autoscale"`` (unit variance), ``"mean"`` (centre only) or ``"pareto"`` (÷√σ).
    lags
        Dynamic PCA: previous samples appended to each sample (Ku et al. 1995); 0 = static PCA.
    alpha
        False-alarm probability of the T² and SPE limits (0.01 → 99 % limits).
    spe_method
        ``"jackson-mudholkar"`` (from the residual eigenvalues) or ``"box"`` (g·χ²_h on the
        cross-validated SPE of the reference samples).
    missing
        ``"tsr"`` (trimmed score regression) or ``"pmp"`` (projection to the model plane) for
        samples with missing values.
    cv_folds
        Contiguous row folds of the cross-validation (components, Box limits).
    max_components
        Largest ``A`` tried by the cross-validation.
    variables
        Columns to model (default: every numeric column).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> lat = rng.normal(size=(500, 2))
    >>> x = pd.DataFrame(lat @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(500, 6)))
    >>> PCAMonitor().fit(x).n_components_
    2
    """

    _model = "pca"

    def __init__(self, n_components: int | str = "cv", *, scaling: str = "autoscale", lags: int = 0,
                 alpha: float = 0.01, spe_method: str = "jackson-mudholkar", missing: str = "tsr",
                 cv_folds: int = 7, max_components: int = 20, variables: Sequence[str] | None = None):
        self.n_components = n_components
        self.scaling = scaling
        self.lags = lags
        self.alpha = alpha
        self.spe_method = spe_method
        self.missing = missing
        self.cv_folds = cv_folds
        self.max_components = max_components
        self.variables = variables

    def fit(self, data, y=None) -> PCAMonitor:
        """Fit loadings and limits on normal operating data (DataFrame, Dataset or array)."""
        x, m = self._fit_common(data)
        w, v = _eig(self.covariance_)
        kl = len(w)
        self.eigenvalues_ = w
        cv = self.n_components == "cv"
        a_max = min(int(self.max_components), kl - 1, self.n_samples_ - 2) if cv else int(self.n_components)
        a_max = max(a_max, 1)
        if cv or self.spe_method == "box":
            with single_blas_thread():
                press, spe_m = self._cross_validate(x, m, a_max)
            self.cv_press_ = press.tolist()
            a = int(np.argmin(press) + 1) if cv else a_max
            self.spe_cv_moments_ = tuple(spe_m[a - 1])
        else:
            self.cv_press_, self.spe_cv_moments_, a = [], None, a_max
        a = min(a, kl)
        self.n_components_ = a
        self.loadings_ = v[:, :a]
        self.weights_ = self.loadings_
        self.score_variance_ = np.maximum(w[:a], np.finfo(float).tiny)
        self.residual_eigenvalues_ = w[a:]
        self.explained_variance_ratio_ = w[:a] / w.sum()
        self._finish_limits()
        return self

    def _cross_validate(self, x: np.ndarray, m: dict, a_max: int) -> tuple[np.ndarray, np.ndarray]:
        """ekf PRESS for A = 1..a_max and out-of-fold SPE (mean, variance) for each A, one pass."""
        folds = self.cv_folds_
        models = []
        for f in range(folds):
            s, off = self._scaled_cov(m, f)
            _, v = _eig(s)
            p = v[:, :a_max]
            h = np.cumsum(p * p, axis=1)  # h_j after a components: (K, A)
            models.append((p, off, h))
        press = np.zeros(a_max)
        s1, s2 = np.zeros(a_max), np.zeros(a_max)
        n, seen = m["n"], 0
        for _, rows in iter_lagged(x, int(self.lags)):
            rows = rows[~np.isnan(rows).any(axis=1)]
            fold = (np.arange(seen, seen + len(rows)) * folds) // n
            seen += len(rows)
            for f in np.unique(fold):
                p, off, h = models[f]
                z = (rows[fold == f] - self.mean_) / self.scale_ - off
                t = z @ p
                r = z.copy()
                for a in range(a_max):
                    r -= np.outer(t[:, a], p[:, a])
                    spe = np.sum(r * r, axis=1)
                    s1[a] += spe.sum()
                    s2[a] += (spe * spe).sum()
                    denom = 1.0 - h[:, a]
                    press[a] += np.inf if np.any(denom < 1e-9) else float(np.sum((r / denom) ** 2))
        mean = s1 / n
        var = np.maximum((s2 - n * mean * mean) / max(n - 1, 1), np.finfo(float).tiny)
        return press, np.column_stack([mean, var])
