"""Campaign storage: Optuna journal file (flock lock, fsync at trial ends) or an RDB URL; worker locks.

The journal is Optuna's ``JournalStorage`` over :class:`_JournalFile`, a
:class:`optuna.storages.journal.JournalFileBackend` whose writes are serialised with ``flock``
on ``<journal>.flock`` (:func:`_flock_lock`) and forced to disk when a trial finishes
(see :class:`_JournalFile`). ``<storage>.workers`` carries the shared ``flock`` every live
worker holds (:func:`_worker_lock`), which lets a resume tell stale RUNNING trials from live
ones (:meth:`optimization.Campaign.fail_stale_trials`).

Integrity (one JSON record per line, Optuna's format)
    * A write that fails (``ENOSPC``, ``EFBIG``, ``EDQUOT`` …) is cut back to the last complete
      record before the error is raised, so the file never ends in half a record because of a
      full disk.
    * A process killed while writing can still leave a torn last record (no newline, or not
      JSON). :func:`check_journal` (run by a campaign before it writes) cuts it off under the
      journal lock, after a copy of the file to ``<journal>.bak-<UTC time>``; every append
      also looks at the last byte first and repairs a torn tail the same way, so a record is
      never appended onto half of another one.
    * A damaged record followed by more records (the middle of the journal) is not repaired:
      reading stops there with :class:`JournalCorruptError` naming the line;
      :func:`salvage_journal` copies every record before it into a new journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import os
import shlex
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend

# the base class of journal locks is public API (documented) but lives in a private module;
# the operation codes are Optuna's on-disk journal format
from optuna.storages.journal._file import BaseJournalFileLock
from optuna.storages.journal._storage import JournalOperation

from workbench.errors import ConfigError, DataQualityError, WorkbenchError

__all__ = ["make_storage", "check_journal", "salvage_journal", "JournalRepair", "JournalSalvage",
           "JournalCorruptError", "StorageFullError"]

log = logging.getLogger(__name__)

# errno values of "the journal cannot grow": full file system, quota, file size limit
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def make_storage(spec: str | Path):
    """Optuna storage from a URL or a journal file path.

    ``postgresql://...``, ``mysql://...``, ``sqlite:///...`` → :class:`optuna.storages.RDBStorage`
    (heartbeat on, so trials of dead workers are failed); anything else is a file path for
    the journal storage (:class:`_JournalFile` with an ``flock`` lock).
    """
    spec = str(spec)
    if "://" in spec:
        return _rdb_storage(spec)
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(_JournalFile(spec, lock_obj=_flock_lock(spec + ".flock")))


class _FlockLock(BaseJournalFileLock):
    """A journal lock on ``flock``: waiters sleep in the kernel until the holder releases."""

    def __init__(self, lock_path: str):
        self._path = lock_path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _flock_lock(path: str) -> _FlockLock:
    """The journal lock of every process of a campaign (local file systems).

    Optuna's default symlink lock polls with exponential back-off up to 1 s, which costs a
    waiting worker up to a second per storage write when two workers contend, and a lock
    left by a killed worker is only broken after a 30 s grace period. ``flock`` wakes the
    waiter at once and dies with its process. Every process of a campaign opens the journal
    through :func:`make_storage`, so all of them use this lock.
    """
    return _FlockLock(path)


# writes that only touch a trial that has not finished: no fsync of their own
_UNFINISHED_TRIAL_OPS = frozenset(int(op) for op in (
    JournalOperation.CREATE_TRIAL, JournalOperation.SET_TRIAL_PARAM,
    JournalOperation.SET_TRIAL_INTERMEDIATE_VALUE, JournalOperation.SET_TRIAL_USER_ATTR,
    JournalOperation.SET_TRIAL_SYSTEM_ATTR))


class _JournalFile(JournalFileBackend):
    """Optuna's journal file backend, forced to disk when a trial finishes, not at every write.

    :meth:`optuna.storages.journal.JournalFileBackend.append_logs` calls ``fsync`` after every
    record; a trial writes ~12 records (creation, one per parameter, user and constraint
    attributes, its state), and ``fsync`` costs 0.2-2 ms on a busy disk, more than the rest
    of the storage work for a cheap trial. Here records of unfinished trials are written and
    flushed to the operating system (visible to every process at once, kept if a process is
    killed) and ``fsync`` runs for any other record: a trial's final state, study creation.
    ``fsync`` writes the whole file, so a finished trial is on disk with all its attributes.
    The on-disk format is Optuna's (one JSON record per line), readable by plain Optuna.
    """

    def __init__(self, file_path: str, lock_obj: BaseJournalFileLock):
        super().__init__(file_path, lock_obj=lock_obj)
        self._path = file_path
        self._append_lock = lock_obj

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append records under the lock: never onto a torn record, never leaving half of one.

        Before writing, the last byte of the file must be a newline; if it is not, a writer
        died in the middle of a record and the torn record is cut off first (with a backup,
        :func:`check_journal`). If the write fails (a full disk: ``ENOSPC``), the file is cut
        back to the end of the last complete record before the error propagates.
        """
        data = ("\n".join(json.dumps(r, separators=(",", ":")) for r in logs) + "\n").encode("utf-8")
        durable = any(r.get("op_code") not in _UNFINISHED_TRIAL_OPS for r in logs)
        self._append_lock.acquire()
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                start = os.fstat(fd).st_size
                if start and os.pread(fd, 1, start - 1) != b"\n":
                    log.warning("%s", _repair_locked(Path(self._path)))
                    start = os.fstat(fd).st_size
                _write_all(fd, data, start)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            self._append_lock.release()

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        """Optuna's reader; a damaged record in the middle raises :class:`JournalCorruptError`.

        A torn last record is skipped, as Optuna does (it may be a write in progress).
        """
        try:
            yield from super().read_logs(log_number_from)
        except ValueError as exc:  # json.JSONDecodeError or Optuna's "Invalid log format."
            bad = _first_bad_line(Path(self._path).read_bytes())
            if bad is None or bad.last:
                raise
            raise JournalCorruptError.at(Path(self._path), bad) from exc


def _write_all(fd: int, data: bytes, start: int) -> None:
    """Write ``data`` at the end of the file (``start`` bytes long, lock held); on error cut back.

    A short write followed by ``ENOSPC`` leaves part of a record in the file: it is truncated
    to the end of the last complete record (``ftruncate`` frees space, it works on a full disk).
    """
    view = memoryview(data)
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, view[written:])
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start + data.rfind(b"\n", 0, written) + 1)
        raise


# ---------------------------------------------------------------------------- integrity
class JournalCorruptError(DataQualityError):
    """A record in the middle of a campaign journal is damaged; Optuna cannot read past it.

    Attributes ``path`` (the journal), ``line`` (1-based) and ``reason`` name the place.
    Exit code 1 (the run cannot go on; the configuration is not at fault).
    """

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 reason: str = ""):
        super().__init__(message)
        self.path = path
        self.line = line
        self.reason = reason

    @classmethod
    def at(cls, path: Path, bad: _BadLine) -> JournalCorruptError:
        out = _default_salvage_path(path)
        cmd = f"twin optimize salvage {shlex.quote(str(path))} -o {shlex.quote(str(out))}"
        return cls(f"{path}:{bad.line}: damaged journal record ({bad.reason}); Optuna cannot read the "
                   f"journal past it. The {bad.line - 1} records before it are intact: copy them into a new "
                   f"journal with `{cmd}` (Python: optimization.salvage_journal), then resume with "
                   f"--storage {shlex.quote(str(out))}", path=path, line=bad.line, reason=bad.reason)


class StorageFullError(WorkbenchError):
    """The campaign's storage could not grow (disk full, quota, file size limit); the run stopped.

    Every trial finished before the error is in the storage. ``path`` names the storage,
    ``errno`` the condition, ``finished`` the finished trials; ``result`` holds the
    :class:`~optimization.CampaignResult` of those trials when :meth:`Campaign.run` could
    collect it (else None). Exit code 1.
    """

    def __init__(self, message: str, *, path: str | None = None, errno: int | None = None,
                 finished: int | None = None):
        super().__init__(message)
        self.path = path
        self.errno = errno
        self.finished = finished
        self.result = None


def storage_full_cause(exc: BaseException | None) -> OSError | None:
    """The ``OSError`` saying "the storage cannot grow" in ``exc`` or its chain, else None.

    Optuna can replace the error of a failed journal write by its own (a trial it could not
    tell), so the chain (``__cause__``, ``__context__``) is searched.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def storage_full_condition(code: int | None) -> str:
    """What a storage-full errno means, in words."""
    return {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EFBIG: "the file size limit is reached"}.get(code, "the storage cannot grow")


@dataclasses.dataclass(frozen=True)
class _BadLine:
    line: int  # 1-based
    offset: int  # byte offset of its start
    reason: str
    last: bool  # no complete line follows it


def _record_error(line: bytes) -> str | None:
    """Why ``line`` (without its newline) is not a journal record, or None."""
    try:
        rec = json.loads(line)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return f"not JSON: {exc}"
    if not isinstance(rec, dict) or "op_code" not in rec:
        return "JSON but not a journal record (no op_code)"
    return None


def _first_bad_line(data: bytes) -> _BadLine | None:
    """The first line of ``data`` that is not a complete journal record (JSON object + newline)."""
    pos = 0
    number = 0
    size = len(data)
    while pos < size:
        number += 1
        end = data.find(b"\n", pos)
        if end < 0:
            return _BadLine(number, pos, f"{size - pos} bytes without a newline: a torn last record", True)
        why = _record_error(data[pos:end])
        if why is not None:
            return _BadLine(number, pos, why, end + 1 >= size)
        pos = end + 1
    return None


@dataclasses.dataclass(frozen=True)
class JournalRepair:
    """A torn last record cut off a journal by :func:`check_journal`."""

    path: Path
    backup: Path
    line: int
    bytes_cut: int
    reason: str

    def __str__(self) -> str:
        return (f"{self.path}: the last record (line {self.line}) was torn ({self.reason}); cut off "
                f"{self.bytes_cut} bytes, the journal before the repair is in {self.backup}")


def check_journal(path: str | Path) -> JournalRepair | None:
    """Check a journal before writing to it; cut off a torn last record (after a backup).

    Under the journal's exclusive write lock (``<journal>.flock``, the lock of every writer),
    every line must be a JSON journal record ending in a newline. A damaged last line (a write
    interrupted by a kill or a crash) is cut off after the whole file has been copied to
    ``<journal>.bak-<UTC time>`` (an existing backup is never overwritten); the file then ends
    with its last complete record. A missing file is fine (None).

    Returns
    -------
    JournalRepair or None
        What was cut, and where the backup is; None when the journal was intact.

    Raises
    ------
    JournalCorruptError
        A damaged record with complete records after it: not repaired (see
        :func:`salvage_journal`).
    OSError
        The backup could not be written (e.g. ``ENOSPC``); the journal is left as it was.
    """
    path = Path(path)
    if not path.exists():
        return None
    lock = _flock_lock(str(path) + ".flock")
    lock.acquire()
    try:
        return _repair_locked(path)
    finally:
        lock.release()


def _repair_locked(path: Path) -> JournalRepair | None:
    """:func:`check_journal` with the journal lock held by the caller."""
    data = path.read_bytes()
    bad = _first_bad_line(data)
    if bad is None:
        return None
    if not bad.last:
        raise JournalCorruptError.at(path, bad)
    backup = _write_backup(path, data)
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, bad.offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    return JournalRepair(path, backup, bad.line, len(data) - bad.offset, bad.reason)


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (``FileExistsError`` if it exists: nothing is overwritten), write ``data``
    and force it to disk; a failed write leaves no partial file behind."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _write_all(fd, data, 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _write_backup(path: Path, data: bytes) -> Path:
    """Copy ``data`` to a new ``<path>.bak-<UTC time>[-k]`` (never an existing file), fsynced."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for k in range(1000):
        backup = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{k}" if k else ""))
        try:
            _write_new_file(backup, data)
        except FileExistsError:
            continue
        return backup
    raise FileExistsError(f"{path}: 1000 backups named {path.name}.bak-{stamp}* exist already")


# ---------------------------------------------------------------------------- salvage
@dataclasses.dataclass(frozen=True)
class JournalSalvage:
    """What :func:`salvage_journal` copied and what it left behind.

    ``studies`` maps each study to its recovered trials by state; ``lost`` maps a study to
    the numbers of trials that had finished in the damaged journal (as far as its readable
    records tell) but are not finished in the salvaged one.
    """

    source: Path
    output: Path
    records: int
    lines: int
    first_bad_line: int | None
    reason: str
    dropped_records: int
    studies: dict[str, dict[str, int]]
    lost: dict[str, list[int]] | None

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["source"], d["output"] = str(self.source), str(self.output)
        return d

    def __str__(self) -> str:
        if self.first_bad_line is None:
            head = f"{self.source}: all {self.records} records are intact; copied to {self.output}"
        else:
            head = (f"{self.source}: copied the {self.records} records before line {self.first_bad_line} "
                    f"({self.reason}) to {self.output}; dropped that line and the {self.lines - self.records - 1} "
                    f"after it ({self.dropped_records} of them readable records)")
        parts = [head]
        for name, counts in self.studies.items():
            finished = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
            rest = ", ".join(f"{v} {k}" for k, v in counts.items())
            parts.append(f"study {name!r}: {finished} finished trials recovered ({rest or 'no trials'})")
            if counts.get("RUNNING"):
                parts.append(f"  its RUNNING trials ({counts['RUNNING']}) are failed by the next resume")
        if self.lost is None:
            parts.append("lost: the dropped records could not be replayed to name the lost trials")
        else:
            for name, numbers in self.lost.items():
                if numbers:
                    parts.append(f"lost in study {name!r}: {len(numbers)} finished trials ({_ranges(numbers)})")
            if not any(self.lost.values()):
                parts.append("no finished trial was lost")
        return "\n".join(parts)


def salvage_journal(source: str | Path, output: str | Path) -> JournalSalvage:
    """Copy every readable record of a damaged journal, up to the first damaged one, to ``output``.

    Records after the first damaged line are dropped even when they are readable: journal
    records refer to trials by their order of creation, so replaying past a missing record
    could attach values to the wrong trial. The source is not changed; ``output`` must not
    exist. The result names the trials recovered per study and the finished trials lost.

    Raises
    ------
    ConfigError
        ``source`` does not exist, or ``output`` exists already (it is never overwritten).
    """
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise ConfigError(f"{source}: no such journal file")
    if output.exists() or output.resolve() == source.resolve():
        raise ConfigError(f"{output}: exists already; salvage never overwrites a file, give a new "
                          f"output path (-o)")
    lock = _flock_lock(str(source) + ".flock")  # not in the middle of a write
    lock.acquire()
    try:
        data = source.read_bytes()
    finally:
        lock.release()
    bad = _first_bad_line(data)
    cut = len(data) if bad is None else bad.offset
    kept = data[:cut]
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    records = kept.count(b"\n")
    later = [] if bad is None else [ln for ln in data[cut:].split(b"\n")[1:] if ln and _record_error(ln) is None]
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_new_file(output, kept)
    recovered = _trial_states([json.loads(ln) for ln in kept.splitlines()])
    studies = {name: _count(states) for name, states in recovered.items()}
    lost: dict[str, list[int]] | None
    try:
        everything = _trial_states([json.loads(ln) for ln in kept.splitlines()] + [json.loads(ln) for ln in later])
    except Exception:  # noqa: BLE001 - records after a gap may not replay; then the loss is not named
        lost = None
    else:
        done = ("COMPLETE", "PRUNED")
        lost = {name: sorted(n for n, s in states.items()
                             if s in done and recovered.get(name, {}).get(n) not in done)
                for name, states in everything.items()}
    return JournalSalvage(source, output, records, lines, None if bad is None else bad.line,
                          "" if bad is None else bad.reason, len(later), studies, lost)


class _MemoryJournal(BaseJournalBackend):
    """Journal records held in a list (to replay them without a file)."""

    def __init__(self, logs: list[dict[str, Any]]):
        self._logs = logs

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        yield from self._logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        raise RuntimeError("read-only journal")


def _trial_states(logs: list[dict[str, Any]]) -> dict[str, dict[int, str]]:
    """Replay journal records with Optuna: study name → trial number → state name."""
    storage = optuna.storages.JournalStorage(_MemoryJournal(logs))
    out = {}
    for study in storage.get_all_studies():
        sid = storage.get_study_id_from_name(study.study_name)
        out[study.study_name] = {t.number: t.state.name for t in storage.get_all_trials(sid, deepcopy=False)}
    return out


def _count(states: dict[int, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in states.values():
        out[s] = out.get(s, 0) + 1
    return dict(sorted(out.items()))


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3, 7"``."""
    out, start, prev = [], None, None
    for n in [*numbers, None]:
        if start is not None and n is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(out)


def _default_salvage_path(path: Path) -> Path:
    """``run.journal`` → ``run.salvaged.journal`` (beside it)."""
    stem = path.name[:-len(".journal")] if path.name.endswith(".journal") else path.name
    return path.with_name(f"{stem}.salvaged.journal")


def _rdb_storage(url: str, *, attempts: int = 6):
    """RDB storage, tolerating workers that create the schema at the same moment.

    Optuna creates its tables and enum types when a storage is first opened; two
    workers starting together on a fresh database race on that DDL (PostgreSQL
    raises ``UniqueViolation`` on ``pg_type`` or ``DuplicateTable``). The loser
    waits and opens the storage again, when the schema exists.
    """
    import random

    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=30,
                                              engine_kwargs={"pool_pre_ping": True})
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def _worker_lock(path: Path, *, exclusive: bool):
    """Hold a shared (worker) or try an exclusive (resume check) ``flock`` on ``path``.

    Yields True when the lock is held (always for shared; for exclusive: no worker is alive).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if exclusive:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        else:
            fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed child not yet reaped) is not alive either
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
