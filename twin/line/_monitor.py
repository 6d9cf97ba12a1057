"""The line twin: live line signals bound to the discrete-event model.

:class:`LineTwin` takes one sample of the line's tags at a time (from any
:class:`twin.sources.Source`), keeps the reconstructed state (:class:`LineState`),
feeds the deviation tests (:class:`DeviationMonitor`), forecasts the end of the shift
every ``forecast.every`` (:func:`forecast_shift`), scores past forecasts against what
the line shipped, and records everything in a trace directory:

* the directory itself is a twin :class:`~twin.TraceStore` (Zarr): ``value(time,
  source, tag)`` with ``real`` = the line's tags and ``virtual`` = the model's mean
  cycle time on the ``cycle_time`` tags (NaN elsewhere), ``residual``, ``statistic``
  (CUSUM / limit on the cycle-time tags), ``alarm`` (4 = CUSUM, 8 = window test),
  ``quality`` (:class:`~twin.QualityFlag`, ``GAP`` after a reconnect) and ``gap``;
  alarm events in ``events.jsonl``;
* ``forecast`` (a Zarr group inside it): the forecast history along ``time`` —
  ``shipped(time, replication)``, ``interval(time, bound)``, ``median``,
  ``shipped_so_far``, ``shift_end``, ``actual``, ``error``, ``oee(time, station)``,
  ``bottleneck_share(time, station)``;
* ``snapshots.jsonl``: the reconstructed :class:`~simulation.line.LineSnapshot` at
  every forecast and after every reconnect.

Read it back with :func:`twin.open_trace`: ``open_trace(path)`` is the trace (alarm events
and snapshots in its attrs ``alarm_events`` and ``snapshots``), ``open_trace(path,
group="forecast")`` the forecast history.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simulation.line import LineScenario, load_scenario
from twin.line._config import LineBinding, load_line_binding
from twin.line._deviation import DeviationMonitor, LineAlarm
from twin.line._forecast import ShiftForecast, forecast_shift
from twin.line._state import LineState, Observation
from workbench.dataset import ZARR_FORMAT, add_provenance, config_hash

__all__ = ["LineTwin", "LineStep", "LineTwinReport", "monitor_line", "open_line_trace"]

_GAP = 2
_MISSING = 1
_INVALID = 512


@dataclass
class LineStep:
    """What one sample did."""

    time: float
    clock: float
    observations: list[Observation]
    alarms: list[LineAlarm]
    forecast: ShiftForecast | None
    gap: float = 0.0


@dataclass
class LineTwinReport:
    """Summary of a line-twin run."""

    samples: int
    alarms: list[LineAlarm]
    forecasts: list[ShiftForecast]
    gaps: list[tuple[float, float]]
    shipped: float
    trace: str | None
    resyncs: int = 0
    tests_run: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0
    resumed_after: float | None = None
    rows_recorded: int = 0
    rows_buffered_then_written: int = 0
    rows_lost: int = 0
    trace_error: str | None = None
    trace_events: list[Any] = field(default_factory=list)
    rejected: int = 0
    clock_steps: list[tuple[float, float]] = field(default_factory=list)
    timelines: int = 0

    @property
    def trace_persisted(self) -> bool:
        """True unless the trace's last flush failed (see :attr:`trace_error`)."""
        return self.trace_error is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"samples": self.samples, "alarms": [a.as_dict() for a in self.alarms],
                "forecasts": [f.as_dict() for f in self.forecasts], "gaps": self.gaps,
                "shipped": self.shipped, "trace": self.trace, "resyncs": self.resyncs,
                "tests_run": self.tests_run, "skipped": self.skipped, "resumed_after": self.resumed_after,
                "rows_recorded": self.rows_recorded, "rows_buffered_then_written": self.rows_buffered_then_written,
                "rows_lost": self.rows_lost, "trace_persisted": self.trace_persisted,
                "trace_error": self.trace_error, "trace_events": [e.as_dict() for e in self.trace_events],
                "rejected": self.rejected, "clock_steps": self.clock_steps, "timelines": self.timelines}


class LineTwin:
    """A live line twin (see the module docstring).

    Parameters
    ----------
    binding
        The line binding.
    scenario
        The line model (default: the binding's scenario file).
    trace
        Trace directory (None: keep nothing on disk).
    time_kind
        ``"datetime"`` when sample times are epoch seconds (OPC UA), else ``"elapsed"``.
    executor
        Executor of the forecast replications (default: the binding's).
    forecast
        Set False to skip the periodic forecasts.
    flush_interval
        Wall seconds between trace flushes.
    overwrite
        Replace an existing trace store at ``trace`` (otherwise it is refused with
        :class:`~twin.TraceExistsError`).
    resume
        Continue an existing trace store: rows after its last complete row (samples at or
        before that time are skipped by :meth:`run`), its events, snapshots and forecast
        history kept.
    max_buffer_rows
        Rows the trace keeps in memory while its disk fails (see :class:`~twin.TraceStore`).
    """

    def __init__(self, binding: LineBinding, *, scenario: LineScenario | None = None,
                 trace: str | Path | None = None, time_kind: str = "datetime", executor: Any = None,
                 forecast: bool = True, flush_interval: float = 2.0, overwrite: bool = False,
                 resume: bool = False, max_buffer_rows: int = 100_000) -> None:
        from twin._trace import TraceStore

        self.binding = binding
        self.scenario = scenario or load_scenario(binding.scenario_path())
        self.state = LineState(binding, self.scenario)
        self.deviation = DeviationMonitor(self.scenario, binding.deviation)
        self.executor = executor if executor is not None else binding.forecast.executor
        self.do_forecast = forecast
        self.tags = self.state.tags()
        self._index = {t: i for i, t in enumerate(self.tags)}
        units = []
        for t in self.tags:
            units.append("s" if t == binding.clock_tag or t.endswith(".cycle_time") else "1")
        self.units = units
        self._ct_tag = {s.name: binding.tag(s.name, "cycle_time") for s in self.scenario.stations}
        self._virtual = np.full(len(self.tags), np.nan)
        products = [p.name for p in self.scenario.products]
        for s in self.scenario.stations:
            d = s.process_dist(products[0])
            if d is not None and self._ct_tag[s.name] in self._index:
                self._virtual[self._index[self._ct_tag[s.name]]] = d.mean()
        self.trace_path = Path(trace) if trace is not None else None
        self.store = None
        if self.trace_path is not None:
            self.store = TraceStore(self.trace_path, self.tags, units, time_kind=time_kind,
                                    flush_interval=flush_interval,
                                    attrs={"scenario": self.scenario.name,
                                           "scenario_hash": config_hash(self.scenario.to_plain()),
                                           "binding": binding.name, "kind": "line-twin-trace"},
                                    append=resume, overwrite=overwrite, max_buffer_rows=max_buffer_rows)
        self.resume_after = self.store.last_time if self.store is not None and resume else None
        self.skipped = 0
        self._prior_forecasts = None  # a resumed trace's forecast history, kept in front of this run's
        if self.store is not None and resume and (self.trace_path / "forecast" / "zarr.json").exists():
            from twin._trace_read import open_trace

            self._prior_forecasts = open_trace(self.trace_path, group="forecast")
        self.forecasts: list[ShiftForecast] = []
        self.observations: list[Observation] = []
        self.gaps: list[tuple[float, float]] = []
        self.samples = 0
        self._last_time: float | None = None
        self._next_forecast: float | None = None
        self._shift: int | None = None
        self._shift_base: float = 0.0
        self._alarm_bits: dict[str, int] = {}
        self._pending: list[str] = []
        self._past_alarms: list[LineAlarm] = []
        self._past_tests = 0
        self.rejected = 0  # samples not after the last one (a clock step back): flagged, not used
        self.clock_steps: list[tuple[float, float]] = []
        self.timelines = 0

    # ------------------------------------------------------------------ shift bookkeeping
    def shift_index(self, clock: float) -> int:
        """Index of the shift the plant clock ``clock`` falls in."""
        sh = self.binding.shift
        return int(math.floor((clock - sh.offset) / sh.length + 1e-9))

    def shift_end(self, clock: float) -> float:
        """Plant clock at the end of the shift containing ``clock``."""
        sh = self.binding.shift
        return sh.offset + (self.shift_index(clock) + 1) * sh.length

    def _track_shift(self, clock: float, first: bool) -> None:
        k = self.shift_index(clock)
        if self._shift is None:
            self._shift = k
            # counter counted from the plant start when the twin starts in shift 0
            self._shift_base = 0.0 if (first and k == 0) else self.state.shipped
            return
        if k != self._shift:
            actual = self.state.shipped - self._shift_base
            for f in self.forecasts:
                if self.shift_index(f.time) == self._shift and math.isnan(f.actual):
                    f.actual = actual
            self._shift = k
            self._shift_base = self.state.shipped
            self._write_forecasts()

    def shipped_this_shift(self) -> float:
        """Good parts shipped since the start of the current shift."""
        return self.state.shipped - self._shift_base if math.isfinite(self.state.shipped) else 0.0

    # ------------------------------------------------------------------ one sample
    def step(self, time: float, values: dict[str, Any], *, reconnected: bool = False,
             bad: set[str] | frozenset = frozenset()) -> LineStep:
        """Take one sample.

        Parameters
        ----------
        time
            Sample time (epoch s for live data).
        values
            Tag → value.
        reconnected
            First sample after a lost connection: the gap is flagged and the state rebuilt.
        bad
            Tags whose value the source marked bad (ignored).
        """
        b = self.binding
        clean = {t: (math.nan if t in bad else v) for t, v in values.items()}
        clock_v = clean.get(b.clock_tag) if b.clock_tag else None
        try:
            clock = float(clock_v)
        except (TypeError, ValueError):
            clock = math.nan
        if not math.isfinite(clock):
            clock = time - (self._t0 if hasattr(self, "_t0") else time)
        self._t0 = getattr(self, "_t0", time - clock)
        first = self._last_time is None
        gap = 0.0
        if reconnected and not first:
            gap = max(time - self._last_time - b.sample_period, 0.0)
            self.gaps.append((self._last_time, time))
        obs = self.state.update(clock, clean, resync=reconnected and not first)
        self._track_shift(clock, first)
        self.observations += obs
        if len(self.observations) > 200_000:  # keep a day of observations for live re-calibration
            self.observations = [o for o in self.observations if o.time > clock - 86400.0]
        alarms = self.deviation.observe(obs)
        if clock - self.deviation.last_evaluation >= b.deviation.every - 1e-9:
            if math.isfinite(self.deviation.last_evaluation) or clock >= b.deviation.every:
                alarms += self.deviation.evaluate(clock)
            else:
                self.deviation.last_evaluation = clock
        if reconnected and not first:
            self._log_snapshot("reconnect")
        fc = None
        if self.do_forecast:
            if self._next_forecast is None:
                self._next_forecast = clock
            if clock >= self._next_forecast - 1e-9:
                end = self.shift_end(clock)
                if end - clock > b.sample_period:
                    fc = self.forecast_now()
                self._next_forecast = clock + b.forecast.every
        self._record(time, clean, bad, alarms, gap)
        self._last_time = time
        self.samples += 1
        return LineStep(time, clock, obs, alarms, fc, gap)

    def forecast_now(self) -> ShiftForecast:
        """Forecast the end of the current shift from the state now (and record it)."""
        f = self.binding.forecast
        fc = forecast_shift(self.scenario, self.state.template(), shift_end=self.shift_end(self.state.time),
                            shipped_so_far=self.shipped_this_shift(), replications=f.replications,
                            level=f.level, seed=f.seed, executor=self.executor,
                            base_dir=str(self.binding.scenario_path().parent))
        self.forecasts.append(fc)
        self._log_snapshot("forecast")
        self._write_forecasts()
        return fc

    def use_model(self, scenario: LineScenario) -> None:
        """Adopt a (re-calibrated) line model for the next forecasts and tests.

        The deviation tests restart against the new model (CUSUMs at 0, open alarms
        ended); the reconstructed state and the forecast history are kept.
        """
        for a in self.deviation.active():
            a.end = self.state.time
        self._past_alarms += self.deviation.alarms
        self._past_tests += self.deviation.tests_run
        self.scenario = scenario
        self.state.scenario = scenario
        self.deviation = DeviationMonitor(scenario, self.binding.deviation)
        self.deviation.last_evaluation = self.state.time
        products = [p.name for p in scenario.products]
        for s in scenario.stations:
            d = s.process_dist(products[0])
            i = self._index.get(self._ct_tag[s.name])
            if d is not None and i is not None:
                self._virtual[i] = d.mean()

    # ------------------------------------------------------------------ recording
    def _log_snapshot(self, reason: str) -> None:
        if self.trace_path is None:
            return
        snap = self.state.snapshot()
        self._pending.append(json.dumps({"clock": self.state.time, "reason": reason,
                                         "snapshot": snap.model_dump(mode="json")}))
        self._write_snapshots()

    def _write_snapshots(self) -> None:
        # the store directory is (re)created by its first flush: write after that
        if self._pending and self.store is not None and self.store.created:
            file = self.trace_path / "snapshots.jsonl"
            size = file.stat().st_size if file.exists() else 0
            try:
                with file.open("a") as fh:
                    fh.write("\n".join(self._pending) + "\n")
            except OSError:  # a failing disk: keep them for the next write, leave no torn line
                try:
                    os.truncate(file, size)
                except OSError:
                    pass
                return
            self._pending.clear()

    def _record(self, time: float, values: dict, bad, alarms: list[LineAlarm], gap: float) -> None:
        if self.store is None:
            return
        n = len(self.tags)
        real = np.full(n, np.nan)
        quality = np.zeros(n, dtype=np.uint16)
        for t, i in self._index.items():
            v = values.get(t)
            try:
                real[i] = float(v)
            except (TypeError, ValueError):
                real[i] = np.nan
            if t in bad:
                quality[i] |= _INVALID
            elif not np.isfinite(real[i]):
                quality[i] |= _MISSING
        if gap > 0:
            quality |= _GAP
        statistic = np.full(n, np.nan)
        alarm = np.zeros(n, dtype=np.uint8)
        for a in alarms:
            tag = self._alarm_tag(a)
            self._alarm_bits[tag] = self._alarm_bits.get(tag, 0) | (4 if a.test == "CUSUM" else 8)
            self.store.log_event({"tag": tag, "kind": f"{a.station}.{a.parameter}", "start": a.start,
                                  **a.as_dict()})
        for a in self.deviation.alarms:
            if a.end is not None and a.end == self.state.time:
                tag = self._alarm_tag(a)
                self._alarm_bits[tag] = self._alarm_bits.get(tag, 0) & ~8
                self.store.log_event({"tag": tag, "kind": f"{a.station}.{a.parameter}", "start": a.start,
                                      "end": a.end})
        for tag, bits in self._alarm_bits.items():
            alarm[self._index[tag]] = bits
        for s in self.scenario.stations:
            i = self._index.get(self._ct_tag[s.name])
            if i is not None:
                statistic[i] = self.deviation.statistic(s.name)
        self.store.append(time, real, self._virtual, real - self._virtual, statistic, alarm, quality, gap)
        self._write_snapshots()

    def _alarm_tag(self, a: LineAlarm) -> str:
        b = self.binding
        if a.parameter == "process_time":
            return b.tag(a.station, "cycle_time")
        if a.parameter == "scrap":
            return b.tag(a.station, "scrap")
        return b.tag(a.station, "state", 0, self.scenario.station(a.station).servers)

    def forecast_dataset(self) -> xr.Dataset:
        """The forecast history as a Dataset (see the module docstring)."""
        fs = self.forecasts
        names = [s.name for s in self.scenario.stations]
        n = max((len(f.totals) for f in fs), default=0)
        shipped = np.full((len(fs), n), np.nan)
        for i, f in enumerate(fs):
            shipped[i, : len(f.totals)] = f.totals
        actual = np.array([f.actual for f in fs], dtype=float)
        median = np.array([f.median for f in fs], dtype=float)
        ds = xr.Dataset(
            {
                "shipped": (("time", "replication"), shipped,
                            {"units": "1", "long_name": "forecast good parts shipped in the shift"}),
                "interval": (("time", "bound"), np.array([[f.low, f.high] for f in fs]).reshape(len(fs), 2),
                             {"units": "1", "long_name": f"{self.binding.forecast.level:.0%} prediction interval"}),
                "median": (("time",), median, {"units": "1", "long_name": "forecast median"}),
                "shipped_so_far": (("time",), np.array([f.shipped_so_far for f in fs], dtype=float),
                                   {"units": "1", "long_name": "good parts shipped in the shift so far"}),
                "shift_end": (("time",), np.array([f.shift_end for f in fs], dtype=float),
                              {"units": "s", "long_name": "plant clock at the end of the shift"}),
                "actual": (("time",), actual, {"units": "1", "long_name": "good parts actually shipped"}),
                "error": (("time",), median - actual, {"units": "1", "long_name": "forecast error median - actual"}),
                "oee": (("time", "station"), np.array([[f.oee[s] for s in names] for f in fs]).reshape(len(fs), len(names)),
                        {"units": "1", "long_name": "forecast mean OEE for the rest of the shift"}),
                "bottleneck_share": (("time", "station"),
                                     np.array([[f.bottleneck[s] for s in names] for f in fs]).reshape(len(fs), len(names)),
                                     {"units": "1", "long_name": "share of replications the station is the bottleneck"}),
            },
            coords={"time": ("time", np.array([f.time for f in fs], dtype=float),
                             {"units": "s", "long_name": "plant clock of the forecast"}),
                    "replication": np.arange(n), "bound": ["low", "high"], "station": names},
        )
        return add_provenance(ds, kind="line-forecast", scenario=self.scenario.name, seed=self.binding.forecast.seed)

    def _write_forecasts(self) -> None:
        if self.trace_path is None or not self.forecasts or self.store is None:
            return
        self.store.flush()
        if not self.store.created:  # the forecast group goes inside a created store
            return
        ds = self.forecast_dataset()
        if self._prior_forecasts is not None:
            ds = xr.concat([self._prior_forecasts, ds], dim="time", join="outer", combine_attrs="override")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds.to_zarr(self.trace_path, group="forecast", mode="w", consolidated=False, zarr_format=ZARR_FORMAT)
        except OSError:  # a failing disk: the whole history is rewritten at the next forecast or close
            pass

    # ------------------------------------------------------------------ loops
    def run(self, source, *, until: float | None = None, on_step: Callable[[LineStep], None] | None = None,
            max_samples: int | None = None) -> LineTwinReport:
        """Follow ``source`` (a :class:`twin.sources.Source`) until it ends, ``until`` (source time) or
        ``max_samples``; ``on_step`` may raise ``StopIteration`` to stop."""
        try:
            for frame in source:
                if self.resume_after is not None and self._last_time is None and frame.time <= self.resume_after:
                    self.skipped += 1  # the resumed trace has this sample
                    continue
                new_timeline = self._clock_marks(frame)
                if self._last_time is not None and frame.time <= self._last_time and not new_timeline:
                    self.rejected += 1  # OUT_OF_ORDER / DUPLICATE: the state follows one time axis
                    continue
                values = {t: s.value for t, s in frame.samples.items()}
                bad = {t for t, s in frame.samples.items() if not s.good}
                step = self.step(frame.time, values, reconnected=frame.reconnected or new_timeline, bad=bad)
                if on_step is not None:
                    try:
                        on_step(step)
                    except StopIteration:
                        break
                if until is not None and frame.time >= until:
                    break
                if max_samples is not None and self.samples >= max_samples:
                    break
        finally:
            source.close()
        return self.report()

    def _clock_marks(self, frame) -> bool:
        """Log a source clock step (``CLOCK_STEP``) or a new timeline (``NEW_TIMELINE``); True on the latter."""
        from twin._clock import clock_events

        if getattr(frame, "clock_step", 0.0):
            self.clock_steps.append((float(frame.time), float(frame.clock_step)))
        new = bool(getattr(frame, "new_timeline", False))
        self.timelines += new
        for record in clock_events(frame) if self.store is not None else ():
            self.store.log_event(record)
        return new

    def report(self) -> LineTwinReport:
        """Summary so far."""
        rep = LineTwinReport(self.samples, self._past_alarms + list(self.deviation.alarms), list(self.forecasts),
                             list(self.gaps), self.shipped_this_shift(),
                             str(self.trace_path) if self.trace_path else None,
                             self.state.resyncs, self._past_tests + self.deviation.tests_run,
                             skipped=self.skipped, resumed_after=self.resume_after, rejected=self.rejected,
                             clock_steps=list(self.clock_steps), timelines=self.timelines)
        st = self.store
        if st is not None:
            rep.rows_recorded, rep.rows_buffered_then_written, rep.rows_lost = (
                st.rows_written, st.rows_buffered_then_written, st.rows_lost)
            rep.trace_error = None if st.error is None else f"{type(st.error).__name__}: {st.error}"
            rep.trace_events = list(st.events)
        return rep

    def close(self) -> LineTwinReport:
        """Flush the trace and write the forecast history; return the report."""
        if self.store is not None:
            self.store.close(samples=self.samples, alarms=len(self.deviation.alarms))
            self._write_snapshots()
            self._write_forecasts()
        return self.report()


def open_line_trace(path: str | Path) -> tuple[xr.Dataset, xr.Dataset | None, list[dict], list[dict]]:
    """Deprecated: read with :func:`twin.open_trace` (``open_trace(path)``, ``open_trace(path,
    group="forecast")``; events and snapshots are in the trace's attrs).

    Returns ``(trace, forecasts or None, alarm events, snapshots)``.
    """
    from twin._trace_read import open_trace

    warnings.warn("twin.line.open_line_trace is deprecated; use twin.open_trace(path) and "
                  "twin.open_trace(path, group='forecast')", DeprecationWarning, stacklevel=2)
    path = Path(path)
    ds = open_trace(path)
    fc = open_trace(path, group="forecast") if (path / "forecast").exists() else None
    return ds, fc, json.loads(ds.attrs["alarm_events"]), json.loads(ds.attrs.get("snapshots", "[]"))


def monitor_line(binding_path: str | Path, *, endpoint: str | None = None, trace: str | Path | None = None,
                 until: float | None = None, time_scale: float = 1.0, executor: Any = None,
                 forecast: bool = True, on_step: Callable[[LineStep], None] | None = None,
                 max_samples: int | None = None, connect_timeout: float = 30.0, overwrite: bool = False,
                 resume: bool = False, max_buffer_rows: int = 100_000) -> LineTwinReport:
    """Follow a live line over OPC UA (the body of ``twin monitor LINE_BINDING.yaml``).

    Parameters
    ----------
    binding_path
        ``kind: line-binding`` YAML.
    endpoint
        Override of the binding's OPC UA endpoint.
    trace
        Trace directory (default: ``out/traces/<binding name>.line.zarr`` under the working directory).
    until
        Stop at this plant-clock time (s).
    time_scale
        Plant seconds per wall second of the server (> 1 for an accelerated emulator).
    executor
        Forecast executor (default: the binding's).
    forecast
        Run the periodic end-of-shift forecasts.
    on_step
        Callback per sample (may raise ``StopIteration``).
    max_samples
        Stop after this many samples.
    connect_timeout
        Seconds to wait for the first connection.
    overwrite, resume, max_buffer_rows
        What to do with an existing trace store, and the in-memory bound while its disk
        fails (see :class:`LineTwin`).
    """
    from twin.sources import OpcUaSource

    b = load_line_binding(binding_path)
    tw = LineTwin(b, trace=trace or f"out/traces/{b.name}.line.zarr", executor=executor, forecast=forecast,
                  overwrite=overwrite, resume=resume, max_buffer_rows=max_buffer_rows)
    src = OpcUaSource(endpoint or b.opcua.endpoint, tw.tags, period=b.sample_period,
                      namespace=b.opcua.namespace, units=dict(zip(tw.tags, tw.units, strict=True)),
                      publishing_interval=b.opcua.publishing_interval, time_scale=time_scale,
                      connect_timeout=connect_timeout, security=b.opcua.security)

    def stop(step: LineStep) -> None:
        if on_step is not None:
            on_step(step)
        if until is not None and step.clock >= until:
            raise StopIteration

    try:
        tw.run(src, on_step=stop, max_samples=max_samples)
    finally:
        src.close()
    return tw.close()
