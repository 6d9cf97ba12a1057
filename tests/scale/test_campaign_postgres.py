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
    code = "import sys; from twin_app.cli.main import main; sys.argv[0] = 'twin'; sys.exit(main())"
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


def _open_storage(url: str, barrier) -> str:
    from optimization._campaign import make_storage

    barrier.wait()  # every process creates the schema at the same moment
    make_storage(url)
    return "ok"


def test_workers_creating_the_schema_together_all_start(postgres_url: str):
    """Optuna creates tables and enum types on first open; simultaneous first opens must not fail."""
    import multiprocessing as mp
    import uuid

    import psycopg2

    name = "fresh_" + uuid.uuid4().hex[:8]
    conn = psycopg2.connect(postgres_url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    ctx = mp.get_context("spawn")
    n = 4
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            results = pool.starmap(_open_storage, [(url, barrier)] * n)
    assert results == ["ok"] * n
