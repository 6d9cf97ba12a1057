"""Process capability: Cp, Cpk, Pp, Ppk, Cpm with confidence intervals, one-sided specs, ppm.

Montgomery, *Introduction to Statistical Quality Control*, 7th ed., 2013, §8.3:

* ``Cp = (USL - LSL) / 6σ_w``, ``Cpu = (USL - μ) / 3σ_w``, ``Cpl = (μ - LSL) / 3σ_w``,
  ``Cpk = min(Cpu, Cpl)`` with the short-term (within) σ_w; ``Pp``, ``Ppu``, ``Ppl``, ``Ppk``
  the same with the overall sample standard deviation ``s`` (AIAG *SPC* manual, 2nd ed., 2005).
* σ_w: ``MR̄/d2(2)`` for individuals, or for subgroups the pooled standard deviation
  ``s_p = √(Σ(n_i-1)s_i² / Σ(n_i-1))`` divided by the unbiasing constant ``c4(d+1)``,
  ``d = Σ(n_i-1)`` (as Minitab's normal capability analysis does). Which one is used is
  reported (``sigma_method``).
* ``Cpm = (USL - LSL) / 6√(s² + (x̄ - T)²)`` (Chan, Cheng & Spiring, *J. Quality Technology*
  20(3), 1988), T the target (default: the middle of the specs).
* Intervals (two-sided, level ``1 - α``):
  Cp/Pp by the chi-square distribution, ``Ĉ √(χ²_{α/2,ν}/ν) ≤ C ≤ Ĉ √(χ²_{1-α/2,ν}/ν)``
  (Montgomery eq. 8.19), ν = n - 1 for Pp, d for the pooled σ_w; for σ_w = MR̄/d2 the same
  ν = n - 1 is used, an approximation (MR̄ has fewer effective degrees of freedom, so that
  interval is somewhat too narrow; said in the notes).
  Cpk, Cpu, Cpl, Ppk, Ppu, Ppl by Bissell's normal approximation, ``Ĉ (1 ± z_{1-α/2}
  √(1/(9nĈ²) + 1/(2(n-1))))`` (Bissell, *Applied Statistics* 39(2), 1990, 205–210;
  Montgomery eq. 8.21).
  Cpm by Boyles' chi-square approximation with ``ν = n(1 + a²)² / (1 + 2a²)``,
  ``a = (x̄ - T)/s`` (Boyles, *J. Quality Technology* 23(1), 1991, 17–26).
* Expected ppm out of spec: ``10⁶ [Φ((LSL - μ)/σ) + 1 - Φ((USL - μ)/σ)]`` for σ_w and s;
  observed ppm from the counts.
* Non-normal data, chosen explicitly. ``method="clements"``: Clements' percentile method
  (*Quality Progress* 22(9), 1989, 95–100): ``Cp = (USL - LSL)/(U_p - L_p)``,
  ``Cpu = (USL - M)/(U_p - M)``, ``Cpl = (M - LSL)/(M - L_p)``, ``Cpk = min``, with the 0.135 %,
  50 % and 99.865 % points ``L_p``, ``M``, ``U_p`` of the Pearson curve matching the sample
  mean, standard deviation, skewness and kurtosis (computed from Pearson's equation,
  :func:`pearson_cdf`, instead of Clements' printed tables); no intervals, expected ppm from
  that curve. ``method="box-cox"``: the data and the spec limits
  (and target) are transformed by the Box-Cox transformation with the maximum-likelihood λ
  (Box & Cox, *JRSS B* 26, 1964; :func:`scipy.stats.boxcox`), and the indices computed on the
  transformed scale; data and specs must be > 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spc._constants import c4, d2

__all__ = ["Capability", "capability", "chi2_interval", "bissell_interval", "pearson_cdf", "METHODS"]

METHODS = ("normal", "box-cox", "clements")


def pearson_cdf(skew: float, kurtosis: float, *, points: int = 200_001, span: float = 30.0):
    """CDF of the standardised Pearson-system distribution with this skewness and (non-excess) kurtosis.

    The density solves Pearson's equation ``d ln f/dx = -(a + x)/(c0 + c1 x + c2 x²)`` with
    ``c0 = (4β2 - 3β1)/D``, ``a = c1 = √β1 (β2 + 3)/D``, ``c2 = (2β2 - 3β1 - 6)/D``,
    ``D = 10β2 - 12β1 - 18`` (mean 0, variance 1; Johnson, Kotz & Balakrishnan, *Continuous
    Univariate Distributions* 1, 2nd ed., 1994, §4.1); it is integrated on a grid over the
    support (to the roots of the denominator, else ±``span``). Returns ``(x, F)`` arrays.
    """
    from scipy.integrate import cumulative_trapezoid

    b1, b2 = skew * skew, kurtosis
    den = 10 * b2 - 12 * b1 - 18
    if not b2 > b1 + 1 or abs(den) < 1e-9:
        raise ValueError(f"no Pearson curve for skewness {skew:.3g} and kurtosis {kurtosis:.3g} "
                         "(needs kurtosis > skewness² + 1)")
    c0, c1, c2 = (4 * b2 - 3 * b1) / den, skew * (b2 + 3) / den, (2 * b2 - 3 * b1 - 6) / den
    mode, lo, hi = -c1, -span, span
    if abs(c2) > 1e-12:
        roots = np.roots([c2, c1, c0])
    else:
        roots = np.array([-c0 / c1]) if abs(c1) > 1e-12 else np.array([])
    for r in roots:
        if abs(r.imag) < 1e-12:
            if r.real < mode:
                lo = max(lo, r.real)
            else:
                hi = min(hi, r.real)
    eps = 1e-7 * (hi - lo)
    x = np.linspace(lo + eps, hi - eps, points)
    log_f = cumulative_trapezoid(-(c1 + x) / (c0 + c1 * x + c2 * x * x), x, initial=0.0)
    f = np.exp(log_f - log_f.max())
    F = cumulative_trapezoid(f, x, initial=0.0)
    return x, F / F[-1]


def chi2_interval(c, nu, confidence: float = 0.95):
    """Chi-square interval of Cp (or Pp, Cpm with its ν): ``(lower, upper)``; vectorised."""
    from scipy.stats import chi2

    a = 1 - confidence
    c = np.asarray(c, float)
    nu = np.asarray(nu, float)
    return c * np.sqrt(chi2.ppf(a / 2, nu) / nu), c * np.sqrt(chi2.ppf(1 - a / 2, nu) / nu)


def bissell_interval(c, n, confidence: float = 0.95):
    """Bissell's (1990) interval of Cpk (and Cpu, Cpl, Ppk…): ``(lower, upper)``; vectorised."""
    from scipy.stats import norm

    c = np.asarray(c, float)
    n = np.asarray(n, float)
    z = norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(1 / (9 * n * c * c) + 1 / (2 * (n - 1)))
    return c * (1 - half), c * (1 + half)


@dataclass
class Capability:
    """Capability indices with intervals, expected and observed ppm, and how they were computed."""

    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    sigma_method: str
    lsl: float | None
    usl: float | None
    target: float | None
    method: str
    confidence: float
    indices: dict[str, tuple[float, float, float]]
    ppm: dict[str, dict[str, float]]
    boxcox_lambda: float | None = None
    normality_p: float | None = None
    notes: list[str] = field(default_factory=list)
    column: str = ""
    unit: str = ""
    data: np.ndarray | None = None  # the (transformed) values, for the report's histogram
    scale_specs: tuple[float | None, float | None, float | None] = (None, None, None)  # LSL, USL, T on that scale

    def rows(self) -> list[dict[str, object]]:
        return [{"index": k, "estimate": v[0], "lower": v[1], "upper": v[2]} for k, v in self.indices.items()]

    def summary(self) -> dict[str, object]:
        return {
            "column": self.column, "unit": self.unit, "n": self.n, "mean": self.mean,
            "sigma_within": self.sigma_within, "sigma_overall": self.sigma_overall,
            "sigma_method": self.sigma_method, "lsl": self.lsl, "usl": self.usl, "target": self.target,
            "method": self.method, "boxcox_lambda": self.boxcox_lambda, "confidence": self.confidence,
            "indices": {k: {"estimate": v[0], "lower": v[1], "upper": v[2]} for k, v in self.indices.items()},
            "ppm": self.ppm, "normality_shapiro_p": self.normality_p, "notes": self.notes,
        }


def _pooled_sigma(groups: list[np.ndarray]) -> tuple[float, int]:
    dof = sum(g.size - 1 for g in groups)
    if dof < 1:
        raise ValueError("no subgroup has 2 or more values: the pooled sigma needs subgroups of at least 2")
    sp = math.sqrt(sum((g.size - 1) * g.var(ddof=1) for g in groups if g.size > 1) / dof)
    return sp / c4(dof + 1), dof


def capability(
    values,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    subgroups=None,
    method: str = "normal",
    confidence: float = 0.95,
    column: str = "",
    unit: str = "",
) -> Capability:
    """Capability of a process from its measurements against spec limits.

    Parameters
    ----------
    values
        The measurements (in time order: σ_w from moving ranges needs the order).
    lsl, usl
        Spec limits; at least one. With one, the two-sided indices (Cp, Pp, Cpm) are not defined.
    target
        Target for Cpm (default: the middle of the specs when both are given).
    subgroups
        A subgroup size or one subgroup label per value: σ_w is then the pooled subgroup σ.
    method
        ``normal`` or ``box-cox`` (transform data and specs first).
    confidence
        Level of the two-sided intervals.

    Raises
    ------
    ValueError
        No spec limit, LSL >= USL, too few values (< 5), no variation, Box-Cox on values or
        specs <= 0, an unknown method.
    """
    from scipy import stats

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if lsl is None and usl is None:
        raise ValueError("give at least one spec limit (lsl, usl)")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"the lower spec limit {lsl:g} must be below the upper {usl:g}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("the values must be finite numbers")
    if x.size < 5:
        raise ValueError(f"capability needs at least 5 values, got {x.size}")
    notes: list[str] = []
    raw = x
    lam = None
    if target is None and lsl is not None and usl is not None:
        target = (lsl + usl) / 2
    spec = {"lsl": lsl, "usl": usl, "target": target}
    if method == "box-cox":
        if np.any(x <= 0):
            raise ValueError("Box-Cox needs values > 0; shift the data or use --method normal")
        for name, v in spec.items():
            if v is not None and v <= 0:
                raise ValueError(f"Box-Cox needs the {name.upper()} > 0, got {v:g}")
        x, lam = stats.boxcox(x)
        lam = float(lam)
        spec = {k: (None if v is None else float(stats.boxcox(np.array([v]), lmbda=lam)[0])) for k, v in spec.items()}
        notes.append(f"indices on the Box-Cox scale, lambda = {lam:.4g} (maximum likelihood); specs transformed alike")
    lo, hi, tgt = spec["lsl"], spec["usl"], spec["target"]
    n = int(x.size)
    mean = float(x.mean())
    s = float(x.std(ddof=1))
    if s == 0:
        raise ValueError("the values have no variation (all equal): capability is not defined")
    if subgroups is None:
        sw, nu_w = float(np.abs(np.diff(x)).mean() / d2(2)), n - 1
        how = "MR-bar/d2 (moving ranges of consecutive values)"
        notes.append("the Cp/Cpk intervals use n - 1 degrees of freedom for MR-bar/d2: an approximation "
                     "(somewhat too narrow)")
    else:
        from spc._charts import _group_index

        idx, keys = _group_index(n, subgroups)
        groups = [x[idx == g] for g in range(len(keys))]
        sw, nu_w = _pooled_sigma(groups)
        how = f"pooled within-subgroup standard deviation / c4(d+1), d = {nu_w}"
    if sw == 0:
        raise ValueError("the within (short-term) sigma is 0: consecutive values or subgroups do not vary")
    ind: dict[str, tuple[float, float, float]] = {}

    def put(name, est, ci):
        ind[name] = (float(est), float(ci[0]), float(ci[1]))

    if method == "clements":
        return _clements(x, lo, hi, tgt, mean, s, sw, how, lsl, usl, target, confidence, notes, column, unit, put, ind)

    for tag, sig, nu in (("C", sw, nu_w), ("P", s, n - 1)):
        ups = (hi - mean) / (3 * sig) if hi is not None else None
        lows = (mean - lo) / (3 * sig) if lo is not None else None
        if lo is not None and hi is not None:
            cp = (hi - lo) / (6 * sig)
            put(f"{tag}p", cp, chi2_interval(cp, nu, confidence))
        if ups is not None:
            put(f"{tag}pu", ups, bissell_interval(ups, n, confidence))
        if lows is not None:
            put(f"{tag}pl", lows, bissell_interval(lows, n, confidence))
        k = min(v for v in (ups, lows) if v is not None)
        put(f"{tag}pk", k, bissell_interval(k, n, confidence))
    if lo is not None and hi is not None:
        a = (mean - tgt) / s
        cpm = (hi - lo) / (6 * math.sqrt(s * s + (mean - tgt) ** 2))
        nu = n * (1 + a * a) ** 2 / (1 + 2 * a * a)
        put("Cpm", cpm, chi2_interval(cpm, nu, confidence))
    ppm: dict[str, dict[str, float]] = {}
    for name, sig in (("expected_within", sw), ("expected_overall", s)):
        below = 1e6 * stats.norm.cdf((lo - mean) / sig) if lo is not None else 0.0
        above = 1e6 * stats.norm.sf((hi - mean) / sig) if hi is not None else 0.0
        ppm[name] = {"below_lsl": float(below), "above_usl": float(above), "total": float(below + above)}
    ob = 1e6 * float(np.sum(raw < lsl)) / n if lsl is not None else 0.0
    oa = 1e6 * float(np.sum(raw > usl)) / n if usl is not None else 0.0
    ppm["observed"] = {"below_lsl": ob, "above_usl": oa, "total": ob + oa}
    normal_p = float(stats.shapiro(x).pvalue) if 3 <= n <= 5000 else None
    if normal_p is not None and normal_p < 0.01:
        notes.append(f"WARNING: the {'transformed ' if lam is not None else ''}data do not look normal "
                     f"(Shapiro-Wilk p = {normal_p:.2g}); the indices and ppm assume normality"
                     + ("; consider --method box-cox" if method == "normal" else ""))
    if n < 30:
        notes.append(f"only {n} values: the intervals are wide")
    return Capability(n, mean, sw, s, how, lsl, usl, target, method, confidence, ind, ppm, lam, normal_p, notes,
                      column, unit, x, (lo, hi, tgt))


def _clements(x, lo, hi, tgt, mean, s, sw, how, lsl, usl, target, confidence, notes, column, unit, put, ind):
    from scipy import stats

    n = x.size
    skew = float(stats.skew(x, bias=False))
    kurt = float(stats.kurtosis(x, fisher=False, bias=False))
    grid, F = pearson_cdf(skew, kurt)
    lp, med, up = (mean + s * v for v in np.interp([0.00135, 0.5, 0.99865], F, grid))
    nan = (math.nan, math.nan)
    if lo is not None and hi is not None:
        put("Cp", (hi - lo) / (up - lp), nan)
    cu = (hi - med) / (up - med) if hi is not None else None
    cl = (med - lo) / (med - lp) if lo is not None else None
    if cu is not None:
        put("Cpu", cu, nan)
    if cl is not None:
        put("Cpl", cl, nan)
    put("Cpk", min(v for v in (cu, cl) if v is not None), nan)
    below = 1e6 * float(np.interp((lo - mean) / s, grid, F)) if lo is not None else 0.0
    above = 1e6 * (1 - float(np.interp((hi - mean) / s, grid, F))) if hi is not None else 0.0
    ob = 1e6 * float(np.sum(x < lo)) / n if lo is not None else 0.0
    oa = 1e6 * float(np.sum(x > hi)) / n if hi is not None else 0.0
    ppm = {"expected_pearson": {"below_lsl": below, "above_usl": above, "total": below + above},
           "observed": {"below_lsl": ob, "above_usl": oa, "total": ob + oa}}
    notes[:] = [m for m in notes if not m.startswith("the Cp/Cpk intervals")]
    notes.append(f"Clements' percentile method: Pearson curve with skewness {skew:.3g} and kurtosis {kurt:.3g}; "
                 f"0.135 %, 50 %, 99.865 % points {lp:.6g}, {med:.6g}, {up:.6g}; no confidence intervals")
    return Capability(n, mean, sw, s, how, lsl, usl, target, "clements", confidence, ind, ppm, None, None, notes,
                      column, unit, x, (lo, hi, tgt))
