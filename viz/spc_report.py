"""Self-contained HTML reports of a control chart and of a capability study (``twin spc chart|capability --report``).

Draws what :mod:`spc` computed (nothing is re-estimated here): the chart(s) with the
centre line, the control limits and every signal marked with the rule that fired,
the points Phase I dropped, the limits and the signal list as tables; for capability
the histogram with the spec limits, the target and the fitted normal densities (σ
within and σ overall), the indices with their intervals and the ppm out of spec.
The page header says what was analysed, from which file, when, and with which
workbench version.
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from viz._html import render_report, table_html

__all__ = ["write_chart_report", "write_capability_report", "chart_figure", "capability_figure"]

_RULE_COLORS = {"WE1": "#d62728", "N1": "#d62728", "limit": "#d62728", "WE2": "#ff7f0e", "N5": "#ff7f0e",
                "WE3": "#9467bd", "N6": "#9467bd", "WE4": "#8c564b", "N2": "#8c564b", "N3": "#e377c2",
                "N4": "#7f7f7f", "N7": "#bcbd22", "N8": "#17becf", "ewma": "#d62728", "cusum+": "#d62728",
                "cusum-": "#1f77b4"}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("twin-workbench")
    except Exception:  # pragma: no cover - not installed
        return "0+unknown"


def _provenance(source: str, column: str, what: str) -> dict[str, str]:
    return {"what": what, "input": source, "column": column,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "workbench_version": _version()}


def _unit(u: str) -> str:
    return f" [{u}]" if u else ""


def _series_trace(fig: go.Figure, s, x, row_name: str, yaxis: str, dropped: set[int]) -> None:
    fig.add_trace(go.Scatter(x=x, y=s.values, mode="lines+markers", name=s.name, yaxis=yaxis,
                             line={"color": "#1f77b4", "width": 1.2}, marker={"size": 5}))
    for arr, name, dash in ((s.center, "centre", "solid"), (s.ucl, "UCL", "dash"), (s.lcl, "LCL", "dash")):
        if np.isfinite(arr).any():
            fig.add_trace(go.Scatter(x=x, y=arr, mode="lines", name=f"{row_name} {name}", yaxis=yaxis,
                                     line={"color": "#2ca02c" if name == "centre" else "#d62728", "dash": dash,
                                           "width": 1, "shape": "hv"}, hoverinfo="y+name"))
    if dropped:
        idx = sorted(i for i in dropped if i < len(x))
        fig.add_trace(go.Scatter(x=[x[i] for i in idx], y=s.values[idx], mode="markers", yaxis=yaxis,
                                 name=f"{row_name}: dropped in Phase I",
                                 marker={"symbol": "x", "size": 11, "color": "black"}))


def chart_figure(chart) -> go.Figure:
    """The chart pair (primary above, dispersion / C⁻ below) with limits and signals marked by rule."""
    x = list(chart.labels)
    two = chart.secondary is not None
    fig = go.Figure()
    dropped = {int(d["index"]) for d in chart.dropped}
    _series_trace(fig, chart.primary, x, chart.primary.name, "y", dropped)
    if two:
        _series_trace(fig, chart.secondary, x, chart.secondary.name, "y2", dropped if chart.chart != "imr" else set())
    by_rule: dict[tuple[str, str], list] = {}
    for s in chart.signals:
        by_rule.setdefault((s.rule, s.chart), []).append(s)
    for (rule, name), sigs in by_rule.items():
        on_secondary = two and name == chart.secondary.name
        fig.add_trace(go.Scatter(
            x=[x[s.index] for s in sigs], y=[s.value for s in sigs], mode="markers+text",
            text=[rule] * len(sigs), textposition="top center", yaxis="y2" if on_secondary else "y",
            name=f"{rule} on {name}", marker={"size": 12, "color": _RULE_COLORS.get(rule, "#d62728"),
                                              "symbol": "circle-open", "line": {"width": 2}}))
    layout = {"title": f"{chart.chart} chart of {chart.column}, Phase {chart.phase}",
              "xaxis": {"title": "time / label", "type": "category" if not _numeric(x) else "linear"},
              "yaxis": {"title": chart.primary.name + _unit(chart.primary.unit),
                        "domain": [0.42, 1.0] if two else [0, 1]},
              "height": 620 if two else 420, "legend": {"orientation": "h", "y": -0.15}}
    if two:
        layout["yaxis2"] = {"title": chart.secondary.name + _unit(chart.secondary.unit), "domain": [0, 0.34],
                            "anchor": "x"}
    fig.update_layout(**layout)
    return fig


def _numeric(x: list[str]) -> bool:
    try:
        [float(v) for v in x]
    except ValueError:
        return False
    return True


def _limits_rows(chart) -> list[dict[str, str]]:
    rows = []
    for s in (chart.primary, chart.secondary):
        if s is None:
            continue
        u = f" {s.unit}" if s.unit and s.unit != "1" else ""

        def fmt(a, u=u):
            a = np.asarray(a, float)
            if not np.isfinite(a).any():
                return "–"
            lo, hi = np.nanmin(a), np.nanmax(a)
            return f"{lo:.6g}{u}" if np.isclose(lo, hi) else f"{lo:.6g} … {hi:.6g}{u}"

        rows.append({"chart": s.name, "LCL": fmt(s.lcl), "centre line": fmt(s.center), "UCL": fmt(s.ucl)})
    return rows


def write_chart_report(path: str | Path, chart, *, source: str = "", title: str | None = None) -> Path:
    """Write the HTML report of a :class:`spc.ControlChart` and return its path."""
    lim = chart.limits
    u = f" {chart.unit}" if chart.unit else ""
    facts = [{"item": "chart", "value": f"{chart.chart} (Phase {chart.phase}: "
                                       f"{'limits estimated from these data' if chart.phase == 1 else 'given limits'})"},
             {"item": "points plotted", "value": str(len(chart.labels))},
             {"item": "process centre", "value": f"{lim.center:.6g}{u if lim.sigma is not None else ''}"}]
    if lim.sigma is not None:
        facts.append({"item": "process σ", "value": f"{lim.sigma:.6g}{u} ({lim.sigma_method})"})
    if chart.rules:
        facts.append({"item": "run rules", "value": ", ".join(chart.rules)})
    if chart.autocorrelation is not None:
        a = chart.autocorrelation
        facts.append({"item": "lag-1 autocorrelation", "value": f"{a.r1:.3f} (band ±{a.threshold:.3f}, α = {a.alpha:g}: "
                                                                 f"{'significant' if a.significant else 'not significant'})"})
    facts.append({"item": "remedy", "value": chart.remedy})
    sections: list[tuple[str, object]] = [("summary", table_html(facts)), ("chart", chart_figure(chart)),
                                          ("limits", table_html(_limits_rows(chart)))]
    if chart.signals:
        sections.append((f"signals ({len(chart.signals)})", table_html(
            [{"rule": s.rule, "description": s.as_dict()["description"], "chart": s.chart, "time / label": s.label,
              "value": f"{s.value:.6g}{u if s.chart not in ('p', 'np', 'c', 'u') else ''}"} for s in chart.signals])))
    else:
        sections.append(("signals", "<p>none: in statistical control under the chosen rules</p>"))
    if chart.dropped:
        sections.append(("Phase I: dropped as assignable causes", table_html(
            [{"iteration": d["iteration"], "time / label": d["label"], "value": f"{d['value']:.6g}", "reason": d["reason"]}
             for d in chart.dropped])))
    if chart.notes:
        sections.append(("notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in chart.notes) + "</ul>"))
    title = title or f"Control chart: {chart.column} ({chart.chart})"
    prov = _provenance(source, chart.column, f"{chart.chart} control chart, Phase {chart.phase}")
    return render_report(title, sections, path, subtitle=f"{source} · column {chart.column} · {prov['created']} · "
                                                          f"twin workbench {prov['workbench_version']}", attrs=prov)


def capability_figure(cap) -> go.Figure:
    """Histogram of the data (transformed with Box-Cox) with spec limits, target and fitted normal densities."""
    from scipy.stats import norm

    x = np.asarray(cap.data, float)
    lsl, usl, tgt = cap.scale_specs
    fig = go.Figure(go.Histogram(x=x, histnorm="probability density", name="data", marker_color="#9ecae1",
                                 nbinsx=max(10, min(60, int(np.sqrt(x.size)) * 2))))
    ends = [v for v in (lsl, usl, x.min(), x.max()) if v is not None]
    pad = 0.1 * (max(ends) - min(ends))
    grid = np.linspace(min(ends) - pad, max(ends) + pad, 400)
    if cap.method == "clements":  # the fitted Pearson curve (its CDF differentiated)
        from scipy.stats import kurtosis, skew

        from spc import pearson_cdf

        z, F = pearson_cdf(float(skew(x, bias=False)), float(kurtosis(x, fisher=False, bias=False)))
        dens = np.gradient(F, z) / cap.sigma_overall
        fig.add_trace(go.Scatter(x=cap.mean + cap.sigma_overall * z, y=dens, mode="lines", name="Pearson curve",
                                 line={"color": "#08519c"}))
    else:
        for sig, name, dash in ((cap.sigma_within, "normal, σ within", "solid"),
                                (cap.sigma_overall, "normal, σ overall", "dash")):
            fig.add_trace(go.Scatter(x=grid, y=norm.pdf(grid, cap.mean, sig), mode="lines", name=name,
                                     line={"dash": dash, "color": "#08519c"}))
    for v, name, color in ((lsl, "LSL", "#d62728"), (usl, "USL", "#d62728"), (tgt, "target", "#2ca02c")):
        if v is not None:
            fig.add_vline(x=v, line={"color": color, "dash": "dot" if name == "target" else "solid"},
                          annotation_text=name, annotation_position="top")
    scale = f" (Box-Cox scale, λ = {cap.boxcox_lambda:.3g})" if cap.boxcox_lambda is not None else ""
    fig.update_layout(title=f"{cap.column}: histogram, spec limits, fitted densities{scale}",
                      xaxis_title=cap.column + _unit(cap.unit if cap.boxcox_lambda is None else ""),
                      yaxis_title=f"density [1/{cap.unit}]" if cap.unit and cap.boxcox_lambda is None else "density",
                      bargap=0.02, height=440)
    return fig


def write_capability_report(path: str | Path, cap, *, source: str = "", title: str | None = None) -> Path:
    """Write the HTML report of a :class:`spc.Capability` and return its path."""
    u = f" {cap.unit}" if cap.unit else ""
    facts = [{"item": "values", "value": str(cap.n)},
             {"item": "mean", "value": f"{cap.mean:.6g}{u if cap.boxcox_lambda is None else ' (Box-Cox scale)'}"},
             {"item": "σ within (Cp, Cpk)", "value": f"{cap.sigma_within:.4g} ({cap.sigma_method})"},
             {"item": "σ overall (Pp, Ppk, Cpm)", "value": f"{cap.sigma_overall:.4g} (sample standard deviation)"},
             {"item": "spec limits", "value": ", ".join(f"{k} {v:g}{u}" for k, v in
                                                         (("LSL", cap.lsl), ("USL", cap.usl), ("target", cap.target))
                                                         if v is not None)},
             {"item": "method", "value": cap.method + (f", λ = {cap.boxcox_lambda:.4g}" if cap.boxcox_lambda else "")}]
    if cap.normality_p is not None:
        facts.append({"item": "Shapiro-Wilk p (normality)", "value": f"{cap.normality_p:.3g}"})
    ind = [{"index": r["index"], "estimate": f"{r['estimate']:.4g}",
            f"{cap.confidence:.0%} interval": f"[{r['lower']:.4g}, {r['upper']:.4g}]",
            "interval method": ("none (percentile method)" if cap.method == "clements" else
                                "chi-square" if r["index"] in ("Cp", "Pp") else
                                "Boyles 1991" if r["index"] == "Cpm" else "Bissell 1990")} for r in cap.rows()]
    ppm = [{"": k.replace("_", " "), "below LSL [ppm]": f"{v['below_lsl']:.4g}", "above USL [ppm]": f"{v['above_usl']:.4g}",
            "total [ppm]": f"{v['total']:.4g}"} for k, v in cap.ppm.items()]
    sections: list[tuple[str, object]] = [("summary", table_html(facts)), ("histogram", capability_figure(cap)),
                                          ("indices", table_html(ind)), ("out of spec", table_html(ppm))]
    if cap.notes:
        sections.append(("notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in cap.notes) + "</ul>"))
    prov = _provenance(source, cap.column, "process capability")
    return render_report(title or f"Process capability: {cap.column}", sections, path,
                         subtitle=f"{source} · column {cap.column} · {prov['created']} · twin workbench "
                                  f"{prov['workbench_version']}", attrs=prov)
