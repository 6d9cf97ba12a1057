"""``twin monitor``, ``twin replay`` and ``twin calibrate``: the twin on live or historical data."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table

_TRACE = typer.Option(None, "--trace", help="Zarr trace store to write (default: the binding's trace.path); "
                      "an existing store is refused unless --overwrite or --resume.")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing trace store (only a trace store is deleted).")
_RESUME = typer.Option(False, "--resume", help="Continue an existing trace store after its last complete row "
                       "(after a crash); earlier samples are skipped, the alarm log is kept.")
_BUFFER = typer.Option(100_000, "--max-buffer-rows", min=0,
                       help="Rows kept in memory while the trace's disk fails (beyond: oldest dropped and counted).")
_SET = typer.Option([], "--set", help="Override a binding field, e.g. --set detection.h=8 (repeatable).")
_LOOK = typer.Option(None, "--lookahead", help="At the end, simulate to this batch time, e.g. '8 h' (inputs held).")
_SD = typer.Option([], "--param-sd", help="Parameter uncertainty for the look-ahead, e.g. --param-sd U=20 (repeatable).")
_RUNS = typer.Option(20, "--runs", help="Monte-Carlo runs of the look-ahead.")


def _lookahead(tw, until: str | None, sds: list[str], runs: int, as_json: bool) -> dict | None:
    if not until:
        return None
    import numpy as np

    from twin import lookahead
    from workbench.errors import ConfigError
    from workbench.units import convert

    names, mean, sd = [], [], []
    for item in sds:
        name, _, value = item.partition("=")
        if not value:
            raise ConfigError(f"--param-sd {item!r}: use NAME=SD, e.g. U=20")
        names.append(name)
        mean.append(float(tw.model.parameters.get(name, tw.model.start_value(name))))
        sd.append(float(value))
    outs = ["T", "yield_C"] if {"T", "yield_C"} <= set(tw.model.variable_names) else tw.model.output_names
    la = lookahead(tw.model, until=convert(until, "s"), outputs=outs, dt=float(tw.binding.sample_period) * 6,
                   parameters=names, mean=mean, covariance=np.diag(np.square(sd)) if names else None,
                   n=runs if names else 1)
    if not as_json:
        console.print(f"look-ahead from batch time {tw.batch_time / 60:.0f} min to {until} "
                      f"({runs if names else 1} run(s), inputs held):")
        for line in la.describe():
            console.print("  " + line)
    return la.summary


def _binding(path: Path, sets: list[str]):
    from twin import load_binding
    from workbench.config import parse_override_args

    return load_binding(path, overrides=parse_override_args(sets) if sets else None)


def trace_options(overwrite: bool, resume: bool) -> None:
    """``--overwrite`` and ``--resume`` exclude each other (usage error, exit 2)."""
    from workbench.errors import ConfigError

    if overwrite and resume:
        raise ConfigError("--overwrite and --resume exclude each other: --overwrite replaces the trace store, "
                          "--resume continues it; give one")


def refuse_input_as_trace(trace: Path, data: Path) -> None:
    """The trace must not be (or be inside, or contain) the historian being replayed (exit 2, nothing touched)."""
    from workbench.errors import ConfigError

    t, d = Path(trace).resolve(), Path(data).resolve()
    if t == d or d in t.parents or t in d.parents:
        how = "is" if t == d else ("is inside" if d in t.parents else "contains")
        raise ConfigError(f"--trace {trace} {how} the historian being replayed ({data}): the trace would overwrite "
                          "its own input; give another --trace path (nothing was written)")


def open_twin_trace(make, trace: Path):
    """``make()`` (a twin that creates its trace store); an existing store → exit 2 naming both options."""
    from twin import TraceExistsError
    from workbench.errors import ConfigError

    try:
        return make()
    except TraceExistsError as exc:
        raise ConfigError(f"--trace {exc.trace_path}: a trace store exists there; give --overwrite to replace it "
                          "or --resume to continue it after its last complete row") from exc


def _print_trace_alarms(tw, printed: int) -> int:
    """Print trace-not-persisted alarms that started since ``printed``; return the new count."""
    events = [] if tw.trace is None else tw.trace.events
    for ev in events[printed:]:
        why = tw.trace.error or "a write failed"
        console.print(f"[bold red]ALARM[/] trace not persisted from t={_fmt_time(ev.start, tw)}: {why}; "
                      f"rows kept in memory (up to {tw.trace.max_buffer_rows}) and retried at each flush")
    return len(events)


def _magnitude(e) -> str:
    """An alarm's magnitude for people: rows for the trace, a probability for the look-ahead, a ratio to the
    limit for a dimensionless statistic (never the unit "1"), else the signed residual with its unit."""
    from twin import TRACE_NOT_PERSISTED

    if e.kind == TRACE_NOT_PERSISTED:
        return f"{e.magnitude:.0f} rows waiting (most)"
    if e.kind.startswith("lookahead-"):
        return f"probability {e.magnitude:.2f}"
    if e.unit in ("1", ""):
        return f"{e.magnitude:.4g} × limit"
    return f"{e.direction * e.magnitude:+.4g} {e.unit}"


def _print_event(ev, twin, out=console) -> None:
    out.print(f"[bold red]ALARM[/] {ev.kind} on {ev.tag} at t={_fmt_time(ev.start, twin)}: "
              f"residual {ev.direction * ev.magnitude:+.3g} {ev.unit}")


def _print_alarm(step, twin, out=console) -> None:
    for ev in twin.detector.events[-4:]:
        if ev.start == step.time and not getattr(ev, "_printed", False):
            ev._printed = True  # type: ignore[attr-defined]
            _print_event(ev, twin, out)


def _fmt_time(t: float, twin) -> str:
    import datetime as dt

    if twin.trace is not None and twin.trace.time_kind == "datetime":
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")
    return f"{t:.0f} s"


def trace_summary(report) -> None:
    """The trace lines of a run summary (rows recorded, buffered then written, lost; resume; failure)."""
    if not report.trace:
        return
    if report.resumed_after is not None:
        console.print(f"resumed {report.trace} after its last complete row (time {report.resumed_after:g}); "
                      f"{report.skipped} samples at or before it skipped")
    line = f"trace: {report.trace}: {report.rows_recorded} rows recorded"
    if report.rows_buffered_then_written:
        line += f", {report.rows_buffered_then_written} of them buffered in memory while the disk failed"
    line += f", {report.rows_lost} rows lost"
    console.print(line)
    if report.trace_error:
        console_err.print(f"[bold red]error:[/] trace not persisted at the end of the run ({report.trace_error}); "
                          f"{report.rows_lost} rows lost", highlight=False, soft_wrap=True)


def _summary(report, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    rate = report.samples / report.wall_time if report.wall_time else float("nan")
    console.print(f"{report.samples} samples in {report.wall_time:.2f} s ({rate:.0f} samples/s), "
                  f"{report.rejected} frames rejected, {len(report.gaps)} gaps ({report.gap_samples} samples), "
                  f"{report.syncs} state corrections")
    if report.clock_steps or report.timelines:
        console.print(f"source clock: {len(report.clock_steps)} backward steps "
                      f"({', '.join(f'{s:+g} s' for _, s in report.clock_steps) or 'none'}), "
                      f"{report.timelines} new timelines (restarted plant)")
    if report.events:
        print_table([{"tag": e.tag, "detector": e.kind, "start [s]": e.start, "end [s]": e.end,
                      "magnitude": _magnitude(e)} for e in report.events],
                    title="alarm events")
    else:
        console.print("no alarms")
    dims = report.quality.get("dimensions", {})
    print_table([{"dimension": k, "flagged samples": v} for k, v in dims.items()], title="data quality")
    trace_summary(report)


def _finish(tw, lookahead_to: str | None, param_sd: list[str], runs: int, as_json: bool) -> None:
    """Optional look-ahead from the twin's last state, close the twin, print the summary."""
    summary = _lookahead(tw, lookahead_to, param_sd, runs, as_json)
    report = tw.close()
    if as_json and summary is not None:
        print_json({**report.as_dict(), "lookahead": summary})
    else:
        _summary(report, as_json)
    if report.trace_error:  # the summary said why; no traceback
        if as_json:
            console_err.print(f"error: trace not persisted ({report.trace_error}); {report.rows_lost} rows lost",
                              highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def monitor(
    binding: Path = typer.Argument(..., help="Twin binding YAML (kind: twin-binding or line-binding)."),
    url: str = typer.Option(None, "--url", help="OPC UA endpoint (default: the binding's opcua.url)."),
    trace: Path = _TRACE,
    duration: str = typer.Option(None, "--duration", help="Stop after this much plant time, e.g. '2 h'."),
    max_samples: int = typer.Option(None, "--max-samples", help="Stop after this many samples."),
    lookahead_to: str = _LOOK,
    param_sd: list[str] = _SD,
    runs: int = _RUNS,
    sets: list[str] = _SET,
    time_scale: float = typer.Option(
        1.0, "--time-scale", help="Line bindings: plant seconds per wall second of the emulated line."
    ),
    overwrite: bool = _OVERWRITE,
    resume: bool = _RESUME,
    max_buffer_rows: int = _BUFFER,
    advise: bool = typer.Option(True, "--advise/--no-advise", help="With advice: and lookahead: in the binding, "
                                "propose set-point changes when a projection alarms (recommend or closed-loop)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a twin live against an OPC UA server; print alarms as they start (Ctrl-C stops).

    A physics binding (``kind: twin-binding``) follows an FMU; a line binding
    (``kind: line-binding``) follows machine states and counts with shift forecasts.
    With ``advice:`` and ``lookahead:`` the twin advises the plant back (docs/twin-monitoring.md,
    "Advice back to the plant").
    """
    from twin import Twin
    from twin.sources import OpcUaSource
    from workbench.config import resolve_config
    from workbench.units import convert

    trace_options(overwrite, resume)
    if resolve_config(binding).data.get("kind") == "line-binding":
        from twin_app.cli.line_twin import monitor_line_command

        monitor_line_command(binding, url=url, trace=trace, speed=time_scale, until=duration,
                             as_json=as_json, overwrite=overwrite, resume=resume, max_buffer_rows=max_buffer_rows)
        return
    b = _binding(binding, sets)
    path = trace or b.trace.path
    o = b.opcua
    source = OpcUaSource(url or o.url, [t.tag for t in b.tags] + ([b.batch_time_tag] if b.batch_time_tag else []),
                         period=b.sample_period, namespace=o.namespace,
                         units={t.tag: t.unit for t in b.tags}, publishing_interval=o.publishing_interval,
                         reconnect_initial=o.reconnect_initial, reconnect_max=o.reconnect_max,
                         time_scale=o.plant_time_scale, security=o.security)
    if overwrite or resume or not Path(path).exists():
        source.connect()  # bound nodes checked before a trace store is created or replaced
    try:
        tw = open_twin_trace(lambda: Twin(b, trace=path, time_kind="datetime", overwrite=overwrite, resume=resume,
                                          max_buffer_rows=max_buffer_rows), path)
    except BaseException:
        source.close()
        raise
    channel = None
    if advise and b.advice is not None and b.lookahead is not None:
        from twin import AdviceChannel

        try:
            channel = AdviceChannel.from_binding(b, source, trace=tw.trace)
            tw.attach_advice(channel)
        except BaseException:
            source.close()
            if channel is not None:
                channel.close()
            raise
    t_stop = None
    first = {}
    trace_alarms = 0

    def on_step(step):
        nonlocal t_stop, trace_alarms
        if not first and step.accepted:
            first["t"] = step.time
            if duration:
                t_stop = step.time + convert(duration, "s")
        _print_alarm(step, tw, console_err if as_json else console)  # --json: stdout is the report only
        if not as_json:
            trace_alarms = _print_trace_alarms(tw, trace_alarms)
        if t_stop is not None and step.time >= t_stop:
            raise KeyboardInterrupt

    if not as_json:
        console.print(f"monitoring {b.name} at {source.url} (Ctrl-C to stop)"  # masked URL
                      + (f"; advising {', '.join(sp.node for sp in b.advice.setpoints if sp.input)} "
                         f"({b.advice.mode})" if channel is not None else ""))
    try:
        tw.run(source, max_frames=max_samples, on_step=on_step)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
        if channel is not None:
            channel.close()
    _finish(tw, lookahead_to, param_sd, runs, as_json)


def replay(
    binding: Path = typer.Argument(..., help="Twin binding YAML (kind: twin-binding)."),
    data: Path = typer.Argument(..., help="Historian file: .csv, .parquet, .nc or .zarr (long or wide)."),
    speed: str = typer.Option("max", "--speed", help="'max' (as fast as possible), 1 (real time) or N (N× faster)."),
    trace: Path = _TRACE,
    lookahead_to: str = _LOOK,
    param_sd: list[str] = _SD,
    runs: int = _RUNS,
    sets: list[str] = _SET,
    overwrite: bool = _OVERWRITE,
    resume: bool = _RESUME,
    max_buffer_rows: int = _BUFFER,
    as_json: bool = JSON_OPTION,
) -> None:
    """Replay historical data through the twin and record the trace.

    With ``--resume`` the rows at or before the trace's last complete row are skipped
    (the twin starts at the first new one), so replaying the same file again continues
    the trace instead of repeating or reversing its time axis.
    """
    from twin import Twin
    from twin.sources import ReplaySource

    trace_options(overwrite, resume)
    if trace is not None:  # before anything is loaded
        refuse_input_as_trace(trace, data)
    b = _binding(binding, sets)
    path = trace or b.trace.path
    refuse_input_as_trace(path, data)
    source = ReplaySource(data, speed=speed, units={t.tag: t.unit for t in b.tags})
    tw = open_twin_trace(lambda: Twin(b, trace=path, time_kind=source.time_kind, overwrite=overwrite,
                                      resume=resume, max_buffer_rows=max_buffer_rows), path)
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as progress:
        task = progress.add_task("replaying", total=source.n_frames)
        printed = 0
        trace_alarms = 0

        def on_progress(n: int) -> None:  # keeps the block path of max-speed replay
            nonlocal printed, trace_alarms
            progress.advance(task, n)
            events = tw.detector.events
            if not as_json:
                for ev in events[printed:]:
                    _print_event(ev, tw)
                trace_alarms = _print_trace_alarms(tw, trace_alarms)
            printed = len(events)

        tw.run(source, on_progress=on_progress)
    _finish(tw, lookahead_to, param_sd, runs, as_json)


def calibrate(
    binding: Path = typer.Argument(..., help="Twin binding YAML (kind: twin-binding)."),
    data: Path = typer.Argument(..., help="Historian file or trace store starting at batch start."),
    param: list[str] = typer.Option([], "--param", help="Parameter to fit (repeatable; default: the binding's calibration list)."),
    start: str = typer.Option(None, "--start", help="Start of the fit window after the first sample, e.g. '30 min'."),
    end: str = typer.Option(None, "--end", help="End of the fit window, e.g. '4 h'."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence level of the intervals."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave out [TAG@]START..END (times after the first "
                                      "sample, e.g. '3 h..4 h' or 'TI_reactor@1 h..'; repeatable)."),
    events: Path = typer.Option(None, "--events", help="Known events: a plant-emulator YAML whose scripted faults "
                                "are left out (times after the first sample)."),
    include_flagged: bool = typer.Option(False, "--include-flagged", help="Fit through the windows the twin flagged "
                                         "(quality flags, alarm windows) instead of leaving them out."),
    loss: str = typer.Option("linear", "--loss", help="linear (least squares), huber or cauchy (robust)."),
    f_scale: float = typer.Option(None, "--f-scale", help="Robust loss scale in units of σ (default: huber 1.345, "
                                  "cauchy 2.385)."),
    misfit: str = typer.Option("scale", "--misfit", help="When s² is outside its χ² interval: 'scale' the interval "
                               "by s², or 'refuse' it and name the worst misfits."),
    sets: list[str] = _SET,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit FMU parameters to historical data; leave out flagged windows; say how far the intervals hold.

    Windows the twin flagged (data-quality flags, alarm windows of a trace store), known events
    (--events) and --exclude windows are left out and listed. When s² is outside its χ² interval
    the interval is scaled by s² (said so) or refused (--misfit refuse); parameters the data
    cannot determine are reported as such.
    """
    from twin import CalibrationParameter, parse_window, windows_from_faults
    from twin import calibrate as fit
    from workbench.errors import ConfigError
    from workbench.units import convert

    b = _binding(binding, sets)
    params = None
    if param:
        known = {p.name: p for p in b.calibration}
        params = [known.get(n, CalibrationParameter(name=n)) for n in param]
    window = None
    if start or end:
        window = (convert(start, "s") if start else 0.0, convert(end, "s") if end else float("inf"))
    if misfit not in ("scale", "refuse"):
        raise ConfigError(f"--misfit '{misfit}' is not known; choose 'scale' or 'refuse'")
    windows = [parse_window(w, tags=[t.tag for t in b.tags]) for w in exclude]
    if events is not None:
        from twin.emulator import load_plant_scenario

        windows += windows_from_faults(load_plant_scenario(events).faults)
    with console.status("calibrating", spinner="dots") if not as_json else _null():
        result = fit(b, data, parameters=params, window=window, confidence=confidence, exclude=windows,
                     include_flagged=include_flagged, loss=loss, f_scale=f_scale, on_misfit=misfit)
    if as_json:
        print_json(result.as_dict())
        return
    _print_calibration(b, result, confidence)


def _estimate_text(est: float, se: float, status: str) -> tuple[str, str]:
    """Estimate and std error with as many digits as the std error supports (two significant)."""
    import math

    if status == "not determined" or not math.isfinite(se):
        return f"{est:.2g} (not determined)", "—"
    if se <= 0:
        return f"{est:.6g}", f"{se:.2g}"
    decimals = max(0, 1 - math.floor(math.log10(se)))
    return f"{est:.{decimals}f}", f"{se:.{decimals}f}"


def _print_calibration(b, result, confidence: float) -> None:
    import math

    from fmu_models import describe_fmu

    units = {v.name: v.units for v in describe_fmu(b.fmu_path()).variables}
    rows = []
    for r in result.as_dict()["parameters"]:
        est, se = _estimate_text(r["estimate"], r["std_error"], r["identifiability"])
        if r["identifiability"] == "not determined":
            ci = "not determined by this data"
        elif result.interval == "refused":
            ci = "refused (see below)"
        else:
            digits = est.split(".")[1] if "." in est else ""
            ci = f"[{r['ci_low']:.{len(digits)}f}, {r['ci_high']:.{len(digits)}f}]"
            if r["name"] in result.profiles:
                ci += " (profile)"
        rows.append({"parameter": r["name"], "estimate": est, "std error": se, f"{confidence:.0%} CI": ci,
                     "identifiable": r["identifiability"], "initial": f"{r['initial']:.6g}",
                     "unit": units.get(r["name"], "–")})
    print_table(rows, title=f"calibration of {b.name}")
    if result.excluded:
        print_table([{"tag": w.tag or "all", "from": f"{w.start / 60:.1f} min",
                      "to": f"{w.end / 60:.1f} min" if math.isfinite(w.end) else "end", "why": w.reason}
                     for w in result.excluded],
                    title=f"left out ({result.n_excluded} residuals; --include-flagged to fit through them)")
    print_table([{"tag": k, "RMSE": f"{v:.4g}", "unit": next(t.unit for t in b.outputs if t.tag == k)}
                 for k, v in result.rmse.items()], title="fit quality")
    if len(result.names) > 1:
        print_table([{"": n, **{m: f"{c:+.3f}" for m, c in zip(result.names, row, strict=True)}}
                     for n, row in zip(result.names, result.correlation, strict=True)],
                    title=f"parameter correlation (Fisher-information condition number {result.condition_number:.3g})")
    lo, hi = result.dispersion_interval
    basis = {"sigma": "inside: σ taken as right, normal quantiles",
             "scaled": "outside: interval scaled by it, Student-t quantiles",
             "refused": "outside: interval refused"}[result.interval]
    what = "s²" if result.loss == "linear" else f"dispersion ({result.loss}, f_scale {result.f_scale:g} σ)"
    console.print(f"{what} = {result.dispersion:.3g}, {confidence:.0%} χ² interval [{lo:.3g}, {hi:.3g}] ({basis}); "
                  f"{result.n_obs} residuals, {result.nfev} model runs, {result.message}")
    for w in result.warnings:
        console_err.print(f"[yellow]warning:[/] {w}")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
