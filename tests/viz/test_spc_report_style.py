"""The continuous-process quality reports (chart, capability, MSPC) follow the house style of
every report (issue 24): header, units, ISO times, tables not JSON, CSV links, print sheet."""

from __future__ import annotations

import sys
from pathlib import Path

from twin_app.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report_checks import assert_report_style  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _twin(*argv) -> None:
    assert main([str(a) for a in argv]) == 0, argv


def test_spc_reports_follow_the_house_style(tmp_path):
    rubber = EXAMPLES / "spc" / "rubber_colour.csv"
    _twin("spc", "chart", rubber, "--column", "Colour", "--report", tmp_path / "chart.html")
    _twin("spc", "capability", rubber, "--column", "Colour", "--lsl", 200, "--usl", 280,
          "--report", tmp_path / "cap.html")
    _twin("spc", "mspc", "build", EXAMPLES / "process_normal.csv", "-o", tmp_path / "m.nc")
    _twin("spc", "mspc", "check", tmp_path / "m.nc", EXAMPLES / "process_new.csv", "--report", tmp_path / "mspc.html")
    for name in ("chart", "cap", "mspc"):
        text = assert_report_style(tmp_path / f"{name}.html")
        assert len(text) > 200, name
