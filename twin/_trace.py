"""The twin's trace store: real and virtual side by side, appended to Zarr.

Layout (an :class:`xarray.Dataset` following :mod:`workbench.dataset`):

=============  =====================  ==============================================
variable       dims                   meaning
=============  =====================  ==============================================
``value``      (time, source, tag)    ``source="real"``: measured value after the
                                      gate (NaN if unusable); ``"virtual"``: the
                                      twin's value (prediction for measured tags,
                                      the input actually fed for input tags)
``residual``   (time, tag)            real − virtual for measured tags
``statistic``  (time, tag)            EWMA/CUSUM statistic / its alarm limit
``alarm``      (time, tag)            alarm bits (1 limit, 2 EWMA, 4 CUSUM)
``quality``    (time, tag)            :class:`~twin.QualityFlag` bits
``gap``        (time)                 seconds of missing data before the sample
=============  =====================  ==============================================

plus the :class:`TraceVariable` arrays an add-on declares (golden-batch scores, look-ahead;
dims ``time`` and the variable's own, e.g. ``golden_t2`` (time), ``golden_in_envelope``
(time, variable)).

Rows are buffered and appended every ``flush_interval`` seconds of wall time
(or every ``flush_rows`` rows); the ``time`` coordinate is written last, so a
crash leaves at most the rows of one flush unrecorded, and :func:`open_trace`, the one
reader (read-only, safe while a twin appends), cuts arrays a crash or a flush in
progress left longer than ``time``. Alarm events are appended to ``events.jsonl``
inside the store as they start and end. The store is Zarr v3 (:mod:`twin._zarr_writer`),
the one Zarr format of the workbench; its ``attrs["kind"]`` is ``"twin-trace"``
(``"line-twin-trace"`` for a line twin).

Nothing is lost silently: an existing trace store is refused unless the writer is asked
to ``overwrite`` it (only a trace store is ever deleted) or to ``append`` to it (resume
after a crash: continue after the last complete row, keep the alarm log); a flush that
fails (full disk, I/O error) leaves its rows in memory, up to ``max_buffer_rows``, raises
a ``"trace-not-persisted"`` alarm event and is retried by the next flush; what could not
be kept is counted in ``rows_lost``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from twin._detect import AlarmEvent
from twin._trace_read import _STORE_FILES, _path_state, read_events
from twin._zarr_writer import AppendableArray, write_group
from workbench.dataset import add_provenance, sanitize_attrs
from workbench.errors import ConfigError, DatasetError

__all__ = ["TRACE_NOT_PERSISTED", "TraceExistsError", "TraceStore", "TraceVariable"]

_EPOCH_UNITS = "seconds since 1970-01-01T00:00:00"
_VARS = ("value", "residual", "statistic", "alarm", "quality", "gap")


@dataclass(frozen=True)
class TraceVariable:
    """An extra per-row array of a trace store, e.g. ``golden_t2`` (dims ``time``) or
    ``golden_in_envelope`` (``time`` × ``variable``).

    ``coords`` gives the values of each dim after ``time`` (written once as a coordinate
    array); a row that does not give the variable gets NaN (``dtype`` ``"f8"``) or 0.
    """

    name: str
    units: str
    long_name: str
    dims: tuple[str, ...] = ()
    coords: dict[str, list] = field(default_factory=dict)
    dtype: str = "f8"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.coords[d]) for d in self.dims)

    def empty(self, n: int | None = None) -> np.ndarray:
        """Rows (``n``; None: one row) of the fill value."""
        return np.full(self.shape if n is None else (n, *self.shape), np.nan if self.dtype == "f8" else 0,
                       dtype=self.dtype)


class TraceExistsError(ConfigError):
    """A trace store exists at the path and neither overwrite nor append (resume) was asked for."""

    def __init__(self, path: str | Path) -> None:
        self.trace_path = Path(path)
        super().__init__(f"{self.trace_path}: a trace store exists here; pass overwrite=True to replace it or "
                         "append=True to continue it after its last complete row")


#: ``kind`` of the alarm event a trace store raises while its rows cannot be written.
TRACE_NOT_PERSISTED = "trace-not-persisted"
#: ``tag`` of that event (it is about the store, not a plant tag).
TRACE_EVENT_TAG = "trace"

class TraceStore:
    """Append-only Zarr trace of a running twin.

    Parameters
    ----------
    path
        Store directory (created at the first flush). An existing trace store is refused
        (:class:`TraceExistsError`) unless ``overwrite`` or ``append``; a directory that is
        not a trace store is never deleted.
    tags
        All bound plant tags (inputs and measured outputs).
    units
        Unit per tag.
    time_kind
        ``"datetime"`` (frame times are epoch seconds; decoded as datetime64) or
        ``"elapsed"`` (seconds since batch start).
    flush_interval
        Wall-clock seconds between flushes.
    flush_rows
        Flush at the latest after this many rows.
    attrs
        Provenance and other dataset attrs.
    append
        Continue an existing store with the same tags (resume after a crash): rows a crash
        left half-written are dropped, rows continue after the last complete one
        (:attr:`last_time`), ``events.jsonl`` is continued. A missing store is created.
    overwrite
        Replace an existing trace store (deleted here, at construction).
    max_buffer_rows
        While flushes fail (``OSError``: full disk, I/O error, quota), keep at most this many
        unwritten rows in memory; beyond it the oldest are dropped and counted in
        :attr:`rows_lost`.

    Attributes
    ----------
    rows_written
        Rows written to the store by this writer.
    rows_buffered_then_written
        Of those, rows that waited in memory through at least one failed flush.
    rows_lost
        Rows dropped: beyond ``max_buffer_rows`` while failing, or still unwritten when
        :meth:`close`'s last flush failed.
    error
        The ``OSError`` of the last flush if it failed, else None.
    events
        :class:`~twin.AlarmEvent` records of kind ``"trace-not-persisted"`` (tag ``"trace"``;
        ``magnitude`` the largest number of unwritten rows, unit ``rows``), one per failing
        stretch; also logged to ``events.jsonl`` once the disk takes them.
    last_time
        Time of the last complete row of a resumed store (None for a new one).

    Notes
    -----
    Degraded mode: a flush that raises ``OSError`` does not propagate. Its rows stay
    buffered, an alarm event starts, every later flush (same ``flush_interval`` /
    ``flush_rows`` schedule) retries, and the first one that succeeds writes the backlog
    and ends the alarm. Arrays failed half-way are rewritten by the retry.
    """

    def __init__(
        self,
        path: str | Path,
        tags: Sequence[str],
        units: Sequence[str],
        *,
        time_kind: str = "elapsed",
        flush_interval: float = 2.0,
        flush_rows: int = 4096,
        attrs: dict[str, Any] | None = None,
        append: bool = False,
        overwrite: bool = False,
        max_buffer_rows: int = 100_000,
        variables: Sequence[TraceVariable] = (),
    ) -> None:
        if append and overwrite:
            raise ConfigError(f"{path}: append=True (resume the store) and overwrite=True (replace it) exclude "
                              "each other; give one")
        if int(max_buffer_rows) < 0:
            raise ConfigError(f"max_buffer_rows must be >= 0, got {max_buffer_rows}")
        self.path = Path(path)
        self.tags = list(tags)
        self.units = list(units)
        self.time_kind = time_kind
        self.flush_interval = float(flush_interval)
        self.flush_rows = int(flush_rows)
        self.max_buffer_rows = int(max_buffer_rows)
        self.attrs = dict(attrs or {})
        #: Extra per-row arrays (:class:`TraceVariable`), in the order rows carry them.
        self.variables = list(variables)
        self._rows: list[tuple] = []
        self._blocks: list[tuple[np.ndarray, ...]] = []  # pending blocks (rows converted), in order
        self._n_block_rows = 0
        self._last_flush = _time.monotonic()
        state = _path_state(self.path)
        if self.path.exists() and not self.path.is_dir():
            raise DatasetError(f"{self.path}: exists and is a file, not a trace store directory; give a new path")
        if state == "other" and (append or overwrite):
            raise DatasetError(f"{self.path}: exists and is not a trace store; "
                               f"{'append' if append else 'overwrite'} works on a trace store only (nothing "
                               "was deleted); give a new or trace-store path")
        if state == "store":
            if overwrite:
                shutil.rmtree(self.path)
            elif not append:
                raise TraceExistsError(self.path)
        self._owned = state != "other"  # a directory this writer may fill (new, or a trace store)
        self.append_mode = bool(append)
        self.last_time: float | None = None
        self._created = append and (self.path / "zarr.json").exists() and (self.path / "time" / "zarr.json").exists()
        self._arrays: dict[str, AppendableArray] = {}
        self._group_attrs = add_provenance(xr.Dataset(), **{"kind": "twin-trace", **self.attrs}).attrs
        if self._created:  # continue the store: its attrs and arrays as they are on disk
            self._resume()
        self._attrs_dirty = False
        self.rows_written = 0
        self.rows_buffered_then_written = 0
        self.rows_lost = 0
        self.flushes = 0
        self.failed_flushes = 0
        self.error: OSError | None = None
        self.events: list[AlarmEvent] = []
        self._delayed = 0  # buffered rows that went through a failed flush
        self._last_row_time = math.nan
        self._event_lines: list[str] = []
        self._events_file = self.path / "events.jsonl"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError:  # a failing disk: the first flush retries
            pass

    def _resume(self) -> None:
        import zarr

        group = zarr.open_group(str(self.path), mode="r")
        stored = [str(t) for t in group["tag"][...]]
        if stored != self.tags:
            raise DatasetError(f"{self.path}: cannot resume: the store has tags {stored}, this twin writes "
                               f"{self.tags}; resume with the same binding, or replace the store")
        units = group["time"].attrs.get("units")
        want = _EPOCH_UNITS if self.time_kind == "datetime" else "s"
        if units != want:
            raise DatasetError(f"{self.path}: cannot resume: the store's time is in {units!r}, this twin writes "
                               f"{want!r} (time_kind={self.time_kind!r})")
        self._group_attrs = {**group.attrs.asdict(), **self._group_attrs}
        complete = int(group["time"].shape[0])  # rows a crash left beyond it are dropped
        if complete:
            self.last_time = float(group["time"][complete - 1])
        layout = self._layout()
        missing = [name for name in layout if name not in group]
        if missing:
            raise DatasetError(f"{self.path}: cannot resume: the store has no {', '.join(map(repr, missing))} "
                               "(written by a twin without the add-on that fills it, e.g. golden:); resume with "
                               "the same binding, or replace the store")
        self._arrays = {name: AppendableArray.resume(self.path / name, dims=dims, attrs=at, rows=complete)
                        for name, (_, _, dims, at) in layout.items()}

    def trim_events(self, until: float | None) -> int:
        """On resume: make ``events.jsonl`` end at the last complete row ``until``.

        Events that start after it (their rows were never recorded) are dropped; events still
        open there, or ending after it, end at ``until``; ``trace-not-persisted`` events (the
        record of a loss) are kept (the end of the crashed run, as
        :class:`~twin.AlarmEvent` ends an alarm open at the end of a run). For writers whose
        event times are on the trace's time axis (:class:`~twin.Twin`). Returns the number of
        events changed or dropped (0 if the disk refused the rewrite: the log is left as it was).
        """
        if not self._events_file.exists():
            return 0
        events = read_events(self.path)
        kept, changed = [], 0
        for ev in events:
            start, end = ev.get("start"), ev.get("end")
            if ev.get("kind") == TRACE_NOT_PERSISTED:  # the record of a loss is kept
                if end is None:
                    ev = {**ev, "end": start, "note": "the run ended before the trace was persisted again"}
                    changed += 1
                kept.append(ev)
                continue
            if until is None or (isinstance(start, int | float) and start > until):
                changed += 1
                continue
            if end is None or (isinstance(end, int | float) and end > until):
                ev = {**ev, "end": until, "note": "ended at the last complete row of a resumed trace"}
                changed += 1
            kept.append(ev)
        if changed:
            from twin._zarr_writer import _atomic_write

            try:
                _atomic_write(self._events_file, "".join(json.dumps(e, default=float) + "\n" for e in kept).encode())
            except OSError:  # a failing disk: the log stays as the crashed run left it
                return 0
        return changed

    @property
    def pending_rows(self) -> int:
        """Rows buffered in memory, not yet written."""
        return len(self._rows) + sum(len(b[0]) for b in self._blocks)

    @property
    def persisted(self) -> bool:
        """False while the last flush failed (rows are waiting in memory)."""
        return self.error is None

    # -- writing --------------------------------------------------------------------------
    def append(
        self,
        time: float,
        real: np.ndarray,
        virtual: np.ndarray,
        residual: np.ndarray,
        statistic: np.ndarray,
        alarm: np.ndarray,
        quality: np.ndarray,
        gap: float = 0.0,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Buffer one row (arrays over ``tags``; ``extra``: name → row of a :class:`TraceVariable`);
        flush when the interval is due."""
        ext = tuple(v.empty() if extra is None or v.name not in extra else extra[v.name] for v in self.variables)
        self._rows.append((time, real, virtual, residual, statistic, alarm, quality, gap, ext))
        self._last_row_time = float(time)
        if self.error is not None:
            self._trim()
        if len(self._rows) >= self.flush_rows or _time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    @property
    def writable(self) -> bool:
        """False when the path is a foreign directory (not a trace store), which this store never writes into."""
        return self._owned

    def log_event(self, event: dict[str, Any]) -> None:
        """Append one alarm-event record (start or end) to ``events.jsonl``.

        If the disk refuses it, the record waits in memory and is written (in order) by the
        next flush that succeeds.
        """
        self._event_lines.append(json.dumps(event, default=float))
        try:
            self._write_events()
        except OSError:
            pass

    def _write_events(self) -> None:
        """Write the waiting event records; on failure cut the file back (no torn line) and raise."""
        if not self._event_lines or not self._owned:  # not into a foreign directory (its first flush refuses it)
            return
        file = self._events_file
        size = file.stat().st_size if file.exists() else 0
        try:
            with file.open("a") as fh:
                fh.write("\n".join(self._event_lines) + "\n")
        except OSError:
            try:
                if file.exists():
                    os.truncate(file, size)
            except OSError:
                pass
            raise
        self._event_lines = []

    def append_block(
        self,
        time: np.ndarray,
        real: np.ndarray,
        virtual: np.ndarray,
        residual: np.ndarray,
        statistic: np.ndarray,
        alarm: np.ndarray,
        quality: np.ndarray,
        gap: np.ndarray,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Buffer a block of rows (arrays rows × tags; ``time``/``gap`` per row; ``extra`` name → rows
        of a :class:`TraceVariable`); flush when due.

        Equivalent to :meth:`append` row by row, with one flush check per block.
        """
        n = len(time)
        if self._rows:
            self._blocks.append(self._rows_block())
        self._blocks.append((
            np.asarray(time, dtype=float),
            np.stack([real, virtual], axis=1).astype(float),
            np.asarray(residual, dtype=float),
            np.asarray(statistic, dtype=float),
            np.asarray(alarm).astype(np.uint8),
            np.asarray(quality).astype(np.uint16),
            np.asarray(gap, dtype=float),
            *(np.asarray(extra[v.name], dtype=v.dtype) if extra is not None and v.name in extra else v.empty(n)
              for v in self.variables),
        ))
        self._n_block_rows += len(time)
        if len(time):
            self._last_row_time = float(time[-1])
        if self.error is not None:
            self._trim()
        if self._n_block_rows >= self.flush_rows or _time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def _rows_block(self) -> tuple[np.ndarray, ...]:
        rows, self._rows = self._rows, []
        self._n_block_rows += len(rows)
        return (
            np.array([r[0] for r in rows], dtype=float),
            np.stack([np.stack([r[1], r[2]]) for r in rows]).astype(float),
            np.stack([r[3] for r in rows]).astype(float),
            np.stack([r[4] for r in rows]).astype(float),
            np.stack([r[5] for r in rows]).astype(np.uint8),
            np.stack([r[6] for r in rows]).astype(np.uint16),
            np.array([r[7] for r in rows], dtype=float),
            *(np.array([r[8][j] for r in rows], dtype=v.dtype).reshape(len(rows), *v.shape)
              for j, v in enumerate(self.variables)),
        )

    @property
    def created(self) -> bool:
        """True once the store exists on disk (after the first flush with rows)."""
        return self._created

    def flush(self, **attrs: Any) -> None:
        """Write buffered rows to the store (``time`` last); ``attrs`` are added to the store's attrs.

        An ``OSError`` (full disk, I/O error, quota) does not propagate: the rows stay
        buffered (see the class notes), :attr:`error` says why, and the next flush retries.
        """
        self._last_flush = _time.monotonic()
        if self._rows:
            self._blocks.append(self._rows_block())
        self._n_block_rows = 0
        if attrs:
            self._group_attrs.update(sanitize_attrs(attrs))
            self._attrs_dirty = True
        try:
            self._write_events()
            self._write_blocks()
        except OSError as exc:
            self._failed(exc)
            return
        if self.error is not None:
            self._recovered()

    def _write_blocks(self) -> None:
        if not self._blocks:
            if self._attrs_dirty and self._created:
                write_group(self.path, self._group_attrs)
                self._attrs_dirty = False
            return
        blocks = self._blocks
        parts = blocks[0] if len(blocks) == 1 else tuple(np.concatenate(p) for p in zip(*blocks, strict=True))
        self._blocks = [parts]  # one block from now on, also if this write fails
        t = parts[0]
        saved = {name: a.checkpoint() for name, a in self._arrays.items()} if self._created else None
        try:
            if not self._created:
                self._create()
            elif self._attrs_dirty:
                write_group(self.path, self._group_attrs)
            arrays = self._arrays
            for name, rows in zip((*_VARS, *(v.name for v in self.variables)), parts[1:], strict=True):
                arrays[name].append(rows)
            arrays["time"].append(t)  # last: the length of time says which rows are complete
        except OSError:
            if saved is not None:  # the retry rewrites what this attempt half wrote
                for name, state in saved.items():
                    self._arrays[name].rollback(state)
            raise
        self._blocks = []
        self._attrs_dirty = False
        self._created = True
        self.rows_written += len(t)
        self.flushes += 1

    def _failed(self, exc: OSError) -> None:
        """A flush failed: keep the rows, start (or extend) the not-persisted alarm, bound the buffer."""
        self.error = exc
        self.failed_flushes += 1
        pending = self.pending_rows
        self._delayed = pending
        if not self.events or self.events[-1].end is not None:
            first = float(self._blocks[0][0][0]) if self._blocks and len(self._blocks[0][0]) else self._last_row_time
            ev = AlarmEvent(TRACE_EVENT_TAG, TRACE_NOT_PERSISTED, first, magnitude=float(pending), unit="rows")
            self.events.append(ev)
            self.log_event({**ev.as_dict(), "end": None, "message": f"{self.path}: {exc}"})
        ev = self.events[-1]
        ev.magnitude = max(ev.magnitude, float(pending))
        self._trim()

    def _recovered(self) -> None:
        """The first flush that succeeded after failures: end the alarm."""
        self.error = None
        self.rows_buffered_then_written += self._delayed
        self._delayed = 0
        ev = self.events[-1]
        ev.end = self._last_row_time if math.isfinite(self._last_row_time) else ev.start
        self.log_event({**ev.as_dict(), "rows_lost": self.rows_lost})

    def _trim(self) -> None:
        """Drop the oldest buffered rows beyond ``max_buffer_rows`` (while flushes fail), counting them."""
        excess = self.pending_rows - self.max_buffer_rows
        if excess <= 0:
            return
        dropped = 0
        while excess > 0 and self._blocks:
            n = len(self._blocks[0][0])
            if n <= excess:
                self._blocks.pop(0)
                k = n
            else:
                self._blocks[0] = tuple(a[excess:] for a in self._blocks[0])
                k = excess
            excess -= k
            dropped += k
        if excess > 0:
            del self._rows[:excess]
            dropped += excess
        self.rows_lost += dropped
        self._delayed = max(0, self._delayed - dropped)

    def close(self, **attrs: Any) -> None:
        """Flush and record final attrs (e.g. gate summary, alarm events).

        If this last flush fails too, the rows still buffered are counted in
        :attr:`rows_lost` and the not-persisted alarm ends at the last row
        (:attr:`error` stays set).
        """
        self.flush(**attrs)
        if self.error is not None:
            lost = self.pending_rows
            self.rows_lost += lost
            self._rows, self._blocks, self._delayed = [], [], 0
            ev = self.events[-1]
            if ev.end is None:
                ev.end = self._last_row_time if math.isfinite(self._last_row_time) else ev.start
            self.log_event({**ev.as_dict(), "rows_lost": self.rows_lost})

    def _layout(self) -> dict[str, tuple]:
        """Array name → (dtype, row shape, dims, attrs), the layout of the module docstring."""
        n = len(self.tags)
        unit_attr = json.dumps(dict(zip(self.tags, self.units, strict=True)))
        per_tag = {"coordinates": "tag_unit"}
        time_units = _EPOCH_UNITS if self.time_kind == "datetime" else "s"
        return {
            "value": ("f8", (2, n), ("time", "source", "tag"),
                      {"units": "mixed", "long_name": "tag value (units per tag in attrs tag_units)",
                       "tag_units": unit_attr, **per_tag}),
            "residual": ("f8", (n,), ("time", "tag"),
                         {"units": "mixed", "long_name": "residual real - virtual", "tag_units": unit_attr, **per_tag}),
            "statistic": ("f8", (n,), ("time", "tag"),
                          {"units": "1", "long_name": "EWMA/CUSUM statistic / alarm limit", **per_tag}),
            "alarm": ("u1", (n,), ("time", "tag"), {"units": "1", "long_name": "alarm bits (1 limit, 2 EWMA, 4 CUSUM)",
                                                    **per_tag}),
            "quality": ("u2", (n,), ("time", "tag"), {"units": "1", "long_name": "data-quality flag bits", **per_tag}),
            "gap": ("f8", (), ("time",), {"units": "s", "long_name": "missing data before sample"}),
            **{v.name: (v.dtype, v.shape, ("time", *v.dims), {"units": v.units, "long_name": v.long_name})
               for v in self.variables},
            "time": ("f8", (), ("time",), {"units": time_units, "long_name": "time"}),
        }

    def _create(self) -> None:
        """Create an empty store: group, the fixed coordinates and the row arrays (shape 0).

        The directory is new, a trace store being resumed that never completed its first
        flush, or the remains of a first flush that failed: Zarr entries there are replaced,
        ``events.jsonl`` and ``snapshots.jsonl`` kept, anything else refused.
        """
        if self.path.exists():
            names = {p.name for p in self.path.iterdir()} - _STORE_FILES
            if names and not self._owned:
                raise DatasetError(f"{self.path}: exists and is not a trace store ({len(names)} other entries, "
                                   f"e.g. {sorted(names)[0]!r}); give a new or trace-store path")
            for name in names:
                entry = self.path / name
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        write_group(self.path, self._group_attrs)
        for name, dim, values, long_name in (("source", "source", ["real", "virtual"], "real plant or virtual twin"),
                                             ("tag", "tag", self.tags, "plant tag"),
                                             ("tag_unit", "tag", self.units, "unit of each tag"),
                                             *((d, d, vals, d.replace("_", " "))
                                               for d, vals in {d: v.coords[d] for v in self.variables
                                                               for d in v.dims}.items())):
            arr = np.array(values)
            AppendableArray(self.path / name, arr.dtype, (), chunk_rows=max(len(arr), 1), dims=(dim,),
                            attrs={"long_name": long_name}).append(arr)
        self._arrays = {name: AppendableArray(self.path / name, dt, shape, chunk_rows=_CHUNK_ROWS, dims=dims, attrs=at)
                        for name, (dt, shape, dims, at) in self._layout().items()}


_CHUNK_ROWS = 4096  # rows per chunk along time (one chunk per default flush)
