"""Campaign workers: this process plus children, budget sharing, a dead child, journal writes, seeds."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import time

import numpy as np
import optuna
import pytest

from optimization import load_campaign
from optimization._campaign import _trial_counts, _trial_seed
from optimization._storage import make_storage
from tests.optimization.test_campaign import finish, run_in_thread
from workbench.executors import spawn_seeds


def _slow(path, interval="1 s"):
    """The campaign with a fine output grid: reference-backend trials of ~0.15-0.3 s."""
    path.write_text(path.read_text().replace("output_interval: 120 s", f"output_interval: {interval}"))
    return path


def test_cheap_trials_do_not_wait_for_the_children(campaign_file):
    """This process runs trials at once; a child that arrives after the budget adds none."""
    camp = load_campaign(campaign_file(name="cheap", trials=6))
    t0 = time.perf_counter()
    res = camp.run(workers=2, progress=False)
    wall = time.perf_counter() - t0
    numbers = res.trials["trial"].values.tolist()
    assert sorted(numbers) == list(range(len(numbers)))
    assert 6 <= sum(s in ("COMPLETE", "PRUNED") for s in res.trials["state"].values) <= 7
    assert f"{socket.gethostname()}:{os.getpid()}" in set(res.trials["worker"].values)
    assert wall < 120


def test_a_killed_child_is_failed_and_its_share_run_here(campaign_file, workers_gate, caplog):
    camp = load_campaign(_slow(campaign_file(name="kill-child", trials=10)))
    me = f"{socket.gethostname()}:{os.getpid()}"
    with caplog.at_level(logging.WARNING, logger="optimization._campaign"):
        with workers_gate(camp, 2) as open_gate:
            th, box = run_in_thread(camp, workers=2, progress=False)
            open_gate()
        watch = camp.study()
        victim = None
        deadline = time.time() + 120
        while victim is None and time.time() < deadline and th.is_alive():
            for t in watch.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                who = t.user_attrs.get("worker", "")
                if who and who != me:
                    victim = (t.number, int(who.rpartition(":")[2]))
                    break
            time.sleep(0.005)
        assert victim is not None, "no trial of the child was seen running"
        os.kill(victim[1], signal.SIGKILL)
        res = finish(th, box)
    final = dict(zip(res.trials["trial"].values.tolist(), res.trials["state"].values.tolist(), strict=True))
    assert final[victim[0]] == "FAIL"  # the trial the child was running when it died
    assert "RUNNING" not in final.values()
    assert 10 <= sum(s in ("COMPLETE", "PRUNED") for s in final.values()) <= 11  # budget met here
    assert any("exit code -9" in r.getMessage() for r in caplog.records)
    assert not mp.active_children()


def test_budget_counts_trials_other_workers_are_running(campaign_file):
    camp = load_campaign(campaign_file(name="budget", trials=4))
    study = camp.study()
    study._storage.create_new_trial(study._study_id)  # another worker's trial, still running
    camp._optimize(study, 4, 4, None)
    assert _trial_counts(study) == (3, 1)  # 3 finished here + 1 running elsewhere = the budget


def test_journal_is_forced_to_disk_when_a_trial_finishes(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    path = str(tmp_path / "s.journal")
    study = optuna.create_study(storage=make_storage(path), study_name="s")
    assert len(synced) == 1  # creating the study

    def objective(trial):
        trial.set_user_attr("worker", "w")
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_int("y", 1, 3)
        trial.set_user_attr("metrics", {"m": x * y})
        trial.set_constraint("c", x - 0.5)
        return x * y

    study.optimize(objective, n_trials=5)
    assert len(synced) == 1 + 5  # one per finished trial, not one per record (7 records a trial)
    # the file is Optuna's journal format: plain Optuna reads the same trials
    from optuna.storages.journal import JournalFileBackend

    plain = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(JournalFileBackend(path)))
    got = [(t.number, t.state, t.values, t.params, t.user_attrs, t.system_attrs) for t in plain.trials]
    want = [(t.number, t.state, t.values, t.params, t.user_attrs, t.system_attrs) for t in study.trials]
    assert got == want and len(got) == 5


@pytest.mark.parametrize("root", [0, 1, 7, 2**40 + 3])
def test_trial_seed_is_the_spawned_seed(root):
    n = 300
    want = spawn_seeds(root, n)
    assert [_trial_seed(root, k) for k in range(n)] == want
    assert len(set(np.asarray(want) % (2**31))) == n
