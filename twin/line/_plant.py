"""Line-mode plant emulator: a SimPy run of a line scenario read out like a PLC.

:class:`LinePlant` runs a :class:`simulation.line.LineModel` of the *true* line (the
shipped scenario with hidden parameter overrides) and, every sample period, reads
what a line PLC would publish: each machine's state code, the station counters
(good, scrap, cycles), the work content of the last completed job, the input-buffer
level and the product on the machine, plus the line's shipped count. Scripted
changes (:class:`~twin.line.LineChange`) scale the random streams of the running
model from a given time on, so the twin sees a cycle-time degradation, a failure
burst or a changeover overrun without being told.

It has the surface :class:`twin.emulator.PlantServer` serves (``tags``, ``units``,
``values``, ``time``, ``done``, ``advance()``, ``run_until()``), so the twin's OPC UA
server plumbing publishes it unchanged.
"""

from __future__ import annotations

import math
from collections import deque

from simulation.line import LineModel, LineScenario, load_scenario
from twin.line._config import STATE_CODES, LineChange, LinePlantScenario
from workbench.errors import ConfigError, did_you_mean

__all__ = ["LinePlant", "MODEL_TO_STATE", "line_tags"]

#: line-model state → published state name
MODEL_TO_STATE = {
    "busy": "running",
    "starved": "starved",
    "blocked": "blocked",
    "down": "down",
    "changeover": "setup",
    "maintenance": "maintenance",
    "off_shift": "off_shift",
}


class _Scaled:
    """A random stream whose draws are multiplied by ``factor(now)`` (and optionally recorded)."""

    __slots__ = ("inner", "factor", "record")

    def __init__(self, inner, factor, record: deque | None = None):
        self.inner = inner
        self.factor = factor
        self.record = record

    def draw(self) -> float:
        v = self.inner.draw() * self.factor()
        if self.record is not None:
            self.record.append(v)
        return v


def line_tags(scenario: LineScenario, *, prefix: str = "", shipped_tag: str = "line.shipped") -> list[tuple[str, str]]:
    """All (tag, unit) pairs the emulator publishes for ``scenario`` (default tag names)."""
    out: list[tuple[str, str]] = []
    for s in scenario.stations:
        base = f"{prefix}{s.name}"
        if s.servers == 1:
            out.append((f"{base}.state", "1"))
        else:
            out += [(f"{base}.state.{k}", "1") for k in range(s.servers)]
        out += [(f"{base}.good", "1"), (f"{base}.scrap", "1"), (f"{base}.cycles", "1"),
                (f"{base}.cycle_time", "s"), (f"{base}.buffer", "1"), (f"{base}.product", "1")]
    out.append((shipped_tag, "1"))
    return out


class LinePlant:
    """The emulated line, advanced one sample period at a time.

    Parameters
    ----------
    line
        The *true* line scenario (hidden parameters already applied).
    changes
        Scripted changes.
    seed
        Seed of the SimPy run.
    sample_period
        Plant seconds between published samples.
    duration
        Plant seconds until :attr:`done`.
    prefix, shipped_tag
        Tag naming (see :func:`line_tags`).
    """

    def __init__(self, line: LineScenario, *, changes: list[LineChange] | tuple = (), seed: int = 7,
                 sample_period: float = 5.0, duration: float = 28800.0, prefix: str = "",
                 shipped_tag: str = "line.shipped", clock_tag: str = "line.clock") -> None:
        exp = line.experiment.model_copy(update={"horizon": float(duration) + sample_period, "warmup": 0.0,
                                                 "count": None})
        self.line = line.model_copy(update={"experiment": exp})
        self.sample_period = float(sample_period)
        self.duration = float(duration)
        self.prefix = prefix
        self.shipped_tag = shipped_tag
        self.clock_tag = clock_tag
        self.model = LineModel(self.line, seed)
        self.changes = [c if isinstance(c, LineChange) else LineChange.model_validate(c) for c in changes]
        names = [s.name for s in line.stations]
        for c in self.changes:
            if c.station not in names:
                raise ConfigError(f"changes: station '{c.station}' is not in line '{line.name}'; "
                                  f"{did_you_mean(c.station, names)}", path="changes.station")
        self._draws: dict[str, deque] = {}
        self._last_cycles: dict[str, int] = {}
        self._last_ct: dict[str, float] = {}
        self._wrap_streams()
        pairs = line_tags(self.line, prefix=prefix, shipped_tag=shipped_tag)
        self.tags = [t for t, _ in pairs]
        self.units = [u for _, u in pairs]
        self.time = 0.0
        self.values: dict[str, float] = {}
        self._read()

    # ------------------------------------------------------------------ changes
    def _factor(self, station: str, kind: str):
        env = self.model.env
        mine = [c for c in self.changes if c.station == station and c.kind == kind]

        def factor() -> float:
            f = 1.0
            for c in mine:
                if env.now >= c.at and (c.until is None or env.now < c.until):
                    f *= (1.0 / c.factor) if kind == "failure_burst" else c.factor
            return f

        return factor

    def _wrap_streams(self) -> None:
        m = self.model
        for name, st in m.stations.items():
            rec: deque = deque()
            self._draws[name] = rec
            self._last_cycles[name] = 0
            self._last_ct[name] = math.nan
            ct = self._factor(name, "cycle_time")
            for p in list(st.process):
                st.process[p] = _Scaled(st.process[p], ct, rec)
            co = self._factor(name, "changeover")
            if st.changeover_default is not None:
                st.changeover_default = _Scaled(st.changeover_default, co)
            for key in list(st.changeover):
                st.changeover[key] = _Scaled(st.changeover[key], co)
            burst = self._factor(name, "failure_burst")
            cache = m.__dict__.setdefault("_streams", {})
            for k in range(st.cfg.servers):
                for j, f in enumerate(st.cfg.failures):
                    if f.basis == "cycles":
                        continue
                    # the model caches one stream per (station, machine, mode); wrap it in place
                    m._ttf_stream(st, k, j)  # noqa: SLF001 - creates the cached stream
                    key = ("ttf", name, k, j)
                    cache[key] = _Scaled(cache[key], burst)
        for c in self.changes:
            if c.kind == "failure_burst":
                m.env.process(self._burst(c))

    def _burst(self, c: LineChange):
        """Accelerated ageing during a failure burst: busy-basis times to failure left run
        ``factor``× faster from ``at`` to ``until`` (accelerated-failure-time model; draws made
        inside the window are scaled by the stream wrapper). Clock-time failures already
        scheduled keep their time; those drawn inside the window are scaled."""
        env = self.model.env
        if c.at > env.now:
            yield env.timeout(c.at - env.now)
        servers = self.model.stations[c.station].servers
        for srv in servers:
            for j in srv.ttf:
                srv.ttf[j] /= c.factor
        if c.until is None:
            return
        yield env.timeout(max(c.until - env.now, 0.0))
        for srv in servers:
            for j in srv.ttf:
                srv.ttf[j] *= c.factor

    # ------------------------------------------------------------------ read-out
    def _read(self) -> None:
        m = self.model
        v: dict[str, float] = {}
        products = m.products
        for name, st in m.stations.items():
            base = f"{self.prefix}{name}"
            for k, srv in enumerate(st.servers):
                state = "down" if srv.down else MODEL_TO_STATE.get(srv.logical, "idle")
                tag = f"{base}.state" if len(st.servers) == 1 else f"{base}.state.{k}"
                v[tag] = float(STATE_CODES[state])
            cycles = sum(srv.jobs for srv in st.servers)
            done = cycles - self._last_cycles[name]
            rec = self._draws[name]
            for _ in range(min(done, len(rec))):
                self._last_ct[name] = rec.popleft()
            self._last_cycles[name] = cycles
            srv0 = st.servers[0]
            v[f"{base}.good"] = float(st.good_out)
            v[f"{base}.scrap"] = float(st.scrapped)
            v[f"{base}.cycles"] = float(cycles)
            v[f"{base}.cycle_time"] = float(self._last_ct[name])
            v[f"{base}.buffer"] = float(len(st.store.items))
            v[f"{base}.product"] = float(products.index(srv0.batch[0].product) + 1) if srv0.batch else 0.0
        v[self.shipped_tag] = float(m.good_count)
        self.values = v

    # ------------------------------------------------------------------ PlantServer surface
    @property
    def done(self) -> bool:
        """True once the plant clock reached ``duration``."""
        return self.time >= self.duration - 1e-9

    def advance(self) -> None:
        """Run one sample period and read the tags."""
        self.run_until(self.time + self.sample_period)

    def run_until(self, t: float) -> None:
        """Run to plant time ``t`` (a multiple of the sample period) reading every sample on the way."""
        while self.time + self.sample_period <= t + 1e-9:
            self.time += self.sample_period
            self.model.run(until=self.time)
            self._read()

    def snapshot(self):
        """The exact model state now (for checks: the twin reconstructs its own from the tags)."""
        return self.model.snapshot()

    def frames(self, until: float | None = None, *, start_epoch: float = 0.0):
        """In-process frames (no OPC UA): yields ``(epoch time, {tag: value})`` per sample."""
        end = self.duration if until is None else until
        values = dict(self.values)
        values[self.clock_tag] = self.time
        yield start_epoch + self.time, values
        while self.time < end - 1e-9 and not self.done:
            self.advance()
            values = dict(self.values)
            values[self.clock_tag] = self.time
            yield start_epoch + self.time, values

    @classmethod
    def from_scenario(cls, sc: LinePlantScenario, *, seed: int | None = None,
                      changes: list[LineChange] | None = None, duration: float | None = None) -> LinePlant:
        """Build the emulated line of a ``kind: line-plant`` scenario (truth applied)."""
        line = load_scenario(sc.line_path(), overrides=sc.truth or None)
        return cls(line, changes=sc.changes if changes is None else changes,
                   seed=sc.seed if seed is None else seed, sample_period=sc.sample_period,
                   duration=sc.duration if duration is None else duration, prefix=sc.tag_prefix,
                   shipped_tag=sc.shipped_tag, clock_tag=sc.batch_time_tag)
