"""The check every dashboard page screenshot must pass (used by the browser tests)."""

from __future__ import annotations

import re

__all__ = ["WAIT", "EPOCH", "audit_page", "open_page"]

WAIT = 90_000  # ms; generous, the machine is shared with a full test run
# seconds since 1970 of the years 2017-2033, as an integer/decimal or in e-notation
EPOCH = re.compile(r"(?<![\d.])1[5-9]\d{8}(?:\.\d+)?(?![\d])|\b1\.[5-9]\d*e\+?0?9\b", re.IGNORECASE)


def _wait_all_graphs(page) -> None:
    """Every dcc.Graph on the page has been drawn by plotly."""
    page.wait_for_function("""() => { const gs = document.querySelectorAll('#page .dash-graph');
        return gs.length === 0 || Array.from(gs).every(g => { const p = g.querySelector('.js-plotly-plot');
            return p && p._fullLayout && p._fullData; }); }""", timeout=WAIT)


def audit_page(page) -> list[str]:
    """Problems on the shown page: raw JSON, epoch seconds, unit "1", unexplained empty charts/notes."""
    problems = []
    text = page.inner_text("#page")
    for bad in ("{'", '{"'):
        if bad in text:
            problems.append(f"raw JSON {bad!r}: …{text[max(0, text.index(bad) - 60):text.index(bad) + 60]}…")
    for m in EPOCH.finditer(text):
        problems.append(f"epoch seconds {m.group(0)!r}")
    if "[1]" in text:
        problems.append(f"unit [1]: …{text[max(0, text.index('[1]') - 60):text.index('[1]') + 10]}…")
    empty = page.evaluate("""() => Array.from(document.querySelectorAll('#page .js-plotly-plot')).filter(g => {
            const n = (g._fullData || []).reduce((k, t) => k + (t._length || (t.x && t.x.length) ||
                                                  (t.type === 'mesh3d' ? 1 : 0) || 0), 0);
            const notes = ((g._fullLayout || {}).annotations || []).map(a => a.text || '').join('');
            return n === 0 && notes.trim().length < 10; }).map(g => g.closest('.dash-graph').id)""")
    problems += [f"empty chart without an explanation: {gid}" for gid in empty]
    blank = page.evaluate("() => Array.from(document.querySelectorAll('#page .empty'))"
                          ".filter(p => p.innerText.trim() === '' && p.id !== 'envelope-note').map(p => p.id)")
    problems += [f"empty note: {pid}" for pid in blank]
    return problems


def open_page(browser, url: str, errors: list[str]):
    """A new page at ``url`` whose console errors and page errors are collected in ``errors``."""
    page = browser.new_page()
    page.on("console", lambda m: errors.append(f"{url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{url}: {e}"))
    page.goto(url)
    return page
