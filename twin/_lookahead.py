"""Look-ahead: where is this batch going? Monte-Carlo runs from the twin's current state.

From an FMU state snapshot (the live, synced twin), the rest of the batch is
simulated under the current inputs (held) or a proposed recipe, once per
parameter draw from the calibration's normal approximation ``N(θ̂, Σ)``.
The answer is a Dataset of trajectories over ``replication`` plus a summary
such as "final yield_C 0.87 ± 0.02; peak T 352.1 K in 40 min".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from workbench.dataset import with_units
from workbench.errors import ConfigError

__all__ = ["LookaheadResult", "lookahead"]


@dataclass
class LookaheadResult:
    """Monte-Carlo look-ahead.

    Attributes
    ----------
    dataset
        Trajectories ``(replication, time)`` per variable; time in s of batch time.
    summary
        Per variable: final mean/std, peak mean/std and mean time-to-peak from now (s).
    """

    dataset: xr.Dataset
    summary: dict[str, dict[str, float]]

    def describe(self) -> list[str]:
        """Human sentences, e.g. ``"temperature: final 351.2 ± 0.8 K; peak ..."`` (no unit for a
        dimensionless quantity: never the unit "1")."""
        lines = []
        for name, s in self.summary.items():
            unit = "" if str(s.get("unit", "")) in ("1", "-", "–", "dimensionless") else s.get("unit", "")
            lines.append(
                f"{name}: final {s['final_mean']:.4g} ± {s['final_std']:.2g} {unit}; "
                f"peak {s['peak_mean']:.4g} ± {s['peak_std']:.2g} {unit} in {s['time_to_peak_mean'] / 60:.1f} min"
            )
        return lines


def _profile(spec: Any, t: float) -> float:
    if isinstance(spec, int | float):
        return float(spec)
    value = float(spec[0][1])
    for ti, vi in spec:
        if ti <= t:
            value = float(vi)
    return value


def lookahead(
    model,
    *,
    until: float,
    outputs: Sequence[str],
    dt: float,
    inputs: Mapping[str, float | Sequence[tuple[float, float]]] | None = None,
    parameters: Sequence[str] = (),
    mean: Sequence[float] = (),
    covariance: np.ndarray | None = None,
    n: int = 50,
    seed: int | None = 0,
    state=None,
) -> LookaheadResult:
    """Simulate from the current (or given) FMU state to batch time ``until``.

    Parameters
    ----------
    model
        :class:`~twin._model.FmuStepper` (e.g. ``twin.model``) – left in the state it had.
    until
        Batch time (s) to simulate to.
    outputs
        FMU variables to record.
    dt
        Output/step interval (s).
    inputs
        FMU input → constant or ``[[t, value], ...]`` profile in batch time (FMU
        units); inputs not named keep their current values.
    parameters, mean, covariance
        Uncertain parameters, their estimates and covariance (e.g. from
        :func:`~twin.calibrate`); without them one deterministic run.
    n
        Monte-Carlo draws.
    seed
        Seed of the draws.
    state
        Start snapshot (default: the model's current state).

    Returns
    -------
    LookaheadResult
    """
    own_snapshot = state is None
    snap = model.get_state() if own_snapshot else state
    t0 = snap[1]
    if until <= t0:
        raise ConfigError(f"look-ahead end {until:g} s is not after the current batch time {t0:g} s")
    params = list(parameters)
    if params:
        mean = np.asarray(mean, float)
        cov = np.zeros((len(params), len(params))) if covariance is None else np.asarray(covariance, float)
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(mean, cov, size=n, method="eigh")
    else:
        n = 1
        draws = np.zeros((1, 0))
    saved_params = {p: model.parameters.get(p) for p in params}
    names = list(model.input_names)
    u_now = snap[3]
    steps = max(1, int(np.ceil((until - t0) / dt - 1e-9)))
    times = t0 + dt * np.arange(steps + 1)
    times[-1] = min(times[-1], until) if times[-1] > until else times[-1]
    saved_outputs = model.output_names
    model.set_outputs(outputs)
    traj = np.empty((n, steps + 1, len(outputs)))
    try:
        for r in range(n):
            model.set_state(snap)
            if params:
                model.set_parameters(dict(zip(params, draws[r].tolist(), strict=True)))
            u = u_now.copy()
            traj[r, 0] = model.step(u, 0.0)
            for k in range(1, steps + 1):
                for j, name in enumerate(names):
                    if inputs and name in inputs:
                        u[j] = _profile(inputs[name], times[k - 1])
                traj[r, k] = model.step(u, times[k] - times[k - 1])
    finally:
        model.set_outputs(saved_outputs)
        model.set_state(snap)
        if params:
            restore = {p: v for p, v in saved_params.items() if v is not None}
            if restore:
                model.set_parameters(restore)
        if own_snapshot:
            model.free_state(snap)
    data = {}
    summary: dict[str, dict[str, float]] = {}
    for j, name in enumerate(outputs):
        unit = model.variable_unit(name)
        da = xr.DataArray(traj[:, :, j], dims=("replication", "time"))
        data[name] = with_units(da, unit, name)
        final = traj[:, -1, j]
        peak_idx = traj[:, :, j].argmax(axis=1)
        peak = traj[np.arange(n), peak_idx, j]
        summary[name] = {
            "final_mean": float(final.mean()), "final_std": float(final.std(ddof=1)) if n > 1 else 0.0,
            "peak_mean": float(peak.mean()), "peak_std": float(peak.std(ddof=1)) if n > 1 else 0.0,
            "time_to_peak_mean": float((times[peak_idx] - t0).mean()), "unit": unit,
        }
    ds = xr.Dataset(data, coords={"time": ("time", times, {"units": "s", "long_name": "batch time"}),
                                  "replication": np.arange(n)})
    for p, col in zip(params, draws.T, strict=True):
        ds[f"param_{p}"] = with_units(xr.DataArray(col, dims="replication"), "1", f"drawn value of {p}")
    ds.attrs["lookahead_from"] = float(t0)
    return LookaheadResult(ds, summary)
