"""Screenshots of every report kind as a reader sees it in Chromium (issue 24, "done when"):
the shown text has no raw JSON, no epoch seconds, no unit "1", and every figure is drawn."""

from __future__ import annotations

import re

import pytest

from tests.viz._audit import EPOCH, WAIT
from tests.viz.conftest import save_screenshot

pytestmark = pytest.mark.browser


def test_every_report_kind_as_shown_in_chromium(browser, real_outputs, artefacts, tmp_path):
    from viz import report_result

    kinds = {}
    for name, src in real_outputs.items():
        path, renderer = report_result(src, tmp_path / f"{name}.html")
        kinds[name] = renderer
        page = browser.new_page()
        try:
            page.goto(path.as_uri())
            page.wait_for_function("() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                                   ".every(g => g._fullLayout && g._fullData)", timeout=WAIT)
            text = page.inner_text("body")
            for bad in ("{'", '{"'):
                assert bad not in text, f"{name}: raw JSON {bad!r}"
            assert not EPOCH.search(text), f"{name}: epoch seconds {EPOCH.search(text).group(0)!r}"
            assert "[1]" not in text and not re.search(r"\d 1(?=\s|$|[;)\]])", text), f"{name}: the unit '1'"
            assert "version" in text and "inputs" in text, f"{name}: no report header"
            save_screenshot(page, f"report-{name}", artefacts)
        finally:
            page.close()
    assert len(set(kinds.values())) >= 4, kinds  # the kind decides the report: several renderers
