"""A twin binding's MSPC model (``mspc: model.nc``) run on the raw plant tags, alarms in the alarm log.

The model is a :mod:`spc` PCA/PLS monitor built with ``twin spc mspc build`` on normal
operating data of the same tags. Every accepted sample (values after the data-quality gate;
a rejected or NaN value is a missing value, scored by the model's missing-value rule) gets
T² and SPE; a run of samples above a limit is one :class:`~twin.AlarmEvent` with
``kind`` ``"mspc-t2"``, ``"mspc-spe"`` or ``"mspc-t2+spe"`` (the statistics of its first
sample), ``tag`` the variable with the largest contribution to that statistic, and
``magnitude`` the largest statistic / limit ratio seen (unit ``"1"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin._detect import AlarmEvent, OneAlarm
from workbench.errors import ConfigError, WorkbenchError

__all__ = ["MspcAlarms"]


class MspcAlarms(OneAlarm):
    """T²/SPE alarms of an MSPC model over the twin's tags.

    Parameters
    ----------
    path
        Model file (absolute, or relative to the binding file's folder or the working folder).
    tags
        The twin's tags, in the order of its ``real`` rows.
    source_file
        The binding file, for relative paths and messages.
    """

    def __init__(self, path: str, tags: list[str], source_file: str | None = None):
        from spc import load_monitor

        super().__init__()
        p = Path(path)
        if not p.is_absolute() and source_file and not p.exists() and (Path(source_file).parent / p).exists():
            p = Path(source_file).parent / p
        try:
            self.model = load_monitor(p)
        except WorkbenchError as exc:
            raise ConfigError(str(exc), source=source_file, path="mspc") from None
        missing = [v for v in self.model.variables_ if v not in tags]
        if missing:
            raise ConfigError(f"the MSPC model {p} uses variables {', '.join(missing)}, which are not tags of this "
                              f"binding ({', '.join(tags)}); bind them or build the model on the bound tags",
                              source=source_file, path="mspc")
        self.columns = np.array([tags.index(v) for v in self.model.variables_], dtype=int)
        self._history = np.empty((0, len(self.columns)))

    def update(self, t: np.ndarray, real: np.ndarray, trace=None) -> None:
        """Score samples at times ``t`` (rows of ``real``: the twin's tags) and open/close alarm events."""
        m = self.model
        x = np.asarray(real, dtype=float)[:, self.columns]
        h = len(self._history)
        full = np.vstack([self._history, x]) if h else x
        r = m.score_arrays(full)
        lags = int(m.lags)
        self._history = full[len(full) - min(lags, len(full)):] if lags else self._history
        names = m.variables_
        for k in range(len(x)):
            i = h + k
            t2r, sper = r["t2"][i] / m.t2_limit_, r["spe"][i] / m.spe_limit_
            alarm = bool(r["t2_alarm"][i] or r["spe_alarm"][i])
            ev = self._active
            if alarm and ev is None:
                stat = "spe_contribution" if sper >= t2r else "t2_contribution"
                top = names[int(np.argmax(r[stat][i]))]
                self._open(AlarmEvent(tag=top, kind=f"mspc-{r['flag'][i].lower()}", start=float(t[k]),
                                      magnitude=float(max(t2r, sper)), direction=1, unit="1"), trace)
            elif alarm:
                ev.magnitude = max(ev.magnitude, float(max(t2r, sper)))
            elif ev is not None:
                self._end(float(t[k]), trace)
