"""map_jobs on a real Dask cluster: same numbers as serial, isolation, owned clients, worker loss."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from tests.scale.conftest import local_cluster
from workbench.errors import ConfigError
from workbench.executors import JobFailure, describe_executor, map_jobs, spawn_seeds, worker_count

pytestmark = pytest.mark.dask


def draw(seed: int) -> float:
    if seed < 0:
        raise ValueError("negative seed")
    return float(np.random.default_rng(seed).normal())


def slow_draw(seed: int) -> tuple[float, int]:
    """0.3 s of work, then the draw and the pid of the process that ran it."""
    time.sleep(0.3)
    return draw(seed), os.getpid()


def die_on_first_seed(seed: int) -> float:
    """A job that kills whichever worker runs it (an FMU segfault, an OOM kill)."""
    if seed == 0:
        os._exit(3)
    return draw(seed)


def test_dask_equals_serial_and_isolates_failures(dask_client):
    seeds = spawn_seeds(11, 20)
    assert map_jobs(draw, seeds, executor=dask_client) == map_jobs(draw, seeds)
    out = map_jobs(draw, [1, -1, 2], executor=dask_client)
    assert isinstance(out[1], JobFailure) and out[1].error == "ValueError: negative seed"
    assert out[0] == draw(1) and out[2] == draw(2)
    with pytest.raises(ValueError, match="negative seed"):
        map_jobs(draw, [1, -1], executor=dask_client, isolate=False)
    assert map_jobs(draw, [], executor=dask_client) == []
    assert worker_count(dask_client) == 2
    assert describe_executor(dask_client) == f"dask:{dask_client.scheduler.address}"
    assert dask_client.status == "running"  # a client passed in is left open


def test_scheduler_address_spelling_opens_and_closes_its_client(dask_client):
    import distributed

    address = dask_client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    seeds = spawn_seeds(3, 6)
    assert map_jobs(draw, seeds, executor=address) == map_jobs(draw, seeds)
    clients = [c for c in distributed.client._global_clients.values() if c.status == "running"]
    assert clients == [dask_client]  # the client map_jobs opened for the address is closed again


def test_unreachable_scheduler_is_a_clear_config_error():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from workbench.executors import _connect

    with pytest.raises(ConfigError, match=rf"cannot reach the Dask scheduler at \"tcp://127.0.0.1:{port}\""):
        _connect(f"tcp://127.0.0.1:{port}", timeout=2)


def test_worker_killed_mid_run_its_jobs_rerun_and_results_are_complete():
    """SIGKILL a worker while it runs a job: the scheduler reruns its jobs elsewhere, nothing is lost."""
    seeds = spawn_seeds(5, 16)
    serial = [draw(s) for s in seeds]
    with local_cluster() as client:
        client.wait_for_workers(2, timeout=60)
        pids = client.run(os.getpid)  # worker address -> pid
        victim: dict[str, object] = {}

        def killer() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                busy = {w: ks for w, ks in client.processing().items() if ks}
                for address, keys in busy.items():
                    if address in pids and time.monotonic() > start + 0.8:  # a few jobs done already
                        victim.update(address=address, pid=pids[address], keys=list(keys))
                        os.kill(pids[address], signal.SIGKILL)
                        return
                time.sleep(0.02)

        start = time.monotonic()
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        out = map_jobs(slow_draw, seeds, executor=client)
        thread.join()
        assert victim, "no worker was killed during the run"
        with pytest.raises(ProcessLookupError):
            os.kill(victim["pid"], 0)  # really dead
        assert not any(isinstance(r, JobFailure) for r in out)
        assert [r[0] for r in out] == serial  # complete and identical
        running = [int(str(k).rsplit("-", 1)[1]) for k in victim["keys"]]  # keys are twin-job-<uuid>-<index>
        assert running and all(out[i][1] != victim["pid"] for i in running)  # rerun by a live process

def test_job_that_keeps_killing_workers_fails_alone():
    """A job that kills every worker it lands on is given up after allowed-failures; the rest finish."""
    with local_cluster(**{"distributed.scheduler.allowed-failures": 1}) as client:
        client.wait_for_workers(2, timeout=60)
        seeds = [5, 0, 7]
        out = map_jobs(die_on_first_seed, seeds, executor=client)
        assert out[0] == draw(5) and out[2] == draw(7)
        assert isinstance(out[1], JobFailure) and out[1].error.startswith("KilledWorker: job 1")
