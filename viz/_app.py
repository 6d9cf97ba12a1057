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

import numpy as np
import xarray as xr

from viz._data import is_trace_store, load_result, trace_tags

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
    """

    trace: Path | None = None
    envelope: Path | None = None
    monitor: Path | None = None
    scenarios: dict[str, Path] = field(default_factory=dict)
    campaign: Path | None = None
    life: Path | None = None
    life_fit: Path | None = None
    line_trace: Path | None = None


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

    from viz import _figures_live as fl
    from viz import _figures_results as fr
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

    # ------------------------------------------------------------------ layouts
    def live_layout():
        # only the tag names (and which are measured) are read here; the data loads in the
        # callbacks, which run in parallel once the page is up
        tags, measured = ([], []) if sources.trace is None else trace_tags(sources.trace)
        if not tags:
            return html.Div([html.H2("Live twin"), missing("trace store", "--trace"),
                             dcc.Interval(id="live-tick", interval=refresh_ms)])
        children = [
            html.H2("Live twin"),
            html.Div(id="live-status", className="status"),
            dcc.Store(id="live-rows", data=0),
            dcc.Store(id="overview-rows", data=0),
            dcc.Store(id="trend-range", data=None),
            dcc.Dropdown(id="live-tag", options=tags, value=measured[0], clearable=False, style={"width": "320px"}),
            dcc.Graph(id="trend-graph", style={"height": "520px"}),
            dcc.Graph(id="overview-graph", style={"height": "360px"}),
        ]
        if sources.envelope is not None:
            children.append(dcc.Graph(id="envelope-graph", style={"height": "400px"}))
        children += [html.Div([dcc.Graph(id="mspc-graph", style={"height": "460px", "flex": "3"}),
                               dcc.Graph(id="contrib-graph", style={"height": "460px", "flex": "2"})],
                              style={"display": "flex"}),
                     dcc.Interval(id="live-tick", interval=refresh_ms)]
        return html.Div(children)

    def scenarios_layout():
        if not sources.scenarios:
            return html.Div([html.H2("Scenarios"), missing("line results", "--scenario NAME=PATH")])
        names = list(sources.scenarios)
        return html.Div([
            html.H2("Scenarios"),
            dcc.Graph(id="kpi-graph", figure=fr.kpi_ci_figure(_scen())),
            dcc.Graph(id="wip-graph", figure=fr.wip_figure(_scen())),
            dcc.Dropdown(id="gantt-variant", options=names, value=names[0], clearable=False, style={"width": "320px"}),
            dcc.Graph(id="gantt-graph", style={"height": "480px"}),
            dcc.Graph(id="states-graph"),
        ])

    def _scen() -> dict[str, xr.Dataset]:
        return {n: files.get(p) for n, p in sources.scenarios.items()}

    def campaigns_layout():
        ds = files.get(sources.campaign)
        if ds is None:
            return html.Div([html.H2("Campaigns"), missing("campaign dataset", "--campaign")])
        graphs = [dcc.Graph(id="history-graph", figure=fr.campaign_history_figure(ds)),
                  dcc.Graph(id="pareto-graph", figure=fr.pareto_figure(ds)),
                  dcc.Graph(id="importance-graph", figure=fr.importance_figure(ds))]
        # the best recipe against --envelope when it shares a variable, else the campaign's own band
        recipe = fr.best_recipe_figure(ds, envelope=files.get(sources.envelope))
        if recipe is not None:
            graphs.append(dcc.Graph(id="recipe-graph", figure=recipe))
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
            graphs.append(dcc.Graph(id="reliability-graph", figure=fr.reliability_figure(ds)))
        if ds is not None and "availability" in ds:
            graphs.append(dcc.Graph(id="availability-graph", figure=fr.availability_figure(ds)))
        graphs.append(dcc.Graph(id="weibull-graph", figure=fr.weibull_plot(fit if fit is not None else ds)))
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

    # ------------------------------------------------------------------ live callbacks
    # zoom/pan goes through a store: a relayout event must not supersede an in-flight trend request
    # (Dash keeps only the newest request of a callback, and plotly fires relayout on its first draw)
    @app.callback(Output("trend-range", "data"), Input("trend-graph", "relayoutData"), prevent_initial_call=True)
    def _zoom(relayout):
        x0, x1 = _x_range(relayout)
        if x0 == "keep":
            raise dash.exceptions.PreventUpdate
        return [x0, x1]

    @app.callback(Output("trend-graph", "figure"), Output("live-status", "children"), Output("live-rows", "data"),
                  Input("live-tick", "n_intervals"), Input("live-tag", "value"), Input("trend-range", "data"),
                  State("live-rows", "data"))
    def _trend(_n, tag, view, shown_rows):
        ds, _ = traces.get()
        if ds is None:
            raise dash.exceptions.PreventUpdate
        # inputs that change together arrive in one request: skip only a tick that brought no rows
        trig = set(dash.callback_context.triggered_prop_ids.values())
        if trig == {"live-tick"} and ds.sizes["time"] == shown_rows:
            raise dash.exceptions.PreventUpdate
        x0, x1 = view if view else (None, None)
        fig = fl.trend_figure(ds, tag, n_out=n_pts, x0=x0, x1=x1)
        last = ds["time"].values[-1]
        when = np.datetime_as_string(last, unit="s") if np.issubdtype(np.asarray(last).dtype, np.datetime64) \
            else f"{float(last):g} s"
        status = f"{ds.sizes['time']} rows · last sample {when} · {ds.sizes['tag']} tags"
        return fig, status, ds.sizes["time"]

    @app.callback(Output("overview-graph", "figure"), Output("overview-rows", "data"),
                  Input("live-tick", "n_intervals"), State("overview-rows", "data"))
    def _overview(_n, shown_rows):
        # fires at page load together with the trend (not after it) and then only when rows arrive
        ds, _ = traces.get()
        if ds is None or ds.sizes["time"] == shown_rows:
            raise dash.exceptions.PreventUpdate
        return overview_figure(ds, n_pts), ds.sizes["time"]

    if sources.envelope is not None:
        @app.callback(Output("envelope-graph", "figure"), Input("live-rows", "data"), Input("live-tag", "value"))
        def _envelope(_n, tag):
            env = files.get(sources.envelope)
            ds, _ = traces.get()
            if env is None:
                raise dash.exceptions.PreventUpdate
            names = [str(v) for v in env["variable"].values]
            return fl.envelope_figure(env, trace=ds, variable=tag if tag in names else None)

    def monitor_ds():
        from viz._data import monitor_view

        mon = monitor_view(files.get(sources.monitor))
        if mon is None:
            ds, _ = traces.get()
            if ds is not None and "t2" in ds and "spe" in ds:
                mon = ds
        return mon

    @app.callback(Output("mspc-graph", "figure"), Input("live-rows", "data"))
    def _mspc(_rows):
        mon = monitor_ds()
        if mon is None:
            import plotly.graph_objects as go

            return go.Figure().update_layout(title="no T²/SPE monitor data (--monitor)")
        return fl.mspc_figure(mon)

    @app.callback(Output("contrib-graph", "figure"), Input("mspc-graph", "clickData"))
    def _contrib(click):
        mon = monitor_ds()
        if mon is None:
            raise dash.exceptions.PreventUpdate
        if not click:
            return fl.contribution_figure(mon, None)
        pt = click["points"][0]
        cd = pt.get("customdata")
        if cd is None:
            raise dash.exceptions.PreventUpdate
        index, code = (cd[0], cd[1]) if isinstance(cd, list) else (cd, 0)
        return fl.contribution_figure(mon, int(index), statistic="spe" if code == 1 else "t2")

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
        return fr.gantt_figure(ds), fr.state_fraction_figure(ds)

    @app.callback(Output("scene-graph", "figure"), Input("scene-choice", "value"))
    def _scene(name):
        return scene_figure(build_scene(name))

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


def overview_figure(ds: xr.Dataset, n_out: int):
    """Residual / band half-width of every measured tag over time (one line per tag)."""
    import plotly.graph_objects as go

    from viz._downsample import downsample
    from viz._figures_live import residual_limit

    fig = go.Figure()
    t = ds["time"].values
    for tag in map(str, ds["tag"].values):
        r = ds["residual"].sel(tag=tag).values.astype(float)
        if not np.isfinite(r).any():
            continue
        lim = residual_limit(ds, tag)
        y = r / lim if np.isfinite(lim) and lim > 0 else r
        x, yd = downsample(t, y, n_out)
        # SVG lines: one <path> per tag draws faster than 50 WebGL traces in a software-GL browser
        fig.add_trace(go.Scatter(x=x, y=yd, mode="lines", name=tag, line={"width": 1}))
    fig.add_hrect(y0=-1, y1=1, fillcolor="rgba(44,160,44,0.12)", line_width=0)
    fig.update_layout(title="all tags: residual / band half-width (inside ±1 is normal)",
                      yaxis_title="normalised residual [1]", margin={"l": 60, "r": 20, "t": 50, "b": 40},
                      showlegend=False, uirevision="overview")
    return fig


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
