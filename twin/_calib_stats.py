"""Statistics of an honest calibration: robust losses, dispersion check, identifiability.

Everything here works on residuals already divided by their σ (``r = (y − ŷ)/σ``).

* **Robust loss.** :func:`scipy.optimize.least_squares` minimises
  ``½ Σ c² ρ(r²/c²)`` (``loss="huber"`` or ``"cauchy"``, ``f_scale = c``; SciPy reference,
  ``least_squares``). ``c`` defaults to the tuning constants with 95 % efficiency at the
  normal: Huber ``c = 1.345``, Cauchy ``c = 2.385`` (Holland & Welsch 1977, *Robust
  regression using iteratively reweighted least-squares*, Commun. Statist. A6(9), Table 1).
  The influence function is ``ψ(r) = ρ'(z) r`` and ``ψ'(r) = ρ'(z) + 2 z ρ''(z)``, ``z = r²/c²``.
* **Dispersion.** Huber's estimate of the variance factor of an M-estimator,
  ``d = K² · Σψ²/(n − p) / (Σψ'/n)²`` with ``K = 1 + (p/n) var(ψ')/mean(ψ')²``
  (Huber & Ronchetti, *Robust Statistics*, 2nd ed., Wiley 2009, §7.6); for
  least squares ``d = s² = Σr²/(n − p)``. When the σ are right, ``(n − p) s²`` is χ²(n − p),
  so ``s²`` lies in ``[χ²_{α/2}, χ²_{1−α/2}]/(n − p)`` (Bates & Watts 1988, §2.3); for a robust
  loss ``d`` is compared with its normal-theory value ``d₀ = E[ψ²]/E[ψ']²`` times the quantiles
  of ``d/d₀`` simulated under N(0, 1) residuals of the same number.
* **Covariance.** ``d₀ (JᵀJ)⁻¹`` (σ known, normal quantile) when ``d`` is inside its interval,
  else ``d (JᵀJ)⁻¹`` with Student-t quantiles (quasi-likelihood scaling by the estimated
  dispersion, McCullagh & Nelder, *Generalized Linear Models*, 2nd ed., 1989, §9.2.4).
* **Identifiability.** The Fisher information ``F = JᵀJ`` in relative sensitivities
  ``F̃ = D F D`` (``D = diag|θ|``); its condition number and the collinearity index
  ``γ = 1/√λ_min`` of the column-normalised ``J`` (Brun, Reichert & Künsch 2001, *Practical
  identifiability analysis of large environmental simulation models*, Water Resour. Res.
  37(4), 1015–1030). A weakly identified parameter gets a profile likelihood
  ``Δ(θᵢ) = 2 (cost(θᵢ) − cost_min)/d`` minimised over the others, its interval where
  ``Δ ≤ χ²₁(level)`` (crossings interpolated on the signed root ``√Δ``, linear in ``θᵢ`` for a
  quadratic cost; Bates & Watts 1988, §6.1); a profile that does not reach the threshold inside the bounds means the
  data cannot determine the parameter (Raue et al. 2009, *Structural and practical
  identifiability analysis of partially observed dynamical models by exploiting the profile
  likelihood*, Bioinformatics 25(15), 1923–1929; Venzon & Moolgavkar 1988).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from workbench.errors import ConfigError

__all__ = ["LOSSES", "DEFAULT_F_SCALE", "Dispersion", "dispersion", "identifiability", "profile", "worst_misfits"]

LOSSES = ("linear", "huber", "cauchy")
DEFAULT_F_SCALE = {"linear": 1.0, "huber": 1.345, "cauchy": 2.385}


def check_loss(loss: str, f_scale: float | None) -> float:
    """The loss name checked and its ``f_scale`` (default: 95 % efficiency constant)."""
    if loss not in LOSSES:
        raise ConfigError(f"loss '{loss}' is not known; choose one of {', '.join(LOSSES)}")
    c = DEFAULT_F_SCALE[loss] if f_scale is None else float(f_scale)
    if not c > 0:
        raise ConfigError(f"f_scale must be > 0 (in units of the tags' σ), got {f_scale}")
    return c


def psi(r: np.ndarray, loss: str, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Influence ``ψ(r)`` and its derivative ``ψ'(r)`` of SciPy's loss ``c² ρ(r²/c²)/2``."""
    z = (r / c) ** 2
    if loss == "huber":
        inner = z <= 1
        return np.where(inner, r, c * np.sign(r)), inner.astype(float)
    if loss == "cauchy":
        return r / (1 + z), (1 - z) / (1 + z) ** 2
    return r, np.ones_like(r)


def cost(r: np.ndarray, loss: str, c: float) -> float:
    """SciPy's cost ``½ Σ c² ρ(r²/c²)`` of the standardised residuals ``r``."""
    z = (r / c) ** 2
    if loss == "huber":
        rho = np.where(z <= 1, z, 2 * np.sqrt(z) - 1)
    elif loss == "cauchy":
        rho = np.log1p(z)
    else:
        return float(0.5 * np.sum(r**2))
    return float(0.5 * c**2 * np.sum(rho))


@functools.lru_cache(maxsize=16)
def _normal_d0(loss: str, c: float) -> float:
    """``E[ψ²]/E[ψ']²`` for r ~ N(0, 1) (trapezoid rule on a fine grid: ψ' jumps at ±c for Huber)."""
    if loss == "linear":
        return 1.0
    x = np.linspace(-12.0, 12.0, 240_001)
    phi = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    p, dp = psi(x, loss, c)
    return float(np.trapezoid(p**2 * phi, x) / np.trapezoid(dp * phi, x) ** 2)


@dataclass
class Dispersion:
    """Dispersion of the residuals and what the interval is built on.

    ``value`` is ``d`` (``s²`` for least squares), ``expected`` its value when the σ are right,
    ``low``/``high`` its χ² interval, ``interval`` one of ``"sigma"`` (inside: σ taken as
    known), ``"scaled"`` (outside: covariance scaled by ``d``), ``"refused"``.
    """

    value: float
    expected: float
    low: float
    high: float
    interval: str = "sigma"

    @property
    def inside(self) -> bool:
        return self.low * self.expected <= self.value <= self.high * self.expected


def dispersion(r: np.ndarray, p: int, loss: str, c: float, confidence: float) -> Dispersion:
    """Huber's dispersion estimate of the standardised residuals ``r`` and its interval.

    Least squares: the χ² interval. Robust loss: the ``α/2`` and ``1 − α/2`` quantiles of ``d/d₀``
    over 2000 simulated N(0, 1) residual vectors of the same length (fixed seed), since ``d`` is
    not χ²-distributed.
    """
    from scipy.stats import chi2

    n = r.size
    nu = max(n - p, 1)
    d = _huber_d(r, p, loss, c)
    d0 = _normal_d0(loss, c)
    a = 1 - confidence
    if loss == "linear":
        return Dispersion(d, d0, float(chi2.ppf(a / 2, nu) / nu), float(chi2.ppf(1 - a / 2, nu) / nu))
    lo, hi = _simulated_interval(n, p, loss, c, a)
    return Dispersion(d, d0, lo, hi)


@functools.lru_cache(maxsize=64)
def _simulated_interval(n: int, p: int, loss: str, c: float, a: float) -> tuple[float, float]:
    rng = np.random.default_rng(20090101)
    sims = np.array([_huber_d(z, p, loss, c) for _ in range(10) for z in rng.normal(size=(200, n))])
    lo, hi = np.quantile(sims / _normal_d0(loss, c), [a / 2, 1 - a / 2])
    return float(lo), float(hi)


def _huber_d(r: np.ndarray, p: int, loss: str, c: float) -> float:
    n = r.size
    ps, dps = psi(r, loss, c)
    m = float(np.mean(dps))
    if m <= 0:
        return float("inf")
    k = 1.0 + (p / n) * float(np.var(dps)) / m**2
    return k**2 * float(np.sum(ps**2)) / max(n - p, 1) / m**2


@dataclass
class Identifiability:
    """Correlation, conditioning and a verdict per parameter (``"determined"``, ``"weak"``,
    ``"not determined"``)."""

    correlation: np.ndarray
    condition_number: float
    collinearity_index: float
    status: list[str]
    null: np.ndarray
    profiles: dict[str, dict] = field(default_factory=dict)


def identifiability(J: np.ndarray, theta: np.ndarray, cov: np.ndarray, *, rel_weak: float = 0.1,
                    rel_none: float = 0.5, corr_weak: float = 0.95, rcond: float = 1e-10) -> Identifiability:
    """Fisher-information conditioning and a first verdict per parameter.

    ``"not determined"``: the parameter moves along a direction the relative information
    ``F̃`` does not see (eigenvalue below ``rcond`` × the largest; ``null`` marks these), or
    its relative standard error is above ``rel_none``; ``"weak"``: relative standard error
    above ``rel_weak`` or |correlation| above ``corr_weak`` with another parameter (then
    :func:`profile` decides). The correlation comes from ``JᵀJ`` regularised by ``rcond``, so a
    confounded pair shows ±1 rather than noise (from the column-normalised ``J``, so the
    regularisation does not depend on the parameters' units).
    """
    p = len(theta)
    scale = np.where(np.abs(theta) > 0, np.abs(theta), 1.0)
    Fs = (J * scale).T @ (J * scale)
    ev, V = np.linalg.eigh(Fs)
    top = float(ev[-1]) if p else 0.0
    cond = float(ev[-1] / ev[0]) if p and ev[0] > 0 else float("inf")
    small = ev <= rcond * top if top > 0 else np.ones(p, bool)
    null = (np.abs(V[:, small]) > 1e-3).any(axis=1) if small.any() else np.zeros(p, bool)
    norms = np.linalg.norm(J, axis=0)
    Jn = J / np.where(norms > 0, norms, 1.0)
    evn = np.linalg.eigvalsh(Jn.T @ Jn) if p else np.zeros(0)
    gamma = float(1 / np.sqrt(evn[0])) if p and evn[0] > 0 else float("inf")
    reg = np.linalg.inv(Jn.T @ Jn + rcond * np.eye(p)) if p else np.zeros((0, 0))
    sd = np.sqrt(np.diag(reg))
    corr = reg / np.outer(sd, sd)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    status = []
    for i in range(p):
        rel = se[i] / scale[i]
        others = np.abs(np.delete(corr[i], i)) if p > 1 else np.zeros(0)
        if null[i] or not np.isfinite(rel) or rel > rel_none or norms[i] == 0:
            status.append("not determined")
        elif rel > rel_weak or (others.size and np.nanmax(others) > corr_weak):
            status.append("weak")
        else:
            status.append("determined")
    return Identifiability(corr, cond, gamma, status, null)


def profile(i: int, theta: np.ndarray, se: float, lo: np.ndarray, hi: np.ndarray, cost_min: float, disp: float,
            refit: Callable[[int, float, np.ndarray], tuple[float, np.ndarray]], confidence: float,
            max_steps: int = 12) -> dict:
    """Profile likelihood of parameter ``i`` (Raue et al. 2009).

    ``refit(i, value, start)`` fixes parameter ``i`` at ``value``, fits the others from
    ``start`` and returns ``(cost, theta)``. Walks out from the estimate on each side with
    growing steps until ``Δ`` passes ``χ²₁(confidence)`` or a bound is reached.

    Returns
    -------
    dict
        ``values``, ``delta`` (sorted by value), ``threshold``, ``ci_low``/``ci_high``
        (``None`` on a side the profile never reaches the threshold) and ``bounded``.
    """
    from scipy.stats import chi2

    thr = float(chi2.ppf(confidence, 1))
    span = hi[i] - lo[i]
    base = se if np.isfinite(se) and se > 0 else (0.1 * abs(theta[i]) or 1.0)
    if np.isfinite(span):
        base = min(base, span / 10)
    points = [(float(theta[i]), 0.0)]
    ends: dict[int, float | None] = {}
    for side in (-1, 1):
        start = theta.copy()
        prev_v, prev_d = float(theta[i]), 0.0
        ends[side] = None
        step = 0.5 * base
        for _ in range(max_steps):
            v = prev_v + side * step
            bound = lo[i] if side < 0 else hi[i]
            if (side < 0 and v <= bound) or (side > 0 and v >= bound):
                v = float(bound)
            cost, start = refit(i, v, start)
            d = 2 * (cost - cost_min) / disp
            points.append((v, d))
            if d >= thr:  # crossing: interpolate the signed root √Δ, linear in θ near the optimum
                ra, rb, rt = np.sqrt(max(prev_d, 0.0)), np.sqrt(d), np.sqrt(thr)
                ends[side] = prev_v + (v - prev_v) * (rt - ra) / (rb - ra) if rb != ra else v
                break
            if v == bound:
                break
            prev_v, prev_d = v, d
            step *= 1.6
    points.sort()
    return {"values": [p[0] for p in points], "delta": [p[1] for p in points], "threshold": thr,
            "ci_low": ends[-1], "ci_high": ends[1], "bounded": ends[-1] is not None and ends[1] is not None}


def worst_misfits(z: np.ndarray, mask: np.ndarray, times: np.ndarray, tags: list[str], *, n_blocks: int = 20,
                  top: int = 3) -> list[dict]:
    """The (tag, time block) cells with the largest mean squared standardised residual.

    ``z`` samples × tags of ``(y − ŷ)/σ``; ``times`` in seconds since the first sample.
    """
    n = len(times)
    size = max(n // n_blocks, 10)
    cells = []
    for a in range(0, n, size):
        b = min(a + size, n)
        for j, tag in enumerate(tags):
            r = z[a:b, j][mask[a:b, j]]
            if r.size < 3:
                continue
            cells.append({"tag": tag, "start": float(times[a]), "end": float(times[b - 1]),
                          "mean": float(np.mean(r)), "rms": float(np.sqrt(np.mean(r**2))), "n": int(r.size)})
    cells.sort(key=lambda c: -c["rms"])
    return cells[:top]
