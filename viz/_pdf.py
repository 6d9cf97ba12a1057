"""PDF of an HTML report: Chromium's print-to-PDF (headless, via Playwright) with the print stylesheet.

The reports' ``@media print`` rules (:mod:`viz._html`) hide navigation and download links and
fit figures to A4; Chromium renders the page (plotly.js draws the figures first) and prints it.
Where Chromium or Playwright is missing, :func:`write_pdf` raises a :class:`WorkbenchError`
saying so (the HTML report can still be printed from any browser).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["write_pdf", "find_chromium"]

_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    """The Chromium executable: ``$TWIN_CHROMIUM``, ``/usr/bin/chromium`` or ``chromium`` on PATH."""
    for cand in (os.environ.get("TWIN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return str(cand)
    return None


def write_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout_s: float = 120.0) -> Path:
    """Print an HTML report to PDF (A4, backgrounds on) with headless Chromium.

    Raises
    ------
    WorkbenchError
        When Chromium or Playwright is not installed, or Chromium fails to print.
    """
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    exe = find_chromium()
    if exe is None:
        raise WorkbenchError(f"{pdf_path}: no Chromium to print the PDF with (looked at $TWIN_CHROMIUM, "
                             "/usr/bin/chromium and PATH); install Debian's chromium, or open "
                             f"{html_path.name} in a browser and print it")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise WorkbenchError(f"{pdf_path}: the playwright package is not installed; it drives Chromium's "
                             "print-to-PDF (pip install playwright)") from exc
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="twin-pdf-") as profile, sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=_ARGS)
            try:
                page = ctx.new_page()
                page.goto(html_path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
                page.emulate_media(media="print")
                page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                                       ".every(d => d.querySelector('.main-svg'))", timeout=timeout_s * 1000)
                page.pdf(path=str(pdf_path), format="A4", print_background=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                ctx.close()
    except PlaywrightError as exc:
        raise WorkbenchError(f"{pdf_path}: Chromium could not print {html_path.name}: {exc}") from exc
    return pdf_path
