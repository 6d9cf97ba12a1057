"""``twin run SCENARIO`` and ``twin compare BASE VARIANT...``: line what-if experiments."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from twin_app.cli._common import (
    DASK_OPTION,
    JSON_OPTION,
    WORKERS_OPTION,
    console,
    open_executor,
    print_json,
    print_table,
)
from twin_app.cli._cost import YES_OPTION, confirm_run

_REPS = typer.Option(None, "--replications", "-n", help="Replications (default: the scenario's experiment).")
_SEED = typer.Option(None, "--seed", help="Root seed (default: the scenario's experiment.seed).")
_EXEC = typer.Option(None, "--executor", help='"serial", "processes:N" or a Dask scheduler "tcp://host:8786".')
_SET = typer.Option([], "--set", help="Override a field, e.g. --set stations.dryer.servers=2 (repeatable).")
_OUT = typer.Option(None, "--out", help="Write the results as NetCDF (.nc).")
_REPORT = typer.Option(None, "--report", help="Write a self-contained HTML report.")


def _load(path: Path, sets: list[str]):
    from simulation.line import load_scenario
    from workbench.config import parse_override_args

    return load_scenario(path, overrides=parse_override_args(sets) if sets else None)


def _rows(ds, kpis: list[str]) -> list[dict]:
    rows = []
    for k in kpis:
        rows.append({
            "kpi": k,
            "mean": float(ds["mean"].sel(kpi=k)),
            "ci_low": float(ds["ci"].sel(kpi=k, bound="low")),
            "ci_high": float(ds["ci"].sel(kpi=k, bound="high")),
            "units": str(ds["kpi_units"].sel(kpi=k).item()),
        })
    return rows


def _main_kpis(ds) -> list[str]:
    keep = ["throughput", "lead_time", "wip", "yield", "scrap_rate"]
    keep += [k for k in map(str, ds["kpi"].values) if k.startswith(("utilisation[", "oee[", "blocked[", "starved["))]
    return keep


def run(
    scenario: Path = typer.Argument(..., help="Scenario YAML (kind: line)."),
    replications: int | None = _REPS,
    seed: int | None = _SEED,
    executor: str | None = _EXEC,
    dask: str | None = DASK_OPTION,
    workers: int | None = WORKERS_OPTION,
    set_: list[str] = _SET,
    out: Path | None = _OUT,
    report: Path | None = _REPORT,
    snapshot: Path | None = typer.Option(
        None, "--snapshot", help="Start from a live state (YAML, kind: line-snapshot): WIP, machine states."),
    json_: bool = JSON_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Simulate a line scenario: replications with common random numbers, KPIs with t-CIs."""
    from simulation.line import LineSnapshot, scenario_dir, simulate
    from workbench.config import load_config
    from workbench.dataset import write_netcdf

    sc = _load(scenario, set_)
    confirm_run(sc, yes=yes, replications=replications)
    snap = load_config(snapshot, LineSnapshot, kind="line-snapshot") if snapshot is not None else None
    with open_executor(dask=dask, workers=workers, executor=executor) as ex:
        ds = simulate(sc, replications=replications, seed=seed, executor=ex, snapshot=snap,
                      progress=not json_ and f"{sc.name}", base_dir=scenario_dir(scenario))
    if out is not None:
        write_netcdf(ds, out)
    if report is not None:
        from viz.line_report import write_line_report

        write_line_report({sc.name: ds}, report)
    rows = _rows(ds, _main_kpis(ds))
    if json_:
        print_json({"scenario": sc.name, "replications": int(ds.sizes["replication"]),
                    "seed": int(ds.attrs["seed"]), "kpis": rows})
        return
    conf = float(ds.attrs.get("confidence", 0.95))
    print_table(
        [{"KPI": escape(r["kpi"]), "mean": r["mean"], f"{conf:.0%} CI": f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]",
          "units": r["units"]} for r in rows],
        title=f"{sc.name}: {ds.sizes['replication']} replications, seed {ds.attrs['seed']}",
    )
    for p in (out, report):
        if p is not None:
            console.print(f"wrote {p}")


def compare(
    base: Path = typer.Argument(..., help="Base scenario YAML."),
    variants: list[Path] = typer.Argument(..., help="Variant scenario YAMLs (usually extends: base + overrides:)."),
    replications: int | None = _REPS,
    seed: int | None = _SEED,
    executor: str | None = _EXEC,
    dask: str | None = DASK_OPTION,
    workers: int | None = WORKERS_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Write the comparison as NetCDF (.nc)."),
    report: Path | None = _REPORT,
    all_kpis: bool = typer.Option(False, "--all-kpis", help="Show station KPIs too."),
    json_: bool = JSON_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Compare what-if variants with a base: paired differences under common random numbers."""
    from simulation.line import absent_stations, scenario_dir, simulate
    from simulation.line import compare as compare_results
    from workbench.dataset import write_netcdf
    from workbench.errors import ConfigError

    base_sc = _load(base, [])
    seed = base_sc.experiment.seed if seed is None else seed
    n = replications if replications is not None else base_sc.experiment.replications
    results = {}
    with open_executor(dask=dask, workers=workers, executor=executor) as ex:
        for path in [base, *variants]:
            sc = base_sc if path == base else _load(path, [])
            confirm_run(sc, yes=yes, replications=n)
            if sc.name in results:
                raise ConfigError(f"two scenarios are both named '{sc.name}'; give each variant its own name:",
                                  source=str(path), path="name")
            results[sc.name] = simulate(sc, replications=n, seed=seed, executor=ex,
                                        progress=not json_ and sc.name, base_dir=scenario_dir(path))
    names = list(results)
    cmp = compare_results(results[names[0]], {k: results[k] for k in names[1:]})
    absent = absent_stations(cmp)
    if out is not None:
        write_netcdf(cmp, out)
    if report is not None:
        from viz.line_report import write_line_report

        write_line_report(results, report, comparison=cmp)
    kpis = list(map(str, cmp["kpi"].values)) if all_kpis else \
        [k for k in ["throughput", "lead_time", "wip", "yield"] if k in cmp["kpi"].values]
    rows = []
    for v in names[1:]:
        for k in kpis:
            c = cmp.sel(variant=v, kpi=k)
            lo, hi = (float(x) for x in c["delta_ci"].values)
            rows.append({"variant": v, "kpi": k, "base": float(c["base_mean"]), "variant_mean": float(c["variant_mean"]),
                         "delta": float(c["delta"]), "ci_low": lo, "ci_high": hi,
                         "p_value": float(c["p_value"]), "significant": bool(int(c["significant"])),
                         "units": str(c["kpi_units"].item()),
                         "absent_in": [s for s in (names[0], v) if _station(k) in absent.get(s, [])]})
    if json_:
        print_json({"base": names[0], "replications": n, "seed": seed, "absent_stations": absent, "rows": rows})
        return
    print_table(
        [{"variant": r["variant"], "KPI": escape(r["kpi"]), "base": _cell(r, "base", names[0]),
          "variant mean": _cell(r, "variant_mean", r["variant"]),
          "Δ": f"{r['delta']:+.4g}", "CI of Δ": f"[{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]",
          "p": f"{r['p_value']:.3g}", "significant": "yes" if r["significant"] else "no", "units": r["units"]}
         for r in rows],
        title=f"{names[0]} vs variants: {n} paired replications (common random numbers), seed {seed}",
    )
    for scenario, stations in absent.items():
        role = "the base" if scenario == names[0] else "variant"
        console.print(f"note: {role} '{escape(scenario)}' has no station {', '.join(map(repr, stations))}: "
                      f"its KPIs are NaN on that side{'' if all_kpis else ' (--all-kpis shows them)'}")
    for p in (out, report):
        if p is not None:
            console.print(f"wrote {p}")


def _station(kpi: str) -> str:
    return kpi.partition("[")[2].rstrip("]")


def _cell(row: dict, key: str, scenario: str) -> float | str:
    return "absent" if scenario in row["absent_in"] else row[key]
