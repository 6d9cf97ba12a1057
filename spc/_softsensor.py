"""Soft sensor (virtual metrology): a lab quality value predicted from process data, with an interval.

Two regressors, chosen by **grouped** cross-validation (groups are batches or days, never
random rows: neighbouring samples of a continuous process are nearly copies of each other,
so row-wise folds would grade the model on rows it has all but seen; Roberts et al. 2017,
*Ecography* 40:913-929):

* PLS (scikit-learn's ``PLSRegression``, autoscaled), the number of components A chosen by
  the same grouped folds: PRESS for A = 1…``max_components`` from one fit per fold (the first
  A components of a NIPALS fit with more components are the A-component fit);
* gradient boosting (``HistGradientBoostingRegressor``, fixed seed, no early stopping).

The folds: leave-one-group-out for ≤ ``n_splits`` groups, else ``GroupKFold(n_splits)``.
A plain baseline (the training-fold mean of the target) is cross-validated beside them.

**Prediction interval** (split-conformal, Lei, G'Sell, Rinaldo, Tibshirani & Wasserman 2018,
*JASA* 113:1094-1111; Vovk, Gammerman & Shafer 2005, *Algorithmic Learning in a Random World*):
with the absolute residuals ``r_i = |y_i − ŷ_{−g(i)}(x_i)|`` of every training sample predicted
by the model fitted without its group, the interval is ``ŷ(x) ± q`` where ``q`` is the
``⌈(1 − α)(n + 1)⌉``-th smallest ``r_i``. Pooling the held-out folds is the cross-conformal /
CV+ form (Vovk 2015, *Ann. Math. Artif. Intell.* 74:9-28; Barber, Candès, Ramdas & Tibshirani
2021, *Ann. Statist.* 49:486-507: guaranteed ≥ 1 − 2α, ≈ 1 − α in practice); the coverage on new
groups is measured in ``tests/validation/test_softsensor_coverage.py``.

**Applicability domain**: a :class:`spc.PCAMonitor` of the training inputs; a sample whose
T² or SPE is above its limit is flagged ``out of domain`` (the regression extrapolates there
and the interval does not hold).

**Lagged features** (continuous data): ``lags = K`` adds ``x(t−1) … x(t−K)`` of every feature,
named ``x[t-k]`` as in dynamic PCA (:func:`spc._mspc.lag_names`).

**Saved model**: a NetCDF file (no pickle, as every workbench model) holding the training
matrix, target, groups, the chosen model and the conformal quantile. Loading refits the chosen
regressor and the domain monitor on the stored rows (both are deterministic) and checks that
the refit reproduces the stored fitted values; a scikit-learn whose trees differ is refused
rather than silently predicting something else. Refitting costs one fit (well under a second
for 10⁴ rows × 50 features); the cross-validation is not repeated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator

from golden_batch import check_is_fitted
from spc._mspc import iter_lagged, lag_names, single_blas_thread
from spc._pca import PCAMonitor
from workbench.errors import ConfigError, DataError, DatasetError, did_you_mean

__all__ = ["SoftSensor", "load_soft_sensor", "SOFTSENSOR_MODELS", "find_leakage", "grouped_folds"]

SOFTSENSOR_MODELS = ("auto", "pls", "hgb")
MODEL_KIND = "softsensor-model"
PREDICTION_KIND = "softsensor-prediction"
MIN_GROUPS = 3
LEAK_SHIFTS = 5  # |shift| tried by the leakage check (rows)
LEAK_R = 0.9999  # |correlation| above which a feature is a copy of the (shifted) target
MAX_MISSING_SHARE = 0.5  # a feature missing on more of the labelled rows is refused


def grouped_folds(groups: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs: leave-one-group-out for ≤ ``n_splits`` groups, else ``GroupKFold``."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    n_groups = len(np.unique(groups))
    splitter = LeaveOneGroupOut() if n_groups <= n_splits else GroupKFold(n_splits)
    x = np.zeros((len(groups), 1))
    return list(splitter.split(x, groups=groups))


def find_leakage(frame: pd.DataFrame, target: str, features: Sequence[str], *,
                 max_shift: int = LEAK_SHIFTS, r_min: float = LEAK_R) -> list[tuple[str, int, float]]:
    """Features that equal the target shifted by ``s`` rows (|s| ≤ ``max_shift``), up to scale and offset.

    Returns ``(feature, s, r)`` with ``s > 0`` for a past value of the target (``x(t) = y(t − s)``),
    ``s < 0`` for a future one, ``s = 0`` for a copy. Such a column leaks the answer: the model
    learns to read it, and the lab value it stands for is not there when the sensor runs live.
    """
    y = frame[target].to_numpy(dtype=float)
    out = []
    for f in features:
        x = frame[f].to_numpy(dtype=float)
        for s in range(-max_shift, max_shift + 1):
            ys = np.roll(y, s)  # ys[t] = y[t - s]
            ok = ~np.isnan(x) & ~np.isnan(ys)
            ok[: max(s, 0)] = False
            if s < 0:
                ok[s:] = False
            if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(ys[ok]) == 0:
                continue
            r = float(np.corrcoef(x[ok], ys[ok])[0, 1])
            if abs(r) >= r_min:
                out.append((str(f), s, r))
                break
    return out


def _lagged(x: np.ndarray, lags: int) -> np.ndarray:
    return np.concatenate([rows for _, rows in iter_lagged(x, lags)]) if len(x) else x


def _pls_predictions(xtr, ytr, xte, a_max: int) -> np.ndarray:
    """Predictions ``(n_test, a_max)`` of the PLS models with 1…a_max components (one NIPALS fit)."""
    from sklearn.cross_decomposition import PLSRegression

    pls = PLSRegression(a_max, scale=True).fit(xtr, ytr)
    z = (xte - pls._x_mean) / pls._x_std
    t = z @ pls.x_rotations_
    q = pls.y_loadings_[0]
    return np.cumsum(t * q, axis=1) * pls._y_std[0] + pls._y_mean[0]


def _hgb(seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, early_stopping=False,
                                         random_state=seed)


def _rmse(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(e * e)))


class SoftSensor(BaseEstimator):
    """Predict a quality ``target`` from process ``features`` with a conformal interval and a domain flag.

    Parameters
    ----------
    target
        The quality column (lab value); rows where it is missing are not used to fit.
    features
        Input columns (default: every numeric column except the target).
    lags
        Previous samples of every feature added as inputs (continuous data; 0 = none).
    model
        ``"auto"`` (the one with the lower grouped-CV RMSE), ``"pls"`` or ``"hgb"``.
    alpha
        Miscoverage of the prediction interval (0.1 → 90 % intervals).
    n_splits
        Folds of the grouped cross-validation (leave-one-group-out when there are no more groups).
    max_components
        Largest number of PLS components tried.
    domain_alpha
        False-alarm probability of the applicability-domain T²/SPE limits.
    allow_leakage
        Fit even when a feature equals the target shifted (the finding is kept in ``leakage_``).
    random_state
        Seed of the gradient boosting.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(120, 3))
    >>> frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(q=x @ [1.0, -0.5, 0.2] + 0.1 * rng.normal(size=120))
    >>> s = SoftSensor("q", model="pls").fit(frame, groups=np.repeat(np.arange(6), 20))
    >>> s.model_, s.n_components_
    ('pls', 3)
    """

    def __init__(self, target: str, *, features: Sequence[str] | None = None, lags: int = 0, model: str = "auto",
                 alpha: float = 0.1, n_splits: int = 5, max_components: int = 10, domain_alpha: float = 0.01,
                 allow_leakage: bool = False, random_state: int = 0):
        self.target = target
        self.features = features
        self.lags = lags
        self.model = model
        self.alpha = alpha
        self.n_splits = n_splits
        self.max_components = max_components
        self.domain_alpha = domain_alpha
        self.allow_leakage = allow_leakage
        self.random_state = random_state

    def __sklearn_is_fitted__(self) -> bool:
        return "conformal_quantile_" in vars(self)

    # ------------------------------------------------------------------ input
    def _validate_params(self) -> None:
        if self.model not in SOFTSENSOR_MODELS:
            raise ConfigError(f"model must be one of {', '.join(SOFTSENSOR_MODELS)}; got {self.model!r}. "
                              f"{did_you_mean(str(self.model), SOFTSENSOR_MODELS)}")
        if not (isinstance(self.lags, int | np.integer) and self.lags >= 0):
            raise ConfigError(f"lags must be an integer >= 0; got {self.lags!r}")
        if not 0 < float(self.alpha) < 1:
            raise ConfigError(f"alpha must be a float in (0, 1) (0.1 = 90 % intervals); got {self.alpha}")
        if not 0 < float(self.domain_alpha) < 1:
            raise ConfigError(f"domain_alpha must be a float in (0, 1); got {self.domain_alpha}")
        if not (isinstance(self.n_splits, int | np.integer) and self.n_splits >= 2):
            raise ConfigError(f"n_splits must be an integer >= 2; got {self.n_splits!r}")
        if not (isinstance(self.max_components, int | np.integer) and self.max_components >= 1):
            raise ConfigError(f"max_components must be an integer >= 1; got {self.max_components!r}")

    def _frame(self, data) -> pd.DataFrame:
        if isinstance(data, xr.Dataset):
            data = data.to_dataframe()
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"a soft sensor reads a DataFrame or Dataset; got {type(data).__name__}")
        return data

    def _features(self, frame: pd.DataFrame) -> list[str]:
        have = [str(c) for c in frame.columns]
        if self.target not in have:
            raise DataError(f"target column {self.target!r} is not in the data; the columns are {', '.join(have)}. "
                            f"{did_you_mean(str(self.target), have)}", column_name=str(self.target))
        if self.features is not None:
            names = [str(f) for f in self.features]
            missing = [f for f in names if f not in have]
            if missing:
                raise DataError(f"feature column(s) {', '.join(missing)} are not in the data; the columns are "
                                f"{', '.join(have)}. {did_you_mean(missing[0], have)}", column_name=missing[0])
            if self.target in names:
                raise DataError(f"the target {self.target!r} is also listed as a feature: the model would read the "
                                "answer; leave it out of the features", column_name=str(self.target))
        else:
            names = [c for c in have if c != self.target and pd.api.types.is_numeric_dtype(frame[c].dtype)]
        if not names:
            raise DataError("the data has no numeric feature column besides the target")
        return names

    def _design(self, frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
        return _lagged(frame[list(names)].to_numpy(dtype=float), int(self.lags))

    # -------------------------------------------------------------------- fit
    def fit(self, data, y=None, *, groups) -> SoftSensor:
        """Fit on historical data: the feature columns, the target column (gaps allowed) and one group per row.

        ``groups`` (a sequence as long as the data, or the name of a column) says which rows
        belong together – a batch, a day, a campaign; cross-validation never splits a group.
        """
        self._validate_params()
        frame = self._frame(data)
        if isinstance(groups, str):
            if groups not in frame.columns:
                raise DataError(f"group column {groups!r} is not in the data. "
                                f"{did_you_mean(groups, [str(c) for c in frame.columns])}", column_name=groups)
            frame, groups = frame.drop(columns=[groups]), frame[groups].to_numpy()
        groups = np.asarray(groups)
        if len(groups) != len(frame):
            raise DataError(f"groups has {len(groups)} entries; the data has {len(frame)} rows (one group per row)")
        if pd.isna(groups).any():
            i = int(np.flatnonzero(pd.isna(groups))[0])
            raise DataError(f"row {i + 1} has no group; every row needs one (a batch, a day) for grouped "
                            "cross-validation")
        names = self._features(frame)
        y_all = frame[self.target].to_numpy(dtype=float)
        labelled = ~np.isnan(y_all)
        if labelled.sum() < 3:
            raise DataError(f"the target {self.target!r} has {int(labelled.sum())} value(s); a soft sensor needs lab "
                            "values to learn from", column_name=str(self.target))
        self.leakage_ = find_leakage(frame, str(self.target), names)
        if self.leakage_ and not self.allow_leakage:
            f, s, r = self.leakage_[0]
            how = "is a copy of" if s == 0 else (f"is the target {s} row(s) earlier" if s > 0
                                                 else f"is the target {-s} row(s) later")
            raise DataError(f"feature {f!r} {how} {self.target!r} (correlation {r:.5f}): it leaks the answer into the "
                            f"model; leave it out (--exclude {f}) or, if that value is really available when the "
                            "sensor runs, pass --allow-leakage", column_name=f)
        sub = frame.loc[labelled, names]
        share = sub.isna().mean()
        bad = [f for f in names if share[f] > MAX_MISSING_SHARE]
        if bad:
            raise DataError(f"feature column {bad[0]!r} is missing on {100 * share[bad[0]]:.0f} % of the rows with a "
                            f"target value (more than {100 * MAX_MISSING_SHARE:.0f} %); leave it out (--exclude "
                            f"{bad[0]}) or fill it", column_name=bad[0])
        const = [f for f in names if not np.nanstd(sub[f].to_numpy(dtype=float)) > 0]
        if const:
            raise DataError(f"feature column(s) {', '.join(const)} are constant on the rows with a target value: they "
                            f"carry no information; leave them out (--exclude {' --exclude '.join(const)})",
                            column_name=const[0])
        if not np.nanstd(y_all) > 0:
            raise DataError(f"the target {self.target!r} is constant: nothing to predict", column_name=str(self.target))
        x_all = self._design(frame, names)
        use = labelled & ~np.isnan(x_all).any(axis=1)
        x, yv, g = x_all[use], y_all[use], groups[use]
        g_names, g_codes = np.unique(g.astype(str), return_inverse=True)
        if len(g_names) < MIN_GROUPS:
            raise DataError(f"grouped cross-validation needs at least {MIN_GROUPS} groups with target values; the "
                            f"data has {len(g_names)} ({', '.join(g_names[:5])}); give more batches or days, or "
                            "smaller groups")
        self.features_ = names
        self.lagged_features_ = lag_names(names, int(self.lags))
        self.n_samples_ = int(use.sum())
        self.n_unlabelled_ = int((~labelled).sum())
        self.n_incomplete_ = int((labelled & ~use).sum())
        self.n_groups_ = len(g_names)
        folds = grouped_folds(g_codes, int(self.n_splits))
        self.cv_scheme_ = ("leave-one-group-out" if len(folds) == self.n_groups_
                           else f"GroupKFold({len(folds)})")
        with single_blas_thread():  # OpenMP threads of the boosting: 25× slower on a shared 2-core machine
            oof, self.cv_rmse_, self.n_components_ = self._cross_validate(x, yv, folds)
        self.model_ = (self.model if self.model != "auto"
                       else min(("pls", "hgb"), key=lambda m: self.cv_rmse_[m]))
        self.cv_prediction_ = oof[self.model_]
        self._finish(x, yv, g.astype(str))
        return self

    def _cross_validate(self, x, y, folds) -> tuple[dict[str, np.ndarray], dict[str, float], int]:
        n, k = x.shape
        min_train = min(len(tr) for tr, _ in folds)
        a_max = max(1, min(int(self.max_components), k, min_train - 1))
        pls_oof = np.zeros((n, a_max))
        mean_oof = np.zeros(n)
        hgb_oof = np.zeros(n)
        want_hgb = self.model in ("auto", "hgb")
        want_pls = self.model in ("auto", "pls")
        for tr, te in folds:
            mean_oof[te] = y[tr].mean()
            if want_pls:
                pls_oof[te] = _pls_predictions(x[tr], y[tr], x[te], a_max)
            if want_hgb:
                hgb_oof[te] = _hgb(int(self.random_state)).fit(x[tr], y[tr]).predict(x[te])
        rmse = {"mean": _rmse(y - mean_oof)}
        oof = {"mean": mean_oof}
        a = 0
        if want_pls:
            press = ((pls_oof - y[:, None]) ** 2).sum(axis=0)
            self.cv_press_ = press.tolist()
            a = int(np.argmin(press)) + 1
            oof["pls"] = pls_oof[:, a - 1]
            rmse["pls"] = _rmse(y - oof["pls"])
        if want_hgb:
            oof["hgb"] = hgb_oof
            rmse["hgb"] = _rmse(y - hgb_oof)
        return oof, rmse, a

    def _finish(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> None:
        """Conformal quantile from the held-out residuals; final regressor and domain monitor on every row."""
        r = np.sort(np.abs(y - self.cv_prediction_))
        n = len(r)
        k = math.ceil((1 - float(self.alpha)) * (n + 1))  # Lei et al. (2018), split-conformal rank
        self.conformal_quantile_ = float(r[k - 1]) if k <= n else math.inf
        self.x_train_, self.y_train_, self.groups_train_ = x, y, g
        with single_blas_thread():
            self._refit()
        self.fitted_ = self._regress(x)

    def _refit(self) -> None:
        from sklearn.cross_decomposition import PLSRegression

        x, y = self.x_train_, self.y_train_
        if self.model_ == "pls":
            self.regressor_ = PLSRegression(self.n_components_, scale=True).fit(x, y)
        else:
            self.regressor_ = _hgb(int(self.random_state)).fit(x, y)
        if x.shape[1] < 2:
            raise DataError("a soft sensor needs at least 2 inputs (features × lags) for its applicability domain "
                            "(T²/SPE of a PCA of the inputs); add a feature or --lags 1")
        self.domain_ = PCAMonitor(alpha=float(self.domain_alpha), max_components=min(20, x.shape[1] - 1))
        try:
            self.domain_.fit(pd.DataFrame(x, columns=self.lagged_features_))
        except DataError as exc:
            raise DataError(f"applicability domain (PCA of the inputs): {exc.message}") from None

    def _regress(self, x: np.ndarray) -> np.ndarray:
        with single_blas_thread():
            return np.asarray(self.regressor_.predict(x), dtype=float).reshape(-1)

    # ---------------------------------------------------------------- predict
    def predict(self, data) -> xr.Dataset:
        """Per sample: ``prediction``, ``lower``/``upper`` (conformal), ``in_domain``, ``t2``, ``spe``, ``flag``.

        A sample with a missing input (or, with lags, without its history) gets no prediction
        (NaN) and the flag ``missing <column>``; one outside the training data's T²/SPE limits is
        predicted but flagged ``out of domain (T2|SPE|T2+SPE)``.
        """
        check_is_fitted(self, "fit(data, groups=...)")
        frame = self._frame(data)
        have = [str(c) for c in frame.columns]
        missing = [f for f in self.features_ if f not in have]
        if missing:
            raise DataError(f"column(s) {', '.join(missing)} of the soft sensor are not in the data; it needs "
                            f"{', '.join(self.features_)}. {did_you_mean(missing[0], have)}", column_name=missing[0])
        x = self._design(frame, self.features_)
        n = len(x)
        incomplete = np.isnan(x).any(axis=1)
        pred = np.full(n, np.nan)
        if (~incomplete).any():
            pred[~incomplete] = self._regress(x[~incomplete])
        dom = self.domain_.score_samples(pd.DataFrame(x, columns=self.lagged_features_))
        dflag = dom["flag"].values.astype(str)
        flag = np.where(dflag == "ok", "ok", np.char.add("out of domain (", np.char.add(dflag, ")")))
        for i in np.flatnonzero(incomplete):
            j = int(np.flatnonzero(np.isnan(x[i]))[0])
            flag[i] = f"missing {self.lagged_features_[j]}"
        q = self.conformal_quantile_
        s = ("sample",)
        unit = str(getattr(self, "target_units_", "")) or "1"
        ds = xr.Dataset(
            {
                "prediction": (s, pred, {"units": unit, "long_name": f"predicted {self.target}"}),
                "lower": (s, pred - q, {"units": unit, "long_name": f"lower {100 * (1 - self.alpha):g} % "
                                                                    "conformal prediction bound"}),
                "upper": (s, pred + q, {"units": unit, "long_name": f"upper {100 * (1 - self.alpha):g} % "
                                                                    "conformal prediction bound"}),
                "in_domain": (s, flag == "ok", {"units": "1", "long_name": "inputs inside the training data's "
                                                                        "T² and SPE limits"}),
                "t2": (s, dom["t2"].values, {"units": "1", "long_name": "Hotelling T² of the inputs"}),
                "spe": (s, dom["spe"].values, {"units": "1", "long_name": "SPE of the inputs"}),
                "flag": (s, flag.astype(str), {"units": "1", "long_name": "ok, out of domain (...) or missing <input>"}),
            },
            coords={"sample": frame.index.to_numpy()},
            attrs={"kind": PREDICTION_KIND, "target": str(self.target), "model": self.model_,
                   "alpha": float(self.alpha), "conformal_quantile": q,
                   "t2_limit": float(self.domain_.t2_limit_), "spe_limit": float(self.domain_.spe_limit_),
                   "interval_source": "split-conformal on held-out groups (Lei et al. 2018; Vovk et al. 2005)"},
        )
        if self.target in have:
            ds["measured"] = (s, frame[self.target].to_numpy(dtype=float),
                              {"units": unit, "long_name": f"measured {self.target}"})
        return ds

    # ---------------------------------------------------------------- persist
    def summary(self) -> dict:
        """What was fitted and how well, as plain numbers (the CLI's table and ``--json``)."""
        check_is_fitted(self, "fit(data, groups=...)")
        return {"target": str(self.target), "model": self.model_,
                "pls_components": self.n_components_ or None, "features": len(self.features_),
                "lagged_features": len(self.lagged_features_), "samples_used": self.n_samples_,
                "samples_without_target": self.n_unlabelled_, "samples_with_missing_input": self.n_incomplete_,
                "groups": self.n_groups_, "cv": self.cv_scheme_,
                **{f"cv_rmse_{k}": v for k, v in self.cv_rmse_.items()},
                "interval": f"±{self.conformal_quantile_:.6g} ({100 * (1 - self.alpha):g} % split-conformal)",
                "domain_components": self.domain_.n_components_,
                "leakage_allowed": [f"{f} (shift {s})" for f, s, _ in self.leakage_] or None}

    def to_dataset(self) -> xr.Dataset:
        """The fitted soft sensor as a Dataset (``attrs['kind'] = 'softsensor-model'``)."""
        check_is_fitted(self, "fit(data, groups=...)")
        r, f = ("row",), ("row", "feature")
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params(deep=False).items()}
        return xr.Dataset(
            {
                "x": (f, self.x_train_, {"units": "1", "long_name": "training inputs (lagged features)"}),
                "y": (r, self.y_train_, {"units": "1", "long_name": f"training target {self.target}"}),
                "group": (r, self.groups_train_.astype(str), {"units": "1", "long_name": "group (batch, day)"}),
                "cv_prediction": (r, self.cv_prediction_, {"units": "1",
                                                           "long_name": "prediction with the row's group held out"}),
                "fitted": (r, self.fitted_, {"units": "1", "long_name": "prediction of the final model"}),
            },
            coords={"feature": self.lagged_features_},
            attrs={"kind": MODEL_KIND, "params": json.dumps(params), "features": json.dumps(self.features_),
                   "model": self.model_, "n_components": int(self.n_components_),
                   "conformal_quantile": self.conformal_quantile_, "cv_rmse": json.dumps(self.cv_rmse_),
                   "cv_scheme": self.cv_scheme_, "n_unlabelled": self.n_unlabelled_,
                   "n_incomplete": self.n_incomplete_, "leakage": json.dumps(self.leakage_),
                   "cv_press": json.dumps(getattr(self, "cv_press_", [])),
                   "interval_source": "split-conformal on held-out groups (Lei et al. 2018; Vovk et al. 2005)"},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, *, source: str = "dataset") -> SoftSensor:
        """Rebuild from :meth:`to_dataset`: refit the chosen regressor and the domain monitor, check the fit."""
        if ds.attrs.get("kind") != MODEL_KIND:
            raise DatasetError(f"{source}: not a soft-sensor model (attrs['kind'] = {ds.attrs.get('kind')!r}, expected "
                               f"'{MODEL_KIND}'); fit one with `twin spc softsensor fit`")
        s = cls(**json.loads(ds.attrs["params"]))
        s.features_ = json.loads(ds.attrs["features"])
        s.lagged_features_ = [str(v) for v in ds["feature"].values]
        s.model_ = str(ds.attrs["model"])
        s.n_components_ = int(ds.attrs["n_components"])
        s.conformal_quantile_ = float(ds.attrs["conformal_quantile"])
        s.cv_rmse_ = json.loads(ds.attrs["cv_rmse"])
        s.cv_press_ = json.loads(ds.attrs.get("cv_press", "[]"))
        s.cv_scheme_ = str(ds.attrs["cv_scheme"])
        s.leakage_ = [tuple(v) for v in json.loads(ds.attrs["leakage"])]
        s.x_train_ = np.asarray(ds["x"].values, dtype=float)
        s.y_train_ = np.asarray(ds["y"].values, dtype=float)
        s.groups_train_ = np.asarray(ds["group"].values).astype(str)
        s.cv_prediction_ = np.asarray(ds["cv_prediction"].values, dtype=float)
        s.n_samples_ = len(s.y_train_)
        s.n_groups_ = len(np.unique(s.groups_train_))
        s.n_unlabelled_ = int(ds.attrs["n_unlabelled"])
        s.n_incomplete_ = int(ds.attrs["n_incomplete"])
        with single_blas_thread():
            s._refit()
        s.fitted_ = s._regress(s.x_train_)
        stored = np.asarray(ds["fitted"].values, dtype=float)
        tol = 1e-6 * max(float(np.std(s.y_train_)), 1e-300)
        if not np.allclose(s.fitted_, stored, rtol=0, atol=tol):
            raise DatasetError(f"{source}: refitting the {s.model_} model does not reproduce its stored fitted values "
                               f"(largest difference {np.max(np.abs(s.fitted_ - stored)):.3g}); the file was written by "
                               "another scikit-learn version: fit the soft sensor again")
        return s

    def save(self, path: str | Path) -> Path:
        """Write the soft sensor to NetCDF."""
        from workbench.dataset import write_netcdf

        return write_netcdf(self.to_dataset(), path)


def load_soft_sensor(path: str | Path) -> SoftSensor:
    """Read a soft sensor written by :meth:`SoftSensor.save`."""
    from workbench.dataset import read_netcdf

    return SoftSensor.from_dataset(read_netcdf(path), source=str(path))
