"""The plotly figures of the dashboard and the reports, for use in your own pages.

Each function takes workbench datasets (a trace from :func:`twin.open_trace`, a result
file from :func:`viz.load_result`) and returns a :class:`plotly.graph_objects.Figure`;
none computes physics.
"""

from viz._app import overview_figure
from viz._figures_life import pm_cost_figure, probability_plot
from viz._figures_live import (
    contribution_figure,
    envelope_figure,
    mspc_figure,
    residual_limit,
    trend_figure,
)
from viz._figures_results import (
    availability_figure,
    campaign_history_figure,
    gantt_figure,
    importance_figure,
    kpi_ci_figure,
    pareto_figure,
    reliability_figure,
    state_fraction_figure,
    weibull_plot,
    wip_figure,
)

__all__ = [
    "trend_figure",
    "overview_figure",
    "residual_limit",
    "envelope_figure",
    "mspc_figure",
    "contribution_figure",
    "kpi_ci_figure",
    "gantt_figure",
    "wip_figure",
    "state_fraction_figure",
    "campaign_history_figure",
    "pareto_figure",
    "importance_figure",
    "reliability_figure",
    "availability_figure",
    "weibull_plot",
    "probability_plot",
    "pm_cost_figure",
]
