"""Entry point of the ``twin`` command.

Exit codes: 0 ok, 1 run failure (any :class:`~workbench.errors.WorkbenchError`; an
operating-system error such as permission denied, a read-only file system or a full
disk), 2 user input error (:class:`~workbench.errors.ConfigError`, bad options, a path
that does not exist or is a file where a folder is needed). 130 after Ctrl-C.
See "Exit codes" in docs/configuration.md.
"""

from __future__ import annotations

import contextlib
import logging
import sys

import typer
from rich.markup import escape

from twin_app.cli import config as config_cli
from twin_app.cli import dashboard as dashboard_cli
from twin_app.cli import demo as demo_cli
from twin_app.cli import fmu as fmu_cli
from twin_app.cli import golden as golden_cli
from twin_app.cli import life as life_cli
from twin_app.cli import line_twin as line_twin_cli
from twin_app.cli import loop as loop_cli
from twin_app.cli import maintain as maintain_cli
from twin_app.cli import monitor as monitor_cli
from twin_app.cli import optimize as optimize_cli
from twin_app.cli import plant as plant_cli
from twin_app.cli import r2r as r2r_cli
from twin_app.cli import render as render_cli
from twin_app.cli import report as report_cli
from twin_app.cli import run as run_cli
from twin_app.cli import spc as spc_cli
from twin_app.cli._common import console_err, describe_os_error, version_callback
from workbench.errors import ConfigError, DataError, WorkbenchError

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
app.command("dashboard")(dashboard_cli.dashboard)
app.command("demo")(demo_cli.demo)
app.add_typer(optimize_cli.app, name="optimize")
app.add_typer(fmu_cli.app, name="fmu")
app.add_typer(golden_cli.app, name="golden")
app.add_typer(life_cli.app, name="life")
app.command("calibrate")(monitor_cli.calibrate)
app.command("calibrate-line")(line_twin_cli.calibrate_line)
app.command("loop")(loop_cli.loop)
app.command("maintain")(maintain_cli.maintain)
app.command("monitor")(monitor_cli.monitor)
app.add_typer(plant_cli.app, name="plant")
app.command("r2r")(r2r_cli.r2r)
app.command("replay")(monitor_cli.replay)
app.command("run")(run_cli.run)
app.command("compare")(run_cli.compare)
app.command("render")(render_cli.render)
app.command("report")(report_cli.report)
app.add_typer(spc_cli.app, name="spc")
# --- end of command groups -------------------------------------------------------------------


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (not the stream of the moment
    it was made), so a record logged later by a library thread never hits a closed stream."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ sets it; always sys.stderr
        pass


@contextlib.contextmanager
def log_to_stderr():
    """While a command runs, send library log records (warnings and above) to stderr, unless
    logging is set up already; the handler is removed when the command ends.

    stdout carries the results (``--json``: one JSON document). Without a handler on
    the root logger, Pyomo prints its log records on *stdout* with its own handler;
    it stands down when the root logger has one.
    """
    root = logging.getLogger()
    handler = None if root.handlers else _StderrHandler()
    if handler is not None:
        root.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            root.removeHandler(handler)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, mapping workbench errors to exit codes 1/2 with one clear line."""
    try:
        with log_to_stderr():
            app(args=argv, prog_name="twin")
    except SystemExit as exc:  # normal end, --help, usage errors (2), typer.Exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ConfigError as exc:
        label = "data error" if isinstance(exc, DataError) else "config error"
        console_err.print(f"[bold red]{label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except WorkbenchError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except OSError as exc:  # read-only folder, full disk, missing output folder, …: one line, no traceback
        text, code = describe_os_error(exc)
        console_err.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        return code
    except KeyboardInterrupt:
        console_err.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
