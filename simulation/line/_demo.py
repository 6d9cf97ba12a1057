"""``demo_tour``: the line what-if part of ``make demo`` (shipped scenario, real runs)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_tour", "SCENARIOS_DIR"]

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def demo_tour(outdir: str | Path, *, replications: int = 6, executor=None) -> list[Path]:
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
        The written files; :func:`viz.line_report.demo_tour` adds the HTML report.
    """
    from simulation.line._experiment import compare, simulate
    from simulation.line._io import load_scenario
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
