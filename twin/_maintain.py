"""Maintenance from tracked health: a moving-window parameter path, its drift, the limit crossing, cleaning.

1. **Parameter path.** :func:`calibrate` (with its flagged-window exclusion, known events and
   dispersion check) is run on consecutive windows of a trace or historian file; each window
   gives an estimate ± standard error at its mid time. Windows where the parameter is *not
   determined* (or too few residuals are left after the exclusions) are skipped and listed.
   Each window's fit simulates the twin from the first sample with a constant parameter, so the
   estimate is the window's pseudo-true value of a constant-parameter twin (White 1982,
   *Econometrica* 50, 1–25); under a drift it lags the instantaneous value by a fraction of the
   plant's thermal memory (see docs/twin-monitoring.md, "Maintenance from the tracked parameter").
2. **Drift and limit crossing.** :func:`twin.fit_drift` on the path (unweighted least squares:
   the scatter of the window estimates around the drift, not their standard errors, sets the
   band, so misfit between windows widens it instead of being hidden; weighting by ``1/SE²``
   was tried and rejected: the window SEs carry the noise only, not the lag, so the weighted
   band covered the true ``U_eff`` at 21 % of the window times and the crossing in 3 of 6
   seeds, against 98 % and 6 of 6 unweighted — tests/validation/test_maintain_forecast.py),
   in one of three scales:
   ``linear`` (``y = a + b t``), ``exponential`` (``ln y``) or ``reciprocal`` (``1/y = a + b t``:
   the fouling law of a heat-transfer coefficient, ``1/U_eff = 1/U_clean + R_f(t)`` with ``R_f``
   growing linearly; Kern & Seaton 1959, *Br. Chem. Eng.* 4, 258; Müller-Steinhagen,
   *Heat Exchanger Fouling*, 2000, ch. 2). The crossing interval is Fieller's
   (:meth:`twin.DriftFit.crossing`).
3. **Cleaning interval.** :func:`twin.optimal_cleaning_interval` (renewal reward) on the
   degradation ``|y − y_clean|`` (linear scale) or ``R_f`` (reciprocal scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from twin._binding import CalibrationParameter, TwinBinding
from twin._calib_windows import ExcludedWindow
from twin._calibrate import _trace_of, calibrate, history_frames
from twin._degradation import (
    Crossing,
    DriftFit,
    cleaning_cost_rate,
    fit_drift,
    optimal_cleaning_interval,
)
from workbench.errors import ConfigError, DataError, DataQualityError, SolverError

__all__ = ["ParameterPath", "MaintenanceForecast", "parameter_path", "maintenance_forecast", "DRIFT_SCALES"]

DRIFT_SCALES = ("linear", "exponential", "reciprocal")


@dataclass
class ParameterPath:
    """Moving-window estimates of one parameter (times in seconds since the first sample)."""

    parameter: str
    start: np.ndarray
    end: np.ndarray
    estimate: np.ndarray
    std_error: np.ndarray
    interval: list[str]
    skipped: list[dict]
    excluded: list[ExcludedWindow]
    confidence: float
    t0: float
    t_end: float
    time_kind: str = "float"

    @property
    def time(self) -> np.ndarray:
        return 0.5 * (self.start + self.end)

    def as_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "confidence": self.confidence, "t0": self.t0, "t_end": self.t_end,
                "time_kind": self.time_kind,
                "windows": [{"start": float(a), "end": float(b), "estimate": float(e), "std_error": float(s),
                             "interval": i} for a, b, e, s, i in
                            zip(self.start, self.end, self.estimate, self.std_error, self.interval, strict=True)],
                "skipped": self.skipped,
                "excluded": [w.as_dict() for w in self.excluded]}


def parameter_path(binding: TwinBinding, data: Any, parameter: str | CalibrationParameter, *, window: float,
                   step: float | None = None, exclude: Sequence[ExcludedWindow] = (), include_flagged: bool = False,
                   confidence: float = 0.95, fixed: dict[str, float] | None = None,
                   loss: str = "linear") -> ParameterPath:
    """Calibrate ``parameter`` on consecutive windows of ``data`` (trace store, Dataset, historian file, frames).

    Raises
    ------
    ConfigError
        ``window`` or ``step`` not positive, or the data shorter than one window.
    """
    import xarray as xr

    if not window > 0 or (step is not None and not step > 0):
        raise ConfigError(f"the calibration window and step must be > 0 s, got window={window}, step={step}")
    step = float(step or window)
    if isinstance(parameter, str):
        known = {p.name: p for p in binding.calibration}
        parameter = known.get(parameter, CalibrationParameter(name=parameter))
    trace = _trace_of(data)
    if trace is not None:
        trace = trace.load()
    frames = history_frames(trace if trace is not None else data, binding)
    times = np.array([f.time for f in frames], float)
    if times.size < 3:
        raise DataError(f"the data holds {times.size} samples; a parameter path needs at least one window of them")
    t0, t_end = float(times[0]), float(times[-1] - times[0])
    if t_end < window:
        raise DataError(f"the data span {t_end / 60:.0f} min, shorter than one calibration window "
                        f"({window / 60:.0f} min); give a shorter --window-min or more data")
    time_kind = "float"
    if isinstance(trace, xr.Dataset) and np.issubdtype(trace["time"].dtype, np.datetime64):
        time_kind = "datetime"
    elif not isinstance(data, list | xr.Dataset) and trace is None and t0 > 1e8:
        time_kind = "datetime"
    source = trace if trace is not None else frames
    starts = np.arange(0.0, t_end - window + 1e-6, step)
    rows, skipped, excluded = [], [], []
    for a in starts:
        b = a + window
        try:
            res = calibrate(binding, source, parameters=[parameter], window=(a, b), confidence=confidence,
                            fixed=fixed, exclude=exclude, include_flagged=include_flagged, loss=loss, profile=False)
        except DataQualityError as exc:
            skipped.append({"start": float(a), "end": float(b), "reason": str(exc)})
            continue
        except SolverError as exc:
            skipped.append({"start": float(a), "end": float(b), "reason": f"solver: {exc}"})
            continue
        excluded += [w for w in res.excluded if w not in excluded]
        se = float(res.std_error[0])
        if res.identifiability[0] == "not determined" or not np.isfinite(se):
            why = "; ".join(w for w in res.warnings if parameter.name in w) or res.identifiability[0]
            skipped.append({"start": float(a), "end": float(b),
                            "reason": f"'{parameter.name}' {res.identifiability[0]} in this window ({why})"})
            continue
        rows.append((a, b, float(res.estimate[0]), se, res.interval))
    arr = np.array([r[:4] for r in rows], float).reshape(-1, 4)
    return ParameterPath(parameter.name, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], [r[4] for r in rows],
                         skipped, excluded, confidence, t0, t_end, time_kind)


@dataclass
class MaintenanceForecast:
    """Drift of a parameter path, when it reaches a limit, and the cost-optimal cleaning interval."""

    path: ParameterPath
    scale: str
    limit: float
    fit: DriftFit
    crossing: Crossing
    now: float
    current: float
    plan: Any = None
    plan_note: str = ""
    costs: dict = field(default_factory=dict)
    economic_interval: float | None = None

    def _to_fit(self, y):
        y = np.asarray(y, float)
        return 1.0 / y if self.scale == "reciprocal" else y

    def band(self, t) -> dict[str, np.ndarray]:
        """The fitted drift and its confidence band on the parameter's own scale."""
        p = self.fit.predict(t, confidence=self.path.confidence)
        if self.scale == "reciprocal":
            return {"mean": 1 / p["mean"], "low": 1 / p["high"], "high": 1 / p["low"]}
        return {"mean": p["mean"], "low": p["low"], "high": p["high"]}

    @property
    def reaches_in(self) -> tuple[float, float, float] | None:
        """Time from the end of the data to the crossing (estimate, low, high), ``None`` when not determined."""
        c = self.crossing
        if not c.bounded:
            return None
        return c.time - self.now, c.low - self.now, c.high - self.now

    def as_dict(self) -> dict[str, Any]:
        r = self.reaches_in
        out = {"parameter": self.path.parameter, "model": self.scale, "limit": self.limit,
               "current": self.current, "now": self.now,
               "drift": {"intercept": self.fit.intercept, "slope": self.fit.slope, "s": self.fit.s, "n": self.fit.n,
                         "scale": {"linear": "y", "exponential": "ln y", "reciprocal": "1/y"}[self.scale],
                         "weights": "none (unweighted least squares; the band comes from the scatter of the path)"},
               "crossing": {"determined": r is not None, "time": self.crossing.time,
                            "low": self.crossing.low if r else None, "high": self.crossing.high if r else None,
                            "in": r[0] if r else None, "in_low": r[1] if r else None, "in_high": r[2] if r else None,
                            "confidence": self.crossing.confidence,
                            "reason": None if r else self.crossing.describe()},
               "path": self.path.as_dict()}
        if self.plan is not None:
            out["cleaning"] = {"interval": self.plan.interval, "low": self.plan.low, "high": self.plan.high,
                               "cost_rate": self.plan.cost_rate, "limited_by_limit": self.plan.limited,
                               "economic_interval": self.economic_interval, "tau": self.plan.tau.tolist(), "cost_curve": self.plan.cost_curve.tolist(), **self.costs}
            if self.plan_note:
                out["cleaning"]["note"] = self.plan_note
        elif self.plan_note:
            out["cleaning"] = {"note": self.plan_note}
        return out


def maintenance_forecast(path: ParameterPath, limit: float, *, scale: str = "linear",
                         cleaning_cost: float | None = None, loss_rate: float | None = None,
                         downtime: float = 0.0) -> MaintenanceForecast:
    """Fit the drift of ``path``, forecast when it reaches ``limit``, optimise cleaning when costs are given.

    ``loss_rate`` is the cost per unit of degradation per second: per unit of ``|y − y_clean|``
    (linear scale) or of ``1/y − 1/y_clean`` (reciprocal scale, e.g. per m²K/W of fouling resistance).

    Raises
    ------
    DataError
        Fewer than 3 windows, a scale not known, a limit not reachable (on the wrong side of
        the current value for the drift's direction, or ≤ 0 on a log/reciprocal scale).
    """
    if scale not in DRIFT_SCALES:
        raise DataError(f"drift model '{scale}' is not known; choose one of {', '.join(DRIFT_SCALES)}")
    n = path.estimate.size
    if n < 3:
        raise DataError(f"only {n} window(s) determined '{path.parameter}' ({len(path.skipped)} skipped); a drift "
                        "fit needs at least 3: give more data or a shorter --window-min")
    if scale != "linear" and (not limit > 0 or (path.estimate <= 0).any()):
        raise DataError(f"the {scale} drift model needs a positive limit and positive estimates, got limit {limit}")
    t = path.time
    y = 1.0 / path.estimate if scale == "reciprocal" else path.estimate
    fit = fit_drift(t, y, model="exponential" if scale == "exponential" else "linear")
    fit_limit = 1.0 / limit if scale == "reciprocal" else limit
    now = path.t_end
    mean_now = float(fit.predict(now)["mean"])
    current = 1.0 / mean_now if scale == "reciprocal" else mean_now
    direction = np.sign(fit.slope) * (-1 if scale == "reciprocal" else 1)
    if np.sign(limit - current) != direction:
        trend = "rising" if direction > 0 else "falling"
        need = "above" if direction > 0 else "below"
        raise DataError(f"--limit {limit:g} is on the wrong side: '{path.parameter}' is {trend} and its fitted "
                        f"current value is {current:.4g}, so the limit must be {need} {current:.4g}")
    crossing = fit.crossing(fit_limit, confidence=path.confidence)
    fc = MaintenanceForecast(path, scale, float(limit), fit, crossing, now, current)
    if cleaning_cost is None and loss_rate is None:
        return fc
    if cleaning_cost is None or loss_rate is None:
        raise DataError("a cleaning interval needs both --clean-cost and --loss-rate")
    if scale == "exponential":
        fc.plan_note = ("the closed-form cleaning interval is for a linear drift (model linear or reciprocal); "
                        "not computed for the exponential model")
        return fc
    # degradation grows from 0 at the clean state: flip a falling linear path
    deg = fit if direction > 0 or scale == "reciprocal" else fit_drift(t, -y)
    deg_limit = fit_limit if deg is fit else -limit
    try:
        fc.plan = optimal_cleaning_interval(deg, cleaning_cost=cleaning_cost, loss_rate=loss_rate, downtime=downtime,
                                            limit=deg_limit, confidence=path.confidence)
    except SolverError as exc:
        fc.plan_note = str(exc)
    if fc.plan is not None and fc.plan.limited and deg.slope > 0:
        # the limit comes before the economic optimum: show the curve out to that optimum too
        econ = -downtime + np.sqrt(downtime**2 + 2 * cleaning_cost / (loss_rate * deg.slope))
        fc.economic_interval = float(econ)
        grid = np.linspace(fc.plan.interval / 5, max(3 * fc.plan.interval, 1.5 * econ), 200)
        fc.plan = replace(fc.plan, tau=grid,
                          cost_curve=cleaning_cost_rate(grid, deg.slope, cleaning_cost, loss_rate, downtime))
    if fc.plan is not None and (not crossing.bounded or not fc.plan.high < 1e12):
        # the slope's interval reaches 0: no finite upper bound on the interval
        fc.plan = replace(fc.plan, high=float("inf"))
        fc.plan_note = ("the drift is not significant: the cleaning interval has no finite upper bound "
                        "(its estimate rests on the fitted slope alone)")
    fc.costs = {"cleaning_cost": cleaning_cost, "loss_rate": loss_rate, "downtime": downtime}
    return fc
