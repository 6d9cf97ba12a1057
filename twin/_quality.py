"""Data-quality gate for live plant samples.

The gate looks at every :class:`~twin.sources.Frame` before the twin uses it and
flags problems along the six dimensions of data quality (DAMA UK Working
Group, *The six primary dimensions for data quality assessment*, 2013):

=============  ==========================================================
dimension      what the gate checks (flag)
=============  ==========================================================
completeness   tag missing from a frame (``MISSING``); a time jump larger
               than 1.5 sample periods, a reconnect or the first frame of a
               new timeline (``GAP``)
timeliness     sample older than ``max_age`` (``LATE``); value frozen for
               ``stale_after`` consecutive samples (``STALE``)
accuracy       value outside the tag's plausible range (``OUT_OF_RANGE``)
consistency    unit not convertible to the bound unit (``UNIT_MISMATCH``);
               rate of change above ``max_rate`` (``INCONSISTENT``)
uniqueness     frame time equal to the previous one (``DUPLICATE``)
validity       NaN, inf, non-numeric value or bad source status
               (``INVALID``); frame older than the previous (``OUT_OF_ORDER``)
=============  ==========================================================

Times are judged on the plant clock only (frame and sample timestamps), never on
the wall clock, so a loaded machine cannot make a sample ``LATE`` or ``STALE``.
A frame marked ``new_timeline`` (a restarted plant whose time went back) starts
the time checks over: it is accepted and flagged ``GAP`` (the discontinuity).

Each flag is counted (per tag and per dimension). The gate never raises on bad
data: whatever arrives, :meth:`QualityGate.check` returns a
:class:`GateResult` whose ``values`` hold NaN where a value is not usable.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from twin.sources._base import Frame

__all__ = ["QualityFlag", "GateTag", "GateResult", "QualityGate", "DIMENSIONS", "UNUSABLE"]


class QualityFlag(enum.IntFlag):
    """Bit flags stored per tag and sample in the trace (``quality`` variable)."""

    OK = 0
    MISSING = 1
    GAP = 2
    LATE = 4
    STALE = 8
    OUT_OF_RANGE = 16
    UNIT_MISMATCH = 32
    INCONSISTENT = 64
    DUPLICATE = 128
    OUT_OF_ORDER = 256
    INVALID = 512
    #: Set by the twin, not the gate: detectors held while a twin that joined a running batch settles.
    SETTLING = 1 << 15


_FLAG_BITS = tuple((int(f), f.name) for f in QualityFlag if f)
_INVALID, _UNIT_MISMATCH, _LATE = int(QualityFlag.INVALID), int(QualityFlag.UNIT_MISMATCH), int(QualityFlag.LATE)
_OUT_OF_RANGE, _STALE = int(QualityFlag.OUT_OF_RANGE), int(QualityFlag.STALE)
_INCONSISTENT = int(QualityFlag.INCONSISTENT)
_ABSENT = "\0missing"  # check_block: tag not carried by the source

DIMENSIONS: dict[str, QualityFlag] = {
    "completeness": QualityFlag.MISSING | QualityFlag.GAP,
    "timeliness": QualityFlag.LATE | QualityFlag.STALE,
    "accuracy": QualityFlag.OUT_OF_RANGE,
    "consistency": QualityFlag.UNIT_MISMATCH | QualityFlag.INCONSISTENT,
    "uniqueness": QualityFlag.DUPLICATE,
    "validity": QualityFlag.INVALID | QualityFlag.OUT_OF_ORDER,
}
"""Which flags belong to which of the six data-quality dimensions."""

UNUSABLE = (
    QualityFlag.MISSING
    | QualityFlag.STALE
    | QualityFlag.OUT_OF_RANGE
    | QualityFlag.UNIT_MISMATCH
    | QualityFlag.INVALID
)
"""Flags that make a value unusable: it is recorded as NaN and not fed to the model."""
_UNUSABLE = int(UNUSABLE)


@dataclass(frozen=True)
class GateTag:
    """Quality rules of one plant tag.

    Parameters
    ----------
    name
        Plant tag name.
    unit
        Unit the twin works in; samples in other convertible units are converted.
    low, high
        Plausible range in ``unit`` (inclusive); None for unbounded.
    max_age
        Largest accepted age (s) of a sample relative to its frame time.
    stale_after
        Number of consecutive identical values after which the value is
        considered frozen (0 disables the check).
    max_rate
        Largest plausible rate of change in ``unit``/s (None disables).
    """

    name: str
    unit: str = "1"
    low: float | None = None
    high: float | None = None
    max_age: float = math.inf
    stale_after: int = 0
    max_rate: float | None = None


@dataclass
class GateResult:
    """What the gate made of one frame.

    Attributes
    ----------
    time
        Frame time (s).
    accepted
        False when the whole frame is discarded (duplicate or out-of-order time).
    values
        Float values in the bound units, one per gate tag; NaN where unusable.
    flags
        :class:`QualityFlag` bits per tag (``uint16``).
    gap
        Seconds of missing data before this frame (0 if none).
    """

    time: float
    accepted: bool
    values: np.ndarray
    flags: np.ndarray
    gap: float = 0.0

    @property
    def usable(self) -> np.ndarray:
        """Boolean mask of values the twin may use."""
        return (self.flags & int(UNUSABLE)) == 0


@dataclass
class _TagState:
    last_value: float = math.nan
    last_time: float = math.nan
    repeats: int = 0


@dataclass
class QualityGate:
    """Flag and count bad samples; never raise on bad data.

    Parameters
    ----------
    tags
        Rules per tag, in the order of the result arrays.
    period
        Nominal sample period (s); a time step above ``1.5 * period`` is a gap.

    Attributes
    ----------
    counts
        ``Counter`` of ``(tag, flag_name)`` → number of samples flagged.
    frames_seen, frames_rejected
        Totals over the gate's life.
    timelines
        New timelines started (frames marked ``new_timeline``).
    """

    tags: Sequence[GateTag]
    period: float
    ignore: frozenset[str] = frozenset()
    counts: Counter = field(default_factory=Counter)
    frames_seen: int = 0
    frames_rejected: int = 0
    timelines: int = 0

    def __post_init__(self) -> None:
        self.tags = list(self.tags)
        self._index = {t.name: i for i, t in enumerate(self.tags)}
        self._state = [_TagState() for _ in self.tags]
        self._last_time = math.nan
        self._factors: dict[tuple[str, str], tuple[float, float] | None] = {}

    # -- public ---------------------------------------------------------------------------
    def check(self, frame: Frame) -> GateResult:
        """Check one frame and return its values and flags (never raises on bad data)."""
        self.frames_seen += 1
        n = len(self.tags)
        values = np.full(n, np.nan)
        flags = np.zeros(n, dtype=np.uint16)
        t = _as_float(getattr(frame, "time", math.nan))
        if not math.isfinite(t):
            flags[:] = QualityFlag.INVALID
            return self._reject(t, values, flags)
        discontinuity = bool(getattr(frame, "new_timeline", False))
        if discontinuity:  # times before this frame are on another timeline: start the checks over
            self._last_time = math.nan
            self._state = [_TagState() for _ in self.tags]
            self.timelines += 1
        if math.isfinite(self._last_time):
            if t == self._last_time:
                flags[:] = QualityFlag.DUPLICATE
                return self._reject(t, values, flags)
            if t < self._last_time:
                flags[:] = QualityFlag.OUT_OF_ORDER
                return self._reject(t, values, flags)
        gap = 0.0
        if math.isfinite(self._last_time) and t - self._last_time > 1.5 * self.period:
            gap = t - self._last_time - self.period
        if gap > 0 or discontinuity or getattr(frame, "reconnected", False):
            flags |= np.uint16(QualityFlag.GAP)
            gap = max(gap, 0.0)
        samples = getattr(frame, "samples", None) or {}
        try:
            items = list(samples.items())
        except (AttributeError, TypeError):
            items = []
        present = set()
        for key, sample in items:
            i = self._index.get(key)
            if i is None:
                if key in self.ignore:
                    continue
                self.counts[(str(key), "UNKNOWN_TAG")] += 1
                continue
            present.add(i)
            values[i], flags[i] = self._check_sample(i, t, sample, flags[i])
        for i, tag in enumerate(self.tags):
            if i not in present:
                flags[i] |= QualityFlag.MISSING
            self._count(tag.name, flags[i])
            if flags[i] & _UNUSABLE:
                values[i] = np.nan
        self._last_time = t
        return GateResult(t, True, values, flags, gap)

    def check_block(
        self, t: np.ndarray, raw: np.ndarray, units: Sequence[str | None], unknown: Sequence[str] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Check a block of frames at once; same flags, values, counts and state as :meth:`check` per frame.

        Vectorised form of :meth:`check` for frames whose structure is clean
        (replay at max speed, wide layout): every frame holds the same columns,
        samples carry the frame time, a good status and no reconnect. The caller
        guarantees that ``t`` is finite and strictly increasing and later than
        the last frame checked, so no frame is rejected.

        Parameters
        ----------
        t
            Frame times (n,).
        raw
            Float values (n × gate tags) as :func:`_as_float` makes them; a column
            of a tag the source does not carry is ignored (see ``units``).
        units
            Per gate tag the unit the source reports (None: none reported); the
            string ``"\0missing"`` marks a tag absent from the source (flagged ``MISSING``).
        unknown
            Source columns that are neither gate tags nor ignored (counted ``UNKNOWN_TAG``).

        Returns
        -------
        values, flags, gap
            As the per-frame :class:`GateResult` fields, stacked over frames.
        """
        n, m = len(t), len(self.tags)
        self.frames_seen += n
        values = np.full((n, m), np.nan)
        flags = np.zeros((n, m), dtype=np.uint16)
        prev = np.empty(n)
        prev[0] = self._last_time
        prev[1:] = t[:-1]
        with np.errstate(invalid="ignore"):
            gap = np.where(np.isfinite(prev) & (t - prev > 1.5 * self.period), t - prev - self.period, 0.0)
        has_gap = gap > 0
        flags[has_gap] |= np.uint16(QualityFlag.GAP)
        gap = np.maximum(gap, 0.0)
        for i, tag in enumerate(self.tags):
            unit = units[i]
            f = flags[:, i]
            if unit == _ABSENT:
                f |= np.uint16(QualityFlag.MISSING)
                continue
            state = self._state[i]
            v = raw[:, i]
            valid = np.isfinite(v)
            f[~valid] |= np.uint16(_INVALID)
            if unit is not None and unit != tag.unit:
                factor = self._conversion(str(unit), tag.unit)
                if factor is None:
                    f[valid] |= np.uint16(_UNIT_MISMATCH)
                    continue
                v = v * factor[0] + factor[1]
            rows = np.flatnonzero(valid)
            if not rows.size:
                continue
            vs, ts = v[rows], t[rows]
            bits = np.zeros(rows.size, dtype=np.uint16)
            if 0.0 > tag.max_age:  # sample time == frame time for these sources
                bits |= np.uint16(_LATE)
            with np.errstate(invalid="ignore"):
                oor = np.zeros(rows.size, bool)
                if tag.low is not None:
                    oor |= vs < tag.low
                if tag.high is not None:
                    oor |= vs > tag.high
            bits[oor] |= np.uint16(_OUT_OF_RANGE)
            # last value/time kept in the tag state before each sample (updated when in range)
            j = np.arange(rows.size)
            upd_idx = np.maximum.accumulate(np.where(~oor, j, -1))
            before = np.empty(rows.size, dtype=np.intp)
            before[0] = -1
            before[1:] = upd_idx[:-1]
            seen = before >= 0
            last_v = np.where(seen, vs[np.maximum(before, 0)], state.last_value)
            last_t = np.where(seen, ts[np.maximum(before, 0)], state.last_time)
            if tag.stale_after:
                eq = vs == last_v
                last_false = np.maximum.accumulate(np.where(~eq, j, -1))
                repeats = np.where(last_false >= 0, j - last_false, state.repeats + j + 1)
                bits[repeats >= tag.stale_after] |= np.uint16(_STALE)
                state.repeats = int(repeats[-1])
            if tag.max_rate is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    fast = (np.isfinite(last_v) & np.isfinite(last_t) & (ts > last_t)
                            & (np.abs(vs - last_v) / (ts - last_t) > tag.max_rate))
                bits[fast] |= np.uint16(_INCONSISTENT)
            if upd_idx[-1] >= 0:
                state.last_value = float(vs[upd_idx[-1]])
                state.last_time = float(ts[upd_idx[-1]])
            f[rows] |= bits
            values[rows, i] = vs
        values[(flags & np.uint16(_UNUSABLE)) != 0] = np.nan
        counts = self.counts
        for i, tag in enumerate(self.tags):
            col = flags[:, i]
            if not col.any():
                continue
            for bit, name in _FLAG_BITS:
                c = int(np.count_nonzero(col & np.uint16(bit)))
                if c:
                    counts[(tag.name, name)] += c
        for key in unknown:
            counts[(str(key), "UNKNOWN_TAG")] += n
        self._last_time = float(t[-1])
        return values, flags, gap

    def dimension_counts(self) -> dict[str, int]:
        """Flagged-sample counts per data-quality dimension (all tags)."""
        out = dict.fromkeys(DIMENSIONS, 0)
        for (_, name), count in self.counts.items():
            flag = QualityFlag.__members__.get(name)
            if flag is None:
                continue
            for dim, mask in DIMENSIONS.items():
                if flag & mask:
                    out[dim] += count
        return out

    def summary(self) -> dict[str, object]:
        """JSON-able report: frames seen/rejected, counts per dimension and per tag/flag."""
        per_tag: dict[str, dict[str, int]] = {}
        for (tag, name), count in sorted(self.counts.items()):
            per_tag.setdefault(tag, {})[name] = count
        return {
            "frames_seen": self.frames_seen,
            "frames_rejected": self.frames_rejected,
            "timelines": self.timelines,
            "dimensions": self.dimension_counts(),
            "tags": per_tag,
        }

    # -- internals ------------------------------------------------------------------------
    def _reject(self, t: float, values: np.ndarray, flags: np.ndarray) -> GateResult:
        self.frames_rejected += 1
        name = QualityFlag(int(flags[0])).name if len(flags) else "INVALID"
        for tag in self.tags:
            self.counts[(tag.name, name)] += 1
        return GateResult(t, False, values, flags, 0.0)

    def _count(self, tag: str, bits: int) -> None:
        bits = int(bits)
        if not bits:
            return
        for bit, name in _FLAG_BITS:
            if bits & bit:
                self.counts[(tag, name)] += 1

    def _check_sample(self, i: int, t: float, sample, bits) -> tuple[float, int]:
        tag = self.tags[i]
        state = self._state[i]
        bits = int(bits)
        raw = getattr(sample, "value", sample)
        value = _as_float(raw)
        if not math.isfinite(value) or getattr(sample, "good", True) is False:
            return math.nan, bits | _INVALID
        unit = getattr(sample, "unit", None)
        if unit is not None and unit != tag.unit:
            factor = self._conversion(str(unit), tag.unit)
            if factor is None:
                return math.nan, bits | _UNIT_MISMATCH
            value = value * factor[0] + factor[1]
        sample_time = _as_float(getattr(sample, "time", t))
        if not math.isfinite(sample_time):
            sample_time = t
        if t - sample_time > tag.max_age:
            bits |= _LATE
        if (tag.low is not None and value < tag.low) or (tag.high is not None and value > tag.high):
            bits |= _OUT_OF_RANGE
        if tag.stale_after:
            state.repeats = state.repeats + 1 if value == state.last_value else 0
            if state.repeats >= tag.stale_after:
                bits |= _STALE
        if (
            tag.max_rate is not None
            and math.isfinite(state.last_value)
            and math.isfinite(state.last_time)
            and t > state.last_time
            and abs(value - state.last_value) / (t - state.last_time) > tag.max_rate
        ):
            bits |= _INCONSISTENT
        if not bits & _OUT_OF_RANGE:
            state.last_value = value
            state.last_time = t
        return value, bits

    def _conversion(self, unit: str, target: str) -> tuple[float, float] | None:
        key = (unit, target)
        if key not in self._factors:
            self._factors[key] = _linear_conversion(unit, target)
        return self._factors[key]


def _as_float(value) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _linear_conversion(unit: str, target: str) -> tuple[float, float] | None:
    """``(scale, offset)`` with ``target = scale*x + offset``, or None if not convertible."""
    from workbench.errors import UnitError
    from workbench.units import convert

    try:
        zero = convert(f"0 {unit}", target)
        one = convert(f"1 {unit}", target)
    except (UnitError, ValueError, TypeError):
        return None
    return one - zero, zero
