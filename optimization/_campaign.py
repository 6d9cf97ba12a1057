"""Optuna campaigns: study set-up, trial evaluation, worker processes, resume.

Storage
    The embedded default is Optuna's journal storage with a file backend
    (``JournalStorage(JournalFileBackend(path))``): an append-only log that several local
    worker processes write safely (file locks), unlike SQLite, which locks under parallel
    writers. Writes are serialised with ``flock`` on ``<journal>.flock``; the log is forced to
    disk (``fsync``) when a trial finishes or a study is created, not after each of the ~10
    attribute writes of a running trial: those reach the page cache at once, so other
    processes see them and a killed worker loses nothing; a power failure can only lose
    records of trials that had not finished, which a resume fails anyway
    (:mod:`optimization._storage`). An RDB URL (``postgresql://user@host/db``) scales to many hosts.
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
Journal integrity
    Before it opens the journal, a campaign checks it (:func:`optimization._storage.check_journal`):
    a torn last record (a write cut short by a kill) is cut off after a backup copy and
    reported (:attr:`Campaign.journal_repairs`, a warning); a damaged record in the middle stops
    with :class:`~optimization._storage.JournalCorruptError` naming the line and the salvage
    command. A full disk (``ENOSPC``, also ``EDQUOT``, ``EFBIG``) in this process or a worker
    ends the run with :class:`~optimization._storage.StorageFullError`; the failed write is cut
    back to the last complete record, every finished trial stays in the journal and a resume
    fails the trials that were running.
Workers
    ``workers=N`` runs trials in this process and in N - 1 child processes that share the
    study through the storage; each has its own sampler seed (``spawn_seeds``), TPE uses the
    constant-liar strategy. The calling process starts trials at once while the children
    start (a child needs seconds to import NumPy, xarray, Optuna …), and every worker takes
    the next trial until finished + running trials reach the budget, so nobody waits for a
    slow start or a slow trial. Children come from a ``forkserver`` (Linux): one clean
    server process imports the worker's modules once and forks every child from there
    (no threads, FMU instances or database connections of the caller are inherited, unlike
    ``fork``); elsewhere ``spawn``. A child that dies is reported and its trials are
    failed and run again by the caller.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing.connection
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from optimization._config import CampaignConfig
from optimization._problems import build_problem
from optimization._search_space import OnSpaceChange, open_study
from optimization._storage import (
    STORAGE_FULL_ERRNOS,
    JournalRepair,
    StorageFullError,
    _pid_alive,
    _worker_lock,
    check_journal,
    make_storage,
    storage_full_cause,
    storage_full_condition,
)
from optimization._workers import (
    _Budget,
    _Progress,
    _Starter,
    _trial_counts,
    _worker_context,
    _worker_main,
)
from workbench.errors import ConfigError, WorkbenchError
from workbench.executors import spawn_seeds

__all__ = ["Campaign", "make_storage", "load_campaign"]

log = logging.getLogger(__name__)

_HAS_SET_CONSTRAINT = hasattr(optuna.trial.Trial, "set_constraint")


def load_campaign(path: str | Path, *, overrides: Mapping[str, Any] | None = None,
                  storage: str | None = None, on_space_change: OnSpaceChange = "refuse") -> Campaign:
    """Read a ``kind: campaign`` YAML file into a :class:`Campaign`."""
    from workbench.config import load_config

    path = Path(path)
    cfg = load_config(path, CampaignConfig, overrides=overrides, kind="campaign")
    return Campaign(cfg, base_dir=path.parent, storage=storage, on_space_change=on_space_change)


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
    on_space_change
        When the search space differs from the one recorded in the study: ``"refuse"``
        (:class:`ConfigError` naming what changed), ``"new-study"`` or ``"resume-anyway"``
        (:mod:`optimization._search_space`).
    study_name
        Use this study of the storage as it is (a worker process of a run that chose it).

    Attributes
    ----------
    journal_repairs
        Torn last records cut off the journal by :meth:`study` (``JournalRepair``: path,
        backup, line, bytes cut), in order.
    space_changes
        What changed since the search space of the study resumed with ``resume-anyway``.
    """

    def __init__(self, config: CampaignConfig, *, base_dir: str | Path | None = None,
                 storage: str | None = None, on_space_change: OnSpaceChange = "refuse",
                 study_name: str | None = None):
        self.config = config
        self.base_dir = Path(base_dir or ".").resolve()
        spec = storage or config.storage or str(self.base_dir / f"{config.name}.journal")
        if "://" not in spec and not Path(spec).is_absolute():
            spec = str(self.base_dir / spec)
        self.storage_spec = spec
        self._problem = None
        self.journal_repairs: list[JournalRepair] = []
        self.on_space_change = on_space_change
        self._study_name = study_name
        self.space_changes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ set-up
    @property
    def problem(self):
        """The evaluated problem (reactor or line), built on first use."""
        if self._problem is None:
            self._problem = build_problem(self.config, self.base_dir)
        return self._problem

    @property
    def study_name(self) -> str:
        """The study in the storage: the campaign's name, ``<name>-2`` … after ``--new-study``."""
        return self._study_name or self.config.name

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.config.objectives]

    def study(self, *, sampler_seed: int | None = None, workers: int = 1):
        """Create or load the Optuna study in the storage.

        A journal is checked first: a torn last record is cut off (backup kept) and added to
        :attr:`journal_repairs`, with a warning; a damaged record in the middle raises
        :class:`~optimization._storage.JournalCorruptError` (see the module docstring).
        """
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if "://" not in self.storage_spec:
            try:
                repair = check_journal(self.storage_spec)
            except OSError as exc:
                if exc.errno not in STORAGE_FULL_ERRNOS:
                    raise
                raise StorageFullError(
                    f"{self.storage_spec}: the journal ends in a torn record, and {storage_full_condition(exc.errno)} "
                    f"({exc.strerror}): the backup copy to keep before cutting it off could not be written; free "
                    f"space and run again", path=self.storage_spec, errno=exc.errno) from exc
            if repair is not None:
                self.journal_repairs.append(repair)
                log.warning("campaign %r: %s", self.study_name, repair)
        try:
            storage = make_storage(self.storage_spec)
            sampler = self.sampler(sampler_seed, workers=workers)
            if self._study_name is not None:  # chosen already (this run, or its parent process)
                return optuna.load_study(study_name=self._study_name, storage=storage, sampler=sampler)
            study, choice = open_study(storage, sampler, self.config, self.on_space_change, where=self.storage_spec)
            self._study_name, self.space_changes = choice.name, choice.changes
            return study
        except OSError as exc:
            if exc.errno not in STORAGE_FULL_ERRNOS:
                raise
            raise self._storage_full(None, exc) from exc

    def sampler(self, seed: int | None = None, *, workers: int = 1):
        """The configured Optuna sampler with the campaign's constraints."""
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
        """The Optuna objective: suggest, simulate (pruning in chunks), record, return.

        A storage write that fails because the disk is full (``ENOSPC``, ``EDQUOT``, ``EFBIG``)
        ends the optimisation loop with :class:`_StorageFullStop`, which is not an ``Exception``:
        Optuna neither tries to write the trial's FAIL state onto the full disk nor logs a
        traceback; the trial stays RUNNING and the next resume fails it.
        """
        try:
            return self._trial(trial)
        except OSError as exc:
            if exc.errno in STORAGE_FULL_ERRNOS:
                raise _StorageFullStop(exc) from exc
            raise

    def _trial(self, trial):
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

        seed = _trial_seed(self.config.sampler.seed, trial.number) % (2**31)
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
    def _worker_modules(self) -> list[str]:
        """Modules a worker process of this campaign imports (the forkserver's preload).

        ``__main__`` first (what ``spawn`` imports in every child), then the campaign code and
        the simulator of the problem: the reactor FMU runtime or its SciPy reference, or the
        SimPy line model.
        """
        mods = ["__main__", "optimization._campaign", "optuna"]
        model = self.config.model
        if model.type == "line":
            return [*mods, "simulation.line"]
        from optimization._reactor import resolve_backend

        if resolve_backend(model.backend) == "fmu":
            return [*mods, "fmu_models"]
        return [*mods, "scipy.integrate", "fmu_models.reference.reactor"]

    def finished_trials(self, study=None) -> int:
        """Number of COMPLETE and PRUNED trials in the study."""
        return _trial_counts(study or self.study())[0]

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
        """Run (or resume) the campaign until the budget is spent, then collect the results.

        Parameters
        ----------
        workers
            Processes running trials: this one and ``workers - 1`` children sharing the study.
        n_trials
            Budget of finished trials in the study (default ``budget.trials``).
        timeout
            Wall-clock budget in s (default ``budget.timeout``).
        progress
            Show a progress bar (or call ``progress(done, total)``).

        Returns
        -------
        CampaignResult

        Raises
        ------
        StorageFullError
            The storage could not grow (full disk); ``result`` holds the finished trials.
        """
        study = self.study(workers=workers)
        try:
            self.optimize(workers=workers, n_trials=n_trials, timeout=timeout, progress=progress, study=study)
        except StorageFullError as exc:
            try:
                exc.result = self.results(study)
            except Exception:  # noqa: BLE001 - the storage error is the one to report
                log.exception("campaign %r: could not collect the finished trials", self.study_name)
            raise
        return self.results(study)

    def results(self, study=None, *, trajectory: bool = True):
        """The campaign's results so far, read from its storage; runs no new trial.

        Parameters
        ----------
        study
            The Optuna study (default: this campaign's study in its storage).
        trajectory
            Add the best recipe's trajectory (one memoised simulation; see
            :func:`optimization._results.collect_results`).

        Returns
        -------
        CampaignResult
        """
        from optimization._results import collect_results

        return collect_results(self, study if study is not None else self.study(), trajectory=trajectory)

    def optimize(self, *, workers: int = 1, n_trials: int | None = None, timeout: float | None = None,
                 progress: bool | Callable[[int, int], None] = False, study=None) -> int:
        """Run (or resume) the trials of the campaign; :meth:`run` without collecting results.

        Fails stale trials of dead workers, then runs trials until ``n_trials`` are finished
        or running in the study (see the module docstring for the workers).

        Parameters
        ----------
        workers, n_trials, timeout
            As in :meth:`run`.
        progress
            Show a progress bar (or call ``progress(done, total)``); default off.
        study
            An open study of this campaign (default: :meth:`study`).

        Returns
        -------
        int
            Finished (complete or pruned) trials in the study.

        Raises
        ------
        StorageFullError
            A write to the storage failed because it cannot grow (``ENOSPC``, ``EDQUOT``,
            ``EFBIG``) in this process or a worker; the finished trials are in the storage.
        """
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        total = int(n_trials or self.config.budget.trials)
        timeout = timeout if timeout is not None else self.config.budget.timeout
        study = study if study is not None else self.study(workers=workers)
        try:
            self.fail_stale_trials(study)
            _ = self.problem.envelopes  # build once here, fail early on bad envelopes
            done = self.finished_trials(study)
            remaining = total - done
            if remaining > 0:
                bar = _Progress(progress, total, done)
                try:
                    if workers == 1:
                        self._optimize(study, remaining, total, timeout, bar)
                    else:
                        self._run_processes(study, workers, remaining, total, timeout, bar)
                finally:
                    bar.close()
        except (Exception, _StorageFullStop) as exc:
            cause = storage_full_cause(exc)
            if cause is None:
                raise
            raise self._storage_full(study, cause) from cause
        return self.finished_trials(study)

    def _storage_full(self, study, cause: OSError) -> StorageFullError:
        """The error that ends a campaign whose storage cannot grow, with the finished trials."""
        finished = None
        if study is not None:
            with contextlib.suppress(Exception):  # the count is a courtesy
                finished = _trial_counts(study)[0]
        where = self.storage_spec
        n = "its" if finished is None else f"the {finished}"
        return StorageFullError(
            f"{where}: {storage_full_condition(cause.errno)} ({cause.strerror}); the campaign stopped. "
            f"{n.capitalize()} finished trials are in the journal. Free space (or move the journal to another "
            f"disk and give it with --storage) and run the same command again to resume: a record cut short "
            f"is cut off (with a backup) and trials that were running are failed and run again",
            path=where, errno=cause.errno, finished=finished)

    def _optimize(self, study, n_trials: int, total: int, timeout: float | None, bar=None) -> None:
        """Run trials in this process until ``total`` trials are finished or running, at most ``n_trials``."""
        budget = _Budget(total, bar)
        n = min(n_trials, budget.left(study))
        if n <= 0:
            return
        with _worker_lock(self.lock_path, exclusive=False):
            study.optimize(self.objective, n_trials=n, timeout=timeout, callbacks=[budget],
                           catch=(WorkbenchError,), gc_after_trial=False)

    def _run_processes(self, study, workers: int, remaining: int, total: int, timeout: float | None,
                       bar) -> None:
        """Run trials here and in ``workers - 1`` child processes; see the module docstring."""
        t0 = time.monotonic()
        seeds = [int(s % (2**31)) for s in spawn_seeds(self.config.sampler.seed + total - remaining, workers)]
        payload = self.config.model_dump(mode="json")
        ctx = _worker_context(self._worker_modules())
        procs = [ctx.Process(target=_worker_main, name=f"{self.study_name}-worker-{i}",
                             args=(payload, str(self.base_dir), self.storage_spec, seeds[i], remaining, total,
                                   timeout, self.study_name))
                 for i in range(1, workers)]
        # start the children from a thread: the first start waits for the forkserver's imports,
        # while this process already runs trials
        starter = _Starter(procs)
        study.sampler = self.sampler(seeds[0], workers=workers)
        try:
            self._optimize(study, remaining, total, timeout, bar)
            starter.join()
            live = [p for p in procs if p.pid is not None]
            while any(p.exitcode is None for p in live):
                multiprocessing.connection.wait([p.sentinel for p in live if p.exitcode is None], timeout=0.5)
                if bar is not None:
                    bar.update(_trial_counts(study)[0])
            full = [p.exitcode for p in live if p.exitcode in STORAGE_FULL_ERRNOS]
            if full:  # a worker found the storage full (its exit code is the errno): stop here too
                raise OSError(full[0], os.strerror(full[0]), self.storage_spec)
            crashed = [f"{p.name} (pid {p.pid}, exit code {p.exitcode})" for p in live if p.exitcode]
            if starter.error is not None or crashed:
                why = ", ".join(crashed) or f"could not start: {starter.error}"
                log.warning("campaign %r: worker %s; failing its running trials and running "
                            "the rest of the budget in this process", self.study_name, why)
                self.fail_stale_trials(study)
                left = None if timeout is None else timeout - (time.monotonic() - t0)
                if left is None or left > 0:
                    self._optimize(study, remaining, total, left, bar)
        except BaseException:
            starter.join()
            for p in procs:
                if p.pid is not None and p.exitcode is None:
                    p.terminate()
            raise
        finally:
            starter.join()
            for p in procs:
                if p.pid is not None:
                    p.join()


class _StorageFullStop(BaseException):
    """Raised out of the objective when the storage is full; see :meth:`Campaign.objective`."""


def _trial_seed(root: int, number: int) -> int:
    """Seed of trial ``number``: ``spawn_seeds(root, number + 1)[-1]`` without the first ``number``.

    ``spawn_seeds`` derives children of ``np.random.SeedSequence(root)``; child k is the
    sequence with ``spawn_key=(k,)`` (NumPy's ``SeedSequence.spawn``), so one child costs
    O(1) instead of O(k) per trial (k = 5000: 50 ms).
    """
    child = np.random.SeedSequence(root, spawn_key=(number,))
    return int(child.generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1 << 31, 1])


def _constraints_func(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", [0.0]))


def _t_halfwidth(x, confidence: float) -> float:
    from scipy import stats

    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return math.inf
    return float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
