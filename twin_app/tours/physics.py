"""A short tour of the FMU runtime on the shipped reactor (used by ``twin demo``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["runtime_tour"]


def runtime_tour(outdir: str | Path, *, runs: int = 40, fmu: str | Path | None = None) -> list[Path]:
    """Run the reactor once, as a parameter sweep, and as a look-ahead from a mid-batch state.

    Writes ``reactor_batch.nc`` (one 8 h batch, 10 s output),
    ``reactor_sweep.nc`` (``runs`` batches over the rate constant ``k1_ref``)
    and ``reactor_lookahead.nc`` (the last 4 h re-simulated from the 4 h state
    with a 5 K higher set point). Takes a few seconds. ``fmu`` defaults to
    ``fmu_models.shipped("reactor")`` (built on demand).

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    from fmu_models import FmuModel, shipped
    from workbench.dataset import write_netcdf

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    model = FmuModel(fmu if fmu is not None else shipped("reactor", build=True))
    t0 = time.perf_counter()
    batch = model.run(stop_time="8 h", output_interval=10)
    written = [write_netcdf(batch, outdir / "reactor_batch.nc")]
    k1 = float(model.variables["k1_ref"].start)
    sweep = model.run_many([{"k1_ref": k} for k in np.linspace(0.7 * k1, 1.3 * k1, runs)],
                           stop_time="8 h", output_interval=10)
    written.append(write_netcdf(sweep, outdir / "reactor_sweep.nc"))
    model.run(stop_time="4 h", output_interval=10)
    state = model.get_state()
    sp = float(model.variables["T_sp"].start)
    ahead = model.run(start_state=state, stop_time="8 h", output_interval=10, inputs={"T_sp": sp + 5.0})
    ahead.attrs["elapsed_s"] = time.perf_counter() - t0
    written.append(write_netcdf(ahead, outdir / "reactor_lookahead.nc"))
    return written
