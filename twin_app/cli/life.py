"""``twin life run|fit|optimize-pm``: reliability Monte Carlo, life-data fitting, PM policy."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import (
    DASK_OPTION,
    JSON_OPTION,
    console,
    console_err,
    open_executor,
    print_json,
    print_table,
)
from twin_app.cli._cost import YES_OPTION, confirm_run

app = typer.Typer(help="Reliability: system life Monte Carlo, Weibull fitting of field data, PM policy.",
                  no_args_is_help=True)

SET_OPTION = typer.Option(None, "--set", "-s", help="What-if override PATH=VALUE (repeatable), e.g. --set simulation.missions=20000.")
SEED_OPTION = typer.Option(None, "--seed", help="Root seed (default: simulation.seed of the model).")
EXECUTOR_OPTION = typer.Option(None, "--executor", help='Executor: "serial", "processes:N" or a Dask scheduler address.')


def _load(model_file: Path, set_: list[str] | None):
    from simulation.life import load_life_model
    from workbench.config import parse_override_args

    return load_life_model(model_file, overrides=parse_override_args(set_ or []))


@app.command("run")
def run(
    model_file: Path = typer.Argument(..., help="Life model YAML (kind: life)."),
    set_: list[str] = SET_OPTION,
    seed: int = SEED_OPTION,
    engine: str = typer.Option(None, "--engine", help="auto | vectorised | event (default: from the model)."),
    executor: str = EXECUTOR_OPTION,
    dask: str = DASK_OPTION,
    out: Path = typer.Option(None, "--out", "-o", help="Write the result dataset to this NetCDF file."),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML report here."),
    as_json: bool = JSON_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Simulate a system's life: R(t), MTTF, B10, availability, costs, component importance."""
    from simulation.life import run_life
    from workbench.dataset import write_netcdf

    model = _load(model_file, set_)
    confirm_run(model, yes=yes, engine=engine)
    with open_executor(dask=dask, executor=executor) as ex:
        ds = run_life(model, seed=seed, executor=ex, engine=engine, progress=False if as_json else "missions")
    unit = model.simulation.report_unit
    from simulation.life import kpi_rows

    rows = kpi_rows(ds, unit)
    comp = []
    for var in ("birnbaum_importance", "failure_share", "component_failures", "component_pm"):
        if var in ds:
            for c in ds["component"].values:
                comp.append({"component": str(c), "measure": var,
                             "estimate": float(ds[var].sel(bound="estimate", component=c)), "unit": "1"})
    if out is not None:
        write_netcdf(ds, out)
    if report is not None:
        from viz.life_report import write_life_report

        write_life_report(report, ds, inputs=[model_file])
    if as_json:
        print_json({"model": model.name, "engine": ds.attrs["engine"], "kpis": rows, "components": comp,
                    "out": str(out) if out else None, "report": str(report) if report else None})
        return
    print_table(rows, title=f"{model.name}: {ds.attrs['engine']} engine (CI {model.simulation.confidence:.0%})",
                columns=["kpi", "estimate", "lower", "upper", "unit"])
    if comp:
        print_table(comp, title="components", columns=["component", "measure", "estimate", "unit"])
    for p in (out, report):
        if p is not None:
            console.print(f"wrote {p}")


@app.command("fit")
def fit(
    data: Path = typer.Argument(..., help="CSV (or Parquet) with time[,status][,count] or lower,upper[,count] columns."),
    unit: str = typer.Option("h", "--unit", help="Time unit of the data, e.g. h, d, min."),
    distribution: str = typer.Option("auto", "--distribution", "-d", help="weibull, weibull3, lognormal, exponential, gamma, normal or auto (best AIC)."),
    bounds: str = typer.Option("fisher", "--bounds", help="Confidence bounds: fisher or likelihood."),
    confidence: float = typer.Option(0.95, "--confidence", help="Two-sided confidence level, e.g. 0.9."),
    status_map: str = typer.Option(
        None, "--status-map",
        help="Your status codes as CODE=TARGET pairs, replacing the default convention, e.g. "
             "'F=failure,S=suspension' or '1=censored,2=failure' (R survival coding). Targets: failure (failed, "
             "event) or suspension (suspended, censored, survivor, right-censored)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the best fit as kind: life-distribution YAML."),
    report: Path = typer.Option(None, "--report", help="Write the probability plot as self-contained HTML."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit life distributions (MLE, censored data) and write the best one for life models.

    \b
    Status convention (column status, event or failed; any case, spaces stripped):
      failure:    F, fail, failed, failure, event, 1, true, yes
      suspension: S, suspended, suspension, C, censored, right-censored,
                  survivor, survived, running, 0, false, no
    Any other value is an error naming file:row:column; a 2 (R survival coding,
    1 censored, 2 event) asks for --status-map 1=censored,2=failure.
    Bad cells (non-numeric or negative time, count not a whole number >= 1, NaN)
    and data that cannot determine a distribution (fewer distinct failure times
    than parameters, a fit running to a bound) exit with code 2; -o writes nothing then.
    """
    from simulation.life import fit_best, fit_life, read_life_data, write_fitted
    from workbench.errors import DataError
    from workbench.units import convert

    convert(1.0, "s", from_unit=unit)  # validates the unit
    ld = read_life_data(data, unit=unit, status_map=status_map)
    skipped: dict[str, str] = {}
    try:
        fits = (fit_best(ld, confidence=confidence, bounds=bounds, skipped=skipped) if distribution == "auto"
                else [fit_life(ld, distribution, confidence=confidence, bounds=bounds)])
    except DataError as exc:
        if exc.source is not None:
            raise
        raise DataError(exc.message, source=str(data)) from None
    best = fits[0]
    if output is not None:
        write_fitted(best, output, unit=unit, source=str(data))
    if report is not None:
        from viz.life_report import write_life_report

        write_life_report(report, fit_plot=best.plot_data(), title=f"life data fit: {data.name}", unit=unit,
                          inputs=[data])
    if as_json:
        print_json({"fits": [f.summary() for f in fits], "best": best.distribution, "skipped": skipped,
                    "output": str(output) if output else None})
        return
    rows = []
    for f in fits:
        params = ", ".join(
            f"{k}={v:.4g}{'' if k in ('shape', 'sigma') else ' ' + unit} [{f.bounds[k][0]:.4g}, {f.bounds[k][1]:.4g}]"
            for k, v in f.params.items())
        b10 = f.b_life(0.1)
        rows.append({"distribution": f.distribution, f"parameters ({confidence:.0%} {bounds} bounds)": params,
                     "logL": f.loglik, "AIC": f.aic, "AD": "-" if f.ad != f.ad else f"{f.ad:.3f}",
                     "B10": f"{b10[0]:.4g} {unit}"})
    print_table(rows, title=f"{data.name}: n={ld.n}, failures={ld.n_failed}, suspensions={len(ld.right)}")
    for name, reason in skipped.items():
        console.print(f"not fitted: {name}: {reason}", highlight=False, markup=False)
    if output is not None:
        console.print(f"wrote {output} ({best.distribution}); use it as `life: {output.name}` in a life model")
    if report is not None:
        console.print(f"wrote {report}")


@app.command("optimize-pm")
def optimize_pm_cmd(
    model_file: Path = typer.Argument(..., help="Life model YAML with a component that has 'preventive'."),
    component: str = typer.Option(None, "--component", "-c", help="Component to optimise (default: first with PM)."),
    intervals: str = typer.Option(None, "--intervals", help='Comma-separated candidate intervals, e.g. "200 h,400 h,800 h".'),
    set_: list[str] = SET_OPTION,
    replications: int = typer.Option(None, "--replications", "-n", help="Replications per interval."),
    seed: int = SEED_OPTION,
    executor: str = EXECUTOR_OPTION,
    dask: str = DASK_OPTION,
    out: Path = typer.Option(None, "--out", "-o", help="Write the interval sweep to NetCDF."),
    report: Path = typer.Option(None, "--report", help="Write the cost-rate curve as HTML."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find the PM (or inspection) interval with the lowest cost rate; compare with renewal-reward."""
    import numpy as np

    from simulation.life import optimize_pm
    from workbench.dataset import write_netcdf
    from workbench.units import convert

    model = _load(model_file, set_)
    grid = None if intervals is None else np.array([convert(s.strip(), "s") for s in intervals.split(",") if s.strip()])
    with open_executor(dask=dask, executor=executor) as ex:
        ds = optimize_pm(model, component, intervals=grid, replications=replications, seed=seed, executor=ex,
                         progress=False)
    unit = model.simulation.report_unit
    per = convert(1.0, "s", from_unit=unit)
    cur = model.currency
    rows = []
    for k in range(ds.sizes["trial"]):
        row = {"interval": f"{ds['interval'].values[k] / per:.4g} {unit}",
               "cost rate": f"{float(ds['cost_rate'].sel(bound='estimate')[k]):.4g} {cur}/h",
               f"{model.simulation.confidence:.0%} CI": f"[{float(ds['cost_rate'].sel(bound='lower')[k]):.4g}, {float(ds['cost_rate'].sel(bound='upper')[k]):.4g}]",
               "availability": f"{float(ds['mean_availability'].sel(bound='estimate')[k]):.4f}"}
        if "cost_rate_analytic" in ds:
            row["renewal-reward"] = f"{float(ds['cost_rate_analytic'][k]):.4g} {cur}/h"
        rows.append(row)
    if out is not None:
        write_netcdf(ds, out)
    if report is not None:
        from viz.life_report import write_life_report

        write_life_report(report, policy=ds, title=f"{model.name}: PM interval", unit=unit, inputs=[model_file])
    summary = {"component": ds.attrs["component"], "policy": ds.attrs["policy"],
               "best_interval": ds.attrs["best_interval_s"] / per, "unit": unit}
    if "analytic_optimum_s" in ds.attrs:
        summary["analytic_optimum"] = ds.attrs["analytic_optimum_s"] / per
        summary["analytic_optimum_cost_rate"] = ds.attrs["analytic_optimum_cost_rate"]
    from viz.life_report import pm_edge_warning

    edge = pm_edge_warning(ds, unit)
    summary["optimum_on_grid_edge"] = edge is not None
    if edge is not None:
        summary["warning"] = edge
    if as_json:
        print_json({"summary": summary, "trials": rows})
        if edge is not None:
            console_err.print(f"[bold yellow]warning:[/] {edge}", highlight=False)
        return
    print_table(rows, title=f"{model.name}: {ds.attrs['component']} {ds.attrs['policy']} policy")
    console.print(f"best simulated interval: {summary['best_interval']:.4g} {unit}")
    if edge is not None:
        console_err.print(f"[bold yellow]warning:[/] {edge}", highlight=False)
    if "analytic_optimum" in summary:
        note = "" if ds.attrs.get("analytic_applies") else " (component alone, instantaneous replacement)"
        console.print(f"renewal-reward optimum{note}: {summary['analytic_optimum']:.4g} {unit} at "
                      f"{summary['analytic_optimum_cost_rate']:.4g} {cur}/h")
