"""The dashboard's live-twin page (``/live``): layout and callbacks.

Trend of one tag (real vs virtual), every tag's normalised residual, the running batch
over its golden envelope, T²/SPE with limits and contributions on click, and the alarm
log with acknowledgement (:mod:`viz._alarms`) and CSV export. Clock time (UTC, for a
``datetime`` trace) or batch time (since the trace's first row) on the x axes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from viz._alarms import AckLog, alarm_log_rows, default_ack_path, rows_to_csv, trace_events
from viz._app_loop import ProjectionView, load_binding_of, register_advice
from viz._data import trace_tags

__all__ = ["register_live"]

_TABLE_STYLE = {"borderCollapse": "collapse", "fontSize": "13px", "margin": "6px 0"}
_CELL = {"border": "1px solid #d9e2ec", "padding": "3px 8px", "textAlign": "left"}


def html_table(rows: list[dict], table_id: str, *, hide: tuple[str, ...] = (), extra=None):
    """Rows as an ``html.Table`` (header from the first row); ``extra(row)`` adds a last cell."""
    from dash import html

    cols = [c for c in rows[0] if c not in hide]
    head = [html.Th(c, style=_CELL) for c in cols] + ([html.Th("", style=_CELL)] if extra else [])
    body = [html.Tr([html.Td(r[c], style=_CELL) for c in cols] + ([html.Td(extra(r), style=_CELL)] if extra else []),
                    className="table-row") for r in rows]
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], id=table_id, style=_TABLE_STYLE)


def _epoch_seconds(t) -> float:
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.datetime64):
        return float((t - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
    return float(t)


def register_live(app, sources, traces, files, *, n_pts: int, refresh_ms: int, missing):
    """Register the live page's callbacks on ``app``; returns its layout function."""
    import dash
    from dash import ALL, Input, Output, State, dcc, html

    from viz import _figures_live as fl
    from viz._data import monitor_view

    acks = AckLog(sources.acks or default_ack_path(sources.trace)) if sources.trace is not None else None
    binding = load_binding_of(sources.binding)
    projections = ProjectionView(sources.trace, binding)
    advice_panel = register_advice(app, sources, traces, binding) if sources.trace is not None else None

    def monitor_ds():
        mon = monitor_view(files.get(sources.monitor))
        if mon is None:
            ds, _ = traces.get()
            if ds is not None and "t2" in ds and "spe" in ds:
                mon = ds
        return mon

    def layout():
        # only the tag names (and which are measured) are read here; the data loads in the
        # callbacks, which run in parallel once the page is up
        tags, measured, clock = ([], [], False) if sources.trace is None else trace_tags(sources.trace,
                                                                                         with_clock=True)
        if not tags:
            note = missing("trace store", "--trace") if sources.trace is None else html.P(
                f"Waiting for the trace store {sources.trace}: it has no complete row yet. Start `twin monitor` "
                "(it creates the store) and reload this page once it has written its first rows.",
                id="live-waiting", className="empty")
            return html.Div([html.H2("Live twin"), note, dcc.Interval(id="live-tick", interval=refresh_ms)])
        xmodes = [{"label": "clock time (UTC)" if clock else "clock time (the trace has elapsed seconds only)",
                   "value": "clock", "disabled": not clock}, {"label": "batch time", "value": "batch"}]
        children = [
            html.H2("Live twin"),
            html.Div(id="live-status", className="status"),
            dcc.Store(id="live-rows", data=0),
            dcc.Store(id="overview-rows", data=None),
            dcc.Store(id="trend-range", data=None),
            dcc.Store(id="trend-shown", data=None),
            html.Div([dcc.Dropdown(id="live-tag", options=tags, value=measured[0], clearable=False,
                                   style={"width": "320px"}),
                      html.Span("x axis:", style={"margin": "0 8px 0 24px"}),
                      dcc.RadioItems(id="live-xmode", options=xmodes, value="clock" if clock else "batch",
                                     inline=True)],
                     style={"display": "flex", "alignItems": "center"}),
            dcc.Graph(id="trend-graph", style={"height": "520px"}),
            dcc.Graph(id="overview-graph", style={"height": "380px"}),
        ]
        if sources.envelope is not None:
            children += [html.P(id="envelope-note", className="empty"),
                         dcc.Graph(id="envelope-graph", style={"height": "400px"}),
                         html.P(id="projection-note", style={"fontSize": "13px"})]
        else:
            children.append(html.P("No golden envelope given, so the running batch is not drawn against one: start "
                                   "with `--envelope MODEL.nc` (a model of `twin golden build`, e.g. "
                                   "out/demo/golden/golden_envelope.nc after `make demo`).",
                                   id="envelope-note", className="empty"))
        # a monitor file, or T²/SPE recorded in the trace store itself (its arrays, not read here)
        if sources.monitor is not None or (Path(sources.trace) / "t2").exists():
            children.append(html.Div([dcc.Graph(id="mspc-graph", style={"height": "460px", "flex": "3"}),
                                      dcc.Graph(id="contrib-graph", style={"height": "460px", "flex": "2"})],
                                     style={"display": "flex"}))
        else:
            children.append(html.P("No T²/SPE data: the trace has no t2/spe and no --monitor was given. Start with "
                                   "`--monitor MONITOR.nc`, a golden-batch monitor (GoldenBatchModel.monitor_aligned "
                                   "merged with BatchPCA.contributions, or MonitorSession.to_dataset); `make demo` "
                                   "writes one to out/demo/views/data/synthetic/monitor.nc.",
                                   id="mspc-note", className="empty"))
        children += [
            *advice_panel(),
            html.H3("Alarm log"),
            html.P(f"Acknowledgements are stored in {acks.path} (append-only JSON lines; a reload or another "
                   "browser shows the same state).", id="alarm-ack-where", style={"fontSize": "12px"}),
            html.Button("export CSV", id="alarm-csv-button"),
            dcc.Download(id="alarm-csv"),
            html.Div(id="alarm-log"),
            dcc.Interval(id="live-tick", interval=refresh_ms),
        ]
        return html.Div(children)

    # zoom/pan goes through a store: a relayout event must not supersede an in-flight trend request
    # (Dash keeps only the newest request of a callback, and plotly fires relayout on its first draw);
    # a new x-axis mode forgets the zoom (its range is in the other axis' units)
    @app.callback(Output("trend-range", "data"), Input("trend-graph", "relayoutData"), Input("live-xmode", "value"),
                  prevent_initial_call=True)
    def _zoom(relayout, _mode):
        from viz._app import _x_range

        if dash.ctx.triggered_id == "live-xmode":
            return None
        x0, x1 = _x_range(relayout)
        if x0 == "keep":
            raise dash.exceptions.PreventUpdate
        return [x0, x1]

    @app.callback(Output("trend-graph", "figure"), Output("live-status", "children"), Output("live-rows", "data"),
                  Output("trend-shown", "data"),
                  Input("live-tick", "n_intervals"), Input("live-tag", "value"), Input("trend-range", "data"),
                  State("live-xmode", "value"), State("trend-shown", "data"))
    def _trend(_n, tag, view, mode, shown):
        ds, _ = traces.get()
        if ds is None:
            raise dash.exceptions.PreventUpdate
        # inputs that change together arrive in one request: skip only a tick that brings nothing new. A tick
        # can supersede a zoom's request in the browser (Dash keeps the newest), so "new" includes the view
        # and the tag, not only the rows
        trig = set(dash.callback_context.triggered_prop_ids.values())
        now = [ds.sizes["time"], tag, view, mode]
        if trig == {"live-tick"} and now == shown:
            raise dash.exceptions.PreventUpdate
        x0, x1 = view if view else (None, None)
        fig = fl.trend_figure(ds, tag, n_out=n_pts, x0=x0, x1=x1, xmode=mode or "clock")
        t = ds["time"].values
        bt, btitle = fl.time_axis(t, "batch")
        when = (np.datetime_as_string(t[-1], unit="s").replace("T", " ") + " UTC, "
                if np.issubdtype(t.dtype, np.datetime64) else "")
        status = (f"{ds.sizes['time']} rows · last sample {when}batch time {bt[-1]:.1f} "
                  f"{btitle[btitle.index('[') + 1:-1]} · {ds.sizes['tag']} tags")
        return fig, status, ds.sizes["time"], now

    @app.callback(Output("overview-graph", "figure"), Output("overview-rows", "data"),
                  Input("live-tick", "n_intervals"), Input("live-xmode", "value"), State("overview-rows", "data"))
    def _overview(_n, mode, shown):
        # fires at page load together with the trend (not after it) and then only when rows arrive
        ds, _ = traces.get()
        key = None if ds is None else f"{ds.sizes['time']}-{mode}"
        if ds is None or key == shown:
            raise dash.exceptions.PreventUpdate
        return fl.overview_figure(ds, n_pts, xmode=mode or "clock"), key

    if sources.envelope is not None:
        @app.callback(Output("envelope-graph", "figure"), Output("envelope-note", "children"),
                      Output("projection-note", "children"),
                      Input("live-rows", "data"), Input("live-tag", "value"))
        def _envelope(_n, tag):
            from workbench.errors import DatasetError

            env = files.get(sources.envelope)
            ds, _ = traces.get()
            if env is None:
                raise dash.exceptions.PreventUpdate
            names = [str(v) for v in env["variable"].values]
            tags = [] if ds is None else [str(t) for t in ds["tag"].values]
            match = fl.envelope_match(env, tags, sources.envelope_map, prefer=tag)
            variable = names[0] if match is None else match[1]
            label, caption = "", None
            try:
                proj = projections.get()
            except DatasetError as exc:
                proj, caption = None, f"The projection file cannot be shown: {exc}"
            if proj is None:
                caption = caption or projections.missing_note()
            elif ds is None or ds.sizes["time"] == 0:
                proj, caption = None, "A projection exists, but the trace has no rows to place it against yet."
            else:
                label, caption = projections.label_and_caption(proj, ds, variable)
            if match is None:
                note = (f"No trace tag measures an envelope variable ({', '.join(names[:6])}), so only the envelope "
                        "is drawn: name the tag with `--envelope-map TAG=VARIABLE`, e.g. "
                        f"`--envelope-map {tags[0] if tags else 'TAG'}={names[0]}`.")
                return (fl.envelope_figure(env, variable=names[0], projection=proj, projection_label=label), note,
                        caption)
            return (fl.envelope_figure(env, trace=ds, variable=match[1], tag=match[0], projection=proj,
                                       projection_label=label), "", caption)

    @app.callback(Output("mspc-graph", "figure"), Input("live-rows", "data"))
    def _mspc(_rows):
        mon = monitor_ds()
        if mon is None:
            return fl.note_figure("no T²/SPE monitor data yet (--monitor)")
        return fl.mspc_figure(mon)

    @app.callback(Output("contrib-graph", "figure"), Input("mspc-graph", "clickData"))
    def _contrib(click):
        mon = monitor_ds()
        if mon is None:
            return fl.note_figure("no T²/SPE monitor data yet (--monitor)")
        if not click:
            return fl.contribution_figure(mon, None)
        pt = click["points"][0]
        cd = pt.get("customdata")
        if cd is None:
            raise dash.exceptions.PreventUpdate
        index, code = (cd[0], cd[1]) if isinstance(cd, list) else (cd, 0)
        return fl.contribution_figure(mon, int(index), statistic="spe" if code == 1 else "t2")

    def alarm_rows():
        ds, _ = traces.get()
        if ds is None or ds.sizes["time"] == 0:
            return []
        t = ds["time"].values
        # advice events have their own panel (and no residual): the alarm log shows alarms
        events = [e for e in trace_events(sources.trace, ds.attrs) if not str(e.get("kind", "")).startswith("ADVICE_")]
        return alarm_log_rows(events, time0=_epoch_seconds(t[0]),
                              clock=bool(np.issubdtype(t.dtype, np.datetime64)), acks=acks.load())

    @app.callback(Output("alarm-log", "children"), Input("live-rows", "data"),
                  Input({"type": "alarm-ack", "key": ALL}, "n_clicks"))
    def _alarm_log(_rows, _clicks):
        trig = dash.ctx.triggered_id
        if isinstance(trig, dict) and trig.get("type") == "alarm-ack" and dash.ctx.triggered[0].get("value"):
            tag, kind, start = trig["key"].split("|")
            acks.acknowledge(trig["key"], tag=tag, test=kind, start=float(start))
        rows = alarm_rows()
        if not rows:
            return html.P(f"No alarm events in this trace so far (the twin writes them to "
                          f"{Path(sources.trace) / 'events.jsonl'}).", id="alarm-log-none")

        def ack_cell(r):
            if r["acknowledged"]:
                return "✓"
            return html.Button("acknowledge", id={"type": "alarm-ack", "key": r["key"]}, className="ack-button")

        return html_table(rows, "alarm-log-table", hide=("key",), extra=ack_cell)

    @app.callback(Output("alarm-csv", "data"), Input("alarm-csv-button", "n_clicks"), prevent_initial_call=True)
    def _alarm_csv(_n):
        name = Path(sources.trace).name.removesuffix(".zarr")
        return dcc.send_string(rows_to_csv(alarm_rows()), f"{name}_alarms.csv")

    return layout
