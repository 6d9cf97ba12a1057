"""The two-host recipe of docs/scaling.md, on one machine: `dask scheduler` + two `dask worker` processes.

Each worker is started by the Dask command line, as it would be on host A and host B, and
connects over TCP; `twin life run --dask ADDRESS` must give the numbers of a local run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from twin_app.cli.main import main

pytestmark = [pytest.mark.dask, pytest.mark.slow]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(SCENARIOS.parent)})


def test_scheduler_and_workers_from_the_dask_cli(capsys):
    import distributed

    if not Path(sys.executable).with_name("dask").exists():
        pytest.skip("the dask command line is not installed next to this Python")
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                   "--dashboard-address", "127.0.0.1:0")]  # (":0" would serve HTTP on every interface)
    argv = ["life", "run", str(SCENARIOS / "pump_station_life.yaml"), "--engine", "event", "--seed", "5",
            "--set", "simulation.replications=4", "--set", "simulation.horizon=4380 h", "--json"]
    try:
        procs += [_dask("worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                        "--name", name, "--dashboard-address", "127.0.0.1:0", "--memory-limit", "0", "--no-nanny")
                  for name in ("host-a", "host-b")]  # they retry until the scheduler is up
        capsys.readouterr()
        assert main(argv) == 0  # the local reference while the workers start
        local = json.loads(capsys.readouterr().out)
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            names = sorted(w["name"] for w in client.scheduler_info()["workers"].values())
        assert names == ["host-a", "host-b"]
        assert main([*argv, "--dask", address]) == 0
        remote = json.loads(capsys.readouterr().out)
        assert remote["kpis"] == local["kpis"] and remote["components"] == local["components"]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
