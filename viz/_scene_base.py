"""The :class:`Scene` record shared by the scene builders and renderers (see :mod:`viz._scenes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Scene:
    """Meshes with scalars and a shared colour map.

    Attributes
    ----------
    name
        Scene name (``"line"``, ``"reactor"``).
    parts
        ``(label, mesh, opacity, color)``; a mesh with ``color`` ``None`` carries point
        data ``"value"`` coloured by the colour map (NaN: drawn grey), the others are
        drawn in their plain ``color``.
    scalar_label
        Colour-bar title with units (keep it short: it is drawn above the bar).
    clim
        Colour range ``(low, high)``.
    cmap
        Matplotlib colour-map name.
    anchors
        Named 3D points (station centres, sensor locations); after :func:`render_png`,
        ``pixel_anchors`` holds their ``(column, row)`` in the image.
    labels
        Text shown at an anchor (key: anchor name), in the PNG and the interactive view.
    rendered
        Filled by :func:`render_png` from the VTK actors it drew: ``"labels"`` (the
        label texts), ``"scalar_bar_title"`` and ``"scalar_bar_title_box"`` (the
        title's pixel box ``(left, top, right, bottom)``), ``"window_size"``.
    """

    name: str
    parts: list[tuple[str, object, float, str | None]] = field(default_factory=list)
    scalar_label: str = "value"
    clim: tuple[float, float] = (0.0, 1.0)
    cmap: str = "RdYlGn_r"
    anchors: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    pixel_anchors: dict[str, tuple[int, int]] = field(default_factory=dict)
    view: str = "iso"
    labels: dict[str, str] = field(default_factory=dict)
    rendered: dict = field(default_factory=dict)

    def add(self, label: str, mesh, value: float | np.ndarray | None, *, opacity: float = 1.0,
            color: str | None = None) -> None:
        """Add a mesh coloured by ``value`` (scalar or per-point array), or plain ``color``."""
        mesh = mesh.triangulate()
        if value is not None:
            v = np.broadcast_to(np.asarray(value, dtype=float), (mesh.n_points,)).copy()
            mesh.point_data["value"] = v
        self.parts.append((label, mesh, opacity, None if value is not None else (color or "#b0b0b0")))

    def part(self, label: str):
        """The mesh of the part called ``label``.

        Raises
        ------
        KeyError
            No part has that label (the message lists the labels there are).
        """
        for name, mesh, _opacity, _color in self.parts:
            if name == label:
                return mesh
        raise KeyError(f"scene {self.name!r} has no part {label!r}; parts: {[p[0] for p in self.parts]}")


def data_clim(values: Sequence[float], default: tuple[float, float] | None) -> tuple[float, float]:
    """Colour range of ``values`` (finite ones); ``default`` when there are none or all are equal."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return default or (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        return (lo - 1.0, hi + 1.0) if default is None else default
    return lo, hi
