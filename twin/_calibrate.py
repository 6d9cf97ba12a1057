"""Calibration: fit FMU parameters to a historical window by weighted least squares.

The twin's FMU is driven by the measured inputs of the window (zero-order hold,
exactly as in the live loop) from the batch start; the residuals of the
measured outputs, each divided by its σ, are minimised over the chosen
parameters with :func:`scipy.optimize.least_squares` (trust-region reflective,
bounds from the binding). Confidence intervals use the Gauss–Newton covariance
``s² (JᵀJ)⁻¹`` with ``s² = Σr²/(m − p)`` and Student-t quantiles (Bates & Watts,
*Nonlinear Regression Analysis and Its Applications*, Wiley 1988, §2.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin._binding import CalibrationParameter, TwinBinding
from twin._model import FmuStepper
from twin._quality import GateTag, QualityGate, _linear_conversion
from twin.sources._base import Frame, Sample
from workbench.errors import ConfigError, DataQualityError, SolverError

__all__ = ["CalibrationResult", "calibrate", "history_frames"]


@dataclass
class CalibrationResult:
    """Estimates with confidence intervals and fit quality.

    Attributes
    ----------
    names, estimate, std_error, ci_low, ci_high
        Per fitted parameter (FMU units).
    covariance
        Parameter covariance matrix.
    confidence
        Level of the intervals (e.g. 0.95).
    rmse
        Root-mean-square residual per measured tag (tag units).
    s2
        Residual variance of the σ-weighted residuals (≈ 1 when the σ are right).
    n_obs, dof
        Residuals used and degrees of freedom.
    success, message, nfev
        Solver status.
    """

    names: list[str]
    estimate: np.ndarray
    std_error: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    covariance: np.ndarray
    confidence: float
    rmse: dict[str, float]
    s2: float
    n_obs: int
    dof: int
    success: bool
    message: str
    nfev: int
    initial: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (one row per parameter plus fit quality)."""
        return {
            "parameters": [
                {"name": n, "estimate": float(e), "std_error": float(s), "ci_low": float(lo), "ci_high": float(hi),
                 "initial": float(i)}
                for n, e, s, lo, hi, i in zip(self.names, self.estimate, self.std_error, self.ci_low,
                                              self.ci_high, self.initial, strict=True)
            ],
            "confidence": self.confidence,
            "rmse": self.rmse,
            "s2": self.s2,
            "n_obs": self.n_obs,
            "dof": self.dof,
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
        }

    def parameters(self) -> dict[str, float]:
        """Estimates by name (to pass as ``Twin(parameters=...)``)."""
        return dict(zip(self.names, map(float, self.estimate), strict=True))


def history_frames(data: Any, binding: TwinBinding) -> list[Frame]:
    """Frames from a historian file path, a trace store, a Dataset or a list of frames."""
    import xarray as xr

    if isinstance(data, list):
        return data
    if isinstance(data, str | Path):
        p = Path(data)
        if p.is_dir() and (p / "zarr.json").exists() and (p / "value").exists():
            from twin._trace_read import open_trace

            data = open_trace(p)
        else:
            from twin.sources._replay import ReplaySource

            return list(ReplaySource(p).frames())
    if isinstance(data, xr.Dataset):
        if "source" in data.dims:  # trace store: use the real side
            real = data["value"].sel(source="real")
            tags = [str(t) for t in data["tag"].values]
            units = [str(u) for u in data["tag_unit"].values] if "tag_unit" in data.coords else [None] * len(tags)
            t = data["time"].values
            t = t.astype("datetime64[ns]").astype(np.int64) / 1e9 if np.issubdtype(t.dtype, np.datetime64) else t
            vals = real.transpose("time", "tag").values
            return [Frame(float(t[k]), {tag: Sample(tag, vals[k, j], float(t[k]), units[j])
                                        for j, tag in enumerate(tags)}) for k in range(len(t))]
        from twin.sources._replay import read_history  # noqa: F401 - same layout rules

        raise DataQualityError("calibration data Dataset must be a twin trace (with a 'source' dim)")
    raise DataQualityError(f"cannot read calibration data of type {type(data).__name__}; give a file or trace")


def _matrix(frames: Sequence[Frame], binding: TwinBinding) -> tuple[np.ndarray, np.ndarray]:
    tags = binding.tags
    gate = QualityGate([GateTag(t.tag, t.unit, t.low, t.high) for t in tags], binding.sample_period,
                       ignore=frozenset([binding.batch_time_tag]) if binding.batch_time_tag else frozenset())
    times, rows = [], []
    for f in frames:
        g = gate.check(f)
        if g.accepted:
            times.append(g.time)
            rows.append(g.values)
    if len(times) < 3:
        raise DataQualityError(f"calibration needs at least 3 usable samples, got {len(times)}")
    return np.array(times), np.array(rows)


def calibrate(
    binding: TwinBinding,
    data: Any,
    *,
    parameters: Sequence[CalibrationParameter] | None = None,
    window: tuple[float, float] | None = None,
    confidence: float = 0.95,
    fixed: dict[str, float] | None = None,
) -> CalibrationResult:
    """Fit FMU parameters to measured data.

    Parameters
    ----------
    binding
        The twin binding (FMU, tag ↔ variable mapping, σ per measured tag).
    data
        Historian file, trace store path, trace Dataset or list of frames,
        starting at batch start.
    parameters
        Parameters to fit (default: ``binding.calibration``).
    window
        ``(start, end)`` in seconds since the first sample: residuals outside are
        ignored (the simulation still runs from the first sample).
    confidence
        Level of the confidence intervals.
    fixed
        Further parameter values held fixed during the fit.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ConfigError
        No parameters to fit or a parameter without an initial value.
    SolverError
        The solver failed or the Jacobian is singular (parameter not identifiable).
    """
    from scipy.optimize import least_squares
    from scipy.stats import t as student_t

    params = list(parameters if parameters is not None else binding.calibration)
    if not params:
        raise ConfigError("no parameters to calibrate; list them under 'calibration:' in the binding",
                          source=binding.source_file, path="calibration")
    frames = history_frames(data, binding)
    times, values = _matrix(frames, binding)
    times = times - times[0]
    base = {**binding.start_values, **binding.parameters, **(fixed or {})}
    stepper = FmuStepper(binding.fmu_path(), inputs=[t.variable for t in binding.inputs],
                         outputs=[t.variable for t in binding.outputs], parameters=base, mode="cs")
    x0 = []
    for p in params:
        init = p.initial if p.initial is not None else base.get(p.name, stepper.start_value(p.name))
        if init is None or not np.isfinite(init):
            raise ConfigError(f"calibration parameter '{p.name}' needs an initial value",
                              source=binding.source_file, path="calibration")
        x0.append(float(init))
    x0 = np.array(x0)
    lo = np.array([p.low if p.low is not None else -np.inf for p in params])
    hi = np.array([p.high if p.high is not None else np.inf for p in params])
    ni = len(binding.inputs)
    conv_in = np.array([_conv(t.unit, stepper.variable_unit(t.variable)) for t in binding.inputs]).reshape(-1, 2)
    conv_out = np.array([_conv(stepper.variable_unit(t.variable), t.unit) for t in binding.outputs]).reshape(-1, 2)
    meas = values[:, ni:]
    sigma = np.array([o.sigma if o.sigma is not None else np.nan for o in binding.outputs])
    if np.isnan(sigma).any():
        # σ unknown: weight by the data's own spread of first differences (noise scale)
        d = np.diff(meas, axis=0) / np.sqrt(2)
        sigma = np.where(np.isnan(sigma), np.nanstd(d, axis=0), sigma)
    mask = np.isfinite(meas)
    if window is not None:
        in_win = (times >= window[0]) & (times <= window[1])
        mask &= in_win[:, None]
    inputs = values[:, :ni] * conv_in[:, 0] + conv_in[:, 1] if ni else np.zeros((len(times), 0))
    # hold the last usable input through gaps
    for j in range(ni):
        col = inputs[:, j]
        good = np.isfinite(col)
        if not good.any():
            raise DataQualityError(f"input tag '{binding.inputs[j].tag}' has no usable value in the data")
        idx = np.maximum.accumulate(np.where(good, np.arange(len(col)), -1))
        idx[idx < 0] = int(np.argmax(good))
        inputs[:, j] = col[idx]

    # the same input hold as the live twin (see Twin.process)
    held = inputs[:-1].copy()
    if binding.input_hold == "mean" and ni:
        jump = np.array([t.jump * abs(c[0]) if t.jump is not None else np.inf
                         for t, c in zip(binding.inputs, conv_in, strict=True)])
        jumped = np.abs(inputs[1:] - inputs[:-1]) > jump
        held = np.where(jumped, inputs[1:], 0.5 * (inputs[1:] + inputs[:-1]))

    def simulate(theta: np.ndarray) -> np.ndarray:
        stepper.reset({p.name: float(v) for p, v in zip(params, theta, strict=True)})
        out = np.empty((len(times), len(binding.outputs)))
        out[0] = stepper.step(inputs[0], 0.0)
        for k in range(1, len(times)):
            out[k] = stepper.step(held[k - 1], times[k] - times[k - 1])
        return out * conv_out[:, 0] + conv_out[:, 1]

    def residuals(theta: np.ndarray) -> np.ndarray:
        pred = simulate(theta)
        return ((meas - pred) / sigma)[mask]

    scale = np.where(np.abs(x0) > 0, np.abs(x0), 1.0)
    try:
        res = least_squares(residuals, x0, bounds=(lo, hi), x_scale=scale, diff_step=1e-4, method="trf")
    except Exception as exc:  # FmuError during a trial point etc.
        raise SolverError(f"calibration of {[p.name for p in params]} failed: {exc}") from exc
    m, p = int(mask.sum()), len(params)
    dof = max(m - p, 1)
    s2 = float(2 * res.cost / dof)
    J = res.jac
    try:
        cov = np.linalg.inv(J.T @ J) * s2
    except np.linalg.LinAlgError as exc:
        raise SolverError(f"parameters {[q.name for q in params]} are not identifiable from this data "
                          "(singular Jacobian); fit fewer parameters or use a richer window") from exc
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    q = float(student_t.ppf(0.5 + confidence / 2, dof))
    pred = simulate(res.x)
    rmse = {}
    for j, o in enumerate(binding.outputs):
        r = (meas[:, j] - pred[:, j])[mask[:, j]]
        rmse[o.tag] = float(np.sqrt(np.mean(r**2))) if r.size else float("nan")
    stepper.close()
    return CalibrationResult(
        names=[q_.name for q_ in params], estimate=res.x.copy(), std_error=se, ci_low=res.x - q * se,
        ci_high=res.x + q * se, covariance=cov, confidence=confidence, rmse=rmse, s2=s2, n_obs=m, dof=dof,
        success=bool(res.success), message=str(res.message), nfev=int(res.nfev), initial=x0,
    )


def _conv(src: str, dst: str) -> tuple[float, float]:
    if src == dst:
        return (1.0, 0.0)
    c = _linear_conversion(src, dst)
    if c is None:
        raise ConfigError(f"unit '{src}' cannot be converted to '{dst}'")
    return c
