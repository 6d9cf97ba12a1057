"""The views' part of ``twin demo``: a 3D render, an interactive scene and reports."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_tour"]


def demo_tour(outdir: str | Path) -> list[Path]:
    """Render the line and reactor scenes (PNG + interactive HTML) and a report per example result.

    Inputs are the synthetic example datasets of :mod:`viz._samples` (labelled
    ``synthetic`` in their attrs). Takes ~20 s on one core.

    Returns
    -------
    list[pathlib.Path]
        Written files.
    """
    from viz._report import report_result
    from viz._samples import write_all
    from viz._scenes import export_scene_html, line_scene_from_result, reactor_scene, render_png
    from workbench.dataset import read_netcdf

    out = Path(outdir)
    data = write_all(out / "data", trace_rows=1800)
    written: list[Path] = []
    line = line_scene_from_result(read_netcdf(data["line_base"]))
    written.append(render_png(line, out / "line_scene.png"))
    reactor = reactor_scene([330.0, 334.0, 341.0, 350.0], [305.0, 309.0])
    written.append(render_png(reactor, out / "reactor_scene.png"))
    written.append(export_scene_html(reactor, out / "reactor_scene.html"))
    for name in ("trace", "monitor", "campaign", "line_base"):
        path, _ = report_result(data[name], out / f"report_{name}.html")
        written.append(path)
    return written
