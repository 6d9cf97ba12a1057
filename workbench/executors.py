"""Run many independent jobs on serial, process-pool or Dask executors.

Anything that runs many independent simulations (replications, Monte-Carlo
lives, FMU parameter sweeps, campaign trials) calls :func:`map_jobs`. Seeds
are derived up front with :func:`spawn_seeds`, so the same root seed gives
the same numbers on every executor.

``executor`` may be

* ``None`` / ``"serial"`` / ``1``: run in this process;
* an ``int`` n > 1 or ``"processes:n"``: a local :class:`~concurrent.futures.ProcessPoolExecutor`;
* any :class:`concurrent.futures.Executor`;
* a Dask ``distributed.Client`` (anything with ``submit`` and ``gather``),
  a Dask cluster object (``distributed.LocalCluster``, anything with a
  ``scheduler_address``), or a scheduler address ``"tcp://host:8786"``.

:func:`local_cluster` starts a Dask cluster on this machine that listens on
127.0.0.1 only (Dask's own default serves HTTP on every interface).

On Dask, a worker that dies mid-run (killed, out of memory, segfault in an FMU)
is handled by the scheduler: its tasks are rerun on the surviving workers, so
the results are complete and, because every job carries its own seed,
identical. A job that kills ``distributed.scheduler.allowed-failures`` + 1
workers (default 4) in a row is given up: with ``isolate=True`` its slot holds
a :class:`JobFailure` naming the lost workers; the other jobs carry on.
Clients and pools that :func:`map_jobs` creates from a spelling (an int,
``"processes:N"``, an address, a cluster) are closed when it returns; objects
passed in are left open for the caller.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import ConfigError

__all__ = ["JobFailure", "map_jobs", "spawn_seeds", "resolve_executor", "describe_executor", "worker_count",
           "local_cluster"]


@dataclass(frozen=True)
class JobFailure:
    """The result slot of a job that raised; the other jobs carry on.

    Attributes
    ----------
    index
        Position of the job in the input sequence.
    error
        ``"ExceptionType: message"``.
    traceback
        Formatted traceback from the worker.
    """

    index: int
    error: str
    traceback: str = ""

    def __bool__(self) -> bool:  # a failure is falsy, so `if result:` skips it
        return False


def spawn_seeds(seed: int | None, n: int) -> list[int]:
    """Derive ``n`` independent 63-bit seeds from one root seed (NumPy SeedSequence).

    Parameters
    ----------
    seed
        Root seed; None draws fresh entropy (the result is then not reproducible).
    n
        Number of child seeds.

    Returns
    -------
    list of int
    """
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1 << 31, 1]) for c in children]


class _Guarded:
    """Picklable wrapper turning an exception into a :class:`JobFailure`."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, indexed: tuple[int, Any]) -> Any:
        index, item = indexed
        try:
            return self.fn(item)
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            return JobFailure(index, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _is_dask_client(ex: Any) -> bool:
    return hasattr(ex, "gather") and hasattr(ex, "submit")


def _is_dask_cluster(ex: Any) -> bool:
    return hasattr(ex, "scheduler_address") and not _is_dask_client(ex)


def _connect(address: str, timeout: float = 10.0) -> Any:
    """Client for a running Dask scheduler; a clear error when it cannot be reached."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f'executor: cannot reach the Dask scheduler at "{address}" within {timeout:g} s ({exc}); '
            "start one with `dask scheduler` (and `dask worker ADDRESS` on each host) or use "
            '"serial" / "processes:N"'
        ) from exc


_LOOPBACK = "127.0.0.1"


def local_cluster(n_workers: int = 2, *, threads_per_worker: int = 1, dashboard: bool = False,
                  **kwargs: Any) -> Any:
    """Start a Dask ``distributed.LocalCluster`` that listens on 127.0.0.1 only.

    The scheduler, the workers and every HTTP endpoint (Dask's dashboard,
    ``/health``, ``/metrics``) bind the loopback interface on free ports, so
    nothing is reachable from another host and two clusters never clash over a
    port. (``LocalCluster``'s own defaults serve HTTP on every interface:
    ``dashboard_address=":8787"``.)

    Parameters
    ----------
    n_workers
        Workers (processes, unless ``processes=False``).
    threads_per_worker
        Threads in each worker; 1 suits the simulators, which hold the GIL.
    dashboard
        Serve Dask's dashboard (needs ``bokeh``) at ``cluster.dashboard_link``,
        on 127.0.0.1.
    **kwargs
        Passed on to ``LocalCluster`` (``memory_limit``, ``silence_logs``,
        ``processes``, ...).

    Returns
    -------
    distributed.LocalCluster
        Close it (or use it as a context manager); pass it, or a ``Client`` of
        it, as ``executor``.

    Raises
    ------
    ConfigError
        If ``kwargs`` names an address option (``host``, ``interface``,
        ``protocol``, ``dashboard_address``, ``worker_dashboard_address``).
    """
    from distributed import LocalCluster

    fixed = sorted({"host", "interface", "protocol", "dashboard_address", "worker_dashboard_address"} & set(kwargs))
    if fixed:
        given = ", ".join(f"{k}={kwargs[k]!r}" for k in fixed)
        raise ConfigError(f"local_cluster: {given} cannot be chosen: the cluster listens on "
                          f"{_LOOPBACK} only; use distributed.LocalCluster directly to serve other hosts")
    # The scheduler's HTTP server listens even without a dashboard: pin it to the loopback
    # interface too (Dask's default for it is port 8787 on every interface).
    scheduler_kwargs = {**(kwargs.pop("scheduler_kwargs", None) or {}), "dashboard": dashboard,
                        "dashboard_address": f"{_LOOPBACK}:0"}
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, host=_LOOPBACK,
                        protocol="tcp://", dashboard_address=None, worker_dashboard_address=None,
                        scheduler_kwargs=scheduler_kwargs, **kwargs)


def resolve_executor(executor: Any) -> Any:
    """Turn the user's ``executor`` argument into None, an Executor or a Dask client.

    Raises
    ------
    ConfigError
        For an unknown spelling, or a scheduler address that cannot be reached.
    """
    if executor is None or executor == "serial" or executor == 1:
        return None
    if isinstance(executor, int) and not isinstance(executor, bool):
        if executor < 1:
            raise ConfigError(f"executor: {executor} workers is not valid; use an integer >= 1")
        return cf.ProcessPoolExecutor(max_workers=executor)
    if isinstance(executor, str):
        if executor.startswith("processes"):
            _, _, n = executor.partition(":")
            return cf.ProcessPoolExecutor(max_workers=int(n) if n else None)
        if executor.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            return _connect(executor)
        raise ConfigError(
            f'executor: "{executor}" is not known; use "serial", "processes:N" or "tcp://host:8786"'
        )
    if _is_dask_cluster(executor):
        from distributed import Client

        return Client(executor)
    return executor


def describe_executor(executor: Any) -> str:
    """Short text naming the executor (for provenance attrs and logs)."""
    ex = executor
    if ex is None or ex == "serial" or ex == 1:
        return "serial"
    if isinstance(ex, int):
        return f"processes:{ex}"
    if isinstance(ex, str):
        return ex
    if isinstance(ex, cf.ProcessPoolExecutor):
        return f"processes:{ex._max_workers}"  # noqa: SLF001
    if _is_dask_cluster(ex):
        return f"dask:{ex.scheduler_address}"
    if hasattr(ex, "scheduler_info"):
        try:
            return f"dask:{ex.scheduler.address}"
        except AttributeError:  # a closed client
            return "dask"
    return type(ex).__name__


def worker_count(executor: Any) -> int:
    """Number of jobs the executor runs at once (for chunk sizes).

    Serial 1; a pool its ``max_workers``; a Dask client the total threads of
    its workers at call time (at least 1).
    """
    ex = executor
    if ex is None or ex == "serial" or ex == 1:
        return 1
    if isinstance(ex, int) and not isinstance(ex, bool):
        return max(1, ex)
    if isinstance(ex, str):
        if ex.startswith("processes"):
            n = ex.partition(":")[2]
            return int(n) if n else (os.cpu_count() or 1)
        return 1 if not ex.startswith(("tcp://", "tls://", "inproc://", "ucx://")) else 4
    if _is_dask_client(ex):
        try:
            workers = ex.scheduler_info()["workers"].values()
            return max(1, sum(int(w.get("nthreads", 1)) for w in workers))
        except Exception:  # noqa: BLE001 - a closed or unreachable client
            return 1
    if _is_dask_cluster(ex):
        return max(1, sum(int(getattr(w, "nthreads", 1) or 1) for w in getattr(ex, "workers", {}).values()))
    return max(1, int(getattr(ex, "_max_workers", 0) or 1))


def map_jobs(
    fn: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    *,
    executor: Any = None,
    progress: bool | str = False,
    isolate: bool = True,
) -> list[Any]:
    """Apply ``fn`` to every item, in order, on the chosen executor.

    Parameters
    ----------
    fn
        Picklable callable (module-level function or object) for pools/Dask.
    items
        Job inputs; each should carry its own seed (see :func:`spawn_seeds`).
    executor
        See the module docstring.
    progress
        Show a progress bar (True, or a description string).
    isolate
        If True a failing job yields a :class:`JobFailure` in its slot;
        if False the first exception propagates.

    Returns
    -------
    list
        One result per item, in input order.
    """
    items = list(items)
    indexed = list(enumerate(items))
    call: Callable[[tuple[int, Any]], Any] = _Guarded(fn) if isolate else (lambda p: fn(p[1]))
    owned = not (executor is None or isinstance(executor, cf.Executor) or _is_dask_client(executor))
    ex = resolve_executor(executor)
    results: list[Any] = [None] * len(items)
    bar = _progress(progress, len(items))
    try:
        if ex is None:
            for pair in indexed:
                results[pair[0]] = call(pair)
                bar.advance()
        elif _is_dask_client(ex):
            _run_dask(ex, call if isolate else _Raising(fn), indexed, results, bar, isolate)
        else:
            call = call if isolate else _Raising(fn)
            futures = {ex.submit(call, pair): pair[0] for pair in indexed}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.advance()
    finally:
        bar.close()
        if owned and ex is not None:
            (ex.close if _is_dask_client(ex) else ex.shutdown)()
    return results


def _run_dask(client: Any, call: Callable[[tuple[int, Any]], Any], indexed: list[tuple[int, Any]],
              results: list[Any], bar: _progress, isolate: bool) -> None:
    """Submit every job to a Dask client, fill ``results`` as futures finish.

    ``client.map`` sends the callable once per batch of tasks; ``pure=False``
    keeps equal inputs apart. Each future is released as soon as its result is
    here, so workers do not hold finished results.
    """
    from distributed import as_completed

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - moved in some releases
        from distributed import KilledWorker  # type: ignore[no-redef]

    if not indexed:
        return
    futures = client.map(call, indexed, pure=False, key=[f"twin-job-{uuid.uuid4().hex}-{i}" for i, _ in indexed])
    slot = {f.key: i for f, (i, _) in zip(futures, indexed, strict=True)}
    try:
        for fut in as_completed(futures, loop=client.loop):  # the loop of this client, default or not
            index = slot[fut.key]
            try:
                results[index] = fut.result()
            except KilledWorker as exc:
                if not isolate:
                    raise
                results[index] = JobFailure(index, f"KilledWorker: job {index} was running on workers that "
                                                   f"died too many times ({exc}); it was given up")
            fut.release()
            bar.advance()
    finally:
        for fut in futures:
            fut.release()


class _Raising:
    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, pair: tuple[int, Any]) -> Any:
        return self.fn(pair[1])


class _progress:
    """Minimal rich progress bar on stderr that is a no-op when disabled."""

    def __init__(self, enabled: bool | str, total: int):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=False,
                console=Console(stderr=True),  # stdout carries results (tables, --json)
            )
            self._bar.start()
            desc = enabled if isinstance(enabled, str) else "runs"
            self._task = self._bar.add_task(desc, total=total)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
