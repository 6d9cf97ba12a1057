"""The live page's quality-loop panels: the look-ahead fan's caption and the Advice panel.

The fan itself is drawn on the envelope chart (:func:`viz._figures_live.envelope_figure`,
``projection=``); :class:`ProjectionView` reads ``<trace>/projection.nc`` (re-read when the twin
replaces it) and words its legend label and caption. The Advice panel shows the pending
proposal and the history of the last ones from the trace's event log (:mod:`viz._loop`); with
the twin's binding (``twin dashboard --binding``) an operator confirms or rejects the pending
proposal through :func:`twin.confirm_proposal`, the path of ``twin plant confirm`` (the twin then
checks limits and rates again, writes and audits). Every request to the Dash callback that
does it passes the dashboard's token guard when a token is set (:mod:`viz._app`).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from viz._loop import (
    PROJECTION_FILE,
    advice_history_rows,
    advice_proposals,
    change_text,
    made_at_label,
    pending_proposal,
    projection_caption,
    read_projection,
    when_label,
)

__all__ = ["ProjectionView", "register_advice", "load_binding_of"]

_LOOKAHEAD_DOC = "docs/twin-monitoring.md, 'Look-ahead against the golden envelope'"


def load_binding_of(binding):
    """``binding`` as a loaded twin binding (a YAML path is loaded), or ``None``."""
    if binding is None or not isinstance(binding, str | Path):
        return binding
    from twin import load_binding

    return load_binding(binding)


def _clock_of(ds) -> tuple[float, float, bool]:
    """(first row, last row) on the trace's clock (epoch s for datetime) and whether it is a UTC clock."""
    t = np.asarray(ds["time"].values)
    if np.issubdtype(t.dtype, np.datetime64):
        s = (t[[0, -1]] - np.datetime64(0, "s")) / np.timedelta64(1, "s")
        return float(s[0]), float(s[1]), True
    return float(t[0]), float(t[-1]), False


class ProjectionView:
    """The latest projection of the twin writing ``trace``, cached until the file is replaced."""

    def __init__(self, trace: Path | None, binding=None) -> None:
        self.path = None if trace is None else Path(trace) / PROJECTION_FILE
        self.binding = binding
        self._stamp: int | None = None
        self._ds = None
        self._lock = threading.Lock()

    def get(self):
        """The projection dataset, ``None`` without a file; raises ``DatasetError`` for a bad file."""
        if self.path is None:
            return None
        with self._lock:
            try:
                stamp = self.path.stat().st_mtime_ns
            except OSError:
                self._stamp, self._ds = None, None
                return None
            if stamp != self._stamp:
                self._ds, self._stamp = read_projection(self.path.parent), stamp
            return self._ds

    def interval(self) -> float | None:
        la = getattr(self.binding, "lookahead", None)
        return None if la is None else 60.0 * float(la.every_min)

    def missing_note(self) -> str:
        where = self.path if self.path is not None else f"<trace store>/{PROJECTION_FILE}"
        if self.binding is not None and getattr(self.binding, "lookahead", None) is None:
            return (f"No projection fan: the binding has no `lookahead:` section, so the twin projects nothing "
                    f"(it would write {where}); add one, see {_LOOKAHEAD_DOC}.")
        if self.binding is not None:
            return (f"No projection yet: the twin writes {where} at its first look-ahead "
                    f"(every {self.binding.lookahead.every_min:g} min of plant time).")
        return (f"No projection fan: the twin has written no {where} — its binding has no `lookahead:` section, "
                f"or the first look-ahead is still to come ({_LOOKAHEAD_DOC}).")

    def label_and_caption(self, proj, ds, variable: str) -> tuple[str, str]:
        """The fan's legend label (``20 runs, made at 01:20 UTC``) and the caption under the chart."""
        time0, last, clock = _clock_of(ds)
        label = f"{int(proj.attrs['replications'])} runs, {made_at_label(proj, time0=time0, clock=clock)}"
        caption = projection_caption(proj, time0=time0, clock=clock, last=last, interval=self.interval())
        if variable not in proj.data_vars:
            have = ", ".join(str(v) for v in proj.data_vars)
            caption = f"The projection has no {variable} (it projects {have}), so no fan on this chart. " + caption
        return label, caption


def register_advice(app, sources, traces, binding):
    """Register the Advice panel's callbacks; returns a function giving the panel's children."""
    import dash
    from dash import Input, Output, State, dcc, html

    from viz._alarms import trace_events
    from viz._app_live import html_table
    from workbench.errors import WorkbenchError

    advice = getattr(binding, "advice", None)

    def panel():
        kids = [html.H3("Advice"),
                html.P("Set-point changes the twin proposes to the plant (its `advice:` section, recommend mode) "
                       "wait here for an operator; each step is in the trace's audit log.", style={"fontSize": "12px"}),
                dcc.Store(id="advice-pending-id", data=None),
                html.Div(id="advice-pending")]
        if advice is not None:
            kids.append(html.Div([
                dcc.Input(id="advice-operator", type="text", placeholder="operator name", debounce=False,
                          style={"width": "200px", "marginRight": "8px"}),
                html.Button("Confirm", id="advice-confirm", n_clicks=0, style={"marginRight": "8px"}),
                html.Button("Reject", id="advice-reject", n_clicks=0),
                html.Span(f" writes to {advice.prefix}/confirm on {binding.opcua.url}, as `twin plant confirm` does",
                          style={"fontSize": "12px", "marginLeft": "8px"})],
                style={"margin": "6px 0"}))
            kids.append(html.Div(id="advice-result", style={"margin": "6px 0", "fontWeight": "bold"}))
        else:
            kids.append(html.P("Read-only: to confirm or reject proposals here, start the dashboard with the twin's "
                               "binding, `twin dashboard --binding BINDING.yaml` (its advice: and opcua: sections "
                               "say where to write); or confirm with `twin plant confirm BINDING.yaml --operator NAME`.",
                               id="advice-readonly-note", className="empty"))
            kids.append(html.Div(id="advice-result", style={"display": "none"}))
        kids += [html.H4("Recent proposals"), html.Div(id="advice-history")]
        return kids

    def proposals():
        ds, _ = traces.get()
        if ds is None or ds.sizes["time"] == 0:
            return [], None
        return advice_proposals(trace_events(sources.trace, ds.attrs)), ds

    @app.callback(Output("advice-pending", "children"), Output("advice-pending-id", "data"),
                  Output("advice-history", "children"),
                  Input("live-rows", "data"), Input("live-tick", "n_intervals"), Input("advice-result", "children"))
    def _advice(_rows, _n, _result):
        props, ds = proposals()
        if ds is None:
            raise dash.exceptions.PreventUpdate
        time0, _, clock = _clock_of(ds)
        p = pending_proposal(props)
        if p is None:
            pending = html.P("No proposal is waiting for confirmation.", id="advice-none")
        else:
            rows = [{"set-point": node, "proposed": f"{_num(ch['value'])}{_unit(ch['unit'])}",
                     "now (before the change)": f"{_num(ch['previous'])}{_unit(ch['unit'])}"}
                    for node, ch in p["changes"].items()]
            lines = [html.P(f"Pending proposal, proposed {when_label(p['at'], time0=time0, clock=clock)} "
                            f"by {p['by'] or 'the twin'}:", style={"fontWeight": "bold"}),
                     html_table(rows, "advice-pending-table"),
                     html.P(f"Why: {p['why'] or '–'}", id="advice-why"),
                     html.P(f"Predicted effect: {p['effect'] or '–'}", id="advice-effect")]
            if p["notes"]:
                lines.append(html.P(f"Last confirmation attempt: {p['notes'][-1].get('message', '')}",
                                    style={"fontSize": "12px"}))
            pending = html.Div(lines, id="advice-pending-box")
        rows = advice_history_rows(props, time0=time0, clock=clock)
        history = (html_table(rows, "advice-history-table") if rows else
                   html.P(f"No advice in this trace's event log ({Path(sources.trace) / 'events.jsonl'}) so far: "
                          "the twin logs its proposals there.", id="advice-history-none"))
        return pending, None if p is None else p["id"], history

    if advice is None:
        return panel

    @app.callback(Output("advice-result", "children"), Input("advice-confirm", "n_clicks"),
                  Input("advice-reject", "n_clicks"), State("advice-operator", "value"),
                  State("advice-pending-id", "data"), prevent_initial_call=True)
    def _confirm(_c, _r, operator, pid):
        from twin import confirm_proposal

        reject = dash.ctx.triggered_id == "advice-reject"
        verb = "reject" if reject else "confirm"
        if not (operator or "").strip():
            return f"Not sent: enter your name to {verb} a proposal (the audit log records who did)."
        if not pid:
            return f"Nothing to {verb}: no proposal is pending."
        props, ds = proposals()
        p = next((x for x in props if x["id"] == pid), None)
        what = "; ".join(change_text(k, v) for k, v in p["changes"].items()) if p else "the pending proposal"
        try:
            confirm_proposal(binding, operator, reject=reject, proposal=pid)
        except (WorkbenchError, OSError, TimeoutError) as exc:  # no answer, refused, not pending: said on the page
            # proposal ids start with their plant time in s: name them, never show the number
            text = re.sub(r"\b\d{9,}-\d+\b", "a newer one", str(exc).replace(pid, "the one shown"))
            return f"Not sent: {text}"
        name = " ".join(operator.split())
        return (f"{'Rejected' if reject else 'Confirmed'} ({what}) as {name}: written to {advice.prefix}/confirm. "
                "The twin " + ("ends the proposal" if reject else "checks limits and rate again and writes the "
                                                                   "set-point") + " at its next sample; the outcome "
                "appears in the table below.")

    return panel


def _unit(u: str) -> str:
    return "" if u in ("", "1") else f" {u}"


def _num(v) -> str:
    from viz._tables import fmt

    return fmt(v)
