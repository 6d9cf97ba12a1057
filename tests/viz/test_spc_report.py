"""HTML reports of a control chart and a capability study: what the page must show."""

from __future__ import annotations

import numpy as np

from spc import capability, control_chart
from viz.spc_report import (
    capability_figure,
    chart_figure,
    write_capability_report,
    write_chart_report,
)

CANS = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]


def test_chart_report_marks_signals_by_rule_and_lists_drops(tmp_path):
    chart = control_chart(CANS, chart="p", sizes=50, labels=[str(i) for i in range(1, 31)], column="nonconforming")
    fig = chart_figure(chart)
    names = {t.name for t in fig.data}
    assert {"WE1 on p", "p UCL", "p LCL", "p centre", "p: dropped in Phase I"} <= names
    we1 = next(t for t in fig.data if t.name == "WE1 on p")
    assert sorted(we1.x) == sorted(s.label for s in chart.signals if s.rule == "WE1")
    page = write_chart_report(tmp_path / "c.html", chart, source="cans.csv").read_text()
    assert "Phase I: dropped as assignable causes" in page and "beyond the p limits" in page
    assert "cans.csv" in page and "workbench_version" in page and "1 point beyond 3σ" in page


def test_imr_report_has_both_charts_and_units(tmp_path):
    rng = np.random.default_rng(0)
    chart = control_chart(rng.normal(50, 2, 60), chart="imr", column="T", unit="degC")
    fig = chart_figure(chart)
    assert fig.layout.yaxis.title.text == "X [degC]" and fig.layout.yaxis2.title.text == "MR [degC]"
    page = write_chart_report(tmp_path / "i.html", chart, source="t.csv").read_text()
    assert "degC" in page and "MR-bar/d2" in page


def test_capability_report_histogram_specs_and_densities(tmp_path):
    rng = np.random.default_rng(1)
    cap = capability(rng.normal(10, 1, 100), lsl=6, usl=14, column="w", unit="mm")
    fig = capability_figure(cap)
    assert [t.name for t in fig.data] == ["data", "normal, σ within", "normal, σ overall"]
    shapes = sorted(s.x0 for s in fig.layout.shapes)
    assert shapes == [6, 10, 14]  # LSL, target, USL
    page = write_capability_report(tmp_path / "cap.html", cap, source="w.csv").read_text()
    assert "Bissell 1990" in page and "chi-square" in page and "Boyles 1991" in page and "[ppm]" in page
