"""A twin binding's golden-batch model (``golden: model.nc``) scoring the running batch, alarms in the alarm log.

The model is a :class:`golden_batch.GoldenBatchModel` built with ``twin golden build``. Each
accepted sample (values after the data-quality gate, converted from the tag's unit to the
model variable's; a model variable of unit ``"1"`` that the tag's unit does not convert to was
built from a history without units and takes the tag's values as they are; a rejected or NaN value is held by the model's on-line alignment) goes to a
:class:`golden_batch.MonitorSession` at the batch's elapsed time, aligned the model's way
(elapsed time, maturity indicator or open-end DTW), and gives per variable the envelope flag
and the T²/SPE contributions, the on-line T² and SPE with their limits and, with a quality
(PLS) part, the predicted end-of-batch quality. These go to the trace as ``golden_*``
variables (:attr:`GoldenAlarms.trace_variables`).

The predicted quality's interval is ``ŷ ± z_{0.975} · RMSE_CV`` with the quality model's
cross-validated end-of-batch RMSE (``rmse_cv_``, a 95 % normal interval, e.g. Wold, Sjöström &
Eriksson, *Chemom. Intell. Lab. Syst.* 58:109-130, 2001, §4.4); early in a batch the trimmed-score
prediction is less certain than that, so the interval is the end-of-batch one, not wider. It is NaN
for a model file written before the RMSE was stored.

A twin that joins a running batch (its first sample more than one sample period into the batch)
never saw the batch's start, which the on-line T², SPE, contributions and quality prediction
(trimmed scores of the whole batch so far) need: for that batch they are NaN in the trace and only
the envelope (judged sample by sample) raises alarms.

A run of samples with :attr:`golden_batch.MonitorSample.alarm` (T² or SPE above its limit, or
a variable outside the envelope) is one :class:`~twin.AlarmEvent` of ``kind``
``"golden-<what>"`` (``what`` = ``t2``, ``spe``, ``envelope`` joined by ``+``, of its first
sample), ``tag`` the plant tag of the variable with the largest contribution to the statistic
furthest above its limit (the first variable outside the envelope for an envelope-only alarm)
and ``magnitude`` the largest statistic / limit ratio seen (unit ``"1"``), exactly as
:class:`~twin._mspc.MspcAlarms`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twin._detect import AlarmEvent, OneAlarm
from twin._quality import _linear_conversion
from twin._trace import TraceVariable
from workbench.errors import ConfigError, WorkbenchError, did_you_mean

__all__ = ["GoldenAlarms", "load_golden"]

_Z95 = 1.959963984540054  # standard normal 0.975 quantile


def _resolve(path: str, source_file: str | None) -> Path:
    p = Path(path)
    if not p.is_absolute() and source_file and not p.exists() and (Path(source_file).parent / p).exists():
        p = Path(source_file).parent / p
    return p


def load_golden(path: str, source_file: str | None = None):
    """The golden-batch model at ``path`` (relative: to the binding's folder or the working folder)."""
    from golden_batch import GoldenBatchModel

    p = _resolve(path, source_file)
    if not p.exists():
        raise ConfigError(f"golden-batch model file {p} does not exist; build one with `twin golden build` "
                          "or correct the path", source=source_file, path="golden.model")
    try:
        return GoldenBatchModel.load(p)
    except (WorkbenchError, OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{p}: not a golden-batch model ({exc}); build one with `twin golden build`",
                          source=source_file, path="golden.model") from None


class GoldenAlarms(OneAlarm):
    """Golden-batch scores and alarms of the running batch over the twin's tags.

    Parameters
    ----------
    settings
        The binding's :class:`~twin.GoldenSettings`.
    tags, units
        The twin's tags (order of its ``real`` rows) and their units.
    source_file
        The binding file, for relative paths and messages.
    sample_period
        The plant's sample period (s): a first sample later than this into the batch means the twin
        joined a running batch.
    """

    def __init__(self, settings, tags: list[str], units: list[str], source_file: str | None = None,
                 sample_period: float = 0.0):
        super().__init__()
        self.sample_period = float(sample_period)
        self.model = load_golden(settings.model, source_file)
        names = list(self.model.aligner_.variables_)
        mapping = dict(settings.variables) if settings.variables is not None else {v: v for v in names}
        where = "golden.variables" if settings.variables is not None else "golden"
        extra = [v for v in mapping if v not in names]
        if extra:
            raise ConfigError(f"golden.variables maps '{extra[0]}', which is not a variable of the golden-batch "
                              f"model ({', '.join(names)}); {did_you_mean(extra[0], names)}",
                              source=source_file, path="golden.variables")
        for v in names:
            if v not in mapping:
                raise ConfigError(f"golden-batch model variable '{v}' has no tag; map it in golden.variables "
                                  f"({{{v}: TAG}}) to one of {', '.join(tags)}", source=source_file, path=where)
            if mapping[v] not in tags:
                what = f"is mapped to '{mapping[v]}', which" if settings.variables is not None else "(a bare model " \
                    "path means same names)"
                raise ConfigError(f"golden-batch model variable '{v}' {what} is not a tag of this binding; "
                                  f"{did_you_mean(mapping[v], tags)}; map it: golden: {{model: ..., variables: "
                                  f"{{{v}: TAG}}}}", source=source_file,
                                  path=f"{where}.{v}" if settings.variables is not None else where)
        #: Model variable → plant tag (model variables not from the plant, e.g. ``warped_time``, map to themselves).
        self.tag_of = {v: mapping.get(v, v) for v in self.model.variables_}
        self.columns = np.array([tags.index(mapping[v]) for v in names], dtype=int)
        self.scale = np.ones(len(names))
        self.offset = np.zeros(len(names))
        for j, v in enumerate(names):
            tag_unit, model_unit = units[self.columns[j]], self.model.aligner_.units_.get(v, "")
            if tag_unit == model_unit or not model_unit:
                continue
            conv = _linear_conversion(tag_unit, model_unit)
            if conv is None and model_unit == "1":  # a history without units (e.g. a CSV): values as they are
                continue
            if conv is None:
                raise ConfigError(f"tag '{mapping[v]}' has unit '{tag_unit}', which cannot be converted to "
                                  f"'{model_unit}' of golden-batch model variable '{v}'", source=source_file,
                                  path=f"{where}.{v}" if settings.variables is not None else where)
            self.scale[j], self.offset[j] = conv
        q = self.model.quality_model_
        self.kpis = list(q.quality_) if q is not None else []
        rmse = getattr(q, "rmse_cv_", None) if q is not None else None
        self._half_width = _Z95 * np.asarray(rmse, float) if rmse is not None else np.full(len(self.kpis), np.nan)
        self.restart()

    @property
    def trace_variables(self) -> list[TraceVariable]:
        """The ``golden_*`` trace arrays this scorer fills."""
        var = {"variable": list(self.model.variables_)}
        out = [TraceVariable("golden_index", "1", "golden-batch grid index of the sample (-1 before the grid)"),
               TraceVariable("golden_time", "s", "aligned (reference) time of the sample"),
               TraceVariable("golden_t2", "1", "golden-batch on-line Hotelling T²"),
               TraceVariable("golden_t2_limit", "1", "golden-batch T² limit"),
               TraceVariable("golden_spe", "1", "golden-batch on-line SPE"),
               TraceVariable("golden_spe_limit", "1", "golden-batch SPE limit at this grid point"),
               TraceVariable("golden_in_envelope", "1", "1 inside the golden envelope, 0 outside",
                             ("variable",), var),
               TraceVariable("golden_t2_contribution", "1", "contribution to the golden T²", ("variable",), var),
               TraceVariable("golden_spe_contribution", "1", "contribution to the golden SPE", ("variable",),
                             var)]
        if self.kpis:
            kpi = {"kpi": self.kpis}
            out += [TraceVariable(f"golden_predicted{s}", "1", f"predicted end-of-batch quality{t}", ("kpi",),
                                  kpi)
                    for s, t in (("", ""), ("_low", ", 95 % interval low"), ("_high", ", 95 % interval high"))]
        return out

    def restart(self) -> None:
        """A new batch: a fresh monitoring session (an active alarm stays until :meth:`close`)."""
        self.session = self.model.start()
        #: The last :class:`golden_batch.MonitorSample`.
        self.last = None
        #: The twin joined this batch after its first grid point: the batch's start was never seen.
        self.joined = None

    def update(self, time: float, elapsed: float, real: np.ndarray, trace=None) -> dict[str, np.ndarray]:
        """Score one sample (``real``: the twin's tags) at batch time ``elapsed``; its trace row."""
        x = np.asarray(real, dtype=float)[self.columns] * self.scale + self.offset
        s = self.session.update(float(elapsed), x)
        if self.joined is None:
            self.joined = float(elapsed) > self.sample_period
        self.last = s
        names = self.model.variables_
        row = {"golden_index": float(s.index), "golden_time": s.time, "golden_t2_limit": s.t2_limit,
               "golden_spe_limit": s.spe_limit}
        if s.index >= 0:
            row["golden_in_envelope"] = np.array([float(s.in_envelope[v]) for v in names])
        if s.index >= 0 and not self.joined:
            row.update(golden_t2=s.t2, golden_spe=s.spe)
            row["golden_t2_contribution"] = np.array([s.t2_contribution[v] for v in names])
            row["golden_spe_contribution"] = np.array([s.spe_contribution[v] for v in names])
            if self.kpis:
                y = np.array([s.predicted_quality[k] for k in self.kpis])
                row.update(golden_predicted=y, golden_predicted_low=y - self._half_width,
                           golden_predicted_high=y + self._half_width)
        self._alarm(float(time), s, trace)
        return row

    def _alarm(self, time: float, s, trace) -> None:
        if s.index < 0:
            return
        t2r, sper = (s.t2 / s.t2_limit, s.spe / s.spe_limit) if not self.joined else (float("nan"), float("nan"))
        outside = [v for v, ok in s.in_envelope.items() if not ok]
        what = [w for w, on in (("t2", t2r > 1), ("spe", sper > 1), ("envelope", bool(outside))) if on]
        ratio = float(np.nanmax([t2r, sper])) if not self.joined else 0.0
        ev = self._active
        if what and ev is None:
            if t2r > 1 or sper > 1:
                contrib = s.spe_contribution if sper >= t2r else s.t2_contribution
                top = max(contrib, key=lambda v: contrib[v])
            else:
                top = outside[0]
            self._open(AlarmEvent(tag=self.tag_of[top], kind="golden-" + "+".join(what), start=time,
                                  magnitude=ratio if math.isfinite(ratio) else 0.0, direction=1, unit="1"), trace)
        elif what:
            ev.magnitude = max(ev.magnitude, ratio)
        elif ev is not None:
            self._end(time, trace)
