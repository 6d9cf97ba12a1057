"""Calibration: fit FMU parameters to a historical window by weighted least squares, honestly.

The twin's FMU is driven by the measured inputs of the window (zero-order hold,
exactly as in the live loop) from the batch start; the residuals of the
measured outputs, each divided by its σ, are minimised over the chosen
parameters with :func:`scipy.optimize.least_squares` (trust-region reflective,
bounds from the binding; ``loss="huber"``/``"cauchy"`` for a robust fit).
Confidence intervals use the Gauss–Newton covariance ``(JᵀJ)⁻¹`` (Bates & Watts,
*Nonlinear Regression Analysis and Its Applications*, Wiley 1988, §2.3).

What keeps it honest (issue 26; formulas and sources in :mod:`twin._calib_stats`):

* windows the twin flagged (quality flags, alarm windows), known events and operator
  windows are left out by default and listed (:mod:`twin._calib_windows`);
* the residual dispersion ``s²`` is checked against its χ² interval: inside, the σ are taken
  as right (normal quantiles); outside, the interval is scaled by ``s²`` (Student-t) and says
  so, or — ``on_misfit="refuse"`` — not given, with the worst-misfitting tags and times;
* correlation, Fisher-information conditioning and a profile likelihood for weakly
  identified parameters; a parameter the data cannot determine is reported as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from twin import _calib_stats as st
from twin._binding import CalibrationParameter, TwinBinding
from twin._calib_windows import ExcludedWindow, apply_windows, windows_from_trace
from twin._model import FmuStepper
from twin._quality import GateTag, QualityFlag, QualityGate, _linear_conversion
from twin.sources._base import Frame, Sample
from workbench.errors import ConfigError, DataQualityError, SolverError

__all__ = ["CalibrationResult", "calibrate", "history_frames"]


@dataclass
class CalibrationResult:
    """Estimates with confidence intervals, fit quality and how far to trust them.

    Attributes
    ----------
    names, estimate, std_error, ci_low, ci_high
        Per fitted parameter (FMU units). ``ci_low``/``ci_high`` are NaN when the interval
        was refused (``interval == "refused"``) or the parameter is not determined.
    covariance
        Parameter covariance matrix (scaled by the dispersion when ``interval == "scaled"``).
    confidence
        Level of the intervals (e.g. 0.95).
    rmse
        Root-mean-square residual per measured tag (tag units), over the residuals used.
    s2
        Residual variance of the σ-weighted residuals (≈ 1 when the σ are right).
    n_obs, dof
        Residuals used and degrees of freedom.
    success, message, nfev
        Solver status.
    loss, f_scale
        Loss function and its scale (in σ).
    dispersion, dispersion_interval, interval
        Huber's dispersion ``d`` (``= s²`` for least squares), its χ² interval (times its
        expected value) and what the interval rests on: ``"sigma"`` (σ known, d inside),
        ``"scaled"`` (d outside, covariance × d) or ``"refused"``.
    excluded, n_excluded
        Windows left out and the number of residuals they removed.
    correlation, condition_number, collinearity_index, identifiability, profiles
        Identifiability: parameter correlation, condition number of the relative Fisher
        information, Brun's collinearity index, a verdict per parameter
        (``"determined"``, ``"weak"``, ``"not determined"``) and profile likelihoods by name.
    misfits
        Worst (tag, time block) cells of standardised residuals (seconds since the first sample).
    warnings
        What the reader must know before using the numbers.
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
    loss: str = "linear"
    f_scale: float = 1.0
    dispersion: float = float("nan")
    dispersion_interval: tuple[float, float] = (float("nan"), float("nan"))
    interval: str = "sigma"
    excluded: list[ExcludedWindow] = field(default_factory=list)
    n_excluded: int = 0
    correlation: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    condition_number: float = float("nan")
    collinearity_index: float = float("nan")
    identifiability: list[str] = field(default_factory=list)
    profiles: dict[str, dict] = field(default_factory=dict)
    misfits: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (one row per parameter plus fit quality and the honesty checks)."""
        return {
            "parameters": [
                {"name": n, "estimate": float(e), "std_error": float(s), "ci_low": float(lo), "ci_high": float(hi),
                 "initial": float(i), "identifiability": ident}
                for n, e, s, lo, hi, i, ident in zip(self.names, self.estimate, self.std_error, self.ci_low,
                                                     self.ci_high, self.initial, self.identifiability, strict=True)
            ],
            "confidence": self.confidence,
            "interval": self.interval,
            "rmse": self.rmse,
            "s2": self.s2,
            "dispersion": self.dispersion,
            "dispersion_interval": list(self.dispersion_interval),
            "loss": self.loss,
            "f_scale": self.f_scale,
            "n_obs": self.n_obs,
            "n_excluded": self.n_excluded,
            "dof": self.dof,
            "excluded": [w.as_dict() for w in self.excluded],
            "correlation": self.correlation.tolist(),
            "condition_number": self.condition_number,
            "collinearity_index": self.collinearity_index,
            "profiles": self.profiles,
            "misfits": self.misfits,
            "warnings": self.warnings,
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
        }

    def parameters(self) -> dict[str, float]:
        """Estimates by name (to pass as ``Twin(parameters=...)``)."""
        return dict(zip(self.names, map(float, self.estimate), strict=True))


def _trace_of(data: Any) -> Any:
    """The trace Dataset when ``data`` is a trace store (path or Dataset), else None."""
    import xarray as xr

    if isinstance(data, str | Path):
        p = Path(data)
        if p.is_dir() and (p / "zarr.json").exists() and (p / "value").exists():
            from twin._trace_read import open_trace

            return open_trace(p)
    if isinstance(data, xr.Dataset) and "source" in data.dims:
        return data
    return None


def history_frames(data: Any, binding: TwinBinding) -> list[Frame]:
    """Frames from a historian file path, a trace store, a Dataset or a list of frames."""
    import xarray as xr

    if isinstance(data, list):
        return data
    if isinstance(data, str | Path):
        trace = _trace_of(data)
        if trace is None:
            from twin.sources._replay import ReplaySource

            return list(ReplaySource(Path(data)).frames())
        data = trace
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


def _matrix(frames: Sequence[Frame], binding: TwinBinding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accepted sample times, values (inputs then outputs) and the gate's flags."""
    tags = binding.tags
    gate = QualityGate([GateTag(t.tag, t.unit, t.low, t.high) for t in tags], binding.sample_period,
                       ignore=frozenset([binding.batch_time_tag]) if binding.batch_time_tag else frozenset())
    times, rows, flags = [], [], []
    for f in frames:
        g = gate.check(f)
        if g.accepted:
            times.append(g.time)
            rows.append(g.values)
            flags.append(g.flags)
    if len(times) < 3:
        raise DataQualityError(f"calibration needs at least 3 usable samples, got {len(times)}")
    return np.array(times), np.array(rows), np.array(flags)


def _gate_windows(flags: np.ndarray, times: np.ndarray, tags: list[str]) -> list[ExcludedWindow]:
    """Runs of samples the data-quality gate flagged, per tag (``times`` since the first sample)."""
    from twin._calib_windows import _runs

    out = []
    for j, tag in enumerate(tags):
        for a, b in _runs(flags[:, j] != 0):
            bits = int(np.bitwise_or.reduce(flags[a:b, j].astype(np.int64)))
            names = "|".join(f.name for f in QualityFlag if f and bits & int(f))
            out.append(ExcludedWindow(float(times[a]), float(times[b - 1]), tag, f"quality: {names}"))
    return out


def calibrate(
    binding: TwinBinding,
    data: Any,
    *,
    parameters: Sequence[CalibrationParameter] | None = None,
    window: tuple[float, float] | None = None,
    confidence: float = 0.95,
    fixed: dict[str, float] | None = None,
    exclude: Sequence[ExcludedWindow] = (),
    include_flagged: bool = False,
    loss: str = "linear",
    f_scale: float | None = None,
    on_misfit: Literal["scale", "refuse"] = "scale",
    profile: bool = True,
) -> CalibrationResult:
    """Fit FMU parameters to measured data, leaving out what the twin flagged.

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
        Level of the confidence intervals (and of the dispersion check).
    fixed
        Further parameter values held fixed during the fit.
    exclude
        Known events and operator windows (seconds since the first sample) to leave out.
    include_flagged
        Fit through the windows the twin flagged (data-quality flags, alarm windows of a
        trace store) instead of leaving them out.
    loss, f_scale
        ``"linear"`` (least squares), ``"huber"`` or ``"cauchy"``; ``f_scale`` in units of σ
        (default: the 95 %-efficiency constants 1.345 and 2.385).
    on_misfit
        When the dispersion is outside its χ² interval: ``"scale"`` the interval by it, or
        ``"refuse"`` the interval (NaN) with a warning naming the worst misfits.
    profile
        Compute profile likelihoods for weakly identified parameters.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ConfigError
        No parameters to fit, a parameter without an initial value, an unknown loss.
    DataQualityError
        Too few residuals left after the exclusions.
    SolverError
        The solver failed.
    """
    from scipy.optimize import least_squares
    from scipy.stats import norm
    from scipy.stats import t as student_t

    c = st.check_loss(loss, f_scale)
    if on_misfit not in ("scale", "refuse"):
        raise ConfigError(f"on_misfit must be 'scale' or 'refuse', got {on_misfit!r}")
    params = list(parameters if parameters is not None else binding.calibration)
    if not params:
        raise ConfigError("no parameters to calibrate; list them under 'calibration:' in the binding",
                          source=binding.source_file, path="calibration")
    trace = _trace_of(data)
    frames = history_frames(trace if trace is not None else data, binding)
    times, values, flags = _matrix(frames, binding)
    t0 = float(times[0])
    times = times - t0
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
    out_tags = [o.tag for o in binding.outputs]
    sigma = np.array([o.sigma if o.sigma is not None else np.nan for o in binding.outputs])
    if np.isnan(sigma).any():
        # σ unknown: weight by the data's own spread of first differences (noise scale)
        d = np.diff(meas, axis=0) / np.sqrt(2)
        sigma = np.where(np.isnan(sigma), np.nanstd(d, axis=0), sigma)
    mask = np.isfinite(meas)
    if window is not None:
        in_win = (times >= window[0]) & (times <= window[1])
        mask &= in_win[:, None]
    windows = list(exclude)
    if not include_flagged:
        windows = _gate_windows(flags, times, [t.tag for t in binding.tags]) + windows
        if trace is not None:
            windows = windows_from_trace(trace, t0, margin=float(binding.sample_period)) + windows
    before = int(mask.sum())
    mask = apply_windows(mask, times, windows, out_tags)
    n_excluded = before - int(mask.sum())
    windows = _merge(windows, *(window or (0.0, np.inf)), times[-1])
    if int(mask.sum()) <= len(params):
        raise DataQualityError(
            f"calibration of {[p.name for p in params]}: only {int(mask.sum())} residuals left after leaving out "
            f"{len(windows)} flagged/excluded window(s) ({n_excluded} residuals); give a longer window, fewer "
            "--exclude windows, or --include-flagged")
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
        jump = np.array([t.jump * abs(c_[0]) if t.jump is not None else np.inf
                         for t, c_ in zip(binding.inputs, conv_in, strict=True)])
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
    fit_opts = {"x_scale": scale, "diff_step": 1e-4, "method": "trf", "loss": loss, "f_scale": c}
    try:
        res = least_squares(residuals, x0, bounds=(lo, hi), **fit_opts)
    except Exception as exc:  # FmuError during a trial point etc.
        stepper.close()
        raise SolverError(f"calibration of {[p.name for p in params]} failed: {exc}") from exc
    m, p = int(mask.sum()), len(params)
    dof = max(m - p, 1)
    r = res.fun
    s2 = float(np.sum(r**2) / dof)
    J = res.jac if loss == "linear" else _jacobian(residuals, res.x, r, lo, hi)
    disp = st.dispersion(r, p, loss, c, confidence)
    F = J.T @ J
    F_inv = np.linalg.pinv(F)
    warnings: list[str] = []
    if disp.inside:
        cov, q, disp.interval = disp.expected * F_inv, float(norm.ppf(0.5 + confidence / 2)), "sigma"
    else:
        cov, q = disp.value * F_inv, float(student_t.ppf(0.5 + confidence / 2, dof))
        disp.interval = "refused" if on_misfit == "refuse" else "scaled"
    ident = st.identifiability(J, res.x, cov)
    if ident.null.any():  # no information along these parameters: infinite variance, not a pinv artefact
        cov[ident.null, :] = cov[:, ident.null] = np.nan
        cov[ident.null, ident.null] = np.inf
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    zres = np.full(mask.shape, np.nan)
    zres[mask] = r
    misfits = st.worst_misfits(zres, mask, times, out_tags)
    ci_low, ci_high = res.x - q * se, res.x + q * se
    name = "s²" if loss == "linear" else f"dispersion ({loss})"
    lo_d, hi_d = disp.low * disp.expected, disp.high * disp.expected
    if not disp.inside:
        worst = "; ".join(f"{c_['tag']} {c_['start'] / 60:.1f}–{c_['end'] / 60:.1f} min "
                          f"(mean {c_['mean']:+.2f} σ, rms {c_['rms']:.2f} σ)" for c_ in misfits)
        what = ("interval refused" if disp.interval == "refused"
                else f"interval scaled by {name} (× {np.sqrt(disp.value / disp.expected):.2f} in width)")
        warnings.append(f"{name} = {disp.value:.3g} is outside its {confidence:.0%} χ² interval "
                        f"[{lo_d:.3g}, {hi_d:.3g}] (dof {dof}): the model or the σ do not fit this data; "
                        f"{what}; worst misfits: {worst}")
        if disp.interval == "refused":
            ci_low, ci_high = np.full(p, np.nan), np.full(p, np.nan)

    # profile likelihood for weakly identified parameters (Raue et al. 2009)
    profiles: dict[str, dict] = {}
    cost_min = st.cost(r, loss, c)
    d_prof = disp.expected if disp.interval == "sigma" else disp.value
    for i, status in enumerate(ident.status):
        if status == "determined" or not profile:
            continue
        prof = st.profile(i, res.x, float(se[i]), lo, hi, cost_min, d_prof,
                          _refit(residuals, lo, hi, fit_opts, loss, c), confidence)
        profiles[params[i].name] = prof
        if not prof["bounded"]:
            ident.status[i] = "not determined"
        elif status == "weak" and disp.interval != "refused":  # the profile interval is the better one
            ci_low[i], ci_high[i] = prof["ci_low"], prof["ci_high"]
    for i, status in enumerate(ident.status):
        if status == "not determined":
            ci_low[i] = ci_high[i] = np.nan
            why = (f"its profile likelihood stays below the {confidence:.0%} threshold inside the bounds"
                   if params[i].name in profiles and not profiles[params[i].name]["bounded"]
                   else f"relative std error {se[i] / max(abs(res.x[i]), 1e-300):.2g}")
            warnings.append(f"'{params[i].name}' is not determined by this data ({why}; condition number of the "
                            f"Fisher information {ident.condition_number:.3g}); fix it, or fit it on data that excites it")
    pred = simulate(res.x)
    rmse = {}
    for j, o in enumerate(binding.outputs):
        rr = (meas[:, j] - pred[:, j])[mask[:, j]]
        rmse[o.tag] = float(np.sqrt(np.mean(rr**2))) if rr.size else float("nan")
    stepper.close()
    return CalibrationResult(
        names=[q_.name for q_ in params], estimate=res.x.copy(), std_error=se, ci_low=ci_low,
        ci_high=ci_high, covariance=cov, confidence=confidence, rmse=rmse, s2=s2, n_obs=m, dof=dof,
        success=bool(res.success), message=str(res.message), nfev=int(res.nfev), initial=x0,
        loss=loss, f_scale=c, dispersion=disp.value, dispersion_interval=(lo_d, hi_d), interval=disp.interval,
        excluded=windows, n_excluded=n_excluded, correlation=ident.correlation,
        condition_number=ident.condition_number, collinearity_index=ident.collinearity_index,
        identifiability=ident.status, profiles=profiles, misfits=misfits, warnings=warnings,
    )


def _jacobian(fun, x: np.ndarray, f0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Forward-difference Jacobian of the raw residuals (a robust fit's ``res.jac`` is reweighted)."""
    J = np.empty((f0.size, x.size))
    for i in range(x.size):
        h = 1e-4 * max(abs(x[i]), 1.0)
        if x[i] + h > hi[i]:
            h = -h
        xi = x.copy()
        xi[i] += h
        J[:, i] = (fun(xi) - f0) / h
    return J


def _refit(residuals, lo: np.ndarray, hi: np.ndarray, opts: dict, loss: str, c: float):
    """``refit(i, value, start)`` for :func:`twin._calib_stats.profile`: the others fitted, ``i`` held."""
    from scipy.optimize import least_squares

    def refit(i: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        free = [k for k in range(start.size) if k != i]

        def full(sub: np.ndarray) -> np.ndarray:
            x = start.copy()
            x[i] = value
            x[free] = sub
            return x

        if not free:
            x = full(np.zeros(0))
            return st.cost(residuals(x), loss, c), x
        sub_opts = {**opts, "x_scale": opts["x_scale"][free]}
        res = least_squares(lambda s: residuals(full(s)), start[free], bounds=(lo[free], hi[free]), **sub_opts)
        return float(res.cost), full(res.x)

    return refit


def _merge(windows: list[ExcludedWindow], lo: float, hi: float, t_end: float) -> list[ExcludedWindow]:
    """Windows sorted, clipped to the fit window ``[lo, hi]`` and the data, overlapping ones of the
    same tag and reason merged."""
    out: list[ExcludedWindow] = []
    hi = min(hi, t_end)
    for w in sorted(windows, key=lambda w: (w.tag or "", w.reason, w.start)):
        w = ExcludedWindow(max(w.start, lo), min(w.end, hi), w.tag, w.reason)
        if w.start > w.end:
            continue
        if out and out[-1].tag == w.tag and out[-1].reason == w.reason and w.start <= out[-1].end + 1e-9:
            out[-1] = ExcludedWindow(out[-1].start, max(out[-1].end, w.end), w.tag, w.reason)
        else:
            out.append(w)
    return sorted(out, key=lambda w: (w.start, w.tag or ""))


def _conv(src: str, dst: str) -> tuple[float, float]:
    if src == dst:
        return (1.0, 0.0)
    c = _linear_conversion(src, dst)
    if c is None:
        raise ConfigError(f"unit '{src}' cannot be converted to '{dst}'")
    return c
