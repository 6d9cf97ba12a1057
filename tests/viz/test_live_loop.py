"""The live page's quality loop without a browser: the look-ahead projection file → fan and caption,
the advice audit → pending proposal and history, the operator's confirmation path, the token guard
on the confirm callback and ``twin dashboard --binding``.

The advice events are the real :class:`twin.AdviceChannel`'s (over an in-memory writer standing
in for the plant's OPC UA server), read back with :func:`twin.read_events`;
``tests/viz/test_dashboard_loop_browser.py`` does the same against the real asyncua emulator.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viz._loop import (
    advice_history_rows,
    advice_proposals,
    pending_proposal,
    projection_bands,
    projection_caption,
    read_projection,
    readable_duration,
)
from workbench.errors import ConfigError, DatasetError, WorkbenchError

T0 = float(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))


def write_projection(store: Path, *, start: float = 900.0, offset: float = 0.0, made_at: float = T0 + 900.0,
                     p_leave: float = 0.35, time_to_violation: float = 2520.0, replications: int = 20,
                     variables: dict[str, str] | None = None, specs: dict[str, float] | None = None,
                     quantiles=(0.05, 0.25, 0.5, 0.75, 0.95), t_end: float = 3600.0, level: float = 300.0,
                     centre=None) -> Path:
    """A projection file in the live twin's format, replaced atomically as the twin does.

    The median is ``level + 0.001 t`` (``centre(t)`` when given), the bands widen from the start.
    """
    store.mkdir(parents=True, exist_ok=True)
    variables = variables or {"T1": "K"}
    t = np.arange(start - 60.0, t_end + 1.0, 60.0)  # one point before the start: must not be drawn
    q = np.asarray(quantiles, dtype=float)
    z = {0.05: -1.645, 0.25: -0.674, 0.5: 0.0, 0.75: 0.674, 0.95: 1.645}
    spread = 0.002 * (t - start).clip(0)
    mid = level + 0.001 * t if centre is None else centre(t)
    data = {v: (("quantile", "time"), np.stack([mid + z[float(k)] * spread for k in q]), {"units": u})
            for v, u in variables.items()}
    attrs = {"start": start, "offset": offset, "p_leave": p_leave, "time_to_violation": time_to_violation,
             "replications": replications, "made_at": made_at}
    attrs.update({f"p_miss_{k}": v for k, v in (specs or {}).items()})
    ds = xr.Dataset(data, coords={"quantile": q, "time": ("time", t, {"units": "s"})}, attrs=attrs)
    tmp = store / ".projection.nc.tmp"
    ds.to_netcdf(tmp)
    os.replace(tmp, store / "projection.nc")
    return store / "projection.nc"


# ---------------------------------------------------------------------------------------------- projection
def test_projection_file_to_bands_from_the_start_at_reference_time(tmp_path):
    assert read_projection(tmp_path / "none.zarr") is None
    write_projection(tmp_path / "s.zarr", offset=120.0, quantiles=(0.95, 0.75, 0.5, 0.25, 0.05))  # any order
    proj = read_projection(tmp_path / "s.zarr")
    bands = projection_bands(proj, "T1")
    assert bands["x"][0] == 900.0 + 120.0 and bands["x"][-1] == 3600.0 + 120.0  # from the start on, + offset
    assert bands["unit"] == "K"
    lo, q25, mid, q75, hi = (bands[k] for k in ("q05", "q25", "q50", "q75", "q95"))
    assert np.all(lo <= q25) and np.all(q25 <= mid) and np.all(mid <= q75) and np.all(q75 <= hi)
    assert mid[0] == pytest.approx(300.9) and hi[-1] - lo[-1] == pytest.approx(2 * 1.645 * 0.002 * 2700.0)
    assert projection_bands(proj, "pressure") is None


def test_a_file_that_is_not_a_projection_is_named_with_what_is_missing(tmp_path):
    store = tmp_path / "s.zarr"
    path = write_projection(store, quantiles=(0.05, 0.5, 0.95))
    with pytest.raises(DatasetError, match=r"projection\.nc: not a look-ahead projection: quantiles 0\.25, 0\.75"):
        read_projection(store)
    xr.Dataset({"T1": (("quantile", "time"), np.zeros((5, 2)))},
               coords={"quantile": [0.05, 0.25, 0.5, 0.75, 0.95], "time": [0.0, 1.0]}).to_netcdf(path)
    with pytest.raises(DatasetError, match="no 'start' attr.*no 'made_at' attr"):
        read_projection(store)


def test_fan_on_the_envelope_chart_in_its_units_and_minutes(tmp_path, sample_dir):
    from viz import load_result
    from viz._figures_live import envelope_figure
    from viz._samples import trace_dataset

    write_projection(tmp_path / "s.zarr", variables={"T1": "degC"}, offset=60.0, level=20.0)
    proj = read_projection(tmp_path / "s.zarr")
    env = load_result(sample_dir["envelope"])
    trace = trace_dataset(900, 3)
    fig = envelope_figure(env, trace=trace, variable="T1", tag="T1", projection=proj,
                          projection_label="20 runs, made at 00:15 UTC")
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert "projection 5–95 % (20 runs, made at 00:15 UTC)" in names
    assert {"projection 25–75 %", "projection median", "running batch"} <= set(names)
    median = next(t for t in fig.data if t.name == "projection median")
    assert median.x[0] == pytest.approx((900.0 + 60.0) / 60.0)  # reference time, in the panel's minutes
    assert median.y[0] == pytest.approx(20.0 + 0.9 + 273.15)  # degC → the envelope's K
    assert fig.layout.xaxis.title.text == "batch time [min]"
    # a projection without the chart's variable: no fan, the rest as before
    fig = envelope_figure(env, trace=trace, variable="T0", tag="T0", projection=proj)
    assert not any((t.name or "").startswith("projection") for t in fig.data)


def test_caption_probability_time_to_violation_specs_and_staleness(tmp_path):
    write_projection(tmp_path / "a.zarr", p_leave=0.35, time_to_violation=2520.0, specs={"conversion": 0.12})
    proj = read_projection(tmp_path / "a.zarr")
    text = projection_caption(proj, time0=T0, clock=True, last=T0 + 900.0)
    assert text.startswith("Look-ahead made at 00:15 UTC (20 runs, from batch time 15 min)")
    assert "probability of leaving the envelope 35 %" in text and "expected first violation in 42 min" in text
    assert "probability of missing conversion 12 %" in text and "before the last sample" not in text
    stale = projection_caption(proj, time0=T0, clock=True, last=T0 + 900.0 + 1500.0, interval=600.0)
    assert "STALE: 25 min before the last sample (look-ahead every 10 min)" in stale
    fresh = projection_caption(proj, time0=T0, clock=True, last=T0 + 900.0 + 300.0, interval=600.0)
    assert "STALE" not in fresh and "5.0 min before the last sample" in fresh
    write_projection(tmp_path / "b.zarr", time_to_violation=math.nan, made_at=4800.0, start=4800.0, p_leave=0.0)
    elapsed = projection_caption(read_projection(tmp_path / "b.zarr"), time0=0.0, clock=False, last=4800.0)
    assert "made at batch time 80 min" in elapsed and "no violation expected within the projection" in elapsed
    assert "leaving the envelope 0 %" in elapsed
    assert [readable_duration(s) for s in (30, 90, 2520, 5400)] == ["30 s", "1.5 min", "42 min", "1.5 h"]


# -------------------------------------------------------------------------------------------------- advice
class PlantNodes:
    """In-memory stand-in for the plant's OPC UA nodes (read/write by node name)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {"SP_T_reactor": 71.85, "SP_feed": 0.2, "Advice/confirm": "",
                                           "Advice/proposal": ""}
        self.writes: list[tuple[str, object]] = []

    def read(self, node):
        return self.values.get(node, "")

    def write(self, node, value):
        self.values[node] = value
        self.writes.append((node, value))


SETTINGS = {"mode": "recommend", "confirm_timeout": "5 min",
            "setpoints": [{"node": "SP_T_reactor", "limits": [60, 85], "max_rate": 1.0, "unit": "degC"},
                          {"node": "SP_feed", "limits": [0, 0.4], "max_rate": 0.05, "unit": "m3/h"}]}


@pytest.fixture
def advice(tmp_path):
    from twin import AdviceChannel, AdviceSettings, TraceStore

    settings = AdviceSettings(**SETTINGS)
    store = TraceStore(tmp_path / "t.zarr", ["TI_reactor"], ["degC"], time_kind="datetime")
    plant = PlantNodes()
    binding = SimpleNamespace(advice=settings, opcua=SimpleNamespace(url="opc.tcp://plant:4840"), source_file="b.yaml")
    yield SimpleNamespace(channel=AdviceChannel(settings, plant, trace=store, since=T0), plant=plant, store=store,
                          binding=binding)
    store.close()


def _props(store):
    from twin import read_events

    return advice_proposals(read_events(store.path))


def test_pending_then_superseded_rejected_expired_refused_and_written(advice):
    from twin import confirm_proposal

    ch, plant, b = advice.channel, advice.plant, advice.binding
    a = ch.propose({"SP_T_reactor": 72.5}, why="look-ahead: conversion below spec", predicted_effect="P(miss) 0.1",
                   at=T0 + 600.0)
    (p,) = _props(advice.store)
    assert pending_proposal([p]) == p and p["id"] == a.id and p["by"] == "twin"
    assert p["changes"] == {"SP_T_reactor": {"value": 72.5, "previous": 71.85, "unit": "degC"}}
    assert p["why"] == "look-ahead: conversion below spec" and p["effect"] == "P(miss) 0.1"
    second = ch.propose({"SP_T_reactor": 72.0}, why="newer numbers", at=T0 + 660.0)  # supersedes the first
    confirm_proposal(b, "carol", reject=True, writer=plant)
    assert plant.values["Advice/confirm"] == f"{second.id} carol reject"
    ch.poll_confirmations(T0 + 700.0)
    third = ch.propose({"SP_feed": 0.22}, why="feed", at=T0 + 720.0)
    ch.poll_confirmations(T0 + 720.0 + 400.0)  # confirm_timeout 5 min: expired
    ch.propose({"SP_T_reactor": 95.0}, why="too far", at=T0 + 1200.0)  # outside the limits: refused
    fifth = ch.propose({"SP_T_reactor": 72.5}, why="spec at risk", predicted_effect="+1 %", at=T0 + 1260.0)
    with pytest.raises(WorkbenchError, match=f"is {fifth.id}, not {third.id}"):  # the shown one is gone
        confirm_proposal(b, "dave", proposal=third.id, writer=plant)
    assert plant.values["Advice/confirm"] == ""  # nothing written
    plant.values["Advice/confirm"] = f"{fifth.id}-old bob"  # a stale confirmation: refused, a note, still pending
    ch.poll_confirmations(T0 + 1270.0)
    props = _props(advice.store)
    assert pending_proposal(props)["id"] == fifth.id and "does not name the pending" in props[-1]["notes"][0]["message"]
    pid, rows = confirm_proposal(b, "  alice  ", proposal=fifth.id, writer=plant)
    assert pid == fifth.id and rows[0]["node"] == "SP_T_reactor" and rows[0]["recommended"] == 72.5
    assert plant.values["Advice/confirm"] == f"{fifth.id} alice"
    ch.poll_confirmations(T0 + 1300.0)
    assert plant.values["SP_T_reactor"] == 72.5

    props = _props(advice.store)
    assert [(p["outcome"], p["outcome_by"]) for p in props] == [
        ("superseded", "twin"), ("rejected", "carol"), ("expired", "twin"), ("refused", "twin"),
        ("written", "alice")]
    assert pending_proposal(props) is None
    rows = advice_history_rows(props, time0=T0, clock=True)
    assert [r["outcome"] for r in rows] == ["written", "refused", "expired", "rejected", "superseded"]  # newest first
    assert rows[0]["set-point change"] == "SP_T_reactor 71.85 → 72.5 degC" and rows[0]["by"] == "alice"
    assert rows[0]["proposed (UTC)"] == "2026-01-01 00:21:00 UTC" and rows[0]["settled (UTC)"] == "2026-01-01 00:21:40 UTC"
    assert "outside the limits [60, 85] degC" in rows[1]["details"]
    assert rows[4]["details"].startswith("replaced by proposal")
    assert rows[2]["set-point change"] == "SP_feed 0.2 → 0.22 m3/h"
    elapsed = advice_history_rows(props, time0=T0 + 600.0, clock=False, n=2)
    assert len(elapsed) == 2 and elapsed[0]["proposed, batch time [min]"] == "11"


def test_unsettled_older_proposal_and_confirmed_but_refused_at_the_recheck(advice):
    from twin import confirm_proposal

    ch, plant = advice.channel, advice.plant
    p = ch.propose({"SP_T_reactor": 72.5}, why="w", at=T0 + 600.0)
    confirm_proposal(advice.binding, "erin", writer=plant)
    plant.values["SP_T_reactor"] = 60.0  # the plant moved meanwhile: the rate check at confirmation refuses
    ch.poll_confirmations(T0 + 610.0)
    props = _props(advice.store)
    assert props[0]["id"] == p.id and (props[0]["outcome"], props[0]["outcome_by"]) == ("refused", "erin")
    # a twin restarted: the log holds a proposal nobody settled, and a newer one
    events = [{"tag": "SP_feed", "kind": "ADVICE_PROPOSED", "start": T0 + 700.0, "proposal": "x-1", "value": 0.3,
               "previous": 0.2, "unit": "m3/h", "why": "a", "by": "twin", "result": "pending"},
              {"tag": "SP_feed", "kind": "ADVICE_PROPOSED", "start": T0 + 800.0, "proposal": "y-1", "value": 0.25,
               "previous": 0.2, "unit": "m3/h", "why": "b", "by": "twin", "result": "pending"},
              {"tag": "T1", "kind": "cusum", "start": T0 + 50.0, "end": None}]
    props = advice_proposals(events)
    assert [p["outcome"] for p in props] == ["no outcome logged", "pending"] and pending_proposal(props)["id"] == "y-1"
    assert advice_proposals([]) == [] and pending_proposal([]) is None


def test_confirm_proposal_refuses_without_an_operator_or_a_proposal(advice):
    from twin import confirm_proposal

    b, plant = advice.binding, advice.plant
    with pytest.raises(WorkbenchError, match="no pending proposal on opc.tcp://plant:4840"):
        confirm_proposal(b, "alice", writer=plant)
    advice.channel.propose({"SP_T_reactor": 72.5}, why="w", at=T0 + 600.0)
    for bad in ("", "   ", "bob reject"):
        with pytest.raises(ConfigError, match="name of the operator"):
            confirm_proposal(b, bad, writer=plant)
    assert plant.values["Advice/confirm"] == ""
    with pytest.raises(ConfigError, match="no advice: section"):
        confirm_proposal(SimpleNamespace(advice=None, source_file="x.yaml"), "alice", writer=plant)


# ----------------------------------------------------------------------------------- the dashboard's side
def _confirm_request(pid: str, operator: str) -> dict:
    return {"output": "advice-result.children", "outputs": {"id": "advice-result", "property": "children"},
            "inputs": [{"id": "advice-confirm", "property": "n_clicks", "value": 1},
                       {"id": "advice-reject", "property": "n_clicks", "value": 0}],
            "state": [{"id": "advice-operator", "property": "value", "value": operator},
                      {"id": "advice-pending-id", "property": "data", "value": pid}],
            "changedPropIds": ["advice-confirm.n_clicks"]}


def test_confirm_callback_is_behind_the_token_guard(advice, monkeypatch):
    import twin
    from viz import DashboardSources, create_app

    calls = []
    monkeypatch.setattr(twin, "confirm_proposal", lambda *a, **k: calls.append((a, k)) or ("p-1", []))
    advice.channel.propose({"SP_T_reactor": 72.5}, why="w", at=T0 + 600.0)
    pid = advice.channel.pending.id
    app = create_app(DashboardSources(trace=advice.store.path, binding=advice.binding), token="s3cret")
    client = app.server.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = client.post("/_dash-update-component", json=_confirm_request(pid, "mallory"), headers=headers)
        assert r.status_code == 401
    assert calls == []  # the confirmation never reached the plant
    r = client.post("/_dash-update-component", json=_confirm_request(pid, "alice"),
                    headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and "Confirmed" in r.get_data(as_text=True)
    ((args, kwargs),) = calls
    assert args[1] == "alice" and kwargs == {"reject": False, "proposal": pid}
    r = client.post("/_dash-update-component", json=_confirm_request(pid, " "), headers={"Authorization": "Bearer s3cret"})
    assert "enter your name" in r.get_data(as_text=True) and len(calls) == 1  # no operator, nothing sent


def test_dashboard_binding_option(tmp_path, monkeypatch, capsys):
    import yaml

    from twin_app.cli.main import main

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("TWIN_DASHBOARD_DRY_RUN", "1")
    monkeypatch.setenv("COLUMNS", "250")
    binding = root / "scenarios" / "reactor_twin.yaml"
    assert main(["dashboard", "--binding", str(binding)]) == 0
    assert "advice confirmations go to opc.tcp://127.0.0.1:4840/twin/plant" in capsys.readouterr().out
    doc = yaml.safe_load(binding.read_text())
    del doc["advice"]
    doc["fmu"] = str(root / doc["fmu"])
    (tmp_path / "no_advice.yaml").write_text(yaml.safe_dump(doc))
    assert main(["dashboard", "--binding", str(tmp_path / "no_advice.yaml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no_advice.yaml" in err and "no advice: section" in err and "leave --binding out" in err
    assert main(["dashboard", "--binding", str(tmp_path / "missing.yaml")]) == 2
    assert "--binding: no such file" in " ".join(capsys.readouterr().err.split())


class _EventDir:
    """``log_event`` into ``<dir>/events.jsonl``, as a trace store does (read back with :func:`twin.read_events`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def log_event(self, event: dict) -> None:
        import json

        with (self.path / "events.jsonl").open("a") as fh:
            fh.write(json.dumps(event, default=float) + "\n")


class _RefusingNodes(PlantNodes):
    """The server's last guard: a set-point above 84 is refused (as an EURange would)."""

    def write(self, node, value):
        if node == "SP_T_reactor" and isinstance(value, float) and value > 84.0:
            raise WorkbenchError(f"{node}: BadOutOfRange")
        super().write(node, value)


_STATUS = {"pending": "pending", "written": "written", "refused": "refused", "failed": "write failed",
           "rejected": "rejected", "expired": "expired", "superseded": "superseded"}

_OPS = st.lists(st.one_of(
    st.tuples(st.just("propose"), st.floats(55.0, 90.0), st.sampled_from(["recommend", "closed-loop"])),
    st.tuples(st.just("confirm"), st.sampled_from(["alice", "bob"]), st.sampled_from(["ok", "reject", "stale"])),
    st.tuples(st.just("wait"), st.floats(1.0, 400.0), st.just(""))), min_size=1, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS)
def test_the_pages_reading_of_the_audit_agrees_with_the_channel(ops):
    """Whatever the channel went through, the page's outcomes are the channel's own (its ``Proposal`` records)."""
    import tempfile

    from twin import AdviceChannel, AdviceSettings, read_events

    with tempfile.TemporaryDirectory() as tmp:
        nodes = _RefusingNodes()
        channels = {m: AdviceChannel(AdviceSettings(**{**SETTINGS, "mode": m}), nodes, trace=_EventDir(Path(tmp)),
                                     since=T0) for m in ("recommend", "closed-loop")}
        ch, now, proposals = channels["recommend"], T0 + 60.0, []
        for op, a, b in ops:
            now += 1.0  # one plant second between steps: no two steps share a time
            if op == "propose":
                if b == "closed-loop" and ch.pending is not None:
                    continue  # one channel pending at a time, as in a twin
                proposals.append(channels[b].propose({"SP_T_reactor": round(a, 2)}, why=f"w{len(proposals)}",
                                                     at=now))
            elif op == "confirm" and ch.pending is not None:
                pid = ch.pending.id + ("-old" if b == "stale" else "")
                nodes.values["Advice/confirm"] = f"{pid} {a}" + (" reject" if b == "reject" else "")
                ch.poll_confirmations(now)
            elif op == "wait":
                now += a
                ch.poll_confirmations(now)
        props = advice_proposals(read_events(tmp))
    assert [p["id"] for p in props] == [p.id for p in proposals]
    for seen, p in zip(props, proposals, strict=True):
        assert seen["outcome"] == _STATUS[p.status], (seen, p)
        assert seen["changes"]["SP_T_reactor"]["value"] == p.changes["SP_T_reactor"] and seen["why"] == p.why
        if p.status in ("written", "rejected"):
            assert seen["outcome_by"] == p.confirmed_by
    assert (pending_proposal(props) or {}).get("id") == (ch.pending.id if ch.pending is not None else None)


def test_projection_view_says_why_there_is_no_fan_and_when_it_is_stale(tmp_path):
    from viz._app_loop import ProjectionView
    from viz._samples import trace_dataset

    store = tmp_path / "run.zarr"
    no_lookahead = ProjectionView(store, SimpleNamespace(lookahead=None))
    assert no_lookahead.get() is None
    assert "the binding has no `lookahead:` section" in no_lookahead.missing_note()
    assert str(store / "projection.nc") in no_lookahead.missing_note()
    later = ProjectionView(store, SimpleNamespace(lookahead=SimpleNamespace(every_min=10.0)))
    assert "at its first look-ahead (every 10 min of plant time)" in later.missing_note()
    assert "no `lookahead:` section, or the first look-ahead is still to come" in ProjectionView(store).missing_note()
    write_projection(store, made_at=T0 + 100.0, variables={"T0": "K"})
    proj = later.get()
    assert proj is not None and later.get() is proj  # cached until the twin replaces the file
    trace = trace_dataset(900, 3)  # last row at 00:14:59 UTC, 13 min after the projection: > 2 × 5 min
    label, caption = ProjectionView(store, SimpleNamespace(lookahead=SimpleNamespace(every_min=5.0))) \
        .label_and_caption(proj, trace, "T1")
    assert label == "20 runs, made at 00:01:40 UTC"
    assert caption.startswith("The projection has no T1 (it projects T0), so no fan on this chart.")
    assert "STALE: 13 min before the last sample (look-ahead every 5.0 min)" in caption
    write_projection(store, made_at=T0 + 880.0, variables={"T0": "K"})
    assert later.get().attrs["made_at"] == T0 + 880.0  # the replaced file is read again
