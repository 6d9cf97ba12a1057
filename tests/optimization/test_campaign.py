"""Campaign runner: storage, workers, resume after kill, PostgreSQL, infeasible campaigns."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optimization import Campaign, load_campaign
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: campaign\nname: x\nparameters:\n  - {name: a, low: 5 K, high: 1 K, unit: K}\n"
                   "objectives: [{metric: yield}]\n")
    with pytest.raises(ConfigError, match=r"low < high"):
        load_campaign(bad)
    bad.write_text("kind: campaign\nname: x\nparameters:\n  - {name: jacket_inlet_1, low: 300, high: 320, unit: K}\n"
                   "objectives: [{metric: yeild}]\n")
    camp = load_campaign(bad)
    with pytest.raises(ConfigError, match="yield"):
        _ = camp.problem


def run_in_thread(camp, **kwargs):
    """``camp.run(**kwargs)`` in a thread; returns ``(thread, box)`` with the result or error in ``box``."""
    box: dict = {}

    def target():
        try:
            box["result"] = camp.run(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            box["error"] = exc

    th = threading.Thread(target=target)
    th.start()
    return th, box


def finish(th, box, timeout=300):
    th.join(timeout)
    assert not th.is_alive(), "the campaign did not finish"
    if "error" in box:
        raise box["error"]
    return box["result"]


def test_journal_storage_two_workers_one_study(campaign_file, workers_gate):
    camp = load_campaign(campaign_file(trials=16))
    assert camp.storage_spec.endswith(".journal")
    with workers_gate(camp, 2) as open_gate:  # this process and its child start trials together
        th, box = run_in_thread(camp, workers=2, progress=False)
        open_gate()
        res = finish(th, box)
    numbers = res.trials["trial"].values.tolist()
    assert sorted(numbers) == list(range(len(numbers)))  # no duplicated or missing numbers
    states = list(res.trials["state"].values)
    assert 16 <= sum(s in ("COMPLETE", "PRUNED") for s in states) <= 17  # at most one trial over
    assert "RUNNING" not in states
    workers = set(res.trials["worker"].values)
    assert len(workers) == 2  # two processes wrote into one study: this one and a child
    assert f"{socket.gethostname()}:{os.getpid()}" in workers
    assert res.status in ("ok", "infeasible")
    paths = res.write(campaign_file().parent / "out")
    assert all(p.exists() for p in paths)


def test_resume_after_kill_loses_no_finished_trial(campaign_file, tmp_path):
    path = campaign_file(trials=60)
    journal = tmp_path / "kill.journal"
    code = ("import sys; from optimization import load_campaign; "
            f"load_campaign(r'{path}', storage=r'{journal}').run(workers=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    camp = load_campaign(path, storage=str(journal))
    deadline = time.time() + 90
    before = []
    while time.time() < deadline:
        time.sleep(0.5)
        if journal.exists():
            study = camp.study()
            before = [(t.number, t.values[0]) for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
            if len(before) >= 5:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(before) >= 5, "the worker did not finish 5 trials in time"
    study = camp.study()
    after_kill = {t.number: t.values[0] for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"}
    assert all(after_kill[n] == v for n, v in before)  # nothing finished was lost
    res = camp.run(workers=1, n_trials=len(after_kill) + 3, progress=False)
    final = {int(n): s for n, s in zip(res.trials["trial"].values, res.trials["state"].values, strict=True)}
    assert all(final[n] == "COMPLETE" for n in after_kill)
    assert "RUNNING" not in final.values()  # the killed worker's trial was failed on resume
    assert sum(s in ("COMPLETE", "PRUNED") for s in final.values()) == len(after_kill) + 3


@pytest.mark.postgres
def test_two_workers_on_postgresql(campaign_file, postgres_url, workers_gate):
    camp = load_campaign(campaign_file(name="pg-campaign", trials=12), storage=postgres_url)
    with workers_gate(camp, 2) as open_gate:
        th, box = run_in_thread(camp, workers=2, progress=False)
        open_gate()
        res = finish(th, box)
    import optuna

    summaries = optuna.get_all_study_summaries(storage=postgres_url)
    assert [s.study_name for s in summaries] == ["pg-campaign"]
    numbers = res.trials["trial"].values.tolist()
    assert sorted(numbers) == list(range(len(numbers)))  # no duplicated or missing numbers
    assert 12 <= sum(s in ("COMPLETE", "PRUNED") for s in res.trials["state"].values) <= 13
    assert len(set(res.trials["worker"].values)) == 2


def test_infeasible_campaign_ends_with_a_report(campaign_file):
    camp = load_campaign(campaign_file(name="impossible", trials=6, impurity_max=1e-6))
    res = camp.run(workers=1, progress=False)
    assert res.status == "infeasible"
    assert res.best is None
    assert "no feasible recipe" in res.message and "impurity" in res.message


def test_pruning_stops_recipes_that_leave_the_envelope(tmp_path, campaign_file):
    from optimization import EnvelopeBand

    camp = load_campaign(campaign_file(name="pruned", trials=6))
    # a tight band around 335 K: most recipes leave it in the first chunk
    camp.problem._envelopes = [EnvelopeBand("T", [0.0, 14400.0], [330.0, 330.0], [336.0, 336.0], "K")]
    camp.config.pruning.chunks = 4
    camp.config.constraints.append(type(camp.config.constraints[0])(metric="envelope_violation", max=0.0))
    res = camp.run(workers=1, progress=False)
    states = list(res.trials["state"].values)
    assert "PRUNED" in states


def test_campaign_object_from_config():
    from optimization import CampaignConfig

    cfg = CampaignConfig(name="x", parameters=[{"name": "jacket_inlet", "low": "60 degC", "high": "80 degC",
                                                "unit": "K"}], objectives=[{"metric": "yield"}])
    assert cfg.parameters[0].low == pytest.approx(333.15)
    assert isinstance(Campaign(cfg), Campaign)
