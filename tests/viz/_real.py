"""Real producer outputs for the view tests: each package's own API writes what the pages show.

Nothing here is hand-made: the twin follows the reactor plant emulator, the golden-batch
model is fitted and then monitors faulty batches, the line and life models are simulated,
the life-data fit is the MLE of the Lieblein–Zelen bearing data, and the campaign runs
Optuna trials on the reactor model. Sizes are small so the whole set builds in ~15 s.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def twin_trace(out: Path, *, minutes: float = 30.0) -> Path:
    """The reactor twin following the emulated plant in-process (``Twin.run`` on a ``MemorySource``).

    The same run the views' tour renders (``twin_app.tours.views._twin_trace``); skips without the FMU.
    """
    from twin_app.tours.views import _twin_trace

    path = _twin_trace(out, minutes)
    if path is None:
        import pytest

        pytest.skip("reactor FMU not built; run `twin fmu build` (make setup) first")
    return path


def golden(out: Path) -> dict[str, Path]:
    """A golden-batch model (``GoldenBatchModel.save``) and the on-line monitor of faulty batches
    (``monitor_aligned`` merged with ``BatchPCA.contributions``) and of one live session."""
    import xarray as xr

    from golden_batch import GoldenBatchModel, make_synthetic_history
    from workbench.dataset import write_netcdf

    history = make_synthetic_history(30, seed=1, n_samples=80)
    model = GoldenBatchModel("yield >= 0.9 and impurity < 0.02").fit(history)
    test = make_synthetic_history(2, seed=2, n_samples=80, faults={"cooling": 1, "sensor_bias": 1})
    aligned = model.align(test)
    monitor = xr.merge([model.monitor_aligned(aligned), model.mpca_.contributions(aligned)],
                       compat="override", join="outer")
    session = model.start()
    batch = test.isel(batch=-1)
    names = list(model.aligner_.variables_)
    for k, t in enumerate(batch["elapsed"].values):
        if t == t:  # NaN pads the shorter batches
            session.update(float(t), {v: float(batch[v].values[k]) for v in names})
    return {"envelope": model.save(out / "golden_model.nc"),
            "monitor": write_netcdf(monitor, out / "golden_monitor.nc"),
            "session": write_netcdf(session.to_dataset(), out / "golden_session.nc")}


def line_results(out: Path) -> dict[str, Path]:
    """``simulation.line.simulate`` of the shipped assembly line and its bigger-buffer variant."""
    from simulation.line import load_scenario, simulate
    from workbench.dataset import write_netcdf

    paths = {}
    for name in ("assembly_line", "assembly_line_big_buffers"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        paths[name] = write_netcdf(simulate(sc, replications=3, seed=1, trace_hours=8.0), out / f"{name}.nc")
    return paths


def life_results(out: Path) -> dict[str, Path]:
    """``simulation.life.run_life`` of the shipped pump station and a Weibull MLE's plot data."""
    import numpy as np

    from simulation.life import load_life_model, run_life
    from simulation.life._fitting import LifeData, fit_life
    from twin_app.tours.life import BALL_BEARING_MCYCLES
    from workbench.dataset import write_netcdf

    life = run_life(load_life_model(ROOT / "scenarios" / "pump_station_life.yaml"), seed=1)
    fit = fit_life(LifeData(failures=np.array(BALL_BEARING_MCYCLES), unit="h"), "weibull")
    return {"life": write_netcdf(life, out / "life.nc"), "life_fit": write_netcdf(fit.plot_data(), out / "life_fit.nc")}


def campaign(out: Path, *, trials: int = 6) -> Path:
    """The shipped reactor campaign (golden-batch envelope on T from three proven recipes,
    pruning in 4 chunks) on the reference equations, searching near the proven recipes so a
    handful of trials finds feasible ones; its trials dataset (``trials.nc``: trials, the best
    recipe's trajectory and the envelope band)."""
    from optimization import load_campaign

    near = {f"parameters.{p}.{end}": v for p, lo, hi in (("jacket_inlet_1", "330 K", "342 K"),
                                                        ("jacket_inlet_2", "330 K", "342 K"),
                                                        ("feed_rate_1", 1.2e-4, 1.5e-4))
            for end, v in (("low", lo), ("high", hi))}
    camp = load_campaign(ROOT / "scenarios" / "reactor_campaign.yaml", storage=str(out / "campaign.journal"),
                         overrides={**near, "name": "viz-reactor-yield", "model.backend": "reference",
                                    "sampler.seed": 1, "budget.trials": trials})
    res = camp.run(workers=1, n_trials=trials, progress=False)
    return res.write(out / "campaign")[0]


def write_all(out: Path) -> dict[str, Path]:
    """Every real output above into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trace": twin_trace(out), "campaign": campaign(out)}
    paths.update(golden(out))
    paths.update(line_results(out))
    paths.update(life_results(out))
    return paths
