"""Shared CLI helpers: consoles, version flag, JSON/table output."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
console_err = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


def version_callback(value: bool) -> None:
    """Print ``twin <version>`` and exit (eager ``--version`` option)."""
    if value:
        from importlib.metadata import version

        typer.echo(f"twin workbench {version('twin-workbench')}")
        raise typer.Exit()


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (no colours, for scripts)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def print_table(
    rows: Iterable[Mapping[str, Any]] | Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print dict rows as a rich table (columns from the first row unless given)."""
    rows = list(rows)
    table = Table(title=title)
    cols = list(columns or (rows[0].keys() if rows else []))
    for col in cols:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*[_fmt(row.get(c, "")) for c in cols])
    console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
