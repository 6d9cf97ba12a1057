"""``twin demo``: the end-to-end tour on embedded defaults (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run the end-to-end tour on embedded defaults.")


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Folder for the tour's outputs."),
    only: list[str] = typer.Option(None, "--only", help="Run only steps whose title contains this text."),
) -> None:
    """Run the tour: every capability on shipped scenarios, printing where outputs are."""
    from twin_app.demo import run_tour

    failures = run_tour(out, only=only)
    if failures:
        raise typer.Exit(1)
