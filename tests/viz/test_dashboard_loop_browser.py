"""The live page shows the quality loop, in headless Chromium: the look-ahead fan over the golden
envelope with its caption, the pending advice, and an operator's confirmation from the page that
reaches the plant — a real asyncua server (the plant emulator with set-points) — through the same
audited path as ``twin plant confirm``; the twin's :class:`~twin.AdviceChannel` then writes the set-point.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.viz._audit import WAIT, _wait_all_graphs, audit_page, open_page
from tests.viz.conftest import free_port, save_screenshot
from tests.viz.test_live_loop import T0, write_projection

pytestmark = [pytest.mark.browser, pytest.mark.opcua]

ROOT = Path(__file__).resolve().parents[2]
SETPOINTS = [{"node": "SP_T_reactor", "input": "T_sp", "unit": "degC", "low": 40, "high": 90},
             {"node": "SP_feed", "input": "F_B", "unit": "m3/h", "low": 0, "high": 0.5}]


def _gd(graph_id: str) -> str:
    return f"document.querySelector('#{graph_id} .js-plotly-plot')"


@pytest.fixture
def plant():
    """The reactor emulator on 127.0.0.1 with set-point nodes, held at plant time 0 (a gated virtual clock)."""
    from fmu_models import shipped
    from twin import ManualClock
    from twin.emulator import PlantServer, load_plant_scenario

    fmu = shipped("reactor")
    if not fmu.exists():
        pytest.skip("reactor FMU not built; run `twin fmu build` (make setup) first")

    published = threading.Event()

    class HeldClock(ManualClock):
        async def asleep(self, seconds: float) -> None:  # the plant publishes t = 0, then waits
            published.set()
            while seconds > 0:
                await asyncio.sleep(0.05)

    scenario = load_plant_scenario(ROOT / "scenarios" / "reactor_plant.yaml", overrides={
        "drift": [], "faults": [], "fmu": str(fmu), "duration": "2 h", "setpoints": SETPOINTS})
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    server = PlantServer(scenario, endpoint=url, clock=HeldClock(1.8e9))
    server.start_thread()
    assert published.wait(120.0), "the emulator published nothing"  # a bound on the wait, not a timing assert
    assert server.samples_published == 1
    yield url, fmu
    server.stop_thread()


def test_live_page_shows_the_fan_and_confirms_the_pending_advice(browser, dash_server, plant, sample_dir,
                                                                 artefacts, tmp_path):
    from twin import AdviceChannel, TraceStore, load_binding, open_trace, read_events
    from twin.sources import OpcUaWriter
    from viz import DashboardSources, create_app, load_result
    from viz._samples import append_trace

    url, fmu = plant
    binding = load_binding(ROOT / "scenarios" / "reactor_twin.yaml", overrides={"opcua.url": url, "fmu": str(fmu)})
    store = TraceStore(tmp_path / "live.zarr", ["T0", "T1", "tag02"], ["K", "K", "bar"], time_kind="datetime",
                       flush_interval=1e9, flush_rows=10**6)
    append_trace(store, 0, 900, n_tags=3, fault_tag=1, fault_start=300, rng=np.random.default_rng(0))
    env = load_result(sample_dir["envelope"]).sel(variable="T0")
    last = float(open_trace(store.path)["value"].sel(source="real", tag="T0").values[-1])

    def centre(t):  # from the batch's last value, drifting up away from the golden mean
        golden = np.interp(t, env["time"].values, env["envelope_mean"].values)
        return golden + (last - np.interp(900.0, env["time"].values, env["envelope_mean"].values)) + 0.004 * (t - 900.0)

    write_projection(store.path, start=900.0, made_at=T0 + 900.0, p_leave=0.35, time_to_violation=2520.0,
                     replications=20, variables={"T0": "K", "T1": "K"}, specs={"conversion": 0.12}, centre=centre)
    channel = AdviceChannel.from_binding(binding, trace=store, since=T0)  # recommend mode, as the binding says
    errors: list[str] = []
    try:
        prop = channel.propose({"SP_T_reactor": 72.5}, why="look-ahead: conversion below spec",
                               predicted_effect="P(miss conversion) 0.4 -> 0.1", at=T0 + 900.0)
        assert prop.status == "pending", prop.message
        srv = dash_server(create_app(DashboardSources(trace=store.path, envelope=sample_dir["envelope"],
                                                      monitor=sample_dir["monitor"], binding=binding),
                                     refresh_ms=60_000))
        page = open_page(browser, srv.url + "/live", errors)
        try:
            # the fan over the envelope, labelled with its runs and when it was made, and its caption
            page.wait_for_function(f"() => {{ const g = {_gd('envelope-graph')}; return g && g._fullData && "
                                   "g._fullData.some(t => (t.name || '').startsWith('projection 5–95 %')); }",
                                   timeout=WAIT)
            names = page.evaluate(f"() => {_gd('envelope-graph')}._fullData.map(t => t.name || '')")
            assert {"projection 5–95 % (20 runs, made at 00:15 UTC)", "projection 25–75 %", "projection median",
                    "running batch", "golden envelope"} <= set(names)
            legend = page.locator("#envelope-graph .legend").text_content()  # SVG: its text, not innerText
            assert "projection 5–95 % (20 runs, made at 00:15 UTC)" in legend
            caption = page.inner_text("#projection-note")
            assert "probability of leaving the envelope 35 %" in caption
            assert "expected first violation in 42 min" in caption and "missing conversion 12 %" in caption
            # the pending proposal: node, proposed and previous value with the unit, why, effect, when
            page.wait_for_selector("#advice-pending-box", timeout=WAIT)
            box = page.inner_text("#advice-pending-box")
            for text in ("SP_T_reactor", "72.5 degC", "71.85 degC", "Why: look-ahead: conversion below spec",
                         "Predicted effect: P(miss conversion) 0.4 -> 0.1", "proposed 2026-01-01 00:15:00 UTC"):
                assert text in box, (text, box)
            assert "pending" in page.inner_text("#advice-history-table tbody tr")
            _wait_all_graphs(page)
            assert audit_page(page) == []
            save_screenshot(page, "dashboard-live-advice-pending", artefacts)
            # no name, no confirmation
            page.click("#advice-confirm")
            page.wait_for_function("() => document.getElementById('advice-result').innerText.includes('enter your "
                                   "name')", timeout=WAIT)
            with OpcUaWriter(url, timeout=30.0) as op:
                assert op.read("Advice/confirm") == ""
            page.fill("#advice-operator", "alice")
            page.click("#advice-confirm")
            page.wait_for_function("() => document.getElementById('advice-result').innerText.startsWith("
                                   "'Confirmed')", timeout=WAIT)
            assert "SP_T_reactor 71.85 → 72.5 degC" in page.inner_text("#advice-result")
            with OpcUaWriter(url, timeout=30.0) as op:  # the page wrote the confirm node, as twin plant confirm does
                assert op.read("Advice/confirm") == f"{prop.id} alice"
            # the twin's next poll: limits and rate again, then the set-point write, audited by alice
            assert channel.poll_confirmations(T0 + 960.0) == [prop] and prop.status == "written", prop.message
            with OpcUaWriter(url, timeout=30.0) as op:
                assert op.read("SP_T_reactor") == pytest.approx(72.5)
            kinds = [(e["kind"], e["by"]) for e in read_events(store.path)]
            assert kinds == [("ADVICE_PROPOSED", "twin"), ("ADVICE_CONFIRMED", "alice"), ("ADVICE_WRITTEN", "alice")]
            page.reload()
            page.wait_for_selector("#advice-none", timeout=WAIT)
            first = page.locator("#advice-history-table tbody tr").nth(0).inner_text()
            assert "written" in first and "alice" in first and "SP_T_reactor 71.85 → 72.5 degC" in first
            page.wait_for_selector("#alarm-log-none", timeout=WAIT)  # advice events are not alarms
            page.wait_for_function(f"() => {{ const g = {_gd('envelope-graph')}; return g && g._fullData && "
                                   "g._fullData.some(t => (t.name || '').startsWith('projection 5–95 %')); }",
                                   timeout=WAIT)
            _wait_all_graphs(page)
            assert audit_page(page) == []
            text = page.inner_text("#page")
            assert not re.search(r"\d 1(?=\s|$|[;)\]])", text), "the unit '1' on the page"
            save_screenshot(page, "dashboard-live-loop", artefacts)
        finally:
            page.close()
    finally:
        channel.close()
        store.close()
    assert not errors, errors
