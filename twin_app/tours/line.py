"""The line what-if part of ``make demo``: shipped scenario and two variants, real runs, HTML report."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_tour", "simulate_tour", "SCENARIOS_DIR"]

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def simulate_tour(outdir: str | Path, *, replications: int = 6, executor=None) -> list[Path]:
    """Run the shipped assembly line and two what-if variants; write the results as NetCDF.

    Parameters
    ----------
    outdir
        Folder for ``line_<scenario>.nc`` (one per scenario, base first) and ``line_compare.nc``.
    replications
        Replications per scenario (paired across scenarios by common random numbers).
    executor
        Executor for the replications (see :func:`workbench.executors.map_jobs`).

    Returns
    -------
    list of pathlib.Path
        The written files; :func:`demo_tour` adds the HTML report.
    """
    from simulation.line import compare, load_scenario, simulate
    from workbench.dataset import write_netcdf

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    names = ["assembly_line", "assembly_line_big_buffers", "assembly_line_second_crew"]
    results = {}
    paths = []
    for name in names:
        sc = load_scenario(SCENARIOS_DIR / f"{name}.yaml")
        results[sc.name] = simulate(sc, replications=replications, executor=executor)
        paths.append(write_netcdf(results[sc.name], out / f"line_{sc.name}.nc"))
    cmp = compare(results[names[0]], {k: v for k, v in results.items() if k != names[0]})
    paths.append(write_netcdf(cmp, out / "line_compare.nc"))
    return paths


def demo_tour(outdir: str | Path, **kwargs) -> list[Path]:
    """Line part of ``make demo``: :func:`simulate_tour` plus the HTML report.

    Returns
    -------
    list of pathlib.Path
        The NetCDF files and ``line_report.html``.
    """
    from viz.line_report import write_line_report
    from workbench.dataset import read_netcdf

    paths = simulate_tour(outdir, **kwargs)
    results = {}
    for p in paths[:-1]:
        ds = read_netcdf(p)
        results[str(ds.attrs["scenario"])] = ds
    cmp = read_netcdf(paths[-1])
    return [*paths, write_line_report(results, Path(outdir) / "line_report.html", comparison=cmp)]
