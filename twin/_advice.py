"""Advice back to the plant: audited, limited set-point writes over OPC UA.

A binding's ``advice:`` section (:class:`AdviceSettings`) names the set-point nodes the twin
may write, each with limits ``[lo, hi]`` and a largest rate of change per minute, and the
mode:

* ``recommend`` (default): :meth:`AdviceChannel.propose` writes the proposal to the
  recommendation nodes ``<prefix>/<node>/recommended`` and ``<prefix>/<node>/reason`` and
  its id to ``<prefix>/proposal``; an operator confirms by writing ``"<id> <operator>"`` to
  ``<prefix>/confirm`` (``"<id> <operator> reject"`` rejects it). :meth:`AdviceChannel.poll_confirmations`,
  called by the twin loop, reads it and only then writes the set-points (checked again,
  at the time of the confirmation). A proposal nobody confirms expires after ``confirm_timeout``.
* ``closed-loop``: the set-points are written at once (within the same limits and rates).

Safety rules (all enforced here, none by clipping): a value outside ``[lo, hi]``, a step
larger than ``max_rate`` × minutes since the set-point last changed (through this channel, or
since ``since``; a set-point with no known change may move by one minute's worth, ``max_rate``),
a node not declared in ``advice:`` or a non-finite value refuses the *whole* proposal, nothing is written. A write the server
refuses (``Bad_OutOfRange`` outside the node's EURange, …) or that gets no answer (connection
lost) is logged as failed and never retried: the twin proposes again, with fresh
numbers, when it has reason to. Every proposal, confirmation, write, refusal and failure
is an event in the trace's event log (``events.jsonl``; kinds in :data:`ADVICE_KINDS`)
carrying what (node, value, previous value), why, the predicted effect, by whom, and the
result. Times are plant times (from the caller or the injected clock), never wall time.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator

from workbench.config import WorkbenchModel
from workbench.errors import ConfigError, did_you_mean
from workbench.units import Duration

__all__ = [
    "ADVICE_KINDS",
    "AdviceChannel",
    "AdviceSetpoint",
    "AdviceSettings",
    "Proposal",
]

log = logging.getLogger(__name__)

ADVICE_PROPOSED = "ADVICE_PROPOSED"  # recommend mode: proposal written to the recommendation nodes
ADVICE_CONFIRMED = "ADVICE_CONFIRMED"  # an operator confirmed a proposal (its write follows)
ADVICE_REJECTED = "ADVICE_REJECTED"  # an operator rejected a proposal
ADVICE_EXPIRED = "ADVICE_EXPIRED"  # nobody confirmed within confirm_timeout
ADVICE_WRITTEN = "ADVICE_WRITTEN"  # a set-point was written (closed loop, or after a confirmation)
ADVICE_REFUSED = "ADVICE_REFUSED"  # the twin refused: limits, rate, unknown node, stale confirmation
ADVICE_WRITE_FAILED = "ADVICE_WRITE_FAILED"  # the server refused the write or did not answer
#: event kinds the advice channel writes to the trace's event log
ADVICE_KINDS = (ADVICE_PROPOSED, ADVICE_CONFIRMED, ADVICE_REJECTED, ADVICE_EXPIRED, ADVICE_WRITTEN,
                ADVICE_REFUSED, ADVICE_WRITE_FAILED)


class AdviceSetpoint(WorkbenchModel):
    """A set-point node the twin may write, with its limits and largest rate of change."""

    node: str = Field(description="Node name (string node id in the binding's OPC UA namespace)")
    limits: tuple[float, float] = Field(description="[lo, hi] the written value must lie in (node unit)")
    max_rate: float = Field(gt=0, description="Largest change per minute of plant time (node unit / min)")
    unit: str = Field("1", description="Unit of the node's value (for the audit log)")
    input: str | None = Field(None, description="FMU input this set-point moves in the twin (e.g. T_sp): the "
                              "look-ahead searches it when a projection alarms; None: never searched")

    @model_validator(mode="after")
    def _ordered(self):
        lo, hi = self.limits
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"`lo < hi` must hold for limits, but got [{lo:g}, {hi:g}]")
        return self


class AdviceSettings(WorkbenchModel):
    """The ``advice:`` section of a twin binding: what the twin may write to the plant, and how."""

    mode: Literal["recommend", "closed-loop"] = Field(
        "recommend", description="recommend: wait for an operator's confirmation; closed-loop: write directly")
    setpoints: list[AdviceSetpoint] = Field(min_length=1, description="The only nodes the twin may write")
    prefix: str = Field("Advice", description="Folder of the recommendation, proposal and confirm nodes")
    confirm_timeout: Duration = Field("15 min", description="A proposal not confirmed within this expires")
    by: str = Field("twin", description="Who writes in closed-loop mode (the audit's 'by')")
    timeout: Duration = Field("10 s", description="Wall time one OPC UA request may take")
    candidates: int = Field(5, ge=2, le=50, description="Look-ahead search: values tried per searched set-point "
                            "(evenly over what limits and rate allow now)")
    min_improvement: float = Field(0.2, gt=0, le=1, description="Look-ahead search: propose only when the best "
                                   "value lowers the alarming probability, or the expected share of the rest of the batch "
                                   "outside the envelope, by at least this much")
    cooldown: Duration = Field("10 min", description="Look-ahead search: plant time after a proposal before the "
                               "next one")

    @model_validator(mode="after")
    def _unique(self):
        nodes = [s.node for s in self.setpoints]
        for n in nodes:
            if nodes.count(n) > 1:
                raise ValueError(f"set-point node '{n}' is declared twice in advice.setpoints")
        if self.confirm_timeout <= 0:
            raise ValueError("confirm_timeout must be positive, e.g. '15 min'")
        return self

    def node(self, name: str) -> AdviceSetpoint | None:
        return next((s for s in self.setpoints if s.node == name), None)


@dataclass
class Proposal:
    """One proposal and what became of it.

    ``status``: ``pending`` (waiting for an operator), ``written``, ``refused`` (by the twin;
    ``message`` says why), ``failed`` (the server refused or did not answer), ``rejected``,
    ``expired``, ``superseded`` (a newer proposal replaced it before confirmation).
    """

    id: str
    changes: dict[str, float]
    why: str
    predicted_effect: str
    at: float
    by: str
    previous: dict[str, float] = field(default_factory=dict)
    status: str = "pending"
    message: str = ""
    confirmed_by: str | None = None
    written: list[str] = field(default_factory=list)


class AdviceChannel:
    """Propose set-point changes to the plant, within limits, audited (see the module notes).

    Parameters
    ----------
    settings
        The binding's ``advice:`` section.
    writer
        An :class:`~twin.sources.OpcUaWriter` (or anything with ``read(node)`` and ``write(node, value)``).
    trace
        Where the audit events go: anything with ``log_event(dict)`` (a :class:`~twin.TraceStore`);
        they are kept in :attr:`events` too.
    clock
        Plant clock (:class:`~twin.Clock`) for calls that give no time.
    since
        Plant time since which the set-points are known to be unchanged (the reference of the
        first rate check). Default: unknown, so a first step may be at most ``max_rate`` (one
        minute's worth).
    """

    def __init__(self, settings: AdviceSettings, writer, *, trace=None, clock=None, since: float | None = None) -> None:
        self.settings = settings
        self.writer = writer
        self.trace = trace
        self.clock = clock
        self.since = since
        self.events: list[dict[str, Any]] = []
        self.proposals: list[Proposal] = []
        self.pending: Proposal | None = None
        self._last_change: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._unreadable = False  # the confirm node could not be read at the last poll

    @classmethod
    def from_binding(cls, binding, source=None, trace=None, *, writer=None, clock=None,
                     since: float | None = None) -> AdviceChannel:
        """The channel of ``binding.advice``, writing over the binding's OPC UA connection settings.

        ``source``'s clock (an :class:`~twin.sources.OpcUaSource` has one) is used unless
        ``clock`` is given.
        """
        if binding.advice is None:
            raise ConfigError("the binding has no advice: section; add one to let the twin write set-points "
                              "(docs/twin-monitoring.md, 'Advice back to the plant')",
                              source=binding.source_file, path="advice")
        if writer is None:
            from twin.sources import OpcUaWriter

            o = binding.opcua
            writer = OpcUaWriter(o.url, namespace=o.namespace, security=o.security, timeout=binding.advice.timeout)
        if clock is None and source is not None:
            clock = getattr(source, "clock", None)
        return cls(binding.advice, writer, trace=trace, clock=clock, since=since)

    # -- the twin's calls -----------------------------------------------------------------
    def propose(self, changes: dict[str, float], why: str, predicted_effect: str = "", at: float | None = None,
                *, by: str | None = None) -> Proposal:
        """Check ``changes`` ({set-point node: value}) and write them (closed loop) or recommend them.

        Never raises for a refusal or a failed write: the returned :class:`Proposal` says what
        happened and the event log has it.
        """
        at = self._now(at)
        s = self.settings
        by = by or s.by
        p = Proposal(f"{int(at)}-{next(self._ids)}", {k: float(v) for k, v in changes.items()}, why,
                     predicted_effect, at, by)
        self.proposals.append(p)
        if not self._check(p, at, p.by):
            return p
        if s.mode == "closed-loop":
            p.confirmed_by = by
            self._write(p, at, by)
            return p
        if self.pending is not None:
            old, self.pending = self.pending, None
            old.status, old.message = "superseded", f"replaced by proposal {p.id}"
            self._log_all(old, ADVICE_EXPIRED, at, old.by, result="superseded", message=old.message)
        try:
            for sp in s.setpoints:  # set-points this proposal leaves alone show no recommendation
                value = p.changes.get(sp.node, math.nan)
                text = f"{why} | expected: {predicted_effect}"[:500] if sp.node in p.changes else ""
                self.writer.write(self._leaf(sp.node, "recommended"), value)
                self.writer.write(self._leaf(sp.node, "reason"), text)
            self.writer.write(self._leaf(None, "confirm"), "")
            self.writer.write(self._leaf(None, "proposal"), p.id)
        except Exception as exc:  # noqa: BLE001 - WriteRefused and transport failures alike
            p.status, p.message = "failed", f"recommendation not written: {exc}"
            self._log_all(p, ADVICE_WRITE_FAILED, at, by, result="failed", message=p.message)
            return p
        self.pending = p
        self._log_all(p, ADVICE_PROPOSED, at, by, result="pending",
                      message=f"waiting for confirmation on {self._leaf(None, 'confirm')}")
        return p

    def poll_confirmations(self, now: float | None = None) -> list[Proposal]:
        """Read the confirm node; write a confirmed proposal, end a rejected or expired one.

        Returns the proposals this call settled (empty while nothing happened). A lost
        connection leaves the proposal pending; it is logged once (a failed read), not at
        every call of the outage.
        """
        now = self._now(now)
        p = self.pending
        if p is None:
            return []
        confirm = self._leaf(None, "confirm")
        try:
            text = str(self.writer.read(confirm) or "").strip()
        except Exception as exc:  # noqa: BLE001 - the twin loop must go on; logged
            if not self._unreadable:
                self._log(confirm, ADVICE_WRITE_FAILED, now, proposal=p.id, by=p.by, result="failed",
                          message=f"confirm node not readable: {exc}")
            self._unreadable = True
            return []
        self._unreadable = False
        if not text:
            if now - p.at > self.settings.confirm_timeout:
                p.status, p.message = "expired", f"not confirmed within {self.settings.confirm_timeout:g} s"
                self._log_all(p, ADVICE_EXPIRED, now, p.by, result="expired", message=p.message)
                self._clear()
                return [p]
            return []
        pid, _, rest = text.partition(" ")
        words = rest.split()
        reject = len(words) > 1 and words[-1].lower() == "reject"
        operator = " ".join(words[:-1] if reject else words)
        if pid != p.id or not operator:
            self._log(confirm, ADVICE_REFUSED, now, proposal=p.id, by=operator or "?", result="refused",
                      message=f"confirmation '{text}' does not name the pending proposal and an operator; write "
                              f"'{p.id} <operator>' to confirm it")
            self._write_quiet(confirm, "")
            return []
        if reject:
            p.status, p.confirmed_by, p.message = "rejected", operator, f"rejected by {operator}"
            self._log_all(p, ADVICE_REJECTED, now, operator, result="rejected", message=p.message)
            self._clear()
            return [p]
        p.confirmed_by = operator
        self._log_all(p, ADVICE_CONFIRMED, now, operator, result="confirmed",
                      message=f"confirmed by {operator} {now - p.at:g} s after the proposal")
        self.pending = None
        if self._check(p, now, operator):  # limits and rates again, at the time of the write
            self._write(p, now, operator)
        self._clear()
        return [p]

    def close(self) -> None:
        """Close the writer's session."""
        close = getattr(self.writer, "close", None)
        if close is not None:
            close()

    # -- checks and writes ----------------------------------------------------------------
    def _check(self, p: Proposal, at: float, by: str) -> bool:
        s = self.settings
        problems: dict[str, str] = {}
        if not p.changes:
            problems["*"] = "the proposal changes nothing"
        for node, value in p.changes.items():
            sp = s.node(node)
            if sp is None:
                problems[node] = (f"'{node}' is not a writable set-point of advice.setpoints; "
                                  f"{did_you_mean(node, [x.node for x in s.setpoints])}")
                continue
            lo, hi = sp.limits
            if not math.isfinite(value):
                problems[node] = f"value {value!r} is not a finite number"
                continue
            if not lo <= value <= hi:
                problems[node] = (f"{value:g} {sp.unit} is outside the limits [{lo:g}, {hi:g}] {sp.unit} "
                                  f"(advice.setpoints.{node}.limits); the twin does not clip")
                continue
            try:
                current = float(self.writer.read(node))
            except Exception as exc:  # noqa: BLE001 - cannot judge the rate without it: refuse, logged
                problems[node] = f"current value not readable ({exc}); nothing written"
                continue
            p.previous[node] = current
            minutes = self._minutes_since_change(node, at)
            step = abs(value - current)
            allowed = sp.max_rate * minutes
            if step > allowed + 1e-9 * max(1.0, abs(current)):
                wait = step / sp.max_rate - minutes
                problems[node] = (f"step {current:g} → {value:g} {sp.unit} ({step:g} {sp.unit}) exceeds max_rate "
                                  f"{sp.max_rate:g} {sp.unit}/min × {minutes:g} min since the last change = "
                                  f"{allowed:g} {sp.unit}; propose at most {allowed:g} {sp.unit} now, "
                                  f"or this step in {wait:g} min")
        if not problems:
            return True
        p.status = "refused"
        p.message = "; ".join(problems.values())
        for node in p.changes or {"*": math.nan}:
            msg = problems.get(node, "refused with the rest of the proposal: " + p.message)
            self._log(node, ADVICE_REFUSED, at, p, by=by, result="refused", message=msg)
        return False

    def _minutes_since_change(self, node: str, at: float) -> float:
        since = self._last_change.get(node, self.since if self.since is not None else at - 60.0)
        return max(at - since, 0.0) / 60.0

    def reachable(self, node: str, at: float | None = None) -> tuple[float, float, float]:
        """``(low, high, current)``: the values a proposal for ``node`` may take at plant time ``at``.

        The set-point's limits intersected with ``current ± max_rate × minutes since its last
        change`` (the rule :meth:`propose` enforces). Reads the node's current value (raises
        what the writer raises when it cannot).
        """
        at = self._now(at)
        sp = self.settings.node(node)
        if sp is None:
            raise ConfigError(f"'{node}' is not a writable set-point of advice.setpoints; "
                              f"{did_you_mean(node, [x.node for x in self.settings.setpoints])}")
        current = float(self.writer.read(node))
        step = sp.max_rate * self._minutes_since_change(node, at)
        lo, hi = sp.limits
        return max(lo, current - step), min(hi, current + step), current

    def _write(self, p: Proposal, at: float, by: str) -> None:
        for node, value in p.changes.items():
            try:
                self.writer.write(node, value)
            except Exception as exc:  # noqa: BLE001 - WriteRefused, ConnectionLostError: logged, not retried
                p.status = "failed"
                p.message = f"{node}: {exc}"
                self._log(node, ADVICE_WRITE_FAILED, at, p, by=by, result="failed",
                          message=f"{exc}; not retried")
                for rest in list(p.changes)[list(p.changes).index(node) + 1:]:
                    self._log(rest, ADVICE_WRITE_FAILED, at, p, by=by, result="not written",
                              message=f"not written: the write of {node} failed before it")
                return
            self._last_change[node] = at
            p.written.append(node)
            self._log(node, ADVICE_WRITTEN, at, p, by=by, result="written",
                      message=f"set-point written ({self.settings.mode})")
        p.status = "written"

    def _clear(self) -> None:
        """Empty the proposal and confirm nodes (the recommendation stays shown, as history)."""
        self.pending = None
        for leaf in ("proposal", "confirm"):
            self._write_quiet(self._leaf(None, leaf), "")

    def _write_quiet(self, node: str, value) -> None:
        try:
            self.writer.write(node, value)
        except Exception as exc:  # noqa: BLE001 - housekeeping; logged to the Python log only
            log.warning("advice: could not reset %s: %s", node, exc)

    # -- audit ------------------------------------------------------------------------------
    def _log_all(self, p: Proposal, kind: str, at: float, by: str, **fields) -> None:
        for node in p.changes:
            self._log(node, kind, at, p, by=by, **fields)

    def _log(self, node: str, kind: str, at: float, p: Proposal | None = None, *, proposal: str | None = None,
             by: str, result: str, message: str = "") -> None:
        sp = self.settings.node(node)
        value = p.changes.get(node, math.nan) if p is not None else math.nan
        previous = p.previous.get(node, math.nan) if p is not None else math.nan
        delta = value - previous
        rec = {
            "tag": node,
            "kind": kind,
            "start": float(at),
            "end": float(at),
            "magnitude": abs(delta) if math.isfinite(delta) else 0.0,
            "direction": (1 if delta > 0 else -1 if delta < 0 else 0) if math.isfinite(delta) else 0,
            "unit": sp.unit if sp is not None else "",
            "proposal": p.id if p is not None else proposal,
            "value": value if math.isfinite(value) else None,
            "previous": previous if math.isfinite(previous) else None,
            "mode": self.settings.mode,
            "why": p.why if p is not None else "",
            "predicted_effect": p.predicted_effect if p is not None else "",
            "by": by,
            "result": result,
            "message": message,
        }
        self.events.append(rec)
        if self.trace is not None:
            self.trace.log_event(rec)
        log.info("advice %s %s %s: %s", kind, node, rec["proposal"], message or result)

    # -- helpers ----------------------------------------------------------------------------
    def _leaf(self, node: str | None, leaf: str) -> str:
        return f"{self.settings.prefix}/{node}/{leaf}" if node is not None else f"{self.settings.prefix}/{leaf}"

    def _now(self, t: float | None) -> float:
        if t is None:
            if self.clock is None:
                raise ValueError("no plant time: pass `at`/`now` or give the channel a clock")
            t = self.clock.now()
        return float(t)


def confirm_proposal(binding, operator: str, *, reject: bool = False, proposal: str | None = None,
                     wait: float = 0.0, writer=None) -> tuple[str, list[dict[str, Any]]]:
    """The operator's side of ``recommend`` mode: confirm (or reject) the pending proposal.

    The one path of ``twin plant confirm`` and the dashboard's Confirm/Reject buttons. Reads the
    pending proposal's id from ``<prefix>/proposal`` (waiting up to ``wait`` wall seconds for
    one) and its recommendation nodes, then writes ``"<id> <operator>"`` (``"<id> <operator>
    reject"``) to ``<prefix>/confirm``. Nothing else: the twin's
    :meth:`AdviceChannel.poll_confirmations` reads it, checks limits and rates again, writes the
    set-points and logs every step (by ``operator``) in its audit log.

    Parameters
    ----------
    binding
        A twin binding (:func:`~twin.load_binding`) with ``opcua:`` and ``advice:`` sections.
    operator
        Who confirms (the audit's ``by``); required.
    reject
        Reject the pending proposal instead.
    proposal
        The id of the proposal the operator saw: when another one is pending (a newer proposal
        replaced it), nothing is written.
    wait
        Wall seconds to wait for a proposal to appear.
    writer
        An open :class:`~twin.sources.OpcUaWriter` (default: one over ``binding.opcua``, closed after).

    Returns
    -------
    (proposal id, rows)
        ``rows``: one dict per set-point of the proposal (``node``, ``now``, ``recommended``,
        ``unit``, ``reason``), as read from the server.

    Raises
    ------
    ConfigError
        No ``advice:`` section, or no operator name.
    WorkbenchError
        No pending proposal, or another one than ``proposal``; ``ConnectionLostError`` when the
        server does not answer.
    """
    import time

    from workbench.errors import ConnectionLostError, WorkbenchError

    a = binding.advice
    if a is None:
        raise ConfigError("the binding has no advice: section (which set-points the twin may write, limits, "
                          "max_rate, mode); add one, see docs/twin-monitoring.md, 'Advice back to the plant'",
                          source=getattr(binding, "source_file", None), path="advice")
    words = str(operator or "").split()
    if not words or words[-1].lower() == "reject":
        raise ConfigError(f"operator {operator!r}: a confirmation needs the name of the operator who gives it "
                          "(it goes to the audit log), e.g. 'alice'" + (
                              "; a name may not end in the word 'reject'" if words else ""), path="operator")
    operator = " ".join(words)
    own = writer is None
    if own:
        from twin.sources import OpcUaWriter

        o = binding.opcua
        writer = OpcUaWriter(o.url, namespace=o.namespace, security=o.security, timeout=a.timeout)
    try:
        deadline = time.monotonic() + wait
        pid = ""
        while True:
            try:
                pid = str(writer.read(f"{a.prefix}/proposal") or "").strip()
            except ConnectionLostError:
                if time.monotonic() >= deadline:
                    raise
            if pid or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if not pid:
            raise WorkbenchError(f"no pending proposal on {binding.opcua.url} ({a.prefix}/proposal is empty): "
                                 "nothing to " + ("reject" if reject else "confirm"))
        if proposal is not None and pid != proposal:
            raise WorkbenchError(f"the pending proposal on {binding.opcua.url} is {pid}, not {proposal} (a newer "
                                 "proposal replaced it, or it was settled): nothing written; look at the "
                                 "pending one first")
        rows = []
        for sp in a.setpoints:
            rec = writer.read(f"{a.prefix}/{sp.node}/recommended")
            if not isinstance(rec, float) or rec != rec:  # NaN: not part of this proposal
                continue
            rows.append({"node": sp.node, "now": writer.read(sp.node), "recommended": rec, "unit": sp.unit,
                         "reason": writer.read(f"{a.prefix}/{sp.node}/reason")})
        writer.write(f"{a.prefix}/confirm", f"{pid} {operator}" + (" reject" if reject else ""))
        return pid, rows
    finally:
        if own:
            writer.close()
