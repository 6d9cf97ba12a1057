"""The jacketed-reactor scene: an axial temperature profile, or the twin's real − virtual deviation
at each sensor location, read from any trace whose temperature tags are in K, °C or °F."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from viz._scene_base import Scene, data_clim
from workbench.errors import DataError, did_you_mean

HEIGHT, RADIUS = 3.0, 1.0  # m of the drawing
JACKET_BOTTOM, JACKET_TOP = 0.1, 2.2
JACKET_RADIUS = (1.18, 1.25)
WINDOW = (20.0, 110.0)  # degrees: the jacket is cut away there so the vessel stays visible

#: Sensor locations on the drawn reactor: name → (body, angle in degrees, height in m).
#: The default camera looks at the jacket window (about 65°).
SENSOR_LOCATIONS: dict[str, tuple[str, float, float]] = {
    "vessel": ("vessel", 65.0, 1.5),
    "vessel_top": ("vessel", 65.0, 2.7),
    "vessel_bottom": ("vessel", 65.0, 0.45),
    "vessel_left": ("vessel", 100.0, 1.0),
    "vessel_right": ("vessel", 30.0, 2.0),
    "jacket": ("jacket", 135.0, 1.15),
    "jacket_inlet": ("jacket", 0.0, 0.35),
    "jacket_outlet": ("jacket", 0.0, 1.95),
}
_VESSEL_ORDER = ("vessel", "vessel_top", "vessel_bottom", "vessel_left", "vessel_right")
_UCUM = {"Cel": "degC", "[degF]": "degF", "K": "K"}


def _pint_unit(unit: str) -> str:
    from workbench.units import normalise_unit

    return normalise_unit(_UCUM.get(unit.strip(), unit))


def is_temperature_unit(unit: str) -> bool:
    """True when ``unit`` (``"K"``, ``"degC"``, ``"°C"``, ``"Cel"``, ``"degF"`` …) is a temperature."""
    from workbench.units import ureg

    try:
        return ureg.Unit(_pint_unit(unit)).dimensionality == ureg.kelvin.dimensionality
    except Exception:  # noqa: BLE001 - pint raises several error types for unknown or garbled units
        return False


def temperature_difference(values, unit: str, target: str = "K") -> np.ndarray:
    """Convert temperature *differences* from ``unit`` to ``target`` with the workbench's pint registry.

    Temperature scales are affine (T_K = a·T_u + b), so a difference converts as
    f(x) − f(0) = a·x: 1 °C of difference is 1 K, 1 °F is 5/9 K (BIPM SI Brochure, 9th ed., 2.3.1).
    """
    from workbench.units import ureg

    src, dst = _pint_unit(unit), _pint_unit(target)
    x = np.asarray(values, dtype=float)
    return np.asarray(ureg.Quantity(x, src).to(dst).magnitude - ureg.Quantity(0.0, src).to(dst).magnitude)


def sensor_location(tag: str, taken: Sequence[str] = ()) -> str:
    """Where a temperature tag sits on the drawn reactor, from its name.

    ``jacket``/``cool`` in the name: the jacket (``..._in``/``inlet``: its inlet nozzle,
    ``out``: its outlet); anything else: the vessel wall, the first free one of mid-height,
    top, bottom, left, right. Give ``locations`` to :func:`reactor_deviation_scene` (or
    ``--sensor TAG=LOCATION`` to ``twin render``) where the name does not say it.
    """
    low = tag.lower()
    if "jacket" in low or "cool" in low:
        if low.endswith(("_in", "inlet")) or "_in_" in low or "inlet" in low:
            return "jacket_inlet"
        if low.endswith(("_out", "outlet")) or "outlet" in low or "_out_" in low:
            return "jacket_outlet"
        return "jacket"
    free = [name for name in _VESSEL_ORDER if name not in taken]
    return free[0] if free else "vessel"


def _point(location: str) -> tuple[float, float, float]:
    body, angle, z = SENSOR_LOCATIONS[location]
    r = JACKET_RADIUS[1] if body == "jacket" else RADIUS
    a = math.radians(angle)
    return (r * math.cos(a), r * math.sin(a), z)


def _reactor_meshes() -> dict[str, object]:
    """The reactor's meshes: vessel wall, head, bottom, jacket shell (with its window), shaft, motor."""
    import pyvista as pv

    body = pv.CylinderStructured(radius=RADIUS, height=HEIGHT, center=(0, 0, HEIGHT / 2), direction=(0, 0, 1),
                                 theta_resolution=64, z_resolution=48).extract_surface(algorithm="dataset_surface")
    head = pv.Sphere(radius=RADIUS, center=(0, 0, 0), theta_resolution=64, phi_resolution=24, end_phi=90)
    head.points[:, 2] *= 0.45
    head.points[:, 2] += HEIGHT
    bottom = pv.Disc(center=(0, 0, 0), inner=0.0, outer=RADIUS, normal=(0, 0, -1), c_res=64)
    shell = pv.CylinderStructured(radius=list(JACKET_RADIUS), height=JACKET_TOP - JACKET_BOTTOM,
                                  center=(0, 0, (JACKET_TOP + JACKET_BOTTOM) / 2), direction=(0, 0, 1),
                                  theta_resolution=64, z_resolution=24).extract_surface(algorithm="dataset_surface")
    angle = np.degrees(np.arctan2(shell.points[:, 1], shell.points[:, 0]))
    shell = shell.extract_points((angle < WINDOW[0]) | (angle > WINDOW[1]),
                                 adjacent_cells=False).extract_surface(algorithm="dataset_surface")
    return {"vessel": body, "head": head, "bottom": bottom, "jacket": shell,
            "stirrer shaft": pv.Cylinder(center=(0, 0, HEIGHT + 0.6), direction=(0, 0, 1), radius=0.06, height=1.2),
            "motor": pv.Box(bounds=(-0.25, 0.25, -0.25, 0.25, HEIGHT + 1.2, HEIGHT + 1.6))}


def _add_drive(scene: Scene, meshes: Mapping[str, object]) -> None:
    scene.add("stirrer shaft", meshes["stirrer shaft"], None, color="#666666")
    scene.add("motor", meshes["motor"], None, color="#444444")


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
    vessel_arr = np.atleast_1d(np.asarray(vessel, dtype=float))
    jacket_arr = None if jacket is None else np.atleast_1d(np.asarray(jacket, dtype=float))
    all_vals = np.r_[vessel_arr, [] if jacket_arr is None else jacket_arr]
    scene = Scene("reactor", scalar_label=label, clim=clim or data_clim(all_vals, None), cmap=cmap, view="iso")
    meshes = _reactor_meshes()

    def profile(mesh, arr, z0, z1):
        z = np.clip((mesh.points[:, 2] - z0) / (z1 - z0), 0.0, 1.0)
        if arr.size == 1:
            return np.full(mesh.n_points, arr[0])
        return np.interp(z, np.linspace(0, 1, arr.size), arr)

    scene.add("vessel", meshes["vessel"], profile(meshes["vessel"], vessel_arr, 0.0, HEIGHT))
    scene.add("head", meshes["head"], float(vessel_arr[-1]))
    scene.add("bottom", meshes["bottom"], float(vessel_arr[0]))
    if jacket_arr is not None:
        shell = meshes["jacket"]
        scene.add("jacket", shell, profile(shell, jacket_arr, JACKET_BOTTOM, JACKET_TOP), opacity=0.9)
        scene.anchors["jacket"] = _point("jacket")
    _add_drive(scene, meshes)
    scene.anchors["vessel_bottom"] = _point("vessel_bottom")
    scene.anchors["vessel_top"] = (*_point("vessel_top")[:2], 0.92 * HEIGHT)
    return scene


SIGMA, REACH = 0.6, 1.3  # m of the drawing: kernel width and the farthest a sensor colours the wall


def _kernel_colour(points: np.ndarray, sensors: Sequence[tuple[tuple[float, float, float], float]]) -> np.ndarray:
    """Nadaraya–Watson kernel regression (Gaussian kernel, width ``SIGMA``) of the sensor values on
    ``points`` (Nadaraya 1964, Watson 1964); NaN (drawn grey: not measured) beyond ``REACH`` of every sensor."""
    if not sensors:
        return np.full(len(points), np.nan)
    where = np.array([p for p, _ in sensors], dtype=float)
    vals = np.array([v for _, v in sensors], dtype=float)
    d = np.linalg.norm(points[:, None, :] - where[None, :, :], axis=2)
    w = np.exp(-0.5 * (d / SIGMA) ** 2)
    out = (w * vals[None, :]).sum(1) / np.maximum(w.sum(1), 1e-300)
    out[d.min(1) > REACH] = np.nan
    return out


def _nice(x: float) -> float:
    """``x`` rounded up to 1, 2, 2.5 or 5 × 10^k (a colour range with round ticks)."""
    k = 10.0 ** math.floor(math.log10(x))
    return next(m * k for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * k >= x * (1 - 1e-9))


def reactor_deviation_scene(
    deviations: Mapping[str, float],
    *,
    unit: str = "K",
    locations: Mapping[str, str] | None = None,
    clim: tuple[float, float] | None = None,
    cmap: str = "RdBu_r",
) -> Scene:
    """Reactor coloured around each sensor by its real − virtual deviation, with a labelled marker per sensor.

    Parameters
    ----------
    deviations
        Deviation per tag (real − virtual, in ``unit``), e.g. from :func:`trace_deviations`.
    unit
        Unit of the deviations (shown on the colour bar and the labels).
    locations
        Sensor location per tag (a key of :data:`SENSOR_LOCATIONS`); the rest are placed by
        :func:`sensor_location` from their names.
    clim
        Colour range (default symmetric: ± the largest deviation rounded up to 1, 2, 2.5, 5 × 10^k,
        at least 0.1).
    cmap
        Colour map (default: negative blue → 0 white → positive red; grey: no sensor near).

    Raises
    ------
    DataError
        No deviation given, or an unknown location name.
    """
    if not deviations:
        raise DataError("no sensor deviation to colour the reactor by")
    placed: dict[str, str] = {}
    for tag in deviations:
        loc = (locations or {}).get(tag)
        if loc is not None and loc not in SENSOR_LOCATIONS:
            raise DataError(f"sensor {tag!r}: unknown location {loc!r}; choose one of {', '.join(SENSOR_LOCATIONS)}. "
                            f"{did_you_mean(loc, SENSOR_LOCATIONS)}".strip())
        placed[tag] = loc or sensor_location(tag, list(placed.values()))
    span = _nice(max([abs(v) for v in deviations.values() if math.isfinite(v)] + [0.1]))
    scene = Scene("reactor", scalar_label=f"deviation real − virtual [{unit}]", clim=clim or (-span, span), cmap=cmap,
                  view="iso")
    meshes = _reactor_meshes()
    by_body: dict[str, list] = {"vessel": [], "jacket": []}
    for tag, loc in placed.items():
        by_body[SENSOR_LOCATIONS[loc][0]].append((_point(loc), float(deviations[tag])))
    for part, body in (("vessel", "vessel"), ("head", "vessel"), ("bottom", "vessel"), ("jacket", "jacket")):
        mesh = meshes[part]
        scene.add(part, mesh, _kernel_colour(np.asarray(mesh.points), by_body[body]),
                  opacity=0.9 if part == "jacket" else 1.0)
    _add_drive(scene, meshes)
    import pyvista as pv

    for tag, loc in placed.items():
        p = _point(loc)
        out = 1.06 if SENSOR_LOCATIONS[loc][0] == "jacket" else 1.03  # marker just outside the wall
        p = (p[0] * out, p[1] * out, p[2])
        scene.add(f"sensor {tag}", pv.Sphere(radius=0.09, center=p), float(deviations[tag]))
        scene.anchors[tag] = p
        scene.labels[tag] = f"{tag}\n{deviations[tag]:+.2f} {unit}"
    return scene


def trace_deviations(ds, *, tags: Sequence[str] | None = None, window: int = 60, unit: str = "K",
                     source: str | None = None) -> dict[str, float]:
    """Mean real − virtual deviation of a trace's temperature tags over its last ``window`` rows, in ``unit``.

    Reads ``residual`` (a twin trace's real − virtual) or else ``value`` at ``source`` ``real``
    minus ``virtual``; tag units (K, °C, °F …) are converted with the workbench's pint registry.
    A tag without a deviation (an input the twin reads, not predicts) is left out.

    Raises
    ------
    DataError
        The trace has no rows or no tags, a named tag is missing or not a temperature, or no
        temperature tag has a deviation; the message names the tags expected and the tags found.
    """
    where = source or (ds.encoding.get("source") if ds is not None else None)
    if ds is None or "tag" not in getattr(ds, "coords", {}) or ds.sizes.get("time", 0) == 0:
        raise DataError("the trace has no rows or no 'tag' coordinate; give a twin trace "
                        "(`twin monitor`/`twin replay` write one)", source=where)
    units = ds.wb.tag_units()
    found = ", ".join(f"{t} [{u or 'no unit'}]" for t, u in units.items())
    expected = ("temperature tags (unit K, degC or degF) with real and virtual values, "
                "e.g. TI_reactor and TI_jacket of scenarios/reactor_twin.yaml")
    if tags:
        for t in tags:
            if t not in units:
                raise DataError(f"tag {t!r} is not in the trace; tags found: {found}. "
                                f"{did_you_mean(t, units)}".strip(), source=where)
            if not is_temperature_unit(units[t]):
                raise DataError(f"tag {t!r} has unit {units[t]!r}, not a temperature; expected {expected}",
                                source=where)
    chosen = list(tags) if tags else [t for t, u in units.items() if is_temperature_unit(u)]
    if "residual" in ds:
        diff = ds["residual"]
    elif "value" in ds and "source" in ds.dims and {"real", "virtual"} <= set(map(str, ds["source"].values)):
        diff = ds["value"].sel(source="real") - ds["value"].sel(source="virtual")
    else:
        raise DataError(f"the trace has neither 'residual' nor 'value' with sources real and virtual; "
                        f"expected {expected}", source=where)
    out, no_deviation = {}, []
    for t in chosen:
        last = np.asarray(diff.sel(tag=t).isel(time=slice(-window, None)).values, dtype=float)
        last = last[np.isfinite(last)]
        if last.size == 0:
            no_deviation.append(t)
            continue
        out[t] = float(temperature_difference(last.mean(), units[t], unit))
    if not out:
        why = (f"; {', '.join(no_deviation)} have no real − virtual deviation in the last {window} rows "
               "(inputs the twin reads)") if no_deviation else ""
        raise DataError(f"no temperature deviation to colour the reactor by: expected {expected}; "
                        f"tags found: {found}{why}", source=where)
    return out


def reactor_scene_from_trace(ds, *, window: int = 60, tags: Sequence[str] | None = None,
                             locations: Mapping[str, str] | None = None) -> Scene | None:
    """Reactor scene coloured by a trace's live deviation (real − virtual) at each sensor location.

    The temperature tags (K, °C or °F) with a deviation, averaged over the last ``window``
    rows and converted to K, colour the reactor around where each sensor sits
    (:func:`sensor_location`, or ``locations``) and label it. Returns ``None`` when the
    trace has no such tag (:func:`trace_deviations` raises and says which tags it has);
    named ``tags`` that are missing or no temperature raise :class:`DataError`.
    """
    if tags:
        return reactor_deviation_scene(trace_deviations(ds, tags=tags, window=window), locations=locations)
    try:
        dev = trace_deviations(ds, window=window)
    except DataError:
        return None
    return reactor_deviation_scene(dev, locations=locations)
