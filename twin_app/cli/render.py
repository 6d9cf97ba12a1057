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
        from viz import reactor_scene_from_trace

        sc = reactor_scene_from_trace(open_trace(trace))
        if sc is None:
            raise ConfigError(f"--trace {trace}: no measured temperature tag (K or degC) with residuals "
                              "to colour the reactor by; give a twin trace of the reactor")
    else:
        sc = reactor_scene(vessel or [330.0, 335.0, 342.0, 350.0], jacket or [305.0, 310.0])
    if out.suffix.lower() == ".html":
        path = export_scene_html(sc, out)
    elif out.suffix.lower() == ".png":
        path = render_png(sc, out, window_size=(width, height))
    else:
        raise ConfigError(f"-o {out}: give a .png or .html file")
    console.print(f"wrote {path}")
