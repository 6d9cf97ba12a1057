"""Look-ahead: where is this batch going? Monte-Carlo runs from the twin's current state.

From an FMU state snapshot (the live, synced twin), the rest of the batch is
simulated under the current inputs (held) or a proposed recipe, once per
parameter draw from the calibration's normal approximation ``N(θ̂, Σ)``.
The answer is a Dataset of trajectories over ``replication`` plus a summary
such as "final yield_C 0.87 ± 0.02; peak T 352.1 K in 40 min".

A twin driven by a plant's manipulated variable (e.g. the measured jacket inlet temperature, its
model's controller switched off) would project that input held, i.e. the plant's controller frozen.
With ``switch``/``bumpless`` the projection runs the model's own controller instead, started
bumplessly: the controller's integral state is solved so that its output equals the held
manipulated value at the start (Åström & Hägglund, *Advanced PID Control*, ISA 2006, sec. 3.5:
bumpless transfer by initialising the integral term), so the projection continues from what the
plant does now rather than with a jump.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from workbench.dataset import with_units
from workbench.errors import ConfigError

__all__ = ["FAN_QUANTILES", "LookaheadResult", "ProjectionJudgement", "bumpless_integrator", "judge_projection",
           "lookahead", "projection_fan", "write_projection"]

#: Quantiles of a projection fan (:func:`projection_fan`): 5–95 % and 25–75 % bands and the median.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


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


def bumpless_integrator(model, integrator: str, output: str, target: float) -> float:
    """The value of the integral state ``integrator`` at which the controller output ``output`` equals ``target``.

    Bumpless transfer (Åström & Hägglund 2006, sec. 3.5): a PI(D) output is affine in the integral
    state while unsaturated, so two evaluations give it (checked by a third); otherwise (a
    nonlinear law, or a start at a limit) a root is bracketed outwards and found by Brent's method.
    A ``target`` beyond what the controller can output (outside its limits) gets the state, among
    those tried, whose output is closest: the controller starts saturated. ``model`` is an ME
    :class:`~twin.FmuStepper` with the controller switched on; its integral state is left at the
    returned value.
    """
    from scipy.optimize import brentq

    def miss(value: float) -> float:
        model.set_states({integrator: value})
        return float(model.read([output])[0]) - target

    tol = 1e-9 * max(1.0, abs(target))
    i0 = float(model.get_states()[integrator])
    f0 = miss(i0)
    tried = {i0: f0}
    slope = miss(i0 + 1.0) - f0
    if slope != 0.0:
        guess = i0 - f0 / slope
        tried[guess] = miss(guess)
        if abs(tried[guess]) <= tol:
            return guess
    step = 1.0
    for _ in range(60):
        for b in (i0 + step, i0 - step):
            tried[b] = fb = miss(b)
            if fb == 0.0 or np.sign(fb) != np.sign(f0):
                root = b if fb == 0.0 else brentq(miss, min(i0, b), max(i0, b), xtol=tol)
                miss(root)
                return float(root)
        step *= 4.0
    best = min(tried, key=lambda k: abs(tried[k]))
    miss(best)
    return float(best)


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
    switch: Mapping[str, float | bool] | None = None,
    bumpless: Mapping[str, str] | None = None,
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
    switch
        FMU parameters set for the projection only (e.g. ``{"controller_enabled": True}``: the
        model's controller acts in the projection); restored afterwards.
    bumpless
        ``{"integrator": state, "output": variable, "input": input}``: at the start of each run the
        controller's integral state is solved (:func:`bumpless_integrator`) so that its output equals
        the held value of the input the twin is driven with (ME mode).

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
    switch = dict(switch or {})
    saved_switch = {p: model.parameters.get(p, model.start_value(p)) for p in switch}
    names = list(model.input_names)
    u_now = snap[3]
    if bumpless:
        if model.mode != "me":
            raise ConfigError("a bumpless controller start needs the model in ME mode (it sets the integral state)")
        held = float(u_now[names.index(bumpless["input"])])
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
            if switch:
                model.set_parameters(switch)
            if bumpless:
                model.step(u_now, 0.0)
                bumpless_integrator(model, bumpless["integrator"], bumpless["output"], held)
            u = u_now.copy()
            traj[r, 0] = model.step(u, 0.0)
            for k in range(1, steps + 1):
                for j, name in enumerate(names):
                    if inputs and name in inputs:
                        u[j] = _profile(inputs[name], times[k - 1])
                traj[r, k] = model.step(u, times[k] - times[k - 1])
    finally:
        model.set_outputs(saved_outputs)
        if switch:
            model.set_parameters(saved_switch)
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


@dataclass
class ProjectionJudgement:
    """Projected trajectories judged against a golden envelope and quality specs (:func:`judge_projection`).

    Attributes
    ----------
    start
        Batch time (s) the projection starts from.
    p_leave
        Fraction of the runs that leave the envelope at a projected time after ``start``.
    p_variable
        Variable → fraction of the runs in which that variable leaves the envelope.
    first_violation
        Per run: batch time (s) of its first projected sample outside the envelope (NaN: none).
    time_to_violation
        Mean of ``first_violation − start`` over the runs that leave the envelope (s; NaN if none
        does): the expected time to the first violation, given one happens.
    p_miss
        Quality spec → fraction of the runs whose final value is outside ``[low, high]``.
    share_outside
        Mean over the runs of the share of judged projected samples with a variable outside the
        envelope: how much of the rest of the batch is expected outside (0 … 1); it still tells
        projections apart when every run leaves (a batch already outside its band).
    """

    start: float
    p_leave: float
    p_variable: dict[str, float]
    first_violation: np.ndarray
    time_to_violation: float
    p_miss: dict[str, float]
    share_outside: float = 0.0


def judge_projection(
    times: np.ndarray,
    trajectories: np.ndarray,
    grid: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    variables: Sequence[str],
    start: float | None = None,
    offset: float = 0.0,
    finals: Mapping[str, np.ndarray] | None = None,
    specs: Mapping[str, tuple[float, float]] | None = None,
) -> ProjectionJudgement:
    """Probability of leaving the envelope, time to the first violation and probability of missing specs.

    The Monte-Carlo estimate of an event's probability is the fraction of the runs in which it
    happens (each run one draw of the uncertain parameters: Robert & Casella, *Monte Carlo
    Statistical Methods*, 2nd ed., 2004, §3.2). A projected sample at batch time ``t`` is compared
    with the envelope band at reference time ``t + offset``, the band interpolated linearly between
    its grid points as :meth:`golden_batch.Envelope.violation` does; samples outside the grid's
    time range and at or before ``start`` are not judged (the live path judged the present).

    Parameters
    ----------
    times
        Batch times of the projected samples (T,), s.
    trajectories
        Projected values (R runs, T, J variables), in the envelope's units.
    grid, lower, upper
        The envelope's reference times (K,) and band (K, J), same variable order.
    variables
        The J variable names.
    start
        Batch time the projection starts from (default ``times[0]``).
    offset
        Reference time minus batch time (alignment: 0 for elapsed time).
    finals, specs
        Spec name → final value per run (R,), and → ``(low, high)`` (±inf for a one-sided spec);
        a NaN final (a failed run) counts as a miss.
    """
    times = np.asarray(times, dtype=float)
    x = np.asarray(trajectories, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if x.ndim != 3 or x.shape[1] != times.size or x.shape[2] != len(variables):
        raise ValueError(f"trajectories must be (runs, {times.size} times, {len(variables)} variables), "
                         f"got {x.shape}")
    start = float(times[0]) if start is None else float(start)
    ref = times + offset
    judged = (times > start) & (ref >= grid[0]) & (ref <= grid[-1])
    t, r = times[judged], ref[judged]
    lo = np.stack([np.interp(r, grid, np.asarray(lower, float)[:, j]) for j in range(x.shape[2])], -1)
    hi = np.stack([np.interp(r, grid, np.asarray(upper, float)[:, j]) for j in range(x.shape[2])], -1)
    xs = x[:, judged]
    out = (xs < lo) | (xs > hi)  # (R, T', J); NaN compares False: not a violation
    any_t = out.any(axis=2)
    left = any_t.any(axis=1)
    first = np.full(x.shape[0], np.nan)
    if left.any():
        first[left] = t[np.argmax(any_t[left], axis=1)]
    p_miss = {}
    for name, (low, high) in (specs or {}).items():
        f = np.asarray((finals or {})[name], dtype=float)
        p_miss[name] = float(np.mean((f < low) | (f > high) | np.isnan(f)))
    return ProjectionJudgement(
        start=start, p_leave=float(left.mean()),
        p_variable={v: float(out[:, :, j].any(axis=1).mean()) for j, v in enumerate(variables)},
        first_violation=first, time_to_violation=float(np.mean(first[left] - start)) if left.any() else float("nan"),
        p_miss=p_miss, share_outside=float(any_t.mean()) if any_t.size else 0.0)


def projection_fan(times: np.ndarray, trajectories: np.ndarray, variables: Sequence[str], units: Sequence[str],
                   judgement: ProjectionJudgement, *, offset: float = 0.0, made_at: float = float("nan")) -> xr.Dataset:
    """The projected runs as a fan: per variable the :data:`FAN_QUANTILES` over runs at each projected time.

    ``trajectories`` is (runs, times, variables) as :func:`judge_projection` takes it. Quantiles
    over the Monte-Carlo runs estimate those of the projected value's distribution (Hyndman & Fan,
    *Am. Stat.* 50 (1996) 361–365, definition 7, NumPy's default); a failed run (NaN) is left out.
    Attributes: ``start``, ``offset``, ``p_leave``, ``time_to_violation``, ``replications``,
    ``made_at`` (the trace time of the sample it was made at) and ``p_miss_<spec>``.
    """
    x = np.asarray(trajectories, dtype=float)
    q = np.nanquantile(x, FAN_QUANTILES, axis=0)
    data = {v: (("quantile", "time"), q[:, :, j], {"units": str(u), "long_name": f"projected {v}"})
            for j, (v, u) in enumerate(zip(variables, units, strict=True))}
    ds = xr.Dataset(data, coords={"quantile": ("quantile", list(FAN_QUANTILES), {"units": "1"}),
                                  "time": ("time", np.asarray(times, float), {"units": "s", "long_name": "batch time"})})
    ds.attrs.update(start=float(judgement.start), offset=float(offset), p_leave=float(judgement.p_leave),
                    time_to_violation=float(judgement.time_to_violation), replications=int(x.shape[0]),
                    made_at=float(made_at), **{f"p_miss_{k}": float(v) for k, v in judgement.p_miss.items()})
    return ds


def write_projection(path, fan: xr.Dataset) -> None:
    """Write ``fan`` to ``path`` (netCDF) atomically: a temporary file beside it, then :func:`os.replace`.

    A reader (the dashboard) sees the previous projection or this one, never a torn file; a
    failed write (a full disk) leaves no temporary file and raises :class:`OSError`.
    """
    from pathlib import Path

    from twin._zarr_writer import _atomic_write

    _atomic_write(Path(path), fan.to_netcdf())
