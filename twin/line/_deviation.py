"""Is the line behaving like its model? Tests of observed station statistics.

Streaming, per completed cycle:

* **CUSUM on cycle time** (Page 1954; tabular form, Montgomery 2013, *Introduction
  to Statistical Quality Control*, 7th ed., §9.1). Each cycle time ``x`` is turned
  into a normal score ``z = Φ⁻¹(F₀(x))`` with the model's distribution ``F₀`` of
  that station and product (probability integral transform), so ``z ~ N(0, 1)``
  exactly while the line follows its model, whatever the distribution's family.
  ``S⁺ = max(0, S⁺ + z − k)``, ``S⁻ = max(0, S⁻ − z − k)``; an alarm when either
  exceeds ``h``. In-control and out-of-control average run lengths follow
  Siegmund's approximation (:func:`twin.cusum_arl_siegmund`).

Periodic, on the observations of the last ``window`` (family level ``alpha``,
Bonferroni over the tests run at that instant):

* **Anderson–Darling** on cycle times against the fully specified ``F₀``
  (statistic of Anderson & Darling 1954, p-value from the asymptotic distribution as
  computed by Marsaglia & Marsaglia 2004, *J. Stat. Softw.* 9(2));
* **Kolmogorov–Smirnov** (:func:`scipy.stats.kstest`) on repair durations against the
  first failure mode's ``ttr`` and on set-up durations against the changeover
  distribution (a fixed changeover time: one-sample t-test of the observed set-up
  lengths against it, as they differ from it by sampling quantisation only);
* **Poisson** exact two-sided test of the failure count against the model's
  expectation ``exposure / MTTF`` (busy time for ``basis: busy``, clock time for
  ``calendar``, jobs for ``cycles``; exact for exponential times to failure, the
  renewal rate in the long run otherwise);
* **binomial** exact tests (:func:`scipy.stats.binomtest`) of the scrap count against
  ``quality.scrap`` and of the share of micro-stops (stops shorter than
  ``micro_stop``) against ``F_ttr(micro_stop)``.

Every alarm names the station and the model parameter that drifted.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from simulation.line import LineScenario
from twin.line._config import DeviationSettings
from twin.line._state import Observation

__all__ = ["LineAlarm", "DeviationMonitor", "anderson_darling", "ad_pvalue"]


def ad_pvalue(a2: float) -> float:
    """Upper-tail p-value of the Anderson–Darling statistic (all parameters known).

    Asymptotic distribution function ``ADinf`` of Marsaglia & Marsaglia (2004),
    accurate to about 1e-6 for the limit distribution.
    """
    z = float(a2)
    if z <= 0:
        return 1.0
    if z < 2.0:
        cdf = math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
    else:
        cdf = math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z)
                                                       * z) * z) * z))
    return float(min(max(1.0 - cdf, 0.0), 1.0))


def anderson_darling(u: np.ndarray) -> tuple[float, float]:
    """A² of probability-integral-transformed data ``u = F₀(x)`` and its p-value.

    ``A² = −n − (1/n) Σ (2i−1) [ln u₍ᵢ₎ + ln(1 − u₍ₙ₊₁₋ᵢ₎)]`` (Anderson & Darling 1954).
    """
    u = np.clip(np.sort(np.asarray(u, dtype=float)), 1e-12, 1 - 1e-12)
    n = len(u)
    i = np.arange(1, n + 1)
    a2 = float(-n - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))))
    return a2, ad_pvalue(a2)


@dataclass
class LineAlarm:
    """A deviation between the line and its model, naming station and parameter."""

    station: str
    parameter: str
    test: str
    start: float
    statistic: float
    p_value: float
    observed: float
    expected: float
    message: str
    end: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able record."""
        return {k: getattr(self, k) for k in ("station", "parameter", "test", "start", "end", "statistic",
                                               "p_value", "observed", "expected", "message")}


@dataclass
class _Cusum:
    hi: float = 0.0
    lo: float = 0.0
    n: int = 0


@dataclass
class DeviationMonitor:
    """Runs the tests of the module docstring on :class:`~twin.line.Observation` streams.

    Parameters
    ----------
    scenario
        The line model (the null hypothesis).
    settings
        Test settings.
    """

    scenario: LineScenario
    settings: DeviationSettings = field(default_factory=DeviationSettings)
    alarms: list[LineAlarm] = field(default_factory=list)
    tests_run: int = 0

    def __post_init__(self) -> None:
        self.cusum = {s.name: _Cusum() for s in self.scenario.stations}
        self.records: deque[Observation] = deque()
        self._active: dict[tuple[str, str], LineAlarm] = {}
        self._products = [p.name for p in self.scenario.products]
        self.last_evaluation = -math.inf

    # ------------------------------------------------------------------ streaming
    def _dist(self, station: str, product: str | None):
        return self.scenario.station(station).process_dist(product or self._products[0])

    def score(self, station: str, x: float, product: str | None = None) -> float:
        """Normal score ``Φ⁻¹(F₀(x))`` of a cycle time (NaN for a constant model time)."""
        d = self._dist(station, product)
        if d is None or d.is_constant:
            return math.nan
        u = float(np.clip(d.frozen.cdf(x), 1e-10, 1 - 1e-10))
        return float(stats.norm.ppf(u))

    def observe(self, obs: list[Observation]) -> list[LineAlarm]:
        """Feed observations; returns the alarms raised by the CUSUMs."""
        new: list[LineAlarm] = []
        s = self.settings
        for o in obs:
            self.records.append(o)
            if o.parameter != "process_time":
                continue
            z = self.score(o.station, o.value, o.product)
            if not math.isfinite(z):
                continue
            c = self.cusum[o.station]
            c.hi = max(0.0, c.hi + z - s.cusum_k)
            c.lo = max(0.0, c.lo - z - s.cusum_k)
            c.n += 1
            if max(c.hi, c.lo) > s.cusum_h and (o.station, "process_time") not in self._active:
                mean = self._dist(o.station, o.product).mean()
                recent = [r.value for r in self.records if r.station == o.station and r.parameter == "process_time"][-20:]
                way = "longer" if c.hi > c.lo else "shorter"
                a = LineAlarm(o.station, "process_time", "CUSUM", o.time, max(c.hi, c.lo), math.nan,
                              float(np.mean(recent)), mean,
                              f"station '{o.station}': process_time drifted ({way} cycles; CUSUM "
                              f"{max(c.hi, c.lo):.1f} > h={s.cusum_h:g}; recent mean {np.mean(recent):.1f} s "
                              f"vs model {mean:.1f} s)")
                self._raise(a)
                new.append(a)
                c.hi = c.lo = 0.0
        return new

    def statistic(self, station: str) -> float:
        """Current CUSUM statistic of ``station`` relative to its limit (≥ 1: alarm)."""
        c = self.cusum[station]
        return max(c.hi, c.lo) / self.settings.cusum_h

    def _raise(self, a: LineAlarm) -> None:
        self.alarms.append(a)
        self._active[(a.station, a.parameter)] = a

    def active(self, station: str | None = None) -> list[LineAlarm]:
        """Alarms not yet ended (of ``station``)."""
        return [a for (s, _), a in self._active.items() if station is None or s == station]

    # ------------------------------------------------------------------ window tests
    def evaluate(self, t: float) -> list[LineAlarm]:
        """Run the window tests on ``(t − window, t]``; returns newly raised alarms.

        Window-test alarms end when the same test passes again; CUSUM alarms stay.
        """
        s = self.settings
        self.last_evaluation = t
        while self.records and self.records[0].time <= t - s.window:
            self.records.popleft()
        by: dict[tuple[str, str], list[Observation]] = {}
        for o in self.records:
            by.setdefault((o.station, o.parameter), []).append(o)
        results: list[tuple[str, str, str, float, float, float, float]] = []
        span = min(s.window, t - self.records[0].time) if self.records else 0.0
        for st in self.scenario.stations:
            name = st.name
            pt = by.get((name, "process_time"), [])
            if len(pt) >= s.min_samples:
                d0 = [self._dist(name, o.product) for o in pt]
                if not any(d is None or d.is_constant for d in d0):
                    u = np.array([d.frozen.cdf(o.value) for d, o in zip(d0, pt, strict=True)])
                    a2, p = anderson_darling(u)
                    results.append((name, "process_time", "Anderson-Darling", a2, p,
                                    float(np.mean([o.value for o in pt])), float(np.mean([d.mean() for d in d0]))))
            downs = [o.value for o in by.get((name, "down"), [])]
            if st.failures and len(st.failures) == 1 and st.failures[0].crew is None:
                ttr = st.failures[0].ttr
                if len(downs) >= s.min_samples and not ttr.is_constant:
                    ks = stats.kstest(downs, ttr.frozen.cdf)
                    results.append((name, "ttr", "Kolmogorov-Smirnov", float(ks.statistic), float(ks.pvalue),
                                    float(np.mean(downs)), ttr.mean()))
                if len(downs) >= s.min_samples and not ttr.is_constant:
                    p0 = float(ttr.frozen.cdf(s.micro_stop))
                    k = sum(1 for x in downs if x < s.micro_stop)
                    bt = stats.binomtest(k, len(downs), p0) if 0 < p0 < 1 else None
                    if bt is not None:
                        results.append((name, "micro_stops", "binomial", k / len(downs), float(bt.pvalue),
                                        k / len(downs), p0))
            n_fail = sum(o.value for o in by.get((name, "failure"), []))
            expected = self._expected_failures(st, by, span)
            if expected is not None and span > 0:
                p = _poisson_two_sided(int(n_fail), expected)
                results.append((name, "ttf", "Poisson", n_fail, p, n_fail, expected))
            processed = int(sum(o.value for o in by.get((name, "processed"), [])))
            scrap = int(sum(o.value for o in by.get((name, "scrap"), [])))
            if processed >= s.min_samples:
                p0 = st.quality.scrap
                if p0 > 0:
                    p = float(stats.binomtest(min(scrap, processed), processed, p0).pvalue)
                else:
                    p = 1.0 if scrap == 0 else 0.0
                results.append((name, "scrap", "binomial", scrap / processed, p, scrap / processed, p0))
            setups = [o.value for o in by.get((name, "setup"), [])]
            if st.changeover is not None and not st.changeover.pairs and len(setups) >= s.min_samples:
                co = st.changeover.default
                if not co.is_constant:
                    ks = stats.kstest(setups, co.frozen.cdf)
                    results.append((name, "changeover", "Kolmogorov-Smirnov", float(ks.statistic),
                                    float(ks.pvalue), float(np.mean(setups)), co.mean()))
                else:  # fixed set-up time: observed lengths differ from it by sampling error only
                    x = np.asarray(setups) - co.mean()
                    if np.ptp(x) == 0:
                        p = 1.0 if abs(x[0]) < 1e-9 else 0.0
                    else:
                        p = float(stats.ttest_1samp(x, 0.0).pvalue)
                    results.append((name, "changeover", "t", float(x.mean()), p, float(np.mean(setups)), co.mean()))
        self.tests_run += len(results)
        level = s.alpha / max(len(results), 1)
        new = []
        for name, param, test, stat, p, obs_v, exp_v in results:
            key = (name, param)
            if p < level:
                if key not in self._active:
                    unit = {"process_time": " s", "ttr": " s", "ttf": " failures"}.get(param, "")
                    a = LineAlarm(name, param, test, t, stat, p, obs_v, exp_v,
                                  f"station '{name}': {param} drifted ({test} p={p:.2g} < {level:.2g}; "
                                  f"observed {obs_v:.4g}{unit} vs model {exp_v:.4g}{unit} over the last "
                                  f"{span / 60:.0f} min)")
                    self._raise(a)
                    new.append(a)
            elif key in self._active and self._active[key].test == test:
                self._active.pop(key).end = t
        return new

    def _expected_failures(self, st, by, span: float) -> float | None:
        if not st.failures:
            return 0.0 if span > 0 else None
        total = 0.0
        busy = sum(o.value for o in by.get((st.name, "busy_time"), []))
        jobs = sum(o.value for o in by.get((st.name, "processed"), []))
        for f in st.failures:
            if f.basis == "busy":
                total += busy / f.ttf.mean()
            elif f.basis == "calendar":
                total += span * st.servers / f.ttf.mean()
            else:
                total += jobs / f.cycles.mean()
        return total


def _poisson_two_sided(n: int, mu: float) -> float:
    """Exact two-sided Poisson p-value (doubling the smaller tail, capped at 1)."""
    if mu <= 0:
        return 1.0 if n == 0 else 0.0
    lo = stats.poisson.cdf(n, mu)
    hi = stats.poisson.sf(n - 1, mu)
    return float(min(1.0, 2 * min(lo, hi)))
