"""The dashboard in headless Chromium: pages load cleanly, charts have data, live updates, T² click."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.viz.conftest import save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_sources(sample_dir):
    from viz import DashboardSources

    return DashboardSources(trace=sample_dir["trace"], envelope=sample_dir["envelope"], monitor=sample_dir["monitor"],
                            scenarios={"base": sample_dir["line_base"], "bigger-buffer": sample_dir["line_buffer"]},
                            campaign=sample_dir["campaign"], life=sample_dir["life"])


def _open(browser, url, errors):
    page = browser.new_page()
    page.on("console", lambda m: errors.append(f"{url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{url}: {e}"))
    page.goto(url)
    return page


def _points(page, graph_id):
    """Number of drawn data points (scatter points/line vertices, bars, 3D meshes) in a graph."""
    return page.evaluate(
        """id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot'); if (!gd || !gd._fullData) return 0;
                   return (gd._fullData || []).reduce((n, t) => n + (t._length || (t.x && t.x.length) || 0), 0); }""",
        graph_id)


@pytest.mark.parametrize("path,graphs", [
    ("/live", ["trend-graph", "overview-graph", "envelope-graph", "mspc-graph"]),
    ("/scenarios", ["kpi-graph", "wip-graph", "gantt-graph", "states-graph"]),
    ("/campaigns", ["history-graph", "pareto-graph", "importance-graph", "recipe-graph"]),
    ("/reliability", ["reliability-graph", "availability-graph", "weibull-graph"]),
    ("/3d", ["scene-graph"]),
])
def test_page_loads_with_data_and_no_console_errors(browser, dash_server, app_sources, artefacts, path, graphs):
    from viz import create_app

    srv = dash_server(create_app(app_sources, refresh_ms=60_000))
    errors: list[str] = []
    page = _open(browser, srv.url + path, errors)
    try:
        for gid in graphs:
            page.wait_for_selector(f"#{gid} .main-svg", timeout=30_000)
            page.wait_for_function("id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
                                   " return g && g.data && g.data.length > 0; }", arg=gid, timeout=30_000)
            assert _points(page, gid) > 0, f"{gid} on {path} has no data"
        if path == "/3d":  # the off-screen PyVista render, embedded as PNG
            page.click("#scene-png-button")
            page.wait_for_selector("#scene-png-img", timeout=60_000)
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
    page = _open(browser, srv.url + "/live", errors)
    try:
        page.wait_for_selector("#live-status", timeout=30_000)
        page.wait_for_function("() => document.getElementById('live-status').innerText.startsWith('600 rows')",
                               timeout=30_000)
        real_len = ("() => { const g = document.querySelector('#trend-graph .js-plotly-plot');"
                    " const t = g._fullData.find(t => t.name === 'real'); return t._length; }")
        assert page.evaluate(real_len) == 600
        # a replay appends while the page is open
        for k in range(3):
            append_trace(store, 600 + 200 * k, 200, n_tags=3, fault_tag=1, fault_start=700, rng=rng)
            time.sleep(0.3)
        page.wait_for_function("() => document.getElementById('live-status').innerText.startsWith('1200 rows')",
                               timeout=30_000)
        page.wait_for_function(real_len.replace("return t._length;", "return t._length === 1200;"), timeout=30_000)
        save_screenshot(page, "dashboard-live-updated", artefacts)

        # click the largest T² point → its contributions appear
        page.wait_for_selector("#mspc-graph .scatterlayer .trace .points path", timeout=30_000)
        page.locator("#mspc-graph").scroll_into_view_if_needed()
        info = page.evaluate("""() => { const gd = document.querySelector('#mspc-graph .js-plotly-plot');
            const cd = gd.calcdata[0]; let k = 0;
            for (let i = 1; i < cd.length; i++) if (cd[i].y > cd[k].y) k = i;
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
            return {k: k, px: r.left + xa._offset + xa.c2p(cd[k].x), py: r.top + ya._offset + ya.c2p(cd[k].y)}; }""")
        page.mouse.move(info["px"], info["py"])
        page.mouse.click(info["px"], info["py"])
        page.wait_for_function("() => { const g = document.querySelector('#contrib-graph .js-plotly-plot');"
                               " return g && g.data && g.data.length && g.data[0].type === 'bar'; }", timeout=30_000)
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
