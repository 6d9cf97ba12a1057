"""The golden-batch model: alignment + selection + envelope + MPCA + quality PLS, and on-line monitoring.

:class:`GoldenBatchModel` is composed of those parts (each a scikit-learn style
estimator) the way a scikit-learn ``Pipeline`` is of its steps. It is what
``twin golden build`` writes (``envelope.nc``) and ``twin golden check`` reads.
:meth:`GoldenBatchModel.start` returns a :class:`MonitorSession` that takes a
running batch sample by sample.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import clone

from golden_batch._align import Aligner
from golden_batch._base import GoldenEstimator, check_is_fitted, estimator_from_json, params_to_json
from golden_batch._batchset import make_batch_set, quality_variables, trajectory_variables
from golden_batch._envelope import Envelope
from golden_batch._mpca import BatchPCA
from golden_batch._quality import QualityPLS
from golden_batch._select import GoldenSelection, GoldenSelector
from workbench.errors import ConfigError, DatasetError, did_you_mean

__all__ = ["GoldenBatchModel", "MonitorSession", "MonitorSample", "EXTRA_DIMS", "FLAT_PARAMETERS",
           "flat_to_parts"]

EXTRA_DIMS = ("align_variable", "component", "component2", "pls_component", "pls_component2", "batch_ref",
              "envelope_ref")


@dataclass
class MonitorSample:
    """Monitoring result of one on-line sample.

    Attributes
    ----------
    index
        Grid index the sample was aligned to (-1 before the grid starts).
    time
        Aligned (reference) time of that grid point in s.
    in_envelope
        Variable → inside the envelope band.
    t2, t2_limit, spe, spe_limit
        On-line Hotelling T² of the partial batch (trimmed score regression) and
        the instantaneous SPE of the current time slice, with their limits.
    t2_contribution, spe_contribution
        Variable → contribution at the current grid point.
    predicted_quality
        KPI → predicted final value.
    """

    index: int
    time: float
    in_envelope: dict[str, bool] = field(default_factory=dict)
    t2: float = float("nan")
    t2_limit: float = float("nan")
    spe: float = float("nan")
    spe_limit: float = float("nan")
    t2_contribution: dict[str, float] = field(default_factory=dict)
    spe_contribution: dict[str, float] = field(default_factory=dict)
    predicted_quality: dict[str, float] = field(default_factory=dict)

    @property
    def alarm(self) -> bool:
        """True if T² or SPE is above its limit or a variable left the envelope."""
        return bool(self.t2 > self.t2_limit or self.spe > self.spe_limit or not all(self.in_envelope.values()))


# old flat keyword argument of GoldenBatchModel → (part, parameter of that part)
FLAT_PARAMETERS: dict[str, tuple[str, str]] = {
    "select": ("selection", "spec"),
    "outlier_alpha": ("selection", "alpha"),
    "max_modes": ("selection", "max_modes"),
    "seed": ("selection", "seed"),
    "alignment": ("aligner", "method"),
    "indicator": ("aligner", "indicator"),
    "variables": ("aligner", "variables"),
    "n_points": ("aligner", "n_points"),
    "band": ("aligner", "window"),
    "k_sigma": ("envelope", "k"),
    "quantiles": ("envelope", "quantiles"),
    "envelope_band": ("envelope", "method"),
    "alpha": ("mpca", "alpha"),
    "n_components": ("mpca", "n_components"),
    "spe_method": ("mpca", "spe_method"),
    "quality": ("quality_model", "quality"),
}
PART_CLASSES = {"selection": GoldenSelector, "aligner": Aligner, "envelope": Envelope, "mpca": BatchPCA,
                "quality_model": QualityPLS}


def _part_name(part: str) -> str:
    return PART_CLASSES[part].__name__


def flat_to_parts(flat: Mapping[str, Any], parts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn the old flat keyword arguments of :class:`GoldenBatchModel` into its parts.

    ``parts`` are parts given as well (copied, then updated); ``quality=[]`` becomes
    ``quality_model="drop"``. Unknown names raise a TypeError with a did-you-mean.
    """
    out = dict(parts or {})
    for name, value in flat.items():
        if name not in FLAT_PARAMETERS:
            valid = [*FLAT_PARAMETERS, *PART_CLASSES, "include_warp"]
            raise TypeError(f"GoldenBatchModel() got an unexpected keyword argument '{name}'; "
                            f"{did_you_mean(name, valid)}")
        part, key = FLAT_PARAMETERS[name]
        current = out.get(part)
        if part == "quality_model":
            if value is not None and len(value) == 0:
                out[part] = "drop"
                continue
            if current == "drop":
                continue
        if isinstance(current, str) and part == "selection":
            current = GoldenSelector(current)
        est = clone(current) if current is not None else PART_CLASSES[part]()
        out[part] = est.set_params(**{key: tuple(value) if name == "quantiles" else value})
    return out


class GoldenBatchModel(GoldenEstimator):
    """Golden-batch envelope and multivariate batch model built from a raw history.

    Composed of its parts like a scikit-learn ``Pipeline``: ``fit`` aligns the
    history (``aligner``), selects the golden batches (``selection``), re-aligns
    them and fits the ``envelope``, the multiway PCA (``mpca``) and the quality
    prediction (``quality_model``). Each part is cloned before it is fitted; the
    fitted parts are ``aligner_``, ``selection_`` (the :class:`GoldenSelection`),
    ``envelope_``, ``mpca_`` and ``quality_model_``. ``get_params(deep=True)``
    reaches every part's parameters (``envelope__k``), so does ``set_params``.

    Parameters
    ----------
    selection
        A :class:`~golden_batch.GoldenSelector`, or its KPI spec as a string
        (``"yield >= 0.9"`` is ``GoldenSelector("yield >= 0.9")``); None keeps every
        batch that is not an outlier.
    aligner
        :class:`~golden_batch.Aligner` (default ``Aligner("dtw")``).
    envelope
        :class:`~golden_batch.Envelope` (default ``Envelope(k=3)``). Its variables are
        the model's (the aligner's, plus ``warped_time``); leave ``variables`` unset.
    mpca
        :class:`~golden_batch.BatchPCA` (default ``BatchPCA(0.8, alpha=0.01)``); its
        ``alpha`` is the false-alarm probability of the control limits. Leave
        ``variables`` unset.
    quality_model
        :class:`~golden_batch.QualityPLS` predicting the final KPIs on line (default:
        every quality variable, when at least 8 golden batches have them), or
        ``"drop"`` for none. Leave ``variables`` unset.
    include_warp
        With DTW or indicator alignment, also model ``warped_time`` (the batch's own
        elapsed time at each aligned point), so timing faults such as a late feed,
        which the warping absorbs, stay visible (Kassidas et al. 1998).
    **flat
        Deprecated flat keyword arguments of the former constructor (``alignment``,
        ``k_sigma``, ``alpha`` …); each warns and goes to its part (table in
        ``docs/golden-batch.md``), e.g. ``k_sigma=2`` → ``envelope=Envelope(k=2)``.

    Examples
    --------
    >>> GoldenBatchModel("yield >= 0.9", aligner=Aligner("elapsed", n_points=100),
    ...                  envelope=Envelope(k=2.5), mpca=BatchPCA(3, alpha=0.05))  # doctest: +SKIP
    """

    _fit_hint = "fit(history) or load(path)"
    _fitted_attribute = "mpca_"

    def __init__(
        self,
        selection: GoldenSelector | str | None = None,
        *,
        aligner: Aligner | None = None,
        envelope: Envelope | None = None,
        mpca: BatchPCA | None = None,
        quality_model: QualityPLS | str | None = None,
        include_warp: bool = True,
        **flat,
    ):
        if flat:
            given = {"selection": selection, "aligner": aligner, "envelope": envelope, "mpca": mpca,
                     "quality_model": quality_model}
            parts = flat_to_parts(flat, given)
            moved = ", ".join(f"{name}= → {FLAT_PARAMETERS[name][0]}={_part_name(FLAT_PARAMETERS[name][0])}"
                              f"({FLAT_PARAMETERS[name][1]}=...)" for name in flat)
            warnings.warn("GoldenBatchModel's flat keyword arguments are deprecated and will be removed in the "
                          f"next release; give them to its parts: {moved}", DeprecationWarning, stacklevel=2)
            selection, aligner, envelope, mpca, quality_model = (
                parts[k] for k in ("selection", "aligner", "envelope", "mpca", "quality_model"))
        self.selection = selection
        self.aligner = aligner
        self.envelope = envelope
        self.mpca = mpca
        self.quality_model = quality_model
        self.include_warp = include_warp

    def part(self, name: str) -> Any:
        """The (unfitted) part ``name`` as configured: the default one where the parameter is None.

        ``selection`` given as a string is the :class:`GoldenSelector` of that spec;
        ``quality_model="drop"`` gives None.
        """
        if name not in PART_CLASSES:
            raise ConfigError(f"GoldenBatchModel has no part '{name}'; {did_you_mean(name, PART_CLASSES)}")
        value = getattr(self, name)
        if value is None:
            return PART_CLASSES[name]()
        if name == "selection" and isinstance(value, str):
            return GoldenSelector(value)
        if name == "quality_model" and isinstance(value, str):
            if value != "drop":
                raise ConfigError(f"quality_model must be a QualityPLS, None or 'drop'; got {value!r}")
            return None
        return value

    def __getattr__(self, name: str) -> Any:
        # deprecated read access to the former flat parameters (model.alpha → model.mpca.alpha)
        where = FLAT_PARAMETERS.get(name)
        if where is None or name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        part, key = where
        warnings.warn(f"GoldenBatchModel.{name} is deprecated and will be removed in the next release; "
                      f"use GoldenBatchModel.{part}.{key} (None: the default {_part_name(part)})",
                      DeprecationWarning, stacklevel=2)
        est = self.part(part)
        if est is None:  # quality_model="drop"
            return []
        return est.get_params(deep=False)[key]

    def fit(self, history: xr.Dataset, y=None, *, executor=None) -> GoldenBatchModel:
        """Align the history, select the golden batches, fit envelope, MPCA and quality PLS.

        Parameters
        ----------
        history
            Raw batch set (``batch`` × ``sample``). A Dask-backed one, e.g.
            ``read_history("history.zarr", chunks={"batch": 64})``, may be larger
            than memory: the alignment statistics are reduced chunk by chunk and the
            batches are aligned one chunk at a time; only the aligned set
            (``batch`` × grid points, usually far smaller than the raw samples) is
            held for the envelope, MPCA and PLS.
        executor
            Spreads the alignment of batch chunks (see
            :func:`workbench.executors.map_jobs`); same numbers on every executor.
        """
        aligner, selector, envelope, mpca = (self.part(n) for n in ("aligner", "selection", "envelope", "mpca"))
        for name, est in (("envelope", envelope), ("mpca", mpca), ("quality_model", self.part("quality_model"))):
            if getattr(est, "variables", None) is not None:
                raise ConfigError(
                    f"GoldenBatchModel sets the {name}'s variables itself (the aligner's, plus warped_time); "
                    f"got {name}.variables={list(est.variables)}; give variables to the aligner instead: "
                    "aligner=Aligner(variables=[...])")
        first = clone(aligner).fit(history)
        aligned_all = first.transform(history, executor=executor)
        selector = clone(selector)
        if selector.n_components is None:
            selector.set_params(n_components=mpca.n_components)
        if selector.variables is None:
            selector.set_params(variables=first.variables_)
        self.selection_: GoldenSelection = selector.fit(aligned_all).selection_
        golden_raw = history.sel(batch=self.selection_.selected)
        self.aligner_ = clone(aligner).fit(golden_raw)
        golden = self.aligner_.transform(golden_raw, executor=executor)
        self.golden_ = golden
        # the indicator is the grid itself (no information left in it): model its timing instead
        method = self.aligner_.method
        self.variables_ = [v for v in self.aligner_.variables_
                           if not (method == "indicator" and v == self.aligner_.indicator)]
        self.units_ = {v: self.aligner_.units_[v] for v in self.variables_}
        if self.include_warp and method != "elapsed":
            self.variables_.append("warped_time")
            self.units_["warped_time"] = "s"
        self.envelope_ = clone(envelope).set_params(variables=self.variables_).fit(golden)
        self.mpca_ = clone(mpca).set_params(variables=self.variables_).fit(golden)
        quality = self.part("quality_model")
        self.quality_model_ = None
        if quality is not None:
            kpis = list(quality.quality) if quality.quality is not None else quality_variables(golden)
            kpis = [k for k in kpis if k in golden and k != "dtw_distance"]
            if kpis and golden.sizes["batch"] >= 8:
                self.quality_model_ = clone(quality).set_params(quality=kpis, variables=self.variables_).fit(golden)
        return self

    def _check(self) -> None:
        check_is_fitted(self)

    # ------------------------------------------------------------ offline
    def align(self, batches: xr.Dataset) -> xr.Dataset:
        """Align raw batches onto the model's grid."""
        self._check()
        missing = [v for v in self.aligner_.variables_ if v not in batches]
        if missing:
            raise DatasetError(f"batches lack model variables {missing}; "
                               f"{did_you_mean(missing[0], trajectory_variables(batches))}")
        return self.aligner_.transform(batches)

    def monitor_aligned(self, aligned: xr.Dataset) -> xr.Dataset:
        """On-line statistics of every grid point for aligned batches, vectorised.

        Equivalent to feeding each aligned batch to :meth:`start` sample by sample
        on the grid. Returns ``online_t2``, ``online_spe`` (``batch`` × ``time``),
        their limits, ``in_envelope`` (``batch`` × ``time`` × ``variable``) and, with a
        quality model, ``predicted_<kpi>`` (``batch`` × ``time``).
        """
        self._check()
        m = self.mpca_
        z3 = m._z(aligned).reshape(aligned.sizes["batch"], m.n_times_, len(self.variables_))
        trimmed = np.cumsum(np.einsum("ikj,kja->ika", z3, m.loadings_time_), axis=1)
        t_hat = np.einsum("ika,kab->ikb", trimmed, m.online_matrix_)
        t2 = np.einsum("ika,kab,ikb->ik", t_hat, m.online_cov_inv_, t_hat)
        resid = z3 - np.einsum("ika,kja->ikj", t_hat, m.loadings_time_)
        spe = np.sum(resid**2, axis=2)
        dims = ("batch", "time")
        out = xr.Dataset(
            {
                "online_t2": (dims, t2, {"units": "1", "long_name": "on-line Hotelling T²"}),
                "online_spe": (dims, spe, {"units": "1", "long_name": "on-line SPE"}),
                "t2_limit": ((), m.online_t2_limit_, {"units": "1", "long_name": "T² limit"}),
                "spe_limit": ("time", m.online_spe_limit_, {"units": "1", "long_name": "per-time SPE limit"}),
                "in_envelope": (("batch", "time", "variable"), self.envelope_.excursion(aligned) == 0,
                                {"units": "1", "long_name": "sample inside the envelope"}),
            },
            coords={"batch": aligned["batch"].values, "time": aligned["time"].values, "variable": self.variables_},
            attrs={"kind": "mspc"},
        )
        q = self.quality_model_
        if q is not None:
            zq = q._z(aligned)
            tq = np.cumsum(np.einsum("ikj,kja->ika", zq, q.loadings_time_), axis=1)
            that = np.einsum("ika,kab->ikb", tq, q.online_matrix_)
            yhat = np.einsum("ika,qa->ikq", that, q.y_loadings_) * q.y_scale_ + q.y_mean_
            for n, kpi in enumerate(q.quality_):
                out[f"predicted_{kpi}"] = (dims, yhat[:, :, n], {"units": "1", "long_name": f"predicted final {kpi}"})
        return out

    def check(self, batches: xr.Dataset) -> xr.Dataset:
        """Check complete raw batches: envelope, batch-level T²/SPE, quality prediction.

        Returns a Dataset along ``batch`` with ``t2``, ``spe``, ``t2_limit``,
        ``spe_limit``, ``in_control``, the envelope verdict ``in_envelope`` and
        ``envelope_outside_fraction`` (the simultaneous band at the model's α over all
        time points and variables, :meth:`Envelope.verdict` – the one meaning of "in
        envelope" for ``twin golden check`` and the report), ``fraction_inside`` (time
        with every variable inside the ±kσ display band, for information) and
        ``predicted_<kpi>``.
        """
        aligned = self.align(batches)
        s = self.mpca_.score_samples(aligned)
        inside = self.envelope_.predict(aligned)["fraction_inside"]
        verdict = self.envelope_.verdict(aligned, self.mpca_.alpha)
        out = xr.Dataset({
            "fraction_inside": inside.assign_attrs(long_name="fraction of time with every variable inside the ±kσ band"),
            "envelope_outside_fraction": verdict["envelope_outside_fraction"],
            "envelope_factor": verdict["envelope_factor"],
            "t2": s["t2"], "spe": s["spe"],
            "t2_limit": ((), self.mpca_.t2_limit_, {"units": "1", "long_name": "T² limit"}),
            "spe_limit": ((), self.mpca_.spe_limit_, {"units": "1", "long_name": "SPE limit"}),
        })
        out["in_control"] = ((out["t2"] <= out["t2_limit"]) & (out["spe"] <= out["spe_limit"])).assign_attrs(
            units="1", long_name="T² and SPE within limits")
        out["in_envelope"] = verdict["in_envelope"]
        if self.quality_model_ is not None:
            yhat = self.quality_model_.predict(aligned)
            for n, kpi in enumerate(self.quality_model_.quality_):
                out[f"predicted_{kpi}"] = ("batch", yhat[:, n], {"units": "1", "long_name": f"predicted final {kpi}"})
        return out

    def violation(self, trajectory, time=None) -> float:
        """Envelope violation of one trajectory (see :meth:`Envelope.violation`)."""
        self._check()
        return self.envelope_.violation(trajectory, time)

    def start(self) -> MonitorSession:
        """Start monitoring one running batch."""
        self._check()
        return MonitorSession(self)

    # -------------------------------------------------------- persistence
    def to_dataset(self) -> xr.Dataset:
        """Everything fitted as one Dataset (no pickling)."""
        self._check()
        parts = [self.envelope_.to_dataset(), self.mpca_.to_dataset(), self.aligner_.to_dataset()]
        if self.quality_model_ is not None:
            parts.append(self.quality_model_.to_dataset())
        sel = self.selection_.to_dataset()
        ds = xr.merge(parts + [sel], combine_attrs="no_conflicts", compat="override", join="outer")
        ds.attrs["golden_model_params"] = params_to_json(self)  # get_params(), parts included
        ds.attrs["golden_batches"] = ",".join(self.selection_.selected)
        ds.attrs["kind"] = "golden-batch-model"
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> GoldenBatchModel:
        """Rebuild a fitted model from :meth:`to_dataset` output."""
        if ds.attrs.get("kind") != "golden-batch-model":
            raise DatasetError("not a golden-batch model file (attrs['kind'] != 'golden-batch-model'); "
                               "build one with `twin golden build`")
        text = ds.attrs["golden_model_params"]
        params = json.loads(text)
        if "__estimator__" in params:
            m = estimator_from_json(text, cls)
        else:  # written before the model was composed of parts: its flat parameters
            include_warp = params.pop("include_warp", True)
            m = cls(**flat_to_parts(params), include_warp=include_warp)
        m.envelope_ = Envelope.from_dataset(ds)
        m.mpca_ = BatchPCA.from_dataset(ds)
        m.aligner_ = Aligner.from_dataset(ds)
        m.quality_model_ = QualityPLS.from_dataset(ds) if "pls_loadings" in ds else None
        m.variables_ = list(m.envelope_.variables_)
        m.units_ = dict(zip(m.variables_, m.envelope_.units_, strict=True))
        import pandas as pd

        cols = [v for v in ds.data_vars if str(v).startswith("selection_")]
        table = pd.DataFrame({str(c)[len("selection_"):]: ds[c].values for c in cols},
                             index=pd.Index(ds["batch"].values.astype(str), name="batch"))
        for col in ("meets_spec", "outlier", "selected"):
            if col in table:
                table[col] = table[col].astype(bool)
        m.selection_ = GoldenSelection([b for b in str(ds.attrs.get("golden_batches", "")).split(",") if b],
                                       table, ds.attrs.get("selection_spec") or None,
                                       int(ds.attrs.get("selection_n_modes", 1)))
        return m

    def save(self, path: str | Path) -> Path:
        """Write the model as NetCDF (``envelope.nc``)."""
        from workbench.dataset import write_netcdf

        return write_netcdf(self.to_dataset(), path)

    @classmethod
    def load(cls, path: str | Path) -> GoldenBatchModel:
        """Read a model written by :meth:`save`."""
        from workbench.dataset import read_netcdf

        return cls.from_dataset(read_netcdf(path))


class MonitorSession:
    """Sample-by-sample monitoring of one running batch (from :meth:`GoldenBatchModel.start`).

    Each :meth:`update` aligns the sample on line, updates the trimmed scores of
    the grid points it filled (O(J·A) each), and returns a :class:`MonitorSample`.
    """

    def __init__(self, model: GoldenBatchModel):
        self.model = model
        self.alignment = model.aligner_.start()
        m = model.mpca_
        k, j, a = m.loadings_time_.shape
        self._mean = m.mean_.reshape(k, j)
        self._scale = m.scale_.reshape(k, j)
        self._contrib = np.zeros((k, a))
        self._t_star = np.zeros(a)
        q = model.quality_model_
        if q is not None:
            self._q_mean = q.mean_.reshape(k, j)
            self._q_scale = q.scale_.reshape(k, j)
            self._q_contrib = np.zeros((k, q.n_components_))
            self._q_star = np.zeros(q.n_components_)
        self._filled = -1
        self._raw: list[tuple[float, np.ndarray]] = []
        self._phase: list[int | None] = []
        src = list(model.aligner_.variables_) + ["warped_time"]
        self._cols = np.array([src.index(v) for v in model.variables_])
        self.history: list[MonitorSample] = []

    def update(self, elapsed: float, values: Mapping[str, float] | np.ndarray, *,
               phase: int | None = None) -> MonitorSample:
        """Feed one sample (elapsed time in s, values by variable name or in model order).

        ``phase`` (the sample's phase index, as in the history) is kept for :meth:`finish`,
        which then aligns phase by phase like the off-line check.
        """
        self._phase.append(phase)
        model, m = self.model, self.model.mpca_
        names_in = model.aligner_.variables_
        if isinstance(values, Mapping):
            try:
                x = np.array([float(values[v]) for v in names_in])
            except KeyError as exc:
                raise DatasetError(f"sample lacks variable {exc}; {did_you_mean(str(exc.args[0]), values)}") from None
        else:
            x = np.asarray(values, dtype=float)
        self._raw.append((float(elapsed), x.copy()))
        pos = self.alignment.update(elapsed, x, phase)
        if pos < 0:
            out = MonitorSample(-1, float("nan"))
            self.history.append(out)
            return out
        first = min(self._filled + 1, pos)
        buf, cols = self.alignment._buf, self._cols
        for k in range(first, pos + 1):
            vk = buf[k, cols]
            z = (vk - self._mean[k]) / self._scale[k]
            c = z @ m.loadings_time_[k]
            self._t_star += c - self._contrib[k]
            self._contrib[k] = c
            if model.quality_model_ is not None:
                zq = (vk - self._q_mean[k]) / self._q_scale[k]
                cq = zq @ model.quality_model_.loadings_time_[k]
                self._q_star += cq - self._q_contrib[k]
                self._q_contrib[k] = cq
        self._filled = pos
        vp = buf[pos, cols]
        z = (vp - self._mean[pos]) / self._scale[pos]
        t_hat = self._t_star @ m.online_matrix_[pos]
        w = m.online_cov_inv_[pos] @ t_hat
        t2 = float(t_hat @ w)
        resid = z - m.loadings_time_[pos] @ t_hat
        names = model.variables_
        inside = model.envelope_.contains(vp, pos)
        out = MonitorSample(
            index=pos, time=float(model.envelope_.time_[pos]),
            in_envelope=dict(zip(names, map(bool, inside), strict=True)),
            t2=t2, t2_limit=float(m.online_t2_limit_),
            spe=float(resid @ resid), spe_limit=float(m.online_spe_limit_[pos]),
            t2_contribution=dict(zip(names, (z * (m.loadings_time_[pos] @ w)).tolist(), strict=True)),
            spe_contribution=dict(zip(names, (resid * resid).tolist(), strict=True)),
        )
        if model.quality_model_ is not None:
            yhat = model.quality_model_.predict_from_trimmed(self._q_star, pos + 1)
            out.predicted_quality = dict(zip(model.quality_model_.quality_, yhat.tolist(), strict=True))
        self.history.append(out)
        return out

    @property
    def reached_end(self) -> bool:
        """True once the on-line alignment has reached the last grid point of the reference."""
        return self.alignment.position >= self.model.aligner_.grid_.size - 1

    def finish(self, batch_id: str = "running") -> xr.Dataset:
        """The batch has ended: its verdict from the complete record, as :meth:`GoldenBatchModel.check`.

        Open-end DTW only knows the best match of the samples so far; at the end the
        whole record is aligned once more with the end pinned to the reference's end
        (the off-line alignment), so the end-of-batch verdict is the off-line one.
        """
        if not self._raw:
            raise DatasetError("finish() before any sample: feed the batch with update() first")
        el = np.array([t for t, _ in self._raw])
        x = np.stack([v for _, v in self._raw])
        names = self.model.aligner_.variables_
        phase = None if any(p is None for p in self._phase) else np.asarray(self._phase, dtype=int)[None]
        ds = make_batch_set({n: x[None, :, j] for j, n in enumerate(names)}, el, batch_ids=[batch_id], phase=phase)
        return self.model.check(ds)

    def to_dataset(self) -> xr.Dataset:
        """The monitoring history so far as a Dataset along ``sample``."""
        h = self.history
        data = {
            "index": ("sample", [s.index for s in h], {"units": "1", "long_name": "grid index"}),
            "t2": ("sample", [s.t2 for s in h], {"units": "1", "long_name": "on-line T²"}),
            "t2_limit": ("sample", [s.t2_limit for s in h], {"units": "1", "long_name": "T² limit"}),
            "spe": ("sample", [s.spe for s in h], {"units": "1", "long_name": "on-line SPE"}),
            "spe_limit": ("sample", [s.spe_limit for s in h], {"units": "1", "long_name": "SPE limit"}),
            "alarm": ("sample", [s.alarm if s.index >= 0 else False for s in h], {"units": "1", "long_name": "alarm"}),
        }
        return xr.Dataset(data, attrs={"kind": "mspc"})
