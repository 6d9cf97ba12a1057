"""The golden-batch report draws the phase boundaries of a phase-wise model (issue 19 §3)."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

import golden_batch as gb
from tests.golden_batch._phased import write_phased_history
from twin_app.cli.main import main
from viz.golden_report import golden_figures, phase_starts, write_golden_report


@pytest.fixture(scope="module")
def phased(tmp_path_factory):
    """A history of two named phases ('fill' for the first half of every batch, then 'react'), its model file."""
    d = tmp_path_factory.mktemp("phased")
    write_phased_history(d / "h.csv")
    assert main(["golden", "build", str(d / "h.csv"), "--phase", "stage", "-o", str(d / "m.nc"), "--json"]) == 0
    return d


def _vlines(fig: go.Figure) -> list[float]:
    return [s.x0 for s in fig.layout.shapes if s.x0 == s.x1 and s.yref == "y domain"]


def test_phase_boundaries_in_figures_and_html(phased, capsys):
    capsys.readouterr()
    model = gb.GoldenBatchModel.load(phased / "m.nc")
    ref = model.aligner_.reference_batch_
    ds = model.to_dataset()
    phases = phase_starts(ds)
    assert [p[2] for p in phases] == ["fill", "react"]
    n = 30 + int(ref[1:]) % 4  # the reference batch's length: 'react' starts at sample n // 2
    assert phases[1][0] == pytest.approx(60.0 * (n // 2) / 3600.0)
    sections = golden_figures(ds)
    envelope_figs = sections[0][1]
    for fig in envelope_figs:
        assert _vlines(fig) == [pytest.approx(phases[1][0])]
        assert [a.text for a in fig.layout.annotations] == ["fill", "react"]
    table = dict((s[0], s[1]) for s in sections)["Phases"]
    assert table["phase"].tolist() == ["fill", "react"]
    out = write_golden_report(ds, phased / "r.html")
    text = out.read_text()
    assert "Phases" in text and '"text":"react"' in text.replace(" ", "")


def test_report_cli_with_batches_marks_online_charts(phased, capsys):
    out = phased / "report.html"
    assert main(["golden", "report", str(phased / "m.nc"), "--batch", str(phased / "h.csv"), "--phase", "stage",
                 "-o", str(out)]) == 0
    text = out.read_text().replace(" ", "")
    assert text.count('"text":"react"') >= 4  # two envelopes + on-line T² and SPE


def test_no_phases_no_marks():
    history = gb.make_synthetic_history(12, seed=1)
    model = gb.GoldenBatchModel(aligner=gb.Aligner("elapsed")).fit(history)
    ds = model.to_dataset()
    assert phase_starts(ds) == []
    sections = golden_figures(ds)
    assert "Phases" not in [s[0] for s in sections]
    assert all(not _vlines(f) and not f.layout.annotations for f in sections[0][1])
