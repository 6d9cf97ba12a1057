"""What the commands print: ``--json`` is one JSON document and nothing else; tables are never cut.

Every ``--json`` command that runs in seconds on shipped scenarios or tiny inputs is run
here with stdout captured at the file-descriptor level (``capfd``: C libraries and
subprocesses included); the slower ones (``replay``, ``calibrate``, ``monitor``,
``calibrate-line``, ``optimize run|surrogate``) are checked the same way in their
packages' CLI tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from twin_app.cli import _common
from twin_app.cli.main import main

# Pyomo's log handler keeps the sys.stdout of its import: import it here, not under capfd (closed after a test)
with contextlib.suppress(ImportError):
    import pyomo.common.log  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

LINE = """\
kind: line
name: small
source: {saturated: true}
stations:
  - {name: a, buffer: 2, process_time: "exponential(mean=1 min)",
     failures: [{ttf: "exponential(mean=2 h)", ttr: "exponential(mean=20 min)"}]}
  - {name: b, buffer: 2, process_time: "exponential(mean=0.9 min)"}
experiment: {horizon: 1 d, warmup: 1 h, replications: 3, seed: 3}
"""
VARIANT = "small_line_with_ten_parts_of_buffer_before_station_b"  # a long name: the table is > 80 columns wide


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("hygiene")
    (d / "base.yaml").write_text(LINE)
    (d / "big.yaml").write_text(f"extends: base.yaml\nname: {VARIANT}\noverrides:\n  stations.b.buffer: 10\n")
    rng = np.random.default_rng(5)
    t, c = rng.weibull(1.8, 40) * 5000, rng.uniform(0, 8000, 40)
    (d / "field.csv").write_text("time,status\n" + "\n".join(f"{min(a, b):.3f},{int(a <= b)}"
                                                             for a, b in zip(t, c, strict=True)))
    import golden_batch as gb
    from workbench.dataset import write_netcdf

    write_netcdf(gb.make_synthetic_history(16, seed=1), d / "history.nc")
    write_netcdf(gb.make_synthetic_history(2, seed=4, noise=0.5), d / "batch.nc")
    return d


def _reactor_fmu() -> Path:
    from fmu_models import shipped

    path = shipped("reactor")
    if not path.exists():
        pytest.skip("reactor FMU not built; run `twin fmu build` (make setup) first")
    return path


# (id, argv builder); each builder gets the inputs folder and returns argv without --json
COMMANDS = {
    "config kinds": lambda d: ["config", "kinds"],
    "config validate": lambda d: ["config", "validate", str(SCENARIOS / "assembly_line.yaml")],
    "config show": lambda d: ["config", "show", str(SCENARIOS / "assembly_line.yaml")],
    "fmu list": lambda d: ["fmu", "list"],
    "fmu info": lambda d: ["fmu", "info", str(_reactor_fmu()), "--causality", "output"],
    "fmu run": lambda d: ["fmu", "run", str(_reactor_fmu()), "--stop-time", "600", "--output-interval", "60"],
    "run": lambda d: ["run", str(d / "base.yaml"), "-n", "2"],
    "compare": lambda d: ["compare", str(d / "base.yaml"), str(d / "big.yaml"), "-n", "2"],
    "life run": lambda d: ["life", "run", str(SCENARIOS / "pump_station_life.yaml"), "--engine", "event",
                           "--set", "simulation.replications=4", "--set", "simulation.horizon=4380 h"],
    "life fit": lambda d: ["life", "fit", str(d / "field.csv"), "-d", "weibull"],
    "life optimize-pm": lambda d: ["life", "optimize-pm", str(SCENARIOS / "bearing_age_replacement.yaml"),
                                   "--intervals", "200 h, 900 h", "-n", "4"],
    "golden build": lambda d: ["golden", "build", str(d / "history.nc"), "--select", "yield >= 0.9",
                               "--alignment", "elapsed", "-o", str(d / "envelope.nc")],
    "golden check": lambda d: ["golden", "check", str(d / "envelope.nc"), str(d / "batch.nc")],
    "optimize solvers": lambda d: ["optimize", "solvers"],
    "optimize line-milp": lambda d: ["optimize", "line-milp", str(SCENARIOS / "assembly_line.yaml"),
                                     "--no-verify"],
}


def _strict(text: str):
    """Parse ``text`` as exactly one standard JSON document (no NaN/Infinity, nothing around it)."""
    def reject(name):
        raise ValueError(f"{name} is not standard JSON")

    stripped = text.strip()
    assert stripped[:1] in ("{", "["), f"stdout does not start with a JSON document: {text[:200]!r}"
    return json.loads(stripped, parse_constant=reject)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_json_stdout_is_one_json_document(name, inputs, capfd):
    if name == "golden check" and not (inputs / "envelope.nc").exists():
        assert main([*COMMANDS["golden build"](inputs), "--json"]) == 0
    capfd.readouterr()
    code = main([*COMMANDS[name](inputs), "--json"])
    out = capfd.readouterr().out
    assert code in ((0, 1) if name == "golden check" else (0,)), out  # check: 1 = a batch outside
    _strict(out)


def test_print_json_writes_standard_json(capsys):
    _common.print_json({"a": float("nan"), "b": [1.5, float("inf")], "c": (float("-inf"), 2), "p": Path("x")})
    assert _strict(capsys.readouterr().out) == {"a": None, "b": [1.5, None], "c": [None, 2], "p": "x"}


LONG_ROWS = [{"variant": VARIANT, "KPI": "utilisation of assembly_station_with_long_name",
              "CI of Δ": "[+0.123456789, +0.987654321]", "units": "parts per hour of the shift"}] * 3


def test_print_table_to_a_pipe_keeps_every_value_whole(capsys):
    _common.print_table(LONG_ROWS, title="x")
    out = capsys.readouterr().out
    for value in LONG_ROWS[0].values():
        assert value in out, out
    assert "…" not in out and max(map(len, out.splitlines())) > 80


def test_print_table_on_a_narrow_terminal_folds_instead_of_cutting(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(_common, "console", Console(file=buf, force_terminal=True, width=60, color_system=None))
    _common.print_table(LONG_ROWS)
    out = buf.getvalue()
    assert "…" not in out and max(map(len, out.splitlines())) <= 60
    assert out.count("shift") == 3  # the last word of the folded units, in every row


def test_compare_piped_with_80_columns_prints_whole_cis(inputs, capsys):
    """The reported case: `twin compare ... | cat` cut every column to fit 80 characters."""
    argv = ["compare", str(inputs / "base.yaml"), str(inputs / "big.yaml"), "-n", "3"]
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    proc = subprocess.run([sys.executable, "-m", "twin_app.cli.main", *argv], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"}, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    for r in rows:
        assert f"[{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]" in proc.stdout, proc.stdout
        assert r["variant"] in proc.stdout and r["units"] in proc.stdout


LOG_FROM_PYOMO = """
from twin_app.cli.main import log_to_stderr
import logging, pyomo.common.log
with log_to_stderr():
    logging.getLogger("pyomo.core").warning("a Pyomo warning")
assert not logging.getLogger().handlers, "the CLI's handler outlives the command"
"""


def test_library_log_records_go_to_stderr():
    """Pyomo logs to stdout with its own handler unless the root logger has one (the CLI adds it)."""
    pytest.importorskip("pyomo")
    proc = subprocess.run([sys.executable, "-c", LOG_FROM_PYOMO], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "WARNING pyomo.core: a Pyomo warning" in proc.stderr
