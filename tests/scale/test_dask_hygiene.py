"""Dask clusters the project starts listen on 127.0.0.1 only; benchmarks leave no global Dask state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.executors import local_cluster, map_jobs

pytestmark = pytest.mark.dask

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", "::1")


def _listening(proc) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of ``proc`` and its descendants."""
    out = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            conns = p.net_connections(kind="tcp") if hasattr(p, "net_connections") else p.connections(kind="tcp")
        except psutil.Error:  # a child that just ended
            continue
        out += [(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


def _http_sockets(dask_worker=None, dask_scheduler=None) -> list[str]:
    """Addresses the HTTP server of this scheduler or worker listens on (run inside it)."""
    server = (dask_worker or dask_scheduler).http_server
    return [s.getsockname()[0] for s in server._sockets.values()]  # noqa: SLF001 - tornado's bound sockets


def _check_loopback_only(cluster, client) -> None:
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert cluster.dashboard_link.startswith("http://127.0.0.1:")
    assert set(_http_sockets(dask_scheduler=cluster.scheduler)) <= set(LOOPBACK)
    workers = client.scheduler_info()["workers"]
    assert workers and all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
    assert all(set(hosts) <= set(LOOPBACK) for hosts in client.run(_http_sockets).values())
    wide = [(ip, port) for ip, port in _listening(psutil.Process()) if ip not in LOOPBACK]
    assert not wide, f"listening beyond 127.0.0.1: {wide}"


def test_local_cluster_listens_on_loopback_only():
    with local_cluster(2, memory_limit=0, silence_logs=40) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        _check_loopback_only(cluster, client)
        assert map_jobs(abs, [-1, -2, 3], executor=client) == [1, 2, 3]


def test_local_cluster_refuses_address_options():
    with pytest.raises(ConfigError, match="dashboard_address=':8787' cannot be chosen.*127.0.0.1 only"):
        local_cluster(1, dashboard_address=":8787")


def test_the_test_suite_cluster_listens_on_loopback_only(dask_client):
    _check_loopback_only(dask_client.cluster, dask_client)


def test_the_benchmark_cluster_listens_on_loopback_only():
    from benchmarks.scaling import _cluster

    cluster, client = _cluster(1)
    try:
        _check_loopback_only(cluster, client)
    finally:
        client.close()
        cluster.close()


# In a fresh process: a default client of this test session would mask a leak.
SCALING_SEQUENCE = """
import json, dask, distributed
from benchmarks.scaling import _cluster
from workbench.executors import map_jobs
clusters = [_cluster(1), _cluster(2)]
for _, client in clusters:
    assert map_jobs(abs, [-1, 2], executor=client) == [1, 2]
for cluster, client in clusters:  # closed in creation order, as benchmarks/scaling.py does
    client.close()
    cluster.close()
try:
    default = repr(distributed.default_client())
except ValueError:
    default = None
print(json.dumps({"scheduler": dask.config.get("scheduler", None), "default_client": default}))
"""


def test_scaling_benchmark_clusters_leave_no_global_dask_state():
    """The cause of the `make bench` crash: after scaling, twin_loop's reads found scheduler="dask.distributed"."""
    proc = subprocess.run([sys.executable, "-c", SCALING_SEQUENCE], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"scheduler": None, "default_client": None}


def test_benchmark_runner_undoes_what_a_benchmark_leaves():
    import dask

    from benchmarks.run import isolated

    def default_client():
        try:
            return distributed.default_client()
        except ValueError:
            return None

    scheduler, client_before = dask.config.get("scheduler", None), default_client()
    failures = dask.config.get("distributed.scheduler.allowed-failures")
    cluster = local_cluster(1, processes=False)
    try:
        with isolated():  # a careless benchmark: a default client left open, config set without a context
            leaked = distributed.Client(cluster)
            dask.config.set({"scheduler": "dask.distributed", "distributed.scheduler.allowed-failures": 99})
            assert default_client() is leaked
        assert leaked.status == "closed"
        assert dask.config.get("scheduler", None) == scheduler
        assert dask.config.get("distributed.scheduler.allowed-failures") == failures
        assert default_client() is client_before
        assert dask.delayed(sum)([1, 2]).compute() == 3  # what failed in `make bench` after scaling
    finally:
        cluster.close()
