"""Tables through a real pipe: a separate ``twin`` process whose stdout is not a terminal.

``COLUMNS=80`` is what a pipe in an 80-column shell reports; the table still keeps a long
station name and every confidence interval whole, and ``--json`` stdout is one JSON
document while notes and progress go to stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATION = "final_assembly_and_functional_test_station"
LINE = f"""\
kind: line
name: piped
source: {{saturated: true}}
stations:
  - {{name: cut, buffer: 2, process_time: "exponential(mean=1 min)"}}
  - {{name: {STATION}, buffer: 2, process_time: "exponential(mean=0.9 min)"}}
experiment: {{horizon: 12 h, warmup: 1 h, replications: 3, seed: 3}}
"""


def _twin(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "twin_app.cli.main", *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    d = tmp_path_factory.mktemp("piped")
    (d / "line.yaml").write_text(LINE)
    table = _twin("run", "line.yaml", cwd=d)
    as_json = _twin("run", "line.yaml", "--json", cwd=d)
    return table, as_json


def test_a_piped_table_keeps_long_names_and_confidence_intervals_whole(piped):
    table, as_json = piped
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    rows = json.loads(as_json.stdout)["kpis"]
    assert "…" not in table.stdout
    for r in rows:
        assert r["kpi"] in table.stdout, table.stdout
        assert f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]" in table.stdout, table.stdout
    assert f"utilisation[{STATION}]" in table.stdout and max(map(len, table.stdout.splitlines())) > 80


def test_piped_json_is_one_document_with_notes_on_stderr(piped):
    _, as_json = piped
    doc = json.loads(as_json.stdout)  # the whole stdout, nothing around it
    assert doc["scenario"] == "piped" and f"utilisation[{STATION}]" in [r["kpi"] for r in doc["kpis"]]
    assert "\x1b[" not in as_json.stdout  # no colour codes in a pipe


def test_a_dimensionless_column_never_shows_the_unit_1(monkeypatch):
    import io

    from rich.console import Console

    from twin_app.cli import _common

    out = io.StringIO()
    monkeypatch.setattr(_common, "console", Console(file=out, width=200))
    _common.print_table([{"batch": "B0815", "T² [1]": 73.6, "T [K]": 351.2}])
    text = out.getvalue()
    assert "T² [–]" in text and "T [K]" in text and "[1]" not in text
