"""Figures of result datasets: line scenarios, optimisation campaigns, reliability.

Dataset layouts read here (the producers' conventions):

* line results (``simulation.line.simulate``): ``value(replication, kpi)``,
  ``mean(kpi)``, ``ci(kpi, bound)``, ``kpi_units(kpi)``, ``wip_series(replication, time)``,
  ``gantt_station/server/state/start/end(segment)``, ``state_fraction(replication, station, state)``.
* campaigns: ``trial`` dim with ``value(trial[, objective])`` (or a variable ``objective``),
  parameters as ``param_<name>(trial)`` or ``params(trial, parameter)``, optional
  ``pareto(trial)`` flag and ``importance(parameter)``; the best recipe's
  trajectory as ``best_<variable>(time)`` and the campaign's own envelope bands as
  ``envelope_lower_<variable>/envelope_upper_<variable>(envelope_time)``.
* life results (``simulation.life``): ``reliability(bound, time)``,
  ``availability(bound, time)`` with ``bound = estimate, lower, upper``; failure
  data for a Weibull plot as ``failure_time(sample)`` (+ ``censored(sample)``) and
  fitted parameters in attrs ``weibull_shape``/``weibull_scale`` when present.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

__all__ = [
    "kpi_ci_figure",
    "gantt_figure",
    "wip_figure",
    "state_fraction_figure",
    "campaign_history_figure",
    "pareto_figure",
    "importance_figure",
    "campaign_best_trajectory",
    "campaign_envelope",
    "best_recipe_figure",
    "reliability_figure",
    "availability_figure",
    "weibull_plot",
    "median_ranks",
    "STATE_COLORS",
]

STATE_COLORS = {"busy": "#2ca02c", "starved": "#ffbf00", "blocked": "#d62728", "down": "#7f0000",
                "changeover": "#1f77b4", "maintenance": "#9467bd", "off_shift": "#c7c7c7", "idle": "#e0e0e0"}
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def _kpi_ci(ds: xr.Dataset, kpi: str, confidence: float = 0.95) -> tuple[float, float, float]:
    if "mean" in ds and "ci" in ds and "kpi" in ds["mean"].dims:
        m = float(ds["mean"].sel(kpi=kpi))
        lo, hi = (float(v) for v in ds["ci"].sel(kpi=kpi).values)
        return m, lo, hi
    from scipy import stats

    v = ds["value"].sel(kpi=kpi).values.astype(float)
    v = v[np.isfinite(v)]
    m = float(v.mean()) if v.size else float("nan")
    if v.size < 2:
        return m, float("nan"), float("nan")
    hw = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - hw, m + hw


def kpi_ci_figure(results: dict[str, xr.Dataset], kpis: list[str] | None = None) -> go.Figure:
    """KPI means with confidence intervals across scenario variants (one panel per KPI).

    Parameters
    ----------
    results
        Variant name → line result Dataset.
    kpis
        KPIs to show (default: the line KPIs all variants share, at most 6).
    """
    names = list(results)
    common = None
    for ds in results.values():
        ks = [str(k) for k in ds["kpi"].values]
        common = ks if common is None else [k for k in common if k in ks]
    kpis = kpis or [k for k in (common or []) if "[" not in k][:6]
    fig = make_subplots(rows=1, cols=max(len(kpis), 1), subplot_titles=kpis)
    for j, kpi in enumerate(kpis, start=1):
        means, lows, highs = zip(*(_kpi_ci(results[n], kpi) for n in names), strict=True)
        means = np.array(means)
        err_hi = np.nan_to_num(np.array(highs) - means)
        err_lo = np.nan_to_num(means - np.array(lows))
        fig.add_trace(go.Bar(x=names, y=means, name=kpi, showlegend=False,
                             error_y={"type": "data", "array": err_hi, "arrayminus": err_lo, "visible": True}),
                      row=1, col=j)
        ds0 = results[names[0]]
        unit = str(ds0["kpi_units"].sel(kpi=kpi).values) if "kpi_units" in ds0.coords else ""
        fig.update_yaxes(title_text=f"[{unit}]" if unit else None, row=1, col=j)
    conf = next(iter(results.values())).attrs.get("confidence", 0.95)
    fig.update_layout(title=f"KPIs per variant (mean, {float(conf):.0%} confidence interval)", margin=_MARGIN)
    return fig


def gantt_figure(ds: xr.Dataset, *, max_segments: int = 4000) -> go.Figure:
    """Station/machine state Gantt chart of the first replication (from ``gantt_*`` segments), one row
    per machine in the line's flow order (the ``station`` coordinate), first station on top."""
    fig = go.Figure()
    if "gantt_start" not in ds:
        fig.update_layout(title="no state trace in this result (run with trace: true)", margin=_MARGIN)
        return fig
    st = ds["gantt_station"].values.astype(str)
    srv = ds["gantt_server"].values.astype(int)
    state = ds["gantt_state"].values.astype(str)
    start = ds["gantt_start"].values.astype(float) / 3600.0
    end = ds["gantt_end"].values.astype(float) / 3600.0
    if start.size > max_segments:
        keep = np.argsort(-(end - start))[:max_segments]
        keep.sort()
        st, srv, state, start, end = st[keep], srv[keep], state[keep], start[keep], end[keep]
    rows = np.array([f"{a}/{b}" for a, b in zip(st, srv, strict=True)])
    flow = [str(s) for s in ds["station"].values] if "station" in ds.coords else []
    rank = {s: i for i, s in enumerate(flow + [s for s in dict.fromkeys(st.tolist()) if s not in flow])}
    order = sorted(dict.fromkeys(rows.tolist()), key=lambda r: (rank[r.rsplit("/", 1)[0]], int(r.rsplit("/", 1)[1])))
    for s in dict.fromkeys(state):
        m = state == s
        fig.add_trace(go.Bar(y=rows[m], x=end[m] - start[m], base=start[m], orientation="h", name=s,
                             marker={"color": STATE_COLORS.get(s, "#888")},
                             hovertemplate="%{y}<br>" + s + " %{base:.3f}–%{x:.3f} h<extra></extra>"))
    fig.update_layout(barmode="overlay", title="machine states (replication 0)", xaxis_title="time [h]",
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1]}, margin=_MARGIN)
    return fig


def wip_figure(results: dict[str, xr.Dataset]) -> go.Figure:
    """Work in process over time per variant (mean over replications, min–max band)."""
    fig = go.Figure()
    for name, ds in results.items():
        if "wip_series" not in ds:
            continue
        t = ds["time"].values.astype(float) / 3600.0
        w = ds["wip_series"]
        fig.add_trace(go.Scatter(x=t, y=w.mean("replication").values, mode="lines", name=f"{name} mean"))
        fig.add_trace(go.Scatter(x=np.r_[t, t[::-1]], y=np.r_[w.max("replication").values, w.min("replication").values[::-1]],
                                 fill="toself", opacity=0.2, line={"width": 0}, name=f"{name} min–max",
                                 hoverinfo="skip"))
    fig.update_layout(title="work in process", xaxis_title="time [h]", yaxis_title="WIP [parts]", margin=_MARGIN)
    return fig


def state_fraction_figure(ds: xr.Dataset) -> go.Figure:
    """Stacked bars of the mean fraction of machine time in each state per station."""
    frac = ds["state_fraction"].mean("replication")
    fig = go.Figure()
    for s in frac["state"].values:
        fig.add_trace(go.Bar(x=[str(v) for v in frac["station"].values], y=frac.sel(state=s).values,
                             name=str(s), marker={"color": STATE_COLORS.get(str(s), "#888")}))
    fig.update_layout(barmode="stack", title="machine time by state", yaxis_title="fraction of time [–]", margin=_MARGIN)
    return fig


# ----------------------------------------------------------------------------- campaigns
def _objective_vars(ds: xr.Dataset) -> list[str]:
    """Objective variables: ``objective``/``value``, or ``objective_0, objective_1, …``
    (``optimization.Campaign`` results)."""
    if "objective" in ds.data_vars:
        return ["objective"]
    if "value" in ds.data_vars:
        return ["value"]
    k = sorted(int(str(v)[10:]) for v in ds.data_vars if str(v).startswith("objective_") and str(v)[10:].isdigit())
    return [f"objective_{i}" for i in k]


def _objectives(ds: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    names_attr = [n for n in str(ds.attrs.get("objectives", "")).split(",") if n]
    vars_ = _objective_vars(ds)
    if len(vars_) == 1:
        da = ds[vars_[0]]
        if da.ndim == 1:
            label = names_attr[0] if len(names_attr) == 1 else da.attrs.get("long_name", vars_[0])
            return da.values.astype(float)[:, None], [label]
        other = [d for d in da.dims if d != "trial"][0]
        return da.transpose("trial", other).values.astype(float), [str(v) for v in da[other].values]
    obj = np.stack([ds[v].values.astype(float) for v in vars_], axis=1)
    labels = names_attr if len(names_attr) == len(vars_) else [ds[v].attrs.get("long_name", v) for v in vars_]
    return obj, labels


def _directions(ds: xr.Dataset, n: int) -> list[str]:
    """Optimisation direction per objective (attrs ``directions`` comma-separated, or ``direction``)."""
    raw = [d.strip() for d in str(ds.attrs.get("directions", "")).split(",") if d.strip()]
    if len(raw) == n:
        return raw
    return [str(ds.attrs.get("direction", "minimize"))] * n


def _importances(ds: xr.Dataset) -> tuple[list[str], np.ndarray] | None:
    if "importance" in ds:
        imp = ds["importance"]
        return [str(v) for v in imp[imp.dims[0]].values], imp.values.astype(float)
    raw = ds.attrs.get("importances")
    if raw:
        try:
            d = json.loads(raw)
        except (TypeError, ValueError):
            return None
        if d:
            return list(map(str, d)), np.array([float(v) for v in d.values()])
    return None


def _params(ds: xr.Dataset) -> dict[str, np.ndarray]:
    if "params" in ds:
        p = ds["params"]
        other = [d for d in p.dims if d != "trial"][0]
        return {str(k): p.sel({other: k}).values for k in p[other].values}
    return {str(v)[6:]: ds[v].values for v in ds.data_vars if str(v).startswith("param_")}


def campaign_history_figure(ds: xr.Dataset) -> go.Figure:
    """Objective per trial and the best-so-far line (first objective; minimised unless
    ``attrs['directions']``/``attrs['direction']`` says ``maximize``). Trials with
    ``feasible == False`` are drawn apart and never count as best."""
    obj, names = _objectives(ds)
    y = obj[:, 0]
    trials = ds["trial"].values
    maximize = _directions(ds, obj.shape[1])[0].startswith("max")
    feasible = ds["feasible"].values.astype(bool) if "feasible" in ds else np.ones(y.size, bool)
    filled = np.where(np.isfinite(y) & feasible, y, -np.inf if maximize else np.inf)
    best = np.maximum.accumulate(filled) if maximize else np.minimum.accumulate(filled)
    best = np.where(np.isfinite(best), best, np.nan)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=trials[feasible], y=y[feasible], mode="markers", name="trial"))
    if not feasible.all():
        fig.add_trace(go.Scatter(x=trials[~feasible], y=y[~feasible], mode="markers", name="infeasible trial",
                                 marker={"symbol": "x", "color": "#999"}))
    fig.add_trace(go.Scatter(x=trials, y=best, mode="lines", name="best feasible so far", line={"shape": "hv"}))
    unit = ds[_objective_vars(ds)[0]].attrs.get("units", "")
    fig.update_layout(title="optimisation history", xaxis_title="trial",
                      yaxis_title=f"{names[0]} [{unit}]" if unit else names[0], margin=_MARGIN)
    return fig


def pareto_figure(ds: xr.Dataset) -> go.Figure:
    """First two objectives of all trials, the Pareto-optimal ones highlighted.

    The front is ``ds['pareto']`` when the campaign recorded it; otherwise the
    non-dominated feasible trials (in the campaign's directions) are marked.
    """
    obj, names = _objectives(ds)
    fig = go.Figure()
    if obj.shape[1] < 2:
        fig.update_layout(title="single-objective campaign: no Pareto front", margin=_MARGIN)
        return fig
    a, b = obj[:, 0], obj[:, 1]
    if "pareto" in ds:
        front = ds["pareto"].values.astype(bool)
    else:
        sa, sb = (1.0 if d.startswith("min") else -1.0 for d in _directions(ds, obj.shape[1])[:2])
        ok = np.isfinite(a) & np.isfinite(b)
        if "feasible" in ds:
            ok &= ds["feasible"].values.astype(bool)
        ma, mb = sa * a, sb * b
        front = np.zeros(a.size, bool)
        for i in np.flatnonzero(ok):
            dominated = ok & (ma <= ma[i]) & (mb <= mb[i]) & ((ma < ma[i]) | (mb < mb[i]))
            front[i] = not dominated.any()
    fig.add_trace(go.Scatter(x=a[~front], y=b[~front], mode="markers", name="trials", marker={"color": "#aaa"}))
    o = np.argsort(a[front])
    fig.add_trace(go.Scatter(x=a[front][o], y=b[front][o], mode="lines+markers", name="Pareto front",
                             marker={"color": "#d62728", "size": 9}))
    fig.update_layout(title="Pareto front", xaxis_title=names[0], yaxis_title=names[1], margin=_MARGIN)
    return fig


def importance_figure(ds: xr.Dataset) -> go.Figure:
    """Parameter importances (``importance(parameter)``, or the JSON ``attrs['importances']`` of
    ``optimization`` results) as horizontal bars."""
    fig = go.Figure()
    got = _importances(ds)
    if got is None:
        fig.update_layout(title="no parameter importances recorded", margin=_MARGIN)
        return fig
    names, vals = got
    o = np.argsort(vals)
    fig.add_trace(go.Bar(x=vals[o], y=[names[i] for i in o], orientation="h"))
    fig.update_layout(title="parameter importances", xaxis_title="importance [–]", margin=_MARGIN)
    return fig


def campaign_best_trajectory(ds: xr.Dataset) -> xr.Dataset | None:
    """The best recipe's trajectory of a campaign dataset: ``best_<var>(time)`` as ``<var>(time)``.

    ``attrs["label"]`` is ``"best recipe (trial N)"`` when the dataset names the trial
    (``best_trajectory_trial``, :mod:`optimization._results`). ``None`` when nothing is stored.
    """
    names = [str(v) for v in ds.data_vars if str(v).startswith("best_") and ds[v].dims == ("time",)]
    if not names:
        return None
    trial = ds.attrs.get("best_trajectory_trial")
    label = f"best recipe (trial {int(trial)})" if trial is not None and str(trial) != "" else "best recipe"
    out = xr.Dataset({n[5:]: ds[n] for n in names})
    return out.assign_attrs(label=label)


def campaign_envelope(ds: xr.Dataset) -> xr.Dataset | None:
    """The campaign's own envelope bands in the layout :func:`viz._figures_live.envelope_figure` reads.

    Converts ``envelope_lower_<var>/envelope_upper_<var>(envelope_time)`` (written by
    :mod:`optimization._results`) to ``envelope_lower/envelope_upper(time, variable)`` with
    ``variable_units(variable)``; no ``envelope_mean`` (a band need not be symmetric).
    ``None`` when the dataset stores no band.
    """
    names = [str(v)[15:] for v in ds.data_vars if str(v).startswith("envelope_lower_")
             and f"envelope_upper_{str(v)[15:]}" in ds and ds[v].dims == ("envelope_time",)]
    if not names:
        return None
    t = ds["envelope_time"].values.astype(float)
    lo = np.stack([ds[f"envelope_lower_{n}"].values.astype(float) for n in names], axis=1)
    hi = np.stack([ds[f"envelope_upper_{n}"].values.astype(float) for n in names], axis=1)
    units = [str(ds[f"envelope_lower_{n}"].attrs.get("units", "")) for n in names]
    dims = ("time", "variable")
    return xr.Dataset(
        {"envelope_lower": (dims, lo, {"units": units[0], "long_name": "envelope lower bound"}),
         "envelope_upper": (dims, hi, {"units": units[0], "long_name": "envelope upper bound"}),
         "variable_units": ("variable", np.asarray(units, dtype=str), {"units": "1", "long_name": "units"})},
        coords={"time": ("time", t, {"units": "s", "long_name": "elapsed batch time"}), "variable": names},
        attrs={"label": "campaign envelope"})


def best_recipe_figure(ds: xr.Dataset, envelope: xr.Dataset | None = None, *,
                       trajectory: xr.Dataset | None = None):
    """The campaign's best recipe against an envelope, or ``None`` when there is nothing to compare.

    Parameters
    ----------
    ds
        Campaign dataset with ``best_<var>(time)`` (see :func:`campaign_best_trajectory`).
    envelope
        A golden-batch envelope (``envelope_mean/lower/upper(time, variable)``, e.g. the
        dashboard's ``--envelope``). Used when it has a variable of the best recipe; otherwise
        the campaign's own band (:func:`campaign_envelope`) is used.
    trajectory
        The best recipe's trajectory (variables over ``time`` in s); default:
        :func:`campaign_best_trajectory` of ``ds``.

    Returns
    -------
    plotly.graph_objects.Figure or None
        :func:`viz._figures_live.envelope_figure` of the first matching variable: the
        campaign's enveloped variables first, then ``T``, then the rest.
    """
    from viz._figures_live import envelope_figure

    traj = campaign_best_trajectory(ds) if trajectory is None else trajectory
    if traj is None:
        return None
    label = str(traj.attrs.get("label", "best recipe"))
    own = campaign_envelope(ds)
    order = [str(v) for v in (own["variable"].values if own is not None else [])]
    order += [v for v in ("T", *map(str, traj.data_vars)) if v not in order]
    for env, source in ((envelope, "golden envelope"), (own, "campaign envelope")):
        if env is None or "variable" not in env.coords or "envelope_lower" not in env:
            continue
        have = {str(v) for v in env["variable"].values}
        var = next((v for v in order if v in have and v in traj), None)
        if var is not None:
            return envelope_figure(env, trajectory=traj, variable=var,
                                   title=f"{label}: {var} against the {source}")
    return None


# --------------------------------------------------------------------------- reliability
def _bounded(fig: go.Figure, ds: xr.Dataset, var: str, unit_scale: float, name: str, color: str) -> None:
    t = ds["time"].values.astype(float) / unit_scale
    da = ds[var]
    est = da.sel(bound="estimate").values if "bound" in da.dims else da.values
    if "bound" in da.dims and {"lower", "upper"} <= set(map(str, da["bound"].values)):
        lo, hi = da.sel(bound="lower").values, da.sel(bound="upper").values
        # dotted edges keep a narrow band visible
        fig.add_trace(go.Scatter(x=np.r_[t, t[::-1]], y=np.r_[hi, lo[::-1]], fill="toself", opacity=0.35,
                                 line={"width": 1, "dash": "dot", "color": color}, fillcolor=color,
                                 name=f"{name} confidence bounds", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t, y=est, mode="lines", name=name, line={"color": color}))


def _time_unit(ds: xr.Dataset) -> tuple[float, str]:
    unit = str(ds.attrs.get("report_unit", "h"))
    return {"s": (1.0, "s"), "min": (60.0, "min"), "h": (3600.0, "h"), "d": (86400.0, "d"),
            "y": (31557600.0, "y"), "a": (31557600.0, "a")}.get(unit, (3600.0, "h"))


def reliability_figure(ds: xr.Dataset) -> go.Figure:
    """System reliability R(t) with its confidence bounds (and the analytic R(t) if given)."""
    scale, unit = _time_unit(ds)
    fig = go.Figure()
    _bounded(fig, ds, "reliability", scale, "R(t)", "#1f77b4")
    if "reliability_analytic" in ds:
        fig.add_trace(go.Scatter(x=ds["time"].values / scale, y=ds["reliability_analytic"].values, mode="lines",
                                 name="analytic R(t)", line={"dash": "dash", "color": "#222"}))
    conf = ds.attrs.get("confidence")
    fig.update_layout(title="system reliability" + (f" ({float(conf):.0%} bounds)" if conf else ""),
                      xaxis_title=f"time [{unit}]", yaxis_title="R(t) [–]", yaxis_range=[0, 1.02], margin=_MARGIN)
    return fig


def availability_figure(ds: xr.Dataset) -> go.Figure:
    """Point availability A(t) with bounds and the mean availability over the horizon."""
    scale, unit = _time_unit(ds)
    fig = go.Figure()
    _bounded(fig, ds, "availability", scale, "A(t)", "#2ca02c")
    if "mean_availability" in ds:
        m = ds["mean_availability"]
        val = float(m.sel(bound="estimate")) if "bound" in m.dims else float(m)
        fig.add_hline(y=val, line={"dash": "dot"}, annotation_text=f"mean {val:.4f}")
    fig.update_layout(title="point availability", xaxis_title=f"time [{unit}]", yaxis_title="A(t) [–]",
                      margin=_MARGIN)
    return fig


def median_ranks(times: np.ndarray, censored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Failure times and their median-rank plotting positions F̂ (right censoring allowed).

    Johnson's adjusted ranks for suspended items, then Bernard's approximation
    ``F̂ = (j − 0.3)/(n + 0.4)`` (Abernethy 2006, *The New Weibull Handbook*, 5th
    ed., §2.4 and §2.11).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted failure times (censored items dropped) and F̂ at each.
    """
    t = np.asarray(times, dtype=float)
    c = np.zeros(t.size, bool) if censored is None else np.asarray(censored, dtype=bool)
    order = np.argsort(t, kind="stable")
    t, c = t[order], c[order]
    n = t.size
    out_t, out_f = [], []
    prev = 0.0
    for i in range(n):
        if c[i]:
            continue
        reverse_rank = n - i
        prev = prev + (n + 1 - prev) / (1 + reverse_rank)
        out_t.append(t[i])
        out_f.append((prev - 0.3) / (n + 0.4))
    return np.asarray(out_t), np.asarray(out_f)


def _weibull_y(f: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.log(-np.log1p(-np.asarray(f, dtype=float)))


def _weibull_plot_fit(ds: xr.Dataset) -> go.Figure:
    from viz._figures_life import probability_plot

    return probability_plot(ds)  # on the fitted distribution's own paper, legend without a dict


def weibull_plot(ds: xr.Dataset) -> go.Figure:
    """Weibull probability plot: ln(−ln(1−F̂)) against ln t, with the fitted line.

    A Weibull sample lies on a straight line with slope β (shape) crossing
    ``F = 63.2 %`` at ``t = η`` (scale). The fitted line uses
    ``attrs['weibull_shape']``/``['weibull_scale']`` when the fit recorded them.

    Also reads the probability-plot data of ``simulation.life.LifeFit.plot_data()``:
    ``observed_time``/``observed_unreliability(sample)`` (the fit's plotting positions)
    and ``fitted_unreliability(bound, time)`` (fitted line with confidence bounds), in
    ``attrs['time_unit']``; that plot is drawn on the fitted distribution's own paper
    (:func:`viz._figures_life.probability_plot`: lognormal on lognormal paper, …).
    """
    fig = go.Figure()
    if "observed_time" in ds and "observed_unreliability" in ds:
        return _weibull_plot_fit(ds)
    if "failure_time" not in ds:
        fig.update_layout(title="no failure data (failure_time) for a Weibull plot", margin=_MARGIN)
        return fig
    scale, unit = _time_unit(ds)
    cens = ds["censored"].values if "censored" in ds else None
    t, f = median_ranks(ds["failure_time"].values / scale, cens)
    y = np.log(-np.log1p(-f))
    fig.add_trace(go.Scatter(x=t, y=y, mode="markers", name="failures (median ranks)"))
    if "weibull_shape" in ds.attrs and "weibull_scale" in ds.attrs and t.size:
        beta = float(ds.attrs["weibull_shape"])
        eta = float(ds.attrs["weibull_scale"]) / scale
        tt = np.geomspace(t.min() * 0.7, t.max() * 1.3, 50)
        fig.add_trace(go.Scatter(x=tt, y=beta * (np.log(tt) - np.log(eta)), mode="lines",
                                 name=f"Weibull β={beta:.3g}, η={eta:.4g} {unit}"))
    ticks = np.array([0.01, 0.05, 0.1, 0.2, 0.5, 0.632, 0.9, 0.99])
    fig.update_layout(title="Weibull probability plot", xaxis={"type": "log", "title": f"time [{unit}]"},
                      yaxis={"title": "unreliability F [%]", "tickvals": np.log(-np.log1p(-ticks)),
                             "ticktext": [f"{100 * p:g}" for p in ticks]}, margin=_MARGIN)
    return fig
