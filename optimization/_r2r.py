"""Run-to-run (R2R) control between batches: EWMA and double-EWMA offset controllers.

Process model (offset model, Sachs, Hu & Ingolfsson 1995, IEEE Trans. Semicond. Manuf. 8(1)
26-38): the batch-end quality of batch ``t`` is

    y_t = a_t + b·u_t + noise,

``u_t`` the recipe parameters used for the batch, ``b`` the (model) gain vector, ``a_t`` an
offset that may drift. After each batch the offset estimate is updated by an EWMA

    â_t = λ (y_t − b·u_t) + (1 − λ) â_{t−1}

and the next recipe is chosen so that the model predicts the target: b·u_{t+1} = T − â_t.

Double EWMA (Butler & Stefani 1994, IEEE Trans. Semicond. Manuf. 7(2) 193-201) adds a drift
estimate D̂_t = λ₂ (y_t − b·u_t − â_{t−1}) + (1 − λ₂) D̂_{t−1} and aims at b·u_{t+1} = T − â_t − D̂_t.

Closed loop and stability, with the true gain β and ξ = β/b (for a vector, the ratio of the true
to the model response along the correction direction); derivation in the docs section
"Run-to-run between batches" (docs/recipe-optimisation.md):

* EWMA: e_t = (1 − λξ) e_{t−1} + δ + ε_t − ε_{t−1} (e = y − T, δ the drift per batch, ε white
  noise σ²). Stable iff 0 < λξ < 2 (Ingolfsson & Sachs 1993, J. Quality Technology 25(4)
  271-287). Asymptotic mean deviation δ/(λξ), asymptotic variance 2σ²/(2 − λξ) (del Castillo
  2002, *Statistical Process Adjustment for Quality Control*, Wiley, ch. 7; Sachs et al. 1995).
* Double EWMA: characteristic polynomial z² + (ξ(λ₁+λ₂) − 2) z + 1 − ξ(λ₁+λ₂) + ξλ₁λ₂ (del
  Castillo 1999, IIE Transactions 31(12) 1157-1169): stable iff both roots lie inside the unit
  circle; a linear drift then leaves no asymptotic offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.errors import ConfigError

__all__ = [
    "R2RConfig",
    "R2RController",
    "R2RStep",
    "double_ewma_roots",
    "ewma_drift_theory",
    "r2r_history",
    "r2r_stability",
]


@dataclass(frozen=True)
class R2RConfig:
    """Configuration of an EWMA / double-EWMA run-to-run controller.

    Parameters
    ----------
    target
        Target T of the batch-end quality.
    gains
        Model gain b of each recipe parameter (quality units per parameter unit).
    lam
        EWMA weight λ of the offset estimate, in (0, 1].
    lam2
        EWMA weight λ₂ of the drift estimate (double EWMA); ``None`` = plain EWMA.
    limits
        Recipe limits ``{name: (low, high)}``; the next recipe is clipped into them.
    weights
        Cost of moving each parameter (default 1): the correction is the weighted minimum-norm
        change of the recipe that reaches the model target.
    gain_ratio
        Range (ξ_min, ξ_max) of the ratio true gain / model gain that the controller must be
        stable for (Ingolfsson & Sachs 1993); default (1, 1) = the model gain is right.
    source
        Where the configuration came from, for error messages.
    """

    target: float
    gains: Mapping[str, float]
    lam: float
    lam2: float | None = None
    limits: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    gain_ratio: tuple[float, float] = (1.0, 1.0)
    source: str | None = None

    def __post_init__(self) -> None:
        def bad(path: str, message: str):
            return ConfigError(message, source=self.source, path=path)

        if not self.gains:
            raise bad("gains", "give the model gain b of at least one recipe parameter, e.g. gains: {temp: 0.5}")
        for name, b in self.gains.items():
            if not np.isfinite(b) or b == 0:
                raise bad(f"gains.{name}", f"the gain must be a finite non-zero number, got {b!r}")
        if not np.isfinite(self.target):
            raise bad("target", f"the target must be a finite number, got {self.target!r}")
        for key, v in (("lam", self.lam), ("lam2", self.lam2)):
            if v is not None and not 0 < v <= 1:
                raise bad(key, f"the EWMA weight must be in (0, 1], got {v!r}")
        for name, lim in self.limits.items():
            if name not in self.gains:
                raise bad(f"limits.{name}", f"{name!r} is not a recipe parameter (gains: {', '.join(self.gains)})")
            lo, hi = lim
            if not lo < hi:
                raise bad(f"limits.{name}", f"the low limit {lo!r} must be below the high limit {hi!r}")
        for name, w in self.weights.items():
            if name not in self.gains:
                raise bad(f"weights.{name}", f"{name!r} is not a recipe parameter (gains: {', '.join(self.gains)})")
            if not w > 0:
                raise bad(f"weights.{name}", f"a weight must be > 0, got {w!r}")
        lo, hi = self.gain_ratio
        if not 0 < lo <= hi:
            raise bad("gain_ratio", f"(ξ_min, ξ_max) must satisfy 0 < ξ_min <= ξ_max, got ({lo!r}, {hi!r})")
        stab = r2r_stability(self.lam, self.lam2, self.gain_ratio)
        if not stab["stable"]:
            raise bad("lam2" if self.lam2 is not None else "lam", stab["rule"] + f"; {stab['detail']}")

    @property
    def names(self) -> list[str]:
        return list(self.gains)

    @property
    def b(self) -> np.ndarray:
        return np.array([self.gains[n] for n in self.names], dtype=float)


def double_ewma_roots(lam1: float, lam2: float, xi: float) -> np.ndarray:
    """Roots of the double-EWMA closed loop z² + (ξ(λ₁+λ₂) − 2) z + 1 − ξ(λ₁+λ₂) + ξλ₁λ₂ (del Castillo 1999)."""
    s = xi * (lam1 + lam2)
    return np.roots([1.0, s - 2.0, 1.0 - s + xi * lam1 * lam2])


def r2r_stability(lam: float, lam2: float | None = None, gain_ratio: tuple[float, float] = (1.0, 1.0)) -> dict:
    """Stability of the closed loop for every gain ratio ξ in ``gain_ratio`` and its margin.

    EWMA (Ingolfsson & Sachs 1993): stable iff 0 < λξ < 2; the margin is 2 − λξ_max and the
    largest stable gain ratio 2/λ. Double EWMA: both roots of :func:`double_ewma_roots` inside
    the unit circle (checked on a grid of ξ and at the ends); the margin is 1 − max |root|.
    """
    lo, hi = gain_ratio
    if lam2 is None:
        margin = 2.0 - lam * hi
        return {"stable": lam * lo > 0 and margin > 0, "controller": "ewma", "margin": margin,
                "xi_max_stable": 2.0 / lam, "spectral_radius": abs(1.0 - lam * hi) if hi else 1.0,
                "rule": f"EWMA stability needs 0 < λ·ξ < 2 (Ingolfsson & Sachs 1993), i.e. λ < {2.0 / hi:.6g} "
                        f"for ξ up to {hi:g}",
                "detail": f"λ = {lam:g} with ξ_max = {hi:g} gives λ·ξ = {lam * hi:.6g}"}
    grid = np.unique(np.concatenate([np.linspace(lo, hi, 201), [lo, hi]]))
    radius = max(float(np.max(np.abs(double_ewma_roots(lam, lam2, x)))) for x in grid)
    worst = max(grid, key=lambda x: float(np.max(np.abs(double_ewma_roots(lam, lam2, x)))))
    return {"stable": radius < 1.0, "controller": "double-ewma", "margin": 1.0 - radius,
            "spectral_radius": radius,
            "rule": "double-EWMA stability needs both roots of z² + (ξ(λ₁+λ₂) − 2) z + 1 − ξ(λ₁+λ₂) + ξλ₁λ₂ "
                    "inside the unit circle (del Castillo 1999)",
            "detail": f"λ₁ = {lam:g}, λ₂ = {lam2:g} give a root of modulus {radius:.6g} at ξ = {worst:.6g}"}


def ewma_drift_theory(lam: float, xi: float, drift: float, sigma: float, n: int,
                      first_mean: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Expected deviation E[e_t] and E[e_t²] of the EWMA loop over batches 1..n under a linear drift.

    From the closed loop e_t = φ e_{t−1} + δ + ε_t − ε_{t−1}, φ = 1 − λξ (see the module docstring):
    the mean follows m_t = φ m_{t−1} + δ from m_1 = ``first_mean``; the variance
    V_t = φ² V_{t−1} + 2σ²(1 − φ) from V_1 = σ² (Cov(e_{t−1}, ε_{t−1}) = σ²). Limits:
    m → δ/(λξ), V → 2σ²/(2 − λξ) (del Castillo 2002, ch. 7).
    """
    phi = 1.0 - lam * xi
    m = np.empty(n)
    v = np.empty(n)
    m[0], v[0] = first_mean, sigma**2
    for t in range(1, n):
        m[t] = phi * m[t - 1] + drift
        v[t] = phi**2 * v[t - 1] + 2 * sigma**2 * (1 - phi)
    return m, m**2 + v


@dataclass(frozen=True)
class R2RStep:
    """The next batch's recipe and why."""

    recipe: dict[str, float]
    offset: float
    drift: float | None
    correction: dict[str, float]
    clipped: list[str]
    predicted: float
    target: float
    last_recipe: dict[str, float]
    stability: dict
    batches: int

    def summary(self) -> dict:
        return {"batches": self.batches, "target": self.target, "offset_estimate": self.offset,
                "drift_estimate": self.drift, "last_recipe": self.last_recipe, "next_recipe": self.recipe,
                "correction": self.correction, "clipped": self.clipped, "predicted_quality": self.predicted,
                "shortfall": self.target - self.predicted,
                "stability": {k: self.stability[k] for k in ("controller", "stable", "margin", "spectral_radius",
                                                             "rule", "detail")}}


def _spread(cfg: R2RConfig, u: np.ndarray, need: float) -> tuple[np.ndarray, list[str]]:
    """Weighted minimum-norm change Δu with b·Δu = need, clipped to the limits.

    Minimises Σ w_i Δu_i² subject to b·Δu = need: Δu = W⁻¹b · need / (bᵀW⁻¹b). A parameter that
    would leave its limits is fixed at the limit and the rest of the correction is spread over
    the free ones again (until none is left; then the correction falls short).
    """
    b = cfg.b
    w = np.array([cfg.weights.get(n, 1.0) for n in cfg.names], dtype=float)
    lo = np.array([cfg.limits.get(n, (-np.inf, np.inf))[0] for n in cfg.names], dtype=float)
    hi = np.array([cfg.limits.get(n, (-np.inf, np.inf))[1] for n in cfg.names], dtype=float)
    new = np.clip(u, lo, hi)
    free = np.ones(b.size, dtype=bool)
    clipped: list[str] = []
    for _ in range(b.size):
        rest = need - float(b @ (new - u))
        if not free.any() or rest == 0:
            break
        g = np.where(free, b / w, 0.0)
        trial = new + g * rest / float(b @ g)
        out = free & ((trial < lo) | (trial > hi))
        new = np.where(free, np.clip(trial, lo, hi), new)
        if not out.any():
            break
        clipped += [cfg.names[i] for i in np.flatnonzero(out)]
        free &= ~out
    return new, clipped


class R2RController:
    """A run-to-run controller fed one batch at a time (``observe``), asked for the next recipe.

    Parameters
    ----------
    cfg
        The controller configuration (its stability was checked when it was made).
    offset0, drift0
        Initial estimates â_0, D̂_0; by default â starts at the first batch's offset y_1 − b·u_1.
    """

    def __init__(self, cfg: R2RConfig, *, offset0: float | None = None, drift0: float = 0.0) -> None:
        self.cfg = cfg
        self.offset_ = offset0
        self.drift_ = float(drift0)
        self.batches_ = 0
        self.last_recipe_: np.ndarray | None = None
        self._stability = r2r_stability(cfg.lam, cfg.lam2, cfg.gain_ratio)

    def observe(self, quality: float, recipe: Sequence[float]) -> R2RController:
        """Update the estimates with one batch: its measured quality and the recipe it used."""
        cfg = self.cfg
        u = np.asarray(recipe, dtype=float).reshape(-1)
        if u.size != len(cfg.gains):
            raise ConfigError(f"a recipe needs {len(cfg.gains)} values ({', '.join(cfg.names)}), got {u.size}")
        g = float(quality - cfg.b @ u)
        if self.offset_ is None:
            self.offset_ = g
        else:
            a = self.offset_
            if cfg.lam2 is not None:
                self.drift_ = cfg.lam2 * (g - a) + (1 - cfg.lam2) * self.drift_  # Butler & Stefani 1994
            self.offset_ = cfg.lam * g + (1 - cfg.lam) * a  # Sachs et al. 1995
        self.batches_ += 1
        self.last_recipe_ = u
        return self

    def next_recipe(self) -> R2RStep:
        """The recipe whose model prediction is the target (clipped to the limits), and why."""
        cfg = self.cfg
        if self.last_recipe_ is None:
            raise ConfigError("the batch history has no batches; at least one measured batch is needed")
        b, u = cfg.b, self.last_recipe_
        d = self.drift_ if cfg.lam2 is not None else None
        aim = cfg.target - self.offset_ - (d or 0.0)
        new, clipped = _spread(cfg, u, aim - float(b @ u))
        names = cfg.names
        return R2RStep(recipe=dict(zip(names, new.tolist(), strict=True)), offset=self.offset_, drift=d,
                       correction=dict(zip(names, (new - u).tolist(), strict=True)), clipped=clipped,
                       predicted=self.offset_ + (d or 0.0) + float(b @ new), target=cfg.target,
                       last_recipe=dict(zip(names, u.tolist(), strict=True)), stability=self._stability,
                       batches=self.batches_)


def r2r_history(quality: Sequence[float], recipes: Sequence[Sequence[float]], cfg: R2RConfig, *,
                offset0: float | None = None, drift0: float = 0.0) -> R2RStep:
    """Filter a batch history through the controller and give the next batch's recipe.

    ``quality`` are the measured batch-end qualities y_1..y_n, ``recipes`` the (n, p) recipes used
    (columns in the order of ``cfg.gains``); see :class:`R2RController` for the initial estimates.
    """
    ctl = R2RController(cfg, offset0=offset0, drift0=drift0)
    if len(quality) == 0:
        return ctl.next_recipe()  # raises: no batches
    u = np.asarray(recipes, dtype=float).reshape(len(quality), -1)
    for y, row in zip(quality, u, strict=True):
        ctl.observe(float(y), row)
    return ctl.next_recipe()
