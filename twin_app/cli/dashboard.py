"""``twin dashboard``: serve the Dash dashboard (live twin, line twin, scenarios, campaigns, reliability, 3D)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from twin_app.cli._common import console
from workbench.errors import ConfigError


def _scenario_pairs(items: list[str] | None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep:
            path, name = item, Path(item).stem
        if not Path(path).exists():
            raise ConfigError(f"--scenario {item}: no such file {path!r}; give NAME=PATH of a line result (.nc/.zarr)")
        out[name] = Path(path)
    return out


def dashboard(
    trace: Path = typer.Option(None, "--trace", help="Twin trace store (Zarr) to watch live, e.g. run.zarr."),
    envelope: Path = typer.Option(None, "--envelope", help="Golden envelope dataset (.nc)."),
    monitor: Path = typer.Option(None, "--monitor", help="T²/SPE monitor dataset with contributions (.nc/.zarr)."),
    scenario: list[str] = typer.Option(None, "--scenario", help="Line result as NAME=PATH (repeatable)."),
    campaign: Path = typer.Option(None, "--campaign", help="Optimisation campaign dataset (.nc)."),
    life: Path = typer.Option(None, "--life", help="Life/reliability result (.nc)."),
    life_fit: Path = typer.Option(None, "--life-fit",
                                  help="Life-data fit plot data (.nc, e.g. life_fit_plot.nc) for the Weibull plot."),
    line_trace: Path = typer.Option(None, "--line-trace",
                                    help="Line-twin trace store (Zarr) to watch live, e.g. assembly_line_twin.line.zarr."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; other than loopback needs --token."),
    port: int = typer.Option(8050, "--port", help="TCP port."),
    token: str = typer.Option(None, "--token", envvar="TWIN_DASHBOARD_TOKEN",
                              help="Require this token (?token=, Bearer or basic-auth password)."),
    refresh: float = typer.Option(2.0, "--refresh", help="Live page poll interval in s."),
) -> None:
    """Serve the dashboard on http://HOST:PORT (127.0.0.1:8050 by default); Ctrl-C stops it."""
    from viz import DashboardSources, serve

    for opt, p in (("--trace", trace), ("--envelope", envelope), ("--monitor", monitor),
                   ("--campaign", campaign), ("--life", life), ("--life-fit", life_fit)):
        if p is not None and not p.exists() and opt != "--trace":
            raise ConfigError(f"{opt} {p}: no such file or store")
    sources = DashboardSources(trace=trace, envelope=envelope, monitor=monitor, scenarios=_scenario_pairs(scenario),
                               campaign=campaign, life=life, life_fit=life_fit,
                               line_trace=line_trace)
    url = f"http://{host}:{port}/" + ("line" if line_trace is not None and trace is None else "live")
    console.print(f"twin dashboard on [bold]{url}[/]" + (" (token required)" if token else ""))
    if os.environ.get("TWIN_DASHBOARD_DRY_RUN") == "1":  # for tests of the option parsing
        return
    serve(sources, host=host, port=port, token=token, refresh_ms=int(refresh * 1000))
