"""Golden-batch selection: KPI specs, outlier exclusion, operating-mode clustering.

1. **Specs** on batch-level KPIs, e.g. ``"yield >= 0.9 and impurity < 0.02"``
   (parsed by :mod:`golden_batch._expr`, never ``eval``).
2. **Outlier exclusion** among the batches meeting the specs, by the batch-level
   MPCA statistics with Phase I limits (T² beta form, Tracy, Young & Mason 1992;
   SPE Box 1954), repeated until no batch is removed (the usual Phase I clean-up,
   Nomikos & MacGregor 1995 §3).
3. **Operating modes**: a Gaussian mixture on the leading MPCA scores, the number
   of modes chosen by BIC (Schwarz 1978); the golden set is the largest mode, as
   in case-based recipe reasoning where the batches of one recipe family form the
   case base.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from golden_batch._base import GoldenEstimator
from golden_batch._batchset import quality_variables
from golden_batch._expr import evaluate, expression_names, parse_expression
from golden_batch._limits import spe_limit_box
from golden_batch._mpca import BatchPCA
from workbench.errors import ConfigError, DatasetError, did_you_mean

__all__ = ["select_golden", "GoldenSelection", "GoldenSelector", "spec_reasons"]


@dataclass
class GoldenSelection:
    """Result of :func:`select_golden`.

    Attributes
    ----------
    selected
        Ids of the golden batches.
    table
        One row per batch: KPIs, ``meets_spec``, ``t2``, ``spe``, ``outlier``,
        ``mode``, ``selected`` and ``reason`` (why it was chosen or not).
    spec
        The spec text.
    n_modes
        Number of operating modes found.
    bic
        BIC per number of modes tried.
    """

    selected: list[str]
    table: pd.DataFrame
    spec: str | None
    n_modes: int
    bic: dict[int, float] = field(default_factory=dict)

    def to_dataset(self) -> xr.Dataset:
        """The table as a Dataset along ``batch`` (for NetCDF)."""
        df = self.table
        data = {}
        for col in df.columns:
            vals = df[col].to_numpy()
            if vals.dtype == bool:
                vals = vals.astype(np.int8)
            elif vals.dtype == object:
                vals = vals.astype(str)
            data[f"selection_{col}"] = ("batch", vals, {"units": "1", "long_name": f"selection: {col}"})
        ds = xr.Dataset(data, coords={"batch": df.index.to_numpy(dtype=str)})
        ds.attrs.update({"selection_spec": self.spec or "", "selection_n_modes": self.n_modes})
        return ds


def _unparse(tree: tuple) -> str:
    kind = tree[0]
    if kind == "num":
        return f"{tree[1]:g}"
    if kind == "name":
        return tree[1]
    if kind == "neg":
        return f"-{_unparse(tree[1])}"
    if kind == "not":
        return f"not ({_unparse(tree[1])})"
    if kind in ("and", "or"):
        return f"({_unparse(tree[1])} {kind} {_unparse(tree[2])})"
    if kind == "cmp":
        return f"{_unparse(tree[2])} {tree[1]} {_unparse(tree[3])}"
    if kind == "bin":
        return f"({_unparse(tree[2])} {tree[1]} {_unparse(tree[3])})"
    return f"{tree[1]}({', '.join(_unparse(a) for a in tree[2])})"


def _clauses(tree: tuple) -> list[tuple]:
    if tree[0] == "and":
        return _clauses(tree[1]) + _clauses(tree[2])
    return [tree]


def spec_reasons(spec: str, kpis: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Evaluate a KPI spec; return the pass mask and, per batch, the failed clauses.

    Raises
    ------
    ConfigError
        If the spec names a KPI that does not exist (with a did-you-mean).
    """
    tree = parse_expression(spec)
    for name in expression_names(tree):
        if name not in kpis:
            raise ConfigError(f"spec {spec!r} names unknown KPI '{name}'; {did_you_mean(name, kpis)}", path="select")
    n = len(next(iter(kpis.values())))
    ok = np.broadcast_to(np.asarray(evaluate(tree, kpis), dtype=bool), (n,)).copy()
    reasons = [""] * n
    for clause in _clauses(tree):
        hit = np.broadcast_to(np.asarray(evaluate(clause, kpis), dtype=bool), (n,))
        names = sorted(expression_names(clause))
        for b in np.flatnonzero(~hit):
            vals = ", ".join(f"{k}={kpis[k][b]:.4g}" for k in names)
            reasons[b] += ("; " if reasons[b] else "") + f"fails {_unparse(clause)} ({vals})"
    return ok, reasons


def select_golden(
    aligned: xr.Dataset,
    spec: str | None = None,
    *,
    alpha: float | None = 0.01,
    n_components: int | float = 0.8,
    max_iterations: int = 5,
    max_modes: int = 3,
    n_modes: int | None = None,
    variables: list[str] | None = None,
    seed: int = 0,
) -> GoldenSelection:
    """Choose the golden batches of an aligned history.

    Parameters
    ----------
    aligned
        Aligned batch set (``batch`` × ``time``) with batch-level KPIs.
    spec
        KPI specification, e.g. ``"yield >= 0.9 and impurity < 0.02"``; None keeps all.
    alpha
        False-alarm probability of the Phase I outlier limits; None skips the exclusion.
    n_components
        MPCA components for the outlier model.
    max_iterations
        Rounds of outlier removal.
    max_modes
        Largest number of Gaussian-mixture modes tried (BIC picks).
    n_modes
        Fix the number of modes instead of BIC.
    variables
        Trajectory variables used (default: all).
    seed
        Seed of the Gaussian-mixture initialisation.
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    ids = np.asarray(aligned["batch"].values, dtype=str)
    n = ids.size
    kpis = {q: aligned[q].values.astype(float) for q in quality_variables(aligned)}
    table = pd.DataFrame(kpis, index=pd.Index(ids, name="batch"))
    if spec:
        ok, reasons = spec_reasons(spec, kpis)
    else:
        ok, reasons = np.ones(n, bool), [""] * n
    table["meets_spec"] = ok
    table["t2"] = np.nan
    table["spe"] = np.nan
    table["outlier"] = False
    table["mode"] = -1
    keep = np.flatnonzero(ok)
    if keep.size < 6:
        raise DatasetError(
            f"only {keep.size} of {n} batches meet the spec {spec!r}; at least 6 are needed for a golden model"
        )
    # Phase I outlier removal
    for _ in range(max_iterations if alpha is not None else 1):
        model = BatchPCA(n_components, alpha=alpha or 0.01, cv_folds=0, variables=variables).fit(aligned.isel(batch=keep))
        s = model.score_samples(aligned.isel(batch=keep))
        t2, spe = s["t2"].values, s["spe"].values
        spe_lim = spe_limit_box(model.spe_train_, alpha or 0.01)
        out = (t2 > model.t2_limit_phase1_) | (spe > spe_lim)
        table.loc[ids[keep], "t2"] = t2
        table.loc[ids[keep], "spe"] = spe
        if alpha is None or not out.any() or keep.size - out.sum() < 6:
            break
        for b, bad_t2, bad_spe in zip(keep[out], t2[out] > model.t2_limit_phase1_, spe[out] > spe_lim, strict=True):
            table.loc[ids[b], "outlier"] = True
            why = []
            if bad_t2:
                why.append(f"T²={table.loc[ids[b], 't2']:.3g} > Phase I limit {model.t2_limit_phase1_:.3g}")
            if bad_spe:
                why.append(f"SPE={table.loc[ids[b], 'spe']:.3g} > limit {spe_lim:.3g}")
            reasons[b] = "outlier: " + " and ".join(why)
        keep = keep[~out]
    # operating modes
    scores = model.transform(aligned.isel(batch=keep))[:, : min(3, model.n_components_)]
    scores = scores / np.maximum(scores.std(axis=0), 1e-12)
    bic: dict[int, float] = {}
    best, labels = 1, np.zeros(keep.size, int)
    ks = [n_modes] if n_modes else list(range(1, max_modes + 1))
    for k in ks:
        if keep.size < 5 * k * max(scores.shape[1], 1):
            continue
        with threadpool_limits(1):  # tiny matrices: BLAS threads only add overhead
            gm = GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed).fit(scores)
        bic[k] = float(gm.bic(scores))
        if k == min(bic, key=bic.get):
            best, labels = k, gm.predict(scores)
    best = min(bic, key=bic.get) if bic else 1
    counts = np.bincount(labels, minlength=best)
    golden_mode = int(np.argmax(counts))
    table.loc[ids[keep], "mode"] = labels
    selected_mask = np.zeros(n, bool)
    selected_mask[keep[labels == golden_mode]] = True
    for b in keep:
        if selected_mask[b]:
            reasons[b] = f"meets spec, in control, in golden mode {golden_mode}" + (
                f" (largest of {best})" if best > 1 else "")
        else:
            reasons[b] = f"meets spec and in control, but in operating mode {int(table.loc[ids[b], 'mode'])} " \
                         f"(golden mode is {golden_mode})"
    table["selected"] = selected_mask
    table["reason"] = reasons
    return GoldenSelection(list(ids[selected_mask]), table, spec, best, bic)


class GoldenSelector(GoldenEstimator):
    """The selection step of :class:`~golden_batch.GoldenBatchModel` as an estimator.

    ``fit(aligned)`` runs :func:`select_golden` with these settings and keeps its
    result as ``selection_`` (a :class:`GoldenSelection`) and ``selected_`` (the ids).

    Parameters
    ----------
    spec
        KPI specification, e.g. ``"yield >= 0.9 and impurity < 0.02"``; None keeps all.
    alpha
        False-alarm probability of the Phase I outlier exclusion; None skips it. Kept
        apart from the monitoring α (``BatchPCA.alpha``): trimming the reference set at
        the monitoring α would narrow the limits and raise the false-alarm rate.
    n_components
        MPCA components of the outlier model; None: inside a
        :class:`~golden_batch.GoldenBatchModel` those of its ``mpca``, alone 0.8.
    max_iterations
        Rounds of outlier removal.
    max_modes
        Largest number of operating modes tried (1: no clustering).
    n_modes
        Fix the number of modes instead of choosing it by BIC.
    variables
        Trajectory variables used; None: inside a model the aligner's, alone all.
    seed
        Seed of the Gaussian-mixture initialisation.
    """

    _fit_hint = "fit(aligned_batches)"
    _fitted_attribute = "selection_"

    def __init__(
        self,
        spec: str | None = None,
        *,
        alpha: float | None = 0.01,
        n_components: int | float | None = None,
        max_iterations: int = 5,
        max_modes: int = 3,
        n_modes: int | None = None,
        variables: list[str] | None = None,
        seed: int = 0,
    ):
        self.spec = spec
        self.alpha = alpha
        self.n_components = n_components
        self.max_iterations = max_iterations
        self.max_modes = max_modes
        self.n_modes = n_modes
        self.variables = variables
        self.seed = seed

    def fit(self, aligned: xr.Dataset, y=None) -> GoldenSelector:
        """Choose the golden batches of an aligned history (see :func:`select_golden`)."""
        self.selection_ = select_golden(
            aligned, self.spec, alpha=self.alpha,
            n_components=0.8 if self.n_components is None else self.n_components,
            max_iterations=self.max_iterations, max_modes=self.max_modes, n_modes=self.n_modes,
            variables=self.variables, seed=self.seed)
        self.selected_ = list(self.selection_.selected)
        return self
