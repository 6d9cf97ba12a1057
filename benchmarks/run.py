"""Run every benchmark in ``benchmarks/`` (``make bench``).

Usage: ``python -m benchmarks.run [--quick] [NAME ...]``

The benchmarks share one process (imports and compiled code are paid once), so
each runs inside :func:`isolated`: whatever global Dask state it leaves (a
default ``distributed.Client``, ``dask.config`` settings such as
``scheduler="dask.distributed"``) is undone before the next one starts.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "harness", "run"}


def discover() -> list[str]:
    """Names of the benchmark modules (every ``benchmarks/*.py`` but the harness)."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_"))


def _copy_tree(config: dict[str, Any]) -> dict[str, Any]:
    """Copy of a nested config dict (the dicts are new, the leaf values shared)."""
    return {k: _copy_tree(v) if isinstance(v, dict) else v for k, v in config.items()}


def _default_client() -> Any:
    """The current default Dask client, or None (also when distributed is not installed)."""
    if "distributed" not in sys.modules:  # nothing imported it: no client can exist
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # "No clients found"
        return None


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Run a block so that it leaves no global Dask state behind.

    On exit, the default Dask clients the block created and left open are closed
    (the default client of before is kept) and ``dask.config`` is restored to
    what it was on entry.
    """
    import dask

    with contextlib.suppress(ImportError):  # its defaults join dask.config on import: before the copy
        import distributed  # noqa: F401
    saved = _copy_tree(dask.config.config)
    before = _default_client()
    try:
        yield
    finally:
        for _ in range(100):
            client = _default_client()
            if client is None or client is before:
                break
            with contextlib.suppress(Exception):  # a client whose cluster is gone already
                client.close()
        dask.config.config.clear()
        dask.config.config.update(saved)


def main(argv: list[str] | None = None) -> int:
    """Run the named (or all) benchmarks; exit 1 if any raised."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    names = args.names or discover()
    failed = []
    for name in names:
        print(f"=== benchmark {name} ===", flush=True)
        try:
            with isolated():
                module = importlib.import_module(f"benchmarks.{name}")
                module.main(quick=args.quick)
        except Exception:  # noqa: BLE001 - report and carry on with the others
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
