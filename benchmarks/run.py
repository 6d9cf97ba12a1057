"""Run every benchmark in ``benchmarks/`` (``make bench``).

Usage: ``python -m benchmarks.run [--quick] [NAME ...]``
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "harness", "run"}


def discover() -> list[str]:
    """Names of the benchmark modules (every ``benchmarks/*.py`` but the harness)."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_"))


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
