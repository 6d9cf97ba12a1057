"""Life-data fitting: maximum likelihood with right-, left- and interval-censored data.

The log-likelihood (Meeker & Escobar 1998, *Statistical Methods for Reliability
Data*, §7.2 eq. 7.1 and §2.2) is

    ℓ(θ) = Σ_exact log f(tᵢ) + Σ_right log R(tᵢ) + Σ_left log F(tᵢ) + Σ_interval log[F(uᵢ) − F(lᵢ)]

maximised over an unconstrained parametrisation (log of positive parameters).
Confidence bounds:

* **Fisher matrix** (M&E §8.4): ``Σ = H⁻¹`` from the numerical Hessian of −ℓ at
  the MLE; positive parameters get log-normal (Wald on log scale) bounds, and
  R(t) gets bounds through the delta method on ``log(−log R)``;
* **likelihood ratio** (M&E §8.3): the set ``{θⱼ : 2[ℓ̂ − ℓ_p(θⱼ)] ≤ χ²₁(1−α)}``
  of the profile likelihood.

Goodness of fit: log-likelihood, AIC, BIC, the Anderson–Darling statistic for
complete data (Stephens 1974) and the correlation coefficient of the
probability plot. Probability-plot positions use Bernard's median-rank
approximation ``(j − 0.3)/(n + 0.4)`` with Johnson's adjusted ranks for
suspensions (Abernethy 2006, *The New Weibull Handbook*, §5.3); interval data are
plotted at their midpoints, left-censored data at their inspection time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import optimize, stats

from simulation.life._identifiable import check_fit, check_identifiable
from workbench.errors import ConfigError, DataError, DataQualityError, SolverError, did_you_mean

__all__ = ["LifeData", "LifeFit", "fit_life", "fit_best", "FIT_DISTRIBUTIONS"]

FIT_DISTRIBUTIONS = ("weibull", "weibull3", "lognormal", "exponential", "gamma", "normal")


@dataclass(frozen=True)
class LifeData:
    """Life data in one time unit: exact failures, suspensions, left- and interval-censored.

    Parameters
    ----------
    failures
        Exact failure times.
    right
        Right-censored times (units still running / removed unfailed).
    left
        Left-censored times (failed before this inspection time).
    interval
        ``(k, 2)`` array of (lower, upper) failure-time intervals.
    unit
        Time unit of every number, e.g. ``"h"``.
    """

    failures: np.ndarray = field(default_factory=lambda: np.empty(0))
    right: np.ndarray = field(default_factory=lambda: np.empty(0))
    left: np.ndarray = field(default_factory=lambda: np.empty(0))
    interval: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    unit: str = "h"

    def __post_init__(self) -> None:
        for name in ("failures", "right", "left"):
            arr = np.asarray(getattr(self, name), dtype=float).ravel()
            if np.any(~np.isfinite(arr)) or np.any(arr < 0):
                raise DataError(f"life data '{name}': times must be finite and >= 0")
            object.__setattr__(self, name, arr)
        iv = np.asarray(self.interval, dtype=float).reshape(-1, 2)
        if np.any(iv[:, 0] < 0) or np.any(~(iv[:, 1] > iv[:, 0])):
            raise DataError("life data 'interval': every row needs 0 <= lower < upper")
        object.__setattr__(self, "interval", iv)
        if self.n_failed == 0:
            raise DataError("life data has no failures (exact, left- or interval-censored); nothing to fit; "
                            "check the status column and its codes (--status-map)")

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.failures) + len(self.right) + len(self.left) + len(self.interval)

    @property
    def n_failed(self) -> int:
        """Units known to have failed."""
        return len(self.failures) + len(self.left) + len(self.interval)

    @classmethod
    def from_frame(cls, df, *, unit: str = "h", status_map=None, source: str = "table") -> LifeData:
        """Build from a table with ``time`` [+ ``status``] [+ ``count``] or ``lower`` + ``upper`` [+ ``count``].

        Status codes follow the documented convention (failure: ``1``, ``F``, ``failed`` …;
        suspension: ``0``, ``S``, ``suspended``, ``censored`` …) unless ``status_map``
        (e.g. ``"1=censored,2=failure"``) gives your own; an unknown code is an error.
        Interval rows: empty ``lower`` → left-censored, empty ``upper`` → right-censored.
        See :func:`~simulation.life.read_life_data` for files.

        Raises
        ------
        DataError
            A missing column or a bad cell, named by ``source``, data row and column.
        """
        from simulation.life._io import life_data_from_table
        from workbench.tables import Table

        return life_data_from_table(Table(df.reset_index(drop=True), source), unit=unit, status_map=status_map)


# --------------------------------------------------------------------------- parametrisations
def _frozen(dist: str, th: np.ndarray, tmin: float):
    if dist == "weibull":
        return stats.weibull_min(np.exp(th[1]), scale=np.exp(th[0]))
    if dist == "weibull3":
        return stats.weibull_min(np.exp(th[1]), loc=tmin - np.exp(th[2]), scale=np.exp(th[0]))
    if dist == "lognormal":
        return stats.lognorm(np.exp(th[1]), scale=np.exp(th[0]))
    if dist == "exponential":
        return stats.expon(scale=np.exp(th[0]))
    if dist == "gamma":
        return stats.gamma(np.exp(th[0]), scale=np.exp(th[1]))
    return stats.norm(th[0], np.exp(th[1]))


def _natural(dist: str, th: np.ndarray, tmin: float) -> dict[str, float]:
    e = np.exp
    return {
        "weibull": lambda: {"shape": e(th[1]), "scale": e(th[0])},
        "weibull3": lambda: {"shape": e(th[1]), "scale": e(th[0]), "location": tmin - e(th[2])},
        "lognormal": lambda: {"median": e(th[0]), "sigma": e(th[1])},
        "exponential": lambda: {"mean": e(th[0])},
        "gamma": lambda: {"shape": e(th[0]), "scale": e(th[1])},
        "normal": lambda: {"mean": th[0], "std": e(th[1])},
    }[dist]()


# natural parameter -> (index in theta, transform kind)
_PARAM_INDEX = {
    "weibull": {"scale": (0, "log"), "shape": (1, "log")},
    "weibull3": {"scale": (0, "log"), "shape": (1, "log"), "location": (2, "loc")},
    "lognormal": {"median": (0, "log"), "sigma": (1, "log")},
    "exponential": {"mean": (0, "log")},
    "gamma": {"shape": (0, "log"), "scale": (1, "log")},
    "normal": {"mean": (0, "id"), "std": (1, "log")},
}


def _loglik(dist: str, th: np.ndarray, d: LifeData, tmin: float) -> float:
    rv = _frozen(dist, th, tmin)
    with np.errstate(all="ignore"):
        ll = np.sum(rv.logpdf(d.failures)) + np.sum(rv.logsf(d.right)) + np.sum(rv.logcdf(d.left))
        if len(d.interval):
            p = rv.sf(d.interval[:, 0]) - rv.sf(d.interval[:, 1])
            ll += np.sum(np.log(np.clip(p, 1e-300, None)))
    return float(ll) if np.isfinite(ll) else -1e300


def _start(dist: str, d: LifeData) -> np.ndarray:
    pseudo = np.concatenate([d.failures, d.left * 0.5, d.interval.mean(axis=1) if len(d.interval) else [],
                             d.right])
    pseudo = pseudo[pseudo > 0]
    lg = np.log(pseudo)
    m, s = float(lg.mean()), float(max(lg.std(), 0.05))
    if dist in ("weibull", "weibull3"):
        th = [m + 0.5772 * s * np.sqrt(6) / np.pi, np.log(np.pi / (s * np.sqrt(6)))]
        if dist == "weibull3":
            th.append(np.log(0.5 * pseudo.min() + 1e-9))
        return np.array(th)
    if dist == "lognormal":
        return np.array([m, np.log(s)])
    if dist == "exponential":
        return np.array([np.log(pseudo.mean())])
    if dist == "gamma":
        k = max(pseudo.mean() ** 2 / max(pseudo.var(), 1e-12), 0.1)
        return np.array([np.log(k), np.log(pseudo.mean() / k)])
    return np.array([pseudo.mean(), np.log(max(pseudo.std(), 1e-6 * pseudo.mean()))])


def _hessian(f, x: np.ndarray) -> np.ndarray:
    n = len(x)
    h = 1e-4 * np.maximum(np.abs(x), 1.0)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h[i], np.eye(n)[j] * h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def _grad(g, x: np.ndarray) -> np.ndarray:
    h = 1e-6 * np.maximum(np.abs(x), 1.0)
    return np.array([(g(x + np.eye(len(x))[i] * h[i]) - g(x - np.eye(len(x))[i] * h[i])) / (2 * h[i]) for i in range(len(x))])


@dataclass
class LifeFit:
    """A fitted life distribution with bounds and goodness of fit.

    Attributes
    ----------
    distribution
        Name (``weibull``, ``weibull3``, ``lognormal``, ``exponential``, ``gamma``, ``normal``).
    params
        Natural parameters in the data's time unit (e.g. shape, scale).
    bounds
        ``{param: (lower, upper)}`` at ``confidence`` (method ``bound_method``).
    loglik, aic, bic, ad, ppcc
        Goodness of fit (``ad`` only for complete data).
    """

    distribution: str
    params: dict[str, float]
    theta: np.ndarray
    cov: np.ndarray
    bounds: dict[str, tuple[float, float]]
    bound_method: str
    confidence: float
    loglik: float
    aic: float
    bic: float
    ad: float
    ppcc: float
    data: LifeData
    tmin: float

    @property
    def frozen(self):
        """Frozen scipy distribution in the data unit."""
        return _frozen(self.distribution, self.theta, self.tmin)

    def reliability(self, t: Sequence[float] | np.ndarray, *, confidence: float | None = None) -> np.ndarray:
        """R(t) with Fisher-matrix bounds via the delta method on ``log(−log R)`` → ``(3, len(t))``."""
        conf = confidence or self.confidence
        z = stats.norm.ppf(0.5 + conf / 2)
        t = np.atleast_1d(np.asarray(t, dtype=float))
        est = self.frozen.sf(t)
        out = np.empty((3, len(t)))
        for k, tk in enumerate(t):
            def g(th, tk=tk):
                r = np.clip(_frozen(self.distribution, th, self.tmin).sf(tk), 1e-300, 1 - 1e-16)
                return np.log(-np.log(r))
            if not 0 < est[k] < 1:
                out[:, k] = est[k]
                continue
            gr = _grad(g, self.theta)
            se = float(np.sqrt(max(gr @ self.cov @ gr, 0.0)))
            u = g(self.theta)
            out[:, k] = [est[k], np.exp(-np.exp(u + z * se)), np.exp(-np.exp(u - z * se))]
        return out

    def b_life(self, p: float) -> np.ndarray:
        """Time by which a fraction ``p`` has failed (e.g. 0.1 for B10) with Fisher bounds → (3,)."""
        z = stats.norm.ppf(0.5 + self.confidence / 2)

        def g(th):
            return np.log(_frozen(self.distribution, th, self.tmin).ppf(p))

        est = float(np.exp(g(self.theta)))
        gr = _grad(g, self.theta)
        se = float(np.sqrt(max(gr @ self.cov @ gr, 0.0)))
        return np.array([est, est * np.exp(-z * se), est * np.exp(z * se)])

    def to_distribution(self):
        """The fit as a :class:`~workbench.distributions.Distribution` in seconds (as fitted: a normal is not truncated)."""
        from workbench.distributions import parse_distribution

        u = self.data.unit
        p = dict(self.params)
        if self.distribution == "weibull3":
            p["location"] = max(p["location"], 0.0)
        timed = ("scale", "location", "median", "mean", "std")
        spec = {k: f"{float(v)!r} {u}" if k in timed else float(v) for k, v in p.items()}
        return parse_distribution({"distribution": self.distribution, **spec}, "s")

    def to_config(self):
        """The fit as a :class:`~simulation.life.LifeDistribution` (durations in seconds)."""
        from simulation.life._distributions import LifeDistribution

        return LifeDistribution.model_validate(self.to_distribution().to_spec())

    def summary(self, unit: str | None = None) -> dict[str, Any]:
        """JSON-able summary (parameters, bounds, goodness of fit, B10)."""
        return {
            "distribution": self.distribution,
            "unit": self.data.unit,
            "n": self.data.n,
            "failures": self.data.n_failed,
            "parameters": {k: float(v) for k, v in self.params.items()},
            "bounds": {k: [float(a), float(b)] for k, (a, b) in self.bounds.items()},
            "bound_method": self.bound_method,
            "confidence": self.confidence,
            "loglik": float(self.loglik),
            "aic": float(self.aic),
            "bic": float(self.bic),
            "anderson_darling": None if np.isnan(self.ad) else float(self.ad),
            "ppcc": None if np.isnan(self.ppcc) else float(self.ppcc),
            "b10": [float(x) for x in self.b_life(0.10)],
        }

    def plot_data(self, *, points: int = 100) -> xr.Dataset:
        """Probability-plot data: plotting positions and the fitted line with bounds.

        Returns
        -------
        xarray.Dataset
            ``observed_unreliability`` (sample) at ``observed_time``;
            ``fitted_unreliability`` (bound, time) on a log-spaced grid.
        """
        t_obs, f_obs = plotting_positions(self.data)
        lo = max(min(t_obs.min(), self.frozen.ppf(0.005)) * 0.8, 1e-9) if len(t_obs) else self.frozen.ppf(0.005)
        hi = max(t_obs.max(), self.frozen.ppf(0.995)) * 1.2
        grid = np.geomspace(max(lo, 1e-9), hi, points)
        rel = self.reliability(grid)
        unit = self.data.unit
        ds = xr.Dataset(
            {
                "observed_time": ("sample", t_obs, {"units": unit, "long_name": "failure time"}),
                "observed_unreliability": ("sample", f_obs, {"units": "1", "long_name": "median-rank unreliability"}),
                "fitted_unreliability": (("bound", "time"), np.stack([1 - rel[0], 1 - rel[2], 1 - rel[1]]),
                                         {"units": "1", "long_name": f"fitted {self.distribution} unreliability"}),
            },
            coords={"time": ("time", grid, {"units": unit, "long_name": "time"}),
                    "bound": ("bound", ["estimate", "lower", "upper"])},
        )
        ds.attrs.update({"kind": "life-fit-plot", "distribution": self.distribution, "time_unit": unit,
                         "parameters": str(self.params), "confidence": float(self.confidence),
                         "bound_method": self.bound_method, "n": int(self.data.n),
                         "failures": int(self.data.n_failed)})
        # the parameter table and B-lives with their bounds, for reports (viz.life_report)
        names = list(self.params)
        timed = {"scale", "location", "median", "mean", "std"}
        ds["parameter_value"] = (("parameter", "bound"),
                                 [[float(self.params[k]), *map(float, self.bounds.get(k, (np.nan, np.nan)))]
                                  for k in names],
                                 {"units": "1", "long_name": f"fitted parameter ({self.bound_method} bounds)"})
        with np.errstate(all="ignore"):
            blife = np.stack([self.b_life(p / 100.0) for p in (1.0, 10.0)])
        ds["b_life"] = (("b_percent", "bound"), blife,
                        {"units": unit, "long_name": "B-life: time by which the fraction b_percent has failed"})
        return ds.assign_coords(parameter=("parameter", names),
                                parameter_units=("parameter", [unit if k in timed else "1" for k in names]),
                                b_percent=("b_percent", [1.0, 10.0], {"units": "%"}))


def plotting_positions(d: LifeData) -> tuple[np.ndarray, np.ndarray]:
    """Johnson's adjusted ranks + Bernard's approximation (Abernethy 2006, §5.3)."""
    times = np.concatenate([d.failures, d.left, d.interval.mean(axis=1) if len(d.interval) else np.empty(0), d.right])
    failed = np.concatenate([np.ones(d.n_failed, bool), np.zeros(len(d.right), bool)])
    order = np.lexsort((~failed, times))  # failures before suspensions at ties
    times, failed = times[order], failed[order]
    n = len(times)
    rank, out_t, out_f = 0.0, [], []
    for j, (t, f) in enumerate(zip(times, failed, strict=True)):
        if f:
            reverse_rank = n - j
            rank += (n + 1 - rank) / (1 + reverse_rank)
            out_t.append(t)
            out_f.append((rank - 0.3) / (n + 0.4))
    return np.asarray(out_t), np.asarray(out_f)


def _linearise(dist: str, t: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        if dist in ("weibull", "weibull3"):
            return np.log(t), np.log(-np.log1p(-F))
        if dist == "lognormal":
            return np.log(t), stats.norm.ppf(F)
        if dist == "normal":
            return t, stats.norm.ppf(F)
        if dist == "exponential":
            return t, -np.log1p(-F)
    return t, F


def _profile_bounds(dist, theta, ll_hat, d, tmin, conf, cov) -> dict[str, tuple[float, float]]:
    crit = stats.chi2.ppf(conf, 1) / 2
    out = {}
    for name, (idx, kind) in _PARAM_INDEX[dist].items():
        others = [k for k in range(len(theta)) if k != idx]

        def prof(v, idx=idx, others=others):
            if not others:
                th = theta.copy()
                th[idx] = v
                return ll_hat - _loglik(dist, th, d, tmin) - crit

            def neg(x):
                th = theta.copy()
                th[idx] = v
                th[others] = x
                return -_loglik(dist, th, d, tmin)

            r = optimize.minimize(neg, theta[others], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
            return ll_hat + r.fun - crit

        se = float(np.sqrt(max(cov[idx, idx], 1e-12)))
        ends = []
        for sign in (-1, 1):
            step = 2 * se
            b = theta[idx] + sign * step
            tries = 0
            while prof(b) < 0 and tries < 30:
                step *= 2
                b = theta[idx] + sign * step
                tries += 1
            ends.append(optimize.brentq(prof, theta[idx], b, xtol=1e-10) if prof(b) > 0 else np.nan)
        lo, hi = ends
        if kind == "log":
            lo, hi = np.exp(lo), np.exp(hi)
        elif kind == "loc":
            lo, hi = tmin - np.exp(hi), tmin - np.exp(lo)
        out[name] = (float(lo), float(hi))
    return out


def fit_life(data: LifeData, distribution: str = "weibull", *, confidence: float = 0.95,
             bounds: str = "fisher") -> LifeFit:
    """Maximum-likelihood fit of a life distribution to (censored) life data.

    Parameters
    ----------
    data
        :class:`LifeData`.
    distribution
        One of :data:`FIT_DISTRIBUTIONS`.
    confidence
        Two-sided confidence level of the bounds.
    bounds
        ``"fisher"`` (Fisher matrix) or ``"likelihood"`` (likelihood ratio).

    Returns
    -------
    LifeFit

    Raises
    ------
    ConfigError
        Unknown distribution / bound method.
    DataError
        The data cannot determine the distribution: fewer distinct failure times than
        parameters (an unbounded likelihood), or a fit whose parameters ran to a bound.
    SolverError
        When the likelihood maximisation does not converge or stops where the
        likelihood has no proper maximum.
    """
    dist = distribution.lower()
    if dist not in FIT_DISTRIBUTIONS:
        raise ConfigError(f'"{distribution}" is not a fittable distribution; {did_you_mean(distribution, FIT_DISTRIBUTIONS)}')
    if bounds not in ("fisher", "likelihood"):
        raise ConfigError(f'bounds "{bounds}" is not known; use "fisher" or "likelihood"')
    pos = np.concatenate([data.failures, data.left, data.interval[:, 1]])
    tmin = float(pos.min()) if len(pos) else 0.0
    check_identifiable(dist, data)

    def nll(th):
        return -_loglik(dist, th, data, tmin)

    th0 = _start(dist, data)
    r = optimize.minimize(nll, th0, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000})
    r2 = optimize.minimize(nll, r.x, method="BFGS", options={"gtol": 1e-8})
    best = r2 if r2.fun <= r.fun else r
    if not np.isfinite(best.fun) or best.fun >= 1e299:
        raise SolverError(f"{dist} MLE did not converge ({best.message})")
    theta = best.x
    H = _hessian(nll, theta)
    check_fit(dist, _natural(dist, theta, tmin), data, H)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        cov = np.full_like(H, np.nan)
    ll = -float(best.fun)
    z = stats.norm.ppf(0.5 + confidence / 2)
    params = {k: float(v) for k, v in _natural(dist, theta, tmin).items()}
    if bounds == "fisher":
        bnd = {}
        for name, (idx, kind) in _PARAM_INDEX[dist].items():
            se = float(np.sqrt(max(cov[idx, idx], 0.0)))
            lo, hi = theta[idx] - z * se, theta[idx] + z * se
            if kind == "log":
                lo, hi = np.exp(lo), np.exp(hi)
            elif kind == "loc":
                lo, hi = tmin - np.exp(hi), tmin - np.exp(lo)
            bnd[name] = (float(lo), float(hi))
    else:
        bnd = _profile_bounds(dist, theta, ll, data, tmin, confidence, cov)
    k = len(theta)
    n = data.n
    rv = _frozen(dist, theta, tmin)
    ad = np.nan
    if data.n_failed == n and len(data.failures) == n:
        x = np.sort(data.failures)
        F = np.clip(rv.cdf(x), 1e-300, 1 - 1e-16)
        i = np.arange(1, n + 1)
        ad = float(-n - np.sum((2 * i - 1) / n * (np.log(F) + np.log1p(-F[::-1]))))
    t_obs, f_obs = plotting_positions(data)
    xs, ys = _linearise(dist, t_obs, f_obs)
    ok = np.isfinite(xs) & np.isfinite(ys)
    spread = ok.sum() > 2 and np.ptp(xs[ok]) > 0 and np.ptp(ys[ok]) > 0
    ppcc = float(np.corrcoef(xs[ok], ys[ok])[0, 1]) if spread else np.nan
    return LifeFit(dist, params, theta, cov, bnd, bounds, confidence, ll, 2 * k - 2 * ll,
                   k * np.log(n) - 2 * ll, ad, ppcc, data, tmin)


def fit_best(data: LifeData, distributions: Sequence[str] = ("weibull", "lognormal", "exponential", "gamma", "normal"),
             *, confidence: float = 0.95, bounds: str = "fisher",
             skipped: dict[str, str] | None = None) -> list[LifeFit]:
    """Fit several distributions and rank them by AIC (best first); failing fits are skipped.

    Parameters
    ----------
    skipped
        If given, filled with ``{distribution: reason}`` for each fit that was skipped.

    Raises
    ------
    DataError
        When no distribution could be fitted because of the data (reasons listed).
    SolverError
        When no distribution could be fitted and an optimiser failed.
    """
    fits, reasons = [], {}
    for d in distributions:
        try:
            fits.append(fit_life(data, d, confidence=confidence, bounds=bounds))
        except (SolverError, DataQualityError) as exc:
            reasons[d] = exc
    if skipped is not None:
        skipped.update({d: str(e) for d, e in reasons.items()})
    if not fits:
        detail = "; ".join(f"{d}: {e}" for d, e in reasons.items())
        cls = DataError if all(isinstance(e, DataError) for e in reasons.values()) else SolverError
        raise cls(f"no distribution could be fitted to the life data ({detail})")
    return sorted(fits, key=lambda f: f.aic)
