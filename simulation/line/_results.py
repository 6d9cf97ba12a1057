"""KPIs of one replication (after warm-up deletion) and their definitions.

Line KPIs over the observation window ``[warmup, end]`` of length ``T``:

* ``throughput`` = good parts leaving / T
* ``exit_rate`` = all parts leaving (good + scrapped) / T
* ``lead_time`` = mean time in the line of the good parts that left
* ``sojourn_time`` = mean time in the line of all parts that left
* ``wip`` = time average of the number of parts in the line (time-weighted)
* ``yield`` = good / (good + scrapped) of the parts that left; ``scrap_rate`` = scrapped / T

Little's law (Little 1961, *Operations Research* 9(3):383–387) links them:
``wip ≈ exit_rate × sojourn_time`` up to edge effects of the window.

Station KPIs (per station, summed over its machines): the fraction of machine time in
each state (``utilisation`` = busy), and OEE after Nakajima (1988, *Introduction to
TPM*, ch. 2): planned time = shift time − preventive maintenance; availability =
(planned − breakdown − changeover) / planned; performance = ideal cycle time × jobs /
(planned − breakdown − changeover) (idling, starvation, blocking and speed losses are
performance losses); quality = good items out / items processed; OEE = A × P × Q.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulation.line._model import STATES, LineModel

__all__ = ["ReplicationResult", "collect", "LINE_KPIS", "STATION_KPIS"]

#: line KPI → (units, long name)
LINE_KPIS: dict[str, tuple[str, str]] = {
    "throughput": ("1/h", "good parts per hour"),
    "exit_rate": ("1/h", "parts leaving the line per hour (good and scrapped)"),
    "lead_time": ("h", "mean lead time of good parts"),
    "sojourn_time": ("h", "mean time in the line of all parts that left"),
    "wip": ("1", "time-average work in process"),
    "yield": ("1", "good parts / parts that left"),
    "scrap_rate": ("1/h", "scrapped parts per hour"),
    "good_parts": ("1", "good parts in the observation window"),
    "observed_time": ("h", "length of the observation window"),
}

#: station KPI → (units, long name); flattened as ``"kpi[station]"`` in the kpi dim
STATION_KPIS: dict[str, tuple[str, str]] = {
    "utilisation": ("1", "fraction of machine time busy"),
    "blocked": ("1", "fraction of machine time blocked"),
    "starved": ("1", "fraction of machine time starved"),
    "down": ("1", "fraction of machine time failed or waiting for repair"),
    "availability": ("1", "OEE availability"),
    "performance": ("1", "OEE performance"),
    "quality": ("1", "OEE quality rate"),
    "oee": ("1", "overall equipment effectiveness"),
}


@dataclass
class ReplicationResult:
    """Plain numbers of one replication (picklable; assembled into a Dataset later)."""

    seed: int
    line: dict[str, float]
    stations: dict[str, dict[str, float]]
    state_fraction: dict[str, dict[str, float]]
    series_t: list[float] = field(default_factory=list)
    series_wip: list[float] = field(default_factory=list)
    series_buf: list[list[float]] = field(default_factory=list)
    trace: list[tuple] | None = None
    events: int = 0
    end_time: float = 0.0


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def collect(model: LineModel) -> ReplicationResult:
    """Compute the KPIs of a finished :class:`LineModel` run."""
    t0 = model.warmup_end
    t1 = model.t_end
    span = max(t1 - t0, 1e-12)
    hours = span / 3600.0
    exits = model.exits
    good = [lt for _, lt, g in exits if g]
    allx = [lt for _, lt, _ in exits]
    n_scrap = len(allx) - len(good)
    line = {
        "throughput": len(good) / hours,
        "exit_rate": len(allx) / hours,
        "lead_time": _mean(good) / 3600.0,
        "sojourn_time": _mean(allx) / 3600.0,
        "wip": (model._wip_area - model._wip_area0) / span,  # noqa: SLF001
        "yield": len(good) / len(allx) if allx else math.nan,
        "scrap_rate": n_scrap / hours,
        "good_parts": float(len(good)),
        "observed_time": hours,
    }
    stations: dict[str, dict[str, float]] = {}
    fractions: dict[str, dict[str, float]] = {}
    products = model.products
    for name, st in model.stations.items():
        tot = dict.fromkeys(STATES, 0.0)
        for srv in st.servers:
            base = model._acc0.get((name, srv.index))  # noqa: SLF001
            for s in STATES:
                tot[s] += srv.acc[s] - (base[s] if base else 0.0)
        machine_time = span * len(st.servers)
        frac = {s: tot[s] / machine_time for s in STATES}
        fractions[name] = frac
        if st.calendar is not None:
            shift = st.calendar.working_between(t0, t1) * len(st.servers)
        else:
            shift = machine_time
        planned = max(shift - tot["maintenance"], 1e-12)
        operating = max(planned - tot["down"] - tot["changeover"], 0.0)
        ideal = st.cfg.ideal_time(products)
        availability = operating / planned
        performance = (ideal * st.jobs_after_warmup / operating) if (ideal and operating > 0) else math.nan
        quality = st.good_out / st.processed if st.processed else math.nan
        stations[name] = {
            "utilisation": frac["busy"],
            "blocked": frac["blocked"],
            "starved": frac["starved"],
            "down": frac["down"],
            "availability": availability,
            "performance": performance,
            "quality": quality,
            "oee": availability * performance * quality,
        }
    return ReplicationResult(
        seed=model.seed,
        line=line,
        stations=stations,
        state_fraction=fractions,
        series_t=list(model.series_t),
        series_wip=[float(v) for v in model.series_wip],
        series_buf=[[float(x) for x in row] for row in model.series_buf],
        trace=model.trace,
        events=model.events,
        end_time=t1,
    )
