"""``twin calibrate-line``: re-estimate a line model from a window of live line data.

(``twin monitor LINE_BINDING.yaml`` and ``twin plant serve LINE_PLANT.yaml`` dispatch on
``kind`` to :func:`twin.line.monitor_line` / :func:`twin.line.serve_line_plant`; the
helpers :func:`print_line_report` and :func:`print_line_plant` print their output.)
"""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table


def calibrate_line(
    binding: Path = typer.Argument(..., help="Line binding YAML (kind: line-binding)."),
    trace: Path = typer.Argument(..., help="Line-twin trace directory written by `twin monitor`."),
    start: str = typer.Option(None, "--start", help="Window start on the plant clock, e.g. '3 h' (default: trace start)."),
    end: str = typer.Option(None, "--end", help="Window end on the plant clock, e.g. '5 h' (default: trace end)."),
    station: list[str] = typer.Option([], "--station", help="Station to re-estimate (repeatable; default: all)."),
    parameter: list[str] = typer.Option([], "--parameter",
                                        help="process_time, ttr, ttf or scrap (repeatable; default: all)."),
    min_samples: int = typer.Option(20, "--min-samples", help="Fewer observations leave a parameter unchanged."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of the confidence intervals (0-1)."),
    output: Path = typer.Option(None, "--output", "-o",
                                help="Updated scenario YAML to write (default: <scenario>_calibrated.yaml next to it)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-estimate cycle-time, repair, failure and scrap distributions from live data; write a scenario."""
    from twin.line import calibrate_line as _calibrate
    from twin.line import load_line_binding
    from workbench.errors import ConfigError
    from workbench.units import convert

    valid = ("process_time", "ttr", "ttf", "scrap")
    for p in parameter:
        if p not in valid:
            from workbench.errors import did_you_mean

            raise ConfigError(f"--parameter '{p}' is not known; {did_you_mean(p, valid)}", path="--parameter")
    if not 0 < confidence < 1:
        raise ConfigError(f"--confidence must be in (0, 1), got {confidence}", path="--confidence")
    b = load_line_binding(binding)
    cal = _calibrate(b, trace, start=convert(start, "s") if start else None, end=convert(end, "s") if end else None,
                     stations=list(station) or None, parameters=tuple(parameter) or valid,
                     min_samples=min_samples, confidence=confidence)
    out = output or b.scenario_path().with_name(b.scenario_path().stem + "_calibrated.yaml")
    written = cal.write(out) if cal.estimates else None
    if as_json:
        print_json({"estimates": [e.as_dict() for e in cal.estimates], "window_s": list(cal.window),
                    "scenario": str(written) if written else None})
        return
    if not cal.estimates:
        console.print(f"no parameter had at least {min_samples} observations in the window; nothing written")
        return
    pct = f"{confidence:.0%}"
    print_table([{"station": e.station, "parameter": e.parameter, "n": e.n,
                  "model mean": f"{e.model_mean:.4g} {e.units}", "new mean": f"{e.mean:.4g} {e.units}",
                  f"{pct} CI": f"[{e.mean_ci[0]:.4g}, {e.mean_ci[1]:.4g}] {e.units}", "fit": e.distribution}
                 for e in cal.estimates],
                title=f"re-calibrated from plant clock {cal.window[0]:.0f} s to {cal.window[1]:.0f} s")
    console.print(f"wrote {written}")


def print_line_report(report, as_json: bool = False) -> None:
    """Print a :class:`twin.line.LineTwinReport` (used by ``twin monitor`` on a line binding)."""
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"{report.samples} samples, {report.rejected} rejected (time not after the last one), "
                  f"{len(report.gaps)} gaps, {report.resyncs} state rebuilds, {report.tests_run} window tests")
    if report.clock_steps or report.timelines:
        console.print(f"source clock: {len(report.clock_steps)} backward steps, {report.timelines} new timelines")
    if report.alarms:
        print_table([{"station": a.station, "parameter": a.parameter, "test": a.test,
                      "start [s]": a.start, "message": a.message} for a in report.alarms], title="alarms")
    else:
        console.print("no alarms")
    if report.forecasts:
        print_table([{"clock [h]": f"{f.time / 3600:.2f} h", "so far": f"{f.shipped_so_far:.0f} parts",
                      "forecast": f"{f.median:.0f} [{f.low:.0f}, {f.high:.0f}] parts",
                      "actual": "" if f.actual != f.actual else f"{f.actual:.0f} parts",
                      "bottleneck": f.expected_bottleneck} for f in report.forecasts],
                    title="end-of-shift forecasts")
    for ev in report.trace_events:
        end = "now" if ev.end is None else f"t={ev.end:g}"
        console.print(f"[bold red]ALARM[/] {ev.kind} from t={ev.start:g} to {end}: at most "
                      f"{ev.magnitude:.0f} rows waited in memory")
    from twin_app.cli.monitor import trace_summary

    trace_summary(report)


def monitor_line_command(binding: Path, *, url: str | None = None, trace: Path | None = None,
                         speed: float = 1.0, until: str | None = None, as_json: bool = False,
                         overwrite: bool = False, resume: bool = False, max_buffer_rows: int = 100_000) -> None:
    """Body of ``twin monitor LINE_BINDING.yaml`` (for the dispatch on ``kind: line-binding``).

    Exits 1 (after the summary) when the trace is not persisted at the end of the run.
    """
    from twin.line import monitor_line
    from twin_app.cli.monitor import open_twin_trace, trace_options
    from workbench.units import convert

    trace_options(overwrite, resume)
    (console_err if as_json else console).print(f"following line binding {binding} (Ctrl-C stops)")
    try:
        report = open_twin_trace(lambda: monitor_line(binding, endpoint=url, trace=trace, time_scale=speed,
                                                      until=convert(until, "s") if until else None,
                                                      overwrite=overwrite, resume=resume,
                                                      max_buffer_rows=max_buffer_rows), trace)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return
    print_line_report(report, as_json)
    if report.trace_error:
        raise typer.Exit(1)


def serve_line_plant_command(scenario: Path, *, endpoint: str | None = None, speed: float | None = None,
                             anchor: float | None = None, seed: int | None = None, until: str | None = None,
                             security=None) -> None:
    """Body of ``twin plant serve LINE_PLANT.yaml`` (for the dispatch on ``kind: line-plant``)."""
    from twin.line import line_plant_server, load_line_plant
    from workbench.units import convert

    sc = load_line_plant(scenario)
    server = line_plant_server(sc, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed)
    if security is not None:
        from twin_app.cli.plant import print_security

        server.security = security
    print_line_plant(sc, server)
    from twin_app.cli.plant import print_anchor

    if security is not None:
        print_security(security)
    try:
        server.run(until=convert(until, "s") if until else None, on_ready=print_anchor)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
    console.print(f"published {server.samples_published} samples; plant clock {server.plant.time:g} s")


def print_line_plant(sc, server) -> None:
    """Print what a line-mode emulator serves."""
    print_table([{"station": s.name, "machines": s.servers, "tags": f"{s.name}.state/good/scrap/cycles/"
                  "cycle_time/buffer/product"} for s in server.plant.line.stations], title=f"{sc.name}: line tags")
    if sc.changes:
        print_table([{"change": c.kind, "station": c.station, "at": f"{c.at:g} s",
                      "until": "" if c.until is None else f"{c.until:g} s", "factor": f"{c.factor:g}"}
                     for c in sc.changes], title="scripted changes (hidden from the twin)")
    console.print(f"serving {sc.name} at {server.endpoint}, {server.speed:g}× real time, "
                  f"sample period {sc.sample_period:g} s, clock tag {sc.batch_time_tag} (Ctrl-C stops)")
