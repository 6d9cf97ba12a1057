"""The views' part of ``twin demo``: 3D renders, an interactive scene and reports of real results."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_tour"]

_ROOT = Path(__file__).resolve().parents[2]


def _twin_trace(out: Path, minutes: float = 30.0) -> Path | None:
    """The reactor twin following the emulated plant in-process (no OPC UA), or None without the FMU."""
    from fmu_models import shipped

    fmu = shipped("reactor")
    if not fmu.exists():
        return None
    from twin import Twin, load_binding
    from twin.emulator import PlantEmulator, load_plant_scenario
    from twin.sources import MemorySource

    plant = load_plant_scenario(_ROOT / "scenarios" / "reactor_plant.yaml",
                                overrides={"drift": [], "fmu": str(fmu), "duration": f"{minutes} min"})
    binding = load_binding(_ROOT / "scenarios" / "reactor_twin.yaml", overrides={"fmu": str(fmu)})
    path = out / "reactor_twin.zarr"
    twin = Twin(binding, trace=path, overwrite=True)  # the tour's own output
    twin.run(MemorySource(PlantEmulator(plant).frames()))
    twin.close()
    return path


def demo_tour(outdir: str | Path) -> list[Path]:
    """Render the line and reactor scenes (PNG + interactive HTML) and reports of example results.

    The line scene shows a real :func:`simulation.line.simulate` run of the shipped
    ``scenarios/assembly_line.yaml`` (station colour = utilisation); the reactor scene
    is coloured by the live deviation of a real twin trace (the reactor twin following
    the plant emulator for 30 min in-process). Without the built reactor FMU the
    reactor scene falls back to the synthetic example trace of :mod:`viz.samples`
    (labelled ``synthetic``), as do the monitor and campaign reports. About 15 s.

    Returns
    -------
    list[pathlib.Path]
        Written files.
    """
    from simulation.line import load_scenario, simulate
    from twin import open_trace
    from viz import (
        export_scene_html,
        line_scene_from_result,
        reactor_scene,
        reactor_scene_from_trace,
        render_png,
        report_result,
    )
    from viz.samples import write_all
    from workbench.dataset import write_netcdf

    out = Path(outdir)
    (out / "data").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    line = simulate(load_scenario(_ROOT / "scenarios" / "assembly_line.yaml"), replications=2, seed=1,
                    trace_hours=8.0)
    line_path = write_netcdf(line, out / "data" / "assembly_line.nc")
    written.append(render_png(line_scene_from_result(line), out / "line_scene.png"))
    trace = _twin_trace(out / "data")
    samples = write_all(out / "data" / "synthetic", trace_rows=1800)
    reactor = reactor_scene_from_trace(open_trace(trace)) if trace is not None else None
    if reactor is None:
        reactor = reactor_scene_from_trace(open_trace(samples["trace"])) or reactor_scene([330.0, 350.0])
    written.append(render_png(reactor, out / "reactor_scene.png"))
    written.append(export_scene_html(reactor, out / "reactor_scene.html"))
    reports = {"trace": trace or samples["trace"], "line": line_path,
               "monitor": samples["monitor"], "campaign": samples["campaign"]}
    for name, src in reports.items():
        path, _ = report_result(src, out / f"report_{name}.html")
        written.append(path)
    return written
