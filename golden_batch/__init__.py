"""Golden-batch analytics on xarray batch sets (layer 2).

Alignment of batch trajectories (elapsed time, indicator variable, dynamic time
warping with on-line open-end DTW), golden-batch selection (KPI specs, Phase I
outlier exclusion, Gaussian-mixture operating modes), envelopes (mean ± kσ and
quantile bands), multiway PCA with batch-wise and observation-wise unfolding
(Hotelling T², SPE, contributions), on-line monitoring with final-quality
prediction, and recipe windows with capability indices.

Every estimator follows scikit-learn's contract: ``__init__`` stores parameters,
``get_params``/``set_params``/``sklearn.base.clone`` work, ``fit`` returns
``self``, learned attributes end in ``_``, and using an unfitted one raises
:class:`workbench.errors.NotFittedError` (see :func:`check_is_fitted`).

Typical use::

    import golden_batch as gb
    history = gb.read_history("history.csv")
    model = gb.GoldenBatchModel(                 # composed of its parts, like a Pipeline
        "yield >= 0.9 and impurity < 0.02",      # selection: KPI spec (or gb.GoldenSelector(...))
        aligner=gb.Aligner("dtw", window=0.2),
        envelope=gb.Envelope(k=3),
        mpca=gb.BatchPCA(0.8, alpha=0.01),
    ).fit(history)
    model.save("envelope.nc")
    session = model.start()
    for t, values in running_batch:
        sample = session.update(t, values)       # flags, T², SPE, contributions, predicted quality
    model.violation(simulated_trajectory)        # 0 inside the envelope, > 0 outside

Importing this package never imports Dash or Plotly.
"""

from golden_batch._align import Aligner, OnlineAlignment
from golden_batch._base import check_is_fitted
from golden_batch._batchset import (
    batch_lengths,
    make_batch_set,
    quality_variables,
    read_history,
    segment_phases,
    trajectory_variables,
)
from golden_batch._config import GoldenBuildConfig
from golden_batch._contributions import spe_contributions, t2_contributions
from golden_batch._dtw import dtw_path
from golden_batch._envelope import Envelope
from golden_batch._evaluate import clopper_pearson, detection_summary, detection_table
from golden_batch._expr import evaluate, parse_expression
from golden_batch._from_trace import batches_from_trace
from golden_batch._history import make_reactor_history
from golden_batch._import_quality import BatchDataQuality, data_quality_summary, frozen_runs
from golden_batch._limits import (
    conformal_guard,
    conformal_limit,
    spe_limit_box,
    spe_limit_jackson_mudholkar,
    t2_limit,
)
from golden_batch._monitor import GoldenBatchModel, MonitorSample, MonitorSession
from golden_batch._mpca import BatchPCA, ObservationPCA
from golden_batch._quality import QualityPLS
from golden_batch._recipe import Capability, RecipeWindow, capability
from golden_batch._records import BatchRecords, TimeOrder, check_unit, read_batch_records
from golden_batch._select import GoldenSelection, GoldenSelector, select_golden
from golden_batch._synthetic import FAULTS, make_synthetic_history

__all__ = [
    "Aligner",
    "OnlineAlignment",
    "dtw_path",
    "make_batch_set",
    "read_history",
    "segment_phases",
    "trajectory_variables",
    "quality_variables",
    "batch_lengths",
    "batches_from_trace",
    "parse_expression",
    "evaluate",
    "select_golden",
    "GoldenSelector",
    "GoldenSelection",
    "Envelope",
    "BatchPCA",
    "ObservationPCA",
    "QualityPLS",
    "t2_limit",
    "spe_limit_box",
    "spe_limit_jackson_mudholkar",
    "conformal_limit",
    "conformal_guard",
    "t2_contributions",
    "spe_contributions",
    "GoldenBatchModel",
    "MonitorSession",
    "MonitorSample",
    "RecipeWindow",
    "Capability",
    "capability",
    "GoldenBuildConfig",
    "make_synthetic_history",
    "make_reactor_history",
    "FAULTS",
    "detection_table",
    "detection_summary",
    "clopper_pearson",
    "check_is_fitted",
    "read_batch_records",
    "BatchRecords",
    "TimeOrder",
    "check_unit",
    "data_quality_summary",
    "BatchDataQuality",
    "frozen_runs",
]
