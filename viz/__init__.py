"""Views of the workbench: Dash dashboard, PyVista 3D scenes and static HTML reports.

``viz`` reads xarray datasets and trace stores written by the other packages and
renders them; it computes no physics. Dash and PyVista are imported only when a
function that needs them runs.

Public API
----------
Reports: :func:`render_report` (shared self-contained HTML writer), :func:`report_result`
(``twin report``). Dashboard: :class:`DashboardSources`, :func:`create_app`, :func:`serve`.
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
from viz._html import (
    figure_html,
    render_report,
    table_html,
)
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
