"""The production-line scene: stations in flow order coloured by a KPI, input buffers as fill columns."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from viz._scene_base import Scene, data_clim
from workbench.errors import DataError

STATION_HEIGHT = 1.2  # m of the drawing; a full buffer column is as tall as a station
PITCH = 3.0


def _fill(level: float, capacity: float | None, largest: float, known: bool) -> tuple[float, str]:
    """Fill fraction of a buffer and its label: level/capacity, or level/largest level shown when the
    buffer is unlimited (``known``) or its capacity is not given."""
    if capacity is not None and math.isfinite(capacity) and capacity > 0:
        return min(max(level / capacity, 0.0), 1.0), f"buffer {level:.1f}/{capacity:g}"
    frac = min(max(level / largest, 0.0), 1.0) if largest > 0 else 0.0
    return frac, f"buffer {level:.1f}/{'∞' if known else '?'}"


def line_scene(
    stations: Sequence[str],
    values: Sequence[float] | Mapping[str, float],
    *,
    buffers: Mapping[str, float] | None = None,
    capacities: Mapping[str, float | None] | None = None,
    label: str = "utilisation (0–1)",
    clim: tuple[float, float] | None = (0.0, 1.0),
    cmap: str = "RdYlGn_r",
) -> Scene:
    """Line layout: stations as boxes in flow order, input buffers as fill columns, flow arrows.

    Parameters
    ----------
    stations
        Station names in flow order.
    values
        Colour value of each station (utilisation, OEE, deviation …).
    buffers
        Mean input-buffer level (items) per station. Each is drawn as a column left of
        its station: a pale frame as tall as a station (the full buffer) and a blue fill
        whose height is ``level / capacity`` of it.
    capacities
        Input-buffer capacity per station (items; ``None``/NaN/inf: unlimited). A
        station without a capacity is filled relative to the largest level shown and
        labelled ``level/∞`` (unlimited) or ``level/?`` (no ``capacities`` given at all).
    label
        Colour-bar title with units (its first word also labels each station's value).
    clim
        Colour range; ``None``: from the data.
    cmap
        Colour map (default green → red).
    """
    import pyvista as pv

    vals = [float(values[s]) for s in stations] if isinstance(values, Mapping) else [float(v) for v in values]
    scene = Scene("line", scalar_label=label, clim=clim or data_clim(vals, (0.0, 1.0)), cmap=cmap, view="line")
    scene.add("floor", pv.Plane(center=(PITCH * (len(stations) - 1) / 2, 0, -0.02),
                                i_size=PITCH * len(stations) + 1, j_size=4.0), None, color="#e8e8e8")
    levels = {s: float(buffers[s]) for s in stations if buffers is not None and s in buffers}
    largest = max([v for v in levels.values() if math.isfinite(v)], default=0.0)
    kpi_name = label.split(" [")[0].split(" (")[0]
    for i, (name, v) in enumerate(zip(stations, vals, strict=True)):
        x = i * PITCH
        scene.add(f"station {name}", pv.Box(bounds=(x - 0.8, x + 0.8, -0.8, 0.8, 0.0, STATION_HEIGHT)), v)
        scene.anchors[name] = (x, 0.0, STATION_HEIGHT)
        text = [name, f"{kpi_name} {v:.2f}"]
        if name in levels and math.isfinite(levels[name]):
            cap = None if capacities is None else capacities.get(name)
            frac, how = _fill(levels[name], None if cap is None else float(cap), largest, capacities is not None)
            x0, x1 = x - 1.45, x - 1.0
            scene.add(f"buffer frame {name}", pv.Box(bounds=(x0, x1, -0.3, 0.3, 0.0, STATION_HEIGHT)), None,
                      color="#9fb7d9", opacity=0.3)
            if frac > 0:
                scene.add(f"buffer fill {name}", pv.Box(bounds=(x0 + 0.02, x1 - 0.02, -0.28, 0.28, 0.0,
                                                                frac * STATION_HEIGHT)), None, color="#1f4e9c")
                scene.anchors[f"buffer {name}"] = ((x0 + x1) / 2, -0.28, frac * STATION_HEIGHT / 2)
            text.append(how)
        scene.labels[name] = "\n".join(text)
        if i < len(stations) - 1:
            arrow = pv.Arrow(start=(x + 0.85, 0, 0.6), direction=(1, 0, 0), scale=PITCH - 1.7)
            scene.add(f"flow {name}", arrow, None, color="#555555")
    return scene


def line_scene_from_result(ds, *, kpi: str = "utilisation") -> Scene:
    """Line scene from a line result (``twin run --out``): station colour = mean ``kpi[station]``
    over replications; buffer fill = mean input-buffer level / capacity (``buffer_capacity``).

    Raises
    ------
    DataError
        The dataset is not a line result (no ``station`` coord) or has no ``kpi[station]`` values.
    """
    if "station" not in ds.coords:
        kind = ds.attrs.get("kind", "unknown")
        raise DataError(f"not a line result (kind {kind!r}, no 'station' coordinate); give the file written "
                        "by `twin run SCENARIO --out RESULT.nc`", source=ds.encoding.get("source"))
    stations = [str(s) for s in ds["station"].values]
    names = set(map(str, ds["kpi"].values)) if "kpi" in ds.coords else set()
    if "mean" in ds and all(f"{kpi}[{s}]" in names for s in stations):
        vals = [float(ds["mean"].sel(kpi=f"{kpi}[{s}]")) for s in stations]
    elif kpi == "utilisation" and "state_fraction" in ds:
        vals = [float(ds["state_fraction"].sel(station=s, state="busy").mean()) for s in stations]
    elif "value" in ds and all(f"{kpi}[{s}]" in names for s in stations):
        vals = [float(ds["value"].sel(kpi=f"{kpi}[{s}]").mean()) for s in stations]
    else:
        per_station = sorted({k.split("[")[0] for k in names if "[" in k})
        raise DataError(f"--kpi {kpi!r}: the line result has no '{kpi}[station]' values; station KPIs there: "
                        f"{', '.join(per_station) or 'none'}", source=ds.encoding.get("source"))
    buffers = capacities = None
    if "buffer_level" in ds:
        buffers = {s: float(ds["buffer_level"].sel(station=s).mean()) for s in stations}
    if "buffer_capacity" in ds:
        capacities = {s: float(ds["buffer_capacity"].sel(station=s)) for s in stations}
    if capacities is not None:
        capacities = {s: (c if np.isfinite(c) else None) for s, c in capacities.items()}
    return line_scene(stations, vals, buffers=buffers, capacities=capacities, label=f"{kpi} (0–1)")
