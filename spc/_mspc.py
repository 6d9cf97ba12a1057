"""The shared core of the continuous-process latent-variable monitors (PCA and PLS).

Everything here works on a matrix of samples × variables read in row chunks, so a
model is fitted on 10⁶ samples with memory bounded by one chunk plus the K × K
cross-product matrices (one per cross-validation fold):

* **Scaling** (chosen explicitly, never implied): ``"autoscale"`` (centre, divide by the
  standard deviation), ``"mean"`` (centre only; variables keep their units and weight),
  ``"pareto"`` (centre, divide by √σ; van den Berg et al. 2006, *BMC Genomics* 7:142).
* **Dynamic PCA/PLS** (Ku, Storer & Georgakis 1995, *Chemom. Intell. Lab. Syst.*
  30:179-196): with ``lags = L`` each sample is augmented with the ``L`` previous samples,
  ``[x(t), x(t-1), …, x(t-L)]``; the lagged copies are named ``var[t-l]``. The first ``L``
  samples of a file lack their history: they are scored with the missing-value rule below.
* **Missing values** are never a reason to drop a sample: a sample with missing cells is
  scored from the variables it has, by trimmed score regression (TSR; Arteaga & Ferrer
  2002, *J. Chemometrics* 16:408-418; Folch-Fortuny, Arteaga & Ferrer 2015,
  *Chemom. Intell. Lab. Syst.* 146:77-88) or projection to the model plane (PMP; Nelson,
  Taylor & MacGregor 1996, *Chemom. Intell. Lab. Syst.* 35:45-65). With scores
  ``t = z W`` and trimmed scores ``t* = z_o W_o`` of the observed variables ``o``::

      TSR:  t̂ = t* (W_oᵀ S_oo W_o)⁺ W_oᵀ S_o: W       (S: covariance of the scaled data)
      PMP:  t̂ = z_o P_o (P_oᵀ P_o)⁺

  Both are ``t̂ = z_o W_eff``, so the T² contributions still sum exactly to T². SPE and its
  contributions use the residuals of the observed variables only (the SPE limit is that of
  a complete sample; a sample missing many variables has a smaller SPE: see ``n_missing``).
* **Limits**: T² by Tracy, Young & Mason (1992) (Phase II, F form, for new samples;
  the Phase I beta form is kept for the reference samples), SPE by Box (1954) on
  cross-validated reference SPE or by Jackson & Mudholkar (1979) on the residual
  eigenvalues – :mod:`golden_batch`'s limit functions; contributions by
  :func:`golden_batch.t2_contributions` / :func:`golden_batch.spe_contributions`.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator

from golden_batch import (
    check_is_fitted,
    spe_contributions,
    spe_limit_jackson_mudholkar,
    t2_contributions,
    t2_limit,
)
from workbench.errors import ConfigError, DataError, DatasetError, did_you_mean

__all__ = ["LatentMonitor", "MSPCSession", "MSPCSample", "SCALINGS", "lag_names", "iter_lagged", "load_monitor", "MODEL_KIND", "CHECK_KIND"]

SCALINGS = ("autoscale", "mean", "pareto")
SPE_METHODS = ("box", "jackson-mudholkar")
MISSING_METHODS = ("tsr", "pmp")
MODEL_KIND = "mspc-model"
CHECK_KIND = "mspc-check"
CHUNK_ROWS = 1 << 15


def lag_names(names: Sequence[str], lags: int) -> list[str]:
    """Column names of the lagged matrix: ``names``, then ``name[t-1]`` …, ``name[t-L]``."""
    return [*names, *(f"{n}[t-{lag}]" for lag in range(1, lags + 1) for n in names)]


def iter_lagged(x: np.ndarray, lags: int, chunk: int = CHUNK_ROWS) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, rows)`` of the lagged matrix ``[x(t), x(t-1), …, x(t-L)]`` in row chunks.

    Rows before the start of ``x`` are NaN (missing), so no sample is dropped.
    """
    n, k = x.shape
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        if lags == 0:
            yield a, x[a:b]
            continue
        out = np.full((b - a, k * (lags + 1)), np.nan)
        for lag in range(lags + 1):
            lo = max(a - lag, 0)
            out[lo + lag - a:, lag * k:(lag + 1) * k] = x[lo:b - lag]
        yield a, out


def single_blas_thread():
    """BLAS on one thread: the chunk products are skinny (n × K, K ≤ a few hundred), gain nothing from
    threads and lose badly when the cores are shared (measured 9× slower for 32768 × 50 on a busy
    2-core machine), as in :mod:`golden_batch`'s SVD."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _check_choice(name: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}. {did_you_mean(str(value), choices)}")


class LatentMonitor(BaseEstimator):
    """Base of :class:`spc.PCAMonitor` and :class:`spc.PLSMonitor` (scikit-learn's estimator contract).

    Subclasses implement ``_fit_model(x, complete, moments)`` setting ``weights_`` (``t = z W``),
    ``loadings_`` (``P``), ``score_variance_``, ``residual_eigenvalues_``, ``n_components_`` and
    the out-of-fold SPE moments ``spe_cv_moments_`` (mean, variance) when Box limits are asked for.
    """

    _model = "latent"
    _fit_hint = "fit(normal_operating_data)"

    def __sklearn_is_fitted__(self) -> bool:
        return "weights_" in vars(self)

    # ---------------------------------------------------------------- input
    def _matrix(self, data, *, fitting: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
        """``(x, names, index)`` of the base variables from a DataFrame, Dataset or array."""
        if isinstance(data, xr.Dataset):
            data = data.to_dataframe()
        if isinstance(data, pd.DataFrame):
            index = data.index.to_numpy()
            if fitting:
                skip = set(self._not_x())
                names = list(self.variables) if self.variables is not None else [
                    str(c) for c in data.columns if pd.api.types.is_numeric_dtype(data[c].dtype) and str(c) not in skip]
            else:
                names = list(self.variables_)
            missing = [n for n in names if n not in data.columns]
            if missing:
                have = [str(c) for c in data.columns]
                where = "the model was built on them" if not fitting else "they were asked for"
                raise DataError(f"columns {', '.join(missing)} are not in the data ({where}); the data has "
                                f"{', '.join(have)}. {did_you_mean(missing[0], have)}")
            x = data[names].to_numpy(dtype=float)
            return x, names, index
        x = np.asarray(data, dtype=float)
        if x.ndim != 2:
            raise DatasetError(f"data must be a 2-D table samples × variables; got shape {x.shape}")
        names = list(self.variables) if fitting and self.variables is not None else (
            list(self.variables_) if not fitting else [f"x{j}" for j in range(x.shape[1])])
        if x.shape[1] != len(names):
            raise DatasetError(f"data has {x.shape[1]} columns; the model has {len(names)} variables ({', '.join(names)})")
        return x, names, np.arange(x.shape[0])

    def _not_x(self) -> list[str]:
        """Columns that are never X variables by default (PLS: the quality variables)."""
        return []

    def _validate_params(self) -> None:
        _check_choice("scaling", self.scaling, SCALINGS)
        _check_choice("spe_method", self.spe_method, SPE_METHODS)
        _check_choice("missing", self.missing, MISSING_METHODS)
        if not (isinstance(self.lags, int | np.integer) and self.lags >= 0):
            raise ConfigError(f"lags must be an integer >= 0; got {self.lags!r}")
        a = self.n_components
        if not (a == "cv" or (isinstance(a, int | np.integer) and a >= 1)):
            raise ConfigError(f"n_components must be an integer >= 1 or 'cv' (cross-validation); got {a!r}")
        if not 0 < float(self.alpha) < 1:
            raise ConfigError(f"alpha must be a float in (0, 1); got {self.alpha}")

    # ------------------------------------------------------------- moments
    def _fold_of(self, n_complete: int) -> np.ndarray:
        """Contiguous blocks (autocorrelated data: neighbours must not sit in other folds)."""
        return (np.arange(n_complete) * self.cv_folds_) // max(n_complete, 1)

    def _moments(self, x: np.ndarray) -> dict:
        """Mean, centred cross products (total and per fold) of the complete lagged rows, chunked."""
        with single_blas_thread():
            return self._moments_chunked(x)

    def _moments_chunked(self, x: np.ndarray) -> dict:
        lags = int(self.lags)
        kl = x.shape[1] * (lags + 1)
        n, total = 0, np.zeros(kl)
        for _, rows in iter_lagged(x, lags):
            ok = ~np.isnan(rows).any(axis=1)
            n += int(ok.sum())
            total += rows[ok].sum(axis=0)
        if n == 0:
            raise DataError("no sample has every variable (and its lags); the model needs complete samples to fit")
        mean = total / n
        folds = self.cv_folds_
        cp = np.zeros((folds, kl, kl))
        sd = np.zeros((folds, kl))
        nf = np.zeros(folds, dtype=int)
        seen = 0
        for _, rows in iter_lagged(x, lags):
            d = rows[~np.isnan(rows).any(axis=1)] - mean
            fold = (np.arange(seen, seen + len(d)) * folds) // n
            seen += len(d)
            for f in np.unique(fold):
                df = d[fold == f]
                cp[f] += df.T @ df
                sd[f] += df.sum(axis=0)
                nf[f] += len(df)
        return {"n": n, "mean": mean, "cp": cp, "sd": sd, "nf": nf}

    def _scaled_cov(self, m: dict, fold: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(S, offset)``: covariance of the scaled data (all rows, or without ``fold``) and the mean shift."""
        if fold is None:
            cp, n, off = m["cp"].sum(axis=0), m["n"], np.zeros(len(m["mean"]))
        else:
            keep = np.arange(len(m["nf"])) != fold
            n = int(m["nf"][keep].sum())
            off = m["sd"][keep].sum(axis=0) / n
            cp = m["cp"][keep].sum(axis=0) - n * np.outer(off, off)
        cov = cp / (n - 1)
        return cov / np.outer(self.scale_, self.scale_), off / self.scale_

    def _fit_common(self, data) -> tuple[np.ndarray, dict]:
        self._validate_params()
        x, names, _ = self._matrix(data, fitting=True)
        if not names:
            raise DataError("the data has no numeric variable to model")
        self.variables_ = names
        self.lagged_variables_ = lag_names(names, int(self.lags))
        kl = len(self.lagged_variables_)
        self.cv_folds_ = int(self.cv_folds)
        m = self._moments(x)
        n = m["n"]
        self.n_samples_ = n
        self.n_incomplete_ = int(x.shape[0] - n)  # rows (or first lags) left out of the fit, reported
        a_min = 1 if self.n_components == "cv" else int(self.n_components)
        if a_min >= kl:
            raise ConfigError(f"n_components = {a_min} must be smaller than the number of variables ({kl}"
                              f"{' with lags' if self.lags else ''}): the SPE needs a residual space")
        if n < kl + a_min:
            raise DataError(
                f"{n} complete samples are too few for {kl} variables{' (with lags)' if self.lags else ''} and "
                f"{a_min} component(s): the model needs at least variables + components = {kl + a_min} samples")
        if n < 2 * self.cv_folds_ and (self.n_components == "cv" or self.spe_method == "box"):
            self.cv_folds_ = max(2, n // 2)
        var = np.diag(m["cp"].sum(axis=0)) / (n - 1)
        const = [self.lagged_variables_[j] for j in range(len(names)) if not var[j] > 1e-24 * max(1.0, m["mean"][j] ** 2)]
        if const:
            raise DataError(f"variable(s) {', '.join(const)} are constant in the data: they carry no information "
                            f"and cannot be scaled; leave them out with --exclude {' --exclude '.join(const)}")
        sd = np.sqrt(var)
        self.mean_ = m["mean"]
        self.std_ = sd
        self.scale_ = {"autoscale": sd, "mean": np.ones_like(sd), "pareto": np.sqrt(sd)}[self.scaling]
        self.covariance_, _ = self._scaled_cov(m)
        return x, m

    def _finish_limits(self) -> None:
        a, n = self.n_components_, self.n_samples_
        self.t2_limit_ = t2_limit(self.alpha, a, n, phase="II")
        self.t2_limit_phase1_ = t2_limit(self.alpha, a, n, phase="I")
        if self.spe_method == "box":
            mu, v = self.spe_cv_moments_
            g, h = v / (2 * mu), 2 * mu * mu / v
            from scipy import stats

            # Box (1954) g·χ²_h as golden_batch.spe_limit_box, from the out-of-fold moments (the pass over
            # 10⁶ samples keeps Σspe and Σspe², not every value)
            self.spe_limit_ = float(g * stats.chi2.ppf(1 - self.alpha, h))
        else:
            self.spe_limit_ = spe_limit_jackson_mudholkar(self.residual_eigenvalues_, self.alpha)

    # --------------------------------------------------------------- scoring
    def _effective_weights(self, observed: np.ndarray) -> np.ndarray:
        """``W_eff`` (K × A, zero rows for missing variables) with ``t̂ = z_o W_eff`` (TSR or PMP)."""
        w, p = self.weights_, self.loadings_
        if observed.all():
            return w
        o = observed
        out = np.zeros_like(w)
        if not o.any():
            return out
        if self.missing == "tsr":
            s = self.covariance_
            wo = w[o]
            g = wo.T @ s[np.ix_(o, o)] @ wo
            h = wo.T @ s[o] @ w
            out[o] = wo @ (np.linalg.pinv(g, rcond=1e-10, hermitian=True) @ h)
        else:
            po = p[o]
            out[o] = po @ np.linalg.pinv(po.T @ po, rcond=1e-10, hermitian=True)
        return out

    def _score_chunk(self, rows: np.ndarray, out: dict[str, np.ndarray], sl: slice) -> None:
        """Score one chunk of lagged rows into the slices ``sl`` of the ``out`` arrays."""
        z = (rows - self.mean_) / self.scale_
        miss = np.isnan(z)
        n_miss = miss.sum(axis=1)
        out["n_missing"][sl] = n_miss
        t = out["scores"][sl]
        c_t2 = out["c_t2"][sl]
        any_miss = n_miss > 0
        if not any_miss.any():  # the usual case: no masking, no copies
            np.matmul(z, self.weights_, out=t)
            c_t2[:] = t2_contributions(z, self.weights_, t, self.score_variance_)
            e = z - t @ self.loadings_.T
        else:
            z0 = np.where(miss, 0.0, z)
            full = ~any_miss
            t[full] = z0[full] @ self.weights_
            c_t2[full] = t2_contributions(z0[full], self.weights_, t[full], self.score_variance_)
            idx = np.flatnonzero(any_miss)
            patterns, inv = np.unique(miss[idx], axis=0, return_inverse=True)
            for q, pat in enumerate(patterns):
                r = idx[inv.ravel() == q]
                weff = self._effective_weights(~pat)
                t[r] = z0[r] @ weff
                c_t2[r] = t2_contributions(z0[r], weff, t[r], self.score_variance_)
            e = z0 - t @ self.loadings_.T
            e[miss] = 0.0
        c_spe = out["c_spe"][sl]
        c_spe[:] = spe_contributions(e)
        out["t2"][sl] = c_t2.sum(axis=1)
        out["spe"][sl] = c_spe.sum(axis=1)

    def _base_sum(self, c: np.ndarray) -> np.ndarray:
        """Contributions of the lagged columns summed per base variable (the sums stay exact)."""
        k = len(self.variables_)
        return c.reshape(len(c), int(self.lags) + 1, k).sum(axis=1)

    def score_arrays(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The statistics of raw samples ``x`` (n × base variables, model column order) as arrays.

        The lean path under :meth:`score_samples` (no Dataset built): ``t2``, ``spe`` (NaN for a
        sample without any value), ``scores``, ``t2_contribution`` and ``spe_contribution`` per base
        variable, ``n_missing``, ``t2_alarm``, ``spe_alarm`` and ``flag``.
        """
        check_is_fitted(self, self._fit_hint)
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.variables_):
            raise DatasetError(f"samples must be an array n × {len(self.variables_)} ({', '.join(self.variables_)}); "
                               f"got shape {x.shape}")
        n, kl = len(x), len(self.lagged_variables_)
        cat = {"scores": np.empty((n, self.n_components_)), "t2": np.empty(n), "spe": np.empty(n),
               "c_t2": np.empty((n, kl)), "c_spe": np.empty((n, kl)), "n_missing": np.empty(n, dtype=int)}
        with single_blas_thread() if n > 4096 else contextlib.nullcontext():  # (switching costs more than a few rows)
            for a, rows in iter_lagged(x, int(self.lags)):
                self._score_chunk(rows, cat, slice(a, a + len(rows)))
        empty = cat["n_missing"] == kl
        t2, spe = cat["t2"], cat["spe"]
        if empty.any():
            t2[empty] = np.nan
            spe[empty] = np.nan
        t2a, spea = t2 > self.t2_limit_, spe > self.spe_limit_
        flag = np.where(empty, "no data", np.where(t2a & spea, "T2+SPE", np.where(t2a, "T2", np.where(spea, "SPE", "ok"))))
        out = {"t2": t2, "spe": spe, "scores": cat["scores"], "t2_alarm": t2a, "spe_alarm": spea, "flag": flag,
               "n_missing": cat["n_missing"],
               "t2_contribution": self._base_sum(cat["c_t2"]) if self.lags else cat["c_t2"],
               "spe_contribution": self._base_sum(cat["c_spe"]) if self.lags else cat["c_spe"]}
        self._add_prediction_arrays(out)
        return out

    def _add_prediction_arrays(self, out: dict) -> None:
        """Hook for PLS: predicted quality variables."""

    def score_samples(self, data) -> xr.Dataset:
        """Per sample: ``t2``, ``spe``, their limits, alarm flags, scores and contributions.

        Returns a Dataset along ``sample`` (the data's index: time stamps or row numbers), with
        ``t2_contribution`` and ``spe_contribution`` per base variable (lags summed), which sum
        exactly to ``t2`` and ``spe``. No sample is dropped: missing cells are scored with
        ``missing`` (TSR or PMP) and counted in ``n_missing``; a sample with no value at all has
        NaN statistics and flag ``"no data"``.
        """
        check_is_fitted(self, self._fit_hint)
        x, _, index = self._matrix(data, fitting=False)
        r = self.score_arrays(x)
        t2, spe, t2a, spea, flag = r["t2"], r["spe"], r["t2_alarm"], r["spe_alarm"], r["flag"]
        s, c = ("sample",), ("sample", "variable")
        ds = xr.Dataset(
            {
                "t2": (s, t2, {"units": "1", "long_name": "Hotelling T²"}),
                "spe": (s, spe, {"units": "1", "long_name": "squared prediction error"}),
                "t2_limit": ((), self.t2_limit_, {"units": "1", "long_name": f"T² limit (Phase II, α = {self.alpha})"}),
                "spe_limit": ((), self.spe_limit_, {"units": "1", "long_name": f"SPE limit ({self.spe_method}, α = {self.alpha})"}),
                "t2_alarm": (s, t2a, {"units": "1", "long_name": "T² above its limit"}),
                "spe_alarm": (s, spea, {"units": "1", "long_name": "SPE above its limit"}),
                "flag": (s, flag.astype(str), {"units": "1", "long_name": "ok, T2, SPE, T2+SPE or no data"}),
                "n_missing": (s, r["n_missing"], {"units": "1", "long_name": "missing (lagged) cells"}),
                "scores": (("sample", "component"), r["scores"], {"units": "1", "long_name": "scores"}),
                "t2_contribution": (c, r["t2_contribution"], {"units": "1", "long_name": "contribution to T²"}),
                "spe_contribution": (c, r["spe_contribution"], {"units": "1", "long_name": "contribution to SPE"}),
            },
            coords={"sample": index, "variable": self.variables_, "component": np.arange(1, self.n_components_ + 1)},
            attrs={"kind": CHECK_KIND, "model": self._model, "alpha": self.alpha, "spe_method": self.spe_method,
                   "missing": self.missing, "scaling": self.scaling, "lags": int(self.lags),
                   "t2_limit_source": "Tracy, Young & Mason (1992), Phase II F distribution",
                   "spe_limit_source": self._spe_source()},
        )
        if self.n_components_ >= 2:  # the T² ellipse of the t1-t2 score plot is the limit of a 2-score T²
            ds.attrs["t2_limit_plane"] = t2_limit(self.alpha, 2, self.n_samples_, phase="II")
        ds["score_variance"] = ("component", self.score_variance_, {"units": "1", "long_name": "reference score variance"})
        for key, v in r.items():
            if key.startswith("predicted_"):
                ds[key] = ("sample", v, {"units": "1", "long_name": f"predicted {key[len('predicted_'):]}"})
        return ds

    def _spe_source(self) -> str:
        return ("Box (1954) g·χ²_h on cross-validated reference SPE" if self.spe_method == "box"
                else "Jackson & Mudholkar (1979) from the residual eigenvalues")

    def decision_function(self, data) -> xr.Dataset:
        """``t2 / t2_limit`` and ``spe / spe_limit`` (> 1 is an alarm)."""
        s = self.score_samples(data)
        return xr.Dataset({"t2_ratio": (s["t2"] / s["t2_limit"]).assign_attrs(units="1", long_name="T² / limit"),
                           "spe_ratio": (s["spe"] / s["spe_limit"]).assign_attrs(units="1", long_name="SPE / limit")})

    def predict(self, data) -> np.ndarray:
        """Boolean alarm per sample (T² or SPE above its limit)."""
        s = self.score_samples(data)
        return (s["t2_alarm"] | s["spe_alarm"]).values

    def start(self) -> MSPCSession:
        """Start scoring live samples one at a time (:class:`MSPCSession`)."""
        return MSPCSession(self)

    def transform(self, data) -> np.ndarray:
        """Scores ``(n_samples, n_components)``."""
        return self.score_samples(data)["scores"].values

    # --------------------------------------------------------------- persist
    def _params_json(self) -> str:
        def plain(v):
            return v.item() if isinstance(v, np.generic) else (list(v) if isinstance(v, tuple) else v)
        return json.dumps({k: plain(v) for k, v in self.get_params(deep=False).items()})

    def to_dataset(self) -> xr.Dataset:
        """The fitted model as a Dataset (``attrs['kind'] = 'mspc-model'``; no pickling)."""
        check_is_fitted(self, self._fit_hint)
        v, c = ("variable",), ("variable", "component")
        ds = xr.Dataset(
            {
                "mean": (v, self.mean_, {"units": "1", "long_name": "reference mean (data units)"}),
                "std": (v, self.std_, {"units": "1", "long_name": "reference standard deviation (data units)"}),
                "scale": (v, self.scale_, {"units": "1", "long_name": f"scale divisor ({self.scaling})"}),
                "weights": (c, self.weights_, {"units": "1", "long_name": "score weights W (t = z W)"}),
                "loadings": (c, self.loadings_, {"units": "1", "long_name": "loadings P"}),
                "score_variance": ("component", self.score_variance_, {"units": "1", "long_name": "score variance"}),
                "covariance": (("variable", "variable2"), self.covariance_,
                               {"units": "1", "long_name": "covariance of the scaled data"}),
                "residual_eigenvalues": ("residual", self.residual_eigenvalues_,
                                         {"units": "1", "long_name": "eigenvalues left out of the model"}),
                "cv_press": ("n_components_tried", np.asarray(getattr(self, "cv_press_", []), dtype=float),
                             {"units": "1", "long_name": "cross-validated PRESS for 1, 2, … components"}),
            },
            coords={"variable": self.lagged_variables_, "variable2": self.lagged_variables_,
                    "component": np.arange(1, self.n_components_ + 1)},
            attrs={"kind": MODEL_KIND, "model": self._model, "params": self._params_json(),
                   "variables": json.dumps(self.variables_), "n_samples": self.n_samples_,
                   "n_incomplete": self.n_incomplete_, "n_components": self.n_components_,
                   "t2_limit": self.t2_limit_, "t2_limit_phase1": self.t2_limit_phase1_, "spe_limit": self.spe_limit_,
                   "spe_cv_moments": json.dumps(list(getattr(self, "spe_cv_moments_", ()) or ())),
                   "cv_folds": self.cv_folds_, "t2_limit_source": "Tracy, Young & Mason (1992): Phase II F, Phase I beta",
                   "spe_limit_source": self._spe_source()},
        )
        self._extra_to_dataset(ds)
        return ds

    def _extra_to_dataset(self, ds: xr.Dataset) -> None:
        pass

    def _extra_from_dataset(self, ds: xr.Dataset) -> None:
        pass

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> LatentMonitor:
        """Rebuild a fitted monitor from :meth:`to_dataset` output."""
        if ds.attrs.get("kind") != MODEL_KIND or ds.attrs.get("model") != cls._model:
            raise DatasetError(f"not a {cls._model.upper()} monitor file (attrs kind={ds.attrs.get('kind')!r}, "
                               f"model={ds.attrs.get('model')!r}); build one with `twin spc mspc build`")
        m = cls(**json.loads(ds.attrs["params"]))
        m.variables_ = json.loads(ds.attrs["variables"])
        m.lagged_variables_ = [str(v) for v in ds["variable"].values]
        for key in ("mean", "std", "scale", "weights", "loadings", "score_variance", "covariance", "residual_eigenvalues"):
            setattr(m, key + "_", np.asarray(ds[key].values, dtype=float))
        m.cv_press_ = ds["cv_press"].values.tolist()
        for key in ("n_samples", "n_incomplete", "n_components", "cv_folds"):
            setattr(m, key + "_", int(ds.attrs[key]))
        for key in ("t2_limit", "t2_limit_phase1", "spe_limit"):
            setattr(m, key + "_", float(ds.attrs[key]))
        m.spe_cv_moments_ = tuple(json.loads(ds.attrs.get("spe_cv_moments", "[]"))) or None
        m._extra_from_dataset(ds)
        return m

    def save(self, path: str | Path) -> Path:
        """Write the model to NetCDF (``twin report model.nc`` renders it)."""
        from workbench.dataset import write_netcdf

        return write_netcdf(self.to_dataset(), path)

    @classmethod
    def load(cls, path: str | Path) -> LatentMonitor:
        """Read a model written by :meth:`save`."""
        return cls.from_dataset(_read_model(path))


def _read_model(path: str | Path) -> xr.Dataset:
    from workbench.dataset import read_netcdf

    ds = read_netcdf(path)
    if ds.attrs.get("kind") != MODEL_KIND:
        raise DatasetError(f"{path}: not an MSPC model (attrs['kind'] = {ds.attrs.get('kind')!r}, expected "
                           f"'{MODEL_KIND}'); build one with `twin spc mspc build DATA -o model.nc`")
    return ds


def load_monitor(path: str | Path) -> LatentMonitor:
    """Load a PCA or PLS monitor saved with ``save`` (the file says which)."""
    from spc._pca import PCAMonitor
    from spc._pls import PLSMonitor

    ds = _read_model(path)
    cls = {"pca": PCAMonitor, "pls": PLSMonitor}.get(str(ds.attrs.get("model")))
    if cls is None:
        raise DatasetError(f"{path}: unknown MSPC model type {ds.attrs.get('model')!r}; expected 'pca' or 'pls'")
    return cls.from_dataset(ds)


@dataclass
class MSPCSample:
    """One scored live sample: statistics, limits, flag and contributions per base variable."""

    time: Any
    t2: float
    spe: float
    t2_limit: float
    spe_limit: float
    flag: str
    n_missing: int
    t2_contribution: dict[str, float] = field(default_factory=dict)
    spe_contribution: dict[str, float] = field(default_factory=dict)

    @property
    def alarm(self) -> bool:
        """T² or SPE above its limit."""
        return self.flag in ("T2", "SPE", "T2+SPE")

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` largest contributions to the statistic that is furthest above (or nearest to) its limit."""
        use_spe = (self.spe / self.spe_limit if self.spe_limit else 0.0) >= (self.t2 / self.t2_limit if self.t2_limit else 0.0)
        c = self.spe_contribution if use_spe else self.t2_contribution
        return sorted(c.items(), key=lambda kv: -abs(kv[1]))[:n]


class MSPCSession:
    """Score samples one at a time as they arrive (a live plant), keeping the lag history.

    Create with :meth:`LatentMonitor.start`. A missing or NaN value is a missing cell (scored
    with the model's ``missing`` rule); until ``lags`` samples have been seen the older lags
    are missing too, exactly as :meth:`LatentMonitor.score_samples` scores the start of a file.
    """

    def __init__(self, model: LatentMonitor):
        check_is_fitted(model, model._fit_hint)
        self.model = model
        self._history: deque[np.ndarray] = deque(maxlen=int(model.lags) + 1)
        self._index = {v: j for j, v in enumerate(model.variables_)}

    def update(self, values: Mapping[str, float] | Sequence[float], time: Any = None) -> MSPCSample:
        """Score one sample: a mapping variable → value (absent names are missing) or values in model order."""
        m = self.model
        if isinstance(values, Mapping):
            unknown = [k for k in values if k not in self._index]
            if unknown:
                raise DatasetError(f"sample has variables {', '.join(map(str, unknown))} that the model does not know; "
                                   f"{did_you_mean(str(unknown[0]), m.variables_)}")
            row = np.full(len(m.variables_), np.nan)
            for k, v in values.items():
                row[self._index[k]] = np.nan if v is None else float(v)
        else:
            row = np.asarray(values, dtype=float).reshape(-1)
            if row.size != len(m.variables_):
                raise DatasetError(f"sample has {row.size} values; the model has {len(m.variables_)} variables")
        self._history.append(row)
        hist = np.vstack(list(self._history))
        r = m.score_arrays(hist)  # the last row has its lags from the history
        names = m.variables_
        return MSPCSample(time=time, t2=float(r["t2"][-1]), spe=float(r["spe"][-1]), t2_limit=m.t2_limit_,
                          spe_limit=m.spe_limit_, flag=str(r["flag"][-1]), n_missing=int(r["n_missing"][-1]),
                          t2_contribution=dict(zip(names, r["t2_contribution"][-1].tolist(), strict=True)),
                          spe_contribution=dict(zip(names, r["spe_contribution"][-1].tolist(), strict=True)))
