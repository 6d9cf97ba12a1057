"""The SimPy line model: ``source``, ``machine``, ``breakdown``, ``maintenance_clock``, ``monitor``.

Semantics (documented in ``docs/what-if-scenarios.md``):

* Each station has one input buffer (a :class:`simpy.Store`, finite or not) shared by
  its ``servers`` identical machines. A machine takes one item (or, for a batch unit,
  up to ``batch.size`` items), does a changeover if the product changed, processes,
  decides the quality outcome (good / rework / scrap) and moves the items on.
  *Blocking after service*: finished items stay on the machine until the next buffer
  has room.
* Failures with ``basis: busy`` age only while processing (operation-dependent); with
  ``basis: cycles`` they count jobs; with ``basis: calendar`` they age on the clock and
  interrupt processing. A failed machine waits for a member of its repair crew (a
  shared :class:`simpy.Resource`), then is repaired; an interrupted job resumes.
* Preventive maintenance falls due every ``interval`` and is done before the next job.
* Outside its shift calendar a machine does not process (a running job pauses).
"""

from __future__ import annotations

import math
import zlib
from itertools import count as _count
from typing import Any

import numpy as np
import simpy

from simulation.line._calendar import WorkingTime
from simulation.line._distributions import Distribution, Stream, parse_distribution
from simulation.line._livestate import LiveState
from simulation.line._parts import STATES, Buffer, Item, Server, StationRuntime
from simulation.line._snapshot import LineSnapshot, ServerSnapshot
from simulation.line.config import EXIT, LineScenario, Station
from workbench.errors import SimulationError

__all__ = ["LineModel", "STATES"]

_UNIFORM = parse_distribution("uniform(min=0, max=1)")


class LineModel(LiveState):
    """A line scenario built as SimPy processes, for one replication.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Seed of this replication; every random process gets its own stream derived from
        it and the process's name (common random numbers across what-if variants).
    snapshot
        Optional live state to start from.
    unit_models
        Station name → unit model (:class:`~simulation.line.UnitModel`) for FMU-backed units.
    trace
        Record the state history of every machine (for Gantt charts).
    trace_hours
        Record it for this many hours from the start (None: the whole run).
    """

    def __init__(self, scenario: LineScenario, seed: int, *, snapshot: LineSnapshot | None = None,
                 unit_models: dict[str, Any] | None = None, trace: bool = False,
                 trace_hours: float | None = None):
        self.scenario = scenario
        self.seed = int(seed)
        self.initial_snapshot = snapshot
        start = float(snapshot.time) if snapshot is not None else 0.0
        self.env = simpy.Environment(initial_time=start)
        self.start = start
        exp = scenario.experiment
        self.warmup_end = start + exp.warmup
        self.end = start + exp.horizon if exp.horizon is not None else math.inf
        self.trace: list | None = [] if trace else None
        self.trace_until = start + trace_hours * 3600.0 if trace_hours is not None else math.inf
        self.unit_models = unit_models or {}
        self.products = [p.name for p in scenario.products]
        self._ids = _count()
        # statistics
        self.wip = 0
        self._wip_t = start
        self._wip_area = 0.0
        self._wip_area0 = 0.0
        self.exits: list[tuple[float, float, bool]] = []  # (exit time, lead time, good)
        self.good_count = 0
        self.released = 0
        self.series_t: list[float] = []
        self.series_wip: list[int] = []
        self.series_buf: list[list[int]] = []
        self.done = self.env.event()
        self._acc0: dict[tuple[str, int], dict[str, float]] = {}
        self.crews = {c.name: simpy.Resource(self.env, capacity=c.size) for c in scenario.crews}
        self.calendars = {
            c.name: WorkingTime(c.period, [(s.start, s.end) for s in c.shifts])
            for c in scenario.calendars
        }
        self.stations = {s.name: self._build_station(s) for s in scenario.stations}
        self._build_processes()

    # ------------------------------------------------------------------ construction
    def stream(self, name: str, dist: Distribution, *, lower: float | None = 0.0) -> Stream:
        """A random stream named ``name`` (its own generator: common random numbers)."""
        ss = np.random.SeedSequence([self.seed & 0xFFFFFFFF, self.seed >> 32, zlib.crc32(name.encode())])
        return Stream(dist, np.random.Generator(np.random.PCG64(ss)), lower=lower)

    def _build_station(self, s: Station) -> StationRuntime:
        cap = s.buffer
        if cap is None and self.scenario.source.saturated and s.name == self.scenario.first_station():
            cap = 1
        store = Buffer(self.env, capacity=cap if cap is not None else math.inf)
        process = {}
        for p in self.products:
            d = s.process_dist(p)
            if d is not None:
                process[p] = self.stream(f"{s.name}.process.{p}", d)
        co_pairs, co_default = {}, None
        if s.changeover is not None:
            co_default = self.stream(f"{s.name}.changeover", s.changeover.default)
            for pair, d in s.changeover.pairs.items():
                a, _, b = pair.partition("->")
                co_pairs[(a.strip(), b.strip())] = self.stream(f"{s.name}.changeover.{pair}", d)
        return StationRuntime(
            cfg=s, name=s.name, store=store,
            calendar=self.calendars.get(s.calendar) if s.calendar else None,
            process=process, changeover=co_pairs, changeover_default=co_default,
            quality=self.stream(f"{s.name}.quality", _UNIFORM),
            route=self.stream(f"{s.name}.route", _UNIFORM),
            successors=self.scenario.successors(s.name),
            unit=self.unit_models.get(s.name),
        )

    def _build_processes(self) -> None:
        env = self.env
        snap = self.initial_snapshot
        if snap is not None:
            self._load_buffers(snap)
        for st in self.stations.values():
            initial = (snap.stations.get(st.name, []) if snap is not None else [])
            if len(initial) > st.cfg.servers:
                raise SimulationError(
                    f"snapshot: station '{st.name}' has {st.cfg.servers} server(s) but the snapshot "
                    f"gives {len(initial)}"
                )
            for k in range(st.cfg.servers):
                srv = Server(env, st, k, self.trace, self.trace_until)
                st.servers.append(srv)
                for m, f in enumerate(st.cfg.failures):
                    if f.basis == "busy":
                        srv.ttf[m] = self._ttf_stream(st, k, m).draw()
                    elif f.basis == "cycles":
                        srv.cycles_left[m] = self._cycles(st, k, m)
                    else:
                        env.process(self.breakdown(st, srv, m))
                if st.cfg.maintenance is not None:
                    env.process(self.maintenance_clock(st, srv))
                init = initial[k] if k < len(initial) else None
                srv.proc = env.process(self.machine(st, srv, init))
        env.process(self.source())
        if self.warmup_end > self.start:
            env.process(self.warmup())
        if math.isfinite(self.end):
            env.process(self.monitor())

    def _ttf_stream(self, st: StationRuntime, k: int, m: int) -> Stream:
        cache = self.__dict__.setdefault("_streams", {})
        key = ("ttf", st.name, k, m)
        if key not in cache:
            f = st.cfg.failures[m]
            cache[key] = self.stream(f"{st.name}[{k}].{f.name}.ttf", f.ttf)
        return cache[key]

    def _ttr_stream(self, st: StationRuntime, k: int, m: int) -> Stream:
        cache = self.__dict__.setdefault("_streams", {})
        key = ("ttr", st.name, k, m)
        if key not in cache:
            f = st.cfg.failures[m]
            cache[key] = self.stream(f"{st.name}[{k}].{f.name}.ttr", f.ttr)
        return cache[key]

    def _cycles(self, st: StationRuntime, k: int, m: int) -> int:
        cache = self.__dict__.setdefault("_streams", {})
        key = ("cyc", st.name, k, m)
        if key not in cache:
            f = st.cfg.failures[m]
            cache[key] = self.stream(f"{st.name}[{k}].{f.name}.cycles", f.cycles)
        return max(1, math.ceil(cache[key].draw()))

    def _pm_stream(self, st: StationRuntime, k: int) -> Stream:
        cache = self.__dict__.setdefault("_streams", {})
        key = ("pm", st.name, k)
        if key not in cache:
            cache[key] = self.stream(f"{st.name}[{k}].maintenance", st.cfg.maintenance.duration)
        return cache[key]

    def _new_item(self, product: str, t_in: float) -> Item:
        prod = self.scenario.products[self.products.index(product)]
        values = {}
        for key, dist in prod.disturbances.items():
            cache = self.__dict__.setdefault("_streams", {})
            skey = ("dist", product, key)
            if skey not in cache:
                cache[skey] = self.stream(f"product.{product}.{key}", dist, lower=None)
            values[key] = cache[skey].draw()
        return Item(next(self._ids), product, t_in, values)

    # ------------------------------------------------------------------ statistics
    def _wip_add(self, delta: int) -> None:
        now = self.env.now
        self._wip_area += self.wip * (now - self._wip_t)
        self._wip_t = now
        self.wip += delta

    def _exit(self, item: Item, good: bool) -> None:
        now = self.env.now
        self._wip_add(-1)
        if now >= self.warmup_end:
            self.exits.append((now, now - item.t_in, good))
            if good:
                self.good_count += 1
                if self.scenario.experiment.count is not None and \
                        self.good_count >= self.scenario.experiment.count and not self.done.triggered:
                    self.done.succeed()

    def warmup(self):
        """Delete the warm-up period from every statistic."""
        yield self.env.timeout(self.warmup_end - self.start)
        self._wip_add(0)
        self._wip_area0 = self._wip_area
        for st in self.stations.values():
            st.processed = st.good_out = st.scrapped = st.reworked = st.jobs_after_warmup = 0
            for srv in st.servers:
                srv._close()
                self._acc0[(st.name, srv.index)] = dict(srv.acc)

    def monitor(self):
        """Sample WIP and buffer levels on a regular grid (time series of the result)."""
        n = self.scenario.experiment.samples
        dt = (self.end - self.start) / n  # n points from the start; the horizon itself is not sampled
        stations = list(self.stations.values())
        for i in range(n):
            target = self.start + i * dt
            if target > self.env.now:
                yield self.env.timeout(target - self.env.now)
            self.series_t.append(self.env.now - self.start)
            self.series_wip.append(self.wip)
            self.series_buf.append([len(st.store.items) for st in stations])

    # ------------------------------------------------------------------ processes
    def source(self):
        """Release work into the line: random arrivals, an order list, or endless supply."""
        env = self.env
        src = self.scenario.source
        first = self.stations[self.scenario.first_station()].store
        limit = src.limit or math.inf
        mix = np.array([p.share for p in self.scenario.products], dtype=float)
        if mix.sum() <= 0:
            raise SimulationError("products: the shares sum to 0; give at least one share > 0")
        cum = np.cumsum(mix / mix.sum()).tolist()
        pick = self.stream("source.product", _UNIFORM)

        def product() -> str:
            if len(cum) == 1:
                return self.products[0]
            u = pick.draw()
            for i, c in enumerate(cum):
                if u < c:
                    return self.products[i]
            return self.products[-1]

        if src.orders:
            for order in sorted(src.orders, key=lambda o: o.release):
                if order.release < self.start:
                    continue
                if order.release > env.now:
                    yield env.timeout(order.release - env.now)
                for _ in range(order.quantity):
                    if self.released >= limit:
                        return
                    yield from self._release(first, order.product)
            return
        gap = self.stream("source.interarrival", src.interarrival) if src.interarrival else None
        while self.released < limit:
            if gap is not None:
                yield env.timeout(gap.draw())
            yield from self._release(first, product())

    def _release(self, store: simpy.Store, product: str):
        item = self._new_item(product, self.env.now)
        req = store.put(item)
        if not req.triggered:
            yield req
        item.t_in = self.env.now
        self.released += 1
        self._wip_add(1)

    def machine(self, st: StationRuntime, srv: Server, initial: ServerSnapshot | None = None):
        """One machine: take work, change over, process (with failures), route the output."""
        cfg = st.cfg
        store = st.store
        batch_rule = cfg.batch
        if initial is not None and initial.state != "idle":
            yield from self._resume(st, srv, initial)
        while True:
            if srv.pm_due:
                yield from self.maintenance(st, srv)
            req = store.get()
            if not req.triggered:
                srv.set("starved")
                yield req
            batch = [req.value]
            srv.batch = batch
            if batch_rule is not None and batch_rule.size > 1:
                yield from self._fill_batch(st, srv, batch, batch_rule)
            product = batch[0].product
            if st.changeover_default is not None and srv.last_product is not None \
                    and product != srv.last_product:
                s = st.changeover.get((srv.last_product, product), st.changeover_default)
                d = s.draw()
                if d > 0:
                    yield from self._work(st, srv, d, "changeover")
            srv.last_product = product
            if st.unit is not None:
                duration, quality = self._unit_outcome(st, batch)
            else:
                duration, quality = st.process[product].draw(), None
            yield from self._work(st, srv, duration, "busy")
            yield from self._finish(st, srv, batch, quality)

    def _fill_batch(self, st: StationRuntime, srv: Server, batch: list[Item], rule):
        env = self.env
        deadline = env.now + rule.max_wait
        while len(batch) < rule.size:
            req = st.store.get()
            if req.triggered:
                batch.append(req.value)
                continue
            if env.now >= deadline:
                req.cancel()
                return
            srv.set("starved")
            timer = env.timeout(deadline - env.now)
            yield req | timer
            if req.triggered:
                batch.append(req.value)
            else:
                req.cancel()
                return

    def _unit_outcome(self, st: StationRuntime, batch: list[Item]) -> tuple[float, dict[str, float]]:
        product = batch[0].product
        prod = self.scenario.products[self.products.index(product)]
        try:
            outcome = st.unit.batch_outcome(dict(prod.recipe), dict(batch[0].values))
        except Exception as exc:  # noqa: BLE001 - name the unit and batch
            raise SimulationError(
                f"station '{st.name}': unit model failed for product '{product}' at t={self.env.now:g} s: {exc}"
            ) from exc
        return float(outcome[0]), dict(outcome[1])

    def _finish(self, st: StationRuntime, srv: Server, batch: list[Item], quality):
        """Count the job, check failures by cycles, decide quality and move items on."""
        srv.jobs += 1
        if self.env.now >= self.warmup_end:
            st.jobs_after_warmup += 1
        if srv.cycles_left:
            for m, left in list(srv.cycles_left.items()):
                srv.cycles_left[m] = left - 1
                if left - 1 <= 0:
                    yield from self.repair(st, srv, m)
                    srv.cycles_left[m] = self._cycles(st, srv.index, m)
        q = st.cfg.quality
        scrap, rework = q.scrap, q.rework
        fail_to = None
        if quality is not None and q.specs:
            for attr, lim in q.specs.items():
                v = quality.get(attr, math.nan)
                if not math.isfinite(v) or (lim.min is not None and v < lim.min) or \
                        (lim.max is not None and v > lim.max):
                    fail_to = q.on_fail
        several = len(batch) > 1
        for i, item in enumerate(batch):
            if several:
                srv.batch = batch[i:]
            st.processed += 1
            outcome = fail_to
            if outcome is None and (scrap > 0 or rework > 0):
                u = st.quality.draw()
                outcome = "scrap" if u < scrap else "rework" if u < scrap + rework else None
            if outcome is None:
                st.good_out += 1
                succ = st.successors
                target = succ[0] if len(succ) == 1 else self._route(st)
                if target == EXIT:
                    self._exit(item, good=True)
                    continue
                req = self.stations[target].store.put(item)
                if not req.triggered:
                    srv.set("blocked")
                    yield req
            elif outcome == "scrap":
                st.scrapped += 1
                self._exit(item, good=False)
            else:
                st.reworked += 1
                item.reworks += 1
                self.stations[q.rework_to or st.name].store.force_put(item)
        srv.batch = []

    def _route(self, st: StationRuntime) -> str:
        succ = st.successors
        if len(succ) == 1:
            return succ[0]
        rule = st.cfg.route
        if rule == "round_robin":
            st.rr = (st.rr + 1) % len(succ)
            return succ[st.rr]
        if rule == "random":
            return succ[min(int(st.route.draw() * len(succ)), len(succ) - 1)]

        def load(name: str) -> float:
            if name == EXIT:
                return -1.0
            t = self.stations[name]
            return (len(t.store.items) + len(t.store.put_queue)) / t.cfg.servers

        return min(succ, key=load)

    def _work(self, st: StationRuntime, srv: Server, work: float, state: str):
        """Spend ``work`` seconds of productive time in ``state`` (shifts and failures pause it)."""
        env = self.env
        cal = st.calendar
        failures = st.cfg.failures
        while work > 1e-9:
            if srv.down:
                yield srv.up_event
                continue
            seg = work
            if cal is not None:
                w = cal.window_at(env.now)
                if w is None:
                    srv.set("off_shift")
                    yield env.timeout(cal.next_start(env.now) - env.now)
                    continue
                seg = min(seg, w[1] - env.now)
            fail = None
            if state == "busy" and srv.ttf:
                m = min(srv.ttf, key=srv.ttf.__getitem__)
                if srv.ttf[m] <= seg:
                    seg, fail = max(srv.ttf[m], 0.0), m
            srv.set(state)
            t0 = env.now
            srv.work_left, srv.seg_start = work, t0
            srv.in_work = True
            try:
                yield env.timeout(seg)
            except simpy.Interrupt:
                seg = env.now - t0
                fail = None
            finally:
                srv.in_work = False
            work -= seg
            if state == "busy":
                for m in srv.ttf:
                    srv.ttf[m] -= seg
            if fail is not None:
                yield from self.repair(st, srv, fail)
                srv.ttf[fail] = self._ttf_stream(st, srv.index, fail).draw()
        if failures and state == "busy" and srv.down:  # calendar failure at the very end
            yield srv.up_event

    def repair(self, st: StationRuntime, srv: Server, mode: int, duration: float | None = None):
        """The machine is down: wait for a member of the repair crew, then repair."""
        f = st.cfg.failures[mode]
        srv.set_down(True)
        ttr = self._ttr_stream(st, srv.index, mode).draw() if duration is None else duration
        if f.crew is not None:
            with self.crews[f.crew].request() as req:
                yield req
                srv.stop_end = self.env.now + ttr
                yield self.env.timeout(ttr)
        else:
            srv.stop_end = self.env.now + ttr
            yield self.env.timeout(ttr)
        srv.stop_end = None
        srv.set_down(False)

    def breakdown(self, st: StationRuntime, srv: Server, mode: int):
        """Clock-time failures: the machine fails whatever it is doing (running jobs are interrupted)."""
        env = self.env
        stream = self._ttf_stream(st, srv.index, mode)
        while True:
            yield env.timeout(stream.draw())
            while srv.down:
                yield srv.up_event
            if srv.in_work and srv.proc is not None:
                srv.proc.interrupt(st.cfg.failures[mode].name)
            yield from self.repair(st, srv, mode)

    def maintenance_clock(self, st: StationRuntime, srv: Server):
        """Preventive maintenance falls due every interval (done by the machine between jobs)."""
        interval = st.cfg.maintenance.interval
        while True:
            yield self.env.timeout(interval)
            srv.pm_due = True

    def maintenance(self, st: StationRuntime, srv: Server, duration: float | None = None):
        """Do the preventive maintenance that is due (needs a crew member if one is named)."""
        pm = st.cfg.maintenance
        srv.pm_due = False
        srv.set("maintenance")
        d = self._pm_stream(st, srv.index).draw() if duration is None else duration
        if pm.crew is not None:
            with self.crews[pm.crew].request() as req:
                yield req
                srv.stop_end = self.env.now + d
                yield self.env.timeout(d)
        else:
            srv.stop_end = self.env.now + d
            yield self.env.timeout(d)
        srv.stop_end = None
        if pm.renews:
            for m in srv.ttf:
                srv.ttf[m] = self._ttf_stream(st, srv.index, m).draw()
            for m in srv.cycles_left:
                srv.cycles_left[m] = self._cycles(st, srv.index, m)

    # ------------------------------------------------------------------ running
    def run(self, until: float | None = None) -> LineModel:
        """Run to the horizon (or until ``count`` good parts) and close the statistics.

        ``until`` (clock seconds) only advances the clock to that time, e.g. to take a
        :meth:`snapshot`; call ``run()`` again to continue to the horizon.
        """
        env = self.env
        if until is not None:
            env.run(until=until)
            self.t_end = env.now
            return self
        try:
            if self.scenario.experiment.count is not None:
                until = self.done if not math.isfinite(self.end) else (self.done | env.timeout(self.end - env.now))
                env.run(until=until)
            else:
                env.run(until=self.end)
        except RuntimeError as exc:  # SimPy: "No scheduled events left but "until" event was not triggered"
            if "No scheduled events" not in str(exc):
                raise
            raise SimulationError(
                f"scenario '{self.scenario.name}': the line ran out of work at t={env.now / 3600:.4g} h "
                f"after {self.good_count} of the {self.scenario.experiment.count} good parts asked for "
                "by experiment.count; release more work or set a horizon"
            ) from None
        self.t_end = env.now
        self._wip_add(0)
        for st in self.stations.values():
            for srv in st.servers:
                srv._close()
        return self

    @property
    def events(self) -> int:
        """Number of events scheduled so far (SimPy's event id counter)."""
        return next(self.env._eid)  # noqa: SLF001 - consumes one id, harmless after the run
