"""Quality analytics for continuous processes (layer 3, beside :mod:`golden_batch`).

Control charts with run rules and Phase I/II, process capability with confidence
intervals, and multivariate monitoring (PCA/PLS, T² and SPE with limits and
contributions) of normal operating data, and learning from plant history: soft sensors
(PLS or gradient boosting chosen by grouped cross-validation, split-conformal intervals, an
applicability domain) and operating-regime slicing (change points and GMM modes). The multivariate statistics core (limits,
contributions) is the one :mod:`golden_batch` uses: it is written once.

Importing this package never imports Dash or Plotly.
"""

from spc._autocorr import Autocorrelation, acf, lag1_test
from spc._capability import METHODS as CAPABILITY_METHODS
from spc._capability import Capability, bissell_interval, capability, chi2_interval, pearson_cdf
from spc._charts import ChartSeries, ControlChart, control_chart
from spc._constants import A2, A3, B3, B4, D3, D4, c4, d2, d3
from spc._correlation import CorrelationRanking, LaggedCorrelation, lagged_correlation
from spc._ewma_cusum import cusum_arl_siegmund, cusum_recursion, ewma_arl, ewma_recursion
from spc._limits import CHART_TYPES, ChartLimits, load_limits
from spc._mspc import LatentMonitor, MSPCSample, MSPCSession, load_monitor
from spc._pca import PCAMonitor
from spc._pls import PLSMonitor
from spc._regimes import REGIME_METHODS, RegimeSegmentation, find_regimes, noise_scale
from spc._rules import RULE_SETS, RULES, Signal, apply_rules, first_signal, rule_set
from spc._softsensor import (
    SOFTSENSOR_MODELS,
    SoftSensor,
    find_leakage,
    grouped_folds,
    load_soft_sensor,
)
from spc._synthetic import make_process_data, make_regime_data, make_softsensor_data

__all__ = [
    # multivariate monitoring (spc._mspc, _pca, _pls, _synthetic)
    "PCAMonitor",
    "PLSMonitor",
    "LatentMonitor",
    "MSPCSession",
    "MSPCSample",
    "load_monitor",
    "make_process_data",
    "make_softsensor_data",
    "make_regime_data",
    # soft sensors / virtual metrology (spc._softsensor)
    "SoftSensor",
    "load_soft_sensor",
    "SOFTSENSOR_MODELS",
    "find_leakage",
    "grouped_folds",
    # operating regimes (spc._regimes)
    "find_regimes",
    "RegimeSegmentation",
    "REGIME_METHODS",
    "noise_scale",
    # process capability (spc._capability)
    "CAPABILITY_METHODS",
    "Capability",
    "capability",
    "chi2_interval",
    "bissell_interval",
    "pearson_cdf",
    # lagged correlation with a quality column (spc._correlation)
    "CorrelationRanking",
    "LaggedCorrelation",
    "lagged_correlation",
    # control charts (spc._charts, _rules, _limits, _constants, _autocorr, _ewma_cusum)
    "CHART_TYPES",
    "ChartLimits",
    "ChartSeries",
    "ControlChart",
    "control_chart",
    "load_limits",
    "RULES",
    "RULE_SETS",
    "Signal",
    "apply_rules",
    "first_signal",
    "rule_set",
    "Autocorrelation",
    "acf",
    "lag1_test",
    "ewma_recursion",
    "cusum_recursion",
    "ewma_arl",
    "cusum_arl_siegmund",
    "d2",
    "d3",
    "c4",
    "A2",
    "A3",
    "D3",
    "D4",
    "B3",
    "B4",
]
