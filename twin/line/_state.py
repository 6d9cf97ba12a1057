"""State reconstruction: live line signals → a :class:`~simulation.line.LineSnapshot`.

:class:`LineState` follows the sampled tags of a line (state codes, counters,
buffer levels, last cycle time) and keeps, per machine, its state, the time it
entered it, and the running time of the job in progress since the last completed
cycle; per station the counters. Each update returns the *observations* the
deviation tests and the calibration use (cycle times, durations of down / setup /
maintenance periods, failures, busy exposure, processed and scrapped counts).

A state change is seen at the first sample after it happened, so durations carry a
quantisation error of at most one sample period (unbiased on average: both ends of a
period are delayed by the same uniform lag). After a reconnect the times since the
last change are unknown: they are marked so (``since_known=False``), the periods
spanning the gap are not used as observations, and the counters (cumulative on the
PLC) carry the counts of the gap over, so no production is lost.

:func:`sample_snapshot` turns the reconstruction into a snapshot the line model can
start from: the remaining work of a running job and the remaining repair time are
drawn from the model's distributions *conditioned on the time already spent*,
``T − a | T > a`` (inverse transform of ``U(F(a), 1)``), one draw per replication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.line import LineScenario, LineSnapshot
from twin.line._config import STATE_CODES, LineBinding
from workbench.units import convert

__all__ = ["Observation", "MachineState", "LineState", "sample_snapshot", "residual"]

_NAMES = {v: k for k, v in STATE_CODES.items()}


@dataclass(frozen=True, slots=True)
class Observation:
    """One observation for the deviation tests: ``parameter`` of ``station`` at ``time``.

    ``parameter`` is ``process_time`` (s), ``down``/``setup``/``maintenance`` (period
    length, s), ``failure`` (1 per failure), ``busy_time`` (s of running exposure),
    ``processed`` (jobs) or ``scrap`` (parts).
    """

    time: float
    station: str
    parameter: str
    value: float
    product: str | None = None


@dataclass(slots=True)
class MachineState:
    """Reconstructed state of one machine."""

    state: str = "starved"
    since: float = 0.0
    since_known: bool = False
    work_done: float = 0.0
    work_known: bool = False
    product: str | None = None


@dataclass
class _Station:
    name: str
    machines: list[MachineState]
    cycles: float | None = None
    good: float | None = None
    scrap: float | None = None
    buffer: int = 0
    product_code: int = 0
    last_cycle_time: float = math.nan


@dataclass
class LineState:
    """The line as seen through its tags (see the module docstring).

    Parameters
    ----------
    binding
        The line binding (tag names).
    scenario
        The line model (stations, servers, products).
    """

    binding: LineBinding
    scenario: LineScenario
    time: float = math.nan
    shipped: float = math.nan
    stations: dict[str, _Station] = field(default_factory=dict)
    resyncs: int = 0

    def __post_init__(self) -> None:
        for s in self.scenario.stations:
            self.stations[s.name] = _Station(s.name, [MachineState() for _ in range(s.servers)])
        self._ct_factor = {s.station: convert(f"1 {s.cycle_time_unit}", "s") for s in self.binding.stations}
        self._products = [p.name for p in self.scenario.products]

    def tags(self) -> list[str]:
        """Every tag this state reads (clock and shipped first)."""
        out = [t for t in (self.binding.clock_tag, self.binding.shipped_tag) if t]
        for s in self.scenario.stations:
            if s.name not in self._ct_factor:
                continue
            out += [self.binding.tag(s.name, "state", k, s.servers) for k in range(s.servers)]
            out += [self.binding.tag(s.name, sig) for sig in ("good", "scrap", "cycles", "cycle_time",
                                                              "buffer", "product")]
        return out

    def _product(self, code: float | None) -> str | None:
        if code is None or not math.isfinite(code) or int(code) <= 0 or int(code) > len(self._products):
            return None
        return self._products[int(code) - 1]

    # ------------------------------------------------------------------ updates
    def update(self, t: float, values: dict[str, Any], *, resync: bool = False) -> list[Observation]:
        """Take one sample at plant time ``t`` (s); return the observations it completes.

        Parameters
        ----------
        t
            Plant clock (s).
        values
            Tag → value (missing or non-finite values keep the last known state).
        resync
            First sample after a gap (reconnect): rebuild the state, observe nothing
            that spans the gap, carry counter increments over as counts.
        """
        obs: list[Observation] = []
        first = not math.isfinite(self.time)
        if first or resync:
            if resync:
                self.resyncs += 1
            dt = 0.0
        else:
            dt = max(t - self.time, 0.0)
        b = self.binding

        def num(tag: str) -> float | None:
            v = values.get(tag)
            try:
                v = float(v)
            except (TypeError, ValueError):
                return None
            return v if math.isfinite(v) else None

        ship = num(b.shipped_tag)
        if ship is not None:
            self.shipped = ship
        for cfg in self.scenario.stations:
            if cfg.name not in self._ct_factor:
                continue
            st = self.stations[cfg.name]
            prev_product = self._product(st.product_code)
            code = num(b.tag(cfg.name, "product"))
            if code is not None:
                st.product_code = int(code)
            buf = num(b.tag(cfg.name, "buffer"))
            if buf is not None:
                st.buffer = max(int(round(buf)), 0)
            # machine states
            for k, m in enumerate(st.machines):
                c = num(b.tag(cfg.name, "state", k, cfg.servers))
                new = _NAMES.get(int(c), m.state) if c is not None else m.state
                if first or resync:
                    m.state, m.since, m.since_known = new, t, False
                    m.work_done, m.work_known = 0.0, False
                    continue
                if m.state == "running":
                    m.work_done += dt
                    obs.append(Observation(t, cfg.name, "busy_time", dt))
                if new != m.state:
                    if m.since_known and m.state in ("down", "setup", "maintenance"):
                        obs.append(Observation(t, cfg.name, m.state, t - m.since))
                    if new == "down":
                        obs.append(Observation(t, cfg.name, "failure", 1.0))
                    m.state, m.since, m.since_known = new, t, True
            if st.product_code and cfg.servers == 1:
                st.machines[0].product = self._product(st.product_code)
            # counters
            cyc = num(b.tag(cfg.name, "cycles"))
            scr = num(b.tag(cfg.name, "scrap"))
            good = num(b.tag(cfg.name, "good"))
            ct = num(b.tag(cfg.name, "cycle_time"))
            if cyc is not None:
                if st.cycles is not None and cyc >= st.cycles:
                    done = int(round(cyc - st.cycles))
                    if done > 0:
                        obs.append(Observation(t, cfg.name, "processed", float(done)))
                        if not (first or resync) and ct is not None:
                            obs.append(Observation(t, cfg.name, "process_time", ct * self._ct_factor[cfg.name],
                                                   prev_product))
                        # the machines that finished restart their job clock
                        order = sorted(st.machines, key=lambda m: -m.work_done)
                        for m in order[:done]:
                            m.work_done, m.work_known = 0.0, not (first or resync)
                st.cycles = cyc
            if scr is not None:
                if st.scrap is not None and scr > st.scrap:
                    obs.append(Observation(t, cfg.name, "scrap", scr - st.scrap))
                st.scrap = scr
            if good is not None:
                st.good = good
            if ct is not None:
                st.last_cycle_time = ct * self._ct_factor[cfg.name]
        self.time = t
        return obs

    # ------------------------------------------------------------------ snapshots
    def template(self) -> dict[str, Any]:
        """Plain description of the state now (JSON-able), input of :func:`sample_snapshot`."""
        return {
            "time": self.time,
            "buffers": {n: s.buffer for n, s in self.stations.items() if s.buffer > 0},
            "machines": {
                n: [{"state": m.state, "elapsed": (self.time - m.since) if m.since_known else None,
                     "work_done": m.work_done if m.work_known else None, "product": m.product}
                    for m in s.machines]
                for n, s in self.stations.items()
            },
        }

    def snapshot(self) -> LineSnapshot:
        """A deterministic snapshot (median residual times), e.g. to store or display."""
        return sample_snapshot(self.template(), self.scenario, None)


def residual(dist, age: float | None, rng: np.random.Generator | None) -> float:
    """Remaining time of a duration ``T ~ dist`` that has lasted ``age`` already.

    Draws ``T − a | T > a`` by inverse transform of ``U(F(a), 1)``; with ``rng=None``
    returns the conditional median. Unknown age (``None``): an equilibrium-like draw,
    ``U·T`` with a fresh ``T`` (median: ``T_med / 2``).
    """
    if dist is None:
        return 0.0
    if dist.is_constant:
        value = dict(dist.params)["value"]
        if age is None:
            return value * (0.5 if rng is None else rng.random())
        return max(value - age, 0.0)
    f = dist.frozen
    if age is None:
        t = float(f.ppf(0.5)) if rng is None else float(f.ppf(rng.random()))
        return max(t, 0.0) * (0.5 if rng is None else rng.random())
    fa = float(f.cdf(age))
    if fa >= 1.0 - 1e-12:
        return 0.0
    u = fa + (1.0 - fa) * (0.5 if rng is None else rng.random())
    return max(float(f.ppf(u)) - age, 0.0)


def sample_snapshot(template: dict[str, Any], scenario: LineScenario,
                    rng: np.random.Generator | None) -> LineSnapshot:
    """Turn :meth:`LineState.template` into a :class:`LineSnapshot` (one draw of the unknowns).

    Parameters
    ----------
    template
        From :meth:`LineState.template`.
    scenario
        The line model (distributions, buffer capacities).
    rng
        Generator for the residual draws (``None``: conditional medians).
    """
    products = [p.name for p in scenario.products]
    buffers: dict[str, int] = {}
    stations: dict[str, list[dict]] = {}
    for s in scenario.stations:
        level = int(template["buffers"].get(s.name, 0))
        cap = s.buffer if s.buffer is not None else (1 if scenario.source.saturated and
                                                     s.name == scenario.first_station() else None)
        if cap is not None:
            level = min(level, cap)
        if level > 0:
            buffers[s.name] = level
        rows = []
        for m in template["machines"].get(s.name, []):
            product = m["product"] or products[0]
            pdist = s.process_dist(product)
            state = m["state"]
            row: dict[str, Any] = {"state": "idle"}
            if state == "running" or state == "setup" or (state == "off_shift" and m["product"]):
                work = None if state != "running" else m["work_done"]
                row = {"state": "busy", "product": product,
                       "remaining": residual(pdist, work, rng) if state == "running" else
                       residual(pdist, 0.0, rng)}
            elif state == "down":
                if s.failures:
                    row = {"state": "down", "product": product,
                           "repair_remaining": residual(s.failures[0].ttr, m["elapsed"], rng),
                           "remaining": residual(pdist, m["work_done"], rng)}
                    if not m["product"]:
                        row.pop("product")
                        row.pop("remaining")
                else:  # the model knows no failures: treat the stop as part of the job
                    row = {"state": "busy", "product": product, "remaining": residual(pdist, None, rng)}
            elif state == "maintenance" and s.maintenance is not None:
                row = {"state": "maintenance",
                       "repair_remaining": residual(s.maintenance.duration, m["elapsed"], rng)}
            elif state == "blocked":
                row = {"state": "blocked", "product": product}
            rows.append(row)
        stations[s.name] = rows
    return LineSnapshot.model_validate({"time": float(template["time"]), "buffers": buffers,
                                        "stations": stations})
