"""The reliability part of ``make demo``: embedded defaults, real runs, HTML reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["demo_tour", "simulate_tour", "DEMO_MODEL", "BALL_BEARING_MCYCLES"]

#: Lieblein & Zelen (1956), J. Res. NBS 57(5):273–316, ball-bearing endurance data
#: (millions of revolutions to failure, 23 bearings), as tabulated by Lawless (2003) Example 5.2.2.
BALL_BEARING_MCYCLES = (
    17.88, 28.92, 33.00, 41.52, 42.12, 45.60, 48.48, 51.84, 51.96, 54.12, 55.56, 67.80,
    68.64, 68.64, 68.88, 84.12, 93.12, 98.64, 105.12, 105.84, 127.92, 128.04, 173.40,
)

DEMO_MODEL = {
    "name": "demo_pump_skid",
    "description": "2-out-of-3 pumps in series with a valve and a cold-standby controller pair",
    "components": [
        {"name": "valve", "life": {"distribution": "weibull", "shape": 1.3, "scale": "60000 h"},
         "repair": {"distribution": "lognormal", "median": "4 h", "sigma": 0.4}, "costs": {"failure": 800}},
        *[
            {"name": f"pump_{x}", "life": {"distribution": "weibull", "shape": 1.9, "scale": "18000 h"},
             "repair": {"distribution": "lognormal", "median": "10 h", "sigma": 0.5},
             "preventive": {"policy": "age", "interval": "6000 h", "duration": "4 h", "cost": 1200},
             "spare": "pumps", "costs": {"failure": 4000, "spare": 2500, "repair_per_hour": 90}}
            for x in "abc"
        ],
        {"name": "controller", "life": {"distribution": "exponential", "mean": "50000 h"},
         "repair": {"distribution": "exponential", "mean": "2 h"}},
        {"name": "controller_backup", "life": {"distribution": "exponential", "mean": "50000 h"},
         "repair": {"distribution": "exponential", "mean": "2 h"}},
    ],
    "system": {"type": "series", "blocks": [
        "valve",
        {"type": "k_out_of_n", "k": 2, "blocks": ["pump_a", "pump_b", "pump_c"]},
        {"type": "standby", "mode": "cold", "switch_reliability": 0.98, "blocks": ["controller", "controller_backup"]},
    ]},
    "maintenance": {"crews": 1, "spares": [{"name": "pumps", "stock": 1, "lead_time": "3 week"}],
                    "downtime_cost_per_hour": 1500},
    "simulation": {"mission_time": "8760 h", "horizon": "43800 h", "missions": 200000, "replications": 60,
                   "seed": 2026, "report_unit": "h"},
}


def simulate_tour(outdir: str | Path) -> list[Path]:
    """Run the reliability tour and write its results as NetCDF.

    Steps: Weibull MLE of the Lieblein–Zelen ball-bearing data; vectorised
    mission Monte Carlo of the demo pump skid; event-driven simulation with
    crews, spares and age-based PM; PM-interval search of a single bearing
    against the renewal-reward optimum; condition-based maintenance of a pump
    bearing whose damage comes from the physics layer's degradation FMU.

    Returns
    -------
    list of pathlib.Path
        The files written (``life_missions.nc``, ``life_operation.nc``,
        ``life_pm.nc``, ``life_fit_plot.nc``, ``life_bearing_cbm.nc``). :func:`demo_tour`
        runs this and adds the HTML reports (the simulation layer does not
        import plotting code).
    """
    from simulation.life import (
        LifeData,
        LifeModel,
        fit_life,
        optimize_pm,
        simulate_missions,
        simulate_operation,
    )
    from workbench.dataset import write_netcdf

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    fit = fit_life(LifeData(failures=np.array(BALL_BEARING_MCYCLES), unit="h"), "weibull")
    model = LifeModel.model_validate(DEMO_MODEL)
    missions = simulate_missions(model)
    operation = simulate_operation(model)
    bearing = LifeModel.model_validate({
        "name": "demo_bearing",
        "components": [{"name": "bearing", "life": fit.to_config().model_dump(),
                        "preventive": {"policy": "age", "interval": "40 h", "cost": 100},
                        "costs": {"failure": 1000}}],
        "system": "bearing",
        "simulation": {"mission_time": "20000 h", "replications": 20, "time_points": 11, "seed": 1},
    })
    policy = optimize_pm(bearing, intervals=np.linspace(20, 120, 6) * 3600.0)
    files = [
        write_netcdf(missions, out / "life_missions.nc"),
        write_netcdf(operation, out / "life_operation.nc"),
        write_netcdf(policy, out / "life_pm.nc"),
        write_netcdf(fit.plot_data(), out / "life_fit_plot.nc"),
    ]
    # condition-based maintenance on the physics layer's bearing damage (FMU when built)
    from fmu_models import shipped

    backend = "fmu" if shipped("degradation").exists() else "reference"
    cbm = LifeModel.model_validate({
        "name": "demo_bearing_cbm",
        "components": [{"name": "bearing",
                        "degradation": {"model": backend, "output": "D", "failure_threshold": 1.0,
                                        "horizon": "40000 h", "paths": 40 if backend == "fmu" else 12, "steps": 200,
                                        "parameters": {"L_ref": {"distribution": "lognormal", "median": "20000 h",
                                                                 "sigma": 0.4}},
                                        "inputs": {"load": 6000.0, "T_process": 330.0}},
                        "repair": {"distribution": "lognormal", "median": "16 h", "sigma": 0.4},
                        "preventive": {"policy": "condition", "inspection_interval": "250 h", "threshold": 0.7,
                                       "duration": "4 h", "cost": 900, "inspection_cost": 40},
                        "costs": {"failure": 6000}}],
        "system": "bearing",
        "simulation": {"mission_time": "43800 h", "replications": 20, "time_points": 26, "seed": 3},
    })
    files.append(write_netcdf(simulate_operation(cbm), out / "life_bearing_cbm.nc"))
    return files


def demo_tour(outdir: str | Path) -> list[Path]:
    """Reliability tour for ``make demo``: :func:`simulate_tour` plus HTML reports.

    Returns
    -------
    list of pathlib.Path
        NetCDF files, ``life_report.html`` (missions, fit, PM curve),
        ``life_operation_report.html`` (availability, costs) and
        ``life_bearing_cbm_report.html`` (condition-based maintenance).
    """
    from viz.life_report import write_life_report
    from workbench.dataset import read_netcdf

    out = Path(outdir)
    files = simulate_tour(out)
    missions = read_netcdf(out / "life_missions.nc")
    files.append(write_life_report(out / "life_report.html", missions, fit_plot=read_netcdf(out / "life_fit_plot.nc"),
                                   policy=read_netcdf(out / "life_pm.nc"),
                                   title="reliability tour: pump skid, ball-bearing fit, PM interval"))
    files.append(write_life_report(out / "life_operation_report.html", read_netcdf(out / "life_operation.nc"),
                                   title="pump skid: availability and cost with crews, spares and PM"))
    files.append(write_life_report(out / "life_bearing_cbm_report.html", read_netcdf(out / "life_bearing_cbm.nc"),
                                   title="pump bearing: condition-based maintenance on FMU damage"))
    return files
