"""Recipe windows: golden ranges of recipe parameters and process capability indices.

Capability indices (Montgomery, *Introduction to Statistical Quality Control*,
7th ed., §8.2–8.4)::

    Cp  = (USL - LSL) / (6 σ_within)        Cpk = min(USL - μ, μ - LSL) / (3 σ_within)
    Pp  = (USL - LSL) / (6 σ_overall)       Ppk = min(USL - μ, μ - LSL) / (3 σ_overall)

``σ_within`` is the short-term standard deviation, estimated for individual
values (one value per batch, in batch order) from the average moving range:
``σ_within = MR̄ / d2`` with ``d2 = 1.128`` for ranges of two (Montgomery §6.4);
``σ_overall`` is the sample standard deviation. One-sided specifications give
only the one-sided ``Cpk``/``Ppk`` (``Cp``/``Pp`` are then NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from golden_batch._base import GoldenEstimator, check_is_fitted
from workbench.errors import ConfigError, DatasetError

__all__ = ["capability", "Capability", "RecipeWindow"]

D2_N2 = 1.128  # E[range of 2 standard normals] (Montgomery, Appendix Table VI)


@dataclass(frozen=True)
class Capability:
    """Process capability of one parameter (Montgomery §8.2–8.4)."""

    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float
    cpk: float
    pp: float
    ppk: float
    lsl: float | None
    usl: float | None

    def as_dict(self) -> dict[str, float | None]:
        """Plain dict (for tables and JSON)."""
        return dict(self.__dict__)


def capability(values: Sequence[float] | np.ndarray, lsl: float | None = None, usl: float | None = None) -> Capability:
    """Cp, Cpk, Pp and Ppk of individual values against specification limits.

    Parameters
    ----------
    values
        One value per batch, in production order (the moving range uses the order).
    lsl, usl
        Lower / upper specification limits (either may be None for one-sided specs).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise DatasetError(f"capability needs at least 2 values; got {x.size}")
    if lsl is None and usl is None:
        raise ConfigError("capability needs at least one specification limit (lsl or usl)")
    if lsl is not None and usl is not None and not usl > lsl:
        raise ConfigError(f"usl must be greater than lsl; got lsl={lsl}, usl={usl}")
    mu = float(x.mean())
    s_overall = float(x.std(ddof=1))
    s_within = float(np.mean(np.abs(np.diff(x))) / D2_N2)

    def indices(s: float) -> tuple[float, float]:
        if s <= 0:
            return float("inf"), float("inf")
        two = (usl - lsl) / (6 * s) if lsl is not None and usl is not None else float("nan")
        sides = []
        if usl is not None:
            sides.append((usl - mu) / (3 * s))
        if lsl is not None:
            sides.append((mu - lsl) / (3 * s))
        return two, min(sides)

    cp, cpk = indices(s_within)
    pp, ppk = indices(s_overall)
    return Capability(mu, s_within, s_overall, cp, cpk, pp, ppk, lsl, usl)


class RecipeWindow(GoldenEstimator):
    """Golden windows of recipe / batch-level parameters.

    Parameters
    ----------
    k
        Window half width in standard deviations of the golden batches (``"sigma"``).
    quantiles
        Window as quantiles of the golden batches (``"quantile"``).
    method
        ``"sigma"`` or ``"quantile"`` (as :class:`~golden_batch.Envelope`'s ``method``).
    """

    _fit_hint = "fit(golden_batch_parameters)"
    _fitted_attribute = "mean_"

    def __init__(self, k: float = 3.0, *, quantiles: tuple[float, float] = (0.025, 0.975), method: str = "sigma"):
        self.k = k
        self.quantiles = quantiles
        self.method = method

    def fit(self, params: pd.DataFrame | xr.Dataset | Mapping[str, Sequence[float]], y=None) -> RecipeWindow:
        """Learn the windows from the parameters of the golden batches (one row per batch)."""
        if self.method not in ("sigma", "quantile"):
            raise ConfigError(f"method must be 'sigma' or 'quantile'; got {self.method!r}")
        df = _frame(params)
        self.parameters_ = list(df.columns)
        self.mean_ = df.mean().to_numpy()
        self.std_ = df.std(ddof=1).to_numpy()
        if self.method == "sigma":
            self.lower_, self.upper_ = self.mean_ - self.k * self.std_, self.mean_ + self.k * self.std_
        else:
            self.lower_ = df.quantile(self.quantiles[0]).to_numpy()
            self.upper_ = df.quantile(self.quantiles[1]).to_numpy()
        self.values_ = df
        return self

    def table(self, specs: Mapping[str, tuple[float | None, float | None]] | None = None) -> pd.DataFrame:
        """Per-parameter distribution, window and (where specs are given) Cp/Cpk/Pp/Ppk."""
        check_is_fitted(self)
        rows = []
        for i, p in enumerate(self.parameters_):
            v = self.values_[p].to_numpy(dtype=float)
            row = {"parameter": p, "mean": self.mean_[i], "std": self.std_[i],
                   "p05": float(np.nanquantile(v, 0.05)), "p50": float(np.nanquantile(v, 0.5)),
                   "p95": float(np.nanquantile(v, 0.95)), "lower": self.lower_[i], "upper": self.upper_[i]}
            if specs and p in specs:
                c = capability(v, *specs[p])
                row.update({"cp": c.cp, "cpk": c.cpk, "pp": c.pp, "ppk": c.ppk})
            rows.append(row)
        return pd.DataFrame(rows)

    def violation(self, recipe: Mapping[str, float]) -> float:
        """Sum over parameters of the normalised distance outside the window (0 inside)."""
        check_is_fitted(self)
        total = 0.0
        for i, p in enumerate(self.parameters_):
            if p not in recipe:
                continue
            s = self.std_[i] if self.std_[i] > 0 else max(abs(self.mean_[i]), 1.0) * 1e-3
            v = float(recipe[p])
            total += max(0.0, (v - self.upper_[i]) / s, (self.lower_[i] - v) / s)
        return total


def _frame(params) -> pd.DataFrame:
    if isinstance(params, pd.DataFrame):
        return params.apply(pd.to_numeric)
    if isinstance(params, xr.Dataset):
        return pd.DataFrame({n: params[n].values for n in params.data_vars if params[n].dims == ("batch",)})
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in params.items()})
