"""``twin spc ...``: quality analytics for continuous processes (control charts, capability, MSPC)."""

from __future__ import annotations

import typer

from twin_app.cli import spc_mspc

app = typer.Typer(help="Quality analytics for continuous processes: control charts, capability, multivariate SPC.",
                  no_args_is_help=True)

app.add_typer(spc_mspc.app, name="mspc")
