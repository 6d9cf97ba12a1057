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

Colour maps run from good (green) to bad (red) by default: high utilisation or a
large absolute deviation is red.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import workbench.dataset  # noqa: F401  (registers ds.wb)

__all__ = [
    "Scene",
    "line_scene",
    "line_scene_from_result",
    "reactor_scene",
    "render_png",
    "scene_figure",
    "export_scene_html",
]


@dataclass
class Scene:
    """Meshes with scalars and a shared colour map.

    Attributes
    ----------
    name
        Scene name (``"line"``, ``"reactor"``).
    parts
        ``(label, mesh, opacity)``; every mesh carries point data ``"value"``
        (NaN: drawn grey) except ones with scalars ``None`` drawn in ``color``.
    scalar_label
        Colour-bar title with units.
    clim
        Colour range ``(low, high)``.
    cmap
        Matplotlib colour-map name.
    anchors
        Named 3D points (e.g. station centres); after :func:`render_png`,
        ``pixel_anchors`` holds their ``(column, row)`` in the image.
    """

    name: str
    parts: list[tuple[str, object, float, str | None]] = field(default_factory=list)
    scalar_label: str = "value"
    clim: tuple[float, float] = (0.0, 1.0)
    cmap: str = "RdYlGn_r"
    anchors: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    pixel_anchors: dict[str, tuple[int, int]] = field(default_factory=dict)
    view: str = "iso"

    def add(self, label: str, mesh, value: float | np.ndarray | None, *, opacity: float = 1.0,
            color: str | None = None) -> None:
        """Add a mesh coloured by ``value`` (scalar or per-point array), or plain ``color``."""
        mesh = mesh.triangulate()
        if value is not None:
            v = np.broadcast_to(np.asarray(value, dtype=float), (mesh.n_points,)).copy()
            mesh.point_data["value"] = v
        self.parts.append((label, mesh, opacity, None if value is not None else (color or "#b0b0b0")))


def _clim(values: Sequence[float], default: tuple[float, float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return default
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        return (lo - 1.0, hi + 1.0) if default is None else default
    return lo, hi


def line_scene(
    stations: Sequence[str],
    values: Sequence[float] | Mapping[str, float],
    *,
    buffers: Mapping[str, float] | None = None,
    label: str = "utilisation [1]",
    clim: tuple[float, float] | None = (0.0, 1.0),
    cmap: str = "RdYlGn_r",
) -> Scene:
    """Line layout: stations as boxes in flow order, input buffers as bins, flow arrows.

    Parameters
    ----------
    stations
        Station names in flow order.
    values
        Colour value of each station (utilisation, OEE, deviation …).
    buffers
        Mean input-buffer level per station (drawn as a bin whose height grows with it).
    label
        Colour-bar title with units.
    clim
        Colour range; ``None``: from the data.
    cmap
        Colour map (default green → red).
    """
    import pyvista as pv

    vals = [float(values[s]) for s in stations] if isinstance(values, Mapping) else [float(v) for v in values]
    scene = Scene("line", scalar_label=label, clim=clim or _clim(vals, (0.0, 1.0)), cmap=cmap, view="xy")
    pitch = 3.0
    scene.add("floor", pv.Plane(center=(pitch * (len(stations) - 1) / 2, 0, -0.02),
                                i_size=pitch * len(stations) + 1, j_size=4.0), None, color="#e8e8e8")
    for i, (name, v) in enumerate(zip(stations, vals, strict=True)):
        x = i * pitch
        scene.add(f"station {name}", pv.Box(bounds=(x - 0.8, x + 0.8, -0.8, 0.8, 0.0, 1.2)), v)
        scene.anchors[name] = (x, 0.0, 1.2)
        if buffers is not None and name in buffers:
            h = 0.1 + 0.15 * min(float(buffers[name]), 10.0)
            scene.add(f"buffer {name}", pv.Box(bounds=(x - 1.45, x - 1.0, -0.3, 0.3, 0.0, h)), None, color="#4a6fa5")
        if i < len(stations) - 1:
            arrow = pv.Arrow(start=(x + 0.85, 0, 0.6), direction=(1, 0, 0), scale=pitch - 1.7)
            scene.add(f"flow {name}", arrow, None, color="#555555")
    return scene


def line_scene_from_result(ds, *, kpi: str = "utilisation") -> Scene:
    """Line scene from a line result: station colour = mean ``kpi[station]`` over replications."""
    stations = [str(s) for s in ds["station"].values]
    if "mean" in ds and all(f"{kpi}[{s}]" in set(map(str, ds["kpi"].values)) for s in stations):
        vals = [float(ds["mean"].sel(kpi=f"{kpi}[{s}]")) for s in stations]
    elif kpi == "utilisation" and "state_fraction" in ds:
        vals = [float(ds["state_fraction"].sel(station=s, state="busy").mean()) for s in stations]
    else:
        vals = [float(ds["value"].sel(kpi=f"{kpi}[{s}]").mean()) for s in stations]
    buffers = None
    if "buffer_level" in ds:
        buffers = {s: float(ds["buffer_level"].sel(station=s).mean()) for s in stations}
    return line_scene(stations, vals, buffers=buffers, label=f"{kpi} [1]")


_TEMPERATURE_UNITS = ("K", "degC", "°C", "Cel")


def reactor_scene_from_trace(ds, *, window: int = 60) -> Scene | None:
    """Reactor scene coloured by the twin's live deviation (real − virtual) of its temperatures.

    The measured temperature tags of a twin trace (unit K or °C, with residuals),
    averaged over the last ``window`` rows: the first colours the vessel, the
    second (when there is one) the jacket. A temperature difference is the same
    number in K and °C. Returns ``None`` when the trace has no such tag.
    """
    if ds is None or ds.sizes.get("time", 0) == 0:
        return None
    units = ds.wb.tag_units()
    measured = {str(t) for t in ds["tag"].values if np.isfinite(ds["residual"].sel(tag=t).values).any()}
    tags = [t for t, u in units.items() if u in _TEMPERATURE_UNITS and t in measured]
    if not tags:
        return None
    last = ds["residual"].sel(tag=tags).isel(time=slice(-window, None)).mean("time").values
    span = max(float(np.nanmax(np.abs(last))), 0.1)
    return reactor_scene(float(last[0]), float(last[1]) if len(last) > 1 else None,
                         label="deviation real − virtual [K]", clim=(-span, span))


def reactor_scene(
    vessel: float | Sequence[float],
    jacket: float | Sequence[float] | None = None,
    *,
    label: str = "temperature [K]",
    clim: tuple[float, float] | None = None,
    cmap: str = "coolwarm",
) -> Scene:
    """Jacketed reactor: vessel cylinder coloured by an axial profile, jacket shell around it.

    Parameters
    ----------
    vessel
        Vessel value (temperature, deviation …): a scalar, or an axial profile from
        bottom to top (interpolated over the height).
    jacket
        Jacket value: scalar or axial profile over the jacket height.
    label
        Colour-bar title with units.
    clim
        Colour range (default: the data range).
    cmap
        Colour map (default blue = cold → red = hot).
    """
    import pyvista as pv

    height, radius = 3.0, 1.0
    jacket_top = 0.7 * height
    vessel_arr = np.atleast_1d(np.asarray(vessel, dtype=float))
    jacket_arr = None if jacket is None else np.atleast_1d(np.asarray(jacket, dtype=float))
    all_vals = np.r_[vessel_arr, [] if jacket_arr is None else jacket_arr]
    scene = Scene("reactor", scalar_label=label, clim=clim or _clim(all_vals, None), cmap=cmap, view="iso")

    def profile(mesh, arr, z0, z1):
        z = np.clip((mesh.points[:, 2] - z0) / (z1 - z0), 0.0, 1.0)
        if arr.size == 1:
            return np.full(mesh.n_points, arr[0])
        return np.interp(z, np.linspace(0, 1, arr.size), arr)

    body = pv.CylinderStructured(radius=radius, height=height, center=(0, 0, height / 2), direction=(0, 0, 1),
                                 theta_resolution=48, z_resolution=40).extract_surface(algorithm='dataset_surface')
    scene.add("vessel", body, profile(body, vessel_arr, 0.0, height))
    head = pv.Sphere(radius=radius, center=(0, 0, 0), theta_resolution=48, phi_resolution=24, end_phi=90)
    head.points[:, 2] *= 0.45
    head.points[:, 2] += height
    scene.add("head", head, float(vessel_arr[-1]))
    bottom = pv.Disc(center=(0, 0, 0), inner=0.0, outer=radius, normal=(0, 0, -1), c_res=48)
    scene.add("bottom", bottom, float(vessel_arr[0]))
    if jacket_arr is not None:
        shell = pv.CylinderStructured(radius=[radius * 1.18, radius * 1.25], height=jacket_top,
                                      center=(0, 0, jacket_top / 2 + 0.1), direction=(0, 0, 1),
                                      theta_resolution=48, z_resolution=20).extract_surface(algorithm='dataset_surface')
        # cut a window into the jacket (front quarter) so the vessel stays visible
        angle = np.degrees(np.arctan2(shell.points[:, 1], shell.points[:, 0]))
        shell = shell.extract_points((angle < 20) | (angle > 110), adjacent_cells=False).extract_surface(algorithm='dataset_surface')
        scene.add("jacket", shell, profile(shell, jacket_arr, 0.1, jacket_top + 0.1), opacity=0.9)
        scene.anchors["jacket"] = (-radius * 1.25 * 0.7071, -radius * 1.25 * 0.7071, jacket_top / 2)
    scene.add("stirrer shaft", pv.Cylinder(center=(0, 0, height + 0.6), direction=(0, 0, 1), radius=0.06,
                                           height=1.2), None, color="#666666")
    scene.add("motor", pv.Box(bounds=(-0.25, 0.25, -0.25, 0.25, height + 1.2, height + 1.6)), None, color="#444444")
    front = (radius * np.cos(np.radians(65)), radius * np.sin(np.radians(65)))  # inside the jacket window
    scene.anchors["vessel_bottom"] = (*front, 0.3 * height)
    scene.anchors["vessel_top"] = (*front, 0.92 * height)
    return scene


def render_png(scene: Scene, path: str | Path, *, window_size: tuple[int, int] = (1024, 640),
               show_labels: bool = True) -> Path:
    """Render ``scene`` off screen to a PNG; fills ``scene.pixel_anchors``.

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
        bar = {"title": scene.scalar_label, "color": "black", "vertical": True,
               "position_x": 0.88, "position_y": 0.1, "height": 0.8, "width": 0.06}
        first = True
        for _label, mesh, opacity, color in scene.parts:
            if color is None:
                plotter.add_mesh(mesh, scalars="value", cmap=scene.cmap, clim=scene.clim, opacity=opacity,
                                 nan_color="#bbbbbb", show_scalar_bar=first, scalar_bar_args=bar,
                                 smooth_shading=scene.name == "reactor", lighting=scene.name != "line")
                first = False
            else:
                plotter.add_mesh(mesh, color=color, opacity=opacity, lighting=scene.name != "line")
        if show_labels and scene.name == "line" and scene.anchors:
            pts = np.array([(x, y - 1.3, z) for x, y, z in scene.anchors.values()])
            plotter.add_point_labels(pts, list(scene.anchors), font_size=14, text_color="black",
                                     shape_opacity=0.0, show_points=False, always_visible=True)
        if scene.view == "xy":
            plotter.view_xy()
            plotter.enable_parallel_projection()
        else:
            plotter.view_isometric()
            plotter.camera.azimuth = 20
        plotter.reset_camera()
        if scene.view != "xy":
            plotter.camera.zoom(1.15)
        plotter.render()
        plotter.screenshot(str(path))
        h = window_size[1]
        scene.pixel_anchors = {}
        ren = plotter.renderer
        for name, pt in scene.anchors.items():
            ren.SetWorldPoint(*pt, 1.0)
            ren.WorldToDisplay()
            x, y, _ = ren.GetDisplayPoint()
            scene.pixel_anchors[name] = (int(round(x)), int(round(h - 1 - y)))
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
        if color is None:
            vals = np.asarray(mesh.point_data["value"], dtype=float)
            kw.update(intensity=np.nan_to_num(vals, nan=scene.clim[0]), colorscale=cs, cmin=scene.clim[0],
                      cmax=scene.clim[1], showscale=not bar_done,
                      colorbar={"title": {"text": scene.scalar_label}},
                      hovertemplate=label + "<br>%{intensity:.4g}<extra></extra>")
            bar_done = True
        else:
            kw.update(color=color)
        fig.add_trace(go.Mesh3d(**kw))
    camera = {"eye": {"x": 0.0, "y": -0.6, "z": 2.0}} if scene.view == "xy" else {"eye": {"x": 1.6, "y": -1.6, "z": 1.1}}
    fig.update_layout(scene={"aspectmode": "data", "camera": camera, "xaxis": {"visible": False},
                             "yaxis": {"visible": False}, "zaxis": {"visible": False}},
                      margin={"l": 0, "r": 0, "t": 30, "b": 0}, height=height,
                      title=f"{scene.name} · {scene.scalar_label}")
    return fig


def export_scene_html(scene: Scene, path: str | Path) -> Path:
    """Self-contained interactive HTML of ``scene`` (plotly.js inlined, works offline)."""
    from viz._html import render_report

    return render_report(f"3D scene: {scene.name}", [(scene.scalar_label, scene_figure(scene))], path)
