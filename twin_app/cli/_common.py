"""Shared CLI helpers: consoles, version flag, JSON/table output.

Output rules of every command: stdout carries the results (tables, or with
``--json`` exactly one JSON document and nothing else); progress, notes and
errors go to stderr. Nothing printed is cut to the terminal width: lines are
not re-wrapped (``soft_wrap``), and tables sent to a pipe or file take the
width they need (on a terminal, long cells fold onto more lines).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
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


# errno of an OSError that means "the path you gave does not fit" (exit 2); any other (permission,
# read-only file system, disk full, I/O) is a failure of the run's environment (exit 1)
USER_PATH_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG})
_OS_HINTS = {
    errno.ENOENT: "check the path; create the folder first if it is an output folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "give a file name, not a folder",
    errno.EEXIST: "choose another name or remove the existing file",
    errno.EACCES: "choose a folder you may write to, or change its permissions",
    errno.EPERM: "choose a folder you may write to, or change its permissions",
    errno.EROFS: "the file system is read-only; choose another folder",
    errno.ENOSPC: "the disk is full; free space or choose another folder",
    errno.EDQUOT: "the disk quota is used up; free space or choose another folder",
}


def describe_os_error(exc: OSError) -> tuple[str, int]:
    """One line for an operating-system error (path, what happened, errno name, hint) and its exit code.

    Exit code 2 for a path the user gave that does not fit (no such file or folder, a file where a
    folder is needed, exists already); 1 for everything else (permission, read-only, disk full, I/O).
    """
    names = []
    for f in (exc.filename, exc.filename2):
        if f is not None:
            names.append(os.fsdecode(f) if isinstance(f, bytes | os.PathLike) else str(f))
    code = exc.errno if isinstance(exc.errno, int) else None
    if not names:  # e.g. HDF5: "... name = '/x/out.nc', errno = 30, error message = ..."
        found = re.search(r"name = '([^']+)'", str(exc))
        names = [found.group(1)] if found else []
    if code is not None:
        what = f"{os.strerror(code)} ({errno.errorcode.get(code, code)})"
    else:
        what = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = _OS_HINTS.get(code)
    text = (" → ".join(names) + ": " if names else "") + what + (f"; {hint}" if hint else "")
    return text, 2 if code in USER_PATH_ERRNOS else 1


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
        table.add_column(_header(col), overflow="fold")
    for row in rows:
        table.add_row(*[_fmt(row.get(c, "")) for c in cols])
    if console.is_terminal:
        console.print(table, soft_wrap=False)  # (soft wrap would drop the title's centring)
        return
    width = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    Console(file=console.file, width=max(width, 1)).print(table)


def _header(col: Any) -> str:
    """A column header; a dimensionless unit shows as ``[–]``, never ``[1]``."""
    return str(col).replace("[1]", "[–]")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
