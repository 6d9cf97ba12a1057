"""Dashboard responsiveness with one day of 1 Hz data for 50 tags (4.32 M samples).

Compares the dashboard's server-side M4 downsampling (``viz.downsample``,
``n_out`` points per line for the visible range) against shipping every sample:

* figure build + JSON serialisation of the 50-tag overview (what the first page
  load sends),
* callback latency of a zoom on one tag (trend figure for a 1 h window),
* time to first meaningful render in headless Chromium: from navigation until
  the overview chart has drawn its 50 lines, with the times at which the page
  layout and the tag trend appeared (skipped when Chromium is missing). The live
  page lays itself out from the tag names alone (``viz.trace_tags``) and
  loads the data in its chart callbacks, which run side by side; before that
  change (layout reading the whole trace, overview chained after the trend) the
  first render took 5.2 s (up to 10 s) on the same data and machine where it now takes
  3–4 s (the overview is drawn as SVG paths: 50 WebGL traces were slow and erratic in
  headless Chromium's software GL),

and records the quality of the downsampled view: the per-tag min and max it
shows against those of the full series (M4 keeps every bin's extremes, so the
error should be 0) and the bytes shipped.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Benchmark

N_TAGS = 50
ROWS_PER_DAY = 86_400


def _write_day(path: Path, rows: int) -> None:
    """One day of 1 Hz rows for 50 tags in the layout ``twin.TraceStore`` writes (bulk Zarr write):
    Zarr v3 with the default (zstd) compression, 1024-row chunks holding every tag."""
    from viz.samples import trace_dataset

    ds = trace_dataset(rows, N_TAGS)
    enc = {v: {"chunks": (1024,) + ds[v].shape[1:]} for v in (*ds.data_vars, "time") if ds[v].dims[:1] == ("time",)}
    ds.to_zarr(path, mode="w", consolidated=False, encoding=enc, zarr_format=3)  # the one Zarr format (v3)


def _browser_first_render(app, timeout_s: float, phases: dict | None = None) -> float:
    """Seconds from navigation to the overview chart having drawn every line.

    ``phases`` (when given) receives the seconds until the page layout (tag selector)
    and the tag trend chart appeared."""
    from playwright.sync_api import sync_playwright

    from tests.viz.conftest import CHROMIUM, CHROMIUM_ARGS, DashServer

    with DashServer(app) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(srv.url + "/live")
            if phases is not None:
                page.wait_for_selector("#live-tag", timeout=timeout_s * 1000)
                phases["layout_s"] = time.perf_counter() - t0
                page.wait_for_function(
                    "() => { const g = document.querySelector('#trend-graph .js-plotly-plot');"
                    " return g && g._fullData && g._fullData.length > 0; }", timeout=timeout_s * 1000)
                phases["trend_s"] = time.perf_counter() - t0
            page.wait_for_function(
                "n => { const g = document.querySelector('#overview-graph .js-plotly-plot');"
                " return g && g._fullData && g._fullData.length >= n && g.querySelector('.main-svg'); }",
                arg=N_TAGS - 1, timeout=timeout_s * 1000)
            return time.perf_counter() - t0
        finally:
            browser.close()


def main(quick: bool = False) -> dict:
    """Run the comparison; ``quick`` uses one repeat and skips the slow full-data browser baseline."""
    import plotly.io as pio

    from twin import open_trace
    from viz import DashboardSources, create_app, trace_tags
    from viz.figures import overview_figure, residual_limit, trend_figure

    bench = Benchmark("dashboard", "1 day × 50 tags at 1 Hz: downsampled (M4) vs every sample")
    tmp = Path(tempfile.mkdtemp(prefix="twin-bench-dashboard-"))
    try:
        t0 = time.perf_counter()
        _write_day(tmp / "day.zarr", ROWS_PER_DAY)
        bench.record("write_trace_s", time.perf_counter() - t0)
        t0 = time.perf_counter()
        ds = open_trace(tmp / "day.zarr")
        bench.record("read_trace_s", time.perf_counter() - t0)
        t0 = time.perf_counter()
        trace_tags(tmp / "day.zarr")
        bench.record("read_tag_names_for_layout_s", time.perf_counter() - t0)
        bench.record("samples", int(ds.sizes["time"] * ds.sizes["tag"]))
        repeats = 1 if quick else 3
        small = ds.isel(time=slice(0, 2000))
        pio.to_json(trend_figure(small, "T1", n_out=500), validate=False)  # warm imports and plotly validators
        pio.to_json(overview_figure(small, 500), validate=False)

        def overview(n_out):
            return lambda: pio.to_json(overview_figure(ds, n_out), validate=False)

        row = bench.compare("overview figure, build + JSON", overview(1500), overview(10**9),
                            candidate_label="downsampled", baseline_label="all samples", repeats=repeats,
                            warmup=0, quality=lambda c, b: {"json_MB_candidate": len(c) / 1e6,
                                                            "json_MB_baseline": len(b) / 1e6})
        # quality: extremes kept per tag
        fig_c = overview_figure(ds, 1500)
        errs = []
        for tr in fig_c.data:
            full = (ds["residual"].sel(tag=tr.name).values.astype(float))
            full = full / residual_limit(ds, tr.name)
            y = np.asarray(tr.y, dtype=float)
            rng = np.nanmax(full) - np.nanmin(full)
            errs.append(max(abs(np.nanmax(y) - np.nanmax(full)), abs(np.nanmin(y) - np.nanmin(full))) / rng)
        bench.record("overview_max_extreme_error_rel", float(max(errs)))
        bench.record("overview_points_candidate", int(sum(len(t.x) for t in fig_c.data)))

        t_day = ds["time"].values
        x0, x1 = str(t_day[3600 * 12]), str(t_day[3600 * 13])

        def zoom(n_out):
            return lambda: pio.to_json(trend_figure(ds, "T1", n_out=n_out, x0=x0, x1=x1), validate=False)

        bench.compare("zoom callback (1 tag, 1 h window)", zoom(1500), zoom(10**9), candidate_label="downsampled",
                      baseline_label="all samples", repeats=repeats, warmup=0)

        def full_view(n_out):
            return lambda: pio.to_json(trend_figure(ds, "T1", n_out=n_out), validate=False)

        bench.compare("tag trend, whole day", full_view(1500), full_view(10**9), candidate_label="downsampled",
                      baseline_label="all samples", repeats=repeats, warmup=0)

        if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
            src = DashboardSources(trace=tmp / "day.zarr")
            phases: dict = {}
            cand = _browser_first_render(create_app(src, refresh_ms=3_600_000), 60, phases)
            bench.record("browser_first_render_s_downsampled", cand)
            bench.record("browser_layout_s_downsampled", phases.get("layout_s"))
            bench.record("browser_trend_s_downsampled", phases.get("trend_s"))
            if not quick:
                base = _browser_first_render(create_app(src, refresh_ms=3_600_000, downsample=False), 300)
                bench.record("browser_first_render_s_all_samples", base)
                bench.record("browser_first_render_speedup", base / cand)
        else:
            bench.record("browser_first_render_s_downsampled", "skipped: chromium not installed")
        bench.record("quick", quick)
        path = bench.write()
        return json.loads(path.read_text()) | {"overview_speedup": row["speedup"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
