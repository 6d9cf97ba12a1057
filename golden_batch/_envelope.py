"""Golden-batch envelopes: per-time mean ± kσ and quantile bands per variable.

An :class:`Envelope` is fitted on aligned golden batches (dims ``batch`` × ``time``)
and answers, for any trajectory on (or interpolated onto) its time grid, whether
each sample lies inside the band and by how much it leaves it. The scalar
:meth:`Envelope.violation` is the constraint used by optimisation campaigns::

    violation = (1/T) ∫ Σ_v max(0, (x_v - u_v)/s_v, (l_v - x_v)/s_v) dt

with ``l``, ``u`` the band and ``s`` the per-time standard deviation (floored at
``min_scale``): 0 inside the envelope, growing continuously with the size and
duration of an excursion (an integrated normalised excursion).

**The envelope verdict of a batch** (``twin golden check``, the report table) is a
*simultaneous* test over all ``K`` time points and ``J`` variables at the model's
α, not the ±kσ display band: ``J = 52`` variables each inside ±3σ leave 13 % of
normal samples with some variable outside (0.9973⁵²), so a per-sample ±kσ rule
flags most normal batches. A batch is *in the envelope* when every sample lies
inside ``mean ± c·s`` with::

    c = max( t_{n-1}(1 - α/(2KJ)) · √(1 + 1/n),  q_conformal )

the first term Bonferroni over the ``K·J`` two-sided tests of a new observation
against ``n`` reference batches (prediction interval, e.g. Hahn & Meeker 1991,
*Statistical Intervals*, §4.7), the second the split-conformal quantile (Vovk et
al. 2005; Lei et al. 2018) of the leave-one-out ``max |z|`` of the reference
batches – a band calibrated on the reference set that holds when the data are
not Gaussian (used when ``n >= 2/α - 1``, see :func:`golden_batch.conformal_guard`). :meth:`Envelope.verdict` returns it
with the fraction of time outside.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy import stats

from golden_batch._base import (
    GoldenEstimator,
    check_is_fitted,
    estimator_from_json,
    params_to_json,
    renamed_kwargs,
)
from golden_batch._limits import conformal_guard
from golden_batch._mpca import batch_array
from workbench.errors import ConfigError, DatasetError, did_you_mean

__all__ = ["Envelope"]

METHODS = ("sigma", "quantile", "union")


class Envelope(GoldenEstimator):
    """Per-time, per-variable band learned from aligned golden batches.

    Parameters
    ----------
    k
        Half width of the sigma band in standard deviations (``mean ± k·σ``).
    quantiles
        Lower and upper quantile of the quantile band.
    method
        Which band defines "inside": ``"sigma"``, ``"quantile"`` or ``"union"`` (either);
        formerly ``band`` (as :class:`~golden_batch.RecipeWindow`'s ``method``).
    variables
        Variables (default: all trajectory variables).
    min_scale
        Floor of the normalising scale relative to each variable's overall standard
        deviation (keeps :meth:`violation` finite where the batches agree exactly).
    """

    _fit_hint = "fit(aligned_golden_batches)"
    _fitted_attribute = "mean_"

    def __init__(
        self,
        k: float = 3.0,
        *,
        quantiles: tuple[float, float] = (0.005, 0.995),
        method: str = "sigma",
        variables: Sequence[str] | None = None,
        min_scale: float = 1e-3,
        **deprecated,
    ):
        if deprecated:
            method = renamed_kwargs("Envelope", deprecated, {"band": "method"},
                                    self._get_param_names()).get("method", method)
        self.k = k
        self.quantiles = quantiles
        self.method = method
        self.variables = variables
        self.min_scale = min_scale

    @property
    def band(self) -> str:
        """Deprecated name of :attr:`method`."""
        warnings.warn("Envelope.band is deprecated; use Envelope.method", DeprecationWarning, stacklevel=2)
        return self.method

    def fit(self, data: xr.Dataset | np.ndarray, y=None) -> Envelope:
        """Learn mean, σ and quantile bands per time and variable."""
        if self.method not in METHODS:
            raise ConfigError(f"Envelope method must be 'sigma', 'quantile' or 'union'; got {self.method!r}")
        if not (0 <= self.quantiles[0] < self.quantiles[1] <= 1):
            raise ConfigError(f"quantiles must satisfy 0 <= low < high <= 1; got {self.quantiles}")
        if not self.k > 0:
            raise ConfigError(f"k must be > 0; got {self.k}")
        x, names = batch_array(data, self.variables)
        self.variables_ = names
        self.time_ = data["time"].values.astype(float) if isinstance(data, xr.Dataset) else np.arange(x.shape[1], dtype=float)
        self.units_ = [data[n].attrs.get("units", "1") if isinstance(data, xr.Dataset) else "1" for n in names]
        self.n_batches_ = x.shape[0]
        self.mean_ = np.nanmean(x, axis=0)  # (K, J)
        self.std_ = np.nanstd(x, axis=0, ddof=1) if x.shape[0] > 1 else np.zeros_like(self.mean_)
        self.q_lower_, self.q_upper_ = np.nanquantile(x, self.quantiles, axis=0)
        overall = np.nanstd(x, axis=(0, 1))
        self.scale_floor_ = np.where(overall > 0, overall, 1.0) * self.min_scale
        self._bands()
        self.loo_sup_ = self._loo_sup(x)
        return self

    def _loo_sup(self, x: np.ndarray) -> np.ndarray:
        """``max |z|`` over time and variables of each reference batch against the others (leave one out)."""
        n = x.shape[0]
        if n < 3:
            return np.full(n, np.nan)
        cnt = np.sum(np.isfinite(x), axis=0)
        s1, s2 = np.nansum(x, axis=0), np.nansum(x * x, axis=0)
        out = np.empty(n)
        for i in range(n):
            xi = np.nan_to_num(x[i])
            ok = np.isfinite(x[i])
            c = cnt - ok
            m = (s1 - xi) / np.maximum(c, 1)
            var = np.maximum((s2 - xi * xi) - c * m * m, 0.0) / np.maximum(c - 1, 1)
            sd = np.maximum(np.sqrt(var), self.scale_floor_)
            z = np.where(ok & (c > 1), np.abs(x[i] - m) / sd, 0.0)
            out[i] = float(np.max(z))
        return out

    def simultaneous_factor(self, alpha: float) -> float:
        """Half width ``c`` (in standard deviations) of the simultaneous band at family-wise ``alpha``.

        ``max(t_{n-1}(1-α/(2KJ))·√(1+1/n), conformal quantile of the leave-one-out max |z|)``
        (module docstring).
        """
        self._check()
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1); got {alpha}")
        n = self.n_batches_
        tests = self.mean_.size
        bonf = float(stats.t.ppf(1 - alpha / (2 * tests), max(n - 1, 1)) * np.sqrt(1 + 1 / max(n, 1)))
        loo = getattr(self, "loo_sup_", None)
        if loo is None or not np.isfinite(loo).all():
            return bonf
        return max(bonf, float(conformal_guard(loo, alpha)))

    def verdict(self, data, alpha: float) -> xr.Dataset:
        """The envelope verdict per batch at family-wise ``alpha`` (see the module docstring).

        Returns ``in_envelope`` (no sample outside the simultaneous band),
        ``envelope_outside_fraction`` (fraction of time with some variable outside it)
        and ``envelope_factor`` ``c``.
        """
        c = self.simultaneous_factor(alpha)
        x = self._batches(data)
        k = x.shape[1]
        z = np.abs(x - self.mean_[:k]) / self.norm_[:k]
        outside = np.nan_to_num(z, nan=0.0) > c
        frac = outside.any(axis=2).mean(axis=1)
        coords = {"batch": data["batch"].values} if isinstance(data, xr.Dataset) else {}
        return xr.Dataset({
            "in_envelope": ("batch", frac == 0, {"units": "1", "long_name": (
                f"every sample inside the simultaneous envelope (α = {alpha:g} over time and variables)")}),
            "envelope_outside_fraction": ("batch", frac, {"units": "1", "long_name": (
                "fraction of time with some variable outside the simultaneous envelope")}),
            "envelope_factor": ((), c, {"units": "1", "long_name": "simultaneous band half width in σ"}),
        }, coords=coords)

    def _bands(self) -> None:
        lo_s, hi_s = self.mean_ - self.k * self.std_, self.mean_ + self.k * self.std_
        if self.method == "sigma":
            self.lower_, self.upper_ = lo_s, hi_s
        elif self.method == "quantile":
            self.lower_, self.upper_ = self.q_lower_, self.q_upper_
        else:
            self.lower_, self.upper_ = np.minimum(lo_s, self.q_lower_), np.maximum(hi_s, self.q_upper_)
        self.norm_ = np.maximum(self.std_, self.scale_floor_)

    def _check(self) -> None:
        check_is_fitted(self)

    def _batches(self, data: xr.Dataset | np.ndarray) -> np.ndarray:
        """``(batch, time, variable)`` on the envelope grid; a 2-D array is one batch, a
        batch shorter than the grid (still running) is compared over its first samples."""
        self._check()
        if isinstance(data, xr.Dataset):
            x, _ = batch_array(data, self.variables_)
        else:
            arr = np.asarray(data, dtype=float)
            x, _ = batch_array(arr if arr.ndim == 3 else arr[None])  # one batch (K, J) → (1, K, J)
        if x.shape[2] != len(self.variables_):
            raise DatasetError(f"batch data has {x.shape[2]} variables; this envelope has "
                               f"{len(self.variables_)} ({self.variables_})")
        return x[:, : self.mean_.shape[0]]

    def excursion(self, data: xr.Dataset | np.ndarray) -> np.ndarray:
        """Normalised distance outside the band, ``(batch, time, variable)``; 0 inside."""
        x = self._batches(data)
        k = x.shape[1]
        above = (x - self.upper_[:k]) / self.norm_[:k]
        below = (self.lower_[:k] - x) / self.norm_[:k]
        return np.nan_to_num(np.maximum(0.0, np.maximum(above, below)))

    def score_samples(self, data) -> xr.Dataset:
        """z-scores ``(x - mean)/σ`` and the excursion, dims ``batch`` × ``time`` × ``variable``.

        ``data``: an aligned batch set, an array ``(batch, time, variable)`` or one batch
        ``(time, variable)``; a running batch (fewer samples than the grid) is scored over
        the samples it has.
        """
        x = self._batches(data)
        k = x.shape[1]
        z = (x - self.mean_[:k]) / self.norm_[:k]
        exc = self.excursion(x)
        coords = {"time": self.time_[:k], "variable": self.variables_}
        if isinstance(data, xr.Dataset):
            coords["batch"] = data["batch"].values
        dims = ("batch", "time", "variable")
        return xr.Dataset({
            "z": (dims, z, {"units": "1", "long_name": "standardised deviation from the golden mean"}),
            "excursion": (dims, exc, {"units": "1", "long_name": "normalised excursion outside the envelope"}),
        }, coords=coords)

    def predict(self, data) -> xr.Dataset:
        """``in_envelope`` flags per sample and variable, and the fraction inside per batch."""
        s = self.score_samples(data)
        inside = s["excursion"] == 0
        return xr.Dataset({
            "in_envelope": inside.assign_attrs(units="1", long_name="sample inside the envelope"),
            "fraction_inside": inside.all("variable").mean("time").assign_attrs(
                units="1", long_name="fraction of time with every variable inside"),
        })

    def contains(self, values: np.ndarray, index: int) -> np.ndarray:
        """In-envelope flags ``(J,)`` of one aligned sample at grid index ``index``."""
        self._check()
        v = np.asarray(values, dtype=float)
        return (v >= self.lower_[index]) & (v <= self.upper_[index])

    def violation(self, trajectory: xr.Dataset | Mapping[str, np.ndarray] | np.ndarray,
                  time: np.ndarray | None = None) -> float:
        """Integrated normalised excursion of one trajectory (0 inside, > 0 outside).

        Parameters
        ----------
        trajectory
            One batch: a Dataset with a ``time`` coordinate in s (e.g. an FMU run) and
            the envelope's variables; a mapping name → values with ``time``; or an
            array ``(K, J)`` on the envelope grid.
        time
            Sample times in s for a mapping or array not on the envelope grid.

        Returns
        -------
        float
            ``(1/T) ∫ Σ_v excursion_v(t) dt`` over the part of the trajectory inside
            the envelope's time range, in units of standard deviations.
        """
        self._check()
        if isinstance(trajectory, xr.Dataset):
            missing = [n for n in self.variables_ if n not in trajectory]
            if missing:
                raise DatasetError(f"trajectory lacks envelope variables {missing}; "
                                   f"{did_you_mean(missing[0], list(trajectory.data_vars))}")
            t = trajectory["time"].values.astype(float)
            x = np.stack([trajectory[n].values.reshape(-1) for n in self.variables_], axis=-1)
        elif isinstance(trajectory, Mapping):
            t = np.asarray(time if time is not None else trajectory.get("time"), dtype=float)
            x = np.stack([np.asarray(trajectory[n], dtype=float) for n in self.variables_], axis=-1)
        else:
            x = np.asarray(trajectory, dtype=float)
            t = self.time_[: x.shape[0]] if time is None else np.asarray(time, dtype=float)
        if np.issubdtype(np.asarray(t).dtype, np.datetime64):
            t = (t - t[0]) / np.timedelta64(1, "s")
        inside = (t >= self.time_[0]) & (t <= self.time_[-1])
        t, x = t[inside], x[inside]
        if t.size == 0:
            raise DatasetError("trajectory has no samples inside the envelope's time range "
                               f"[{self.time_[0]:g}, {self.time_[-1]:g}] s")
        lo = np.stack([np.interp(t, self.time_, self.lower_[:, j]) for j in range(x.shape[1])], -1)
        hi = np.stack([np.interp(t, self.time_, self.upper_[:, j]) for j in range(x.shape[1])], -1)
        s = np.stack([np.interp(t, self.time_, self.norm_[:, j]) for j in range(x.shape[1])], -1)
        exc = np.maximum(0.0, np.maximum((x - hi) / s, (lo - x) / s)).sum(axis=1)
        if t.size == 1:
            return float(exc[0])
        span = t[-1] - t[0]
        return float(np.trapezoid(exc, t) / span) if span > 0 else float(exc.mean())

    # -------------------------------------------------------- serialisation
    def to_dataset(self) -> xr.Dataset:
        """The envelope as a Dataset (``time`` × ``variable``)."""
        self._check()
        dims = ("time", "variable")
        # one array holds every variable: its unit is theirs if they share one, else per variable
        distinct = sorted(set(map(str, self.units_)))
        u = distinct[0] if len(distinct) == 1 else "mixed: see variable_units"
        ds = xr.Dataset(
            {
                "envelope_mean": (dims, self.mean_, {"units": u, "long_name": "golden mean trajectory"}),
                "envelope_std": (dims, self.std_, {"units": u, "long_name": "golden standard deviation"}),
                "envelope_lower": (dims, self.lower_, {"units": u, "long_name": "envelope lower bound"}),
                "envelope_upper": (dims, self.upper_, {"units": u, "long_name": "envelope upper bound"}),
                "envelope_q_lower": (dims, self.q_lower_, {"units": u, "long_name": "lower quantile band"}),
                "envelope_q_upper": (dims, self.q_upper_, {"units": u, "long_name": "upper quantile band"}),
                "envelope_scale_floor": ("variable", self.scale_floor_, {"units": u, "long_name": "scale floor"}),
                "variable_units": ("variable", np.asarray(self.units_, dtype=str), {"units": "1", "long_name": "units of each variable"}),
                "envelope_loo_sup": ("envelope_ref", self.loo_sup_, {"units": "1", "long_name": (
                    "leave-one-out max |z| of each reference batch")}),
            },
            coords={"time": ("time", self.time_, {"units": "s", "long_name": "aligned batch time"}),
                    "variable": self.variables_},
        )
        ds.attrs.update({"envelope_params": params_to_json(self), "envelope_k": self.k,
                         "envelope_method": self.method, "envelope_quantiles": list(self.quantiles),
                         "envelope_n_batches": self.n_batches_, "envelope_min_scale": self.min_scale,
                         "kind": "envelope"})
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Envelope:
        """Rebuild a fitted envelope from :meth:`to_dataset` output."""
        if "envelope_params" in ds.attrs:
            env = estimator_from_json(ds.attrs["envelope_params"], cls)
        else:  # written before the parameters were stored whole
            q = np.atleast_1d(ds.attrs["envelope_quantiles"])
            env = cls(float(ds.attrs["envelope_k"]), quantiles=(float(q[0]), float(q[1])),
                      method=str(ds.attrs["envelope_band"]), min_scale=float(ds.attrs["envelope_min_scale"]))
        env.variables_ = [str(v) for v in ds["variable"].values]
        env.time_ = ds["time"].values.astype(float)
        env.units_ = [str(u) for u in ds["variable_units"].values]
        env.n_batches_ = int(ds.attrs["envelope_n_batches"])
        env.mean_ = ds["envelope_mean"].values
        env.std_ = ds["envelope_std"].values
        env.q_lower_ = ds["envelope_q_lower"].values
        env.q_upper_ = ds["envelope_q_upper"].values
        env.scale_floor_ = ds["envelope_scale_floor"].values
        env.loo_sup_ = ds["envelope_loo_sup"].values if "envelope_loo_sup" in ds else None  # older files: Bonferroni
        env._bands()
        return env
