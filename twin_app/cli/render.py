"""``twin render SCENE -o file.png``: render a 3D plant scene off screen (PNG) or as interactive HTML."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import console
from workbench.errors import ConfigError

SCENES = ("line", "reactor")
LINE_RESULT_HINT = ("a line result written by `twin run`, e.g. `twin run scenarios/assembly_line.yaml -n 5 "
                    "--out line.nc`, then `twin render line --result line.nc -o line.png`")


def _sensors(items: list[str] | None) -> dict[str, str]:
    from viz import SENSOR_LOCATIONS

    out = {}
    for item in items or []:
        tag, sep, loc = item.partition("=")
        if not sep or not tag.strip() or loc.strip() not in SENSOR_LOCATIONS:
            raise ConfigError(f'--sensor "{item}": give TAG=LOCATION with LOCATION one of '
                              f"{', '.join(SENSOR_LOCATIONS)}")
        out[tag.strip()] = loc.strip()
    return out


def render(
    scene: str = typer.Argument(..., help="Scene: 'line' (needs --result) or 'reactor'."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .png (off-screen render) or .html (interactive)."),
    result: Path = typer.Option(None, "--result", help="Line result (.nc from `twin run --out`) colouring "
                                                       "stations and filling buffers (line scene)."),
    kpi: str = typer.Option("utilisation", "--kpi", help="Station KPI that colours the line scene."),
    trace: Path = typer.Option(None, "--trace", help="Trace store: colour the reactor at each temperature "
                                                     "sensor by its real − virtual deviation (last --window rows)."),
    tag: list[str] = typer.Option(None, "--tag", help="Temperature tag of --trace to show (repeat; default: "
                                                      "every temperature tag with a deviation)."),
    sensor: list[str] = typer.Option(None, "--sensor", help="Where a tag sits, TAG=LOCATION (repeat), e.g. "
                                                            "TI_top=vessel_top; default from the tag's name."),
    window: int = typer.Option(60, "--window", min=1, help="Trace rows averaged for the deviation."),
    vessel: list[float] = typer.Option(None, "--vessel", help="Vessel temperature profile bottom→top in K (repeat)."),
    jacket: list[float] = typer.Option(None, "--jacket", help="Jacket temperature(s) in K (repeat)."),
    width: int = typer.Option(1024, "--width", min=200, help="PNG width in px."),
    height: int = typer.Option(640, "--height", min=150, help="PNG height in px."),
) -> None:
    """Render a scene to PNG (PyVista, off screen) or to a self-contained interactive HTML.

    The line scene shows each station coloured by a KPI and labelled, its input buffer as a
    column filled to mean level / capacity. The reactor scene shows the vessel and jacket
    coloured around each temperature sensor by the twin's real − virtual deviation (--trace,
    tags in K, °C or °F, converted to K), or by a temperature profile (--vessel/--jacket).
    """
    from workbench.errors import did_you_mean

    if scene not in SCENES:
        raise ConfigError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}. {did_you_mean(scene, SCENES)}")
    if out.suffix.lower() not in (".png", ".html"):
        raise ConfigError(f"-o {out}: give a .png or .html file")
    from viz import (
        export_scene_html,
        line_scene_from_result,
        load_result,
        reactor_deviation_scene,
        reactor_scene,
        render_png,
        trace_deviations,
    )

    if scene == "line":
        if result is None:
            raise ConfigError(f"the line scene needs --result: {LINE_RESULT_HINT}")
        if not result.exists():
            raise ConfigError(f"--result {result}: no such file; give {LINE_RESULT_HINT}")
        sc = line_scene_from_result(load_result(result), kpi=kpi)
    elif trace is not None:
        from twin import open_trace

        if not trace.exists():
            raise ConfigError(f"--trace {trace}: no such trace store; `twin monitor` or `twin replay` write one")
        deviations = trace_deviations(open_trace(trace), tags=tag or None, window=window, source=str(trace))
        sc = reactor_deviation_scene(deviations, locations=_sensors(sensor))
    else:
        sc = reactor_scene(vessel or [330.0, 335.0, 342.0, 350.0], jacket or [305.0, 310.0])
    if out.suffix.lower() == ".html":
        path = export_scene_html(sc, out)
    else:
        path = render_png(sc, out, window_size=(width, height))
    console.print(f"wrote {path}")
