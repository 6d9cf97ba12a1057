"""3D plant scenes with PyVista: a production-line layout and a jacketed reactor vessel.

A :class:`Scene` is a list of PyVista meshes with per-point scalars and one shared
colour map, so the same scene renders

* off screen to PNG (:func:`render_png`, VTK; ``pyvista.OFF_SCREEN``), and
* to an interactive web view (:func:`scene_figure`): the meshes' triangles as
  plotly ``Mesh3d`` traces coloured by the same scalars and colour map. The
  dashboard embeds that figure; :func:`export_scene_html` writes it as a
  self-contained HTML page (plotly.js inlined). PyVista's own ``export_html``
  needs the ``trame`` stack, which the workbench does not install; the plotly
  route works offline and keeps every view in one library.

Both show labels at their anchors (station names and values; each reactor sensor with
its deviation). Builders: :mod:`viz._scene_line` (stations, buffer fill columns) and
:mod:`viz._scene_reactor` (axial profile, or real − virtual deviation per sensor).
Colour maps run from good (green) to bad (red) by default: high utilisation or a
large absolute deviation is red.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

import workbench.dataset  # noqa: F401  (registers ds.wb)
from viz._scene_base import Scene
from viz._scene_line import line_scene, line_scene_from_result
from viz._scene_reactor import (
    SENSOR_LOCATIONS,
    reactor_deviation_scene,
    reactor_scene,
    reactor_scene_from_trace,
    sensor_location,
    temperature_difference,
    trace_deviations,
)

__all__ = [
    "Scene",
    "line_scene",
    "line_scene_from_result",
    "reactor_scene",
    "reactor_scene_from_trace",
    "reactor_deviation_scene",
    "trace_deviations",
    "sensor_location",
    "temperature_difference",
    "SENSOR_LOCATIONS",
    "render_png",
    "scene_figure",
    "export_scene_html",
]

_UNITS_TAIL = re.compile(r" (\[[^\]]*\]|\([^)]*\))$")  # "… [K]" / "… (0–1)": units on their own line
_NAN_RGB = (154, 154, 154)  # grey of unmeasured (NaN) points
_MARGIN = 12  # px kept free at the image edge
_LIGHT = {"ambient": 0.35, "diffuse": 0.65, "specular": 0.05}  # bright enough that colours read true


def _text_width(plotter, text: str, size: int) -> int:
    """Pixel width of ``text`` in VTK's default font (Arial) at ``size`` pt, as ``plotter`` draws it."""
    import pyvista as pv

    actor = pv.Text(text)
    actor.prop.font_size = size
    box = [0.0] * 4
    actor.GetBoundingBox(plotter.renderer, box)
    return int(math.ceil(box[1] - box[0])) + 1


def _bar_layout(plotter, scene: Scene, window_size: tuple[int, int]) -> dict:
    """Vertical colour bar at the right edge with room for its title and tick labels.

    VTK centres the title over the bar's frame; the frame is placed so that the title,
    even centred on the frame's right edge, ends ``_MARGIN`` px inside the image.
    """
    w, h = window_size
    title_size = max(12, round(15 * min(w / 1024, h / 640)))
    label_size = max(10, round(13 * min(w / 1024, h / 640)))
    title_w = _text_width(plotter, scene.scalar_label, title_size)
    ticks = [f"{v:.3g}" for v in (*scene.clim, -abs(scene.clim[1]))]
    label_w = max(_text_width(plotter, t, label_size) for t in ticks)
    frame_w = max(24, round(0.025 * w)) + label_w + 8
    left = w - _MARGIN - max(frame_w + title_w / 2, frame_w)
    return {"title": scene.scalar_label, "color": "black", "vertical": True, "position_x": left / w,
            "position_y": 0.08, "height": 0.78, "width": frame_w / w, "unconstrained_font_size": True,
            "title_font_size": title_size, "label_font_size": label_size, "n_labels": 5, "fmt": "%.3g"}


def _label_points(scene: Scene) -> tuple[np.ndarray, list[str]]:
    names = [n for n in scene.labels if n in scene.anchors]
    if scene.name == "line":  # above each station
        pts = [(x - 0.8, y, z + 0.5) for x, y, z in (scene.anchors[n] for n in names)]
    else:
        pts = [scene.anchors[n] for n in names]
    return np.array(pts, dtype=float).reshape(-1, 3), [scene.labels[n] for n in names]


def _set_camera(plotter, scene: Scene) -> None:
    if scene.view == "xy":
        plotter.view_xy()
        plotter.enable_parallel_projection()
        plotter.reset_camera()
    elif scene.view == "line":  # from the front and above, so buffer columns show their height
        plotter.view_vector((0.0, -1.0, 0.85), viewup=(0.0, 0.0, 1.0))
        plotter.reset_camera()
        plotter.camera.zoom(1.45)
    else:
        plotter.view_isometric()
        plotter.camera.azimuth = 20
        plotter.reset_camera()
        plotter.camera.zoom(1.1)


def _record(plotter, scene: Scene, bar: dict | None, labels_actor, window_size: tuple[int, int]) -> None:
    """Read back what was drawn: label texts, scalar-bar title and its pixel box, anchor pixels."""
    w, h = window_size
    ren = plotter.renderer
    scene.pixel_anchors = {}
    for name, pt in scene.anchors.items():
        ren.SetWorldPoint(*pt, 1.0)
        ren.WorldToDisplay()
        x, y, _ = ren.GetDisplayPoint()
        scene.pixel_anchors[name] = (int(round(x)), int(round(h - 1 - y)))
    info: dict = {"window_size": (w, h), "labels": []}
    if labels_actor is not None:
        data = labels_actor.GetMapper().GetInputAlgorithm().GetInputDataObject(0, 0)
        arr = data.GetPointData().GetAbstractArray("labels")
        info["labels"] = [arr.GetValue(i) for i in range(arr.GetNumberOfValues())]
    if bar is not None and plotter.scalar_bars:
        actor = next(iter(plotter.scalar_bars.values()))
        x0, y0 = actor.GetPositionCoordinate().GetValue()[:2]
        fw, fh = actor.GetPosition2Coordinate().GetValue()[:2]
        prop = actor.GetTitleTextProperty()
        tw = _text_width(plotter, actor.GetTitle(), prop.GetFontSize())
        # title centred on the frame, in the worst case on its right edge (see _bar_layout)
        left, right = x0 * w + fw * w / 2 - tw / 2, x0 * w + fw * w + tw / 2
        top = h - (y0 + fh) * h - prop.GetFontSize() * 2
        info.update(scalar_bar_title=actor.GetTitle(),
                    scalar_bar_title_box=(int(left), int(top), int(math.ceil(right)), int(h - (y0 + fh) * h)))
    scene.rendered = info


def render_png(scene: Scene, path: str | Path, *, window_size: tuple[int, int] = (1024, 640),
               show_labels: bool = True) -> Path:
    """Render ``scene`` off screen to a PNG; fills ``scene.pixel_anchors`` and ``scene.rendered``.

    Labels (``scene.labels``) are drawn at their anchors; the colour bar sits at the right
    edge with its title inside the image.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    import pyvista as pv

    pv.OFF_SCREEN = True
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
    try:
        plotter.set_background("white")
        bar = None
        for _label, mesh, opacity, color in scene.parts:
            if color is None:
                if bar is None:
                    bar = _bar_layout(plotter, scene, window_size)
                plotter.add_mesh(mesh, scalars="value", cmap=scene.cmap, clim=scene.clim, opacity=opacity,
                                 nan_color="#{:02x}{:02x}{:02x}".format(*_NAN_RGB), show_scalar_bar=not plotter.scalar_bars, scalar_bar_args=bar,
                                 smooth_shading=scene.name == "reactor", **_LIGHT)
            else:
                plotter.add_mesh(mesh, color=color, opacity=opacity, **_LIGHT)
        labels_actor = None
        if show_labels and scene.labels:
            pts, texts = _label_points(scene)
            labels_actor = plotter.add_point_labels(
                pts, texts, font_size=max(10, round(12 * window_size[0] / 1024)), text_color="black",
                shape_color="white", shape_opacity=0.8, show_points=False, always_visible=True)
        _set_camera(plotter, scene)
        plotter.render()
        plotter.screenshot(str(path))
        _record(plotter, scene, bar, labels_actor, window_size)
    finally:
        plotter.close()
    return path


def _colorscale(cmap: str, n: int = 11) -> list[list]:
    from matplotlib import colormaps

    cm = colormaps[cmap]
    out = []
    for i in range(n):
        r, g, b, _ = cm(i / (n - 1))
        out.append([i / (n - 1), f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})"])
    return out


def _vertex_colours(vals: np.ndarray, scene: Scene) -> list[str]:
    """``vals`` through the scene's colour map and range; NaN → the PNG's grey."""
    from matplotlib import colormaps

    lo, hi = scene.clim
    rgba = colormaps[scene.cmap](np.clip((np.nan_to_num(vals, nan=lo) - lo) / (hi - lo or 1.0), 0.0, 1.0))
    out = [f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})" for r, g, b, _ in rgba]
    grey = "rgb({},{},{})".format(*_NAN_RGB)
    return [c if np.isfinite(v) else grey for c, v in zip(out, vals, strict=True)]


def scene_figure(scene: Scene, *, height: int = 560):
    """Interactive plotly ``Mesh3d`` view of ``scene`` (rotate, zoom, hover values).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    cs = _colorscale(scene.cmap)
    bar_done = False
    for label, mesh, opacity, color in scene.parts:
        faces = mesh.faces.reshape(-1, 4)[:, 1:] if mesh.n_cells else np.zeros((0, 3), int)
        pts = mesh.points
        kw = dict(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], i=faces[:, 0], j=faces[:, 1], k=faces[:, 2],
                  opacity=opacity, name=label, flatshading=scene.name == "line", hoverinfo="name")
        vals = np.asarray(mesh.point_data["value"], dtype=float) if color is None else None
        if vals is not None and not np.isfinite(vals).all():
            # unmeasured points (NaN) are grey, as in the PNG: per-vertex colours, no intensity
            kw.update(vertexcolor=_vertex_colours(vals, scene),
                      text=[f"{v:.4g}" if np.isfinite(v) else "no sensor near" for v in vals],
                      hovertemplate=label + "<br>%{text}<extra></extra>")
        elif vals is not None:
            kw.update(intensity=vals, colorscale=cs, cmin=scene.clim[0],
                      cmax=scene.clim[1], showscale=not bar_done,
                      colorbar={"title": {"text": _UNITS_TAIL.sub(r"<br>\1", scene.scalar_label), "side": "top"},
                                "len": 0.8},
                      hovertemplate=label + "<br>%{intensity:.4g}<extra></extra>")
            bar_done = True
        else:
            kw.update(color=color)
        fig.add_trace(go.Mesh3d(**kw))
    eyes = {"xy": {"x": 0.0, "y": -0.6, "z": 2.0}, "line": {"x": 0.0, "y": -2.3, "z": 1.7}}
    camera = {"eye": eyes.get(scene.view, {"x": 0.95, "y": 2.0, "z": 1.0})}  # reactor: through the jacket window
    pts, texts = _label_points(scene)
    annotations = [{"x": float(x), "y": float(y), "z": float(z), "text": t.replace("\n", "<br>"), "showarrow": False,
                    "bgcolor": "rgba(255,255,255,0.75)", "font": {"size": 11, "color": "black"}, "yshift": 18}
                   for (x, y, z), t in zip(pts, texts, strict=True)]
    fig.update_layout(scene={"aspectmode": "data", "camera": camera, "xaxis": {"visible": False},
                             "yaxis": {"visible": False}, "zaxis": {"visible": False},
                             "annotations": annotations},
                      margin={"l": 0, "r": 0, "t": 30, "b": 0}, height=height,
                      title=f"{scene.name} · {scene.scalar_label}")
    return fig


def export_scene_html(scene: Scene, path: str | Path) -> Path:
    """Self-contained interactive HTML of ``scene`` (plotly.js inlined, works offline)."""
    from viz._html import render_report

    return render_report(f"3D scene: {scene.name}", [(scene.scalar_label, scene_figure(scene))], path)
