"""PDF of an HTML report: headless Chromium's print-to-PDF, with the reports' print stylesheet.

The reports' ``@media print`` rules (:mod:`viz._html`) hide navigation and download links and
fit figures to A4. Chromium is run as a program (``chromium --headless --print-to-pdf``; no
Python browser driver needed), with a virtual-time budget so plotly.js draws the figures before
the page is printed. Where Chromium is missing, :func:`write_pdf` raises a :class:`WorkbenchError`
saying so (the HTML report can still be printed from any browser).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["write_pdf", "find_chromium"]

_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw"]


def find_chromium() -> str | None:
    """The Chromium executable: ``$TWIN_CHROMIUM``, ``/usr/bin/chromium`` or ``chromium`` on PATH."""
    for cand in (os.environ.get("TWIN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return str(cand)
    return None


def write_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout_s: float = 180.0,
              render_ms: int = 15000) -> Path:
    """Print an HTML report to PDF with headless Chromium (print media, A4 from the stylesheet).

    Parameters
    ----------
    html_path, pdf_path
        The report to print and the PDF to write (parent folders are created).
    timeout_s
        Wall-time limit of the Chromium run.
    render_ms
        Virtual time Chromium gives the page's scripts (plotly.js) before printing.

    Raises
    ------
    WorkbenchError
        When Chromium is not installed, fails or writes no PDF.
    """
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    exe = find_chromium()
    if exe is None:
        raise WorkbenchError(f"{pdf_path}: no Chromium to print the PDF with (looked at $TWIN_CHROMIUM, "
                             "/usr/bin/chromium and PATH); install Debian's chromium, or open "
                             f"{html_path.name} in a browser and print it")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twin-pdf-") as profile:
        cmd = [exe, *_ARGS, f"--user-data-dir={profile}", f"--virtual-time-budget={int(render_ms)}",
               f"--print-to-pdf={pdf_path}", html_path.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise WorkbenchError(f"{pdf_path}: Chromium did not print {html_path.name} within {timeout_s:g} s") from exc
    if proc.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise WorkbenchError(f"{pdf_path}: Chromium could not print {html_path.name} (exit {proc.returncode}): "
                             + " | ".join(tail))
    return pdf_path
