"""The kind decides the report (issue 24): golden models, envelopes and campaigns get their own
report, an empty campaign says so, and ``twin report --pdf`` prints through Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.viz._report_checks import assert_report_style, csv_tables
from twin_app.cli.main import main


def test_saved_golden_model_renders_the_golden_report(real_outputs, tmp_path, capsys):
    out = tmp_path / "golden.html"
    assert main(["report", str(real_outputs["envelope"]), "-o", str(out)]) == 0
    assert "viz.golden_report:write_golden_report report" in capsys.readouterr().out
    text = assert_report_style(out)
    assert "Golden-batch report" in text and "Golden-batch selection" in text
    assert f"{Path(real_outputs['envelope']).name} (sha256 " in text  # the input named in the header
    assert "golden_batch_selection" in " ".join(csv_tables(out.read_text()))


def test_an_envelope_alone_renders_the_golden_report_not_the_dump(real_outputs, tmp_path):
    from golden_batch import GoldenBatchModel
    from viz import report_result

    env = GoldenBatchModel.load(real_outputs["envelope"]).envelope_.to_dataset()
    path, renderer = report_result(env, tmp_path / "env.html")
    assert renderer == "viz.golden_report:write_golden_report"
    assert "quantile band" not in path.read_text() or "envelope_q_upper" in env
    assert_report_style(path)


def test_campaign_report_tables_not_json(real_outputs, tmp_path):
    from viz.campaign_report import write_campaign_report

    path = write_campaign_report(real_outputs["campaign"], tmp_path / "c.html")
    text = assert_report_style(path)
    best = csv_tables(path.read_text())["best_recipe.csv"]
    assert best[0] == ["what", "name", "value", "unit"]
    units = {r[1]: r[3] for r in best[1:]}
    assert units["jacket_inlet_1"] == "K" and units["yield"] == "–"
    assert '"params"' not in path.read_text()
    summary = dict(r[:2] for r in csv_tables(path.read_text())["campaign_summary.csv"][1:])
    assert int(summary["trials"]) == 6 and int(summary["feasible trials"]) <= 6
    assert "nothing was evaluated" not in text


def test_an_empty_campaign_says_so_and_nothing_else(real_outputs, tmp_path):
    from viz import load_result
    from viz.campaign_report import write_campaign_report

    ds = load_result(real_outputs["campaign"]).isel(trial=slice(0, 0))
    ds.attrs.update(status="no trials", message="", best="")
    path = write_campaign_report(ds, tmp_path / "empty.html")
    text = assert_report_style(path)
    assert "This campaign has no trials yet" in text
    summary = dict(r[:2] for r in csv_tables(path.read_text())["campaign_summary.csv"][1:])
    assert summary["trials"] == "0" and summary["feasible trials"] == "0"
    assert "plotly-graph-div" not in path.read_text().split("<body>", 1)[1]  # no empty axes


def test_synthetic_campaign_layout_counts_its_trials(sample_dir, tmp_path):
    """``value(trial, objective)`` without ``state``: the old report said "0 trials … 60 feasible"."""
    from viz.campaign_report import write_campaign_report

    path = write_campaign_report(sample_dir["campaign"], tmp_path / "s.html")
    assert_report_style(path)
    summary = dict(r[:2] for r in csv_tables(path.read_text())["campaign_summary.csv"][1:])
    assert summary["trials"] == summary["feasible trials"] == "60"
    assert summary["trial states"] == "not recorded in this file"


@pytest.mark.browser
def test_twin_report_pdf_through_chromium(sample_dir, tmp_path, capsys):
    from viz._pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium not installed")
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    assert main(["report", str(sample_dir["life"]), "-o", str(html), "--pdf", str(pdf)]) == 0
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2  # header, tables and the drawn figures
    assert f"wrote {pdf}" in capsys.readouterr().out.replace("\n", "")


def test_pdf_without_chromium_is_a_clear_error(sample_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("viz._pdf.find_chromium", lambda: None)
    code = main(["report", str(sample_dir["life"]), "-o", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf")])
    assert code == 1
    err = capsys.readouterr().err
    assert "no Chromium to print the PDF" in err and "Traceback" not in err
    assert (tmp_path / "r.html").exists() and not (tmp_path / "r.pdf").exists()


@pytest.mark.browser
def test_print_stylesheet_hides_navigation_and_csv_links(browser, sample_dir, tmp_path):
    from viz import report_result

    path, _ = report_result(sample_dir["life"], tmp_path / "p.html")
    page = browser.new_page()
    try:
        page.goto(path.as_uri())
        assert page.is_visible("nav")
        page.emulate_media(media="print")
        assert not page.is_visible("nav") and not page.is_visible("a.csv")
        assert page.is_visible("header") and page.locator("table.wb").count() >= 2
    finally:
        page.close()


def test_generic_report_never_puts_mixed_units_on_one_colour_scale(real_outputs, tmp_path):
    """The generic dump drew every (time × variable) array as one heatmap across K, mol and –."""
    from viz import load_result
    from viz._report import generic_report

    ds = load_result(real_outputs["envelope"])
    path = generic_report(ds, tmp_path / "g.html", kind="generic")
    page = path.read_text()
    section = re.search(r'<section id="s\d+"><h2>envelope_mean: .*?</section>', page, re.S).group(0)
    assert '"z":' not in section and "one panel per variable" in section  # no heatmap data, one line panel each
    assert section.count('"mode":"lines"') == min(ds.sizes["variable"], 8)
    assert_report_style(path)
