"""Config models of the line twin: the binding (``kind: line-binding``) and the line-mode
plant emulator (``kind: line-plant``).

A line binding maps plant signals to the stations of a ``kind: line`` scenario::

    kind: line-binding
    name: assembly_line_twin
    scenario: assembly_line_twin_model.yaml     # relative to this file
    opcua: {endpoint: "opc.tcp://127.0.0.1:4850/twin/line", namespace: "urn:twin-workbench:line"}
    sample_period: 5 s
    clock_tag: line.clock                        # plant seconds (shift phase)
    shipped_tag: line.shipped                    # good parts that left the line
    shift: {length: 8 h}
    stations: [kitting, press, test, pack]       # tags "<station>.<signal>" by default
    forecast: {every: 30 min, replications: 39, level: 0.9}

Every station has the signals ``state`` (state code, see :data:`STATE_CODES`),
``good``/``scrap``/``cycles`` (counters), ``cycle_time`` (work content of the last
completed job), ``buffer`` (items in the input buffer) and ``product`` (1-based index
of the product on the machine, 0 = none). A station with several machines has one
state tag per machine (``<station>.state.<k>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from twin.sources import OpcUaSecurity
from workbench.config import WorkbenchModel, load_config
from workbench.units import Duration, Fraction

__all__ = [
    "STATE_CODES",
    "SIGNALS",
    "StationSignals",
    "OpcUaEndpoint",
    "ShiftSettings",
    "ForecastSettings",
    "DeviationSettings",
    "LineBinding",
    "LineChange",
    "LinePlantScenario",
    "load_line_binding",
    "load_line_plant",
]

#: Published state code of a machine. "idle" is kept for PLCs that report it; the
#: line model itself says "starved" for a machine waiting for work.
STATE_CODES: dict[str, int] = {
    "idle": 0,
    "running": 1,
    "blocked": 2,
    "starved": 3,
    "down": 4,
    "setup": 5,
    "maintenance": 6,
    "off_shift": 7,
}

#: Signals of a station and their default units.
SIGNALS: dict[str, str] = {
    "state": "1",
    "good": "1",
    "scrap": "1",
    "cycles": "1",
    "cycle_time": "s",
    "buffer": "1",
    "product": "1",
}


class StationSignals(WorkbenchModel):
    """Tags of one station (``None``: the default ``<prefix><station>.<signal>``)."""

    station: str
    state: str | list[str] | None = None
    good: str | None = None
    scrap: str | None = None
    cycles: str | None = None
    cycle_time: str | None = None
    buffer: str | None = None
    product: str | None = None
    cycle_time_unit: str = Field("s", description="Unit of the cycle-time tag (converted to s).")


class OpcUaEndpoint(WorkbenchModel):
    """Where the live line data comes from."""

    endpoint: str = "opc.tcp://127.0.0.1:4850/twin/line"
    namespace: str = "urn:twin-workbench:line"
    publishing_interval: Duration = 0.2
    security: OpcUaSecurity = Field(default_factory=OpcUaSecurity, description="Security policy, "
                                    "certificates and user (see docs/twin-monitoring.md)")


class ShiftSettings(WorkbenchModel):
    """Shifts start at plant-clock multiples of ``length`` (plus ``offset``)."""

    length: Duration = 28800.0
    offset: Duration = 0.0


class ForecastSettings(WorkbenchModel):
    """End-of-shift forecast: how often, how many replications, which interval."""

    every: Duration = Field(1800.0, gt=0)
    replications: int = Field(39, ge=2, description="39 with level 0.9 gives an exact "
                              "distribution-free 90% prediction interval [x(2), x(38)].")
    level: Fraction = 0.9
    seed: int = 2024
    executor: str | int | None = None


class DeviationSettings(WorkbenchModel):
    """Model-versus-line tests.

    ``cusum_k``/``cusum_h`` act on normal scores ``Φ⁻¹(F₀(x))`` of the cycle times, so
    the in-control run length follows Siegmund's approximation for N(0, 1) data.
    Window tests (Anderson–Darling, Kolmogorov–Smirnov, Poisson, binomial) run every
    ``every`` on the last ``window`` at family level ``alpha`` (Bonferroni over the tests).
    """

    cusum_k: float = Field(0.5, gt=0)
    cusum_h: float = Field(8.0, gt=0)
    every: Duration = Field(1800.0, gt=0)
    window: Duration = Field(7200.0, gt=0)
    alpha: Fraction = 0.001
    min_samples: int = Field(15, ge=3)
    micro_stop: Duration = Field(120.0, description="Stops shorter than this are micro-stops.")


class LineBinding(WorkbenchModel):
    """A line twin binding (``kind: line-binding``)."""

    kind: Literal["line-binding"] = "line-binding"
    name: str
    description: str = ""
    scenario: str = Field(..., description="The line model (kind: line YAML), relative to this file.")
    opcua: OpcUaEndpoint = Field(default_factory=OpcUaEndpoint)
    sample_period: Duration = Field(5.0, gt=0)
    clock_tag: str | None = "line.clock"
    shipped_tag: str = "line.shipped"
    tag_prefix: str = ""
    shift: ShiftSettings = Field(default_factory=ShiftSettings)
    stations: list[StationSignals]
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    deviation: DeviationSettings = Field(default_factory=DeviationSettings)
    base_dir: str | None = Field(None, description="Set by the loader: folder of the binding file.")

    @field_validator("stations", mode="before")
    @classmethod
    def _names(cls, v: Any):
        if isinstance(v, list):
            return [{"station": s} if isinstance(s, str) else s for s in v]
        return v

    @model_validator(mode="after")
    def _unique(self):
        names = [s.station for s in self.stations]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"stations must be unique; repeated: {', '.join(dup)}")
        return self

    # ------------------------------------------------------------------ tags
    def tag(self, station: str, signal: str, server: int | None = None, servers: int = 1) -> str:
        """Tag of ``signal`` at ``station`` (``server`` picks one machine's state tag)."""
        s = next(x for x in self.stations if x.station == station)
        given = getattr(s, signal)
        if signal == "state":
            if isinstance(given, list):
                return given[server or 0]
            base = given or f"{self.tag_prefix}{station}.state"
            return base if servers == 1 else f"{base}.{server or 0}"
        return given or f"{self.tag_prefix}{station}.{signal}"

    def scenario_path(self) -> Path:
        """Absolute path of the line scenario."""
        p = Path(self.scenario)
        return p if p.is_absolute() or self.base_dir is None else Path(self.base_dir) / p


class LineChange(WorkbenchModel):
    """A scripted change of the emulated line (the twin does not know about it).

    ``cycle_time``: process times of ``station`` × ``factor`` from ``at``;
    ``failure_burst``: machines age ``factor``× faster (times to failure ÷ ``factor``) between ``at`` and ``until``;
    ``changeover``: changeover durations × ``factor`` (an overrun).
    """

    kind: Literal["cycle_time", "failure_burst", "changeover"]
    station: str
    at: Duration = 0.0
    until: Duration | None = None
    factor: float = Field(..., gt=0)


class LinePlantScenario(WorkbenchModel):
    """Line-mode plant emulator (``kind: line-plant``): a SimPy run of a shipped line
    scenario with hidden true parameters (``truth``: dotted overrides) and scripted changes."""

    kind: Literal["line-plant"] = "line-plant"
    name: str
    description: str = ""
    line: str = Field(..., description="kind: line scenario, relative to this file.")
    truth: dict[str, Any] = Field(default_factory=dict, description="Hidden true parameters "
                                  "as dotted overrides of the line scenario.")
    changes: list[LineChange] = Field(default_factory=list)
    endpoint: str = "opc.tcp://127.0.0.1:4850/twin/line"
    namespace: str = "urn:twin-workbench:line"
    sample_period: Duration = Field(5.0, gt=0)
    speed: float = Field(60.0, gt=0, description="Plant seconds per wall second.")
    duration: Duration = 28800.0
    seed: int = 7
    batch_time_tag: str = Field("line.clock", description="Tag publishing the plant clock (s).")
    shipped_tag: str = "line.shipped"
    tag_prefix: str = ""
    base_dir: str | None = None

    def line_path(self) -> Path:
        """Absolute path of the line scenario."""
        p = Path(self.line)
        return p if p.is_absolute() or self.base_dir is None else Path(self.base_dir) / p


def load_line_binding(path: str | Path, *, overrides: dict[str, Any] | None = None) -> LineBinding:
    """Read a ``kind: line-binding`` YAML (relative paths resolved against its folder).

    Raises
    ------
    ConfigError
        With file:line:column of every problem.
    """
    b = load_config(path, LineBinding, overrides=overrides, kind="line-binding")
    b.opcua.security = b.opcua.security.relative_to(Path(path).resolve().parent)
    return b.model_copy(update={"base_dir": str(Path(path).resolve().parent)})


def load_line_plant(path: str | Path, *, overrides: dict[str, Any] | None = None) -> LinePlantScenario:
    """Read a ``kind: line-plant`` emulator scenario."""
    sc = load_config(path, LinePlantScenario, overrides=overrides, kind="line-plant")
    return sc.model_copy(update={"base_dir": str(Path(path).resolve().parent)})
