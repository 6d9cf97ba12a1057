"""3D scenes on content: deviation per sensor from traces in any temperature unit, labels, colour bar
inside the image, buffer fill columns proportional to level / capacity, ``twin render`` errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from twin_app.cli.main import main
from viz import (
    SENSOR_LOCATIONS,
    line_scene,
    line_scene_from_result,
    reactor_deviation_scene,
    reactor_scene_from_trace,
    render_png,
    scene_figure,
    trace_deviations,
)
from viz._scene_line import STATION_HEIGHT
from workbench.errors import DataError

SIZE = (640, 400)


def _trace_ds(units: dict[str, str], real_minus_virtual: dict[str, float], n: int = 80,
              with_residual: bool = True) -> xr.Dataset:
    """A trace in the twin-trace layout: ``value(time, source, tag)``, ``residual(time, tag)``."""
    tags = list(units)
    rng = np.random.default_rng(1)
    virtual = 50.0 + rng.normal(0, 1, (n, len(tags)))
    dev = np.array([real_minus_virtual.get(t, np.nan) for t in tags])
    real = virtual + np.where(np.isfinite(dev), dev, 0.0)
    data = {"value": (("time", "source", "tag"), np.stack([real, virtual], axis=1),
                      {"units": "mixed", "long_name": "tag value"})}
    if with_residual:
        data["residual"] = (("time", "tag"), np.where(np.isfinite(dev), real - virtual, np.nan),
                            {"units": "mixed", "long_name": "residual real - virtual"})
    return xr.Dataset(data, coords={"time": np.arange(n, dtype=float), "source": ["real", "virtual"], "tag": tags,
                                    "tag_unit": ("tag", [units[t] for t in tags])})


def test_deviation_units_are_converted_to_kelvin():
    """A temperature difference of 0.9 °F is 0.5 K, of 0.3 °C (or UCUM Cel) 0.3 K; K stays K; bar is no temperature."""
    ds = _trace_ds({"TI_top": "degF", "TI_jacket": "degC", "T_mid": "Cel", "T_k": "K", "PI": "bar"},
                   {"TI_top": 0.9, "TI_jacket": 0.3, "T_mid": -0.3, "T_k": 0.2, "PI": 1.0})
    dev = trace_deviations(ds)
    assert dev == pytest.approx({"TI_top": 0.5, "TI_jacket": 0.3, "T_mid": -0.3, "T_k": 0.2})
    # without a residual variable, real − virtual of ``value``
    no_res = trace_deviations(_trace_ds({"TI_top": "degF"}, {"TI_top": 1.8}, with_residual=False))
    assert no_res == pytest.approx({"TI_top": 1.0})
    assert trace_deviations(ds, tags=["TI_top"], unit="mK") == pytest.approx({"TI_top": 500.0})


def test_a_trace_without_temperature_deviations_names_the_tags_expected_and_found():
    ds = _trace_ds({"FI_feed": "m3/h", "TI_in": "degC"}, {"FI_feed": 0.1})  # TI_in: an input, no deviation
    with pytest.raises(DataError) as err:
        trace_deviations(ds)
    text = str(err.value)
    assert "temperature tags (unit K, degC or degF) with real and virtual values" in text
    assert "FI_feed [m3/h]" in text and "TI_in [degC]" in text and "TI_in have no real − virtual deviation" in text
    assert reactor_scene_from_trace(ds) is None  # the dashboard's fallback
    with pytest.raises(DataError, match="tag 'FI_feed' has unit 'm3/h', not a temperature"):
        trace_deviations(ds, tags=["FI_feed"])
    with pytest.raises(DataError, match="did you mean 'TI_in'"):
        trace_deviations(ds, tags=["TI_inn"])


def _rgb(img: np.ndarray, xy, r: int = 3) -> np.ndarray:
    x, y = xy
    return img[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3).mean(0)


def test_reactor_is_coloured_at_each_sensor_labelled_and_its_colour_bar_fits(tmp_path):
    scene = reactor_deviation_scene({"TI_reactor": 0.8, "TI_jacket": -0.6})
    assert scene.clim == (-1.0, 1.0)
    vessel = np.asarray(scene.part("vessel").point_data["value"])
    near = np.linalg.norm(scene.part("vessel").points - np.array(scene.anchors["TI_reactor"]) / 1.03, axis=1) < 0.2
    assert np.allclose(vessel[near], 0.8) and np.isnan(vessel).any()  # coloured at the sensor, grey far from it
    assert np.nanmin(scene.part("jacket").point_data["value"]) == pytest.approx(-0.6)

    png = render_png(scene, tmp_path / "plain.png", window_size=SIZE, show_labels=False)
    img = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    assert img.reshape(-1, 3).std(0).min() > 20  # not one flat colour
    hot, cold = _rgb(img, scene.pixel_anchors["TI_reactor"]), _rgb(img, scene.pixel_anchors["TI_jacket"])
    assert hot[0] - hot[2] > 60 and cold[2] - cold[0] > 40, (hot, cold)  # RdBu_r: + red, − blue

    png = render_png(scene, tmp_path / "reactor.png", window_size=SIZE)
    assert scene.rendered["labels"] == ["TI_reactor\n+0.80 K", "TI_jacket\n-0.60 K"]
    assert scene.rendered["scalar_bar_title"] == "deviation real − virtual [K]"
    left, top, right, bottom = scene.rendered["scalar_bar_title_box"]
    assert 0 <= left < right <= SIZE[0] and 0 <= top < bottom <= SIZE[1]
    img = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    for edge in (img[:, -4:], img[:, :4], img[:4], img[-4:]):  # nothing (no title) runs into the edge
        assert edge.min() > 240


def test_interactive_reactor_draws_unmeasured_wall_grey_not_as_the_lowest_deviation():
    scene = reactor_deviation_scene({"TI_reactor": 0.8, "TI_jacket": -0.6})
    fig = scene_figure(scene)
    vessel = next(t for t in fig.data if t.name == "vessel")
    values = np.asarray(scene.part("vessel").point_data["value"])
    colours = np.asarray(vessel.vertexcolor)
    assert vessel.intensity is None and set(colours[np.isnan(values)]) == {"rgb(154,154,154)"}
    assert "rgb(154,154,154)" not in set(colours[np.isfinite(values)])
    bars = [t for t in fig.data if t.showscale]
    assert len(bars) == 1 and bars[0].colorbar.title.text == "deviation real − virtual<br>[K]"
    assert [a.text for a in fig.layout.scene.annotations] == ["TI_reactor<br>+0.80 K", "TI_jacket<br>-0.60 K"]


def test_sensor_locations_follow_names_or_are_given():
    scene = reactor_deviation_scene({"TI_jacket_in": 0.1, "TI_jacket_out": 0.2, "T1": 0.3, "T2": 0.4},
                                    locations={"T2": "vessel_bottom"})
    z = {t: scene.anchors[t][2] for t in scene.labels}
    assert z["TI_jacket_in"] == pytest.approx(SENSOR_LOCATIONS["jacket_inlet"][2])
    assert z["TI_jacket_out"] == pytest.approx(SENSOR_LOCATIONS["jacket_outlet"][2])
    assert z["T1"] == pytest.approx(SENSOR_LOCATIONS["vessel"][2])
    assert z["T2"] == pytest.approx(SENSOR_LOCATIONS["vessel_bottom"][2])
    with pytest.raises(DataError, match="unknown location 'vessel_tpo'.*did you mean 'vessel_top'"):
        reactor_deviation_scene({"T1": 0.1}, locations={"T1": "vessel_tpo"})


LONG = "final_assembly_and_functional_test"


def test_line_buffers_fill_to_level_over_capacity_and_stations_are_labelled(tmp_path):
    stations = ["cut", LONG, "pack"]
    scene = line_scene(stations, [0.2, 0.9, 0.5], buffers={"cut": 1.0, LONG: 3.0, "pack": 2.0},
                       capacities={"cut": 4, LONG: 6, "pack": None})
    height = {s: scene.part(f"buffer fill {s}").bounds[5] for s in stations}
    assert height["cut"] == pytest.approx(0.25 * STATION_HEIGHT)
    assert height[LONG] == pytest.approx(0.5 * STATION_HEIGHT)
    assert height["pack"] == pytest.approx(2.0 / 3.0 * STATION_HEIGHT)  # unlimited: relative to the largest level
    assert all(scene.part(f"buffer frame {s}").bounds[5] == pytest.approx(STATION_HEIGHT) for s in stations)
    assert "buffer 1.0/4" in scene.labels["cut"] and "buffer 2.0/∞" in scene.labels["pack"]

    png = render_png(scene, tmp_path / "line.png", window_size=(900, 450))
    assert [label.splitlines()[0] for label in scene.rendered["labels"]] == stations
    img = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    fill = _rgb(img, scene.pixel_anchors[f"buffer {LONG}"], r=1)
    assert fill[2] - fill[0] > 50, fill  # the blue fill column is in the picture
    fig = scene_figure(scene)
    texts = [a.text for a in fig.layout.scene.annotations]
    assert [t.split("<br>")[0] for t in texts] == stations and "buffer 3.0/6" in texts[1]
    assert fig.data[1].colorbar.title.text == "utilisation<br>(0–1)"


SMALL_LINE = """\
kind: line
name: small
source: {saturated: true}
stations:
  - {name: a, buffer: 3, process_time: "exponential(mean=1 min)"}
  - {name: b, buffer: 5, process_time: "exponential(mean=0.9 min)"}
experiment: {horizon: 8 h, warmup: 1 h, replications: 2, seed: 3}
"""


def test_line_scene_from_a_simulated_result_uses_its_buffer_capacities(tmp_path):
    from simulation.line import load_scenario, simulate

    (tmp_path / "small.yaml").write_text(SMALL_LINE)
    ds = simulate(load_scenario(tmp_path / "small.yaml"), replications=2, seed=1)
    assert list(ds["buffer_capacity"].values) == [3.0, 5.0]
    scene = line_scene_from_result(ds)
    level = float(ds["buffer_level"].sel(station="b").mean())
    assert scene.part("buffer fill b").bounds[5] == pytest.approx(level / 5.0 * STATION_HEIGHT)
    assert f"buffer {level:.1f}/5" in scene.labels["b"]
    with pytest.raises(DataError, match="no 'speed\\[station\\]' values; station KPIs there: .*utilisation"):
        line_scene_from_result(ds, kpi="speed")


def _write_trace(path, units: dict[str, str], deviation: dict[str, float], n: int = 30):
    from twin import TraceStore

    tags = list(units)
    store = TraceStore(path, tags, [units[t] for t in tags], flush_interval=1e9, overwrite=True)
    dev = np.array([deviation.get(t, np.nan) for t in tags])
    for i in range(n):
        virtual = np.full(len(tags), 60.0 + 0.1 * i)
        real = virtual + np.nan_to_num(dev)
        store.append(float(i), real, virtual, real - virtual + 0 * dev, np.zeros(len(tags)),
                     np.zeros(len(tags), np.uint8), np.zeros(len(tags), np.uint16))
    store.close()
    return path


def test_twin_render_reactor_from_a_trace_in_degF_and_errors_name_the_tags(tmp_path, capsys):
    trace = _write_trace(tmp_path / "f.zarr", {"TI_reactor": "degF", "TI_jacket": "degC", "FI": "m3/h"},
                         {"TI_reactor": 1.8, "TI_jacket": -0.4})
    assert main(["render", "reactor", "--trace", str(trace), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "TI_reactor\\u003cbr\\u003e+1.00 K" in html and "TI_jacket\\u003cbr\\u003e-0.40 K" in html  # plotly JSON

    flows = _write_trace(tmp_path / "flows.zarr", {"FI_feed": "m3/h", "LI": "m3"}, {"FI_feed": 0.1, "LI": 0.0})
    capsys.readouterr()
    assert main(["render", "reactor", "--trace", str(flows), "-o", str(tmp_path / "x.png")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "flows.zarr" in err and "expected temperature tags" in err and "FI_feed [m3/h], LI [m3]" in err
    assert "Traceback" not in err
    assert main(["render", "reactor", "--trace", str(trace), "--sensor", "TI_reactor=top",
                 "-o", str(tmp_path / "x.png")]) == 2
    assert "TAG=LOCATION with LOCATION one of vessel, vessel_top" in " ".join(capsys.readouterr().err.split())
    assert main(["render", "line", "-o", str(tmp_path / "x.png")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "needs --result" in err and "twin run scenarios/assembly_line.yaml -n 5 --out line.nc" in err
