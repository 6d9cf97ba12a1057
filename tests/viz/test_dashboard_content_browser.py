"""What the dashboard pages show, in headless Chromium: traces, legends, table rows, acknowledgements, CSV.

Every page shown also passes :func:`tests.viz._audit.audit_page` (no raw JSON, no epoch
seconds, no unit "1", no empty chart or note without an explanation).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.viz._audit import EPOCH, WAIT, _wait_all_graphs, audit_page, open_page
from tests.viz.conftest import save_screenshot

pytestmark = pytest.mark.browser

T0 = float(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))


def _gd(graph_id: str) -> str:
    return f"document.querySelector('#{graph_id} .js-plotly-plot')"


def _wait_drawn(page, graph_id: str) -> None:
    page.wait_for_function(f"() => {{ const g = {_gd(graph_id)}; return g && g._fullLayout && g._fullData; }}",
                           timeout=WAIT)


def _names(page, graph_id: str) -> list[str]:
    return page.evaluate(f"() => {_gd(graph_id)}._fullData.map(t => t.name || '')")


@pytest.fixture
def live_store(tmp_path):
    """A datetime trace store (900 rows at 1 Hz, T1 drifting) with two alarm events logged by the store."""
    from twin._trace import TraceStore
    from viz._samples import append_trace

    path = tmp_path / "live.zarr"
    store = TraceStore(path, ["T0", "T1", "tag02"], ["K", "K", "bar"], time_kind="datetime",
                       flush_interval=1e9, flush_rows=10**6, attrs={"synthetic": 1})
    append_trace(store, 0, 900, n_tags=3, fault_tag=1, fault_start=300, rng=np.random.default_rng(0))
    store.log_event({"tag": "T1", "kind": "cusum", "start": T0 + 400.0, "end": T0 + 600.0, "magnitude": 2.5,
                     "direction": 1, "unit": "K"})
    store.log_event({"tag": "T1", "kind": "limit", "start": T0 + 700.0, "end": None, "magnitude": 4.0,
                     "direction": 1, "unit": "K"})
    store.close()
    return path


def test_live_page_batch_over_envelope_legends_limits_alarm_ack_and_csv(browser, dash_server, live_store, sample_dir,
                                                                         artefacts, tmp_path):
    from viz import DashboardSources, create_app

    acks = tmp_path / "acks.jsonl"
    srv = dash_server(create_app(DashboardSources(trace=live_store, envelope=sample_dir["envelope"],
                                                  monitor=sample_dir["monitor"], acks=acks), refresh_ms=60_000))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/live", errors)
    try:
        for gid in ("trend-graph", "overview-graph", "envelope-graph", "mspc-graph", "contrib-graph"):
            _wait_drawn(page, gid)
        # the running batch over its envelope (T0 and T1 are envelope variables)
        page.wait_for_function(f"() => {_gd('envelope-graph')}._fullData.some(t => (t.name || '')"
                               ".startsWith('running batch') && t._length === 900)", timeout=WAIT)
        assert {"golden envelope", "golden mean", "running batch"} <= set(_names(page, "envelope-graph"))
        # the overview: one line per measured tag, with a legend
        page.wait_for_function(f"() => {_gd('overview-graph')}._fullData.length === 3", timeout=WAIT)
        assert set(_names(page, "overview-graph")) == {"T0", "T1", "tag02"}
        assert page.locator("#overview-graph .legend").count() == 1
        # T² and SPE with their limit lines, in the legend
        assert _names(page, "mspc-graph") == ["T²", "T² limit", "SPE", "SPE limit"]
        assert page.locator("#mspc-graph .legend .traces").count() == 4
        # clock time by default; batch time on request
        assert page.evaluate(f"() => {_gd('trend-graph')}.layout.xaxis2.title.text") == "clock time (UTC)"
        page.get_by_label("batch time").check()
        page.wait_for_function(f"() => {_gd('trend-graph')}.layout.xaxis2.title.text === 'batch time [min]'",
                               timeout=WAIT)
        page.wait_for_function(f"() => {_gd('overview-graph')}.layout.xaxis.title.text === 'batch time [min]'",
                               timeout=WAIT)
        # the alarm log: newest first, ISO times, acknowledge survives a reload
        page.wait_for_selector("#alarm-log-table", timeout=WAIT)
        rows = page.locator("#alarm-log-table tbody tr")
        assert rows.count() == 2
        assert "2026-01-01 00:11:40 UTC" in rows.nth(0).inner_text() and "limit" in rows.nth(0).inner_text()
        assert str(acks) in page.inner_text("#alarm-ack-where")
        rows.nth(0).get_by_role("button", name="acknowledge").click()
        page.wait_for_function("() => document.querySelectorAll('#alarm-log-table .ack-button').length === 1",
                               timeout=WAIT)
        assert acks.exists() and len(acks.read_text().splitlines()) == 1 and '"tag": "T1"' in acks.read_text()
        save_screenshot(page, "dashboard-live-alarms", artefacts)
        page.reload()
        page.wait_for_selector("#alarm-log-table", timeout=WAIT)
        first = page.locator("#alarm-log-table tbody tr").nth(0)
        assert "✓" in first.inner_text() and first.get_by_role("button").count() == 0
        assert page.locator("#alarm-log-table .ack-button").count() == 1
        # CSV export: what the table shows, the acknowledgement included, no epoch seconds
        with page.expect_download(timeout=WAIT) as dl:
            page.click("#alarm-csv-button")
        csv = open(dl.value.path(), encoding="utf-8").read().splitlines()
        assert dl.value.suggested_filename == "live_alarms.csv"
        assert csv[0].split(",")[:3] == ["tag", "test", "start (UTC)"] and len(csv) == 3
        assert csv[1].startswith("T1,limit,2026-01-01 00:11:40 UTC") and "UTC" in csv[1].split(",")[-1]
        assert not EPOCH.search("\n".join(csv))
        _wait_all_graphs(page)
        assert audit_page(page) == []
    finally:
        page.close()
    assert not errors, errors


def test_result_pages_tables_pareto_bounds_and_labels(browser, dash_server, sample_dir, artefacts):
    from viz import DashboardSources, create_app, load_result
    from viz._tables import recipe_rows, scenario_delta_rows

    results = {"base": load_result(sample_dir["line_base"]), "bigger-buffer": load_result(sample_dir["line_buffer"])}
    srv = dash_server(create_app(DashboardSources(
        scenarios={"base": sample_dir["line_base"], "bigger-buffer": sample_dir["line_buffer"]},
        campaign=sample_dir["campaign"], life=sample_dir["life"]), refresh_ms=60_000))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/scenarios", errors)
    try:
        page.wait_for_selector("#delta-table", timeout=WAIT)
        expect, _ = scenario_delta_rows(results)
        assert page.locator("#delta-table tbody tr").count() == len(expect) > 0
        head = page.inner_text("#delta-table thead")
        for col in ("base", "scenario", "Δ", "95% CI of Δ", "p", "significant"):
            assert col in head
        assert "Welch" in page.inner_text("#delta-method")  # the sample variants have other seeds
        _wait_all_graphs(page)
        assert audit_page(page) == []
        save_screenshot(page, "dashboard-scenarios", artefacts)

        page.click("#nav-campaigns")
        page.wait_for_selector("#recipe-table", timeout=WAIT)
        assert page.locator("#recipe-table tbody tr").count() == len(recipe_rows(load_result(sample_dir["campaign"])))
        assert "temperature [K]" in page.inner_text("#recipe-table thead")
        _wait_drawn(page, "pareto-graph")
        assert "Pareto front" in _names(page, "pareto-graph")
        _wait_all_graphs(page)
        assert audit_page(page) == []
        save_screenshot(page, "dashboard-campaigns", artefacts)

        page.click("#nav-reliability")
        for gid in ("reliability-graph", "availability-graph", "weibull-graph"):
            _wait_drawn(page, gid)
        assert "R(t) confidence bounds" in _names(page, "reliability-graph")
        assert page.evaluate(f"() => {_gd('reliability-graph')}._fullData[0].line.width") > 0  # band edges drawn
        for gid in ("reliability-graph", "availability-graph", "weibull-graph"):
            assert not any("{" in n for n in _names(page, gid)), _names(page, gid)
        assert audit_page(page) == []
        save_screenshot(page, "dashboard-reliability", artefacts)

        page.click("#nav-3d")
        page.wait_for_function(f"() => {{ const g = {_gd('scene-graph')}; return g && g.layout && g.layout.scene &&"
                               " (g.layout.scene.annotations || []).length > 0; }", timeout=WAIT)
        labels = page.evaluate(f"() => {_gd('scene-graph')}.layout.scene.annotations.map(a => a.text)")
        assert [t.split("<br>")[0] for t in labels] == ["cut", "weld", "paint", "pack"]  # a label per station
        assert all("buffer" in t for t in labels[1:])  # with its buffer fill
        assert audit_page(page) == []
        save_screenshot(page, "dashboard-3d", artefacts)
    finally:
        page.close()
    assert not errors, errors


def test_pages_explain_what_is_missing(browser, dash_server, live_store, artefacts):
    """A trace alone: no envelope, no monitor, no other results — every panel says what to give."""
    from viz import DashboardSources, create_app

    srv = dash_server(create_app(DashboardSources(trace=live_store), refresh_ms=60_000))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/live", errors)
    try:
        page.wait_for_selector("#mspc-note", timeout=WAIT)
        assert "--monitor" in page.inner_text("#mspc-note") and "--envelope" in page.inner_text("#envelope-note")
        _wait_all_graphs(page)
        assert audit_page(page) == []
        for path, needle in (("/scenarios", "--scenario"), ("/campaigns", "--campaign"), ("/reliability", "--life")):
            page.click(f"#nav{path.replace('/', '-')}")
            page.wait_for_function("n => document.getElementById('page').innerText.includes(n)", arg=needle,
                                   timeout=WAIT)
            assert audit_page(page) == []
        save_screenshot(page, "dashboard-reliability-missing", artefacts)
    finally:
        page.close()
    # `twin dashboard --wait` on a store twin monitor has not created yet: the page says it waits for it
    later = live_store.parent / "later.zarr"
    srv = dash_server(create_app(DashboardSources(trace=later), refresh_ms=60_000))
    page = open_page(browser, srv.url + "/live", errors)
    try:
        page.wait_for_selector("#live-waiting", timeout=WAIT)
        assert str(later) in page.inner_text("#live-waiting") and "no trace store given" not in page.inner_text("#page")
    finally:
        page.close()
    assert not errors, errors


def test_3d_reactor_follows_the_live_trace(browser, dash_server, tmp_path, artefacts):
    """The reactor scene is re-coloured when rows arrive: the jacket's deviation grows with T1's drift."""
    from twin._trace import TraceStore
    from viz import DashboardSources, create_app
    from viz._samples import append_trace

    path = tmp_path / "grow.zarr"
    store = TraceStore(path, ["T0", "T1"], ["K", "K"], time_kind="datetime", flush_interval=1e9,
                       flush_rows=10**6, attrs={"synthetic": 1})
    rng = np.random.default_rng(3)
    append_trace(store, 0, 600, n_tags=2, fault_tag=1, fault_start=700, rng=rng)
    srv = dash_server(create_app(DashboardSources(trace=path), refresh_ms=500))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/3d", errors)
    # the deviation the scene shows at sensor T1: its label reads "T1<br>+0.52 K"
    t1 = (f"() => {{ const g = {_gd('scene-graph')}; const a = g && g.layout && g.layout.scene &&"
          " (g.layout.scene.annotations || []).find(a => a.text.startsWith('T1<br>')); if (!a) return null;"
          " return parseFloat(a.text.split('<br>')[1]); }")
    try:
        page.wait_for_selector("#scene-choice", timeout=WAIT)
        page.get_by_label("reactor").check()
        page.wait_for_function(f"() => ({t1})() !== null", timeout=WAIT)
        before = page.evaluate(t1)
        append_trace(store, 600, 300, n_tags=2, fault_tag=1, fault_start=700, rng=rng)  # T1 drifts by up to 4 K
        page.wait_for_function(f"b => Math.abs(({t1})()) > Math.abs(b) + 1.0", arg=before, timeout=WAIT)
        save_screenshot(page, "dashboard-3d-reactor-live", artefacts)
    finally:
        page.close()
        store.close()
    assert not errors, errors
