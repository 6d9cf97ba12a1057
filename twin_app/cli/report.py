"""``twin report RESULT -o report.html [--pdf report.pdf]``: a self-contained HTML report of any result dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import console


def report(
    result: Path = typer.Argument(..., help="Result file (.nc) or Zarr store (twin trace, …)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="Output HTML file."),
    kind: str = typer.Option(None, "--kind", help="Force the kind instead of the file's attrs['kind'] "
                             "(a workbench.dataset.KINDS name such as twin-trace, golden-batch-model, "
                             "line-simulation, life-missions, campaign; or generic)."),
    pdf: Path = typer.Option(None, "--pdf", help="Also print the report to this PDF file (headless Chromium; "
                             "without Chromium, open the HTML and print it)."),
) -> None:
    """Write a self-contained HTML report (plotly.js inlined; opens offline), optionally as PDF too."""
    from viz import report_result

    path, renderer = report_result(result, out, kind=kind)
    console.print(f"wrote {path} ({renderer} report, {path.stat().st_size / 1e6:.1f} MB)")
    if pdf is not None:
        from viz import write_pdf

        written = write_pdf(path, pdf)
        console.print(f"wrote {pdf} (PDF, {written.stat().st_size / 1e6:.1f} MB)")
