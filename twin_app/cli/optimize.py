"""``twin optimize``: recipe campaigns (Optuna) and dynamic optimisation (Pyomo/Ipopt).

``twin optimize CAMPAIGN.yaml`` is short for ``twin optimize run CAMPAIGN.yaml``.
``twin optimize salvage`` copies the readable records of a damaged journal into a new one.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table
from twin_app.cli._cost import YES_OPTION, confirm_run


class _RunByDefault(TyperGroup):
    """A group where ``twin optimize FILE.yaml ...`` means ``twin optimize run FILE.yaml ...``."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args.insert(0, "run")
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_RunByDefault, no_args_is_help=True,
                  help="Recipe optimisation: Optuna campaigns on the twin, Pyomo/Ipopt dynamic optimisation.")

CAMPAIGN_ARG = typer.Argument(..., help="Campaign YAML (kind: campaign).", exists=True, dir_okay=False)
SET_OPT = typer.Option([], "--set", "-s", help="Override a campaign field PATH=VALUE (repeatable), "
                       "e.g. --set parameters.jacket_inlet_1.high='345 K' or --set model.backend=reference.")
STORAGE_OPT = typer.Option(None, "--storage", help="Optuna storage: postgresql://... URL or journal file "
                           "(default: <name>.journal next to the campaign).")


NEW_STUDY_OPT = typer.Option(False, "--new-study", help="Start a new study (<name>-2, -3 ...) in the same storage; "
                             "earlier studies keep their trials. Needed when the search space changed.")
RESUME_ANYWAY_OPT = typer.Option(False, "--resume-anyway", help="Continue the study although the search space "
                                 "changed; the best recipe is chosen among the trials inside the new space.")


def _load(campaign: Path, sets: list[str], storage: str | None = None, *, new_study: bool = False,
          resume_anyway: bool = False):
    from optimization import load_campaign
    from workbench.config import parse_override_args

    if new_study and resume_anyway:
        raise typer.BadParameter("give --new-study or --resume-anyway, not both")
    mode = "new-study" if new_study else "resume-anyway" if resume_anyway else "refuse"
    return load_campaign(campaign, storage=storage, overrides=parse_override_args(sets) if sets else None,
                         on_space_change=mode)


def _print_repairs(camp) -> None:
    """Warn (stderr) about torn journal records the campaign cut off before it ran."""
    from rich.markup import escape

    for repair in camp.journal_repairs:
        console_err.print(f"[bold yellow]journal repaired:[/] {escape(str(repair))}", highlight=False,
                          soft_wrap=True)


def _print_result(res, as_json: bool) -> None:
    if as_json:
        print_json(res.summary())
        return
    colour = {"ok": "green", "infeasible": "yellow", "empty": "yellow"}.get(res.status, "white")
    console.print(f"[bold {colour}]{res.status}[/]: {res.message}")
    if res.study and res.study != res.name:
        console.print(f"study: {res.study}", highlight=False)
    if res.best:
        rows = [{"name": k, "value": v} for k, v in res.best["params"].items()]
        print_table(rows, title="best recipe")
        from optimization import REACTOR_METRICS

        print_table([{"metric": k, "value": v, "units": REACTOR_METRICS.get(k, ("",))[0]}
                     for k, v in res.best["metrics"].items()], title="its figures")
    if res.pareto:
        print_table([{"trial": p["number"], **dict(zip(res.objectives, p["values"], strict=False))}
                     for p in res.pareto], title="Pareto front")
    if res.importances:
        print_table([{"parameter": k, "importance": v} for k, v in res.importances.items()],
                    title="parameter importances (fANOVA)")


@app.command("run")
def run(
    campaign: Path = CAMPAIGN_ARG,
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes sharing the study."),
    storage: str = STORAGE_OPT,
    trials: int = typer.Option(None, "--trials", help="Override budget.trials (finished trials in the study)."),
    out: Path = typer.Option(None, "--out", help="Write trials.nc/csv, summary.json and report.html here."),
    sets: list[str] = SET_OPT,
    new_study: bool = NEW_STUDY_OPT,
    resume_anyway: bool = RESUME_ANYWAY_OPT,
    as_json: bool = JSON_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Run or resume a campaign until its budget is spent; print the best recipe.

    The study records the campaign's search space (parameters, bounds, objectives, constraints). If it changed since, the run stops and names what changed (exit code 2): --new-study starts a new study, --resume-anyway continues the old one.

    A journal ending in a torn record (a run killed mid-write) is repaired first: the record is cut off after a backup copy (<journal>.bak-<UTC time>).

    If the disk fills up, the run stops: the finished trials are summarised, the error names the journal, exit code 1.
    """
    from optimization import StorageFullError

    camp = _load(campaign, sets, storage, new_study=new_study, resume_anyway=resume_anyway)
    confirm_run(camp, yes=yes, trials=trials)
    try:
        res = camp.run(workers=workers, n_trials=trials, progress=not as_json)
    except StorageFullError as exc:
        _print_repairs(camp)
        if exc.result is not None:
            _print_result(exc.result, as_json)  # the trials that finished before the disk filled up
        raise
    _print_repairs(camp)
    if out is not None:
        res.write(out)
        _report(res, out / "report.html")
    _print_result(res, as_json)


def _report(res, path: Path) -> Path:
    from viz.campaign_report import write_campaign_report

    return write_campaign_report(res.trials, path)  # the best recipe's trajectory is stored in the trials


@app.command("report")
def report(
    campaign: Path = CAMPAIGN_ARG,
    storage: str = STORAGE_OPT,
    out: Path = typer.Option(Path("campaign_report.html"), "--out", help="HTML file to write."),
    sets: list[str] = SET_OPT,
    resume_anyway: bool = typer.Option(False, "--resume-anyway", help="Report on the campaign's newest study "
                                       "although its search space changed (best recipe: inside the new space)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Summarise a campaign's study (no new trials) and write a self-contained HTML report."""
    camp = _load(campaign, sets, storage, resume_anyway=resume_anyway)
    res = camp.results()
    _print_repairs(camp)
    path = _report(res, out)
    _print_result(res, as_json)
    if not as_json:
        console.print(f"report: {path}")


@app.command("salvage")
def salvage(
    source: Path = typer.Argument(..., help="Damaged journal file, or the campaign YAML whose journal to salvage.",
                                  exists=True, dir_okay=False),
    out: Path = typer.Option(None, "--out", "-o", help="New journal to write (must not exist; default "
                             "<name>.salvaged.journal beside the damaged one)."),
    storage: str = typer.Option(None, "--storage", help="With a campaign YAML: its journal, if not the default."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Copy every readable record of a damaged campaign journal into a new journal.

    Records are copied up to the first damaged line; later ones are dropped (they refer to trials by their order).

    The damaged journal is not changed and the output is never overwritten; the trials recovered and the finished trials lost are listed.

    Resume with: twin optimize CAMPAIGN.yaml --storage NEW.journal
    """
    from optimization import salvage_journal
    from workbench.errors import ConfigError

    journal = source
    if source.suffix.lower() in (".yaml", ".yml"):
        spec = _load(source, [], storage).storage_spec
        if "://" in spec:
            raise ConfigError(f"{source}: the campaign's storage is {spec}, a database, not a journal file; "
                              f"salvage works on journal files")
        journal = Path(spec)
    elif storage is not None:
        raise ConfigError("--storage names the journal of a campaign YAML; with a journal file give only the file")
    if out is None:
        stem = journal.name[:-len(".journal")] if journal.name.endswith(".journal") else journal.name
        out = journal.with_name(f"{stem}.salvaged.journal")
    report = salvage_journal(journal, out)
    if as_json:
        print_json(report.as_dict())
        return
    console.print(str(report), markup=False, highlight=False, soft_wrap=True)
    hint = f"--storage {out}" if source == journal else f"twin optimize {source} --storage {out}"
    console.print(f"resume with: {hint}", markup=False, highlight=False, soft_wrap=True)


@app.command("dynamic")
def dynamic(
    campaign: Path = typer.Argument(None, help="Reactor campaign whose problem to solve (optional)."),
    batch_time: str = typer.Option("4 h", "--batch-time", help="Batch time (without a campaign)."),
    stages: int = typer.Option(4, "--stages", min=1, help="Jacket/feed stages (without a campaign)."),
    impurity_max: float = typer.Option(0.05, "--impurity-max", help="End impurity spec, fraction."),
    peak_temperature: str = typer.Option("360 K", "--peak-temperature", help="Safety limit on T."),
    b_total_max: float = typer.Option(6600.0, "--b-total-max", help="Most B fed, mol."),
    nfe: int = typer.Option(24, "--nfe", min=2, help="Finite elements of the collocation."),
    replay: bool = typer.Option(True, "--replay/--no-replay", help="Replay the optimum on the twin."),
    sets: list[str] = SET_OPT,
    as_json: bool = JSON_OPTION,
) -> None:
    """Solve the reactor recipe with Pyomo.DAE + Ipopt and replay the optimum on the twin."""
    from optimization import (
        ReactorRecipe,
        campaign_optimum,
        optimize_reactor,
        recipe_metrics,
        simulate_recipe,
    )
    from workbench.units import convert

    if sets and campaign is None:
        raise typer.BadParameter("--set overrides a campaign file's fields; give the campaign file too")
    if campaign is not None:
        opt = campaign_optimum(_load(campaign, sets), nfe=nfe)
    else:
        guess = ReactorRecipe(batch_time=convert(batch_time, "s"), jacket_inlet=(340.0,) * stages,
                              feed_rate=(1.0e-4,) + (0.0,) * (stages - 1))
        opt = optimize_reactor(guess, impurity_max=impurity_max, peak_temperature=convert(peak_temperature, "K"),
                               b_total_max=b_total_max, nfe=nfe)
    info = opt.as_dict()
    if replay:
        info["replay"] = recipe_metrics(simulate_recipe(opt.recipe))
    if as_json:
        print_json(info)
        return
    console.print(f"Ipopt: {opt.status} in {opt.solve_seconds:.2f} s, {opt.stats}")
    rows = [{"stage": i + 1, "jacket inlet [K]": j, "feed rate [m3/s]": f}
            for i, (j, f) in enumerate(zip(opt.recipe.jacket_inlet, opt.recipe.feed_rate, strict=False))]
    print_table(rows, title="optimal recipe")
    units = {"yield": "1", "impurity": "1", "peak_temperature": "K", "b_fed": "mol"}
    print_table([{"figure": k, "predicted": v, "replayed on twin": info.get("replay", {}).get(k, ""),
                  "units": units.get(k, "")} for k, v in opt.predicted.items()], title="figures")


@app.command("solvers")
def solvers(as_json: bool = JSON_OPTION) -> None:
    """Show whether Ipopt (Pyomo cyipopt) and HiGHS are available."""
    from optimization import solver_status

    st = solver_status()
    if as_json:
        print_json(st)
    else:
        print_table([{"solver": k, "status": v} for k, v in st.items()])


@app.command("line-milp")
def line_milp(
    scenario: Path = typer.Argument(..., help="Line scenario YAML (kind: line).", exists=True, dir_okay=False),
    budget: float = typer.Option(None, "--budget", help="Most total machine cost (default: current machines + --extra)."),
    extra: int = typer.Option(2, "--extra", min=0, help="Extra unit-cost machines when --budget is not given."),
    cost: list[str] = typer.Option([], "--cost", help="Machine cost per station, STATION=VALUE (default 1); repeatable."),
    rho_max: float = typer.Option(0.9, "--rho-max", min=0.01, max=1.0, help="Planned utilisation limit, fraction."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Simulate the answer in the line model."),
    replications: int = typer.Option(8, "--replications", min=2, help="Replications of the check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Allocate parallel machines under a budget (MILP, HiGHS) and check the answer by simulation."""
    from optimization import optimize_line_allocation, verify_line_allocation
    from simulation.line import load_scenario
    from workbench.errors import ConfigError

    costs = {}
    for item in cost:
        name, sep, val = item.partition("=")
        if not sep:
            raise ConfigError(f"--cost {item!r}: expected STATION=VALUE, e.g. weld=3")
        costs[name.strip()] = float(val)
    sol = optimize_line_allocation(load_scenario(scenario), budget=budget, cost=costs, rho_max=rho_max, extra=extra)
    info = sol.as_dict()
    check = None
    if verify:
        check = verify_line_allocation(scenario, sol, replications=replications)
        info["verification"] = {str(k): {"predicted": float(check["predicted"].sel(kpi=k)),
                                         "simulated": float(check["simulated"].sel(kpi=k)),
                                         "half_width": float(check["half_width"].sel(kpi=k)),
                                         "within_ci": bool(check["within_ci"].sel(kpi=k))}
                                for k in check["kpi"].values}
    if as_json:
        print_json(info)
        return
    console.print(f"HiGHS: {sol.status} in {sol.solve_seconds:.3f} s; sustainable rate {sol.rate:.4g} 1/h "
                  f"at utilisation <= {sol.rho_max:g}; cost {sol.cost:g} of budget {sol.budget:g}")
    print_table([{"station": k, "machines": v, "predicted utilisation [1]": sol.utilisation[k]}
                 for k, v in sol.servers.items()], title="allocation")
    if check is not None:
        rows = [{"kpi": str(k), "units": str(check["kpi_units"].sel(kpi=k).values),
                 "predicted": float(check["predicted"].sel(kpi=k)), "simulated": float(check["simulated"].sel(kpi=k)),
                 "± (95 % CI)": float(check["half_width"].sel(kpi=k)), "inside CI": bool(check["within_ci"].sel(kpi=k))}
                for k in check["kpi"].values]
        print_table(rows, title=f"check in the line model ({check.attrs['replications']} replications)")


@app.command("surrogate")
def surrogate(
    campaign: Path = CAMPAIGN_ARG,
    samples: int = typer.Option(30, "--samples", min=4, help="Latin-hypercube design points simulated on the twin."),
    seed: int = typer.Option(0, "--seed", help="Seed of the design."),
    from_trials: bool = typer.Option(False, "--from-trials", help="Fit the campaign's finished trials instead of a new design."),
    storage: str = STORAGE_OPT,
    sets: list[str] = SET_OPT,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit quadratic response surfaces, optimise them with Ipopt, verify the optimum on the twin."""
    from optimization import surrogate_optimum

    camp = _load(campaign, sets, storage)
    data = camp.results().trials if from_trials else None
    res = surrogate_optimum(camp, samples=samples, seed=seed, data=data)
    if as_json:
        print_json(res.as_dict())
        return
    units = camp.problem.metric_units
    console.print(f"surrogate optimum from {res.samples} points; feasible on the twin: {res.feasible_on_twin}")
    print_table([{"parameter": k, "value": v} for k, v in res.params.items()], title="recipe")
    print_table([{"metric": k, "units": units.get(k, ""), "surrogate": res.predicted[k], "twin": res.verified[k],
                  "error": res.error[k], "fit R2": res.fit[k]["r2"], "LOO RMSE": res.fit[k]["loo_rmse"]}
                 for k in res.predicted], title="surrogate vs twin")
