"""Tables of the dashboard pages: scenario Δ with significance, a campaign's best recipes.

Every function takes result datasets and returns rows (``list[dict[str, str]]``, column
name → formatted cell, units in the column names) that the pages render as HTML tables
and export as CSV. Numbers are formatted to 4 significant digits; a dimensionless
quantity (unit ``"1"``) is written with ``[–]``, never ``[1]``.

Scenario differences
    The replications of two line results that were run with the same replication seeds
    (``replication_seed``, as :func:`simulation.line.simulate` writes them) share their
    random numbers: the difference of each KPI is the mean paired difference with the
    paired-t interval and test, computed by :func:`simulation.line.compare` (common random
    numbers, Law 2015, *Simulation Modeling and Analysis*, 5th ed., §10.2.1 and §11.2).
    Without matching seeds the replications are independent samples: Welch's t interval
    and test, with the Welch–Satterthwaite degrees of freedom (Welch 1947, *Biometrika*
    34:28; ``scipy.stats.ttest_ind(..., equal_var=False)``).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["fmt", "unit_label", "scenario_delta_rows", "recipe_rows", "kpi_names"]


def fmt(value, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (``–`` for NaN/None)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def unit_label(name: str, unit: str | None) -> str:
    """``name [unit]``; dimensionless (``"1"``, empty) as ``name [–]``."""
    unit = (unit or "").strip()
    return f"{name} [{'–' if unit in ('', '1') else unit}]"


def kpi_names(results: dict[str, xr.Dataset], *, station_kpis: bool = False) -> list[str]:
    """KPIs every result has, in the order of the first (line KPIs only unless ``station_kpis``)."""
    common: list[str] | None = None
    for ds in results.values():
        ks = [str(k) for k in ds["kpi"].values]
        common = ks if common is None else [k for k in common if k in ks]
    return [k for k in common or [] if station_kpis or "[" not in k]


def _kpi_unit(ds: xr.Dataset, kpi: str) -> str:
    return str(ds["kpi_units"].sel(kpi=kpi).values) if "kpi_units" in ds.coords else ""


def _same_seeds(a: xr.Dataset, b: xr.Dataset) -> bool:
    if "replication_seed" not in a or "replication_seed" not in b:
        return False
    sa, sb = a["replication_seed"].values, b["replication_seed"].values
    return len(sa) == len(sb) and bool(np.array_equal(sa, sb))


def _welch(base: np.ndarray, other: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Δ = mean(other) − mean(base), its Welch CI and two-sided p (see module docstring)."""
    from scipy import stats

    a, b = base[np.isfinite(base)], other[np.isfinite(other)]
    if a.size < 2 or b.size < 2:
        d = float(b.mean() - a.mean()) if a.size and b.size else math.nan
        return d, math.nan, math.nan, math.nan
    d = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d, d, (1.0 if d == 0 else 0.0)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    hw = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p = float(stats.ttest_ind(b, a, equal_var=False).pvalue)
    return d, d - hw, d + hw, p


def scenario_delta_rows(results: dict[str, xr.Dataset], *, base: str | None = None,
                        kpis: list[str] | None = None, confidence: float | None = None) -> tuple[list[dict], str]:
    """Each variant against the base, per KPI: base mean, variant mean, Δ, CI of Δ, p, significance.

    Parameters
    ----------
    results
        Variant name → line result (``value(replication, kpi)``, ``kpi_units``).
    base
        Name of the base (default: the first).
    kpis
        KPIs (default: the line KPIs every result has).
    confidence
        Level of the intervals (default: the base's ``confidence`` attr, else 0.95).

    Returns
    -------
    (rows, method)
        Table rows, and a sentence naming the test used for each variant.
    """
    names = list(results)
    base = base or names[0]
    b = results[base]
    conf = float(confidence if confidence is not None else b.attrs.get("confidence", 0.95))
    kpis = kpis or kpi_names(results)
    rows: list[dict] = []
    methods: list[str] = []
    for name in names:
        if name == base:
            continue
        v = results[name]
        paired = _same_seeds(b, v)
        if paired:
            from simulation.line import compare

            cmp = compare(b, {name: v}, confidence=conf, kpis=kpis).sel(variant=name)
            methods.append(f"{name}: paired t on {int(cmp['pairs'].max())} replication pairs with common "
                           "random numbers (same replication seeds)")
        else:
            methods.append(f"{name}: Welch t (independent replications, seeds differ)")
        for k in kpis:
            unit = _kpi_unit(b, k) or _kpi_unit(v, k)
            if paired:
                r = cmp.sel(kpi=k)
                bm, vm, d = float(r["base_mean"]), float(r["variant_mean"]), float(r["delta"])
                lo, hi = (float(x) for x in r["delta_ci"].values)
                p = float(r["p_value"])
            else:
                xb = b["value"].sel(kpi=k).values.astype(float)
                xv = v["value"].sel(kpi=k).values.astype(float)
                bm, vm = float(np.nanmean(xb)), float(np.nanmean(xv))
                d, lo, hi, p = _welch(xb, xv, conf)
            sig = math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)
            u = "–" if unit in ("", "1") else unit
            rows.append({"variant": name, "KPI": k, "unit": u, "base": fmt(bm), "scenario": fmt(vm), "Δ": fmt(d),
                         f"{conf:.0%} CI of Δ": f"{fmt(lo)} … {fmt(hi)}", "p": fmt(p, 2),
                         "test": "paired t" if paired else "Welch t",
                         "significant": "yes" if sig else "no"})
    return rows, "; ".join(methods)


def recipe_rows(ds: xr.Dataset, *, top: int = 5) -> list[dict]:
    """The best feasible trials of a campaign with their objective values and parameters (units in headers).

    Single objective: the ``top`` best feasible trials in the campaign's direction.
    Several objectives: the Pareto-optimal feasible trials (``pareto(trial)`` when recorded),
    sorted by the first objective.
    """
    from viz._figures_results import _directions, _objective_vars, _objectives, _params

    obj, names = _objectives(ds)
    dirs = _directions(ds, obj.shape[1])
    ok = np.isfinite(obj).all(axis=1)
    if "feasible" in ds:
        ok &= ds["feasible"].values.astype(bool)
    sign = np.array([-1.0 if d.startswith("max") else 1.0 for d in dirs])
    if obj.shape[1] > 1:
        if "pareto" in ds:
            front = ds["pareto"].values.astype(bool) & ok
        else:
            m = obj * sign
            front = np.zeros(obj.shape[0], bool)
            for i in np.flatnonzero(ok):
                dominated = ok & (m <= m[i]).all(axis=1) & (m < m[i]).any(axis=1)
                front[i] = not dominated.any()
        idx = np.flatnonzero(front)
    else:
        idx = np.flatnonzero(ok)
    idx = idx[np.argsort(sign[0] * obj[idx, 0], kind="stable")][: top if obj.shape[1] == 1 else None]
    ovars = _objective_vars(ds)
    units = [ds[ovars[0 if len(ovars) == 1 else j]].attrs.get("units", "") for j in range(obj.shape[1])]
    params = _params(ds)
    punits = {p: (ds[f"param_{p}"].attrs.get("units", "") if f"param_{p}" in ds else "") for p in params}
    trials = ds["trial"].values
    rows = []
    for rank, i in enumerate(idx, start=1):
        row = {"rank": str(rank), "trial": str(int(trials[i]))}
        for j, n in enumerate(names):
            goal = "maximise" if dirs[j].startswith("max") else "minimise"
            row[unit_label(f"{n} ({goal})", units[j])] = fmt(obj[i, j])
        for p, vals in params.items():
            row[unit_label(p, punits[p])] = fmt(vals[i])
        rows.append(row)
    return rows
