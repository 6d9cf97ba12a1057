"""Figures, downsampling, reports, scenes and the dashboard's HTTP guard (no browser)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from twin import open_trace
from viz import downsample, render_report, report_result
from viz._samples import line_result, write_trace
from viz._scenes import line_scene, reactor_scene, render_png


def test_downsample_keeps_extremes_and_gaps():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 5000.0)
    y[40_000] = 25.0  # a spike must survive
    y[60_000:60_500] = np.nan  # a gap must stay a gap
    xd, yd = downsample(x, y, 1000)
    assert len(xd) <= 1002
    assert np.nanmax(yd) == 25.0
    assert np.isnan(yd).any()
    assert np.all(np.diff(xd) > 0)
    xz, yz = downsample(x, y, 500, x0=10_000, x1=20_000)
    assert xz.min() >= 9_999 and xz.max() <= 20_001


def test_render_report_is_self_contained(tmp_path):
    import plotly.graph_objects as go

    path = render_report("A <b>title</b>", [("one", go.Figure(go.Scatter(y=[1, 2]))),
                                            ("two", go.Figure(go.Bar(y=[3])))], tmp_path / "r.html",
                         attrs={"seed": 3})
    text = path.read_text()
    assert text.count("<script type=\"text/javascript\">") == 1  # plotly.js inlined once
    from plotly.offline import get_plotlyjs

    page = text.replace(get_plotlyjs(), "")
    assert "<script src=" not in page and "http" not in page.split("<main>")[0]  # nothing fetched
    assert "A &lt;b&gt;title&lt;/b&gt;" in text and "Provenance" in text


def test_trace_read_only_while_rows_are_partial(tmp_path):
    path = write_trace(tmp_path / "t.zarr", n=300)
    ds = open_trace(path)
    assert ds.sizes["time"] == 300 and open_trace(path, lazy=True).sizes["time"] == 300
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
    # simulate a writer mid-flush: one data array already longer than time
    import zarr

    g = zarr.open_group(str(path), mode="r+")
    g["residual"].append(np.zeros((5, ds.sizes["tag"])), axis=0)
    assert open_trace(path, lazy=True).sizes["time"] == 300
    assert open_trace(path).sizes["time"] == 300
    assert zarr.open_group(str(path), mode="r")["residual"].shape[0] == 305  # reader did not "repair" it


def test_report_dispatch_and_generic(tmp_path):
    path, how = report_result(line_result({"a": 0.5, "b": 0.9}), tmp_path / "line.html")
    assert path.exists() and path.stat().st_size > 100_000
    import xarray as xr

    ds = xr.Dataset({"x": ("sample", np.arange(10.0), {"units": "m", "long_name": "length"})})
    path, how = report_result(ds, tmp_path / "generic.html")
    assert how == "generic" and "length [m]" in path.read_text()


def _rgb(img, xy, r=4):
    x, y = xy
    a = np.asarray(img.convert("RGB"), dtype=float)[y - r:y + r + 1, x - r:x + r + 1]
    return a.reshape(-1, 3).mean(0)


def test_line_scene_colour_follows_utilisation(tmp_path, artefacts):
    from tests.viz.conftest import publish

    scene = line_scene(["low", "mid", "high"], [0.1, 0.5, 0.95], buffers={"mid": 2.0, "high": 6.0})
    png = render_png(scene, tmp_path / "scene-line.png", window_size=(800, 500), show_labels=False)
    publish(png, artefacts)
    img = Image.open(png)
    arr = np.asarray(img.convert("RGB"))
    assert arr.std() > 10  # not blank
    # sample each station a little below its top-centre anchor (the box face seen from above)
    cols = {n: _rgb(img, (x, y)) for n, (x, y) in scene.pixel_anchors.items()}
    redness = {n: c[0] - c[1] for n, c in cols.items()}  # RdYlGn_r: busy = red, idle = green
    assert redness["low"] < redness["mid"] < redness["high"], cols


def test_reactor_scene_hot_top_is_red(tmp_path, artefacts):
    from tests.viz.conftest import publish

    scene = reactor_scene([300.0, 300.0, 360.0, 360.0], [295.0, 305.0], clim=(295.0, 360.0))
    png = render_png(scene, tmp_path / "scene-reactor.png", window_size=(800, 600))
    publish(png, artefacts)
    img = Image.open(png)
    top, bottom = _rgb(img, scene.pixel_anchors["vessel_top"]), _rgb(img, scene.pixel_anchors["vessel_bottom"])
    # coolwarm: hot = red, cold = blue
    assert top[0] - top[2] > 20 and bottom[2] - bottom[0] > 10, (top, bottom)


def test_scene_figure_and_html(tmp_path):
    from viz import export_scene_html, scene_figure

    scene = line_scene(["a", "b"], [0.2, 0.8])
    fig = scene_figure(scene)
    coloured = [t for t in fig.data if t.intensity is not None]
    assert [float(t.intensity[0]) for t in coloured] == [0.2, 0.8]
    assert export_scene_html(scene, tmp_path / "s.html").stat().st_size > 100_000


def test_token_guard_and_open_bind_refused():
    from viz import DashboardSources, create_app, serve
    from workbench.errors import ConfigError

    client = create_app(DashboardSources(), token="s3cret").server.test_client()
    assert client.get("/live").status_code == 401
    assert client.get("/live", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/live", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    import base64

    basic = base64.b64encode(b"any:s3cret").decode()
    assert client.get("/live", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    r = client.get("/live?token=s3cret")
    assert r.status_code == 302 and "twin_token" in r.headers.get("Set-Cookie", "")
    with pytest.raises(ConfigError, match="--token"):
        serve(DashboardSources(), host="0.0.0.0", port=1)
