"""Views of the workbench: Dash dashboard, PyVista 3D scenes and static HTML reports.

``viz`` reads xarray datasets and trace stores written by the other packages and
renders them; it computes no physics. Dash and PyVista are imported only when a
function that needs them runs.

Public API
----------
Reports: :func:`render_report` (shared self-contained HTML writer: header with what, when,
inputs and version; :class:`Section` with a "what this shows" line; :func:`table_html` with a CSV
download link; print stylesheet), :func:`write_pdf` (Chromium print-to-PDF), :func:`report_result`
(``twin report``); number/time style: :func:`fmt_quantity`, :func:`fmt_time`, :func:`plant_timezone`,
:func:`unit_label`. Dashboard: :class:`DashboardSources`, :func:`create_app`, :func:`serve`.
Scenes: :func:`line_scene`, :func:`reactor_scene`, :func:`reactor_scene_from_trace`,
:func:`reactor_deviation_scene` (real − virtual per sensor, :data:`SENSOR_LOCATIONS`), :func:`trace_deviations`,
:func:`render_png`, :func:`scene_figure`, :func:`export_scene_html`. Data: :func:`load_result`, :func:`result_kind` (``ds.wb.kind``, with a
layout guess for files written before kinds), :func:`trace_tags`, :func:`downsample`; traces are
read with :func:`twin.open_trace` (``read_trace`` is a deprecated alias). Figures:
:mod:`viz.figures`; synthetic example datasets: :mod:`viz.samples`.
"""

from viz._app import DashboardSources, create_app, serve
from viz._data import is_trace_store, load_result, result_kind, trace_tags
from viz._data import read_trace as read_trace  # deprecated alias of twin.open_trace
from viz._downsample import downsample
from viz._format import fmt_quantity, fmt_time, plant_timezone, unit_label
from viz._html import (
    Section,
    csv_link_html,
    figure_html,
    note_html,
    render_report,
    table_csv,
    table_html,
    what_html,
)
from viz._pdf import write_pdf
from viz._report import generic_report, report_result
from viz._scenes import (
    SENSOR_LOCATIONS,
    Scene,
    export_scene_html,
    line_scene,
    line_scene_from_result,
    reactor_deviation_scene,
    reactor_scene,
    reactor_scene_from_trace,
    render_png,
    scene_figure,
    trace_deviations,
)

__all__ = [
    "render_report",
    "figure_html",
    "table_html",
    "table_csv",
    "csv_link_html",
    "what_html",
    "note_html",
    "Section",
    "write_pdf",
    "fmt_quantity",
    "fmt_time",
    "plant_timezone",
    "unit_label",
    "report_result",
    "generic_report",
    "DashboardSources",
    "create_app",
    "serve",
    "Scene",
    "line_scene",
    "line_scene_from_result",
    "reactor_scene",
    "reactor_scene_from_trace",
    "reactor_deviation_scene",
    "trace_deviations",
    "SENSOR_LOCATIONS",
    "render_png",
    "scene_figure",
    "export_scene_html",
    "load_result",
    "result_kind",
    "trace_tags",
    "is_trace_store",
    "downsample",
]
