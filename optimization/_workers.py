"""Worker processes of a campaign: their start method, their entry point, the shared trial
budget and the progress bar (see :mod:`optimization._campaign`, "Workers")."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading

import optuna

from optimization._config import CampaignConfig
from optimization._storage import storage_full_cause, storage_full_condition


def _worker_context(modules: list[str]):
    """``forkserver`` that imports ``modules`` before it forks children (Linux), else ``spawn``.

    The preload takes effect when the server starts, i.e. for the first campaign with
    workers in this process; later children import what is missing themselves.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(modules)
        return ctx
    return mp.get_context("spawn")


class _Starter(threading.Thread):
    """Starts worker processes in the background; remembers why starting failed."""

    def __init__(self, procs: list):
        super().__init__(name="campaign-worker-starter", daemon=True)
        self.procs = procs
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            for p in self.procs:
                p.start()
        except Exception as exc:  # noqa: BLE001 - reported by the caller, which runs the trials itself
            self.error = exc


def _worker_main(payload: dict, base_dir: str, storage: str, seed: int, n_trials: int, total: int,
                 timeout: float | None, study_name: str | None = None) -> None:
    """Entry point of one child worker process.

    A full storage ends the worker with the ``errno`` as exit code and one line on stderr
    (no traceback); the parent turns it into :class:`StorageFullError`.
    """
    from optimization._campaign import Campaign, _StorageFullStop

    try:
        cfg = CampaignConfig.model_validate(payload)
        camp = Campaign(cfg, base_dir=base_dir, storage=storage, study_name=study_name)
        study = camp.study(sampler_seed=seed, workers=2)
        camp._optimize(study, n_trials, total, timeout)
    except (Exception, _StorageFullStop) as exc:
        cause = storage_full_cause(exc)
        if cause is None:
            raise
        print(f"{mp.current_process().name}: {storage}: {storage_full_condition(cause.errno)} "
              f"({cause.strerror}); worker stopped", file=sys.stderr, flush=True)
        sys.exit(cause.errno)


def _trial_counts(study) -> tuple[int, int]:
    """(finished, running) trials of the study; one storage read."""
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.RUNNING))
    running = sum(t.state == states.RUNNING for t in trials)
    return len(trials) - running, running


class _Budget:
    """Optuna callback: stop once finished + running trials reach ``total``; update the progress.

    Counting the trials other workers are running stops a worker that would otherwise start
    one more trial at the end of the budget (Optuna's ``MaxTrialsCallback`` counts finished
    trials only, so N workers overshoot by up to N - 1 trials).
    """

    def __init__(self, total: int, bar=None):
        self.total = total
        self.bar = bar

    def left(self, study) -> int:
        finished, running = _trial_counts(study)
        return self.total - finished - running

    def __call__(self, study, trial) -> None:
        finished, running = _trial_counts(study)
        if self.bar is not None:
            self.bar.update(finished)
        if finished + running >= self.total:
            study.stop()


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
