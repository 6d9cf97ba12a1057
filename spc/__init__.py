"""Quality analytics for continuous processes (layer 3, beside :mod:`golden_batch`).

Control charts with run rules and Phase I/II, process capability with confidence
intervals, and multivariate monitoring (PCA/PLS, T² and SPE with limits and
contributions) of normal operating data. The multivariate statistics core (limits,
contributions) is the one :mod:`golden_batch` uses: it is written once.

Importing this package never imports Dash or Plotly.
"""

from spc._mspc import LatentMonitor, MSPCSample, MSPCSession, load_monitor
from spc._pca import PCAMonitor
from spc._pls import PLSMonitor
from spc._synthetic import make_process_data

__all__ = ["PCAMonitor", "PLSMonitor", "LatentMonitor", "MSPCSession", "MSPCSample", "load_monitor", "make_process_data"]
