"""Re-calibration of a line model from a window of live data (``twin calibrate-line``).

From the observations of a window (cycle times, repair durations, failures with
their exposure, processed and scrapped counts) each station's parameters are
re-estimated with the reliability tools of :mod:`simulation.life`:

* ``process_time`` and ``ttr``: maximum-likelihood fit (:func:`simulation.life.fit_life`)
  in the model's own family (lognormal, gamma, Weibull, exponential, normal; any other
  family: the best by AIC of :func:`simulation.life.fit_best`), with Fisher-matrix
  bounds of the parameters and a delta-method confidence interval of the mean
  (Meeker & Escobar 1998, *Statistical Methods for Reliability Data*, §8.4);
* ``ttf`` (exponential, busy or calendar basis): ``MTTF = exposure / failures`` with
  the exact chi-square interval for time-truncated data
  ``[2T/χ²(2r+2, 1−α/2), 2T/χ²(2r, α/2)]`` (Meeker & Escobar 1998, §7.5);
* ``scrap``: ``k/n`` with the Clopper–Pearson interval.

The updated scenario is written as a ``kind: line`` file that ``extends:`` the
original and carries the new values as ``overrides:`` (so what was re-estimated,
from which window, is visible in one place and validated by the same loader).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from simulation.life import FIT_DISTRIBUTIONS, LifeData, fit_best, fit_life
from simulation.line import LineScenario, load_scenario
from twin.line._config import LineBinding
from twin.line._state import LineState, Observation
from workbench.distributions import family, parse_distribution
from workbench.errors import DataQualityError, SolverError

__all__ = ["Estimate", "LineCalibration", "calibrate_line", "observations_from_trace"]

@dataclass
class Estimate:
    """A re-estimated parameter of one station."""

    station: str
    parameter: str
    n: int
    model_mean: float
    mean: float
    mean_ci: tuple[float, float]
    spec: Any
    distribution: str = ""
    params: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    units: str = "s"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able record."""
        return {"station": self.station, "parameter": self.parameter, "n": self.n, "units": self.units,
                "model_mean": self.model_mean, "mean": self.mean, "mean_ci": list(self.mean_ci),
                "distribution": self.distribution, "params": self.params,
                "bounds": {k: list(v) for k, v in self.bounds.items()}, "spec": self.spec}


@dataclass
class LineCalibration:
    """Result of :func:`calibrate_line`."""

    scenario: LineScenario
    scenario_path: Path
    estimates: list[Estimate]
    window: tuple[float, float]
    confidence: float

    def overrides(self) -> dict[str, Any]:
        """Dotted overrides of the scenario carrying the new estimates."""
        out: dict[str, Any] = {}
        for e in self.estimates:
            if e.parameter == "process_time":
                out[f"stations.{e.station}.process_time"] = e.spec
            elif e.parameter in ("ttr", "ttf"):
                f = self.scenario.station(e.station).failures[0]
                out[f"stations.{e.station}.failures.{f.name}.{e.parameter}"] = e.spec
            elif e.parameter == "scrap":
                out[f"stations.{e.station}.quality.scrap"] = e.spec
        return out

    def write(self, path: str | Path, *, name: str | None = None) -> Path:
        """Write the updated scenario (``extends:`` the original + ``overrides:``) and validate it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        base = os.path.relpath(self.scenario_path.resolve(), path.resolve().parent)
        lines = [f"# Re-calibrated by `twin calibrate-line` from plant clock {self.window[0]:g} s "
                 f"to {self.window[1]:g} s ({self.confidence:.0%} intervals):"]
        for e in self.estimates:
            lines.append(f"#   {e.station}.{e.parameter}: mean {e.mean:.4g} {e.units} "
                         f"[{e.mean_ci[0]:.4g}, {e.mean_ci[1]:.4g}] from n={e.n} (model: {e.model_mean:.4g})")
        doc = {"kind": "line", "extends": base, "name": name or f"{self.scenario.name}_calibrated",
               "overrides": self.overrides()}
        path.write_text("\n".join(lines) + "\n" + yaml.safe_dump(doc, sort_keys=False))
        load_scenario(path)  # the file must validate
        return path


def observations_from_trace(binding: LineBinding, scenario: LineScenario, trace: str | Path) -> list[Observation]:
    """Replay the real values of a line trace store through a fresh :class:`LineState`."""
    from twin._trace_read import open_trace

    ds = open_trace(trace)
    tags = [str(t) for t in ds["tag"].values]
    real = ds["value"].sel(source="real").values
    gaps = ds["gap"].values
    state = LineState(binding, scenario)
    clock = binding.clock_tag if binding.clock_tag in tags else None
    t_epoch = ds["time"].values
    if np.issubdtype(t_epoch.dtype, np.datetime64):
        t_epoch = t_epoch.astype("datetime64[ns]").astype(np.int64) / 1e9
    t0 = float(t_epoch[0]) if len(t_epoch) else 0.0
    out: list[Observation] = []
    for i in range(len(t_epoch)):
        values = dict(zip(tags, real[i].tolist(), strict=True))
        t = float(values[clock]) if clock and math.isfinite(values[clock]) else float(t_epoch[i]) - t0
        out += state.update(t, values, resync=bool(gaps[i] > 0))
    return out


def _fit(x: np.ndarray, model_dist, confidence: float):
    # fit in the model's own family (the table's family for its scipy distribution, e.g. erlang → gamma)
    family_name = family(model_dist.name).name if model_dist is not None and not model_dist.is_constant else None
    family_name = family_name if family_name in FIT_DISTRIBUTIONS else None
    data = LifeData(failures=x, unit="s")
    try:
        fit = fit_life(data, family_name, confidence=confidence) if family_name \
            else fit_best(data, confidence=confidence)[0]
    except (SolverError, DataQualityError):
        fit = fit_best(data, confidence=confidence)[0]
    z = stats.norm.ppf(0.5 + confidence / 2)
    th = np.asarray(fit.theta, dtype=float)

    def g(t):
        return float(dataclasses.replace(fit, theta=t).frozen.mean())

    grad = np.zeros_like(th)
    for j in range(len(th)):
        h = 1e-5 * max(1.0, abs(th[j]))
        e = np.zeros_like(th)
        e[j] = h
        grad[j] = (g(th + e) - g(th - e)) / (2 * h)
    m = g(th)
    se = float(math.sqrt(max(grad @ np.asarray(fit.cov) @ grad, 0.0)))
    spec = fit.to_distribution().to_spec("s", digits=6)
    return fit, m, (m - z * se, m + z * se), spec


def calibrate_line(
    binding: LineBinding,
    observations: list[Observation] | str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    stations: list[str] | None = None,
    parameters: tuple[str, ...] = ("process_time", "ttr", "ttf", "scrap"),
    min_samples: int = 20,
    confidence: float = 0.95,
    scenario: LineScenario | None = None,
) -> LineCalibration:
    """Re-estimate station parameters from a window of live observations.

    Parameters
    ----------
    binding
        The line binding (its scenario is the starting model).
    observations
        Observations (e.g. ``LineTwin.observations``) or a line trace store to replay.
    start, end
        Plant-clock window (s); default: everything.
    stations
        Stations to re-estimate (default: all).
    parameters
        Which parameters (``process_time``, ``ttr``, ``ttf``, ``scrap``).
    min_samples
        Fewer observations (failures for ``ttf``) leave a parameter unchanged.
    confidence
        Level of the intervals.
    scenario
        The model (default: loaded from the binding).

    Returns
    -------
    LineCalibration
        ``write(path)`` writes the updated scenario.
    """
    path = binding.scenario_path()
    scenario = scenario or load_scenario(path)
    if not isinstance(observations, list):
        observations = observations_from_trace(binding, scenario, observations)
    lo = -math.inf if start is None else start
    hi = math.inf if end is None else end
    obs = [o for o in observations if lo <= o.time <= hi]
    times = [o.time for o in obs]
    window = (min(times) if times else lo, max(times) if times else hi)
    estimates: list[Estimate] = []
    for st in scenario.stations:
        if stations is not None and st.name not in stations:
            continue
        mine = [o for o in obs if o.station == st.name]
        pt = np.array([o.value for o in mine if o.parameter == "process_time"], dtype=float)
        pdist = st.process_dist(scenario.products[0].name)
        if "process_time" in parameters and len(pt) >= min_samples and not isinstance(st.process_time, dict):
            fit, m, ci, spec = _fit(pt, pdist, confidence)
            estimates.append(Estimate(st.name, "process_time", len(pt), pdist.mean(), m, ci, spec,
                                      fit.distribution, {k: float(v) for k, v in fit.params.items()},
                                      {k: (float(a), float(b)) for k, (a, b) in fit.bounds.items()}))
        if not st.failures:
            pass
        else:
            f = st.failures[0]
            downs = np.array([o.value for o in mine if o.parameter == "down"], dtype=float)
            if "ttr" in parameters and len(downs) >= min_samples and len(st.failures) == 1:
                fit, m, ci, spec = _fit(downs, f.ttr, confidence)
                estimates.append(Estimate(st.name, "ttr", len(downs), f.ttr.mean(), m, ci, spec, fit.distribution,
                                          {k: float(v) for k, v in fit.params.items()},
                                          {k: (float(a), float(b)) for k, (a, b) in fit.bounds.items()}))
            r = int(sum(o.value for o in mine if o.parameter == "failure"))
            if "ttf" in parameters and len(st.failures) == 1 and f.basis in ("busy", "calendar") \
                    and f.ttf.family == "exponential" and f.ttf.truncate is None \
                    and r >= max(min_samples // 4, 3):
                exposure = sum(o.value for o in mine if o.parameter == "busy_time") if f.basis == "busy" \
                    else (window[1] - window[0]) * st.servers
                a = 1 - confidence
                m = exposure / r
                ci = (2 * exposure / stats.chi2.ppf(1 - a / 2, 2 * r + 2), 2 * exposure / stats.chi2.ppf(a / 2, 2 * r))
                spec = parse_distribution({"distribution": "exponential", "mean": m}, "s").to_spec("s", digits=6)
                estimates.append(Estimate(st.name, "ttf", r, f.ttf.mean(), m, ci, spec,
                                          "exponential", {"mean": m}, {"mean": ci}))
        n = int(sum(o.value for o in mine if o.parameter == "processed"))
        k = int(sum(o.value for o in mine if o.parameter == "scrap"))
        if "scrap" in parameters and n >= min_samples and (st.quality.scrap > 0 or k > 0):
            ci = stats.binomtest(min(k, n), n).proportion_ci(confidence_level=confidence, method="exact")
            estimates.append(Estimate(st.name, "scrap", n, st.quality.scrap, k / n, (ci.low, ci.high),
                                      round(k / n, 6), "binomial", {"p": k / n}, {"p": (ci.low, ci.high)}, "1"))
    return LineCalibration(scenario, path, estimates, window, confidence)
