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
import contextlib
import contextvars
import csv
import datetime as _dt
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viz._format import (
    file_digest,
    fmt_number,
    fmt_time,
    fmt_value,
    looks_like_epoch,
    plant_timezone,
    unit_label,
    workbench_version,
)

__all__ = [
    "render_report",
    "figure_html",
    "table_html",
    "image_html",
    "attrs_table_html",
    "report_page",
    "table_csv",
    "csv_link_html",
    "what_html",
    "note_html",
    "Section",
    "report_inputs",
    "tidy_figure",
]

_INPUTS: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("report_inputs", default=None)


@contextlib.contextmanager
def report_inputs(inputs):
    """Within the block, reports written without ``inputs=`` name these input files in their header
    (``twin report FILE`` wraps the renderer of FILE's kind in it)."""
    token = _INPUTS.set(tuple(inputs))
    try:
        yield
    finally:
        _INPUTS.reset(token)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
header{background:#243b53;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.6em}
header p{margin:4px 0 0;opacity:.85;font-size:.9em}
header dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:8px 0 0;font-size:.85em}
header dt{opacity:.7}
header dd{margin:0}
nav{padding:8px 32px;background:#e4ebf2;font-size:.9em}
nav a{margin-right:14px;color:#243b53;text-decoration:none}
main{padding:8px 32px 40px}
section{background:#fff;border:1px solid #d9e2ec;border-radius:6px;margin:18px 0;padding:8px 20px 16px}
section h2{font-size:1.2em;margin:10px 0}
p.what{margin:0 0 8px;color:#486581;font-size:.92em}
p.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px}
p.empty{background:#f0f4f8;border-left:4px solid #829ab1;padding:6px 10px}
table.wb{border-collapse:collapse;font-size:.88em;margin:6px 0}
table.wb th,table.wb td{border:1px solid #d9e2ec;padding:3px 8px;text-align:right}
table.wb th{background:#f0f4f8}
table.wb td:first-child,table.wb th:first-child,table.wb td.t{text-align:left}
a.csv{font-size:.8em;color:#486581}
img.wb{max-width:100%;border:1px solid #d9e2ec}
footer{color:#829ab1;font-size:.8em;padding:0 32px 20px}
@media print{
 @page{size:A4;margin:12mm}
 body{background:#fff;font-size:10pt}
 header{background:#fff;color:#000;border-bottom:2px solid #243b53;padding:0 0 6px}
 nav,a.csv,.modebar-container{display:none!important}
 main{padding:0}
 section{border:none;border-top:1px solid #999;border-radius:0;margin:8px 0;padding:4px 0;break-inside:avoid-page}
 .plotly-graph-div{width:180mm!important;max-width:100%}
 table.wb{break-inside:auto} table.wb tr{break-inside:avoid}
}
"""


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


_UNIT_ONE = re.compile(r"\[\s*1\s*\]")


def _tidy_text(text: Any) -> Any:
    return _UNIT_ONE.sub("[–]", text) if isinstance(text, str) else text


def tidy_figure(fig: Any) -> Any:
    """The report style on a plotly figure (a copy): the unit ``[1]`` in titles, axis titles,
    colour-bar titles and legend names becomes ``[–]`` (dimensionless)."""
    import plotly.graph_objects as go

    fig = go.Figure(fig)
    lay = fig.layout
    if lay.title and lay.title.text:
        lay.title.text = _tidy_text(lay.title.text)
    for key in list(lay.to_plotly_json()):
        if key.startswith(("xaxis", "yaxis")) and lay[key].title and lay[key].title.text:
            lay[key].title.text = _tidy_text(lay[key].title.text)
    for ann in lay.annotations or ():
        ann.text = _tidy_text(ann.text)
    for tr in fig.data:
        if getattr(tr, "name", None):
            tr.name = _tidy_text(tr.name)
        cb = getattr(tr, "colorbar", None)
        if cb is not None and cb.title and cb.title.text:
            cb.title.text = _tidy_text(cb.title.text)
        mk = getattr(tr, "marker", None)
        mcb = getattr(mk, "colorbar", None) if mk is not None else None
        if mcb is not None and mcb.title and mcb.title.text:
            mcb.title.text = _tidy_text(mcb.title.text)
    return fig


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
    fig = tidy_figure(fig)
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px" if height else "100%",
        config={"displaylogo": False, "responsive": True},
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "table"


def _csv_cell(v: Any, col: str, tz) -> str:
    if isinstance(v, float | np.floating):
        return "" if math.isnan(float(v)) else (fmt_time(v, tz) if looks_like_epoch(col, v) else repr(float(v)))
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return fmt_time(v, tz) if looks_like_epoch(col, v) else str(int(v))
    return fmt_value(v, key=col, tz=tz)


def table_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, units: Mapping[str, Any] | None = None,
              tz=None) -> str:
    """CSV text of a table: headers ``name [unit]``, full-precision numbers, ISO times."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; a CR or LF inside a cell is then quoted
    w.writerow([_header(c, units) for c in columns])
    for r in rows:
        w.writerow([_csv_cell(r.get(c, ""), str(c), tz) for c in columns])
    return buf.getvalue()


def csv_link_html(text: str, name: str) -> str:
    """A download link with the CSV embedded as a ``data:text/csv;base64`` URI."""
    b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
    fname = name if name.endswith(".csv") else f"{name}.csv"
    return (f'<a class="csv" download="{html.escape(fname)}" href="data:text/csv;charset=utf-8;base64,{b64}">'
            f"download {html.escape(fname)}</a>")


def _header(col: Any, units: Mapping[str, Any] | None) -> str:
    if units and col in units:
        return f"{col} [{unit_label(units[col])}]"
    return str(col)


def table_html(rows: Any, *, columns: Sequence[str] | None = None, float_format: str | None = None,
               units: Mapping[str, Any] | None = None, csv_name: str | None = "table", tz=None) -> str:
    """HTML table from a pandas DataFrame or a list of dict rows (values escaped), with a CSV link.

    Parameters
    ----------
    rows
        ``pandas.DataFrame`` (index becomes the first column when named or not a
        RangeIndex) or an iterable of mappings.
    columns
        Columns to show (default: all, from the first row).
    float_format
        Format of float cells (default: 4 significant digits, :func:`viz._format.fmt_number`).
    units
        Column → unit, shown in the header as ``name [unit]`` (dimensionless: ``[–]``).
    csv_name
        File name of the embedded CSV download link (``None``: no link).
    tz
        Time zone of time cells (epoch seconds under a time-like column name, datetimes).

    Returns
    -------
    str
    """
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        df = rows
        if not isinstance(df.index, pd.RangeIndex) or df.index.name:
            df = df.reset_index()
        rows = df.to_dict(orient="records")
    rows = [dict(r) for r in rows]
    cols = list(columns or (rows[0].keys() if rows else []))

    def cell(v: Any, col: str) -> str:
        if isinstance(v, float | np.floating) and not looks_like_epoch(col, v):
            x = float(v)
            return html.escape("–" if math.isnan(x) else (float_format.format(x) if float_format else fmt_number(x)))
        return html.escape(fmt_value(v, key=col, tz=tz))

    head = "".join(f"<th>{html.escape(_header(c, units))}</th>" for c in cols)
    def td(v: Any, col: str) -> str:
        numeric = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) \
            and not looks_like_epoch(col, v)
        return f"<td>{cell(v, col)}</td>" if numeric else f'<td class="t">{cell(v, col)}</td>'

    body = "".join("<tr>" + "".join(td(r.get(c, ""), str(c)) for c in cols) + "</tr>" for r in rows)
    link = csv_link_html(table_csv(rows, cols, units=units, tz=tz), _slug(csv_name)) if csv_name and cols else ""
    return f'<table class="wb"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{link}'


def image_html(png: str | Path | bytes, *, alt: str = "image") -> str:
    """An ``<img>`` with the PNG embedded as a base64 data URI (file path or bytes)."""
    data = png if isinstance(png, bytes) else Path(png).read_bytes()
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class="wb" alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


#: Attr-name suffixes that carry a unit (``warmup_s`` is in seconds).
_SUFFIX_UNITS = {"s": "s", "h": "h", "min": "min", "K": "K", "m3": "m3", "kg": "kg", "pct": "%"}


def attrs_table_html(attrs: Mapping[str, Any], *, tz=None) -> str:
    """Two-column table of dataset attrs (provenance: scenario, hash, seed, version…).

    JSON/mapping values become ``key = value`` lists and epoch-like times ISO text
    (:func:`viz._format.fmt_value`); long values (> 400 characters) are cut with a note.
    """
    rows = []
    for k, v in attrs.items():
        unit = _SUFFIX_UNITS.get(str(k).rsplit("_", 1)[-1]) if "_" in str(k) else None
        text = fmt_value(v, key=str(k), tz=tz, unit=unit)
        if len(text) > 400:
            text = text[:400] + f" … ({len(text)} characters)"
        rows.append({"attribute": k, "value": text})
    return table_html(rows, csv_name="provenance")


def _section_body(content: Any, heading: str = "table") -> str:
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
            return table_html(content, csv_name=heading)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(content, "to_plotly_json"):
        return figure_html(content)
    if isinstance(content, list | tuple):
        return "\n".join(_section_body(c, heading) for c in content)
    raise TypeError(
        f"report section content must be a plotly Figure, an HTML string, a DataFrame, "
        f"PNG bytes/Path or a list of these (got {type(content).__name__})"
    )


@dataclass(frozen=True)
class Section:
    """One report section: a heading, its content and a one-line "what this shows / what to do"."""

    heading: str
    content: Any
    what: str | None = None


def what_html(text: str) -> str:
    """The "what this shows / what to do" line of a section (escaped)."""
    return f'<p class="what">{html.escape(text)}</p>'


def note_html(text: str, *, level: str = "warn") -> str:
    """A highlighted note: ``level`` ``"warn"`` (e.g. an optimum on the grid edge) or ``"empty"``."""
    return f'<p class="{html.escape(level)}">{html.escape(text)}</p>'


def _as_section(item: Any) -> Section:
    if isinstance(item, Section):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        return Section(*item)
    raise TypeError(f"report section must be (heading, content), (heading, content, what) or a Section, got {item!r:.80}")


def _inputs_html(inputs: Iterable[Any] | None) -> str:
    out = []
    for item in inputs or ():
        if isinstance(item, tuple):
            name, digest = item
        else:
            p = Path(item)
            name, digest = p.name, (file_digest(p) if p.exists() else "not on disk")
        out.append(f"{html.escape(str(name))} (sha256 {html.escape(str(digest))})")
    return ", ".join(out) or "in-memory data (no input file)"


def report_page(
    title: str,
    sections: Iterable[Any],
    *,
    subtitle: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    inputs: Iterable[Any] | None = None,
    what: str | None = None,
) -> str:
    """The full HTML text of a report (see :func:`render_report`)."""
    tz, tz_note = plant_timezone(attrs)
    if inputs is None:
        inputs = _INPUTS.get()
    parts = []
    nav = []
    for i, sec in enumerate(_as_section(s) for s in sections):
        anchor = f"s{i}"
        nav.append(f'<a href="#{anchor}">{html.escape(sec.heading)}</a>')
        parts.append(f'<section id="{anchor}"><h2>{html.escape(sec.heading)}</h2>\n'
                     f'{what_html(sec.what) if sec.what else ""}{_section_body(sec.content, sec.heading)}\n</section>')
    if attrs:
        parts.append(f'<section id="provenance"><h2>Provenance</h2>'
                     f'{what_html("Where the data came from, as recorded in the input file.")}'
                     f'{attrs_table_html(attrs, tz=tz)}</section>')
        nav.append('<a href="#provenance">Provenance</a>')
    created = fmt_time(_dt.datetime.now(_dt.UTC), tz)
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    meta = (f"<dl><dt>what</dt><dd>{html.escape(what or title)}</dd>"
            f"<dt>when</dt><dd>{html.escape(created)}; times in {html.escape(tz_note)}</dd>"
            f"<dt>inputs</dt><dd>{_inputs_html(inputs)}</dd>"
            f"<dt>version</dt><dd>twin workbench {html.escape(workbench_version())}</dd></dl>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style>\n<script type=\"text/javascript\">{_plotlyjs()}</script></head>\n"
        f"<body><header><h1>{html.escape(title)}</h1>{sub}{meta}</header>"
        f"<nav>{''.join(nav)}</nav><main>\n" + "\n".join(parts) + "\n</main>"
        f"<footer>twin workbench {html.escape(workbench_version())} report · generated {created} · "
        "print this page (or twin report … --pdf) for a PDF</footer></body></html>\n"
    )


def render_report(
    title: str,
    sections: Iterable[Any],
    path: str | Path,
    *,
    subtitle: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    inputs: Iterable[Any] | None = None,
    what: str | None = None,
) -> Path:
    """Write a self-contained HTML report (plotly.js inlined once, no network needed).

    Every report of the workbench goes through here, so all share one style: a header
    with what, when (ISO 8601 with offset, in the plant's time zone from ``attrs``, else
    UTC, said which), from which inputs (file name + SHA-256 prefix) and the workbench
    version; one "what this shows / what to do" line per section; tables with a CSV
    download link (embedded ``data:`` URI); a print stylesheet for PDF.

    Parameters
    ----------
    title
        Page title and heading.
    sections
        ``(heading, content)`` or ``(heading, content, what)`` tuples or :class:`Section`,
        in order. ``content`` is a plotly Figure, an HTML string (inserted as is — escape
        user text yourself, e.g. with :func:`html.escape`), a ``pandas.DataFrame``
        (rendered as a table), PNG bytes or a ``Path`` to a PNG (embedded), or a list of
        these; ``what`` is the one-line "what this shows / what to do".
    path
        Output file; parent folders are created.
    subtitle
        One line under the title (e.g. the scenario name).
    attrs
        Provenance attrs (e.g. ``ds.attrs``) shown in a last section; their
        ``timezone`` names the plant's time zone.
    inputs
        Input files (paths, hashed here) or ``(name, sha256-prefix)`` pairs.
    what
        What the report is (default: the title).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_page(title, sections, subtitle=subtitle, attrs=attrs, inputs=inputs, what=what),
                    encoding="utf-8")
    return path
