"""The twin's add-on detectors, beside the per-tag EWMA/CUSUM: one object the twin calls per sample,
per block, at a new timeline and at close.

* MSPC on the raw tags (``mspc: model.nc``, :class:`~twin._mspc.MspcAlarms`);
* Hotelling T² on the standardised residual vector (``detection.residual_t2``,
  :class:`~twin._resid_t2.ResidualT2`);
* the golden-batch model on the running batch (``golden:``, :class:`~twin._golden.GoldenAlarms`);
* the look-ahead against the golden envelope (``lookahead:``, :class:`LookaheadAlarms`).

Each raises at most one alarm at a time through :class:`~twin._detect.OneAlarm`, into the same
alarm log as the residual alarms; the golden scores and the look-ahead's probabilities are trace
variables (:class:`~twin.TraceVariable`).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from twin._detect import AlarmEvent, OneAlarm
from twin._golden import GoldenAlarms
from twin._lookahead import judge_projection, lookahead, projection_fan, write_projection
from twin._mspc import MspcAlarms
from twin._resid_t2 import ResidualT2
from twin._trace import TraceVariable
from workbench.errors import ConfigError, did_you_mean

__all__ = ["AddOns", "LookaheadAlarms"]

log = logging.getLogger(__name__)


class LookaheadAlarms(OneAlarm):
    """Every ``every_min`` plant minutes: project the rest of the batch and judge it against the envelope.

    From the twin's FMU state (a snapshot; the twin's own state is left as it was),
    ``replications`` runs with the held inputs and the parameters in ``std`` drawn independently
    from ``N(θ, std²)`` (θ the twin's values) go to the end of the envelope's grid
    (:func:`~twin.lookahead`, seed ``seed + k`` for the k-th projection). The golden variables bound
    to measured tags are converted to the model's units and judged by :func:`~twin.judge_projection`;
    the ``quality`` specs by the projected final value of their FMU variable. Probabilities go to the
    trace (``lookahead_p_leave``, ``lookahead_time_to_violation``,
    ``lookahead_p_miss_<spec>``; NaN between projections). When the probability of leaving the envelope or
    of missing a spec reaches ``alarm_probability`` an alarm of kind ``"lookahead-envelope"`` /
    ``"lookahead-spec"`` opens (``tag``: the tag of the variable most likely to leave, or the spec
    name; ``magnitude``: the largest probability seen, unit ``"1"``); it ends at the first projection
    below the level.
    """

    def __init__(self, settings, golden: GoldenAlarms, twin):
        super().__init__()
        self.settings, self.golden, self.twin = settings, golden, twin
        src = twin.binding.source_file
        known = {**twin.binding.start_values, **twin.parameters}
        for p in settings.std:
            if p not in known:
                raise ConfigError(f"lookahead.std names '{p}', which is not a parameter of the twin (binding "
                                  f"parameters or start_values: {', '.join(known) or 'none'})", source=src,
                                  path=f"lookahead.std.{p}")
        self.switch, self.bumpless = self._controller(settings.controller, twin, src)
        outputs = {o.tag: (i, o.variable) for i, o in enumerate(twin.binding.outputs)}
        ni = len(twin.binding.inputs)
        model = golden.model
        names = list(model.aligner_.variables_)
        #: Golden variables judged (bound to measured tags), their FMU variables and FMU → model conversion.
        self.variables, self.fmu_vars, conv = [], [], []
        for j, v in enumerate(names):
            tag = golden.tag_of[v]
            if tag in outputs:
                i, fmu_var = outputs[tag]
                to_tag = twin._to_tag[ni + i]
                self.variables.append(v)
                self.fmu_vars.append(fmu_var)
                conv.append((to_tag[0] * golden.scale[j], to_tag[1] * golden.scale[j] + golden.offset[j]))
        if not self.variables:
            raise ConfigError("lookahead: no golden-batch model variable is bound to a measured tag (outputs); the "
                              "projection has nothing to judge against the envelope", source=src, path="lookahead")
        self._conv = np.array(conv)
        cols = [model.variables_.index(v) for v in self.variables]
        env = model.envelope_
        self.grid, self.lower, self.upper = env.time_, env.lower_[:, cols], env.upper_[:, cols]
        self.units = [str(env.units_[c]) for c in cols]
        self.specs = {n: (float(s.get("low", -math.inf)), float(s.get("high", math.inf)), str(s["variable"]))
                      for n, s in settings.quality.items()}
        self.every = float(settings.every_min) * 60.0
        self.next_due = self.every
        self.count = 0
        #: The last :class:`~twin.ProjectionJudgement`, and its projected batch times and trajectories
        #: (runs × times × :attr:`variables`, model units).
        self.last = None
        self.projection: tuple[np.ndarray, np.ndarray] | None = None
        #: Seed of the last projection (the advice search reuses it: common random numbers).
        self.last_seed: int | None = None
        self._fan_failed = False  # the last projection.nc write failed (logged once per outage)

    @staticmethod
    def _controller(c, twin, src):
        """``lookahead.controller`` checked against the FMU: (switch parameters, bumpless names) or (None, None)."""
        if c is None:
            return None, None
        model = twin.model

        def bad(field: str, what: str):
            return ConfigError(f"lookahead.controller.{field}: {what}", source=src, path=f"lookahead.controller.{field}")

        if model.mode != "me":
            raise bad("integrator", "the bumpless start sets the controller's integral state, which needs the twin in "
                      "ME mode (sync: {method: ekf} or reset)")
        names = model.variable_names
        for p in c.parameters:
            if p not in names or model.causality(p) != "parameter":
                raise bad(f"parameters.{p}", f"'{p}' is not a parameter of {model.path.name}; "
                          f"{did_you_mean(p, [n for n in names if model.causality(n) == 'parameter'])}")
        if c.integrator not in model.state_names:
            raise bad("integrator", f"'{c.integrator}' is not a continuous state of {model.path.name}; "
                      f"{did_you_mean(c.integrator, model.state_names)}")
        if c.output not in names:
            raise bad("output", f"'{c.output}' is not a variable of {model.path.name}; {did_you_mean(c.output, names)}")
        if c.input not in model.input_names:
            raise bad("input", f"'{c.input}' is not an input the twin drives (binding inputs: "
                      f"{', '.join(model.input_names) or 'none'})")
        return dict(c.parameters), {"integrator": c.integrator, "output": c.output, "input": c.input}

    @property
    def trace_variables(self) -> list[TraceVariable]:
        out = [TraceVariable("lookahead_p_leave", "1", "projected probability of leaving the golden envelope"),
               TraceVariable("lookahead_time_to_violation", "s", "expected time to the first projected envelope "
                             "violation (given one)")]
        out += [TraceVariable(f"lookahead_p_miss_{n}", "1", f"projected probability of missing the quality spec {n}")
                for n in self.specs]
        return out

    def restart(self) -> None:
        self.next_due = self.every

    def update(self, time: float, elapsed: float, trace=None) -> dict:
        """Project if a projection is due at batch time ``elapsed``; its trace row (empty if none ran)."""
        if elapsed < self.next_due:
            return {}
        while self.next_due <= elapsed:
            self.next_due += self.every
        seed = self.settings.seed + self.count
        out = self.project(elapsed, seed=seed)
        if out is None:
            return {}
        self.count += 1
        j, times, x, offset = out
        self.last, self.projection, self.last_seed = j, (times, x), seed
        if trace is not None and getattr(trace, "writable", False):
            if not trace.created:  # the store is created (and its folder emptied) by its first flush with rows
                trace.flush()
            self._write_fan(trace, projection_fan(times, x, self.variables, self.units, j, offset=offset,
                                                  made_at=float(time)))
        self._alarm(float(time), j, trace)
        row = {"lookahead_p_leave": j.p_leave, "lookahead_time_to_violation": j.time_to_violation}
        row.update({f"lookahead_p_miss_{n}": j.p_miss[n] for n in self.specs})
        return row

    def project(self, elapsed: float, *, seed: int, inputs: dict[str, float] | None = None):
        """One projection from the twin's state to the end of the envelope, judged.

        ``inputs``: FMU input → value held from now on instead of the present one (a proposed
        set-point). Returns ``(judgement, times, trajectories, offset)``, or None when the
        envelope's grid ends before now.
        """
        tw, s = self.twin, self.settings
        t0 = tw.model.time
        last = self.golden.last
        offset = 0.0 if self.golden.model.aligner_.method == "elapsed" or last is None or last.index < 0 \
            else last.time - elapsed
        until = float(self.grid[-1]) - offset
        if until <= t0 + 1e-9:
            return None
        params = list(s.std)
        outputs = list(dict.fromkeys([*self.fmu_vars, *(v for *_, v in self.specs.values())]))
        res = lookahead(tw.model, until=until, outputs=outputs, dt=float(s.dt), parameters=params, inputs=inputs,
                        mean=[float(tw.parameters.get(p, tw.binding.start_values.get(p, 0.0))) for p in params],
                        covariance=np.diag([float(s.std[p]) ** 2 for p in params]) if params else None,
                        n=s.replications, seed=seed, switch=self.switch, bumpless=self.bumpless)
        ds = res.dataset
        x = np.stack([ds[v].values for v in self.fmu_vars], axis=-1) * self._conv[:, 0] + self._conv[:, 1]
        finals = {n: ds[v].values[:, -1] for n, (_, _, v) in self.specs.items()}
        j = judge_projection(ds["time"].values, x, self.grid, self.lower, self.upper, variables=self.variables,
                             start=t0, offset=offset, finals=finals,
                             specs={n: (lo, hi) for n, (lo, hi, _) in self.specs.items()})
        return j, ds["time"].values, x, offset

    def _write_fan(self, trace, fan) -> None:
        """The latest projection as ``projection.nc`` in the trace store (for the dashboard's fan); a write the disk
        refuses is logged once per outage, never stops the twin (the fan is a view; the probabilities are in the
        trace rows)."""
        try:
            write_projection(trace.path / "projection.nc", fan)
            self._fan_failed = False
        except OSError as exc:
            if not self._fan_failed:
                log.warning("%s: projection not written (%s); the dashboard shows the previous one", trace.path, exc)
            self._fan_failed = True

    def _alarm(self, time: float, j, trace) -> None:
        level = self.settings.alarm_probability
        miss = max(j.p_miss.items(), key=lambda kv: kv[1]) if j.p_miss else ("", 0.0)
        worst = max(j.p_leave, miss[1])
        ev = self._active
        if worst >= level and ev is None:
            if j.p_leave >= miss[1]:
                top = max(j.p_variable, key=lambda v: j.p_variable[v])
                kind, tag = "lookahead-envelope", self.golden.tag_of[top]
            else:
                kind, tag = "lookahead-spec", miss[0]
            self._open(AlarmEvent(tag=tag, kind=kind, start=time, magnitude=worst, direction=1, unit="1"), trace)
        elif worst >= level:
            ev.magnitude = max(ev.magnitude, worst)
        elif ev is not None:
            self._end(time, trace)


class AddOns:
    """The add-on detectors of a :class:`~twin.Twin` (built from its binding)."""

    def __init__(self, twin):
        b = twin.binding
        d = b.detection
        rt = d.residual_t2
        #: Hotelling T² on the standardised residual vector (``detection.residual_t2``).
        self.resid_t2: ResidualT2 | None = None
        if rt.enabled:
            try:
                self.resid_t2 = ResidualT2([o.tag for o in b.outputs], alpha=rt.alpha, min_run=rt.min_run,
                                           clear=d.clear, reference=rt.reference)
            except ValueError as exc:
                raise ConfigError(str(exc), source=b.source_file, path="detection.residual_t2.reference") from None
        #: The MSPC model on the raw tags (``mspc: model.nc``).
        self.mspc = MspcAlarms(b.mspc, twin.tags, b.source_file) if b.mspc else None
        #: The golden-batch model on the running batch (``golden:``).
        self.golden = GoldenAlarms(b.golden, twin.tags, twin.units, b.source_file,
                                   float(b.sample_period)) if b.golden else None
        #: The look-ahead against the golden envelope (``lookahead:``).
        self.lookahead = LookaheadAlarms(b.lookahead, self.golden, twin) if b.lookahead else None
        #: Advice from the look-ahead (:meth:`~twin.Twin.attach_advice`), or None.
        self.advisor = None
        self.twin = twin

    @property
    def trace_variables(self) -> list[TraceVariable]:
        """Extra trace arrays the add-ons fill."""
        return [*(self.golden.trace_variables if self.golden else []),
                *(self.lookahead.trace_variables if self.lookahead else [])]

    @property
    def detectors(self) -> list[OneAlarm]:
        return [a for a in (self.mspc, self.resid_t2, self.golden, self.lookahead) if a is not None]

    @property
    def events(self) -> list[AlarmEvent]:
        return [e for a in self.detectors for e in a.events]

    def sample(self, t: float, real: np.ndarray, z: np.ndarray | None, corr, trace) -> dict | None:
        """One accepted sample: residual T² on ``z`` (None: not scored, e.g. while joining), MSPC and golden
        on ``real``, a look-ahead when due. Returns the extra trace row (None without golden)."""
        if self.resid_t2 is not None and z is not None:
            self.resid_t2.update(t, z, corr, trace)
        if self.mspc is not None:
            self.mspc.update(np.array([t]), real[None], trace)
        if self.golden is None:
            return None
        elapsed = t - self.twin.t_start
        row = self.golden.update(t, elapsed, real, trace)
        if self.lookahead is not None:
            projected = self.lookahead.update(t, elapsed, trace)
            row.update(projected)
            if self.advisor is not None:
                self.advisor.update(t, elapsed, bool(projected))
        return row

    def block(self, t: np.ndarray, real: np.ndarray, z: np.ndarray | None, trace) -> dict | None:
        """A block of accepted samples (no look-ahead: a twin with one runs frame by frame)."""
        if self.resid_t2 is not None and z is not None:
            self.resid_t2.update_block(t, z, trace)
        if self.mspc is not None:
            self.mspc.update(t, real, trace)
        if self.golden is None:
            return None
        rows = [self.golden.update(float(ti), float(ti) - self.twin.t_start, r, trace) for ti, r in zip(t, real, strict=True)]
        return {v.name: np.stack([r[v.name] if v.name in r else v.empty() for r in rows])
                for v in self.golden.trace_variables}

    def new_timeline(self, last_t: float, trace) -> None:
        """The source started a new timeline (a new batch): end the residual T² and golden alarms, restart."""
        if self.resid_t2 is not None:
            self.resid_t2.close(last_t, trace)
        for a in (self.golden, self.lookahead):
            if a is not None:
                a.close(last_t, trace)
                a.restart()

    def close(self, last_t: float, trace) -> None:
        """End the alarms still active at the end of the run."""
        for a in self.detectors:
            a.close(last_t, trace)
