"""The Twin: follows the plant sample by sample and records where the two part ways.

At each frame the twin

1. checks data quality (:class:`~twin.QualityGate`; bad values never crash it),
2. advances its FMU over the elapsed time with the inputs measured at the
   previous sample (zero-order hold; held through unusable samples and gaps),
3. compares the FMU's outputs with the measured tags (residual = plant − twin),
4. runs limit + EWMA/CUSUM detection on the residuals (:class:`~twin.DetectorBank`),
5. re-syncs measured states from trustworthy measurements: every
   ``sync.interval`` by the mean residual (``reset``) or every sample with an
   extended Kalman filter (``ekf``, whose innovation std then scales the
   detectors); ME mode; tags whose detector is in alarm or above the guard
   fraction of its limit are not used, so a sensor fault is not absorbed into
   the twin,
6. runs the add-on detectors (:mod:`twin._addons`: MSPC on the raw tags, residual T²,
   golden-batch scoring, look-ahead against the golden envelope),
7. appends real, virtual, residual, statistic, alarm and quality flags (and the add-ons'
   variables) to the :class:`~twin.TraceStore`.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from twin._addons import AddOns
from twin._binding import TwinBinding
from twin._blocks import run_columns
from twin._clock import clock_events
from twin._detect import DetectorBank
from twin._ekf import binding_ekf
from twin._join import BatchJoin, catch_up
from twin._model import FmuStepper
from twin._quality import GateTag, QualityFlag, QualityGate, _linear_conversion
from twin._report import TwinReport, TwinStep
from twin._resid_t2 import ekf_correlation, standardise
from twin._trace import TraceStore
from twin.sources._base import Frame, Source
from workbench.dataset import config_hash
from workbench.errors import ConfigError

__all__ = ["Twin", "TwinStep", "TwinReport"]


class Twin:
    """A live twin bound to an FMU.

    Parameters
    ----------
    binding
        The binding config.
    trace
        Trace store path (None: keep nothing on disk). Defaults to ``binding.trace.path``
        only when ``trace=True``.
    parameters
        Parameter overrides on top of ``binding.parameters`` (e.g. calibrated values).
    mode
        ``"cs"``/``"me"``; default ``"me"`` when state sync is on, else ``"cs"``.
    time_kind
        ``"elapsed"`` or ``"datetime"`` for the trace time axis.
    overwrite
        Replace an existing trace store at ``trace`` (otherwise it is refused with
        :class:`~twin.TraceExistsError`).
    resume
        Continue an existing trace store (after a crash): rows continue after its last
        complete row, frames at or before that time are skipped (counted in
        ``report.skipped``; the model starts at the first new frame, as when joining a
        running batch), its alarm log is kept (events open at the crash end there).
    max_buffer_rows
        Rows the trace keeps in memory while its disk fails (see :class:`~twin.TraceStore`).
    """

    def __init__(
        self,
        binding: TwinBinding,
        *,
        trace: str | Path | bool | None = None,
        parameters: Mapping[str, float] | None = None,
        mode: str | None = None,
        time_kind: str = "elapsed",
        overwrite: bool = False,
        resume: bool = False,
        max_buffer_rows: int = 100_000,
    ) -> None:
        self.binding = binding
        self.tags = [t.tag for t in binding.tags]
        self.units = [t.unit for t in binding.tags]
        n_in = len(binding.inputs)
        self._n_in = n_in
        self._sync_vars = [o.variable for o in binding.outputs if o.sync]
        sync_on = binding.sync.method in ("reset", "ekf") and bool(self._sync_vars)
        self.mode = mode or ("me" if sync_on else "cs")
        if sync_on and self.mode != "me":
            raise ConfigError("state sync 'reset' needs mode 'me' (FMI 2.0 Co-Simulation cannot set states)",
                              source=binding.source_file, path="sync.method")
        self.sync_on = sync_on
        self.parameters = {**binding.parameters, **(parameters or {})}
        self.model = FmuStepper(
            binding.fmu_path(),
            inputs=[t.variable for t in binding.inputs],
            outputs=[t.variable for t in binding.outputs],
            parameters={**binding.start_values, **self.parameters},
            mode=self.mode,
        )
        self.ekf = None
        if sync_on:
            states = set(self.model.state_names)
            for v in self._sync_vars:
                if v not in states:
                    raise ConfigError(f"output '{v}' has sync: true but is not a continuous state of the FMU",
                                      source=binding.source_file, path="outputs")
        # unit conversions tag <-> FMU
        self._to_fmu = np.zeros((len(self.tags), 2))
        self._to_tag = np.zeros((len(self.tags), 2))
        for i, tb in enumerate(binding.tags):
            fmu_unit = self.model.variable_unit(tb.variable)
            fwd = _linear_conversion(tb.unit, fmu_unit) if tb.unit != fmu_unit else (1.0, 0.0)
            if fwd is None:
                raise ConfigError(
                    f"tag '{tb.tag}' has unit '{tb.unit}', which cannot be converted to '{fmu_unit}' of FMU "
                    f"variable '{tb.variable}'", source=binding.source_file, path=f"tags.{tb.tag}.unit")
            self._to_fmu[i] = fwd
            self._to_tag[i] = (1.0 / fwd[0], -fwd[1] / fwd[0])
        self._jump = np.array([t.jump * abs(self._to_fmu[i, 0]) if t.jump is not None else np.inf
                               for i, t in enumerate(binding.inputs)])
        outs = [(i, o) for i, o in enumerate(binding.outputs) if o.sync]
        self._ekf_rows = np.array([n_in + i for i, _ in outs], dtype=int)
        self._ekf_out = np.array([i for i, _ in outs], dtype=int)
        if sync_on and binding.sync.method == "ekf":
            self.ekf = binding_ekf(binding, self.model, self._to_fmu, required=True)
        q = binding.quality
        gate_tags = [
            GateTag(t.tag, t.unit, t.low, t.high, t.max_age if t.max_age is not None else q.max_age,
                    t.stale_after if t.stale_after is not None else q.stale_after, t.max_rate)
            for t in binding.tags
        ]
        ignore = frozenset([binding.batch_time_tag]) if binding.batch_time_tag else frozenset()
        self.gate = QualityGate(gate_tags, binding.sample_period, ignore=ignore)
        d = binding.detection
        outs = binding.outputs
        self.detector = DetectorBank(
            [o.tag for o in outs],
            sigma=np.array([o.sigma if o.sigma is not None else np.nan for o in outs]),
            limit=np.array([o.limit if o.limit is not None else np.nan for o in outs]),
            method=[o.method or d.method for o in outs],
            lam=d.lam, L=d.L, k=d.k, h=d.h, units=[o.unit for o in outs], warmup=d.warmup, clear=d.clear,
        )
        #: The add-on detectors (MSPC, residual T², golden batch, look-ahead), alarms in the alarm log.
        self.addons = AddOns(self)
        if trace is True:
            trace = binding.trace.path
        self.trace: TraceStore | None = None
        if trace:
            self.trace = TraceStore(
                trace, self.tags, self.units, time_kind=time_kind,
                flush_interval=binding.trace.flush_interval,
                attrs={"scenario": binding.name, "scenario_hash": config_hash(binding),
                       "fmu_guids": [self.model.guid], "twin_mode": self.mode},
                append=resume, overwrite=overwrite, max_buffer_rows=max_buffer_rows,
                variables=self.addons.trace_variables,
            )
        self.report = TwinReport(trace=str(trace) if trace else None)
        #: Frames at or before this time are skipped (a resumed trace ends there).
        self.resume_after: float | None = None
        if self.trace is not None and resume:
            self.trace.trim_events(self.trace.last_time)
            self.resume_after = self.trace.last_time
            self.report.resumed_after = self.resume_after
        #: Process clean stretches of max-speed replay in blocks (same results; False forces per frame).
        self.block_path = True
        self._reset_loop_state()

    # -- loop -----------------------------------------------------------------------------
    def _reset_loop_state(self) -> None:
        self._started = False
        self._last_t = math.nan
        self._u = np.array([0.0] * self._n_in)
        self._u_have = np.zeros(self._n_in, bool)
        self._last_sync = -math.inf
        self._res_sum = np.zeros(len(self.binding.outputs))
        self._res_n = np.zeros(len(self.binding.outputs), dtype=int)
        self._n_events_logged = 0
        self.t_start = math.nan
        self._joining: BatchJoin | None = None  # set while settling after joining a running batch

    def start(self, frame_time: float, batch_time: float = 0.0) -> None:
        """Initialise the FMU at ``frame_time`` (optionally ``batch_time`` s into the batch)."""
        self.model.reset(start_time=0.0)
        self.t_start = frame_time - batch_time
        self._started = True
        self._last_sync = frame_time

    def process(self, frame: Frame) -> TwinStep:
        """Run one frame through gate, model, detection, sync and trace."""
        n = len(self.tags)
        if self.resume_after is not None and not self._started and self._already_recorded(frame.time):
            self.report.skipped += 1
            return TwinStep(float(frame.time), False, np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan),
                            np.zeros(n, np.uint8), np.zeros(n, np.uint16))
        self._clock_events(frame)
        g = self.gate.check(frame)
        if not g.accepted:
            self.report.rejected += 1
            return TwinStep(g.time, False, g.values, np.full(n, np.nan), np.full(n, np.nan),
                            np.zeros(n, np.uint8), g.flags)
        t = g.time
        real = g.values
        usable = np.isfinite(real)
        ni = self._n_in
        if not self._started:
            batch_time = 0.0
            bt = getattr(frame, "samples", {}).get(self.binding_batch_tag) if self.binding_batch_tag else None
            if bt is not None:
                try:
                    batch_time = max(0.0, float(bt.value))
                except (TypeError, ValueError):
                    batch_time = 0.0
            self.start(t, batch_time)
            self._update_inputs(real, usable)
            y = self.model.step(self._u, 0.0)
            if self._joining is not None and self._joining.own_ekf:  # restarted while a join's EKF ran
                self.ekf = None
            when = self.binding.join.when  # joining a running batch: twin._join
            joins = when == "always" or (when == "auto" and batch_time > 0)
            join = BatchJoin(self, real, batch_time) if joins else None
            if batch_time > 0:  # joined a running batch: catch up, then take the measured states
                self._fast_forward(batch_time)
                y = self._resync_after_gap(real, usable, self.model.step(self._u, 0.0))
            self._joining = join.begin(t, usable) if join is not None else None
        else:
            dt = t - self._last_t
            u_prev = self._u
            self._update_inputs(real, usable)
            # inputs are sampled, the plant's are continuous: hold their mean over the step
            # (trapezoidal, second order for smooth inputs; Franklin, Powell & Workman,
            # Digital Control of Dynamic Systems, 3rd ed., §6.3 "triangle hold")
            if self.binding.input_hold == "mean":
                u_step = 0.5 * (u_prev + self._u)
                # a jump larger than the tag's `jump` happened at the start of the step
                # (sample-then-actuate): hold the new value over the whole step
                jumped = np.abs(self._u - u_prev) > self._jump
                if jumped.any():
                    u_step = np.where(jumped, self._u, u_step)
            else:
                u_step = u_prev
            y = self.ekf.predict(u_step, dt) if self.ekf is not None else self.model.step(u_step, dt)
        if g.gap > 0 or (g.flags[0] & QualityFlag.GAP if n else False):
            self.report.gaps.append((self._last_t, t))
            self.report.gap_samples += round(g.gap / self.binding.sample_period)
            y = self._resync_after_gap(real, usable, y)
        self._last_t = t
        virtual = np.empty(n)
        virtual[:ni] = self._u * self._to_tag[:ni, 0] + self._to_tag[:ni, 1]
        virtual[ni:] = y * self._to_tag[ni:, 0] + self._to_tag[ni:, 1]
        residual = np.full(n, np.nan)
        residual[ni:] = real[ni:] - virtual[ni:]
        scale = self.residual_scale()
        bits = self.detector.update(t, residual[ni:], scale, hold=self._joining is not None)
        alarm = np.zeros(n, np.uint8)
        alarm[ni:] = bits
        statistic = np.full(n, np.nan)
        statistic[ni:] = self.detector.statistic()
        flags = g.flags if self._joining is None else self._joining.step(t, residual[ni:], scale, g.flags)
        z = corr = None
        if self.resid_t2 is not None and self._joining is None:
            z = standardise(residual[ni:], scale, self.detector.sigma)
            corr = ekf_correlation(self.ekf, len(z), self._ekf_out)
        extra = self.addons.sample(t, real, z, corr, self.trace)
        synced = self._ekf_update(real, usable) if self.ekf is not None else self._maybe_sync(t, residual)
        self.report.samples += 1
        if self.trace is not None:
            self.trace.append(t, real, virtual, residual, statistic, alarm, flags, g.gap, extra)
            self._log_events()
        return TwinStep(t, True, real, virtual, residual, alarm, flags, g.gap, synced)

    def _process_block(self, t: np.ndarray, raw: np.ndarray, units: list, unknown: list[str]) -> None:
        """Process a block of clean frames at once: identical results to :meth:`process` per frame.

        Preconditions (checked by the caller): the twin is started, every input
        has had a usable value, every detector knows its σ, and the block's times
        are finite and strictly increasing after the last frame. Mode ``cs``
        without state sync (no per-sample state change by the twin).
        """
        n = len(t)
        ni = self._n_in
        real, flags, gap = self.gate.check_block(t, raw, units, unknown)
        # inputs: hold the last usable value (zero-order hold), as _update_inputs does per frame
        to_fmu, to_tag = self._to_fmu, self._to_tag
        fmu_vals = real[:, :ni] * to_fmu[:ni, 0] + to_fmu[:ni, 1]
        ok = np.isfinite(real[:, :ni])
        pick = np.where(ok, np.arange(n)[:, None], -1)
        pick = np.maximum.accumulate(pick, axis=0)
        u = np.where(pick >= 0, fmu_vals[np.maximum(pick, 0), np.arange(ni)[None, :]], self._u[None, :])
        u_prev = np.empty_like(u)
        u_prev[0] = self._u
        u_prev[1:] = u[:-1]
        if self.binding.input_hold == "mean":
            u_step = 0.5 * (u_prev + u)
            jumped = np.abs(u - u_prev) > self._jump
            u_step = np.where(jumped, u, u_step)
        else:
            u_step = u_prev
        prev_t = np.empty(n)
        prev_t[0] = self._last_t
        prev_t[1:] = t[:-1]
        y = self.model.step_block(u_step, t - prev_t)
        for k in np.flatnonzero(gap > 0):
            self.report.gaps.append((float(prev_t[k]), float(t[k])))
            self.report.gap_samples += round(float(gap[k]) / self.binding.sample_period)
        self._u = u[-1].copy()
        self._last_t = float(t[-1])
        m = len(self.tags)
        virtual = np.empty((n, m))
        virtual[:, :ni] = u * to_tag[:ni, 0] + to_tag[:ni, 1]
        virtual[:, ni:] = y * to_tag[ni:, 0] + to_tag[ni:, 1]
        residual = np.full((n, m), np.nan)
        residual[:, ni:] = real[:, ni:] - virtual[:, ni:]
        log = self._log_events if self.trace is not None else None
        bits, stat = self.detector.update_block(t, residual[:, ni:], log)
        alarm = np.zeros((n, m), np.uint8)
        alarm[:, ni:] = bits
        statistic = np.full((n, m), np.nan)
        statistic[:, ni:] = stat
        # block path: no EKF, so R = I and the scale is σ
        z = standardise(residual[:, ni:], None, self.detector.sigma) if self.resid_t2 is not None else None
        extra = self.addons.block(t, real, z, self.trace)
        self.report.samples += n
        if self.trace is not None:
            self.trace.append_block(t, real, virtual, residual, statistic, alarm, flags, gap, extra)

    def _clock_events(self, frame: Frame) -> None:
        """Source clock stepped back → ``CLOCK_STEP`` event; new timeline → event, alarms end, model restarts."""
        step, new = getattr(frame, "clock_step", 0.0), getattr(frame, "new_timeline", False)
        if step:
            self.report.clock_steps.append((float(frame.time), float(step)))
        if new:
            self.report.timelines += 1
        for record in clock_events(frame):
            if self.trace is not None:
                self.trace.log_event(record)
        if new and self._started:  # start over at this frame (joining at its batch time)
            self.detector.close(self._last_t)
            self.detector.reset()
            self.addons.new_timeline(self._last_t, self.trace)
            self._started, self._last_t = False, math.nan
            self._res_sum[:], self._res_n[:] = 0.0, 0

    def _already_recorded(self, time: Any) -> bool:
        try:
            return float(time) <= self.resume_after  # type: ignore[operator]
        except (TypeError, ValueError):
            return False

    @property
    def binding_batch_tag(self) -> str | None:
        """Tag carrying elapsed batch time, if the binding names one."""
        return getattr(self.binding, "batch_time_tag", None)

    def run(
        self,
        source: Source | Iterable[Frame],
        *,
        max_frames: int | None = None,
        until: float | None = None,
        on_step: Callable[[TwinStep], Any] | None = None,
        on_progress: Callable[[int], Any] | None = None,
    ) -> TwinReport:
        """Process frames from ``source`` until it ends, ``max_frames`` or plant time ``until``.

        Parameters
        ----------
        source
            A :class:`~twin.sources.Source` or any iterable of frames.
        max_frames
            Stop after this many frames (accepted or rejected).
        until
            Stop after the first accepted frame at or after this plant time (s).
        on_step
            Called with the :class:`TwinStep` of every frame. Forces the
            per-frame path.
        on_progress
            Called with the number of frames just processed (1 per frame, or the
            size of a block); keeps the block path of max-speed replay.

        Returns
        -------
        TwinReport
        """
        wall0 = _time.perf_counter()
        count = 0
        try:
            columns = self._block_columns(source) if on_step is None else None
            if columns is not None:
                run_columns(self, source, columns, max_frames, until, on_progress)
                return self.report
            frames = source.frames() if isinstance(source, Source) else iter(source)
            for frame in frames:
                step = self.process(frame)
                count += 1
                if on_step is not None:
                    on_step(step)
                if on_progress is not None:
                    on_progress(1)
                if max_frames is not None and count >= max_frames:
                    break
                if until is not None and step.accepted and step.time >= until:
                    break
        finally:
            self.report.wall_time += _time.perf_counter() - wall0
        return self.report

    #: Rows per block on the block path (a crash loses at most one block plus one flush interval).
    block_rows: int = 512

    def _block_columns(self, source):
        """Columnar data of ``source`` if the block path applies to it and to this twin, else None."""
        if not self.block_path or self.mode != "cs" or self.sync_on or self.ekf is not None or self.addons.lookahead:
            return None
        get = getattr(source, "columns", None)
        if get is None or not callable(getattr(source, "frame", None)):
            return None
        return get()

    def close(self) -> TwinReport:
        """End active alarms, flush the trace and return the final report."""
        if math.isfinite(self._last_t):
            self.detector.close(self._last_t)
            self.addons.close(self._last_t, self.trace)
        self.report.events = list(self.detector.events) + self.addons.events
        self.report.quality = self.gate.summary()
        if self.trace is not None:
            self._log_events(final=True)
            self.trace.close(gate_summary=self.report.quality, syncs=self.report.syncs,
                             alarm_events=[e.as_dict() for e in self.report.events])
            tr = self.trace
            self.report.events = sorted(self.report.events + tr.events, key=lambda e: e.start)
            self.report.rows_recorded = tr.rows_written
            self.report.rows_buffered_then_written = tr.rows_buffered_then_written
            self.report.rows_lost = tr.rows_lost
            self.report.trace_error = None if tr.error is None else f"{type(tr.error).__name__}: {tr.error}"
        return self.report

    mspc = property(lambda self: self.addons.mspc, doc="The MSPC model on the raw tags (``mspc:``), or None.")
    resid_t2 = property(lambda self: self.addons.resid_t2, doc="The residual T² (``detection.residual_t2``), or None.")
    golden = property(lambda self: self.addons.golden, doc="The golden-batch scorer (``golden:``), or None.")

    def attach_advice(self, channel) -> None:
        """Let the look-ahead advise the plant through ``channel`` (an :class:`~twin.AdviceChannel`).

        When a projection alarms, the advised set-points are searched through the projection and the
        best change proposed (:class:`~twin._advisor.LookaheadAdvisor`); a pending proposal is settled
        from the operator's answer at every sample. Needs ``lookahead:`` in the binding. The channel's
        audit goes to this twin's trace unless it has its own.
        """
        from twin._advisor import LookaheadAdvisor

        if self.addons.lookahead is None:
            raise ConfigError("advice from the twin needs lookahead: in the binding (the projection whose alarms it "
                              "answers)", source=self.binding.source_file, path="lookahead")
        if channel.trace is None:
            channel.trace = self.trace
        self.addons.advisor = LookaheadAdvisor(self.addons.lookahead, channel, self)

    # -- look-ahead -----------------------------------------------------------------------
    @property
    def batch_time(self) -> float:
        """Elapsed batch time of the twin's FMU (s)."""
        return self.model.time

    def snapshot(self):
        """FMU state snapshot of the twin now (for :func:`~twin.lookahead`)."""
        return self.model.get_state()

    def current_inputs(self) -> dict[str, float]:
        """FMU inputs the twin is holding now (FMU units)."""
        return dict(zip(self.model.input_names, self._u.tolist(), strict=True))

    # -- internals ------------------------------------------------------------------------
    def _update_inputs(self, real: np.ndarray, usable: np.ndarray) -> None:
        ni = self._n_in
        ok = usable[:ni]
        fmu_vals = real[:ni] * self._to_fmu[:ni, 0] + self._to_fmu[:ni, 1]
        if not self._u_have.all():  # first usable value: take it; until then FMU start values
            start = self.model.read(self.model.input_names) if ni else np.zeros(0)
            self._u = np.where(self._u_have, self._u, start)
        self._u = np.where(ok, fmu_vals, self._u)
        self._u_have |= ok

    def _fast_forward(self, batch_time: float) -> None:
        catch_up(self.model, self._u, batch_time, float(self.binding.sample_period))

    def _maybe_sync(self, t: float, residual: np.ndarray) -> bool:
        """Move measured states by the mean residual since the last sync.

        Resetting a state to one noisy sample would leave a bias of the order of
        the noise that the slow reactor dynamics carry for a long time; the mean
        residual over the interval (up to ``sync.interval / sample_period``
        samples) has its noise reduced by √n.
        """
        if not self.sync_on:
            return False
        ni = self._n_in
        r = residual[ni:]
        ok = np.isfinite(r)
        self._res_sum += np.where(ok, r, 0.0)
        self._res_n += ok
        interval = self.binding.sync.interval
        if self._joining is not None:  # settling after a join: re-sync by the mean of each window
            interval = min(interval, self.binding.join.window * self.binding.sample_period)
        if t - self._last_sync < interval:
            return False
        stat = self.detector.statistic()
        active = {e.tag for e in self.detector.active}
        states = self.model.get_states()
        values = {}
        for j, out in enumerate(self.binding.outputs):
            if not out.sync or self._res_n[j] == 0 or out.tag in active or stat[j] > self.binding.sync.guard:
                continue
            mean_res = self._res_sum[j] / self._res_n[j]
            values[out.variable] = states[out.variable] + mean_res * self._to_fmu[ni + j, 0]
        self._res_sum[:] = 0.0
        self._res_n[:] = 0
        self._last_sync = t
        if not values:
            return False
        self.model.set_states(values)
        self.report.syncs += 1
        return True

    def residual_scale(self) -> np.ndarray | None:
        """Standard deviation of this sample's residual per measured tag (tag unit), or None for σ.

        With the EKF the residual is the innovation, whose variance
        ``S = H P⁻ Hᵀ + R`` the filter predicts; standardising by √S makes the
        detector's input white with unit variance when the filter is consistent,
        which is what the CUSUM/EWMA run-length theory assumes (Mehra & Peschon,
        *Automatica* 7, 1971; Basseville & Nikiforov, *Detection of Abrupt
        Changes*, 1993). Tags not in the filter keep their σ.
        """
        if self.ekf is None:
            return None
        scale = np.full(len(self.binding.outputs), np.nan)
        scale[self._ekf_out] = np.sqrt(self.ekf.innovation_var) / np.abs(self._to_fmu[self._ekf_rows, 0])
        return scale

    def _ekf_update(self, real: np.ndarray, usable: np.ndarray) -> bool:
        rows = self._ekf_rows
        stat = self.detector.statistic()[self._ekf_out]
        active = {e.tag for e in self.detector.active}
        use = usable[rows] & (stat <= self.binding.sync.guard) & np.array(
            [self.tags[i] not in active for i in rows])
        z = real[rows] * self._to_fmu[rows, 0] + self._to_fmu[rows, 1]
        self.ekf.update(z, use)
        if use.any():
            self.report.syncs += 1
        return bool(use.any())

    def _resync_after_gap(self, real: np.ndarray, usable: np.ndarray, y: np.ndarray) -> np.ndarray:
        """After missing data the FMU ran blind on held inputs: reset measured states and detectors."""
        if not self.sync_on:
            return y
        ni = self._n_in
        values = {}
        for j, out in enumerate(self.binding.outputs):
            i = ni + j
            if out.sync and usable[i]:
                values[out.variable] = real[i] * self._to_fmu[i, 0] + self._to_fmu[i, 1]
        if not values:
            return y
        self.model.set_states(values)
        self.detector.reset()
        self._res_sum[:] = 0.0
        self._res_n[:] = 0
        self.report.syncs += 1
        return self.model.read()

    def _log_events(self, final: bool = False) -> None:
        events = self.detector.events
        for ev in events[self._n_events_logged:]:
            self.trace.log_event({**ev.as_dict(), "end": None})
        self._n_events_logged = len(events)
        # end records for events closed since last call
        for ev in events:
            if ev.end is not None and not getattr(ev, "_end_logged", False):
                self.trace.log_event(ev.as_dict())
                ev._end_logged = True  # type: ignore[attr-defined]
