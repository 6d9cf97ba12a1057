"""``twin dashboard``: serve the Dash dashboard (live twin, line twin, scenarios, campaigns, reliability, 3D)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from twin_app.cli._common import console
from workbench.errors import ConfigError, DataError


def _scenario_pairs(items: list[str] | None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep:
            path, name = item, Path(item).stem
        if not Path(path).exists():
            raise DataError(f"--scenario {item}: no such file or store; give NAME=PATH of a line result (.nc/.zarr) "
                            "written by `twin run`", source=path)
        out[name] = Path(path)
    return out


def _envelope_map(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        tag, sep, var = item.partition("=")
        if not sep or not tag.strip() or not var.strip():
            raise ConfigError(f"--envelope-map {item!r}: give TAG=VARIABLE (a trace tag and the envelope variable it "
                              "measures), e.g. --envelope-map TI_reactor=temperature")
        out[tag.strip()] = var.strip()
    return out


def _advice_binding(path: Path):
    """The binding of ``--binding``, loaded; it must have an advice: section (else exit code 2)."""
    from twin import load_binding

    if not path.exists():
        raise DataError("--binding: no such file; give the twin binding YAML (e.g. scenarios/reactor_twin.yaml)",
                        source=str(path))
    b = load_binding(path)
    if b.advice is None:
        raise ConfigError("--binding: the binding has no advice: section, so there is nothing to confirm from the "
                          "dashboard; add one (which set-points the twin may write, limits, max_rate, mode; "
                          "docs/twin-monitoring.md, 'Advice back to the plant') or leave --binding out (the Advice "
                          "panel is then read-only)", source=str(path), path="advice")
    return b


def check_paths(paths: dict[str, Path | None], *, stores: tuple[str, ...] = ("--trace", "--line-trace"),
                wait: bool = False) -> None:
    """Every path option names an existing file; trace-store options name a trace store.

    With ``wait`` a trace store that does not exist yet is accepted (``twin monitor`` is about to
    create it); a path that exists but is not a trace store is refused either way.

    Raises
    ------
    DataError
        Naming the option and the path (exit code 2).
    """
    from viz import is_trace_store

    for opt, p in paths.items():
        if p is None:
            continue
        if not p.exists():
            if opt in stores and wait:
                continue
            hint = (" (start `twin monitor` first, or give --wait to wait for it to create the store)"
                    if opt in stores else "")
            raise DataError(f"{opt}: no such file or store{hint}", source=str(p))
        if opt in stores and not is_trace_store(p):
            raise DataError(f"{opt}: not a twin trace store (a Zarr directory with `time` and `value` arrays, "
                            "as `twin monitor` writes)", source=str(p))


def dashboard(
    trace: Path = typer.Option(None, "--trace", help="Twin trace store (Zarr) to watch live, e.g. run.zarr."),
    envelope: Path = typer.Option(None, "--envelope", help="Golden envelope dataset (.nc)."),
    envelope_map: list[str] = typer.Option(None, "--envelope-map",
                                           help="TAG=VARIABLE: the trace tag that measures an envelope variable "
                                                "(repeatable; tags named like a variable match by themselves)."),
    monitor: Path = typer.Option(None, "--monitor", help="T²/SPE monitor dataset with contributions (.nc/.zarr)."),
    scenario: list[str] = typer.Option(None, "--scenario", help="Line result as NAME=PATH (repeatable)."),
    campaign: Path = typer.Option(None, "--campaign", help="Optimisation campaign dataset (.nc)."),
    life: Path = typer.Option(None, "--life", help="Life/reliability result (.nc)."),
    life_fit: Path = typer.Option(None, "--life-fit",
                                  help="Life-data fit plot data (.nc, e.g. life_fit_plot.nc) for the Weibull plot."),
    line_trace: Path = typer.Option(None, "--line-trace",
                                    help="Line-twin trace store (Zarr) to watch live, e.g. assembly_line_twin.line.zarr."),
    acks: Path = typer.Option(None, "--acks",
                              help="Alarm acknowledgement log (JSON lines); default <trace>.acks.jsonl beside --trace."),
    wait: bool = typer.Option(False, "--wait", help="Accept --trace/--line-trace stores that do not exist yet "
                                                    "(the pages wait for `twin monitor` to create them)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; other than loopback needs --token."),
    port: int = typer.Option(8050, "--port", help="TCP port."),
    token: str = typer.Option(None, "--token", envvar="TWIN_DASHBOARD_TOKEN",
                              help="Require this token (?token=, Bearer or basic-auth password)."),
    refresh: float = typer.Option(2.0, "--refresh", help="Live page poll interval in s."),
    binding: Path = typer.Option(None, "--binding",
                                 help="The twin's binding YAML with an advice: section: the live page's Advice panel "
                                      "then confirms/rejects proposals over its OPC UA connection (as `twin plant "
                                      "confirm`); without it the panel is read-only."),
) -> None:
    """Serve the dashboard on http://HOST:PORT (127.0.0.1:8050 by default); Ctrl-C stops it."""
    from viz import DashboardSources, serve

    check_paths({"--trace": trace, "--line-trace": line_trace, "--envelope": envelope, "--monitor": monitor,
                 "--campaign": campaign, "--life": life, "--life-fit": life_fit}, wait=wait)
    loaded = _advice_binding(binding) if binding is not None else None
    if acks is not None and not acks.parent.is_dir():
        raise DataError("--acks: its folder does not exist; give a file in an existing folder", source=str(acks))
    sources = DashboardSources(trace=trace, envelope=envelope, monitor=monitor, scenarios=_scenario_pairs(scenario),
                               campaign=campaign, life=life, life_fit=life_fit,
                               line_trace=line_trace, envelope_map=_envelope_map(envelope_map), acks=acks,
                               binding=loaded)
    url = f"http://{host}:{port}/" + ("line" if line_trace is not None and trace is None else "live")
    console.print(f"twin dashboard on [bold]{url}[/]" + (" (token required)" if token else "")
                  + (f"; advice confirmations go to {loaded.opcua.url}" if loaded is not None else ""))
    if os.environ.get("TWIN_DASHBOARD_DRY_RUN") == "1":  # for tests of the option parsing
        return
    serve(sources, host=host, port=port, token=token, refresh_ms=int(refresh * 1000))
