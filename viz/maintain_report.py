"""Self-contained HTML report of a maintenance forecast (``twin maintain --report``).

Draws what :func:`twin.maintenance_forecast` computed (nothing is re-estimated here): the
moving-window parameter path with its per-window intervals, the fitted drift with its
confidence band extended to the forecast, the limit and the crossing-time interval; the
cleaning cost rate over the cleaning interval with the optimum and its interval; the windows
skipped and left out as tables.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from viz._format import fmt_time, workbench_version
from viz._html import Section, note_html, render_report, table_html

__all__ = ["write_maintenance_report", "path_figure", "cost_figure", "fmt_duration", "duration_unit"]


def duration_unit(seconds: float) -> tuple[str, float]:
    """The readable unit for a span: ``("min", 60)``, ``("h", 3600)`` or ``("d", 86400)``."""
    s = abs(float(seconds)) if math.isfinite(seconds) else 0.0
    if s >= 2 * 86400:
        return "d", 86400.0
    if s >= 2 * 3600:
        return "h", 3600.0
    return "min", 60.0


def fmt_duration(seconds: float, unit: tuple[str, float] | None = None) -> str:
    """``"6.2 d"``, ``"5.3 h"``, ``"42 min"`` (``"∞"`` when unbounded, ``"–"`` when unknown)."""
    if seconds is None or math.isnan(seconds):
        return "–"
    if math.isinf(seconds):
        return "∞" if seconds > 0 else "−∞"
    name, scale = unit or duration_unit(seconds)
    return f"{seconds / scale:.3g} {name}"


def _axis_times(fc, t: np.ndarray):
    """Datetimes when the data carry wall-clock times, else hours since the first sample."""
    if fc.path.time_kind == "datetime":
        return [_dt.datetime.fromtimestamp(fc.path.t0 + float(x), _dt.UTC) for x in t], "time (UTC)"
    return t / 3600.0, "time since the first sample [h]"


def path_figure(fc, unit: str = "") -> go.Figure:
    """The parameter path, the drift band to the forecast, the limit and the crossing interval."""
    p = fc.path
    u = f" [{unit}]" if unit else ""
    c = fc.crossing
    t_hi = max(p.t_end, c.high if c.bounded else p.t_end, c.time if c.bounded else p.t_end)
    t_hi = min(t_hi * 1.1, max(p.t_end * 20, c.time * 1.2 if c.bounded and math.isfinite(c.time) else 0))
    grid = np.linspace(0.0, t_hi, 300)
    band = fc.band(grid)
    xg, xtitle = _axis_times(fc, grid)
    xp, _ = _axis_times(fc, p.time)
    from scipy.stats import norm

    q = float(norm.ppf(0.5 + p.confidence / 2))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(xg) + list(xg)[::-1], y=list(band["high"]) + list(band["low"])[::-1],
                             fill="toself", fillcolor="rgba(31,119,180,0.15)", line={"width": 0},
                             name=f"drift, {p.confidence:.0%} band ({fc.scale})", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=xg, y=band["mean"], mode="lines", name="fitted drift", line={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=xp, y=p.estimate, mode="markers", name=f"window estimate ± {q:.2f} SE",
                             marker={"color": "#000", "size": 6},
                             error_y={"type": "data", "array": q * p.std_error, "visible": True}))
    fig.add_hline(y=fc.limit, line={"color": "#d62728", "dash": "dash"}, annotation_text=f"limit {fc.limit:g}{u}")
    if c.bounded:
        lo, hi = _axis_times(fc, np.array([max(c.low, 0.0), c.high]))[0]
        fig.add_vrect(x0=lo, x1=hi, fillcolor="rgba(214,39,40,0.10)", line_width=0,
                      annotation_text="crossing interval", annotation_position="top left")
    fig.update_layout(title=f"{p.parameter}: moving-window path, drift and limit", xaxis_title=xtitle,
                      yaxis_title=f"{p.parameter}{u}", height=460)
    return fig


def cost_figure(fc, currency: str = "cost") -> go.Figure:
    """Long-run cost rate over the cleaning interval, with the optimum and its interval."""
    plan = fc.plan
    name, scale = duration_unit(plan.interval)
    fig = go.Figure(go.Scatter(x=plan.tau / scale, y=plan.cost_curve * 3600.0, mode="lines", name="cost rate",
                               line={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=[plan.interval / scale], y=[plan.cost_rate * 3600.0], mode="markers",
                             marker={"color": "#d62728", "size": 9},
                             name="limit-capped interval" if plan.limited else "optimum"))
    if math.isfinite(plan.low):
        fig.add_vrect(x0=plan.low / scale, x1=min(plan.high, plan.tau[-1]) / scale, fillcolor="rgba(214,39,40,0.10)",
                      line_width=0, annotation_text="interval from the slope", annotation_position="top left")
    if plan.limited and fc.economic_interval is not None:
        fig.add_vline(x=plan.interval / scale, line={"color": "#d62728", "dash": "dash"},
                      annotation_text="limit reached (cap)", annotation_position="bottom right")
        fig.add_vline(x=fc.economic_interval / scale, line={"color": "#7f7f7f", "dash": "dot"},
                      annotation_text="economic optimum without the limit", annotation_position="top left")
    fig.update_layout(title="cost rate of cleaning every τ (renewal reward)", xaxis_title=f"cleaning interval τ [{name}]",
                      yaxis_title=f"long-run cost rate [{currency}/h]", height=400)
    return fig


def write_maintenance_report(path: str | Path, fc, *, unit: str = "", source: str = "", currency: str = "cost",
                             inputs=None) -> Path:
    """Write the HTML report of a :class:`twin.MaintenanceForecast` and return its path."""
    p = fc.path
    u = f" {unit}" if unit else ""
    r = fc.reaches_in
    verdict = (f"{p.parameter} reaches {fc.limit:g}{u} in {fmt_duration(r[0])} "
               f"[{fmt_duration(r[1], duration_unit(r[0]))}, {fmt_duration(r[2], duration_unit(r[0]))}]"
               if r else f"{p.parameter} reaching {fc.limit:g}{u}: not determined ({fc.crossing.describe()})")
    facts = [{"item": "forecast", "value": verdict},
             {"item": "current value (fitted)", "value": f"{fc.current:.4g}{u}"},
             {"item": "drift model", "value": {"linear": "linear in the parameter", "exponential": "linear in its log",
                                               "reciprocal": "linear in its reciprocal (fouling resistance)"}[fc.scale]},
             {"item": "windows", "value": f"{p.estimate.size} used, {len(p.skipped)} skipped, window "
                                          f"{fmt_duration(float(p.end[0] - p.start[0]))}" if p.estimate.size else "none"},
             {"item": "fit", "value": "unweighted least squares on the window estimates; the band comes from their "
                                      "scatter around the drift"}]
    if p.time_kind == "datetime":
        facts.append({"item": "end of data", "value": fmt_time(p.t0 + p.t_end)})
    sections: list = [Section("summary", table_html(facts), "The forecast and what it rests on."),
                      Section("parameter path and forecast", path_figure(fc, unit),
                              "Each window's calibrated estimate, the fitted drift with its band, the limit and "
                              "when the band reaches it.")]
    if fc.plan is not None:
        plan = fc.plan
        un = duration_unit(plan.interval)
        rows = [{"item": "clean every", "value": f"{fmt_duration(plan.interval, un)} [{fmt_duration(plan.low, un)}, "
                                                 f"{fmt_duration(plan.high, un)}]"},
                {"item": "cost rate at the optimum", "value": f"{plan.cost_rate * 3600:.4g} {currency}/h"},
                {"item": "capped at the limit crossing", "value": "yes" if plan.limited else "no"},
                {"item": "cleaning cost, downtime", "value": f"{fc.costs['cleaning_cost']:g} {currency}, "
                                                             f"{fmt_duration(fc.costs['downtime'])}"}]
        sections += [Section("cleaning interval", table_html(rows),
                             "τ* = −d + √(d² + 2C/(k b)) (renewal reward, Ross 1996 Thm 3.6.1)."),
                     Section("cost curve", cost_figure(fc, currency),
                             "The limit is reached before cleaning pays for itself: clean when the limit is "
                             "reached (the interval is capped there)." if plan.limited else
                             "Flat near the optimum: a cleaning date within the interval costs little more.")]
    if fc.plan_note:
        sections.append(Section("note on the cleaning interval", note_html(fc.plan_note)))
    win = [{"from": fmt_duration(a), "to": fmt_duration(b), f"estimate{u}": f"{e:.5g}", "std error": f"{s:.2g}",
            "interval": i} for a, b, e, s, i in zip(p.start, p.end, p.estimate, p.std_error, p.interval, strict=True)]
    sections.append(Section("window estimates", table_html(win), "Times after the first sample."))
    if p.skipped:
        sections.append(Section(f"windows skipped ({len(p.skipped)})", table_html(
            [{"from": fmt_duration(s["start"]), "to": fmt_duration(s["end"]), "why": s["reason"]} for s in p.skipped])))
    if p.excluded:
        sections.append(Section("left out (flagged windows, known events)", table_html(
            [{"tag": w.tag or "all", "from": fmt_duration(w.start), "to": fmt_duration(w.end), "why": w.reason}
             for w in p.excluded])))
    prov = {"what": f"maintenance forecast of {p.parameter}", "input": source,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "workbench_version": workbench_version()}
    return render_report(f"Maintenance forecast: {p.parameter}", sections, path,
                         subtitle=f"{source} · {verdict}", attrs=prov, inputs=inputs)
