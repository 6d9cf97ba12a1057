"""Multiway PCA of aligned batches: batch-wise and observation-wise unfolding.

:class:`BatchPCA`
    Batch-wise unfolding ``X (I×K×J) → (I × KJ)``, each column centred and
    scaled over batches, PCA by SVD (Nomikos & MacGregor 1994, *AIChE J.*
    40(8):1361-1375; 1995, *Technometrics* 37(1):41-59). Batch-level Hotelling
    T² with Tracy–Young–Mason limits, SPE with Box or Jackson–Mudholkar limits
    (see :mod:`golden_batch._limits`), contributions (Miller, Swanick & Glassey
    1998 for SPE; Westerhuis, Gurden & Smilde 2000 for T²), and on-line
    monitoring of a partial batch by trimmed score regression (TSR; Arteaga &
    Ferrer 2002, *J. Chemometrics* 16:408-418) or projection to the model plane
    (PMP; Nelson, Taylor & MacGregor 1996, *Chemom. Intell. Lab. Syst.* 35:45-65).
:class:`ObservationPCA`
    Observation-wise unfolding ``(IK × J)`` with variables autoscaled over all
    samples (Wold, Kettaneh, Fridén & Holmberg 1998, *Chemom. Intell. Lab. Syst.*
    44:331-340): score trajectories, per-time mean ± 3σ of scores ("evolution
    model"), per-time T² and SPE limits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from golden_batch._base import (
    GoldenEstimator,
    check_is_fitted,
    estimator_from_json,
    params_to_json,
    renamed_kwargs,
)
from golden_batch._batchset import trajectory_variables
from golden_batch._contributions import spe_contributions, t2_contributions
from golden_batch._limits import (
    conformal_guard,
    spe_limit_box,
    spe_limit_jackson_mudholkar,
    t2_limit,
)
from workbench.errors import ConfigError, DatasetError

__all__ = ["BatchPCA", "ObservationPCA", "batch_array", "column_scale"]


def batch_array(data: xr.Dataset | np.ndarray, variables: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Return ``(X, variables)`` with ``X`` of shape ``(batch, time, variable)``.

    Parameters
    ----------
    data
        Aligned batch set (dims ``batch`` × ``time``) or an array ``(I, K, J)``.
    variables
        Variables to use (default: every trajectory variable).
    """
    if isinstance(data, xr.Dataset):
        names = list(variables or trajectory_variables(data))
        missing = [n for n in names if n not in data]
        if missing:
            raise DatasetError(f"variables {missing} are not in the batch set")
        x = np.stack([data[n].transpose("batch", "time").values for n in names], axis=-1).astype(float)
        return x, names
    x = np.asarray(data, dtype=float)
    if x.ndim != 3:
        raise DatasetError(f"batch data must be 3-D (batch, time, variable); got shape {x.shape}")
    return x, list(variables or [f"x{j}" for j in range(x.shape[2])])


def column_scale(x: np.ndarray, n_times: int, n_vars: int, *, floor: float = 1e-3) -> np.ndarray:
    """Per-column standard deviation of an unfolded ``(I, K·J)`` matrix, floored.

    A column with (almost) no variation over the reference batches – e.g. a value
    every batch starts from – would turn tiny deviations of a new batch into huge
    scaled values; its scale is floored at ``floor`` times the RMS column standard
    deviation of the same variable.
    """
    std = x.std(axis=0, ddof=1).reshape(n_times, n_vars)
    rms = np.sqrt(np.mean(std**2, axis=0))
    lo = np.where(rms > 0, floor * rms, 1.0)
    return np.maximum(std, lo).reshape(-1)


def _n_components(spec: int | float, eigvals: np.ndarray, n_max: int) -> int:
    if isinstance(spec, float) and 0 < spec < 1:
        frac = np.cumsum(eigvals) / np.sum(eigvals)
        a = int(np.searchsorted(frac, spec) + 1)
    else:
        a = int(spec)
    if a < 1:
        raise ConfigError(f"n_components must be an int >= 1 or a variance fraction in (0, 1); got {spec}")
    return max(1, min(a, n_max))


def _svd(x: np.ndarray, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leading singular triplets ``(U_n, s_all, V_nᵀ)``; via the Gram matrix when I <= KJ.

    ``n`` is the number of triplets, or a function of the squared singular values
    (all of them, descending) returning it – so only the needed eigenvectors are
    computed (``scipy.linalg.eigh`` with ``subset_by_index``), while all eigenvalues
    (``eigvalsh``) remain available for variance fractions and Jackson–Mudholkar.
    """
    from scipy.linalg import eigh
    from threadpoolctl import threadpool_limits

    i, p = x.shape
    if i <= p:
        g = x @ x.T
        # LAPACK's eigen-solvers on an I×I matrix gain nothing from BLAS threads and lose
        # badly when the cores are shared (measured 40× slower at 400×400 on a busy 2-core box)
        with threadpool_limits(1):
            if callable(n):
                w_all = np.clip(np.linalg.eigvalsh(g)[::-1], 0, None)
                k = int(n(w_all))
                k = max(1, min(k, int(np.sum(w_all > w_all[0] * 1e-24)) if w_all[0] > 0 else 1))
            else:
                k, w_all = int(n), None
            w, u = eigh(g, subset_by_index=[i - k, i - 1])
        w, u = np.clip(w[::-1], 0, None), u[:, ::-1]
        s = np.sqrt(w)
        vt = (u.T @ x) / np.where(s > 0, s, 1.0)[:, None]
        return u, (np.sqrt(w_all) if w_all is not None else s), vt
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    k = int(n(s**2)) if callable(n) else int(n)
    return u[:, :k], s, vt[:k]


def _online_matrices(z3: np.ndarray, p3: np.ndarray, t_full: np.ndarray, method: str) -> np.ndarray:
    """Per-time maps ``M_k`` with ``t_hat = t*_k M_k`` for partial batches.

    TSR: ``M_k = (T*_kᵀT*_k)⁻¹T*_kᵀT`` (Arteaga & Ferrer 2002); PMP:
    ``M_k = (P_{1..k}ᵀP_{1..k})⁻¹`` (Nelson, Taylor & MacGregor 1996).
    """
    a = p3.shape[2]
    if method == "tsr":
        trimmed = np.cumsum(np.einsum("ikj,kja->ika", z3, p3), axis=1)
        g = np.einsum("ika,ikb->kab", trimmed, trimmed)
        h = np.einsum("ika,ib->kab", trimmed, t_full)
        # pseudo-inverse: early on, k·J known values may be fewer than A (rank-deficient T*_k)
        return np.linalg.pinv(g, rcond=1e-10, hermitian=True) @ h
    ptp = np.cumsum(np.einsum("kja,kjb->kab", p3, p3), axis=0)
    return np.linalg.inv(ptp + 1e-10 * np.eye(a))


def _online_spe(z3: np.ndarray, p3: np.ndarray, omat: np.ndarray) -> np.ndarray:
    """Instantaneous SPE ``(I, K)`` of the current time slice with partial-batch scores."""
    trimmed = np.cumsum(np.einsum("ikj,kja->ika", z3, p3), axis=1)
    t_hat = np.einsum("ika,kab->ikb", trimmed, omat)
    resid = z3 - np.einsum("ika,kja->ikj", t_hat, p3)
    return np.sum(resid**2, axis=2)


class BatchPCA(GoldenEstimator):
    """Multiway PCA with batch-wise unfolding (Nomikos & MacGregor).

    Parameters
    ----------
    n_components
        Number of components, or a fraction in (0, 1) of explained variance.
    alpha
        False-alarm probability of the control limits (e.g. 0.01 → 99 % limits).
    spe_method
        ``"box"`` (g·χ²_h from reference SPE) or ``"jackson-mudholkar"``.
    cv_folds
        Folds used to compute out-of-sample reference SPE values for the Box
        limits (in-sample residuals of the fitted batches are too small);
        0 uses in-sample residuals. The folds are a seeded shuffle of the batches
        in a canonical order (sorted by batch id; rows sorted by value for a plain
        array), so the same batches in any order give the same limits.
    cv_seed
        Seed of that shuffle.
    scale_floor
        Floor of each column's scale relative to the RMS column standard deviation of
        its variable (:func:`column_scale`). A column that hardly varies over the
        reference batches – a set point, a start value, a discrete step number – would
        otherwise turn a new batch's ordinary deviation there into a huge scaled value
        (on the real nylon data, held-out batches with SPE 10⁵ times the limit at 0.001).
        A larger floor (0.1) tames that but also blunts faults in tightly controlled
        variables (reactor sensor bias: detection 0.70 → 0.25), so the default stays 0.001.
    online
        ``"tsr"`` (trimmed score regression) or ``"pmp"`` (projection to the model
        plane) for the scores of partial batches.
    variables
        Variables of an aligned Dataset to use (default: all trajectory variables).
    """

    _fit_hint = "fit(aligned_batches)"
    _fitted_attribute = "components_"

    def __init__(
        self,
        n_components: int | float = 0.8,
        *,
        alpha: float = 0.01,
        spe_method: str = "box",
        cv_folds: int = 5,
        online: str = "tsr",
        variables: Sequence[str] | None = None,
        cv_seed: int = 0,
        scale_floor: float = 1e-3,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.spe_method = spe_method
        self.cv_folds = cv_folds
        self.online = online
        self.variables = variables
        self.cv_seed = cv_seed
        self.scale_floor = scale_floor

    # ---------------------------------------------------------------- fit
    def fit(self, data: xr.Dataset | np.ndarray, y=None) -> BatchPCA:
        """Fit the model and its control limits on in-control aligned batches."""
        if self.spe_method not in ("box", "jackson-mudholkar"):
            raise ConfigError(f"spe_method must be 'box' or 'jackson-mudholkar'; got {self.spe_method!r}")
        if self.online not in ("tsr", "pmp"):
            raise ConfigError(f"online must be 'tsr' or 'pmp'; got {self.online!r}")
        x3, names = batch_array(data, self.variables)
        if isinstance(data, xr.Dataset):
            self.time_ = data["time"].values
        else:
            self.time_ = np.arange(x3.shape[1], dtype=float)
        i, k, j = x3.shape
        if i < 4:
            raise DatasetError(f"BatchPCA needs at least 4 batches; got {i}")
        self.variables_ = names
        self.n_batches_, self.n_times_ = i, k
        x = x3.reshape(i, k * j)
        x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
        self.mean_ = x.mean(axis=0)
        self.scale_ = column_scale(x, k, j, floor=self.scale_floor)
        z = (x - self.mean_) / self.scale_
        n_max = min(i - 2, k * j)
        u, s, vt = _svd(z, lambda w: _n_components(self.n_components, w / (i - 1), n_max))
        eig = s**2 / (i - 1)
        self.total_variance_ = float(np.sum(z * z) / (i - 1))
        a = u.shape[1]
        self.n_components_ = a
        self.components_ = vt[:a]  # (A, KJ)
        self.explained_variance_ = eig[:a]
        self.explained_variance_ratio_ = eig[:a] / self.total_variance_
        self.residual_eigenvalues_ = eig[a:]
        scores = u[:, :a] * s[:a]
        self.scores_ = scores
        self.t2_ = np.sum(scores**2 / self.explained_variance_, axis=1)
        resid = z - scores @ self.components_
        self.spe_train_ = np.sum(resid**2, axis=1)
        self._cv_online_spe = None
        if isinstance(data, xr.Dataset) and "batch" in data.coords:
            canonical = np.argsort(np.asarray(data["batch"].values, dtype=str), kind="stable")
        else:
            canonical = np.lexsort(x.T[::-1])
        self.spe_reference_ = (self._cv_spe(z, a, canonical) if self.cv_folds and i >= 2 * self.cv_folds
                               else self.spe_train_)
        self.t2_limit_ = t2_limit(self.alpha, a, i, phase="II")
        self.t2_limit_phase1_ = t2_limit(self.alpha, a, i, phase="I")
        if self.spe_method == "box":
            self.spe_limit_ = spe_limit_box(self.spe_reference_, self.alpha)
        else:
            self.spe_limit_ = spe_limit_jackson_mudholkar(self.residual_eigenvalues_, self.alpha)
        if self.spe_reference_ is not self.spe_train_:  # out-of-fold values: guard heavy tails (conformal)
            self.spe_limit_ = float(max(self.spe_limit_, conformal_guard(self.spe_reference_, self.alpha)))
        self._fit_online(z.reshape(i, k, j))
        return self

    def _cv_spe(self, z: np.ndarray, a: int, canonical: np.ndarray | None = None) -> np.ndarray:
        """Out-of-fold batch-level SPE, and out-of-fold on-line SPE per time (kept for the limits).

        ``canonical`` orders the batches independently of how they were given; the
        folds are a seeded shuffle of that order (order-independent limits).
        """
        from sklearn.utils.extmath import randomized_svd
        from threadpoolctl import threadpool_limits

        i, kj = z.shape
        k = self.n_times_
        j = kj // k
        canonical = np.arange(i) if canonical is None else canonical
        folds = np.empty(i, dtype=int)
        folds[canonical[np.random.default_rng(self.cv_seed).permutation(i)]] = np.arange(i) % self.cv_folds
        out = np.empty(i)
        self._cv_online_spe = np.empty((i, k))
        for f in range(self.cv_folds):
            tr, te = folds != f, folds == f
            mu = z[tr].mean(axis=0)  # z is centred on all batches; re-centre on the training fold
            ztr, zte = z[tr] - mu, z[te] - mu
            if ztr.shape[0] <= 400:  # small: exact, via the Gram matrix
                _, _, vt = _svd(ztr, a)
            else:  # large: randomized range finder (Halko, Martinsson & Tropp 2011)
                with threadpool_limits(1):  # thin QR factorisations: threads only contend
                    _, _, vt = randomized_svd(ztr, a, n_iter=6, random_state=f)
            r = zte - (zte @ vt.T) @ vt
            out[te] = np.sum(r * r, axis=1)
            p3 = vt.T.reshape(k, j, a)
            z3tr, z3te = ztr.reshape(-1, k, j), zte.reshape(-1, k, j)
            omat = _online_matrices(z3tr, p3, ztr @ vt.T, self.online)
            self._cv_online_spe[te] = _online_spe(z3te, p3, omat)
        return out

    def _fit_online(self, z3: np.ndarray) -> None:
        """Precompute per-time matrices for partial-batch scores and per-time limits."""
        i, k, j = z3.shape
        a = self.n_components_
        p3 = self.components_.T.reshape(k, j, a)  # P_k: loadings of time k
        self.loadings_time_ = p3
        self.online_matrix_ = _online_matrices(z3, p3, self.scores_, self.online)
        trimmed = np.cumsum(np.einsum("ikj,kja->ika", z3, p3), axis=1)
        t_hat = np.einsum("ika,kab->ikb", trimmed, self.online_matrix_)
        cov = np.einsum("ika,ikb->kab", t_hat, t_hat) / (i - 1)
        self.online_cov_inv_ = np.linalg.pinv(cov, rcond=1e-10, hermitian=True)
        spe_ref = getattr(self, "_cv_online_spe", None)
        cv = spe_ref is not None
        if not cv:  # no cross-validation: in-sample residuals (limits somewhat too tight)
            spe_ref = _online_spe(z3, p3, self.online_matrix_)
        self.online_spe_limit_ = spe_limit_box(spe_ref.T, self.alpha)
        if cv:  # out-of-fold values: the conformal guard per time, as for the batch-level limit
            self.online_spe_limit_ = np.maximum(self.online_spe_limit_, conformal_guard(spe_ref.T, self.alpha))
        self.online_t2_limit_ = self.t2_limit_

    # ---------------------------------------------------------- transform
    def _z(self, data) -> np.ndarray:
        self._check_fitted()
        x3, _ = batch_array(data, self.variables_) if isinstance(data, xr.Dataset) else batch_array(data)
        if x3.shape[1:] != (self.n_times_, len(self.variables_)):
            raise DatasetError(
                f"batches have shape (time, variable) = {x3.shape[1:]}; the model was fitted on "
                f"{(self.n_times_, len(self.variables_))}"
            )
        x = x3.reshape(x3.shape[0], -1)
        x = np.where(np.isnan(x), self.mean_, x)
        return (x - self.mean_) / self.scale_

    def transform(self, data) -> np.ndarray:
        """Scores ``(n_batches, n_components)`` of complete aligned batches."""
        return self._z(data) @ self.components_.T

    def score_samples(self, data) -> xr.Dataset:
        """Batch-level ``t2`` and ``spe`` with their limits as a Dataset (dim ``batch``)."""
        z = self._z(data)
        t = z @ self.components_.T
        t2 = np.sum(t**2 / self.explained_variance_, axis=1)
        r = z - t @ self.components_
        spe = np.sum(r * r, axis=1)
        coords = {"batch": data["batch"].values} if isinstance(data, xr.Dataset) else {}
        return xr.Dataset(
            {
                "t2": ("batch", t2, {"units": "1", "long_name": "Hotelling T²", "limit": self.t2_limit_}),
                "spe": ("batch", spe, {"units": "1", "long_name": "squared prediction error", "limit": self.spe_limit_}),
            },
            coords=coords,
        )

    def decision_function(self, data) -> xr.Dataset:
        """``statistic / limit`` for T² and SPE (> 1 is out of control)."""
        s = self.score_samples(data)
        return xr.Dataset({
            "t2_ratio": s["t2"] / self.t2_limit_, "spe_ratio": s["spe"] / self.spe_limit_,
        }).assign(t2_ratio=lambda d: d.t2_ratio.assign_attrs(units="1", long_name="T² / limit"),
                  spe_ratio=lambda d: d.spe_ratio.assign_attrs(units="1", long_name="SPE / limit"))

    def predict(self, data) -> xr.Dataset:
        """Boolean flags ``t2_alarm``, ``spe_alarm``, ``in_control`` per batch."""
        d = self.decision_function(data)
        t2a, spea = d["t2_ratio"] > 1, d["spe_ratio"] > 1
        return xr.Dataset({
            "t2_alarm": t2a.assign_attrs(units="1", long_name="T² above limit"),
            "spe_alarm": spea.assign_attrs(units="1", long_name="SPE above limit"),
            "in_control": (~(t2a | spea)).assign_attrs(units="1", long_name="in control"),
        })

    def contributions(self, data) -> xr.Dataset:
        """Contributions of each time and variable to T² and SPE, dims ``batch``×``time``×``variable``.

        * SPE contribution: ``e_kj²`` of the scaled residual (Miller et al. 1998);
          they sum to SPE.
        * T² contribution: ``z_kj · Σ_a t_a p_kj,a / λ_a`` (Westerhuis, Gurden &
          Smilde 2000); they sum to T².
        """
        z = self._z(data)
        t = z @ self.components_.T
        r = z - t @ self.components_
        c_t2 = t2_contributions(z, self.components_.T, t, self.explained_variance_)
        shape = (z.shape[0], self.n_times_, len(self.variables_))
        coords = {"time": self.time_, "variable": self.variables_}
        if isinstance(data, xr.Dataset):
            coords["batch"] = data["batch"].values
        return xr.Dataset(
            {
                "t2_contribution": (("batch", "time", "variable"), c_t2.reshape(shape),
                                    {"units": "1", "long_name": "contribution to T²"}),
                "spe_contribution": (("batch", "time", "variable"), spe_contributions(r).reshape(shape),
                                     {"units": "1", "long_name": "contribution to SPE"}),
            },
            coords=coords,
        )

    # -------------------------------------------------------------- online
    def partial_scores(self, z_known: np.ndarray) -> np.ndarray:
        """Scores of a partial batch from its first ``k`` scaled time slices ``(k, J)``."""
        k = z_known.shape[0]
        t_star = np.einsum("kj,kja->a", z_known, self.loadings_time_[:k])
        return t_star @ self.online_matrix_[k - 1]

    def _check_fitted(self) -> None:
        check_is_fitted(self)

    # -------------------------------------------------------- serialisation
    def to_dataset(self, prefix: str = "mpca_") -> xr.Dataset:
        """Fitted model as Dataset variables (no pickling)."""
        self._check_fitted()
        k, j, a = self.loadings_time_.shape
        ds = xr.Dataset(
            {
                f"{prefix}mean": (("time", "variable"), self.mean_.reshape(k, j), {"units": "1", "long_name": "MPCA column mean"}),
                f"{prefix}scale": (("time", "variable"), self.scale_.reshape(k, j), {"units": "1", "long_name": "MPCA column scale"}),
                f"{prefix}loadings": (("time", "variable", "component"), self.loadings_time_,
                                      {"units": "1", "long_name": "MPCA loadings"}),
                f"{prefix}explained_variance": ("component", self.explained_variance_, {"units": "1", "long_name": "score variance"}),
                f"{prefix}online_matrix": (("time", "component", "component2"), self.online_matrix_,
                                           {"units": "1", "long_name": "partial-batch score map"}),
                f"{prefix}online_cov_inv": (("time", "component", "component2"), self.online_cov_inv_,
                                            {"units": "1", "long_name": "inverse covariance of partial scores"}),
                f"{prefix}online_spe_limit": ("time", self.online_spe_limit_, {"units": "1", "long_name": "per-time SPE limit"}),
                f"{prefix}spe_reference": ("batch_ref", self.spe_reference_, {"units": "1", "long_name": "reference SPE"}),
            },
        )
        ds.attrs.update({f"{prefix}{key}": getattr(self, key + "_") for key in
                         ("t2_limit", "spe_limit", "t2_limit_phase1", "n_batches", "total_variance")})
        ds.attrs.update({f"{prefix}params": params_to_json(self), f"{prefix}alpha": self.alpha,
                         f"{prefix}spe_method": self.spe_method, f"{prefix}online": self.online})
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, prefix: str = "mpca_") -> BatchPCA:
        """Rebuild a fitted model from :meth:`to_dataset` output."""
        if f"{prefix}params" in ds.attrs:
            m = estimator_from_json(ds.attrs[f"{prefix}params"], cls)
        else:  # written before the parameters were stored whole
            m = cls(alpha=float(ds.attrs[f"{prefix}alpha"]), spe_method=str(ds.attrs[f"{prefix}spe_method"]),
                    online=str(ds.attrs[f"{prefix}online"]))
        lt = ds[f"{prefix}loadings"].values
        k, j, a = lt.shape
        m.loadings_time_ = lt
        m.components_ = lt.reshape(k * j, a).T
        m.mean_ = ds[f"{prefix}mean"].values.reshape(-1)
        m.scale_ = ds[f"{prefix}scale"].values.reshape(-1)
        m.explained_variance_ = ds[f"{prefix}explained_variance"].values
        m.online_matrix_ = ds[f"{prefix}online_matrix"].values
        m.online_cov_inv_ = ds[f"{prefix}online_cov_inv"].values
        m.online_spe_limit_ = ds[f"{prefix}online_spe_limit"].values
        m.spe_reference_ = ds[f"{prefix}spe_reference"].values
        for key in ("t2_limit", "spe_limit", "t2_limit_phase1", "total_variance"):
            setattr(m, key + "_", float(ds.attrs[f"{prefix}{key}"]))
        m.n_batches_ = int(ds.attrs[f"{prefix}n_batches"])
        m.online_t2_limit_ = m.t2_limit_
        m.n_components_, m.n_times_ = a, k
        m.variables_ = [str(v) for v in ds["variable"].values]
        m.time_ = ds["time"].values
        return m


class ObservationPCA(GoldenEstimator):
    """PCA with observation-wise unfolding ``(IK × J)`` – the evolution model of Wold et al. (1998).

    Parameters
    ----------
    n_components
        Number of components or explained-variance fraction.
    alpha
        False-alarm probability of the per-time T² and SPE limits.
    k
        Half width of the score-trajectory bands in standard deviations (Wold et al.
        use ±3σ); formerly ``n_sigma`` (as :class:`~golden_batch.Envelope`'s ``k``).
    variables
        Variables to use (default: all trajectory variables).
    """

    _fit_hint = "fit(aligned_batches)"
    _fitted_attribute = "components_"

    def __init__(self, n_components: int | float = 0.9, *, alpha: float = 0.01, k: float = 3.0,
                 variables: Sequence[str] | None = None, **deprecated):
        if deprecated:
            k = renamed_kwargs("ObservationPCA", deprecated, {"n_sigma": "k"}, self._get_param_names()).get("k", k)
        self.n_components = n_components
        self.alpha = alpha
        self.k = k
        self.variables = variables

    def fit(self, data, y=None) -> ObservationPCA:
        """Fit loadings on all samples and per-time score statistics across batches."""
        x3, names = batch_array(data, self.variables)
        self.time_ = data["time"].values if isinstance(data, xr.Dataset) else np.arange(x3.shape[1], dtype=float)
        i, k, j = x3.shape
        self.variables_ = names
        xo = x3.reshape(i * k, j)
        self.mean_ = np.nanmean(xo, axis=0)
        sd = np.nanstd(xo, axis=0, ddof=1)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        z = np.nan_to_num((xo - self.mean_) / self.scale_)
        cov = z.T @ z / (z.shape[0] - 1)
        w, v = np.linalg.eigh(cov)
        order = np.argsort(w)[::-1]
        w, v = np.clip(w[order], 0, None), v[:, order]
        a = _n_components(self.n_components, w, j)
        self.n_components_ = a
        self.components_ = v[:, :a].T
        self.explained_variance_ = w[:a]
        t = (z @ v[:, :a]).reshape(i, k, a)
        self.score_mean_ = t.mean(axis=0)  # (K, A): evolution of the mean batch
        self.score_std_ = t.std(axis=0, ddof=1)
        d = t - self.score_mean_
        cov_k = np.einsum("ika,ikb->kab", d, d) / (i - 1)
        cov_k += 1e-12 * np.trace(cov_k, axis1=1, axis2=2)[:, None, None] * np.eye(a) + 1e-300 * np.eye(a)
        self.score_cov_inv_ = np.linalg.inv(cov_k)
        self.t2_limit_ = t2_limit(self.alpha, a, i, phase="II")
        r = z.reshape(i, k, j) - np.einsum("ika,aj->ikj", t, self.components_)
        self.spe_limit_ = spe_limit_box(np.sum(r * r, axis=2).T, self.alpha)
        self.n_batches_ = i
        return self

    def score_samples(self, data) -> xr.Dataset:
        """Per-time ``t2``, ``spe`` and the score trajectories, dims ``batch`` × ``time``."""
        check_is_fitted(self)
        x3, _ = batch_array(data, self.variables_) if isinstance(data, xr.Dataset) else batch_array(data)
        i, k, j = x3.shape
        z = np.nan_to_num((x3 - self.mean_) / self.scale_)
        t = z @ self.components_.T
        d = t - self.score_mean_[:k]
        t2 = np.einsum("ika,kab,ikb->ik", d, self.score_cov_inv_[:k], d)
        r = z - t @ self.components_
        spe = np.sum(r * r, axis=2)
        coords = {"time": self.time_[:k], "component": np.arange(self.n_components_)}
        if isinstance(data, xr.Dataset):
            coords["batch"] = data["batch"].values
        return xr.Dataset(
            {
                "t2": (("batch", "time"), t2, {"units": "1", "long_name": "per-time Hotelling T²"}),
                "spe": (("batch", "time"), spe, {"units": "1", "long_name": "per-sample SPE"}),
                "scores": (("batch", "time", "component"), t, {"units": "1", "long_name": "score trajectory"}),
                "t2_limit": ((), self.t2_limit_, {"units": "1", "long_name": "T² limit"}),
                "spe_limit": ("time", self.spe_limit_[:k], {"units": "1", "long_name": "SPE limit"}),
            },
            coords=coords,
        )

    def predict(self, data) -> xr.Dataset:
        """Per-time alarm flags ``t2_alarm``, ``spe_alarm``, ``in_control``."""
        s = self.score_samples(data)
        t2a, spea = s["t2"] > s["t2_limit"], s["spe"] > s["spe_limit"]
        return xr.Dataset({
            "t2_alarm": t2a.assign_attrs(units="1", long_name="T² above limit"),
            "spe_alarm": spea.assign_attrs(units="1", long_name="SPE above limit"),
            "in_control": (~(t2a | spea)).assign_attrs(units="1", long_name="in control"),
        })

    def score_bands(self) -> xr.Dataset:
        """Mean ± ``k``·σ score trajectories (control chart of the evolution model)."""
        check_is_fitted(self)
        dims = ("time", "component")
        coords = {"time": self.time_, "component": np.arange(self.n_components_)}
        return xr.Dataset({
            "score_mean": (dims, self.score_mean_, {"units": "1", "long_name": "mean score"}),
            "score_lower": (dims, self.score_mean_ - self.k * self.score_std_, {"units": "1", "long_name": "lower score band"}),
            "score_upper": (dims, self.score_mean_ + self.k * self.score_std_, {"units": "1", "long_name": "upper score band"}),
        }, coords=coords)
