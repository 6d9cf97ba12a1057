"""Shared CLI helpers: consoles, version flag, JSON/table output.

Output rules of every command: stdout carries the results (tables, or with
``--json`` exactly one JSON document and nothing else); progress, notes and
errors go to stderr. Nothing printed is cut to the terminal width: lines are
not re-wrapped (``soft_wrap``), and tables sent to a pipe or file take the
width they need (on a terminal, long cells fold onto more lines).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

console = Console(soft_wrap=True)
console_err = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
DASK_OPTION = typer.Option(
    None, "--dask", help="Dask scheduler address, e.g. tcp://host:8786: run the jobs on that cluster."
)
WORKERS_OPTION = typer.Option(None, "--workers", "-w", help="Local worker processes (1 = serial).", min=1)


@contextmanager
def open_executor(dask: str | None = None, workers: int | None = None, executor: str | None = None) -> Iterator[Any]:
    """Turn ``--dask`` / ``--workers`` / ``--executor`` into one executor for a command.

    A ``--dask`` address is connected once (a clear one-line error when the
    scheduler cannot be reached) and the client is closed when the command
    ends, so a command that maps jobs several times reuses one connection.

    Raises
    ------
    ConfigError
        When more than one of the options is given, or ``--dask`` is not an address.
    """
    from workbench.errors import ConfigError

    given = [name for name, v in (("--dask", dask), ("--workers", workers), ("--executor", executor)) if v is not None]
    if len(given) > 1:
        raise ConfigError(f"options {' and '.join(given)} both choose the executor; give only one")
    if dask is not None:
        if not dask.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise ConfigError(f'--dask: "{dask}" is not a scheduler address; use e.g. tcp://host:8786')
        from workbench.executors import resolve_executor

        client = resolve_executor(dask)
        try:
            yield client
        finally:
            client.close()
        return
    if workers is not None:
        yield None if workers == 1 else f"processes:{workers}"
        return
    yield executor


def version_callback(value: bool) -> None:
    """Print ``twin <version>`` and exit (eager ``--version`` option)."""
    if value:
        from importlib.metadata import version

        typer.echo(f"twin workbench {version('twin-workbench')}")
        raise typer.Exit()


def print_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout (no colours, for scripts).

    Standard JSON only: NaN and infinities become ``null``; values JSON has no
    type for (paths, timestamps) are written as strings.
    """
    typer.echo(json.dumps(_finite(data), indent=2, default=str, allow_nan=False))


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None, in nested dicts/lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_table(
    rows: Iterable[Mapping[str, Any]] | Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print dict rows as a rich table (columns from the first row unless given).

    No value is ever cut: on a terminal narrower than the table, long cells fold
    onto more lines; to a pipe or a file (``twin compare ... > out.txt``, ``| less``)
    the table is as wide as its widest row, whatever ``COLUMNS`` says.
    """
    rows = list(rows)
    table = Table(title=title)
    cols = list(columns or (rows[0].keys() if rows else []))
    for col in cols:
        table.add_column(str(col), overflow="fold")
    for row in rows:
        table.add_row(*[_fmt(row.get(c, "")) for c in cols])
    if console.is_terminal:
        console.print(table, soft_wrap=False)  # (soft wrap would drop the title's centring)
        return
    width = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    Console(file=console.file, width=max(width, 1)).print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
