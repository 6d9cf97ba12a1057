"""Optuna campaigns: study set-up, trial evaluation, worker processes, resume.

Storage
    The embedded default is Optuna's journal storage with a file backend
    (``JournalStorage(JournalFileBackend(path))``): an append-only log that several local
    worker processes write safely (file locks), unlike SQLite, which locks under parallel
    writers. Writes are serialised with ``flock`` on ``<journal>.flock`` (see
    :func:`_flock_lock` for why not Optuna's default symlink lock). An RDB URL (``postgresql://user@host/db``) scales to many hosts.
Resume
    Every finished trial is in the storage the moment it finishes. Running the campaign
    again loads the study, marks trials left RUNNING by dead workers as FAIL, and runs only
    the trials still missing from the budget. A RUNNING trial is stale when

    * its ``worker`` attribute names a process on this host that is gone, or
    * no worker of this campaign is alive on this host at all: every worker holds a shared
      ``flock`` on ``<storage>.workers`` while it runs (the kernel drops it when the process
      dies, even on SIGKILL); if the resuming process can take the lock exclusively, every
      RUNNING trial is stale, including one created by ``study.optimize`` in the instant
      before its ``worker`` attribute was written.

    With an RDB URL shared by several hosts the lock only sees this host; Optuna's heartbeat
    (``heartbeat_interval=10 s``, ``grace_period=30 s``) fails trials of dead remote workers.
Workers
    ``workers=N`` starts N processes that share the study through the storage; each has
    its own sampler seed (``spawn_seeds``), TPE uses the constant-liar strategy.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import multiprocessing as mp
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from optimization._config import CampaignConfig
from optimization._problems import build_problem
from workbench.errors import ConfigError, WorkbenchError
from workbench.executors import spawn_seeds

__all__ = ["Campaign", "make_storage", "load_campaign"]

_FINISHED = ("COMPLETE", "PRUNED")


def _has_set_constraint() -> bool:
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


_HAS_SET_CONSTRAINT = _has_set_constraint()


def load_campaign(path: str | Path, *, overrides: Mapping[str, Any] | None = None,
                  storage: str | None = None) -> Campaign:
    """Read a ``kind: campaign`` YAML file into a :class:`Campaign`."""
    from workbench.config import load_config

    path = Path(path)
    cfg = load_config(path, CampaignConfig, overrides=overrides, kind="campaign")
    return Campaign(cfg, base_dir=path.parent, storage=storage)


def make_storage(spec: str | Path):
    """Optuna storage from a URL or a journal file path.

    ``postgresql://...``, ``mysql://...``, ``sqlite:///...`` → :class:`optuna.storages.RDBStorage`
    (heartbeat on, so trials of dead workers are failed); anything else is a file path for
    the journal storage.
    """
    import optuna

    spec = str(spec)
    if "://" in spec:
        return _rdb_storage(spec)
    from optuna.storages.journal import JournalFileBackend

    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(spec, lock_obj=_flock_lock(spec + ".flock")))


def _flock_lock(path: str):
    """A journal lock on ``flock``: waiters sleep in the kernel until the holder releases.

    Optuna's default symlink lock polls with exponential back-off up to 1 s, which costs a
    waiting worker up to a second per storage write when two workers contend, and a lock
    left by a killed worker is only broken after a 30 s grace period. ``flock`` wakes the
    waiter at once and dies with its process. Every process of a campaign opens the journal
    through :func:`make_storage`, so all of them use this lock (local file systems).
    """
    # the base class is public API (documented) but lives in a private module
    from optuna.storages.journal._file import BaseJournalFileLock

    class FlockLock(BaseJournalFileLock):
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

    return FlockLock(path)


def _rdb_storage(url: str, *, attempts: int = 6):
    """RDB storage, tolerating workers that create the schema at the same moment.

    Optuna creates its tables and enum types when a storage is first opened; two
    workers starting together on a fresh database race on that DDL (PostgreSQL
    raises ``UniqueViolation`` on ``pg_type`` or ``DuplicateTable``). The loser
    waits and opens the storage again, when the schema exists.
    """
    import random

    import optuna
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


class Campaign:
    """A recipe optimisation campaign bound to its storage.

    Parameters
    ----------
    config
        The campaign configuration.
    base_dir
        Directory of the campaign file (default journal location, relative paths).
    storage
        RDB URL or journal path; overrides ``config.storage``; default
        ``<base_dir>/<name>.journal``.
    """

    def __init__(self, config: CampaignConfig, *, base_dir: str | Path | None = None,
                 storage: str | None = None):
        self.config = config
        self.base_dir = Path(base_dir or ".").resolve()
        spec = storage or config.storage or str(self.base_dir / f"{config.name}.journal")
        if "://" not in spec and not Path(spec).is_absolute():
            spec = str(self.base_dir / spec)
        self.storage_spec = spec
        self._problem = None

    # ------------------------------------------------------------------ set-up
    @property
    def problem(self):
        """The evaluated problem (reactor or line), built on first use."""
        if self._problem is None:
            self._problem = build_problem(self.config, self.base_dir)
        return self._problem

    @property
    def study_name(self) -> str:
        return self.config.name

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.config.objectives]

    def study(self, *, sampler_seed: int | None = None, workers: int = 1):
        """Create or load the Optuna study in the storage."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = make_storage(self.storage_spec)
        return optuna.create_study(storage=storage, study_name=self.study_name, load_if_exists=True,
                                   directions=self.directions,
                                   sampler=self.sampler(sampler_seed, workers=workers))

    def sampler(self, seed: int | None = None, *, workers: int = 1):
        """The configured Optuna sampler with the campaign's constraints."""
        import optuna

        s = self.config.sampler
        seed = s.seed if seed is None else seed
        opts = dict(s.options)
        multi = len(self.config.objectives) > 1
        # Optuna >= 5 reads constraints set on the trial (Trial.set_constraint); older versions
        # take them through the sampler's constraints_func
        cons = _constraints_func if (self.config.constraints and not _HAS_SET_CONSTRAINT) else None
        if s.n_startup_trials is not None and s.name in ("tpe", "cmaes", "gp"):
            opts.setdefault("n_startup_trials", s.n_startup_trials)
        if s.name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, constraints_func=cons, multivariate=True,
                                              constant_liar=workers > 1, **opts)
        if s.name == "cmaes":
            if multi:
                raise ConfigError("sampler cmaes optimises one objective; use nsga2 or tpe", path="sampler.name")
            return optuna.samplers.CmaEsSampler(seed=seed, **opts)
        if s.name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cons, **opts)
        if s.name == "gp":
            return optuna.samplers.GPSampler(seed=seed, constraints_func=cons, **opts)
        if s.name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, **opts)
        return optuna.samplers.RandomSampler(seed=seed)

    # ------------------------------------------------------------------ one trial
    def suggest(self, trial) -> dict[str, Any]:
        """Draw the trial's parameters from the search space."""
        out = {}
        for p in self.config.parameters:
            if p.type == "float":
                out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log, step=p.step)
            elif p.type == "int":
                out[p.name] = trial.suggest_int(p.name, p.low, p.high, step=p.step, log=p.log)
            else:
                out[p.name] = trial.suggest_categorical(p.name, p.choices)
        return out

    def constraint_names(self) -> list[str]:
        """Names of the constraint values, e.g. ``"impurity<=0.05"``."""
        out = []
        for c in self.config.constraints:
            if c.max is not None:
                out.append(f"{c.metric}<={c.max:g}")
            if c.min is not None:
                out.append(f"{c.metric}>={c.min:g}")
        return out

    def _record_constraints(self, trial, cons: list[float]) -> None:
        trial.set_user_attr("constraints", cons)
        if not self.config.constraints:
            return
        if _HAS_SET_CONSTRAINT:
            for name, v in zip(self.constraint_names(), cons, strict=False):
                trial.set_constraint(name, float(v))
        elif self.config.sampler.name in ("cmaes", "random", "qmc"):
            # samplers without constraints_func: store them where Optuna looks for them
            trial.storage.set_trial_system_attr(trial._trial_id, "constraints", cons)

    def constraint_values(self, metrics: Mapping[str, float]) -> list[float]:
        """Constraint values, ``<= 0`` when satisfied (Optuna's convention)."""
        vals = []
        for c in self.config.constraints:
            v = float(metrics[c.metric])
            if c.max is not None:
                vals.append(v - float(c.max))
            if c.min is not None:
                vals.append(float(c.min) - v)
        return vals

    def evaluate(self, values: Mapping[str, Any], *, seed: int = 0, on_chunk=None) -> dict[str, Any]:
        """Metrics of one recipe with noise handling (repeats until the CI target)."""
        problem = self.problem
        noise = self.config.noise
        chunks = self.config.pruning.chunks if self.config.pruning.enabled else 1
        if not problem.stochastic:
            m = problem.evaluate(values, seed=seed, chunks=chunks, on_chunk=on_chunk)
            return {"metrics": m, "repeats": 1, "ci_halfwidth": 0.0}
        first = self.config.objectives[0].metric
        seeds = spawn_seeds(seed, noise.max_repeats)
        runs: list[dict[str, float]] = []
        half = math.inf
        for k, s in enumerate(seeds):
            runs.append(problem.evaluate(values, seed=s))
            if k + 1 >= max(noise.min_repeats, 2) and noise.ci_halfwidth is not None:
                half = _t_halfwidth([r[first] for r in runs], noise.confidence)
                if half <= noise.ci_halfwidth:
                    break
            elif k + 1 >= noise.min_repeats and noise.ci_halfwidth is None:
                break
        keys = runs[0].keys()
        mean = {k: float(np.mean([r[k] for r in runs])) for k in keys}
        if len(runs) > 1:
            half = _t_halfwidth([r[first] for r in runs], noise.confidence)
        return {"metrics": mean, "repeats": len(runs), "ci_halfwidth": half if math.isfinite(half) else float("nan")}

    def objective(self, trial):
        """The Optuna objective: suggest, simulate (pruning in chunks), record, return."""
        import optuna

        # first thing: who owns this trial, so a resume can fail it if this process dies
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        values = self.suggest(trial)
        single = len(self.config.objectives) == 1
        tol = self.config.pruning.tolerance
        step = [0]

        def on_chunk(t: float, partial: dict[str, float]) -> None:
            step[0] += 1
            if single:
                trial.report(partial.get(self.config.objectives[0].metric, partial["envelope_violation"]), step[0])
            if self.config.pruning.enabled and partial["envelope_violation"] > tol:
                trial.set_user_attr("pruned_reason",
                                    f"left the envelope by {partial['envelope_violation']:.3g} at t={t:.0f} s")
                names = self.constraint_names()
                cons = [partial["envelope_violation"] - tol if n.startswith("envelope_violation<=") else 0.0
                        for n in names] or [partial["envelope_violation"]]
                self._record_constraints(trial, cons)
                raise optuna.TrialPruned()

        seed = int(spawn_seeds(self.config.sampler.seed, trial.number + 1)[-1] % (2**31))
        try:
            res = self.evaluate(values, seed=seed, on_chunk=on_chunk)
        except WorkbenchError as exc:
            trial.set_user_attr("error", str(exc))
            raise
        metrics = res["metrics"]
        cons = self.constraint_values(metrics)
        trial.set_user_attr("metrics", {k: float(v) for k, v in metrics.items()})
        self._record_constraints(trial, cons)
        trial.set_user_attr("repeats", res["repeats"])
        trial.set_user_attr("ci_halfwidth", res["ci_halfwidth"])
        out = [float(metrics[o.metric]) for o in self.config.objectives]
        return out[0] if single else out

    # ------------------------------------------------------------------ running
    def finished_trials(self, study=None) -> int:
        import optuna

        study = study or self.study()
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return len(study.get_trials(deepcopy=False, states=states))

    @property
    def lock_path(self) -> Path:
        """File whose shared ``flock`` every live worker of this campaign holds."""
        if "://" in self.storage_spec:
            return self.base_dir / f".{self.study_name}.workers"
        return Path(self.storage_spec + ".workers")

    def fail_stale_trials(self, study) -> list[int]:
        """Mark RUNNING trials of dead workers as FAIL (after a kill); return their numbers.

        See the module docstring for the rule (dead worker pid, or no live worker at all).
        """
        import optuna

        host = socket.gethostname()
        stale = []
        with _worker_lock(self.lock_path, exclusive=True) as nobody_alive:
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                who = t.user_attrs.get("worker", "")
                h, _, pid = who.partition(":")
                dead = h == host and pid.isdigit() and not _pid_alive(int(pid))
                if nobody_alive and (not who or h == host):
                    dead = True
                if dead:
                    study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
                    stale.append(t.number)
        if "://" in self.storage_spec:
            try:
                optuna.storages.fail_stale_trials(study)
            except Exception:  # noqa: BLE001 - heartbeat housekeeping is best effort
                pass
        return stale

    def run(self, *, workers: int = 1, n_trials: int | None = None, timeout: float | None = None,
            progress: bool | Callable[[int, int], None] = True):
        """Run (or resume) the campaign until the budget is spent.

        Parameters
        ----------
        workers
            Worker processes sharing the study (1: run in this process).
        n_trials
            Budget of finished trials in the study (default ``budget.trials``).
        timeout
            Wall-clock budget in s (default ``budget.timeout``).
        progress
            Show a progress bar (or call ``progress(done, total)``).

        Returns
        -------
        CampaignResult
        """
        from optimization._results import collect_results

        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        total = int(n_trials or self.config.budget.trials)
        timeout = timeout if timeout is not None else self.config.budget.timeout
        study = self.study(workers=workers)
        self.fail_stale_trials(study)
        _ = self.problem.envelopes  # build once here, fail early on bad envelopes
        done = self.finished_trials(study)
        remaining = total - done
        if remaining > 0:
            if workers == 1:
                self._optimize(study, remaining, total, timeout, progress)
            else:
                self._run_processes(workers, remaining, total, timeout, progress)
        return collect_results(self, self.study())

    def _optimize(self, study, remaining, total, timeout, progress) -> None:
        import optuna

        cb = [optuna.study.MaxTrialsCallback(total, states=(optuna.trial.TrialState.COMPLETE,
                                                            optuna.trial.TrialState.PRUNED))]
        bar = _Progress(progress, total, self.finished_trials(study))
        cb.append(lambda s, t: bar.update(self.finished_trials(s)))
        try:
            with _worker_lock(self.lock_path, exclusive=False):
                study.optimize(self.objective, n_trials=remaining, timeout=timeout, callbacks=cb,
                               catch=(WorkbenchError,), gc_after_trial=False)
        finally:
            bar.close()

    def _run_processes(self, workers, remaining, total, timeout, progress) -> None:
        ctx = mp.get_context("spawn")
        seeds = spawn_seeds(self.config.sampler.seed + self.finished_trials(), workers)
        shares = [remaining // workers + (1 if i < remaining % workers else 0) for i in range(workers)]
        payload = self.config.model_dump(mode="json")
        procs = [ctx.Process(target=_worker_main, args=(payload, str(self.base_dir), self.storage_spec,
                                                         int(seeds[i] % (2**31)), shares[i], total, timeout),
                             daemon=False)
                 for i in range(workers) if shares[i] > 0]
        for p in procs:
            p.start()
        # one storage for the polling: a new JournalStorage would replay the whole log each time
        watch = self.study(workers=workers)
        bar = _Progress(progress, total, self.finished_trials(watch))
        try:
            while any(p.is_alive() for p in procs):
                time.sleep(0.5)
                if bar.bar is not None or bar.fn is not None:
                    bar.update(self.finished_trials(watch))
        except KeyboardInterrupt:
            for p in procs:
                p.terminate()
            raise
        finally:
            for p in procs:
                p.join()
            bar.close()


def _worker_main(payload: dict, base_dir: str, storage: str, seed: int, n_trials: int, total: int,
                 timeout: float | None) -> None:
    """Entry point of one worker process (spawned)."""
    cfg = CampaignConfig.model_validate(payload)
    camp = Campaign(cfg, base_dir=base_dir, storage=storage)
    study = camp.study(sampler_seed=seed, workers=2)
    camp._optimize(study, n_trials, total, timeout, progress=False)


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


def _constraints_func(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", [0.0]))


def _t_halfwidth(x, confidence: float) -> float:
    from scipy import stats

    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return math.inf
    return float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


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


class _Progress:
    def __init__(self, progress, total: int, done: int):
        self.fn = progress if callable(progress) else None
        self.total = total
        self.bar = None
        if progress is True:
            from rich.progress import Progress

            self.bar = Progress(transient=False)
            self.bar.start()
            self.task = self.bar.add_task("trials", total=total, completed=done)

    def update(self, done: int) -> None:
        if self.fn is not None:
            self.fn(done, self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=min(done, self.total))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
