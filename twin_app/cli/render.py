"""``twin render SCENE -o file.png``: render a 3D plant scene off screen (PNG) or as interactive HTML."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import console
from workbench.errors import ConfigError

SCENES = ("line", "reactor")


def render(
    scene: str = typer.Argument(..., help="Scene: 'line' (needs --result) or 'reactor'."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .png (off-screen render) or .html (interactive)."),
    result: Path = typer.Option(None, "--result", help="Line result (.nc) colouring stations (line scene)."),
    kpi: str = typer.Option("utilisation", "--kpi", help="Station KPI that colours the line scene."),
    trace: Path = typer.Option(None, "--trace", help="Trace store: colour the reactor by the latest deviation."),
    vessel: list[float] = typer.Option(None, "--vessel", help="Vessel temperature profile bottom→top in K (repeat)."),
    jacket: list[float] = typer.Option(None, "--jacket", help="Jacket temperature(s) in K (repeat)."),
    width: int = typer.Option(1024, "--width", help="PNG width in px."),
    height: int = typer.Option(640, "--height", help="PNG height in px."),
) -> None:
    """Render a scene to PNG (PyVista, off screen) or to a self-contained interactive HTML."""
    from workbench.errors import did_you_mean

    if scene not in SCENES:
        raise ConfigError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}. {did_you_mean(scene, SCENES)}")
    from viz import (
        export_scene_html,
        line_scene_from_result,
        load_result,
        reactor_scene,
        render_png,
    )

    if scene == "line":
        if result is None:
            raise ConfigError("the line scene needs --result LINE_RESULT.nc (from `twin run`)")
        sc = line_scene_from_result(load_result(result), kpi=kpi)
    elif trace is not None:
        from twin import open_trace

        ds = open_trace(trace)
        ktags = [t for t, u in ds.wb.tag_units().items() if u == "K"]
        if not ktags:
            raise ConfigError(f"--trace {trace}: no tag in K to colour the reactor by")
        dev = ds["residual"].sel(tag=ktags).isel(time=slice(-60, None)).mean("time").values
        lim = max(float(abs(dev).max()), 0.1)
        sc = reactor_scene(float(dev[0]), float(dev[1]) if len(dev) > 1 else None,
                           label="deviation real − virtual [K]", clim=(-lim, lim))
    else:
        sc = reactor_scene(vessel or [330.0, 335.0, 342.0, 350.0], jacket or [305.0, 310.0])
    if out.suffix.lower() == ".html":
        path = export_scene_html(sc, out)
    elif out.suffix.lower() == ".png":
        path = render_png(sc, out, window_size=(width, height))
    else:
        raise ConfigError(f"-o {out}: give a .png or .html file")
    console.print(f"wrote {path}")
