"""Fixtures for the optimisation tests: a throwaway PostgreSQL server, campaign files."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("initdb")
    return Path(exe).parent if exe else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """Start a PostgreSQL cluster in a temp dir on 127.0.0.1 (as ``nobody`` when root); stop it after."""
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
    root = tempfile.mkdtemp(prefix="twin-pg-", dir="/tmp")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "nobody", "--"]
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    subprocess.run([*as_user, str(pg / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, env=env)
    log = os.path.join(root, "server.log")
    subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "30", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True, env=env)
    try:
        import psycopg2

        for _ in range(50):
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE optuna")
        conn.close()
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(root, ignore_errors=True)


REACTOR_CAMPAIGN = """\
kind: campaign
name: {name}
model:
  type: reactor
  backend: {backend}
  batch_time: 4 h
  jacket_stages: 2
  feed_stages: 2
  jacket_inlet: [340 K, 335 K]
  feed_rate: [1.0e-4, 0]
  output_interval: 120 s
parameters:
  - {{name: jacket_inlet_1, low: 300 K, high: 380 K, unit: K}}
  - {{name: jacket_inlet_2, low: 300 K, high: 380 K, unit: K}}
  - {{name: feed_rate_1, low: 2.0e-5, high: 1.5277777e-4, unit: m3/s}}
objectives:
  - {{metric: yield, direction: maximize}}
constraints:
  - {{metric: impurity, max: {impurity_max}}}
  - {{metric: peak_temperature, max: 360 K, unit: K}}
sampler: {{name: {sampler}, seed: 1}}
budget: {{trials: {trials}}}
"""


@pytest.fixture
def campaign_file(tmp_path):
    """Write a small reactor campaign YAML and return a factory taking format keywords."""

    def make(name="reactor-yield", backend="reference", trials=20, sampler="tpe", impurity_max=0.05):
        path = tmp_path / f"{name}.yaml"
        path.write_text(REACTOR_CAMPAIGN.format(name=name, backend=backend, trials=trials, sampler=sampler,
                                                impurity_max=impurity_max))
        return path

    return make


LINE_SCENARIO = """\
kind: line
name: three_station
source: {interarrival: "exponential(mean=1 min)"}
stations:
  - name: cut
    process_time: "exponential(mean=1.5 min)"
    failures:
      - {basis: busy, ttf: "exponential(mean=4 h)", ttr: "exponential(mean=20 min)"}
  - name: weld
    process_time: "exponential(mean=2.6 min)"
    failures:
      - {basis: busy, ttf: "exponential(mean=3 h)", ttr: "exponential(mean=30 min)"}
  - name: pack
    process_time: "exponential(mean=0.9 min)"
experiment: {horizon: 4 d, warmup: 1 d, replications: 6, seed: 7}
"""


@pytest.fixture
def line_scenario(tmp_path):
    """A three-station line (Poisson arrivals, busy-time failures, unlimited buffers)."""
    path = tmp_path / "three_station.yaml"
    path.write_text(LINE_SCENARIO)
    return path


def _blocked_on(path: Path) -> int:
    """Number of processes waiting for an ``flock`` on ``path`` (Linux ``/proc/locks``)."""
    inode = f":{os.stat(path).st_ino} "
    with open("/proc/locks") as fh:
        return sum(1 for line in fh if "->" in line and inode in line)


@pytest.fixture
def workers_gate():
    """Hold every worker of a campaign at its first trial until all ``n`` are waiting.

    Each worker takes a shared ``flock`` on ``campaign.lock_path`` before its first trial; the
    gate holds it exclusively, waits until ``n`` workers (this process and its children) are
    blocked on it, then releases it, so that all of them start trials at the same moment
    however long the children took to start. Use as ``with workers_gate(camp, n): ...``
    around code that waits for the run (e.g. a thread running ``camp.run``).
    """
    import contextlib
    import fcntl

    if not os.path.exists("/proc/locks"):
        pytest.skip("needs Linux /proc/locks")

    @contextlib.contextmanager
    def gate(camp, n: int, timeout: float = 180.0):
        path = camp.lock_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        released = False

        def release():
            nonlocal released
            if not released:
                released = True
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

        def wait_and_open():
            deadline = time.time() + timeout
            while _blocked_on(path) < n:
                if time.time() > deadline:
                    release()
                    raise AssertionError(f"{n} workers did not reach their first trial in {timeout:.0f} s")
                time.sleep(0.05)
            release()

        try:
            yield wait_and_open
        finally:
            release()

    return gate
