"""Line report (issue 24): report style, KPI and what-if tables with CSV, Gantt in flow order over one shift."""

from __future__ import annotations

import pytest

from tests.viz._report_checks import assert_report_style, csv_tables


@pytest.fixture(scope="module")
def line_results(real_outputs):
    from viz import load_result

    return {n: load_result(real_outputs[n]) for n in ("assembly_line", "assembly_line_big_buffers")}


def test_gantt_rows_in_flow_order_over_the_first_shift(line_results):
    from viz.line_report import flow_order, gantt_figure

    ds = line_results["assembly_line"]
    assert flow_order(ds)[:5] == ["kitting", "press", "weld", "test", "pack"]  # scenarios/assembly_line.yaml
    fig = gantt_figure(ds)
    rows = list(fig.layout.yaxis.categoryarray)[::-1]  # top to bottom
    stations = list(dict.fromkeys(r.rsplit(" #", 1)[0] for r in rows))
    assert stations == [s for s in flow_order(ds) if s in stations] and stations[0] == "kitting"
    assert tuple(fig.layout.xaxis.range) == (0, 8.0) and "first 8 h" in fig.layout.title.text
    for tr in fig.data:
        assert max(b + x for b, x in zip(tr.base, tr.x, strict=True)) <= 8.0 + 1e-9


def test_dashboard_gantt_in_flow_order_too(line_results):
    from viz.figures import gantt_figure

    order = list(gantt_figure(line_results["assembly_line"]).layout.yaxis.categoryarray)[::-1]
    assert order[0].startswith("kitting/") and order[-1].startswith("pack/")


def test_line_report_in_the_report_style(line_results, tmp_path):
    from simulation.line import compare
    from viz.line_report import write_line_report

    cmp = compare(line_results["assembly_line"], {"big buffers": line_results["assembly_line_big_buffers"]})
    path = write_line_report(line_results, tmp_path / "line.html", comparison=cmp)
    text = assert_report_style(path)
    tables = csv_tables(path.read_text())
    kpis = tables["line_kpis.csv"]
    assert kpis[0][:3] == ["scenario", "KPI", "mean"] and len(kpis) == 1 + 2 * 4
    assert ["assembly_line", "yield"] == kpis[4][:2] and kpis[4][-1] == "–"  # dimensionless: no unit "1"
    assert "what_if_line_kpis.csv" in tables and "first 8 h (one shift)" in text
