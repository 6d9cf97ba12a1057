"""Deviation detection on twin residuals: fixed limits, EWMA and CUSUM.

All detectors work on a vector of residuals (one per measured tag) per sample
and keep their statistics per tag. A NaN residual (unusable sample) leaves the
statistic of that tag unchanged.

* **Limit**: alarm while ``|r| > limit``.
* **EWMA** (Roberts 1959; Montgomery, *Introduction to Statistical Quality
  Control*, 7th ed., 2013, §9.2): ``z_t = λ r_t + (1-λ) z_{t-1}``, alarm while
  ``|z_t| > L σ sqrt(λ/(2-λ))`` (asymptotic limits, as in the ARL tables of
  Lucas & Saccucci, *Technometrics* 32(1), 1990). λ=0.2, L=2.962 gives an
  in-control ARL of 500 samples.
* **CUSUM** (Page 1954; Montgomery §9.1, tabular form): ``C⁺_t = max(0,
  r_t/σ - k + C⁺_{t-1})``, ``C⁻_t = max(0, -r_t/σ - k + C⁻_{t-1})``, alarm while
  either exceeds ``h``. k=0.5, h=5 gives an in-control ARL of about 465.

:func:`ewma_arl` (Markov-chain method of Brook & Evans, *Biometrika* 59, 1972)
and :func:`cusum_arl_siegmund` (Siegmund 1985) give the theoretical ARLs that
the validation tests compare simulations against. They and the two statistic
recursions are :mod:`spc`'s (``spc.ewma_recursion``, ``spc.cusum_recursion``),
re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# the statistic recursions and their ARLs live in the statistics layer (spc), written once
from spc import cusum_arl_siegmund, cusum_recursion, ewma_arl, ewma_recursion

__all__ = [
    "AlarmEvent",
    "DetectorBank",
    "ewma_arl",
    "cusum_arl_siegmund",
]


@dataclass
class AlarmEvent:
    """One alarm on one tag.

    Attributes
    ----------
    tag
        Measured tag the alarm is about.
    kind
        ``"limit"``, ``"ewma"`` or ``"cusum"``.
    start, end
        Time (s) of the first sample in alarm, and of the first sample back to
        normal (None while active; the end time of the run for an alarm still
        active when the run ends).
    magnitude
        Largest ``|residual|`` seen during the alarm, in the tag's unit.
    direction
        +1 when the plant reads above the twin, -1 below.
    unit
        Unit of ``magnitude``.
    """

    tag: str
    kind: str
    start: float
    end: float | None = None
    magnitude: float = 0.0
    direction: int = 0
    unit: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "tag": self.tag,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "magnitude": self.magnitude,
            "direction": self.direction,
            "unit": self.unit,
        }


class OneAlarm:
    """At most one open :class:`AlarmEvent` at a time, for a detector of one statistic over
    all tags (MSPC, residual T²): opened, extended and ended here, each change logged to
    the trace's event log when a trace is given."""

    def __init__(self) -> None:
        self.events: list[AlarmEvent] = []
        self._active: AlarmEvent | None = None

    def _open(self, ev: AlarmEvent, trace=None) -> None:
        self.events.append(ev)
        self._active = ev
        if trace is not None:
            trace.log_event(ev.as_dict())

    def _end(self, time: float, trace=None) -> None:
        ev, self._active = self._active, None
        ev.end = float(time)
        if trace is not None:
            trace.log_event(ev.as_dict())

    def close(self, time: float, trace=None) -> None:
        """End an alarm still active at the end of the run."""
        if self._active is not None:
            self._end(time, trace)


@dataclass
class DetectorBank:
    """Limit + EWMA/CUSUM detection on residual vectors, with alarm events.

    Parameters
    ----------
    tags
        Measured tag names (order of the residual vectors).
    sigma
        Residual standard deviation per tag (in the tag unit); NaN entries are
        estimated from the first ``warmup`` usable residuals (sample std).
    limit
        Absolute residual limit per tag (NaN disables).
    method
        Per tag ``"ewma"``, ``"cusum"`` or ``"none"``.
    lam, L
        EWMA weight and limit width (per tag or scalar).
    k, h
        CUSUM reference value and decision interval, in σ units.
    units
        Units per tag, for the events.
    warmup
        Samples used to estimate unknown σ; no EWMA/CUSUM alarm before.
    clear
        An EWMA/CUSUM alarm, once raised, holds until the statistic falls to this
        fraction of its limit: a deadband against chattering alarms
        (ANSI/ISA-18.2-2016; EEMUA 191, 3rd ed., 2013). 1 clears as soon as the
        statistic is back below its limit.
    track_events
        Keep :class:`AlarmEvent` records (switch off for bulk simulation).
    """

    tags: Sequence[str]
    sigma: np.ndarray
    limit: np.ndarray
    method: Sequence[str]
    lam: np.ndarray | float = 0.2
    L: np.ndarray | float = 2.962
    k: np.ndarray | float = 0.5
    h: np.ndarray | float = 5.0
    units: Sequence[str] = ()
    warmup: int = 30
    clear: float = 0.5
    track_events: bool = True
    events: list[AlarmEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.tags)
        self.sigma = np.broadcast_to(np.asarray(self.sigma, float), (n,)).copy()
        self.limit = np.broadcast_to(np.asarray(self.limit, float), (n,)).copy()
        self.lam = np.broadcast_to(np.asarray(self.lam, float), (n,)).copy()
        self.L = np.broadcast_to(np.asarray(self.L, float), (n,)).copy()
        self.k = np.broadcast_to(np.asarray(self.k, float), (n,)).copy()
        self.h = np.broadcast_to(np.asarray(self.h, float), (n,)).copy()
        self.method = list(self.method)
        self.units = list(self.units) or [""] * n
        self._ewma_mask = np.array([m == "ewma" for m in self.method])
        self._cusum_mask = np.array([m == "cusum" for m in self.method])
        self.z = np.zeros(n)
        self.c_plus = np.zeros(n)
        self.c_minus = np.zeros(n)
        self.latched = np.zeros(n, bool)
        self._warm = [[] for _ in range(n)]
        self._active: dict[tuple[int, str], AlarmEvent] = {}
        self.n_samples = np.zeros(n, dtype=int)
        self._all_ready = bool(self.ready.all())

    @property
    def ready(self) -> np.ndarray:
        """Per tag: σ is known (given or estimated)."""
        return np.isfinite(self.sigma) & (self.sigma > 0)

    def statistic(self) -> np.ndarray:
        """Current EWMA/CUSUM statistic per tag as a fraction of its alarm limit (0 while σ is unknown)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ewma_lim = self.L * self.sigma * np.sqrt(self.lam / (2 - self.lam))
            out = np.where(self._cusum_mask, np.maximum(self.c_plus, self.c_minus) / self.h,
                           np.where(self._ewma_mask, np.abs(self.z) / ewma_lim, 0.0))
        out[~np.isfinite(out)] = 0.0
        return out

    def update(self, time: float, residual: np.ndarray, scale: np.ndarray | None = None, *,
               hold: bool = False) -> np.ndarray:
        """Feed one residual vector; return the alarm bits per tag.

        Bits: 1 = limit, 2 = EWMA, 4 = CUSUM.

        Parameters
        ----------
        time
            Sample time (s).
        residual
            ``measured - predicted`` per tag; NaN where unusable.
        scale
            This sample's residual standard deviation per tag (tag unit), e.g. a
            Kalman filter's innovation std; EWMA and CUSUM then see
            ``residual · σ / scale``, a residual standardised by ``scale`` and
            expressed in units of σ. NaN entries (or None) keep σ.
        hold
            Limits only: EWMA/CUSUM statistics and the σ warm-up are not fed
            (e.g. while a twin that joined a running batch settles).
        """
        r = np.asarray(residual, float)
        ok = np.isfinite(r)
        self.n_samples += ok
        bits = np.zeros(len(self.tags), dtype=np.uint8)
        with np.errstate(invalid="ignore"):
            bits |= np.where(ok & (np.abs(r) > self.limit), 1, 0).astype(np.uint8)
        if hold:
            if self.track_events:
                self._events(time, r, bits)
            return bits
        if not self._all_ready:
            self._estimate_sigma(r, ok)
            self._all_ready = bool(self.ready.all())
        live = ok & self.ready
        if live.any():
            x = np.where(live, r, 0.0)
            if scale is not None:
                scale = np.asarray(scale, float)
                with np.errstate(invalid="ignore", divide="ignore"):
                    x = np.where(np.isfinite(scale) & (scale > 0), x * self.sigma / scale, x)
            em = live & self._ewma_mask
            self.z = np.where(em, self.lam * x + (1 - self.lam) * self.z, self.z)
            ewma_lim = self.L * self.sigma * np.sqrt(self.lam / (2 - self.lam))
            cm = live & self._cusum_mask
            with np.errstate(invalid="ignore", divide="ignore"):
                s = x / self.sigma
            self.c_plus = np.where(cm, np.maximum(0.0, s - self.k + self.c_plus), self.c_plus)
            self.c_minus = np.where(cm, np.maximum(0.0, -s - self.k + self.c_minus), self.c_minus)
            with np.errstate(invalid="ignore"):
                on = self.ready & np.where(self._ewma_mask, np.abs(self.z) > ewma_lim,
                                           self._cusum_mask & ((self.c_plus > self.h) | (self.c_minus > self.h)))
            self.latched = on | (self.latched & (self.statistic() > self.clear))
            bits |= np.where(self.latched, np.where(self._ewma_mask, 2, 4), 0).astype(np.uint8)
        if self.track_events:
            self._events(time, r, bits)
        return bits

    def update_block(
        self, time: np.ndarray, residual: np.ndarray, after_event_row: Callable[[], object] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feed a block of residual vectors; same statistics, bits and events as :meth:`update` per row.

        Needs σ known for every tag (after warm-up). The EWMA and CUSUM
        recursions run as tight loops over plain floats (the same IEEE operations
        as :meth:`update`, so the results are bit-identical); limits, alarm bits
        and the statistic are vectorised. Event bookkeeping runs only on rows
        with an alarm bit set or an alarm active.

        Parameters
        ----------
        time
            Sample times (n,).
        residual
            Residuals (n × tags); NaN where unusable.
        after_event_row
            Called after each row whose event bookkeeping ran (e.g. to log new events).

        Returns
        -------
        bits, statistic
            Alarm bits (n × tags, ``uint8``) and :meth:`statistic` after each row.
        """
        if not self._all_ready:
            raise ValueError("update_block needs sigma known for every tag; feed warm-up rows with update()")
        r = np.asarray(residual, float)
        n, m = r.shape
        ok = np.isfinite(r)
        self.n_samples += ok.sum(axis=0)
        with np.errstate(invalid="ignore"):
            bits = np.where(ok & (np.abs(r) > self.limit), 1, 0).astype(np.uint8)
        any_live = ok.any(axis=1)
        z = np.empty((n, m))
        cp = np.empty((n, m))
        cm = np.empty((n, m))
        for j in range(m):
            rows = np.flatnonzero(ok[:, j])
            zj, pj, mj = float(self.z[j]), float(self.c_plus[j]), float(self.c_minus[j])
            col_z, col_p, col_m = z[:, j], cp[:, j], cm[:, j]
            col_z[:] = zj
            col_p[:] = pj
            col_m[:] = mj
            if not rows.size:
                continue
            x = r[rows, j].tolist()
            if self._ewma_mask[j]:
                out = ewma_recursion(x, float(self.lam[j]), zj)
                _hold(col_z, rows, out)
                self.z[j] = out[-1]
            if self._cusum_mask[j]:
                s = r[rows, j] / self.sigma[j]
                # (s - k) and (-s - k) elementwise in NumPy: the same IEEE operations as update()
                outp = cusum_recursion((s - self.k[j]).tolist(), pj)
                outm = cusum_recursion((-s - self.k[j]).tolist(), mj)
                _hold(col_p, rows, outp)
                _hold(col_m, rows, outm)
                self.c_plus[j] = outp[-1]
                self.c_minus[j] = outm[-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ewma_lim = self.L * self.sigma * np.sqrt(self.lam / (2 - self.lam))
            on = self.ready & np.where(self._ewma_mask, np.abs(z) > ewma_lim,
                                       self._cusum_mask & ((cp > self.h) | (cm > self.h)))
            stat = np.where(self._cusum_mask, np.maximum(cp, cm) / self.h,
                            np.where(self._ewma_mask, np.abs(z) / ewma_lim, 0.0))
        stat[~np.isfinite(stat)] = 0.0
        latched = _latch(on, stat > self.clear, any_live, self.latched)
        self.latched = latched[-1].copy() if n else self.latched
        bits |= np.where(latched & any_live[:, None], np.where(self._ewma_mask, 2, 4), 0).astype(np.uint8)
        if self.track_events:
            busy = np.flatnonzero(bits.any(axis=1))
            i, k = 0, 0  # k: next busy row
            while i < n:
                if not self._active:
                    while k < busy.size and busy[k] < i:
                        k += 1
                    if k >= busy.size:
                        break
                    i = int(busy[k])
                self._events(float(time[i]), r[i], bits[i])
                if after_event_row is not None:
                    after_event_row()
                i += 1
        return bits, stat

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Reset statistics (all tags, or where ``mask`` is True)."""
        m = np.ones(len(self.tags), bool) if mask is None else np.asarray(mask, bool)
        self.z[m] = 0.0
        self.c_plus[m] = 0.0
        self.c_minus[m] = 0.0
        self.latched[m] = False

    def close(self, time: float) -> None:
        """End every active alarm at ``time`` (end of run)."""
        for ev in self._active.values():
            ev.end = time
        self._active.clear()

    @property
    def active(self) -> list[AlarmEvent]:
        """Alarms currently active."""
        return list(self._active.values())

    # -- internals ------------------------------------------------------------------------
    def _estimate_sigma(self, r: np.ndarray, ok: np.ndarray) -> None:
        for i in np.flatnonzero(~self.ready & ok):
            self._warm[i].append(float(r[i]))
            if len(self._warm[i]) >= self.warmup:
                self.sigma[i] = float(np.std(self._warm[i], ddof=1)) or 1e-12
                self._warm[i] = []

    def _events(self, time: float, r: np.ndarray, bits: np.ndarray) -> None:
        busy = set(np.flatnonzero(bits).tolist()) | {i for i, _ in self._active}
        for i in sorted(busy):
            tag = self.tags[i]
            for bit, kind in ((1, "limit"), (2, "ewma"), (4, "cusum")):
                key = (i, kind)
                on = bool(bits[i] & bit)
                ev = self._active.get(key)
                if on and ev is None:
                    ev = AlarmEvent(tag, kind, time, unit=self.units[i])
                    self._active[key] = ev
                    self.events.append(ev)
                if on and math.isfinite(r[i]) and abs(r[i]) >= ev.magnitude:
                    ev.magnitude = abs(float(r[i]))
                    ev.direction = 1 if r[i] > 0 else -1
                if not on and ev is not None:
                    ev.end = time
                    del self._active[key]


def _latch(on: np.ndarray, keep: np.ndarray, live: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Alarm latch per row and tag: ``l_i = on_i or (l_{i-1} and keep_i)``, unchanged on rows not ``live``.

    ``on`` (n × tags) is the raise condition, ``keep`` the hold condition
    (``on`` implies ``keep``); ``start`` the latch before the first row.
    Columns whose latch can only equal ``on`` are vectorised.
    """
    out = on.copy()
    for j in np.flatnonzero(start | (keep & ~on).any(axis=0)):
        prev = bool(start[j])
        for i in range(on.shape[0]):
            if live[i]:
                prev = bool(on[i, j]) or (prev and bool(keep[i, j]))
            out[i, j] = prev
    return out


def _hold(col: np.ndarray, rows: np.ndarray, values: list[float]) -> None:
    """Write ``values`` at ``rows`` of ``col`` and hold each until the next row (col starts at the old value)."""
    vals = np.asarray(values, dtype=float)
    idx = np.full(col.size, -1, dtype=np.intp)
    idx[rows] = np.arange(rows.size)
    idx = np.maximum.accumulate(idx)
    have = idx >= 0
    col[have] = vals[idx[have]]
