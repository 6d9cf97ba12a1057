"""Golden-batch selection: KPI specs, outlier exclusion, operating-mode clustering.

1. **Specs** on batch-level KPIs, e.g. ``"yield >= 0.9 and impurity < 0.02"``
   (parsed by :mod:`golden_batch._expr`, never ``eval``).
2. **Outlier exclusion** among the batches meeting the specs, by the batch-level
   MPCA statistics with Phase I limits (T² beta form, Tracy, Young & Mason 1992;
   SPE Box 1954; the Phase I clean-up of Nomikos & MacGregor 1995 §3). The test of
   the ``n`` batches on two statistics at once is Bonferroni's ``α/(2n)`` per batch:
   a clean reference set loses no batch with probability about ``1 - α`` (testing
   every batch at ``α`` would drop ``n·α`` good batches and, repeated, the tails of
   a small reference set – about a quarter of it on real plant data). The test is
   repeated (``max_iterations``, default 5) until no batch is removed. Family-wise
   control holds for one round only: a later round refits on the trimmed set, whose
   parametric limits are narrower, and "peels" normal tail batches. On the synthetic
   history (seed 20, 100 normal batches, heavy-tailed T² from the nonlinear kinetics)
   five rounds removed 9 normal batches and the held-out final T²/SPE false-alarm
   rates rose to 7 %/10 % at α = 1 %; one round removed 2 (4 %/5 %), none 1 %/2 %.
   The peeling also sharpens detection (the reference model's cooling-fault test
   needs it), so the default stays; ``max_iterations=1`` or ``alpha=None`` when
   false alarms matter more.
   At most ``max_outlier_fraction`` of the batches are removed, the most extreme
   first (ratio of the statistic to its limit).
3. **Operating modes** (opt-in: ``max_modes > 1``; the default 1 keeps every
   in-control batch, since on real plant data a mixture readily splits continuous
   variation into "modes" and the largest held half of the normal batches): a
   Gaussian mixture on the leading MPCA scores, the number of modes by BIC
   (Schwarz 1978), accepted only when the modes are clearly separated – every pair
   apart by Ashman's ``D = √2·|μ₁-μ₂| / √(σ₁²+σ₂²) > 2`` along some score (Ashman,
   Bird & Zeng 1994, a clean bimodality for two normal components) and the smallest
   mode holding at least 10 % of the batches (a smaller group is a few unusual
   batches, not a mode). With modes, the golden set is the largest mode, as in
   case-based recipe reasoning where the batches of one recipe family form the
   case base; the table says which batches were dropped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from golden_batch._base import GoldenEstimator
from golden_batch._batchset import quality_variables
from golden_batch._expr import evaluate, expression_names, parse_expression
from golden_batch._limits import spe_limit_box, t2_limit
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
    max_modes: int = 1,
    n_modes: int | None = None,
    variables: list[str] | None = None,
    seed: int = 0,
    max_outlier_fraction: float = 0.1,
) -> GoldenSelection:
    """Choose the golden batches of an aligned history.

    Parameters
    ----------
    aligned
        Aligned batch set (``batch`` × ``time``) with batch-level KPIs.
    spec
        KPI specification, e.g. ``"yield >= 0.9 and impurity < 0.02"``; None keeps all.
    alpha
        Family-wise false-alarm probability of one round of Phase I outlier tests (each
        batch is tested at ``alpha / (2n)``, Bonferroni); None skips the exclusion.
        Trade-off: removing even a few normal tail batches changes the model and its
        limits – held-out normal batches are then flagged more often (see above), while
        faults that the removed batches' directions would absorb are found more often
        (synthetic seeds 10/11: one batch removed, sensor-bias detection 0.75 → 1.0).
    n_components
        MPCA components for the outlier model.
    max_iterations
        Rounds of outlier removal (later rounds peel normal tail batches, see above).
    max_modes
        Largest number of Gaussian-mixture modes tried (BIC picks, clearly separated modes only);
        1 (the default) keeps every in-control batch.
    n_modes
        Fix the number of modes instead of BIC (no separation test).
    variables
        Trajectory variables used (default: all).
    seed
        Seed of the Gaussian-mixture initialisation.
    max_outlier_fraction
        Largest fraction of the batches meeting the spec that Phase I may remove.
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
    # Phase I outlier removal: Bonferroni over the batches and the two statistics, capped
    budget = int(np.floor(max_outlier_fraction * keep.size)) if alpha is not None else 0
    for _ in range(max_iterations if alpha is not None else 1):
        model = BatchPCA(n_components, alpha=alpha or 0.01, cv_folds=0, variables=variables).fit(aligned.isel(batch=keep))
        s = model.score_samples(aligned.isel(batch=keep))
        t2, spe = s["t2"].values, s["spe"].values
        table.loc[ids[keep], "t2"] = t2
        table.loc[ids[keep], "spe"] = spe
        if alpha is None or budget <= 0:
            break
        a_each = alpha / (2 * keep.size)
        t2_lim = t2_limit(a_each, model.n_components_, keep.size, phase="I")
        spe_lim = spe_limit_box(model.spe_train_, a_each)
        ratio = np.maximum(t2 / t2_lim, spe / spe_lim)
        out_idx = np.flatnonzero(ratio > 1)
        out_idx = out_idx[np.argsort(-ratio[out_idx], kind="stable")][: min(budget, keep.size - 6)]
        if out_idx.size == 0:
            break
        budget -= out_idx.size
        for k in out_idx:
            b = keep[k]
            table.loc[ids[b], "outlier"] = True
            why = []
            if t2[k] > t2_lim:
                why.append(f"T²={t2[k]:.3g} > Phase I limit {t2_lim:.3g}")
            if spe[k] > spe_lim:
                why.append(f"SPE={spe[k]:.3g} > limit {spe_lim:.3g}")
            reasons[b] = "outlier: " + " and ".join(why) + f" (Bonferroni α/2n = {a_each:.2g})"
        out = np.zeros(keep.size, bool)
        out[out_idx] = True
        keep = keep[~out]
    # operating modes: only when clearly separated
    scores = model.transform(aligned.isel(batch=keep))[:, : min(3, model.n_components_)]
    scores = scores / np.maximum(scores.std(axis=0), 1e-12)
    bic: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    ks = [n_modes] if n_modes else list(range(1, max_modes + 1))
    for k in ks:
        if keep.size < 5 * k * max(scores.shape[1], 1):
            continue
        with threadpool_limits(1):  # tiny matrices: BLAS threads only add overhead
            gm = GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed).fit(scores)
        bic[k] = float(gm.bic(scores))
        fits[k] = (gm.predict(scores), gm.means_, gm.covariances_)
    best, labels, why_one = 1, np.zeros(keep.size, int), ""
    if n_modes and n_modes in fits:
        best, labels = n_modes, fits[n_modes][0]
    elif len(bic) > 1:
        k = min(bic, key=bic.get)
        if k > 1:
            d_min = _ashman_min(fits[k][1], fits[k][2])
            share = float(np.bincount(fits[k][0], minlength=k).min() / keep.size)
            if d_min > 2 and share >= 0.1:
                best, labels = k, fits[k][0]
            else:
                why_one = (f"; the {k} modes BIC prefers are not clearly separated (Ashman's D {d_min:.2f}, "
                           f"needs > 2; smallest mode {100 * share:.0f} %, needs >= 10 %): all in-control "
                           "batches kept")
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
    if why_one:
        notes = np.flatnonzero(selected_mask)
        if notes.size:
            reasons[notes[0]] += why_one
    table["selected"] = selected_mask
    table["reason"] = reasons
    return GoldenSelection(list(ids[selected_mask]), table, spec, best, bic)


def _ashman_min(means: np.ndarray, covariances: np.ndarray) -> float:
    """Smallest, over pairs of modes, of the largest per-score Ashman's D (diagonal mixture)."""
    k = means.shape[0]
    worst = np.inf
    for a in range(k):
        for b in range(a + 1, k):
            d = np.sqrt(2) * np.abs(means[a] - means[b]) / np.sqrt(covariances[a] + covariances[b])
            worst = min(worst, float(np.max(d)))
    return worst


class GoldenSelector(GoldenEstimator):
    """The selection step of :class:`~golden_batch.GoldenBatchModel` as an estimator.

    ``fit(aligned)`` runs :func:`select_golden` with these settings and keeps its
    result as ``selection_`` (a :class:`GoldenSelection`) and ``selected_`` (the ids).

    Parameters
    ----------
    spec
        KPI specification, e.g. ``"yield >= 0.9 and impurity < 0.02"``; None keeps all.
    alpha
        Family-wise false-alarm probability of one round of the Phase I outlier exclusion
        (Bonferroni: each batch at ``alpha / (2n)``); None skips it. Kept
        apart from the monitoring α (``BatchPCA.alpha``): trimming the reference set at
        the monitoring α would narrow the limits and raise the false-alarm rate.
    n_components
        MPCA components of the outlier model; None: inside a
        :class:`~golden_batch.GoldenBatchModel` those of its ``mpca``, alone 0.8.
    max_iterations
        Rounds of outlier removal (see :func:`select_golden`).
    max_modes
        Largest number of operating modes tried (1, the default: no clustering).
    n_modes
        Fix the number of modes instead of choosing it by BIC.
    variables
        Trajectory variables used; None: inside a model the aligner's, alone all.
    seed
        Seed of the Gaussian-mixture initialisation.
    max_outlier_fraction
        Largest fraction of the batches meeting the spec that Phase I may remove.
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
        max_modes: int = 1,
        n_modes: int | None = None,
        variables: list[str] | None = None,
        seed: int = 0,
        max_outlier_fraction: float = 0.1,
    ):
        self.spec = spec
        self.alpha = alpha
        self.n_components = n_components
        self.max_iterations = max_iterations
        self.max_modes = max_modes
        self.n_modes = n_modes
        self.variables = variables
        self.seed = seed
        self.max_outlier_fraction = max_outlier_fraction

    def fit(self, aligned: xr.Dataset, y=None) -> GoldenSelector:
        """Choose the golden batches of an aligned history (see :func:`select_golden`)."""
        self.selection_ = select_golden(
            aligned, self.spec, alpha=self.alpha,
            n_components=0.8 if self.n_components is None else self.n_components,
            max_iterations=self.max_iterations, max_modes=self.max_modes, n_modes=self.n_modes,
            variables=self.variables, seed=self.seed, max_outlier_fraction=self.max_outlier_fraction)
        self.selected_ = list(self.selection_.selected)
        return self
