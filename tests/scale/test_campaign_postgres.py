"""Campaign workers in separate OS processes (as on separate hosts) share one PostgreSQL study; no trial is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.optimization.conftest import REACTOR_CAMPAIGN

pytestmark = pytest.mark.postgres


def _twin(*args: str) -> subprocess.Popen:
    code = "import sys; from twin.cli.main import main; sys.argv[0] = 'twin'; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def test_independent_campaign_processes_share_the_study(tmp_path: Path, postgres_url: str):
    import optuna

    path = tmp_path / "pg-hosts.yaml"
    path.write_text(REACTOR_CAMPAIGN.format(name="pg-hosts", backend="reference", trials=12, sampler="tpe",
                                            impurity_max=0.05))
    # two `twin optimize run` commands started independently, as an operator would on host A and host B
    procs = [_twin("optimize", "run", str(path), "--storage", postgres_url, "--json") for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert json.loads(out)["status"] == "ok"
    study = optuna.load_study(study_name="pg-hosts", storage=postgres_url)
    trials = study.get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(len(trials)))  # no duplicated or missing trial numbers
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states and "WAITING" not in states  # nothing left behind
    finished = sum(s in ("COMPLETE", "PRUNED") for s in states)
    assert 12 <= finished <= 13  # the budget, plus at most one trial the other process had started
    assert all(t.values is not None and len(t.values) == 1 for t in trials if t.state.name == "COMPLETE")
    workers = {t.user_attrs.get("worker") for t in trials}
    assert len(workers) == 2, workers  # both processes ran trials
