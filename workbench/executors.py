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
  or a scheduler address ``"tcp://host:8786"``.
"""

from __future__ import annotations

import concurrent.futures as cf
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import ConfigError

__all__ = ["JobFailure", "map_jobs", "spawn_seeds", "resolve_executor", "describe_executor"]


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


def resolve_executor(executor: Any) -> Any:
    """Turn the user's ``executor`` argument into None, an Executor or a Dask client.

    Raises
    ------
    ConfigError
        For an unknown spelling.
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
        if executor.startswith(("tcp://", "tls://", "inproc://")):
            from distributed import Client

            return Client(executor)
        raise ConfigError(
            f'executor: "{executor}" is not known; use "serial", "processes:N" or "tcp://host:8786"'
        )
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
    if hasattr(ex, "scheduler_info"):
        return f"dask:{getattr(ex, 'scheduler', None) and ex.scheduler.address}"
    return type(ex).__name__


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
    owned = not (executor is None or isinstance(executor, cf.Executor) or hasattr(executor, "gather"))
    ex = resolve_executor(executor)
    results: list[Any] = [None] * len(items)
    bar = _progress(progress, len(items))
    try:
        if ex is None:
            for pair in indexed:
                results[pair[0]] = call(pair)
                bar.advance()
        elif hasattr(ex, "gather") and hasattr(ex, "submit"):
            from distributed import as_completed

            if not isolate:
                call = _Raising(fn)
            futures = {ex.submit(call, pair, pure=False): pair[0] for pair in indexed}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.advance()
        else:
            call = call if isolate else _Raising(fn)
            futures = {ex.submit(call, pair): pair[0] for pair in indexed}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.advance()
    finally:
        bar.close()
        if owned and ex is not None:
            (ex.close if hasattr(ex, "gather") else ex.shutdown)()
    return results


class _Raising:
    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, pair: tuple[int, Any]) -> Any:
        return self.fn(pair[1])


class _progress:
    """Minimal rich progress bar that is a no-op when disabled."""

    def __init__(self, enabled: bool | str, total: int):
        self._bar = None
        if enabled:
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
