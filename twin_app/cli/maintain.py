"""``twin maintain``: maintenance from a tracked parameter (moving-window calibration → drift → limit → cleaning)."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table


def _fmu_parameter(b, name: str) -> str:
    """The parameter's unit; an unknown name is a usage error naming the FMU's parameters (exit 2)."""
    import difflib

    from fmu_models import describe_fmu
    from workbench.errors import ConfigError

    params = {v.name: v.units or "" for v in describe_fmu(b.fmu_path()).variables if v.causality == "parameter"}
    if name not in params:
        close = difflib.get_close_matches(name, list(params), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"--param '{name}' is not a parameter of {b.fmu_path().name}{hint} "
                          f"(parameters: {', '.join(sorted(params))})")
    return params[name]


def maintain(
    binding: Path = typer.Argument(..., help="Twin binding YAML (kind: twin-binding)."),
    data: Path = typer.Argument(..., help="Trace store or historian file starting at batch start."),
    param: str = typer.Option(..., "--param", help="Parameter to track, e.g. U."),
    limit: float = typer.Option(..., "--limit", help="Value the parameter must not pass (its units), e.g. 320."),
    window_min: float = typer.Option(30.0, "--window-min", help="Calibration window length [min]."),
    step_min: float = typer.Option(None, "--step-min", help="Step between window starts [min] (default: the window)."),
    model: str = typer.Option("linear", "--model", help="Drift model: linear, exponential (linear in ln) or "
                              "reciprocal (linear in 1/value: the fouling law of a heat-transfer coefficient)."),
    clean_cost: float = typer.Option(None, "--clean-cost", help="Cost of one cleaning (any currency)."),
    downtime_h: float = typer.Option(0.0, "--downtime-h", help="Downtime of one cleaning [h]."),
    loss_rate: float = typer.Option(None, "--loss-rate", help="Cost per unit of degradation per hour (linear: per "
                                    "unit of the parameter lost; reciprocal: per unit of 1/value, e.g. per m2.K/W "
                                    "of fouling resistance)."),
    events: Path = typer.Option(None, "--events", help="Known events: a plant-emulator YAML whose scripted faults "
                                "are left out (times after the first sample)."),
    include_flagged: bool = typer.Option(False, "--include-flagged", help="Fit through the windows the twin flagged."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence level of the intervals."),
    report: Path = typer.Option(None, "--report", help="Write an HTML report (path, drift band, limit, forecast, "
                                "cost curve)."),
    sets: list[str] = typer.Option([], "--set", help="Override a binding field, e.g. --set parameters.U=390."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Forecast when a tracked parameter reaches a limit, and when to clean.

    The parameter is calibrated on consecutive windows of the data (flagged windows and known
    events left out, as in `twin calibrate`); windows where it is not determined are skipped and
    listed. A drift fitted to that path gives "U reaches 320 in 6.2 d [4.8, 8.1]" (Fieller's
    interval) or "not determined" with the reason; with --clean-cost and --loss-rate, the
    cost-optimal cleaning interval (renewal reward) and its cost curve.
    """
    import numpy as np

    from twin import DRIFT_SCALES, maintenance_forecast, parameter_path, windows_from_faults
    from twin_app.cli.monitor import _binding, _null
    from viz.maintain_report import duration_unit, fmt_duration
    from workbench.errors import ConfigError

    if model not in DRIFT_SCALES:
        raise ConfigError(f"--model '{model}' is not known; choose one of {', '.join(DRIFT_SCALES)}")
    if not window_min > 0 or (step_min is not None and not step_min > 0):
        raise ConfigError(f"--window-min and --step-min must be > 0, got {window_min} and {step_min}")
    if not 0 < confidence < 1:
        raise ConfigError(f"--confidence must be in (0, 1), got {confidence}")
    if (clean_cost is None) != (loss_rate is None):
        raise ConfigError("a cleaning interval needs both --clean-cost and --loss-rate (and optionally --downtime-h)")
    if clean_cost is not None and not (clean_cost > 0 and loss_rate > 0 and downtime_h >= 0):
        raise ConfigError(f"--clean-cost and --loss-rate must be > 0 and --downtime-h ≥ 0, got {clean_cost}, "
                          f"{loss_rate}, {downtime_h}")
    if not data.exists():
        raise ConfigError(f"data '{data}' does not exist; give a trace store or historian file")
    b = _binding(binding, sets)
    unit = _fmu_parameter(b, param)
    windows = []
    if events is not None:
        from twin.emulator import load_plant_scenario

        windows = windows_from_faults(load_plant_scenario(events).faults)
    with console.status("calibrating window by window", spinner="dots") if not as_json else _null():
        path = parameter_path(b, data, param, window=window_min * 60.0,
                              step=step_min * 60.0 if step_min else None, exclude=windows,
                              include_flagged=include_flagged, confidence=confidence)
    fc = maintenance_forecast(path, limit, scale=model, cleaning_cost=clean_cost,
                              loss_rate=loss_rate / 3600.0 if loss_rate is not None else None,
                              downtime=downtime_h * 3600.0)
    if report is not None:
        from viz.maintain_report import write_maintenance_report

        write_maintenance_report(report, fc, unit=unit, source=str(data), inputs=[binding, data])
    if as_json:
        out = fc.as_dict()
        out["unit"] = unit
        if "cleaning" in out and "loss_rate" in out["cleaning"]:
            out["cleaning"]["loss_rate"] = loss_rate  # as given: per unit of degradation per hour
            out["cleaning"]["units"] = "times (interval, tau, downtime) in s; cost_rate and cost_curve per s"
        if report is not None:
            out["report"] = str(report)
        print_json(out)
        return
    u = f" {unit}" if unit else ""
    print_table([{"from": fmt_duration(a), "to": fmt_duration(e), f"{param} [{unit}]": f"{est:.5g}",
                  "std error": f"{se:.2g}", "interval": i}
                 for a, e, est, se, i in zip(path.start, path.end, path.estimate, path.std_error, path.interval,
                                             strict=True)],
                title=f"{param} by {window_min:g}-min window (times after the first sample)")
    if path.skipped:
        print_table([{"from": fmt_duration(s["start"]), "to": fmt_duration(s["end"]), "why": s["reason"]}
                     for s in path.skipped], title=f"windows skipped ({len(path.skipped)})")
    r = fc.reaches_in
    if r:
        un = duration_unit(r[0])
        console.print(f"{param} reaches {limit:g}{u} in {fmt_duration(r[0], un)} "
                      f"[{fmt_duration(r[1], un)}, {fmt_duration(r[2], un)}] ({confidence:.0%}, Fieller; "
                      f"{model} drift fitted to {path.estimate.size} windows, current {fc.current:.4g}{u})")
    else:
        console.print(f"{param} reaching {limit:g}{u}: not determined — {fc.crossing.describe()} "
                      f"({path.estimate.size} windows, current {fc.current:.4g}{u})")
    if fc.plan is not None:
        p = fc.plan
        un = duration_unit(p.interval)
        console.print(f"clean every {fmt_duration(p.interval, un)} [{fmt_duration(p.low, un)}, "
                      f"{fmt_duration(p.high, un)}]{' (capped at the limit crossing)' if p.limited else ''}; "
                      f"cost rate {p.cost_rate * 3600:.4g} per h at the optimum")
        idx = np.unique(np.linspace(0, p.tau.size - 1, 9).round().astype(int))
        print_table([{"clean every": fmt_duration(float(p.tau[i]), un), "cost per h": f"{p.cost_curve[i] * 3600:.4g}"}
                     for i in idx], title="cost rate over the cleaning interval")
    if fc.plan_note:
        console_err.print(f"[yellow]note:[/] {fc.plan_note}")
    if report is not None:
        console.print(f"report: {report}")

