"""PLS monitor: T² and SPE on the X space of a PLS model that also predicts quality.

Projection to latent structures by NIPALS (scikit-learn's ``PLSRegression`` on data scaled
here, ``scale=False``) – monitoring on PLS scores as in Kresta, MacGregor & Marlin (1991,
*Can. J. Chem. Eng.* 69:35-47) and MacGregor et al. (1994, *AIChE J.* 40(5):826-838):

* scores ``t = z W*`` with ``W* = W (PᵀW)⁻¹`` (``x_rotations_``), T² on their variances;
* SPE of the X residual ``e = z − t Pᵀ``; Jackson–Mudholkar limits from the eigenvalues of
  the residual covariance ``(I − W*Pᵀ)ᵀ S (I − W*Pᵀ)``, or Box on cross-validated SPE;
* predicted quality ``ŷ = t Qᵀ`` (rescaled), also for samples with missing X values.

Number of components by cross-validation: contiguous row folds, PRESS of the scaled
quality variables for A = 1…``max_components`` (the first A components of a NIPALS fit
with more components are the A-component fit), A = argmin PRESS.

Validated against the reference scores and Hotelling T² of the LDPE data set shipped with
process-improve (MacGregor et al. 1994), ``tests/spc/test_mspc_reference.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from spc._mspc import LatentMonitor, iter_lagged
from workbench.errors import ConfigError, DataError, did_you_mean

__all__ = ["PLSMonitor"]


class PLSMonitor(LatentMonitor):
    """Hotelling T² and SPE monitor on the X scores of a PLS model of quality ``y_variables``.

    Parameters
    ----------
    y_variables
        Quality columns the model predicts (at least one).
    n_components, scaling, lags, alpha, spe_method, missing, cv_folds, max_components, variables
        As :class:`spc.PCAMonitor` (``variables`` are the X columns; default: every numeric
        column that is not a quality column). The quality columns are scaled the same way.
    """

    _model = "pls"

    def __init__(self, y_variables: Sequence[str] = (), n_components: int | str = "cv", *,
                 scaling: str = "autoscale", lags: int = 0, alpha: float = 0.01,
                 spe_method: str = "jackson-mudholkar", missing: str = "tsr", cv_folds: int = 7,
                 max_components: int = 20, variables: Sequence[str] | None = None):
        self.y_variables = y_variables
        self.n_components = n_components
        self.scaling = scaling
        self.lags = lags
        self.alpha = alpha
        self.spe_method = spe_method
        self.missing = missing
        self.cv_folds = cv_folds
        self.max_components = max_components
        self.variables = variables

    def _not_x(self) -> list[str]:
        return [str(v) for v in self.y_variables]

    def _y(self, data) -> np.ndarray:
        names = [str(v) for v in self.y_variables]
        if not names:
            raise ConfigError("a PLS monitor needs at least one quality variable (y_variables / --y)")
        if isinstance(data, xr.Dataset):
            data = data.to_dataframe()
        if not isinstance(data, pd.DataFrame):
            raise ConfigError("PLSMonitor.fit needs a DataFrame or Dataset holding the quality columns")
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise DataError(f"quality column(s) {', '.join(missing)} are not in the data; "
                            f"{did_you_mean(missing[0], [str(c) for c in data.columns])}")
        return data[names].to_numpy(dtype=float)

    def fit(self, data, y=None) -> PLSMonitor:
        """Fit on normal operating data holding the X columns and the quality columns."""
        from sklearn.cross_decomposition import PLSRegression

        yraw = self._y(data)
        x, m = self._fit_common(data)
        lags = int(self.lags)
        zx = np.concatenate([(rows - self.mean_) / self.scale_ for _, rows in iter_lagged(x, lags)])
        use = ~np.isnan(zx).any(axis=1) & ~np.isnan(yraw).any(axis=1)
        zx = zx[use]
        yu = yraw[use]
        if len(yu) < zx.shape[1] + 1:
            raise DataError(f"only {len(yu)} samples have every X and quality value; a PLS model of "
                            f"{zx.shape[1]} variables needs more")
        self.y_mean_ = yu.mean(axis=0)
        ysd = yu.std(axis=0, ddof=1)
        const = [n for n, s in zip(self.y_variables, ysd, strict=True) if not s > 0]
        if const:
            raise DataError(f"quality variable(s) {', '.join(map(str, const))} are constant: nothing to predict")
        self.y_std_ = ysd
        self.y_scale_ = {"autoscale": ysd, "mean": np.ones_like(ysd), "pareto": np.sqrt(ysd)}[self.scaling]
        zy = (yu - self.y_mean_) / self.y_scale_
        kl, n = zx.shape[1], len(zx)
        cv = self.n_components == "cv"
        a_max = max(1, min(int(self.max_components), kl, n - 2) if cv else int(self.n_components))
        if cv or self.spe_method == "box":
            press, spe_m = self._cross_validate(zx, zy, a_max)
            self.cv_press_ = press.tolist()
            a = int(np.argmin(press) + 1) if cv else a_max
            self.spe_cv_moments_ = tuple(spe_m[a - 1])
        else:
            self.cv_press_, self.spe_cv_moments_, a = [], None, a_max
        pls = PLSRegression(a, scale=False).fit(zx, zy)
        # sklearn centres on the rows it saw (those with quality values): fold that into the mean
        self.mean_ = self.mean_ + pls._x_mean * self.scale_
        self.y_mean_ = self.y_mean_ + pls._y_mean * self.y_scale_
        zc = zx - pls._x_mean
        self.n_components_ = a
        self.weights_ = pls.x_rotations_
        self.loadings_ = pls.x_loadings_
        self.y_loadings_ = pls.y_loadings_
        t = zc @ self.weights_
        self.score_variance_ = np.maximum(t.var(axis=0, ddof=1), np.finfo(float).tiny)
        proj = np.eye(kl) - self.weights_ @ self.loadings_.T
        self.residual_eigenvalues_ = np.clip(np.linalg.eigvalsh(proj.T @ self.covariance_ @ proj)[::-1], 0, None)
        self.n_samples_ = n
        self._finish_limits()
        return self

    def _cross_validate(self, zx: np.ndarray, zy: np.ndarray, a_max: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.cross_decomposition import PLSRegression

        n = len(zx)
        fold = (np.arange(n) * self.cv_folds_) // n
        press = np.zeros(a_max)
        spe_all = np.zeros((n, a_max))
        for f in range(self.cv_folds_):
            tr, te = fold != f, fold == f
            pls = PLSRegression(a_max, scale=False).fit(zx[tr], zy[tr])
            xc, yc = zx[te] - pls._x_mean, zy[te] - pls._y_mean
            for a in range(1, a_max + 1):
                t = xc @ pls.x_rotations_[:, :a]
                press[a - 1] += float(np.sum((yc - t @ pls.y_loadings_[:, :a].T) ** 2))
                e = xc - t @ pls.x_loadings_[:, :a].T
                spe_all[te, a - 1] = np.sum(e * e, axis=1)
        return press, np.column_stack([spe_all.mean(axis=0), np.maximum(spe_all.var(axis=0, ddof=1), 1e-300)])

    def _add_prediction_arrays(self, out: dict) -> None:
        yhat = out["scores"] @ self.y_loadings_.T * self.y_scale_ + self.y_mean_
        for j, name in enumerate(self.y_variables):
            out[f"predicted_{name}"] = yhat[:, j]

    def predict_quality(self, data) -> np.ndarray:
        """Predicted quality ``(n_samples, n_quality)`` in the data's units."""
        s = self.score_samples(data)
        return np.column_stack([s[f"predicted_{n}"].values for n in self.y_variables])

    def _extra_to_dataset(self, ds: xr.Dataset) -> None:
        ds.coords["kpi"] = [str(v) for v in self.y_variables]
        ds["y_mean"] = ("kpi", self.y_mean_, {"units": "1", "long_name": "quality mean"})
        ds["y_std"] = ("kpi", self.y_std_, {"units": "1", "long_name": "quality standard deviation"})
        ds["y_scale"] = ("kpi", self.y_scale_, {"units": "1", "long_name": f"quality scale divisor ({self.scaling})"})
        ds["y_loadings"] = (("kpi", "component"), self.y_loadings_, {"units": "1", "long_name": "quality loadings Q"})

    def _extra_from_dataset(self, ds: xr.Dataset) -> None:
        for key in ("y_mean", "y_std", "y_scale", "y_loadings"):
            setattr(self, key + "_", np.asarray(ds[key].values, dtype=float))
