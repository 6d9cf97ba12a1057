"""The dashboard in headless Chromium: pages load cleanly, charts have data, live updates, T² click."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.viz._audit import open_page
from tests.viz.conftest import save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_sources(sample_dir, line_tour):
    from viz import DashboardSources

    return DashboardSources(trace=sample_dir["trace"], envelope=sample_dir["envelope"], monitor=sample_dir["monitor"],
                            scenarios={"base": sample_dir["line_base"], "bigger-buffer": sample_dir["line_buffer"]},
                            campaign=sample_dir["campaign"], life=sample_dir["life"], line_trace=line_tour["trace"])


def _points(page, graph_id):
    """Number of drawn data points (scatter points/line vertices, bars, 3D meshes) in a graph."""
    return page.evaluate(
        """id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot'); if (!gd || !gd._fullData) return 0;
                   return (gd._fullData || []).reduce((n, t) => n + (t._length || (t.x && t.x.length) || 0), 0); }""",
        graph_id)


@pytest.mark.parametrize("path,graphs", [
    ("/live", ["trend-graph", "overview-graph", "envelope-graph", "mspc-graph"]),
    ("/line", ["line-gantt-graph", "line-buffer-graph", "line-forecast-graph"]),
    ("/scenarios", ["kpi-graph", "wip-graph", "gantt-graph", "states-graph"]),
    ("/campaigns", ["history-graph", "pareto-graph", "importance-graph", "recipe-graph"]),
    ("/reliability", ["reliability-graph", "availability-graph", "weibull-graph"]),
    ("/3d", ["scene-graph"]),
])
def test_page_loads_with_data_and_no_console_errors(browser, dash_server, app_sources, artefacts, path, graphs):
    from viz import create_app

    srv = dash_server(create_app(app_sources, refresh_ms=60_000))
    errors: list[str] = []
    page = open_page(browser, srv.url + path, errors)
    try:
        for gid in graphs:
            page.wait_for_selector(f"#{gid} .main-svg", timeout=90_000)
            page.wait_for_function("id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
                                   " return g && g.data && g.data.length > 0; }", arg=gid, timeout=90_000)
            assert _points(page, gid) > 0, f"{gid} on {path} has no data"
        if path == "/line":  # the real tour's drift alarm on the press is listed
            page.wait_for_selector("#line-alarm-table", timeout=90_000)
            assert "press.process_time" in page.inner_text("#line-alarm-table")
        if path == "/3d":  # the off-screen PyVista render, embedded as PNG
            page.click("#scene-png-button")
            page.wait_for_selector("#scene-png-img", timeout=120_000)
            assert page.evaluate("() => document.getElementById('scene-png-img').naturalWidth") == 1024
        save_screenshot(page, f"dashboard{path.replace('/', '-')}", artefacts)
    finally:
        page.close()
    assert not errors, errors


def test_live_page_updates_while_trace_grows_and_t2_click_shows_contributions(
        browser, dash_server, tmp_path, sample_dir, artefacts):
    from twin._trace import TraceStore
    from viz import DashboardSources, create_app
    from viz._samples import append_trace

    store_path = tmp_path / "live.zarr"
    store = TraceStore(store_path, ["T0", "T1", "tag02"], ["K", "K", "bar"], time_kind="datetime",
                       flush_interval=1e9, flush_rows=10**6, attrs={"synthetic": 1})
    rng = np.random.default_rng(0)
    append_trace(store, 0, 600, n_tags=3, fault_tag=1, fault_start=10**9, rng=rng)
    app = create_app(DashboardSources(trace=store_path, monitor=sample_dir["monitor"]), refresh_ms=500)
    srv = dash_server(app)
    errors: list[str] = []
    page = open_page(browser, srv.url + "/live", errors)
    try:
        page.wait_for_selector("#live-status", timeout=90_000)
        page.wait_for_function("() => document.getElementById('live-status').innerText.startsWith('600 rows')",
                               timeout=90_000)
        real_len = ("() => { const g = document.querySelector('#trend-graph .js-plotly-plot');"
                    " const t = g && g._fullData && g._fullData.find(t => t.name === 'real');"
                    " return t ? t._length : -1; }")
        # status and chart come from one callback, but plotly draws the chart a moment later
        page.wait_for_function(real_len.replace("return t ? t._length : -1;", "return t && t._length === 600;"),
                               timeout=90_000)
        assert page.evaluate(real_len) == 600
        # a replay appends while the page is open
        for k in range(3):
            append_trace(store, 600 + 200 * k, 200, n_tags=3, fault_tag=1, fault_start=700, rng=rng)
            time.sleep(0.3)
        page.wait_for_function("() => document.getElementById('live-status').innerText.startsWith('1200 rows')",
                               timeout=90_000)
        page.wait_for_function(real_len.replace("return t ? t._length : -1;", "return t && t._length === 1200;"),
                               timeout=90_000)
        save_screenshot(page, "dashboard-live-updated", artefacts)
        # zoom: the server re-samples the visible window only, and the next rows keep that window
        zoom = """() => { const gd = document.querySelector('#trend-graph .js-plotly-plot');
            const x = gd._fullData.find(t => t.name === 'real').x;
            window.Plotly.relayout(gd, {'xaxis.range': [x[100], x[300]]}); }"""
        in_window = ("() => { const gd = document.querySelector('#trend-graph .js-plotly-plot');"
                     " const t = gd._fullData.find(t => t.name === 'real');"
                     " return t._length > 0 && t._length < 260; }")
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page.evaluate(zoom)
        try:
            page.wait_for_function(in_window, timeout=90_000)
        except PlaywrightTimeout:  # once in a full CI run the zoom never reached the server; zoom again
            page.evaluate(zoom)
            page.wait_for_function(in_window, timeout=90_000)
        append_trace(store, 1200, 100, n_tags=3, fault_tag=1, fault_start=700, rng=rng)
        page.wait_for_function("() => document.getElementById('live-status').innerText.startsWith('1300 rows')",
                               timeout=90_000)
        assert page.evaluate(in_window)

        # click the largest T² point → its contributions appear
        page.wait_for_selector("#mspc-graph .scatterlayer .trace .points path", timeout=90_000)
        page.locator("#mspc-graph").scroll_into_view_if_needed()
        info = page.evaluate("""() => { const gd = document.querySelector('#mspc-graph .js-plotly-plot');
            const cd = gd.calcdata[0]; let k = 0;
            for (let i = 1; i < cd.length; i++) if (cd[i].y > cd[k].y) k = i;
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
            return {k: k, px: r.left + xa._offset + xa.c2p(cd[k].x), py: r.top + ya._offset + ya.c2p(cd[k].y)}; }""")
        page.mouse.move(info["px"], info["py"])
        page.mouse.click(info["px"], info["py"])
        page.wait_for_function("() => { const g = document.querySelector('#contrib-graph .js-plotly-plot');"
                               " return g && g.data && g.data.length && g.data[0].type === 'bar'; }", timeout=90_000)
        title = page.evaluate("() => document.querySelector('#contrib-graph .js-plotly-plot').layout.title.text")
        bars = page.evaluate("() => document.querySelector('#contrib-graph .js-plotly-plot').data[0].x")
        mon = __import__("viz").load_result(sample_dir["monitor"])
        expect = mon["t2_contribution"].isel(time=info["k"])
        top = str(expect["variable"].values[int(np.argmax(np.abs(expect.values)))])
        assert "T²" in title and bars[0] == top  # the largest contribution of the clicked point comes first
        save_screenshot(page, "dashboard-t2-contributions", artefacts)
    finally:
        page.close()
        store.close()
    assert not errors, errors


def test_line_page_updates_while_the_line_twin_runs(browser, dash_server, tmp_path, artefacts):
    """The real line twin follows the emulated line in-process; the page follows its trace store."""
    from twin.line import LinePlant, LineTwin, load_line_binding, load_line_plant
    from viz import DashboardSources, create_app

    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    b = load_line_binding(scenarios / "assembly_line_twin.yaml")
    b = b.model_copy(update={"forecast": b.forecast.model_copy(update={"replications": 5})})
    plant = LinePlant.from_scenario(load_line_plant(scenarios / "assembly_line_twin_plant.yaml"), duration=7200.0)
    store = tmp_path / "line.zarr"
    twin = LineTwin(b, trace=store, time_kind="elapsed", flush_interval=1e9)
    frames = iter(plant.frames())

    def follow(until: float) -> None:
        for t, values in frames:
            twin.step(t, values)
            if t >= until:
                break
        twin.store.flush()

    follow(3600.0)
    srv = dash_server(create_app(DashboardSources(line_trace=store), refresh_ms=500))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/line", errors)
    try:
        page.wait_for_function("() => { const s = document.getElementById('line-status');"
                               " return s && s.innerText.startsWith('721 rows'); }", timeout=90_000)
        assert "3 forecasts" in page.inner_text("#line-status")
        for gid in ("line-gantt-graph", "line-buffer-graph", "line-forecast-graph"):
            page.wait_for_function("id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
                                   " return g && g._fullData && g._fullData.length > 0; }", arg=gid, timeout=90_000)
            assert _points(page, gid) > 0, gid
        median = ("() => document.querySelector('#line-forecast-graph .js-plotly-plot')._fullData"
                  ".find(t => t.name === 'forecast median')._length")
        assert page.evaluate(median) == 3
        follow(7200.0)  # the line runs on while the page is open
        page.wait_for_function("() => document.getElementById('line-status').innerText.startsWith('1441 rows')",
                               timeout=90_000)
        page.wait_for_function(median.replace("._length", "._length === 5"), timeout=90_000)
        gantt_end = page.evaluate("""() => { const g = document.querySelector('#line-gantt-graph .js-plotly-plot');
            return Math.max(...g._fullData.map(t => Math.max(...Array.from(t.base, (b, i) => b + t.x[i])))); }""")
        assert gantt_end == pytest.approx(2.0, abs=1e-3)  # the Gantt reaches the plant clock now (2 h)
        save_screenshot(page, "dashboard-line", artefacts)
    finally:
        page.close()
        twin.close()
    assert not errors, errors


def test_every_page_on_real_producer_outputs(browser, dash_server, real_outputs, line_tour, artefacts):
    """One pass over all pages fed by the real producers (twin, golden_batch, simulation, optimization):
    every chart has data, and every page passes the audit (no raw JSON, epoch seconds, unit "1" or
    unexplained empty panel)."""
    from tests.viz._audit import _wait_all_graphs, audit_page
    from viz import DashboardSources, create_app

    r = real_outputs
    # the reactor twin's TI_reactor (degC) measures the golden model's reactor temperature (K)
    sources = DashboardSources(trace=r["trace"], envelope=r["envelope"], monitor=r["monitor"],
                               scenarios={"base": r["assembly_line"], "big-buffers": r["assembly_line_big_buffers"]},
                               campaign=r["campaign"], life=r["life"], life_fit=r["life_fit"],
                               line_trace=line_tour["trace"], envelope_map={"TI_reactor": "temperature"})
    srv = dash_server(create_app(sources, refresh_ms=60_000))
    errors: list[str] = []
    page = open_page(browser, srv.url + "/live", errors)
    pages = {"/live": ["trend-graph", "overview-graph", "envelope-graph", "mspc-graph"],
             "/line": ["line-gantt-graph", "line-buffer-graph", "line-forecast-graph"],
             "/scenarios": ["kpi-graph", "wip-graph", "gantt-graph", "states-graph"],
             "/campaigns": ["history-graph", "importance-graph", "recipe-graph"],
             "/reliability": ["reliability-graph", "availability-graph", "weibull-graph"],
             "/3d": ["scene-graph"]}
    try:
        for path, graphs in pages.items():
            page.click(f"#nav{path.replace('/', '-')}")
            for gid in graphs:
                page.wait_for_function("id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
                                       " return g && g._fullData && g._fullData.length > 0; }", arg=gid,
                                       timeout=90_000)
                assert _points(page, gid) > 0, f"{gid} on {path} has no data"
            if path == "/live":  # the running batch over the envelope, in K
                page.wait_for_function("() => document.querySelector('#envelope-graph .js-plotly-plot')._fullData"
                                       ".some(t => t.name === 'running batch (TI_reactor)' && t._length > 0)",
                                       timeout=90_000)
            _wait_all_graphs(page)
            assert audit_page(page) == [], path
            save_screenshot(page, f"dashboard-real{path.replace('/', '-')}", artefacts)
    finally:
        page.close()
    assert not errors, errors


def _trace_ys(page, graph_id):
    """Name → y values of every drawn trace of a graph."""
    return page.evaluate(
        """id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');
                   return Object.fromEntries(gd._fullData.filter(t => t.name).map(t => [t.name, Array.from(t.y)])); }""",
        graph_id)


def test_campaign_page_shows_the_best_recipe_of_a_real_campaign_against_its_envelope(
        browser, dash_server, real_outputs, artefacts, tmp_path):
    """A real Optuna campaign's trials.nc alone (no --envelope): the best recipe over the campaign's own
    band; with a golden-batch --envelope on T: over that envelope, with its mean."""
    import golden_batch as gb
    from viz import DashboardSources, create_app
    from viz._data import load_result
    from workbench.dataset import write_netcdf

    ds = load_result(real_outputs["campaign"])
    label = f"best recipe (trial {int(ds.attrs['best_trajectory_trial'])})"
    hist = gb.make_reactor_history(5, seed=4, duration=4 * 3600.0, interval=240.0)
    golden = gb.Envelope(k=3.0, variables=["T"]).fit(gb.Aligner("elapsed", n_points=61).fit_transform(hist))
    golden_path = write_netcdf(golden.to_dataset(), tmp_path / "golden_T.nc")
    errors: list[str] = []
    for envelope, band, shot in ((None, "campaign envelope", "dashboard-campaigns-own-envelope"),
                                 (golden_path, "golden envelope", "dashboard-campaigns-golden-envelope")):
        srv = dash_server(create_app(DashboardSources(campaign=real_outputs["campaign"], envelope=envelope),
                                     refresh_ms=60_000))
        page = open_page(browser, srv.url + "/campaigns", errors)
        try:
            page.wait_for_function("() => { const g = document.querySelector('#recipe-graph .js-plotly-plot');"
                                   " return g && g._fullData && g._fullData.length >= 3; }", timeout=90_000)
            ys = _trace_ys(page, "recipe-graph")
            np.testing.assert_allclose(np.asarray(ys[label], dtype=float), ds["best_T"].values)
            if envelope is None:
                lower = np.asarray([np.nan if v is None else v for v in ys[band]], dtype=float)
                np.testing.assert_allclose(lower, ds["envelope_lower_T"].values)
                assert "golden mean" not in ys
            else:
                np.testing.assert_allclose(np.asarray(ys["golden mean"], dtype=float), golden.mean_[:, 0])
                assert band in ys
            title = page.evaluate("() => document.querySelector('#recipe-graph .js-plotly-plot').layout.title.text")
            assert title == f"{label}: T against the {band}"
            save_screenshot(page, shot, artefacts)
        finally:
            page.close()
    assert not errors, errors
