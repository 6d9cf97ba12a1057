"""Shewhart, EWMA and CUSUM control charts with Phase I and Phase II.

Formulas from Montgomery, *Introduction to Statistical Quality Control*, 7th ed.,
2013 (chapter and equation numbers of that edition):

* I-MR (§6.4): σ̂ = MR̄/d2(2) from the moving ranges of consecutive points;
  X: μ̂ ± 3σ̂; MR: centre d2 σ̂, limits ``(d2 ± 3 d3) σ̂`` (= D3·MR̄, D4·MR̄).
* X̄-R and X̄-S (§6.2, §6.3): σ̂ = mean of ``R_i/d2(n_i)`` (R̄/d2 for a constant n) or of
  ``s_i/c4(n_i)`` (S̄/c4); X̄: x̿ ± 3σ̂/√n_i; R: ``(d2 ± 3 d3) σ̂``; S: ``(c4 ± 3√(1-c4²)) σ̂``
  (= A2, D3, D4, B3, B4 for a constant n; :mod:`spc._constants`). Varying subgroup sizes
  get per-subgroup limits (§6.3.2).
* p, np, c, u (§7.2, §7.3): p̄ = Σd/Σn, limits ``p̄ ± 3√(p̄(1-p̄)/n_i)`` clipped to [0, 1];
  np: ``n p̄ ± 3√(n p̄ (1-p̄))``; c: ``c̄ ± 3√c̄``; u: ū = Σc/Σn, ``ū ± 3√(ū/n_i)``; a lower
  limit below 0 is 0.
* EWMA (§9.2) with the exact, time-varying limits ``μ0 ± L σ √(λ/(2-λ)(1-(1-λ)^{2t}))``;
  CUSUM (§9.1), tabular, ``K = kσ``, ``H = hσ``; recursions in :mod:`spc._ewma_cusum`.

Phase I (§6.1, §7.2.1: "revise the trial limits"): estimate the limits, drop the
points (subgroups) beyond them on either chart as assignable causes, re-estimate,
until no point is beyond; the dropped points are reported with the iteration that
dropped them. (For I-MR only the individuals chart drops points: one wild point gives
two large moving ranges, both gone with it; moving ranges touching a dropped point are
not used for σ̂.) EWMA and CUSUM take μ0 and σ from the Phase I of the I-MR chart (or
X̄-S of the subgroup means). Phase II: the limits are given (:class:`ChartLimits`).

Run rules (:mod:`spc._rules`) apply to the primary chart (X, X̄, p, np, c, u); the
dispersion chart (MR, R, S) flags points beyond its limits only: its points are not
independent (consecutive moving ranges share a point), so the zone rules' false-alarm
rates do not hold there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spc import _autocorr as ac
from spc._constants import c4, d2, d3
from spc._ewma_cusum import cusum_recursion, ewma_recursion
from spc._limits import CHART_TYPES, ChartLimits
from spc._rules import RULES, Signal, apply_rules, rule_set

__all__ = ["ChartSeries", "ControlChart", "control_chart", "MIN_POINTS"]

#: fewest points (individuals) or subgroups a Phase I estimate accepts
MIN_POINTS = {"individuals": 8, "subgroups": 4}
_VARIABLES = ("imr", "xbar-r", "xbar-s", "ewma", "cusum")


@dataclass
class ChartSeries:
    """One plotted chart: statistic, centre line and limits per point (NaN: no limit)."""

    name: str
    values: np.ndarray
    center: np.ndarray
    lcl: np.ndarray
    ucl: np.ndarray
    unit: str = ""

    def as_dict(self) -> dict[str, object]:
        def one(a):
            a = np.asarray(a, float)
            return float(a[0]) if a.size and np.allclose(a, a[0], equal_nan=True) else a.tolist()

        return {"name": self.name, "unit": self.unit, "center": one(self.center), "lcl": one(self.lcl),
                "ucl": one(self.ucl)}


@dataclass
class ControlChart:
    """A computed control chart: the series, the signals, the limits and what Phase I dropped."""

    chart: str
    phase: int
    labels: list[str]
    primary: ChartSeries
    secondary: ChartSeries | None
    signals: list[Signal]
    limits: ChartLimits
    rules: tuple[str, ...]
    sizes: np.ndarray
    dropped: list[dict[str, object]] = field(default_factory=list)
    autocorrelation: ac.Autocorrelation | None = None
    remedy: str = "none"
    notes: list[str] = field(default_factory=list)
    column: str = ""
    unit: str = ""

    @property
    def in_control(self) -> bool:
        return not self.signals

    def summary(self) -> dict[str, object]:
        """JSON-able summary: limits, every signal, what Phase I dropped, the autocorrelation test."""
        return {
            "chart": self.chart,
            "description": CHART_TYPES[self.chart],
            "phase": self.phase,
            "column": self.column,
            "unit": self.unit,
            "points": len(self.labels),
            "rules": list(self.rules),
            "rule_descriptions": {r: RULES[r] for r in self.rules},
            "limits": self.limits.to_dict(),
            "charts": [s.as_dict() for s in (self.primary, self.secondary) if s is not None],
            "signals": [s.as_dict() for s in self.signals],
            "dropped": self.dropped,
            "autocorrelation": None if self.autocorrelation is None else self.autocorrelation.as_dict(),
            "remedy": self.remedy,
            "notes": self.notes,
        }


# -- inputs --------------------------------------------------------------------------------
def _group_index(n: int, subgroups) -> tuple[np.ndarray, list[object]]:
    """Group number per value and the group keys: consecutive blocks of a size, or equal labels."""
    if subgroups is None:
        return np.arange(n), list(range(n))
    if np.isscalar(subgroups):
        size = int(subgroups)
        if size != subgroups or size < 1:
            raise ValueError(f"subgroup size must be a whole number >= 1, got {subgroups!r}")
        m = n // size
        idx = np.full(n, -1)
        idx[: m * size] = np.repeat(np.arange(m), size)
        return idx, list(range(m))
    import pandas as pd

    codes, keys = pd.factorize(pd.Series(list(subgroups)), sort=False)
    return codes, list(keys)


def _check_n(n: int, kind: str, chart: str) -> None:
    need = MIN_POINTS[kind]
    if n < need:
        what = "points" if kind == "individuals" else "subgroups"
        raise ValueError(f"a {chart} chart needs at least {need} {what} to estimate its limits, got {n}")


# -- estimation ------------------------------------------------------------------------------
def _mr_sigma(x: np.ndarray, keep: np.ndarray) -> float:
    ok = keep[1:] & keep[:-1]
    mr = np.abs(np.diff(x))[ok]
    if mr.size == 0:
        raise ValueError("no two consecutive points left to form a moving range")
    return float(mr.mean() / d2(2))


def _subgroup_sigma(groups: list[np.ndarray], keep: np.ndarray, method: str) -> float:
    vals = []
    for g, k in zip(groups, keep, strict=True):
        if k and g.size >= 2:
            vals.append(np.ptp(g) / d2(g.size) if method == "R" else np.std(g, ddof=1) / c4(g.size))
    if not vals:
        raise ValueError("no subgroup with at least 2 values left to estimate sigma")
    return float(np.mean(vals))


def _variable_series(chart: str, stat: np.ndarray, groups, sizes: np.ndarray, center: float, sigma: float,
                     unit: str) -> tuple[ChartSeries, ChartSeries]:
    if chart == "imr":
        mr = np.r_[np.nan, np.abs(np.diff(stat))]
        one = np.ones_like(stat)
        prim = ChartSeries("X", stat, center * one, (center - 3 * sigma) * one, (center + 3 * sigma) * one, unit)
        sec = ChartSeries("MR", mr, d2(2) * sigma * one, max(0.0, d2(2) - 3 * d3(2)) * sigma * one,
                          (d2(2) + 3 * d3(2)) * sigma * one, unit)
        return prim, sec
    se = sigma / np.sqrt(sizes)
    one = np.ones_like(stat)
    prim = ChartSeries("X-bar", stat, center * one, center - 3 * se, center + 3 * se, unit)
    if chart == "xbar-r":
        disp = np.array([np.ptp(g) for g in groups])
        c2 = np.array([d2(n) for n in sizes])
        c3 = np.array([d3(n) for n in sizes])
        sec = ChartSeries("R", disp, c2 * sigma, np.maximum(0.0, c2 - 3 * c3) * sigma, (c2 + 3 * c3) * sigma, unit)
    else:
        disp = np.array([np.std(g, ddof=1) for g in groups])
        cc = np.array([c4(n) for n in sizes])
        w = 3 * np.sqrt(1 - cc * cc)
        sec = ChartSeries("S", disp, cc * sigma, np.maximum(0.0, cc - w) * sigma, (cc + w) * sigma, unit)
    return prim, sec


def _attribute_series(chart: str, counts: np.ndarray, sizes: np.ndarray, center: float,
                      n_const: int | None) -> tuple[ChartSeries, np.ndarray]:
    """Series and σ of the plotted statistic per point."""
    if chart == "p":
        stat = counts / sizes
        s = np.sqrt(center * (1 - center) / sizes)
        cl, lo, hi = center, np.maximum(0.0, center - 3 * s), np.minimum(1.0, center + 3 * s)
        name, unit = "p", "1"
    elif chart == "np":
        n = float(n_const)
        stat = counts.astype(float)
        s = np.full(stat.shape, math.sqrt(n * center * (1 - center)))
        cl, lo, hi = n * center, np.maximum(0.0, n * center - 3 * s), n * center + 3 * s
        name, unit = "np", "count"
    elif chart == "c":
        stat = counts.astype(float)
        s = np.full(stat.shape, math.sqrt(center))
        cl, lo, hi = center, np.maximum(0.0, center - 3 * s), center + 3 * s
        name, unit = "c", "count"
    else:  # u
        stat = counts / sizes
        s = np.sqrt(center / sizes)
        cl, lo, hi = center, np.maximum(0.0, center - 3 * s), center + 3 * s
        name, unit = "u", "1/unit"
    one = np.ones_like(stat)
    return ChartSeries(name, stat, cl * one, lo * one, hi * one, unit), s


def _beyond(series: ChartSeries | None) -> np.ndarray:
    if series is None:
        return np.zeros(0, bool)
    v = series.values
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & ((v > series.ucl) | (v < series.lcl))


# -- the chart -------------------------------------------------------------------------------
def control_chart(
    values,
    *,
    chart: str = "imr",
    subgroups=None,
    sizes=None,
    labels: list[str] | None = None,
    rules: str | tuple[str, ...] | None = "western-electric",
    limits: ChartLimits | None = None,
    drop: bool = True,
    lam: float = 0.2,
    L: float = 2.962,
    k: float = 0.5,
    h: float = 5.0,
    remedy: str = "none",
    ar_order: int = 1,
    batch_size: int | None = None,
    alpha: float = 0.05,
    column: str = "",
    unit: str = "",
) -> ControlChart:
    """Compute a control chart: Phase I (``limits=None``) or Phase II (``limits`` given).

    Parameters
    ----------
    values
        The measurements (variables charts) or the counts of nonconforming units /
        nonconformities (p, np, c, u).
    chart
        ``imr``, ``xbar-r``, ``xbar-s``, ``p``, ``np``, ``c``, ``u``, ``ewma`` or ``cusum``.
    subgroups
        X̄ charts (and EWMA/CUSUM of subgroup means): a subgroup size (consecutive
        blocks; an incomplete last block is left out) or one subgroup label per value.
    sizes
        p, np, u: the number inspected per point (a constant or one per value).
    labels
        Time or label per value, shown with the signals (default: the 1-based row).
    rules
        Run-rule set for the primary chart (``western-electric``, ``nelson``, ``none``) or
        a tuple of rule names.
    limits
        Phase II: the limits to monitor against.
    drop
        Phase I: drop the points beyond the limits and re-estimate until none is left.
    lam, L
        EWMA weight and limit width (σ of the EWMA statistic).
    k, h
        CUSUM reference value and decision interval (σ units).
    remedy
        For autocorrelated individuals: ``none``, ``residuals`` (chart the residuals of an
        AR(``ar_order``) fit) or ``batch-means`` (chart means of ``batch_size`` points).
    alpha
        Level of the lag-1 autocorrelation test.
    column, unit
        Name and unit of the data, for the output.

    Raises
    ------
    ValueError
        Too few points, a subgroup of size < 2 on an R/S chart, negative counts, counts
        above the number inspected, an unknown chart or remedy, limits of another chart.
    """
    chart = chart.lower()
    if chart not in CHART_TYPES:
        raise ValueError(f"unknown chart type {chart!r}; use one of {', '.join(CHART_TYPES)}")
    if remedy not in ("none", "residuals", "batch-means"):
        raise ValueError(f"unknown remedy {remedy!r}; use none, residuals or batch-means")
    if limits is not None and limits.chart != chart:
        raise ValueError(f"the limits are for a {limits.chart} chart, not {chart}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("no values to chart")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"value {int(np.flatnonzero(~np.isfinite(x))[0]) + 1} is not a finite number")
    labels = [str(i + 1) for i in range(x.size)] if labels is None else [str(v) for v in labels]
    rule_names = rule_set(rules) if isinstance(rules, str) or rules is None else tuple(rules)
    if chart in ("p", "np", "c", "u"):
        return _attribute_chart(chart, x, sizes, labels, rule_names, limits, drop, column)
    return _variables_chart(chart, x, subgroups, labels, rule_names, limits, drop, lam, L, k, h, remedy, ar_order,
                            batch_size, alpha, column, unit)


def _variables_chart(chart, x, subgroups, labels, rule_names, limits, drop, lam, L, k, h, remedy, ar_order,
                     batch_size, alpha, column, unit) -> ControlChart:
    notes: list[str] = []
    subgrouped = chart in ("xbar-r", "xbar-s") or subgroups is not None
    if chart in ("xbar-r", "xbar-s") and subgroups is None:
        raise ValueError(f"an {chart} chart needs subgroups: a subgroup size or a subgroup column")
    if subgrouped and remedy != "none":
        raise ValueError(f"remedy {remedy!r} applies to individuals (imr, ewma, cusum without subgroups)")
    if subgrouped:
        idx, keys = _group_index(x.size, subgroups)
        groups = [x[idx == g] for g in range(len(keys))]
        sizes = np.array([g.size for g in groups])
        if np.isscalar(subgroups):
            if x.size % int(subgroups):
                notes.append(f"the last {x.size % int(subgroups)} value(s) do not fill a subgroup of "
                             f"{int(subgroups)} and are left out")
            glabels = [labels[int(np.flatnonzero(idx == g)[0])] for g in range(len(keys))]
        else:
            glabels = [str(kk) for kk in keys]
        if chart in ("xbar-r", "xbar-s") and sizes.min() < 2:
            bad = int(np.argmin(sizes))
            raise ValueError(f"subgroup {glabels[bad]!r} has {sizes[bad]} value(s); an {chart} chart needs "
                             f"subgroups of at least 2 (use imr for individuals)")
        stat = np.array([g.mean() for g in groups])
    else:
        groups, sizes, glabels, stat = None, np.ones(x.size, int), labels, x
    base = "imr" if not subgrouped else ("xbar-s" if chart in ("ewma", "cusum") else chart)
    if limits is not None and limits.subgroup_size not in (None, 1) and chart != "imr" and \
            not np.all(sizes == limits.subgroup_size):
        notes.append(f"the limits were estimated with subgroups of {limits.subgroup_size}; this data has sizes "
                     f"{sorted(set(sizes.tolist()))} (limits follow each subgroup's size)")
    test = ac.lag1_test(stat, alpha) if stat.size > 2 else None
    # remedies for autocorrelated individuals
    ar = None if limits is None else limits.ar
    b = None if limits is None else limits.batch_size
    if remedy == "residuals" or ar is not None:
        if ar is None:
            ar = ac.fit_ar(stat, ar_order).tolist()
        p = len(ar) - 1
        if stat.size <= p + 2:
            raise ValueError(f"an AR({p}) residual chart needs more than {p + 2} points, got {stat.size}")
        stat = ac.ar_residuals(stat, np.asarray(ar))
        glabels = glabels[p:]
        remedy = "residuals"
        notes.append(f"charting the one-step residuals of an AR({p}) fit, x_t = {ar[0]:.6g}"
                     + "".join(f" {'+' if c >= 0 else '-'} {abs(c):.6g} x_(t-{j})" for j, c in enumerate(ar[1:], 1))
                     + " + e_t (conditional least squares)")
    elif remedy == "batch-means" or b is not None:
        b = int(b or batch_size or ac.choose_batch_size(stat))
        if stat.size // b < 2:
            raise ValueError(f"batch size {b} leaves fewer than 2 batches of {stat.size} points")
        glabels = [glabels[i * b] for i in range(stat.size // b)]
        stat = ac.batch_means(stat, b)
        remedy = "batch-means"
        notes.append(f"charting means of non-overlapping batches of {b} points (Runger & Willemain 1996)")
    if remedy != "none":
        after = ac.lag1_test(stat, alpha) if stat.size > 2 else None
        if after is not None:
            notes.append(f"lag-1 autocorrelation of the charted series: {after.r1:.3f}"
                         + (" (still significant)" if after.significant else ""))
    elif test is not None and test.significant:
        notes.append(f"WARNING: the data are autocorrelated (lag-1 r = {test.r1:.3f}, |r| > {test.threshold:.3f} = "
                     f"z(1-{alpha / 2:g})/sqrt(n)); the limits assume independent points and will give false "
                     "alarms; consider --remedy residuals or --remedy batch-means")
    dropped: list[dict[str, object]] = []
    keep = np.ones(stat.size, bool)
    if limits is None:
        _check_n(stat.size, "subgroups" if subgrouped else "individuals", chart)
        center = sigma = 0.0
        for it in range(1, 101):
            center = float(stat[keep].mean()) if not subgrouped else float(
                np.concatenate([g for g, kk in zip(groups, keep, strict=True) if kk]).mean())
            if base == "imr":
                sigma, method = _mr_sigma(stat, keep), "MR-bar/d2"
            else:
                m = "R" if base == "xbar-r" else "S"
                sigma, method = _subgroup_sigma(groups, keep, m), f"{m}-bar/{'d2' if m == 'R' else 'c4'}"
            if not drop or sigma == 0:
                break
            prim, sec = _variable_series(base, stat, groups, sizes, center, sigma, unit)
            out = keep & (_beyond(prim) | (_beyond(sec) if base != "imr" else False))
            if not out.any():
                break
            for i in np.flatnonzero(out):
                why = "beyond the X/X-bar limits" if _beyond(prim)[i] else f"beyond the {sec.name} limits"
                dropped.append({"iteration": it, "index": int(i), "label": glabels[i], "value": float(stat[i]),
                                "reason": why})
            keep &= ~out
            _check_n(int(keep.sum()), "subgroups" if subgrouped else "individuals",
                     f"{chart} (after dropping {int((~keep).sum())} out-of-control points)")
        if sigma == 0:
            raise ValueError("the data have no variation (sigma estimate 0): all values equal?")
        n_const = int(sizes[0]) if subgrouped and np.all(sizes == sizes[0]) else None
        limits = ChartLimits(chart=chart, center=center, sigma=sigma, sigma_method=method,
                             subgroup_size=n_const if subgrouped else None, column=column or None,
                             n_points=int(keep.sum()),
                             lam=lam if chart == "ewma" else None, L=L if chart == "ewma" else None,
                             k=k if chart == "cusum" else None, h=h if chart == "cusum" else None,
                             ar=ar, batch_size=b)
        phase = 1
        if 0 < keep.sum() < 20:
            notes.append(f"limits from {int(keep.sum())} {'subgroups' if subgrouped else 'points'}; "
                         "Montgomery recommends at least 20-25 for Phase I")
    else:
        phase = 2
    center, sigma = limits.center, float(limits.sigma)
    if chart in ("imr", "xbar-r", "xbar-s"):
        prim, sec = _variable_series(chart, stat, groups, sizes, center, sigma, unit)
        se = sigma / np.sqrt(sizes) if chart != "imr" else np.full(stat.size, sigma)
        z = (stat - center) / se
        signals = apply_rules(z, rule_names, values=stat, labels=glabels, chart=prim.name)
        if sec is not None:
            for i in np.flatnonzero(_beyond(sec)):
                signals.append(Signal("limit", int(i), float(sec.values[i]), sec.name, glabels[i]))
    else:
        se = sigma / np.sqrt(sizes) if subgrouped else np.full(stat.size, sigma)
        prim, sec, signals = _ewma_cusum_series(chart, stat, se, center, limits, glabels, unit)
    signals.sort(key=lambda s: (s.index, s.chart != prim.name))
    return ControlChart(chart, phase, glabels, prim, sec, signals, limits,
                        rule_names if chart not in ("ewma", "cusum") else (), sizes if subgrouped else
                        np.ones(stat.size, int), dropped, test, remedy, notes, column, unit)


def _ewma_cusum_series(chart, stat, se, center, limits: ChartLimits, glabels, unit):
    n = stat.size
    if chart == "ewma":
        lam = float(limits.lam if limits.lam is not None else 0.2)
        L = float(limits.L if limits.L is not None else 2.962)
        z = np.array(ewma_recursion(stat.tolist(), lam, center))
        t = np.arange(1, n + 1)
        sz = se * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))
        prim = ChartSeries("EWMA", z, np.full(n, center), center - L * sz, center + L * sz, unit)
        out = np.flatnonzero(_beyond(prim))
        return prim, None, [Signal("ewma", int(i), float(z[i]), "EWMA", glabels[i]) for i in out]
    k = float(limits.k if limits.k is not None else 0.5)
    h = float(limits.h if limits.h is not None else 5.0)
    s = (stat - center) / se
    cp = np.array(cusum_recursion((s - k).tolist())) * se
    cm = np.array(cusum_recursion((-s - k).tolist())) * se
    zero = np.zeros(n)
    prim = ChartSeries("C+", cp, zero, np.full(n, np.nan), h * se, unit)
    sec = ChartSeries("C-", cm, zero, np.full(n, np.nan), h * se, unit)
    sig = [Signal("cusum+", int(i), float(cp[i]), "C+", glabels[i]) for i in np.flatnonzero(cp > h * se)]
    sig += [Signal("cusum-", int(i), float(cm[i]), "C-", glabels[i]) for i in np.flatnonzero(cm > h * se)]
    return prim, sec, sig


def _attribute_chart(chart, counts, sizes, labels, rule_names, limits, drop, column) -> ControlChart:
    if np.any(counts < 0):
        i = int(np.flatnonzero(counts < 0)[0])
        raise ValueError(f"count {counts[i]:g} at point {labels[i]} is negative; a {chart} chart needs counts >= 0")
    if np.any(counts != np.floor(counts)) and chart in ("p", "np", "c"):
        i = int(np.flatnonzero(counts != np.floor(counts))[0])
        raise ValueError(f"count {counts[i]:g} at point {labels[i]} is not a whole number")
    n = counts.size
    if chart == "c":
        sz = np.ones(n)
    else:
        if sizes is None:
            raise ValueError(f"a {chart} chart needs the number inspected per point (a subgroup size or column)")
        sz = np.broadcast_to(np.asarray(sizes, dtype=float), (n,)).astype(float)
        if np.any(~np.isfinite(sz)) or np.any(sz <= 0):
            i = int(np.flatnonzero(~(np.isfinite(sz) & (sz > 0)))[0])
            raise ValueError(f"number inspected {sz[i]:g} at point {labels[i]} must be > 0")
        if chart in ("p", "np") and np.any(counts > sz):
            i = int(np.flatnonzero(counts > sz)[0])
            raise ValueError(f"count {counts[i]:g} at point {labels[i]} exceeds the number inspected {sz[i]:g}")
        if chart == "np" and not np.all(sz == sz[0]):
            raise ValueError("an np chart needs a constant number inspected; use a p chart for varying sizes")
    n_const = int(sz[0]) if np.all(sz == sz[0]) and chart != "c" else None
    dropped: list[dict[str, object]] = []
    notes: list[str] = []
    if limits is None:
        _check_n(n, "subgroups", chart)
        keep = np.ones(n, bool)
        for it in range(1, 101):
            center = float(counts[keep].sum() / sz[keep].sum())
            if center <= 0 or (chart in ("p", "np") and center >= 1):
                raise ValueError(f"the estimated centre {center:g} leaves no room for limits "
                                 f"(all counts {'zero' if center <= 0 else 'equal to the number inspected'})")
            if not drop:
                break
            series, _ = _attribute_series(chart, counts, sz, center, n_const)
            out = keep & _beyond(series)
            if not out.any():
                break
            for i in np.flatnonzero(out):
                dropped.append({"iteration": it, "index": int(i), "label": labels[i],
                                "value": float(series.values[i]), "reason": f"beyond the {chart} limits"})
            keep &= ~out
            _check_n(int(keep.sum()), "subgroups", f"{chart} (after dropping {int((~keep).sum())} points)")
        limits = ChartLimits(chart=chart, center=center, sigma_method="binomial" if chart in ("p", "np") else
                             "Poisson", subgroup_size=n_const, column=column or None, n_points=int(keep.sum()))
        phase = 1
    else:
        phase = 2
        if chart == "np" and limits.subgroup_size != n_const:
            raise ValueError(f"the np limits are for n = {limits.subgroup_size}; this data has n = {n_const}")
    series, s = _attribute_series(chart, counts, sz, limits.center, limits.subgroup_size or n_const)
    z = (series.values - series.center) / s
    signals = apply_rules(z, rule_names, values=series.values, labels=labels, chart=series.name,
                          lcl_z=(series.lcl - series.center) / s, ucl_z=(series.ucl - series.center) / s)
    return ControlChart(chart, phase, labels, series, None, signals, limits, rule_names, sz, dropped, None, "none",
                        notes, column, series.unit)
