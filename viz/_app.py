"""The ``twin dashboard`` Dash app: live twin, scenarios, campaigns, reliability and 3D pages.

The app reads only files named when it starts (:class:`DashboardSources`); it has
no upload component and never evaluates or unpickles anything: trace stores are
read with Zarr, results with h5netcdf/Zarr. It binds to 127.0.0.1 unless told
otherwise; with a ``token`` every request must carry it (``?token=…`` once, which
sets a cookie, an ``Authorization: Bearer …`` header, or HTTP basic auth with the
token as password).
"""

from __future__ import annotations

import hmac
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from viz._data import is_trace_store, load_result
from viz._figures_live import overview_figure  # noqa: F401  (moved; viz.figures re-exports it from here)

__all__ = ["DashboardSources", "create_app", "serve", "TraceCache"]

PAGES = [("/live", "Live twin"), ("/line", "Line"), ("/scenarios", "Scenarios"), ("/campaigns", "Campaigns"),
         ("/reliability", "Reliability"), ("/3d", "3D")]


@dataclass
class DashboardSources:
    """Files the dashboard shows (every one optional).

    Attributes
    ----------
    trace
        Twin trace store (Zarr directory), re-read as ``twin monitor`` appends.
    envelope
        Golden-batch envelope (``Envelope.to_dataset()`` written to NetCDF).
    monitor
        MSPC monitor dataset: ``t2(time)``, ``spe(time)`` with limits and
        ``t2_contribution``/``spe_contribution(time, variable)``.
    scenarios
        Variant name → line result (NetCDF/Zarr).
    campaign
        Optimisation campaign dataset (``trial`` dim).
    life
        Life/reliability result (``reliability``/``availability`` over time), may
        also hold ``failure_time`` for the Weibull plot.
    life_fit
        Probability-plot data of a life-data fit (``LifeFit.plot_data()`` written to
        NetCDF, e.g. ``life_fit_plot.nc``) for the Weibull plot.
    line_trace
        Line-twin trace store (``twin monitor LINE_BINDING.yaml``), re-read as it grows:
        station states, buffers, the ``forecast`` group and alarm events.
    envelope_map
        Trace tag → envelope variable it measures (tags named like a variable match by themselves).
    acks
        Alarm acknowledgement log (JSON lines; default ``<trace>.acks.jsonl`` beside the trace store).
    binding
        The twin's binding (YAML path or a loaded :class:`twin.TwinBinding`) with an ``advice:``
        section: the live page's Advice panel then confirms or rejects proposals over its OPC UA
        connection (:func:`twin.confirm_proposal`); without it the panel is read-only.
    """

    trace: Path | None = None
    envelope: Path | None = None
    monitor: Path | None = None
    scenarios: dict[str, Path] = field(default_factory=dict)
    campaign: Path | None = None
    life: Path | None = None
    life_fit: Path | None = None
    line_trace: Path | None = None
    envelope_map: dict[str, str] = field(default_factory=dict)
    acks: Path | None = None
    binding: Any = None


class TraceCache:
    """In-memory copy of a trace store that reads only rows appended since the last call."""

    def __init__(self, path: Path | None):
        self.path = path
        self.ds: xr.Dataset | None = None
        self.rows = 0
        self._lock = threading.Lock()

    def get(self) -> tuple[xr.Dataset | None, bool]:
        """``(dataset, changed)``; ``None`` while the store does not exist yet."""
        if self.path is None:
            return None, False
        from twin import open_trace

        with self._lock:
            if not is_trace_store(self.path):
                return self.ds, False
            new = open_trace(self.path, start=self.rows)
            if new.sizes["time"] == 0:
                return self.ds, False
            self.ds = new if self.ds is None else xr.concat([self.ds, new], dim="time", data_vars="minimal",
                                                             coords="minimal", compat="override",
                                                             combine_attrs="override")
            self.rows = self.ds.sizes["time"]
            return self.ds, True


class _FileCache:
    def __init__(self):
        self._items: dict[Path, tuple[float, xr.Dataset]] = {}

    def get(self, path: Path | None) -> xr.Dataset | None:
        if path is None or not Path(path).exists():
            return None
        path = Path(path)
        mtime = max((p.stat().st_mtime for p in [path, *path.glob("*")]), default=0.0)
        hit = self._items.get(path)
        if hit is None or hit[0] != mtime:
            hit = (mtime, load_result(path))
            self._items[path] = hit
        return hit[1]


class _ForecastCache:
    """Last good copy of a line trace's ``forecast`` group, re-read when its files change."""

    def __init__(self, path: Path | None):
        self.path = path
        self.ds: xr.Dataset | None = None
        self.version = 0
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[xr.Dataset | None, bool]:
        from viz._data import read_line_forecast
        from workbench.errors import DatasetError

        if self.path is None:
            return None, False
        group = Path(self.path) / "forecast"
        with self._lock:
            try:
                stamp = max((p.stat().st_mtime_ns for p in group.rglob("*") if p.is_file()), default=None)
            except OSError:  # files replaced while listing
                return self.ds, False
            if stamp is None or stamp == self._stamp:
                return self.ds, False
            try:
                ds = read_line_forecast(self.path)
            except DatasetError:
                return self.ds, False
            self.ds, self._stamp = ds, stamp
            self.version += 1
            return self.ds, True


def _install_token_guard(server, token: str) -> None:
    import base64

    from flask import make_response, redirect, request

    def ok(value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value), token)

    @server.before_request
    def _guard():
        if ok(request.cookies.get("twin_token")):
            return None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and ok(auth[7:]):
            return None
        if auth.startswith("Basic "):
            try:
                _, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                pw = ""
            if ok(pw):
                return None
        if ok(request.args.get("token")):
            resp = make_response(redirect(request.path))
            resp.set_cookie("twin_token", token, httponly=True, samesite="Strict")
            return resp
        resp = make_response("twin dashboard: a token is required (?token=…, Bearer or basic auth)\n", 401)
        resp.headers["WWW-Authenticate"] = 'Basic realm="twin dashboard"'
        return resp


def _x_range(relayout: dict | None):
    if not relayout:
        return None, None
    for ax in ("xaxis", "xaxis2"):
        if f"{ax}.range[0]" in relayout:
            return relayout[f"{ax}.range[0]"], relayout[f"{ax}.range[1]"]
        if f"{ax}.range" in relayout:
            r = relayout[f"{ax}.range"]
            return r[0], r[1]
        if relayout.get(f"{ax}.autorange"):
            return None, None
    return "keep", "keep"


def create_app(sources: DashboardSources, *, token: str | None = None, refresh_ms: int = 2000,
               n_out: int = 1500, downsample: bool = True):
    """Build the Dash app for ``sources``.

    Parameters
    ----------
    sources
        What to show.
    token
        Require this token on every request (see module docstring).
    refresh_ms
        Poll interval of the live page in ms.
    n_out
        Points per line after downsampling.
    downsample
        ``False`` ships every sample (used by the benchmark's baseline).

    Returns
    -------
    dash.Dash
    """
    import dash
    from dash import Input, Output, State, dcc, html

    from viz import _figures_results as fr
    from viz._app_live import html_table, register_live
    from viz._scenes import (
        line_scene_from_result,
        reactor_scene,
        reactor_scene_from_trace,
        render_png,
        scene_figure,
    )

    n_pts = n_out if downsample else 10**9
    app = dash.Dash(__name__, title="twin dashboard", suppress_callback_exceptions=True,
                    serve_locally=True, update_title=None)
    if token:
        _install_token_guard(app.server, token)
    traces = TraceCache(sources.trace)
    line_traces = TraceCache(sources.line_trace)
    forecasts = _ForecastCache(sources.line_trace)
    files = _FileCache()
    app._twin_trace_cache = traces  # noqa: SLF001 - for tests and the benchmark

    nav = html.Nav([dcc.Link(label, href=href, id=f"nav{href.replace('/', '-')}",
                             style={"marginRight": "18px", "color": "white"}) for href, label in PAGES],
                   style={"background": "#243b53", "padding": "10px 20px", "fontFamily": "sans-serif"})
    app.layout = html.Div([dcc.Location(id="url"), nav, html.Div(id="page", style={"padding": "10px 20px",
                                                                                    "fontFamily": "sans-serif"})])

    def missing(what: str, option: str):
        return html.P(f"no {what} given — start with `twin dashboard {option} PATH`", className="empty")

    live_layout = register_live(app, sources, traces, files, n_pts=n_pts, refresh_ms=refresh_ms, missing=missing)

    # ------------------------------------------------------------------ layouts
    def scenarios_layout():
        if not sources.scenarios:
            return html.Div([html.H2("Scenarios"), missing("line results", "--scenario NAME=PATH")])
        names = list(sources.scenarios)
        return html.Div([
            html.H2("Scenarios"),
            *delta_section(),
            dcc.Graph(id="kpi-graph", figure=dimensionless(fr.kpi_ci_figure(_scen()))),
            dcc.Graph(id="wip-graph", figure=dimensionless(fr.wip_figure(_scen()))),
            dcc.Dropdown(id="gantt-variant", options=names, value=names[0], clearable=False, style={"width": "320px"}),
            dcc.Graph(id="gantt-graph", style={"height": "480px"}),
            dcc.Graph(id="states-graph"),
        ])

    def delta_section():
        from viz._tables import scenario_delta_rows

        names = list(sources.scenarios)
        if len(names) < 2:
            return [html.P(f"Only one variant ({names[0]}): give a second `--scenario NAME=PATH` (e.g. a `twin run` "
                           "of a what-if variant with the same seed) to get the Δ table.", id="delta-note",
                           className="empty")]
        rows, method = scenario_delta_rows(_scen())
        return [html.H3(f"Each variant against {names[0]}: Δ = variant − base, with significance"),
                html.P(f"Test: {method}. Significant: the confidence interval of Δ excludes 0.", id="delta-method",
                       style={"fontSize": "12px"}),
                html_table(rows, "delta-table")]

    def _scen() -> dict[str, xr.Dataset]:
        return {n: files.get(p) for n, p in sources.scenarios.items()}

    def campaigns_layout():
        from viz._tables import recipe_rows

        ds = files.get(sources.campaign)
        if ds is None:
            return html.Div([html.H2("Campaigns"), missing("campaign dataset", "--campaign")])
        n_obj = fr._objectives(ds)[0].shape[1]  # noqa: SLF001 - same package
        rows = recipe_rows(ds)
        head = ("Best feasible recipes" if n_obj == 1 else "Pareto-optimal feasible recipes") + " (units in the headers)"
        table = (html_table(rows, "recipe-table") if rows else
                 html.P("No feasible trial yet: every trial broke a constraint or failed; widen the search space or "
                        "relax the constraints and run more trials (`twin optimize run CAMPAIGN.yaml`).",
                        id="recipe-table-none", className="empty"))
        graphs = [html.H3(head), table, dcc.Graph(id="history-graph", figure=dimensionless(fr.campaign_history_figure(ds)))]
        if n_obj > 1:
            graphs.append(dcc.Graph(id="pareto-graph", figure=dimensionless(fr.pareto_figure(ds))))
        else:
            graphs.append(html.P("No Pareto front: this campaign has one objective. A campaign with two or more "
                                 "`objectives:` in its YAML (e.g. yield and utility_energy) shows the trade-off "
                                 "front here.", id="pareto-note", className="empty"))
        graphs.append(dcc.Graph(id="importance-graph", figure=dimensionless(fr.importance_figure(ds))))
        # the best recipe against --envelope when it shares a variable, else the campaign's own band
        recipe = fr.best_recipe_figure(ds, envelope=files.get(sources.envelope))
        if recipe is not None:
            graphs.append(dcc.Graph(id="recipe-graph", figure=dimensionless(recipe)))
        elif fr.campaign_best_trajectory(ds) is not None:
            graphs.append(html.P("the best recipe's trajectory is stored, but the campaign has no envelope "
                                 "and no --envelope shares a variable with it", id="recipe-note", className="empty"))
        return html.Div([html.H2("Campaigns"), *graphs])

    def reliability_layout():
        ds = files.get(sources.life)
        fit = files.get(sources.life_fit)
        if ds is None and fit is None:
            return html.Div([html.H2("Reliability"), missing("life result", "--life")])
        graphs = []
        if ds is not None and "reliability" in ds:
            graphs.append(dcc.Graph(id="reliability-graph", figure=dimensionless(fr.reliability_figure(ds))))
        if ds is not None and "availability" in ds:
            graphs.append(dcc.Graph(id="availability-graph", figure=dimensionless(fr.availability_figure(ds))))
        src = fit if fit is not None else ds
        if "observed_time" in src or "failure_time" in src:
            graphs.append(dcc.Graph(id="weibull-graph", figure=dimensionless(fr.weibull_plot(src))))
        else:
            graphs.append(html.P("No failure data for a probability plot: give `--life-fit PLOT.nc`, the plot data of "
                                 "a life-data fit (`make demo` writes out/demo/life/life_fit_plot.nc).",
                                 id="weibull-note", className="empty"))
        return html.Div([html.H2("Reliability"), *graphs])

    def scene_choices():
        out = []
        if sources.scenarios:
            out.append("line")
        out.append("reactor")
        return out

    def build_scene(name: str):
        if name == "line" and sources.scenarios:
            first = next(iter(sources.scenarios))
            return line_scene_from_result(files.get(sources.scenarios[first]))
        ds, _ = traces.get()
        scene = reactor_scene_from_trace(ds)
        if scene is not None:
            return scene
        return reactor_scene(np.linspace(330.0, 350.0, 8), np.linspace(300.0, 310.0, 4))

    def scene_layout():
        choices = scene_choices()
        return html.Div([
            html.H2("3D plant"),
            dcc.RadioItems(id="scene-choice", options=choices, value=choices[0], inline=True),
            dcc.Graph(id="scene-graph", style={"height": "580px"}),
            html.Button("render PNG snapshot", id="scene-png-button"),
            html.Div(id="scene-png"),
            dcc.Store(id="scene-rows", data=None),
            # a scene takes 1–3 s to build: poll no faster than every 5 s, or each poll would supersede the last
            dcc.Interval(id="scene-tick", interval=max(refresh_ms, 5000)),
        ])

    def line_layout():
        if sources.line_trace is None:
            return html.Div([html.H2("Line twin"), missing("line trace store", "--line-trace")])
        return html.Div([
            html.H2("Line twin"),
            html.Div(id="line-status", className="status"),
            dcc.Store(id="line-rows", data=-1),
            dcc.Graph(id="line-gantt-graph", style={"height": "380px"}),
            html.Div([dcc.Graph(id="line-buffer-graph", style={"height": "420px", "flex": "1"}),
                      dcc.Graph(id="line-forecast-graph", style={"height": "420px", "flex": "1"})],
                     style={"display": "flex"}),
            html.H3("Alarms"),
            html.Div(id="line-alarms"),
            dcc.Interval(id="line-tick", interval=refresh_ms),
        ])

    layouts = {"/live": live_layout, "/line": line_layout, "/scenarios": scenarios_layout, "/campaigns": campaigns_layout,
               "/reliability": reliability_layout, "/3d": scene_layout}

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def _route(path):
        return layouts.get(path or "/live", live_layout)()

    # ------------------------------------------------------------------ line page
    @app.callback(Output("line-gantt-graph", "figure"), Output("line-buffer-graph", "figure"),
                  Output("line-forecast-graph", "figure"), Output("line-alarms", "children"),
                  Output("line-status", "children"), Output("line-rows", "data"),
                  Input("line-tick", "n_intervals"), State("line-rows", "data"))
    def _line(_n, shown):
        from viz import _figures_line as fline
        from viz._data import read_line_events

        ds, _ = line_traces.get()
        fc, fc_changed = forecasts.get()
        rows = -1 if ds is None else ds.sizes["time"]
        key = rows * 1_000_003 + forecasts.version
        if key == shown:
            raise dash.exceptions.PreventUpdate
        events = read_line_events(sources.line_trace) if ds is not None else []
        table = _alarm_table(fline.alarm_rows(events))
        if ds is None:
            status = "waiting for the line trace store to appear"
        else:
            clock = fline.plant_clock(ds)
            status = (f"{rows} rows · plant clock {clock[-1] / 3600.0:.2f} h · "
                      f"{0 if fc is None else fc.sizes['time']} forecasts · {len(events)} alarms")
        return (fline.line_gantt_figure(ds), fline.buffer_figure(ds, n_out=n_pts),
                fline.forecast_fan_figure(fc, ds, n_out=n_pts), table, status, key)

    def _alarm_table(rows: list[dict]):
        if not rows:
            return html.P("no alarms", id="line-alarm-none")
        cols = list(rows[0])
        return html.Table([html.Thead(html.Tr([html.Th(c) for c in cols])),
                           html.Tbody([html.Tr([html.Td(r[c]) for c in cols]) for r in rows])],
                          id="line-alarm-table", style={"borderCollapse": "collapse", "fontSize": "13px"})

    # ------------------------------------------------------------------ other pages
    @app.callback(Output("gantt-graph", "figure"), Output("states-graph", "figure"), Input("gantt-variant", "value"))
    def _gantt(name):
        ds = files.get(sources.scenarios[name])
        return dimensionless(fr.gantt_figure(ds)), dimensionless(fr.state_fraction_figure(ds))

    scene_cache: dict = {}
    scene_lock = threading.Lock()

    # the reactor follows the live trace: re-coloured when rows arrive (zoom/rotation kept by uirevision)
    @app.callback(Output("scene-graph", "figure"), Output("scene-rows", "data"), Input("scene-choice", "value"),
                  Input("scene-tick", "n_intervals"), State("scene-rows", "data"))
    def _scene(name, _n, shown):
        ds, _ = traces.get() if name == "reactor" else (None, False)
        key = f"{name}-{-1 if ds is None else ds.sizes['time']}"
        if key == shown:
            raise dash.exceptions.PreventUpdate
        with scene_lock:  # built once per key, whichever request asks first
            if scene_cache.get("key") != key:
                fig = dimensionless(scene_figure(build_scene(name)))  # labelled at the scene's anchors
                fig.update_layout(uirevision=name)
                scene_cache.update(key=key, fig=fig)
            return scene_cache["fig"], key

    @app.callback(Output("scene-png", "children"), Input("scene-png-button", "n_clicks"),
                  State("scene-choice", "value"), prevent_initial_call=True)
    def _scene_png(_n, name):
        import base64
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = render_png(build_scene(name), Path(tmp) / "scene.png")
            data = base64.b64encode(path.read_bytes()).decode()
        return html.Img(src=f"data:image/png;base64,{data}", style={"maxWidth": "100%"}, id="scene-png-img")

    return app


def dimensionless(fig):
    """``fig`` with every ``[1]`` unit in its titles, names and texts written ``[–]`` (dimensionless)."""
    import plotly.graph_objects as go

    def walk(obj):
        if isinstance(obj, str):
            return obj.replace("[1]", "[–]")
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple) and obj and isinstance(obj[0], str | dict):
            return [walk(v) for v in obj]
        return obj

    return go.Figure(walk(fig.to_dict()), skip_invalid=True)


def serve(sources: DashboardSources, *, host: str = "127.0.0.1", port: int = 8050, token: str | None = None,
          refresh_ms: int = 2000) -> None:
    """Run the dashboard with the Werkzeug server until interrupted.

    Raises
    ------
    ConfigError
        When bound to a non-loopback address without a token (pass ``token`` or set
        ``TWIN_DASHBOARD_ALLOW_OPEN=1`` to accept an open dashboard on a trusted network).
    """
    from workbench.errors import ConfigError

    loopback = host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
    if not loopback and not token and os.environ.get("TWIN_DASHBOARD_ALLOW_OPEN") != "1":
        raise ConfigError(f"--host {host} exposes the dashboard beyond this machine; give --token SECRET "
                          "(or set TWIN_DASHBOARD_ALLOW_OPEN=1 on a trusted network)")
    app = create_app(sources, token=token, refresh_ms=refresh_ms)
    app.run(host=host, port=port, debug=False)
