"""Entry point of the ``twin`` command.

Exit codes: 0 ok, 1 run failure (any :class:`~workbench.errors.WorkbenchError`),
2 usage or config error (:class:`~workbench.errors.ConfigError`, bad options).
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from twin.cli import config as config_cli
from twin.cli import demo as demo_cli
from twin.cli._common import console_err, version_callback
from workbench.errors import ConfigError, WorkbenchError

app = typer.Typer(
    name="twin",
    help="twin workbench: digital twins, line simulation, golden batches, optimisation, reliability.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=version_callback, is_eager=True
    ),
) -> None:
    """twin workbench command line."""


# --- command groups (one line each; keep sorted) -------------------------------------------
app.add_typer(config_cli.app, name="config")
app.command("demo")(demo_cli.demo)
# --- end of command groups -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, mapping workbench errors to exit codes 1/2 with one clear line."""
    try:
        app(args=argv, prog_name="twin")
    except SystemExit as exc:  # normal end, --help, usage errors (2), typer.Exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ConfigError as exc:
        console_err.print(f"[bold red]config error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except WorkbenchError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        console_err.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
