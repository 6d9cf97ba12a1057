"""Self-contained static HTML reports: plotly.js inlined once, figures, tables, images.

Every report command of the workbench (``twin report``, golden-batch, line, life,
campaign reports) writes one HTML file that opens offline in any browser: the
plotly.js bundle that ships with the ``plotly`` package is inlined once in the
page head and each figure is a ``<div>`` plus a small script, so nothing is
fetched from a CDN. PNG images (e.g. PyVista renders) are embedded as base64
``data:`` URIs.

Example
-------
>>> import plotly.graph_objects as go
>>> from viz import render_report
>>> fig = go.Figure(go.Scatter(y=[1, 3, 2]))
>>> render_report("Demo", [("A trend", fig), ("Notes", "<p>plain <b>HTML</b></p>")], "r.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "render_report",
    "figure_html",
    "table_html",
    "image_html",
    "attrs_table_html",
    "report_page",
]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
header{background:#243b53;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.6em}
header p{margin:4px 0 0;opacity:.8;font-size:.9em}
nav{padding:8px 32px;background:#e4ebf2;font-size:.9em}
nav a{margin-right:14px;color:#243b53;text-decoration:none}
main{padding:8px 32px 40px}
section{background:#fff;border:1px solid #d9e2ec;border-radius:6px;margin:18px 0;padding:8px 20px 16px}
section h2{font-size:1.2em;margin:10px 0}
table.wb{border-collapse:collapse;font-size:.88em;margin:6px 0}
table.wb th,table.wb td{border:1px solid #d9e2ec;padding:3px 8px;text-align:right}
table.wb th{background:#f0f4f8}
table.wb td:first-child,table.wb th:first-child{text-align:left}
img.wb{max-width:100%;border:1px solid #d9e2ec}
footer{color:#829ab1;font-size:.8em;padding:0 32px 20px}
"""


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: Any, *, div_id: str | None = None, height: int | None = None) -> str:
    """HTML fragment of one plotly figure, without plotly.js (the page inlines it once).

    Parameters
    ----------
    fig
        A ``plotly.graph_objects.Figure`` (or anything with ``to_html``; a
        plotly-resampler ``FigureResampler`` is converted to a plain figure).
    div_id
        Optional id of the figure's ``<div>``.
    height
        Optional height in px.

    Returns
    -------
    str
    """
    import plotly.graph_objects as go

    if type(fig) is not go.Figure:  # dicts, FigureResampler and FigureWidget become plain figures
        fig = go.Figure(fig)
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px" if height else "100%",
        config={"displaylogo": False, "responsive": True},
    )


def table_html(rows: Any, *, columns: Sequence[str] | None = None, float_format: str = "{:.4g}") -> str:
    """HTML table from a pandas DataFrame or a list of dict rows (values escaped).

    Parameters
    ----------
    rows
        ``pandas.DataFrame`` (index becomes the first column when named or not a
        RangeIndex) or an iterable of mappings.
    columns
        Columns to show (default: all, from the first row).
    float_format
        Format of float cells.

    Returns
    -------
    str
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(rows, pd.DataFrame):
        df = rows
        if not isinstance(df.index, pd.RangeIndex) or df.index.name:
            df = df.reset_index()
        rows = df.to_dict(orient="records")
    rows = [dict(r) for r in rows]
    cols = list(columns or (rows[0].keys() if rows else []))

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return html.escape(float_format.format(v))
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<table class="wb"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def image_html(png: str | Path | bytes, *, alt: str = "image") -> str:
    """An ``<img>`` with the PNG embedded as a base64 data URI (file path or bytes)."""
    data = png if isinstance(png, bytes) else Path(png).read_bytes()
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class="wb" alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def attrs_table_html(attrs: Mapping[str, Any]) -> str:
    """Two-column table of dataset attrs (provenance: scenario, hash, seed, version…)."""
    return table_html([{"attribute": k, "value": v} for k, v in attrs.items()])


def _section_body(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, bytes):
        return image_html(content)
    if isinstance(content, Path):
        if content.suffix.lower() == ".png":
            return image_html(content, alt=content.name)
        return f"<pre>{html.escape(content.read_text())}</pre>"
    try:
        import pandas as pd

        if isinstance(content, pd.DataFrame):
            return table_html(content)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(content, "to_plotly_json"):
        return figure_html(content)
    if isinstance(content, list | tuple):
        return "\n".join(_section_body(c) for c in content)
    raise TypeError(
        f"report section content must be a plotly Figure, an HTML string, a DataFrame, "
        f"PNG bytes/Path or a list of these (got {type(content).__name__})"
    )


def report_page(
    title: str,
    sections: Iterable[tuple[str, Any]],
    *,
    subtitle: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> str:
    """The full HTML text of a report (see :func:`render_report`)."""
    sections = list(sections)
    parts = []
    nav = []
    for i, (heading, content) in enumerate(sections):
        anchor = f"s{i}"
        nav.append(f'<a href="#{anchor}">{html.escape(heading)}</a>')
        parts.append(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{_section_body(content)}\n</section>')
    if attrs:
        parts.append(f'<section id="provenance"><h2>Provenance</h2>{attrs_table_html(attrs)}</section>')
        nav.append('<a href="#provenance">Provenance</a>')
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style>\n<script type=\"text/javascript\">{_plotlyjs()}</script></head>\n"
        f"<body><header><h1>{html.escape(title)}</h1>{sub}</header>"
        f"<nav>{''.join(nav)}</nav><main>\n" + "\n".join(parts) + "\n</main>"
        f"<footer>twin workbench report · generated {created}</footer></body></html>\n"
    )


def render_report(
    title: str,
    sections: Iterable[tuple[str, Any]],
    path: str | Path,
    *,
    subtitle: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write a self-contained HTML report (plotly.js inlined once, no network needed).

    Parameters
    ----------
    title
        Page title and heading.
    sections
        ``(heading, content)`` pairs, in order. ``content`` is a plotly Figure,
        an HTML string (inserted as is — escape user text yourself, e.g. with
        :func:`html.escape`), a ``pandas.DataFrame`` (rendered as a table),
        PNG bytes or a ``Path`` to a PNG (embedded), or a list of these.
    path
        Output file; parent folders are created.
    subtitle
        One line under the title (e.g. the scenario name).
    attrs
        Provenance attrs (e.g. ``ds.attrs``) shown in a last section.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_page(title, sections, subtitle=subtitle, attrs=attrs), encoding="utf-8")
    return path
