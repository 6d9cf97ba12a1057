"""A batch history simulated with the jacketed semi-batch reactor (``fmu_models``, layer 1).

Each batch is one run of the reactor FMU (or of its independent Python reference
implementation) with

* raw-material variability: initial concentration ``cA0`` (±3 %), catalyst
  activity ``k1_ref`` (lognormal, 8 %) and activation energy ``E1`` (±1 kJ/mol);
* operating variability: temperature set point ``T_sp`` (±0.7 K), coolant flow
  ``F_cool`` (±5 %), feed start (±5 min) and feed rate (±3 %);
* measurement noise on every recorded tag;

and, for the faulty batches, one of

* ``"cooling"``: slow loss of cooling – the coolant flow decays linearly from the
  fault onset to 25 % of its value at the end of the batch (heat removal, i.e. the
  effective UA·ΔT the jacket achieves, decays);
* ``"sensor_bias"``: the reactor temperature *sensor* reads +1 K from the onset on
  (the process itself is unchanged);
* ``"late_feed"``: the feed of B starts 40 min late.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from golden_batch._batchset import make_batch_set
from golden_batch._synthetic import FAULTS
from workbench.errors import ConfigError, FmuError

__all__ = ["make_reactor_history", "REACTOR_TAGS"]

REACTOR_TAGS = ("T", "T_jacket", "T_jacket_in", "F_B_actual", "V", "Q_exch", "conversion_A")
_NOISE = {"T": 0.05, "T_jacket": 0.1, "T_jacket_in": 0.1, "F_B_actual": 2e-7, "V": 2e-3, "Q_exch": 500.0,
          "conversion_A": 2e-3}
_UNITS = {"T": "K", "T_jacket": "K", "T_jacket_in": "K", "F_B_actual": "m3/s", "V": "m3", "Q_exch": "W",
          "conversion_A": "1", "yield_C": "1", "impurity_D": "1"}


def _default_fmu() -> Path:
    from fmu_models import shipped

    return shipped("reactor")


def _batch_settings(rng: np.random.Generator, fault: str, onset: float, t_end: float) -> dict:
    t_feed = 1800.0 + 300.0 * rng.standard_normal() + (2400.0 if fault == "late_feed" else 0.0)
    f_b = 6.0e-5 * (1 + 0.03 * rng.standard_normal())
    f_cool = 2.0e-3 * (1 + 0.05 * rng.standard_normal())
    params = {
        "cA0": 3000.0 * (1 + 0.03 * rng.standard_normal()),
        "k1_ref": 4.0e-7 * float(np.exp(0.08 * rng.standard_normal())),
        "E1": 6.0e4 + 1000.0 * rng.standard_normal(),
    }
    t_sp = 345.0 + 0.7 * rng.standard_normal()
    feed = (np.array([0.0, t_feed, t_feed + 1e-3, t_end]), np.array([0.0, 0.0, f_b, f_b]))
    if fault == "cooling":
        cool = (np.array([0.0, onset, t_end]), np.array([f_cool, f_cool, 0.25 * f_cool]))
    else:
        cool = (np.array([0.0, t_end]), np.array([f_cool, f_cool]))
    return {"parameters": params, "F_B": feed, "F_cool": cool, "T_sp": t_sp, "t_feed": t_feed}


def make_reactor_history(
    n_batches: int = 100,
    seed: int = 0,
    *,
    faults: Mapping[str, int] | None = None,
    fault_onset: float = 2 * 3600.0,
    duration: float = 8 * 3600.0,
    interval: float = 120.0,
    backend: str = "fmu",
    fmu: str | Path | None = None,
    executor=None,
    progress: bool | str = False,
) -> xr.Dataset:
    """Simulate a raw batch history with the reactor model.

    Parameters
    ----------
    n_batches
        Normal batches.
    seed
        Root seed of every random number (per-batch settings and measurement noise).
    faults
        Fault type (``"cooling"``, ``"sensor_bias"``, ``"late_feed"``) → number of faulty batches.
    fault_onset
        Onset of the cooling and sensor faults in s.
    duration, interval
        Batch duration and sampling interval in s.
    backend
        ``"fmu"`` (the built reactor FMU through :class:`fmu_models.FmuModel`) or
        ``"reference"`` (the independent SciPy implementation, slower).
    fmu
        Path of the reactor FMU (default ``fmu_models/build/reactor.fmu``).
    executor
        Executor for the runs (see :func:`workbench.executors.map_jobs`).
    progress
        Progress bar.

    Returns
    -------
    xarray.Dataset
        Raw batch set with tags :data:`REACTOR_TAGS`, KPIs ``yield_C`` and ``impurity_D``
        (final values), ``fault`` and ``fault_start`` per batch.
    """
    faults = dict(faults or {})
    for f in faults:
        if f not in FAULTS:
            raise ConfigError(f"unknown fault {f!r}; choose from {', '.join(FAULTS)}")
    kinds = [""] * n_batches + [f for f, n in faults.items() for _ in range(n)]
    rng = np.random.default_rng(seed)
    settings = [_batch_settings(rng, k, fault_onset, duration) for k in kinds]
    outputs = list(REACTOR_TAGS) + ["yield_C", "impurity_D"]
    times = np.arange(0.0, duration + 0.5 * interval, interval)
    if backend == "fmu":
        data = _run_fmu(settings, outputs, duration, interval, fmu, executor, progress, seed)
    elif backend == "reference":
        data = _run_reference(settings, outputs, times)
    else:
        raise ConfigError(f"backend must be 'fmu' or 'reference'; got {backend!r}")
    noise_rng = np.random.default_rng([seed, 1])
    traj = {}
    for tag in REACTOR_TAGS:
        traj[tag] = data[tag] + _NOISE[tag] * noise_rng.standard_normal(data[tag].shape)
    fault_start = np.full(len(kinds), np.nan)
    for b, k in enumerate(kinds):
        if k == "sensor_bias":
            traj["T"][b, times >= fault_onset] += 1.0
        if k in ("cooling", "sensor_bias"):
            fault_start[b] = fault_onset
        elif k == "late_feed":
            fault_start[b] = settings[b]["t_feed"] - 2400.0
    quality = {"yield_C": data["yield_C"][:, -1], "impurity_D": data["impurity_D"][:, -1]}
    ds = make_batch_set(traj, times, quality=quality, units=_UNITS,
                        long_names={"T": "reactor temperature", "T_jacket": "jacket temperature",
                                    "T_jacket_in": "jacket inlet temperature", "F_B_actual": "feed rate of B",
                                    "V": "liquid volume", "Q_exch": "heat flow to the jacket",
                                    "conversion_A": "conversion of A", "yield_C": "yield of C",
                                    "impurity_D": "impurity D fraction"})
    ds["fault"] = xr.DataArray(np.asarray(kinds, dtype=str), dims=("batch",),
                               attrs={"units": "1", "long_name": "injected fault", "role": "meta"})
    ds["fault_start"] = xr.DataArray(fault_start, dims=("batch",),
                                     attrs={"units": "s", "long_name": "fault onset time", "role": "meta"})
    ds.attrs.update({"generator": f"golden_batch.make_reactor_history ({backend})", "seed": int(seed)})
    return ds


def _run_fmu(settings, outputs, duration, interval, fmu, executor, progress, seed) -> dict[str, np.ndarray]:
    try:
        from fmu_models import FmuModel, RunConfig
    except ImportError as exc:  # pragma: no cover - layer 1 always ships the runtime
        raise FmuError(f"the FMU runtime (fmu_models.FmuModel) is not available: {exc}") from exc
    path = Path(fmu) if fmu is not None else _default_fmu()
    if not path.exists():
        raise FmuError(f"{path}: reactor FMU not found; build it with `twin fmu build` or pass backend='reference'")
    model = FmuModel(path)
    configs = [
        RunConfig(parameters=s["parameters"],
                  inputs={"F_B": s["F_B"], "F_cool": s["F_cool"], "T_sp": s["T_sp"]},
                  start_time=0.0, stop_time=duration, output_interval=interval, outputs=outputs)
        for s in settings
    ]
    res = model.run_many(configs, executor=executor, progress=progress)
    failed = np.flatnonzero(res["status"].values != 0) if "status" in res else []
    if len(failed):
        raise FmuError(f"{len(failed)} reactor runs failed, first: {res['error'].values[failed[0]]}")
    return {n: res[n].transpose("run", "time").values for n in outputs}


def _run_reference(settings, outputs, times) -> dict[str, np.ndarray]:
    from fmu_models.reference.reactor import simulate_reference

    out = {n: np.empty((len(settings), times.size)) for n in outputs}
    for b, s in enumerate(settings):
        ft, fv = s["F_B"]
        ct, cv = s["F_cool"]
        r = simulate_reference(
            s["parameters"],
            {"F_B": (lambda t, ft=ft, fv=fv: float(np.interp(t, ft, fv))),
             "F_cool": (lambda t, ct=ct, cv=cv: float(np.interp(t, ct, cv))),
             "T_sp": s["T_sp"]},
            t_eval=times, breakpoints=(float(s["t_feed"]),), method="LSODA", rtol=1e-6,
        )
        for n in outputs:
            out[n][b] = r[n]
    return out
