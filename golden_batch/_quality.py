"""Prediction of final batch quality from complete or partial trajectories.

Multiway PLS on the batch-wise unfolded, autoscaled trajectories (Nomikos &
MacGregor 1995, *Chemom. Intell. Lab. Syst.* 30:97-108). For a running batch the
unknown future is handled as missing data by **trimmed score regression**
(Arteaga & Ferrer 2002, *J. Chemometrics* 16:408-418; the PLS case in Arteaga &
Ferrer 2005, *J. Chemometrics* 19:439-447): at time ``k`` the trimmed scores
``t*_k = Σ_{κ≤k} z_κ P_κ`` of the known part are regressed on the full-batch
scores ``T`` of the reference batches, ``B_k = (T*_kᵀT*_k)⁻¹T*_kᵀT``, and
``ŷ = t*_k B_k Qᵀ`` (``Q`` the PLS y-loadings). At ``k = K`` this reproduces the
complete-batch PLS prediction up to the projection ``T*_K B_K = T``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from golden_batch._base import GoldenEstimator, check_is_fitted, estimator_from_json, params_to_json
from golden_batch._batchset import quality_variables
from golden_batch._mpca import batch_array, column_scale
from workbench.errors import DatasetError

__all__ = ["QualityPLS"]


class QualityPLS(GoldenEstimator):
    """Multiway PLS from aligned trajectories to final quality, with partial-batch prediction.

    Parameters
    ----------
    n_components
        PLS components; None chooses 1…``max_components`` by 5-fold cross-validation (PRESS).
    quality
        KPI names to predict (default: every quality variable).
    variables
        Trajectory variables (default: all).
    max_components
        Upper bound of the cross-validated choice.
    """

    _fit_hint = "fit(aligned_batches_with_quality)"
    _fitted_attribute = "x_rotations_"

    def __init__(self, n_components: int | None = None, *, quality: Sequence[str] | None = None,
                 variables: Sequence[str] | None = None, max_components: int = 6):
        self.n_components = n_components
        self.quality = quality
        self.variables = variables
        self.max_components = max_components

    def fit(self, aligned: xr.Dataset, y=None) -> QualityPLS:
        """Fit on aligned batches carrying the quality variables."""
        from sklearn.cross_decomposition import PLSRegression
        from sklearn.model_selection import KFold

        x3, names = batch_array(aligned, self.variables)
        kpis = list(self.quality or quality_variables(aligned))
        if not kpis:
            raise DatasetError("QualityPLS needs batch-level quality variables to predict")
        i, k, j = x3.shape
        yv = np.stack([aligned[q].values.astype(float) for q in kpis], axis=1)
        good = np.all(np.isfinite(yv), axis=1)
        x3, yv = x3[good], yv[good]
        i = x3.shape[0]
        if i < 8:
            raise DatasetError(f"QualityPLS needs at least 8 batches with quality values; got {i}")
        x = np.nan_to_num(x3.reshape(i, k * j), nan=0.0)
        self.mean_ = x.mean(axis=0)
        self.scale_ = column_scale(x, k, j)
        self.y_mean_ = yv.mean(axis=0)
        ysd = yv.std(axis=0, ddof=1)
        self.y_scale_ = np.where(ysd > 0, ysd, 1.0)
        z = (x - self.mean_) / self.scale_
        zy = (yv - self.y_mean_) / self.y_scale_
        a_max = max(1, min(self.max_components, i - 3))
        folds = list(KFold(min(5, i), shuffle=True, random_state=0).split(z))
        if self.n_components is None:
            press = np.zeros(a_max)
            for tr, te in folds:
                for a in range(1, a_max + 1):
                    m = PLSRegression(a, scale=False).fit(z[tr], zy[tr])
                    press[a - 1] += np.sum((m.predict(z[te]) - zy[te]) ** 2)
            a = int(np.argmin(press) + 1)
            self.press_ = press
        else:
            a = int(min(self.n_components, a_max))
        pls = PLSRegression(a, scale=False).fit(z, zy)
        self.n_components_ = a
        self.quality_ = kpis
        self.variables_ = names
        self.n_times_ = k
        self.x_rotations_ = pls.x_rotations_  # R: T = Z R
        self.x_loadings_ = pls.x_loadings_  # P
        self.y_loadings_ = pls.y_loadings_  # Q
        t = z @ self.x_rotations_
        p3 = self.x_loadings_.reshape(k, j, a)
        self.loadings_time_ = p3
        trimmed = np.cumsum(np.einsum("ikj,kja->ika", z.reshape(i, k, j), p3), axis=1)
        g = np.einsum("ika,ikb->kab", trimmed, trimmed)
        h = np.einsum("ika,ib->kab", trimmed, t)
        self.online_matrix_ = np.linalg.pinv(g, rcond=1e-10, hermitian=True) @ h
        zy_hat = t @ self.y_loadings_.T
        self.rmse_fit_ = np.sqrt(np.mean(((zy_hat - zy) * self.y_scale_) ** 2, axis=0))
        # Cross-validated end-of-batch prediction error (same folds, chosen components): the
        # in-sample RMSE understates the error of a new batch (Wold, Sjöström & Eriksson 2001, §4.4).
        resid = np.zeros_like(zy)
        for tr, te in folds:
            resid[te] = PLSRegression(a, scale=False).fit(z[tr], zy[tr]).predict(z[te]) - zy[te]
        self.rmse_cv_ = np.sqrt(np.mean((resid * self.y_scale_) ** 2, axis=0))
        return self

    def _z(self, aligned) -> np.ndarray:
        check_is_fitted(self)
        x3, _ = batch_array(aligned, self.variables_)
        x = x3.reshape(x3.shape[0], -1)
        x = np.where(np.isnan(x), self.mean_, x)
        return ((x - self.mean_) / self.scale_).reshape(x3.shape)

    def predict(self, aligned: xr.Dataset, *, upto: int | None = None) -> np.ndarray:
        """Predicted quality ``(n_batches, n_quality)``.

        Parameters
        ----------
        aligned
            Aligned batches (complete, or with only the first ``upto`` times valid).
        upto
            Use only the first ``upto`` grid points (trimmed score regression); None = all.
        """
        z3 = self._z(aligned)
        if upto is None:
            t = z3.reshape(z3.shape[0], -1) @ self.x_rotations_
        else:
            t_star = np.einsum("ikj,kja->ia", z3[:, :upto], self.loadings_time_[:upto])
            t = t_star @ self.online_matrix_[upto - 1]
        return (t @ self.y_loadings_.T) * self.y_scale_ + self.y_mean_

    def predict_from_trimmed(self, t_star: np.ndarray, k: int) -> np.ndarray:
        """Quality from trimmed scores ``t*`` after ``k`` grid points (on-line use)."""
        check_is_fitted(self)
        t = t_star @ self.online_matrix_[k - 1]
        return (t @ self.y_loadings_.T) * self.y_scale_ + self.y_mean_

    # -------------------------------------------------------- serialisation
    def to_dataset(self) -> xr.Dataset:
        """Fitted model as Dataset variables (dims ``time``, ``variable``, ``pls_component``, ``kpi``)."""
        check_is_fitted(self)
        k, j, a = self.loadings_time_.shape
        ds = xr.Dataset({
            "pls_mean": (("time", "variable"), self.mean_.reshape(k, j), {"units": "1", "long_name": "PLS column mean"}),
            "pls_scale": (("time", "variable"), self.scale_.reshape(k, j), {"units": "1", "long_name": "PLS column scale"}),
            "pls_rotations": (("time", "variable", "pls_component"), self.x_rotations_.reshape(k, j, a),
                              {"units": "1", "long_name": "PLS x rotations"}),
            "pls_loadings": (("time", "variable", "pls_component"), self.loadings_time_, {"units": "1", "long_name": "PLS x loadings"}),
            "pls_y_loadings": (("kpi", "pls_component"), self.y_loadings_, {"units": "1", "long_name": "PLS y loadings"}),
            "pls_y_mean": ("kpi", self.y_mean_, {"units": "1", "long_name": "quality mean"}),
            "pls_y_scale": ("kpi", self.y_scale_, {"units": "1", "long_name": "quality scale"}),
            "pls_rmse_fit": ("kpi", self.rmse_fit_, {"units": "1", "long_name": "in-sample RMSE of the quality"}),
            "pls_rmse_cv": ("kpi", self.rmse_cv_, {"units": "1", "long_name": "cross-validated RMSE of the quality"}),
            "pls_online_matrix": (("time", "pls_component", "pls_component2"), self.online_matrix_,
                                  {"units": "1", "long_name": "TSR map"}),
        }, coords={"kpi": self.quality_})
        ds.attrs["pls_params"] = params_to_json(self)
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> QualityPLS:
        """Rebuild from :meth:`to_dataset` output."""
        # written before the parameters were stored whole: default parameters
        m = estimator_from_json(ds.attrs["pls_params"], cls) if "pls_params" in ds.attrs else cls()
        lt = ds["pls_loadings"].values
        k, j, a = lt.shape
        m.loadings_time_ = lt
        m.x_loadings_ = lt.reshape(k * j, a)
        m.x_rotations_ = ds["pls_rotations"].values.reshape(k * j, a)
        m.y_loadings_ = ds["pls_y_loadings"].values
        m.y_mean_ = ds["pls_y_mean"].values
        m.y_scale_ = ds["pls_y_scale"].values
        m.online_matrix_ = ds["pls_online_matrix"].values
        for name in ("rmse_fit", "rmse_cv"):  # absent from files written before they were stored
            if f"pls_{name}" in ds:
                setattr(m, f"{name}_", ds[f"pls_{name}"].values)
        m.mean_ = ds["pls_mean"].values.reshape(-1)
        m.scale_ = ds["pls_scale"].values.reshape(-1)
        m.quality_ = [str(q) for q in ds["kpi"].values]
        m.variables_ = [str(v) for v in ds["variable"].values]
        m.n_components_, m.n_times_ = a, k
        return m
