"""Campaign storage: Optuna journal file (flock lock, fsync at trial ends) or an RDB URL; worker locks.

The journal is Optuna's ``JournalStorage`` over :class:`_JournalFile`, a
:class:`optuna.storages.journal.JournalFileBackend` whose writes are serialised with ``flock``
on ``<journal>.flock`` (:func:`_flock_lock`) and forced to disk when a trial finishes
(see :class:`_JournalFile`). ``<storage>.workers`` carries the shared ``flock`` every live
worker holds (:func:`_worker_lock`), which lets a resume tell stale RUNNING trials from live
ones (:meth:`optimization.Campaign.fail_stale_trials`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend

# the base class of journal locks is public API (documented) but lives in a private module;
# the operation codes are Optuna's on-disk journal format
from optuna.storages.journal._file import BaseJournalFileLock
from optuna.storages.journal._storage import JournalOperation

__all__ = ["make_storage"]


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
        data = ("\n".join(json.dumps(r, separators=(",", ":")) for r in logs) + "\n").encode("utf-8")
        durable = any(r.get("op_code") not in _UNFINISHED_TRIAL_OPS for r in logs)
        self._append_lock.acquire()
        try:
            with open(self._path, "ab") as fh:
                fh.write(data)
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
        finally:
            self._append_lock.release()


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
