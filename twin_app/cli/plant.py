"""``twin plant serve SCENARIO``: an emulated plant on a real OPC UA server."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import console, print_table

app = typer.Typer(help="Plant emulator: an FMU with hidden parameters, noise, drift and faults over OPC UA.",
                  no_args_is_help=True)


@app.command("serve")
def serve(
    scenario: Path = typer.Argument(..., help="Plant YAML (kind: plant-emulator or line-plant)."),
    endpoint: str = typer.Option(None, "--endpoint", help="opc.tcp://127.0.0.1:PORT/path (default: the scenario's)."),
    speed: float = typer.Option(None, "--speed", help="Plant seconds per wall second (default: the scenario's)."),
    anchor: float = typer.Option(None, "--anchor", help="Epoch seconds of plant time 0 (resume a plant after a restart)."),
    seed: int = typer.Option(None, "--seed", help="Noise seed (default: the scenario's)."),
    until: str = typer.Option(None, "--until", help="Stop at this plant time, e.g. '2 h' (default: scenario duration)."),
) -> None:
    """Serve the plant until its scenario ends (Ctrl-C stops).

    A ``kind: plant-emulator`` scenario runs an FMU; a ``kind: line-plant`` scenario runs a
    SimPy line and publishes station states, counters and buffer levels.
    """
    from twin.emulator import PlantServer, load_plant_scenario
    from workbench.config import resolve_config
    from workbench.units import convert

    if resolve_config(scenario).data.get("kind") == "line-plant":
        from twin_app.cli.line_twin import serve_line_plant_command

        serve_line_plant_command(scenario, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed,
                                 until=until)
        return
    sc = load_plant_scenario(scenario)
    server = PlantServer(sc, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed)
    print_table([{"tag": t.tag, "variable": t.variable, "unit": t.unit, "noise": f"{t.noise:g} {t.unit}"}
                 for t in sc.tags], title=f"{sc.name}: tags")
    if sc.faults:
        print_table([{"fault": f.kind, "tag/input": f.tag or f.parameter or f.input, "at [s]": f.at,
                      "until [s]": f.until, "value": f.value} for f in sc.faults], title="scripted faults")
    console.print(f"serving {sc.name} at {server.endpoint}, {server.speed:g}× real time, "
                  f"sample period {sc.sample_period:g} s (Ctrl-C stops)")
    try:
        server.run(until=convert(until, "s") if until else None, on_ready=print_anchor)
    except KeyboardInterrupt:
        pass
    console.print(f"published {server.samples_published} samples; plant time {server.plant.time:g} s")


def print_anchor(server) -> None:
    """Print the anchor a server uses (plant time 0 as epoch seconds), so a restart can resume its run."""
    console.print(f"anchor {server.anchor!r}: plant time 0 as epoch seconds; restart with --anchor {server.anchor!r} "
                  "to resume this plant run (without it a restart starts a new timeline)", soft_wrap=True)
