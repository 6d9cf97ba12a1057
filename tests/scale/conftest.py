"""Fixtures for the scale-out tests: real Dask clusters over TCP on 127.0.0.1 only, PostgreSQL.

The PostgreSQL server fixture is the one of the optimisation tests (imported, not copied).
"""

from __future__ import annotations

import contextlib

import pytest

from tests.optimization.conftest import postgres_url  # noqa: F401 - fixture

distributed = pytest.importorskip("distributed")


@contextlib.contextmanager
def local_cluster(**config):
    """A ``LocalCluster`` of 2 worker processes (1 thread each) over TCP, and a client; always closed."""
    import dask

    from workbench.executors import local_cluster as loopback_cluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 3, **config}):
        cluster = loopback_cluster(2, threads_per_worker=1, processes=True, memory_limit=0, silence_logs=40)
        try:
            client = distributed.Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


@pytest.fixture(scope="package")
def dask_client():
    """One shared 2-worker cluster for the equality tests of this package (nobody kills its workers).

    Package scope: the cluster's processes and connections end with tests/scale, so they do
    not run beside the live OPC UA tests that come later in the suite."""
    with local_cluster() as client:
        client.wait_for_workers(2, timeout=60)
        yield client
