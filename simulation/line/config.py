"""Config models of a line scenario (``kind: line``).

A scenario names products, a source of work, stations with their buffers, failures,
maintenance, quality and (optionally) an FMU-backed unit model, the repair crews and
shift calendars they share, and the experiment to run. Every duration is a quantity
(``"45 min"``) stored in seconds; every random quantity is a distribution
(see :mod:`workbench.distributions` and ``docs/configuration.md``).

Example::

    kind: line
    name: two_machine
    source: {saturated: true}
    stations:
      - {name: m1, process_time: "exponential(mean=1 min)", buffer: 5,
         failures: [{ttf: "exponential(mean=100 min)", ttr: "exponential(mean=10 min)"}]}
      - {name: m2, process_time: "exponential(mean=1.1 min)"}
    experiment: {horizon: 10 d, warmup: 1 d, replications: 10, seed: 42}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from simulation.line._distributions import CountDist, Distribution, DurationDist, ValueDist
from workbench.config import WorkbenchModel
from workbench.errors import did_you_mean
from workbench.units import Duration, Fraction, RunLength

__all__ = [
    "LineScenario",
    "Product",
    "Order",
    "Source",
    "Station",
    "BatchRule",
    "Failure",
    "Maintenance",
    "Quality",
    "SpecLimit",
    "Changeover",
    "FmuUnit",
    "Crew",
    "Calendar",
    "Shift",
    "Experiment",
    "EXIT",
]

EXIT = "exit"
"""Routing target meaning "leaves the line as a good part"."""


class Product(WorkbenchModel):
    """A product (or recipe) made on the line."""

    name: str
    share: float = Field(1.0, ge=0, description="Weight in the random product mix of the source.")
    recipe: dict[str, float | str] = Field(
        default_factory=dict, description="Recipe parameters passed to FMU-backed units."
    )
    disturbances: dict[str, ValueDist] = Field(
        default_factory=dict,
        description="Material variability: values sampled per item, passed to FMU-backed units.",
    )


class Order(WorkbenchModel):
    """An order released to the line at a given time."""

    product: str
    quantity: int = Field(1, ge=1)
    release: Duration = 0.0


class Source(WorkbenchModel):
    """Where work comes from: random arrivals, an order list, or an endless supply."""

    interarrival: DurationDist | None = None
    orders: list[Order] = Field(default_factory=list)
    saturated: bool = Field(False, description="The first station is never starved.")
    to: str | None = Field(None, description="First station (default: the first listed).")
    limit: int | None = Field(None, ge=1, description="Stop releasing after this many items.")

    @model_validator(mode="after")
    def _one_mode(self):
        modes = [self.interarrival is not None, bool(self.orders), self.saturated]
        if sum(modes) != 1:
            raise ValueError(
                "give exactly one of interarrival, orders or saturated: true "
                f"(got {sum(modes)})"
            )
        return self


class BatchRule(WorkbenchModel):
    """A batch unit processes up to ``size`` items together."""

    size: int = Field(..., ge=1)
    max_wait: Duration = Field(0.0, description="After the first item, wait this long for more.")


class Failure(WorkbenchModel):
    """A failure mode.

    ``basis: busy`` counts time to failure on processing time only (operation-dependent
    failures, the usual assumption of transfer-line models); ``calendar`` on clock time
    (the unit can fail while idle or blocked); ``cycles`` counts completed jobs.
    """

    name: str = "breakdown"
    basis: Literal["busy", "calendar", "cycles"] = "busy"
    ttf: DurationDist | None = Field(None, description="Time to failure (busy or calendar basis).")
    cycles: CountDist | None = Field(
        None, description="Jobs to failure (cycles basis): a count, e.g. {distribution: geometric, mean: 500}."
    )
    ttr: DurationDist = Field(..., description="Time to repair once a crew member is present.")
    crew: str | None = Field(None, description="Repair crew (shared resource); None = always available.")

    @model_validator(mode="after")
    def _basis_fields(self):
        if self.basis == "cycles" and self.cycles is None:
            raise ValueError("basis: cycles needs 'cycles' (a distribution of jobs to failure)")
        if self.basis != "cycles" and self.ttf is None:
            raise ValueError(f"basis: {self.basis} needs 'ttf' (time to failure)")
        return self


class Maintenance(WorkbenchModel):
    """Preventive maintenance every ``interval`` of clock time, done between jobs."""

    interval: Duration
    duration: DurationDist
    crew: str | None = None
    renews: bool = Field(True, description="Maintenance resets the age of busy/cycles failure modes.")


class SpecLimit(WorkbenchModel):
    """Specification limits on one quality attribute of a unit model."""

    min: float | None = None
    max: float | None = None


class Quality(WorkbenchModel):
    """Quality at a station: random scrap/rework and specification checks."""

    scrap: Fraction = 0.0
    rework: Fraction = 0.0
    rework_to: str | None = Field(None, description="Station for rework (default: this station).")
    specs: dict[str, SpecLimit] = Field(default_factory=dict)
    on_fail: Literal["scrap", "rework"] = "scrap"

    @model_validator(mode="after")
    def _sum(self):
        if self.scrap + self.rework > 1:
            raise ValueError(f"scrap + rework must be <= 1, got {self.scrap + self.rework:g}")
        return self


class Changeover(WorkbenchModel):
    """Changeover (set-up) when the product changes; ``pairs`` keys are ``"A->B"``."""

    default: DurationDist = Field(default_factory=lambda: 0.0)
    pairs: dict[str, DurationDist] = Field(default_factory=dict)


class FmuUnit(WorkbenchModel):
    """A unit whose batch duration and quality come from running an FMU.

    The FMU is run with the batch's recipe and disturbances as start values
    (``parameters`` maps FMU variable → recipe/disturbance key or a number), to
    ``stop_time``; the batch ends at the first output time where ``end`` holds
    (or at ``stop_time``); ``quality`` maps attribute → FMU output read at the end.
    """

    fmu: str
    stop_time: Duration
    output_interval: Duration | None = None
    parameters: dict[str, str | float] = Field(default_factory=dict)
    inputs: dict[str, str | float] = Field(
        default_factory=dict, description="FMU inputs held constant during the batch (same mapping rules)."
    )
    end_variable: str | None = None
    end_below: float | None = None
    end_above: float | None = None
    quality: dict[str, str] = Field(default_factory=dict)
    extra_time: Duration = Field(0.0, description="Fixed handling time added to the FMU duration.")
    cache: bool = Field(True, description="Reuse outcomes of identical recipe+disturbance inputs.")


class Station(WorkbenchModel):
    """A workstation, a group of parallel machines, or a batch unit."""

    name: str
    servers: int = Field(1, ge=1, description="Identical parallel machines sharing the input buffer.")
    buffer: int | None = Field(None, ge=1, description="Input buffer capacity (None: unlimited).")
    process_time: DurationDist | dict[str, DurationDist] | None = None
    batch: BatchRule | None = None
    changeover: Changeover | None = None
    failures: list[Failure] = Field(default_factory=list)
    maintenance: Maintenance | None = None
    quality: Quality = Field(default_factory=Quality)
    unit: FmuUnit | None = None
    calendar: str | None = None
    next: str | list[str] | None = Field(
        None, description=f"Next station(s) (default: the next listed; '{EXIT}' leaves the line)."
    )
    route: Literal["shortest_queue", "round_robin", "random"] = "shortest_queue"
    ideal_cycle_time: Duration | None = Field(
        None, description="Ideal time per job for OEE performance (default: mean process time)."
    )

    @model_validator(mode="after")
    def _time_source(self):
        if self.process_time is None and self.unit is None:
            raise ValueError(f"station '{self.name}' needs process_time or unit")
        return self

    def process_dist(self, product: str) -> Distribution | None:
        """Processing-time distribution for ``product``."""
        pt = self.process_time
        if isinstance(pt, dict):
            return pt.get(product, pt.get("default"))
        return pt

    def ideal_time(self, products: list[str]) -> float | None:
        """Ideal time per job (configured, else the mean process time over products)."""
        if self.ideal_cycle_time is not None:
            return self.ideal_cycle_time
        means = [d.mean() for p in products if (d := self.process_dist(p)) is not None]
        return sum(means) / len(means) if means else None


class Crew(WorkbenchModel):
    """A repair/maintenance crew shared by stations (a SimPy resource)."""

    name: str
    size: int = Field(1, ge=1)


class Shift(WorkbenchModel):
    """A working window within the calendar period."""

    start: Duration
    end: Duration

    @model_validator(mode="after")
    def _order(self):
        if not self.end > self.start:
            raise ValueError(f"shift end must be after start (start={self.start:g} s, end={self.end:g} s)")
        return self


class Calendar(WorkbenchModel):
    """Periodic working time: shifts within a period; time outside the shifts is off."""

    name: str
    period: Duration = 86400.0
    shifts: list[Shift]

    @model_validator(mode="after")
    def _within(self):
        for s in self.shifts:
            if s.end > self.period:
                raise ValueError(f"shift ends at {s.end:g} s, after the period ({self.period:g} s)")
        return self


class Experiment(WorkbenchModel):
    """How to run the scenario: run length, warm-up, replications, seed, CI target."""

    horizon: RunLength | None = Field(None, description="Simulated time per replication (at most 1000 years).")
    count: int | None = Field(None, ge=1, le=10**9, description="Stop after this many good parts.")
    warmup: RunLength = 0.0
    replications: int = Field(10, ge=2, le=100_000)
    seed: int = 12345
    confidence: Fraction = 0.95
    target_half_width: Fraction | None = Field(
        None, description="Sequential mode: add replications until the relative CI half-width "
        "of target_kpi is below this."
    )
    target_kpi: str = "throughput"
    max_replications: int = Field(200, ge=2, le=100_000)
    samples: int = Field(200, ge=2, le=100_000, description="Points of the WIP/buffer time series.")

    @model_validator(mode="after")
    def _length(self):
        if self.horizon is None and self.count is None:
            raise ValueError("give horizon (simulated time) or count (good parts) for the run length")
        if self.horizon is not None and self.warmup >= self.horizon:
            raise ValueError(
                f"warmup ({self.warmup:g} s) must be shorter than horizon ({self.horizon:g} s)"
            )
        return self


class LineScenario(WorkbenchModel):
    """A line or batch-plant scenario (``kind: line``)."""

    kind: Literal["line"] = "line"
    name: str
    description: str = ""
    products: list[Product] = Field(default_factory=lambda: [Product(name="part")])
    source: Source
    stations: list[Station]
    crews: list[Crew] = Field(default_factory=list)
    calendars: list[Calendar] = Field(default_factory=list)
    experiment: Experiment

    @field_validator("stations")
    @classmethod
    def _some(cls, v: list[Station]):
        if not v:
            raise ValueError("a line needs at least one station")
        return v

    @model_validator(mode="after")
    def _references(self):
        problems: list[str] = []
        stations = [s.name for s in self.stations]
        products = [p.name for p in self.products]
        crews = [c.name for c in self.crews]
        calendars = [c.name for c in self.calendars]
        for label, names in (("station", stations), ("product", products), ("crew", crews),
                             ("calendar", calendars)):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                problems.append(f"{label} names must be unique; repeated: {', '.join(dup)}")

        def need(value: str | None, valid: list[str], where: str, extra: tuple[str, ...] = ()):
            if value is not None and value not in valid and value not in extra:
                problems.append(f"{where}: '{value}' is not defined; {did_you_mean(value, [*valid, *extra])}")

        need(self.source.to, stations, "source.to")
        for o in self.source.orders:
            need(o.product, products, "source.orders.product")
        for s in self.stations:
            nxt = s.next if isinstance(s.next, list) else [s.next] if s.next else []
            for n in nxt:
                need(n, stations, f"stations.{s.name}.next", (EXIT,))
            need(s.quality.rework_to, stations, f"stations.{s.name}.quality.rework_to")
            need(s.calendar, calendars, f"stations.{s.name}.calendar")
            for f in s.failures:
                need(f.crew, crews, f"stations.{s.name}.failures.{f.name}.crew")
            if s.maintenance is not None:
                need(s.maintenance.crew, crews, f"stations.{s.name}.maintenance.crew")
            if isinstance(s.process_time, dict):
                for key in s.process_time:
                    need(key, products, f"stations.{s.name}.process_time", ("default",))
                missing = [p for p in products if p not in s.process_time and "default" not in s.process_time]
                if missing and s.unit is None:
                    problems.append(
                        f"stations.{s.name}.process_time: no time for product(s) {', '.join(missing)}; "
                        "add them or a 'default'"
                    )
            if s.changeover is not None:
                for pair in s.changeover.pairs:
                    a, sep, b = pair.partition("->")
                    if not sep:
                        problems.append(f"stations.{s.name}.changeover.pairs: '{pair}' is not 'A->B'")
                        continue
                    need(a.strip(), products, f"stations.{s.name}.changeover.pairs")
                    need(b.strip(), products, f"stations.{s.name}.changeover.pairs")
            if s.quality.specs and s.unit is None:
                problems.append(f"stations.{s.name}.quality.specs need a unit model (unit:) giving quality values")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------------ helpers
    def station(self, name: str) -> Station:
        """The station called ``name``."""
        for s in self.stations:
            if s.name == name:
                return s
        raise KeyError(name)

    def successors(self, name: str) -> list[str]:
        """Routing targets after ``name`` (``[EXIT]`` at the end of the line)."""
        s = self.station(name)
        if s.next:
            return list(s.next) if isinstance(s.next, list) else [s.next]
        names = [st.name for st in self.stations]
        i = names.index(name)
        return [names[i + 1]] if i + 1 < len(names) else [EXIT]

    def first_station(self) -> str:
        """Where released items enter."""
        return self.source.to or self.stations[0].name

    def to_plain(self) -> dict[str, Any]:
        """JSON-able dict (distributions as mappings), for hashing and provenance."""
        return self.model_dump(mode="json")
