"""Content checks every generated HTML report must pass (the one report style of issue 24)."""

from __future__ import annotations

import base64
import csv
import html as _html
import io
import re
from pathlib import Path

_SCRIPT = re.compile(r"<script\b.*?</script>|<style\b.*?</style>", re.S)
_TAGS = re.compile(r"<[^>]+>")
_CSV = re.compile(r'<a class="csv" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"')


def visible_text(page: str) -> str:
    """The page's text without scripts, tags or data URIs (what a reader sees)."""
    return _html.unescape(_TAGS.sub(" ", _SCRIPT.sub(" ", page)))


def csv_tables(page: str) -> dict[str, list[list[str]]]:
    """Every embedded CSV download: file name → rows (header first)."""
    return {name: list(csv.reader(io.StringIO(base64.b64decode(b64).decode("utf-8"), newline="")))
            for name, b64 in _CSV.findall(page)}



def figure_json(page: str) -> str:
    """The page without the inlined plotly.js bundle: tables, text and the figures' JSON."""
    return re.sub(r"<head>.*?</head>", " ", page, count=1, flags=re.S)


def assert_report_style(path: str | Path) -> str:
    """Assert the style rules on a written report (text and figure JSON); return its visible text."""
    page = Path(path).read_text(encoding="utf-8")
    text = visible_text(page)
    rest = figure_json(page)
    for where, s in (("text", text), ("figures", rest)):
        assert "{'" not in s and "{\\'" not in s, f"raw Python dict in the report {where}"
        assert "[1]" not in s, f"the unit '1' in an axis or header ({where})"
    assert '{"' not in text, "raw JSON in the report text"
    epoch = re.findall(r"\b1\.[78]\d*e\+?0?9\b|\b1[78]\d{8}(?:\.\d+)?\b", text)
    assert not epoch, f"epoch-like numbers in the report: {epoch[:5]}"
    one = re.findall(r"\S*\d 1(?![\d.,:%/\w])(?=\s|$|[;)\]])", text)
    assert not one, f"a number with the unit '1': {one[:5]}"
    assert "when" in text and "inputs" in text and "version" in text, "report header missing"
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", text), "no ISO time with offset"
    assert "@media print" in page
    for name, rows in csv_tables(page).items():
        assert rows and rows[0], f"empty CSV {name}"
    return text
