"""Operating envelopes as optimisation constraints.

A golden-batch envelope (``golden_batch``) is a time-varying band ``lower(t) <= x(t) <= upper(t)``
around proven batches. Campaigns use its scalar violation (``<= 0`` means inside); Pyomo
models use the band itself as path constraints at the collocation points. :class:`EnvelopeBand`
is the small common form both need; :meth:`EnvelopeBand.from_envelope` adapts any envelope
object of ``golden_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import ConfigError, did_you_mean

__all__ = ["EnvelopeBand"]


@dataclass(frozen=True)
class EnvelopeBand:
    """A band ``lower(t) <= variable(t) <= upper(t)`` over elapsed batch time.

    Parameters
    ----------
    variable
        Trajectory variable the band applies to (e.g. ``"T"``).
    time
        Elapsed batch time of the band points in s (increasing).
    lower, upper
        Band limits at ``time``, in ``units``; linear interpolation in between.
    units
        Units of the variable and of the violation.
    """

    variable: str
    time: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    units: str = ""

    def __post_init__(self) -> None:
        t = np.asarray(self.time, dtype=float)
        lo = np.asarray(self.lower, dtype=float)
        hi = np.asarray(self.upper, dtype=float)
        if t.ndim != 1 or t.size < 2 or lo.shape != t.shape or hi.shape != t.shape:
            raise ConfigError(
                f"envelope on {self.variable!r}: time, lower and upper must be 1-D of equal length >= 2, "
                f"got {t.shape}, {lo.shape}, {hi.shape}"
            )
        if np.any(np.diff(t) <= 0):
            raise ConfigError(f"envelope on {self.variable!r}: time must be strictly increasing")
        if np.any(lo > hi):
            raise ConfigError(f"envelope on {self.variable!r}: lower > upper at some times")
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    def bounds_at(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Band limits at times ``t`` (s); beyond the band's time range the end values hold."""
        t = np.asarray(t, dtype=float)
        return np.interp(t, self.time, self.lower), np.interp(t, self.time, self.upper)

    def violation(self, trajectory: Any) -> float:
        """Largest excursion outside the band in ``units`` (0 when inside everywhere).

        Parameters
        ----------
        trajectory
            An :class:`xarray.Dataset` with a ``time`` coordinate in s, or a mapping with
            ``"time"`` and the variable as arrays. Only times up to the band's end count.
        """
        t, x = _series(trajectory, self.variable)
        sel = t <= self.time[-1] + 1e-9
        if not np.any(sel):
            return 0.0
        lo, hi = self.bounds_at(t[sel])
        exc = np.maximum(lo - x[sel], x[sel] - hi)
        return float(max(0.0, np.max(exc)))

    @classmethod
    def from_envelope(cls, envelope: Any, variable: str | None = None) -> EnvelopeBand:
        """Adapt a ``golden_batch`` envelope (or another band-like object).

        Accepts a fitted :class:`golden_batch.Envelope` (NumPy ``lower_``/``upper_`` over
        ``time_`` × ``variables_``), or objects exposing an xarray Dataset/DataArray of
        ``lower``/``upper`` over ``time`` (attributes ``lower``/``upper`` or
        ``lower_``/``upper_``), optionally with a ``tag``/``variable`` dimension from which
        ``variable`` is selected.
        """
        if isinstance(envelope, EnvelopeBand):
            return envelope
        fitted = _from_fitted_arrays(cls, envelope, variable)
        if fitted is not None:
            return fitted
        lo = _first_attr(envelope, ("lower_", "lower", "lo_", "lo"))
        hi = _first_attr(envelope, ("upper_", "upper", "hi_", "hi"))
        if lo is None or hi is None:
            ds = _first_attr(envelope, ("band_", "limits_", "dataset_", "envelope_"))
            if ds is not None and "lower" in ds and "upper" in ds:
                lo, hi = ds["lower"], ds["upper"]
        if lo is None or hi is None:
            raise ConfigError(
                f"{type(envelope).__name__} has no lower/upper band; give an EnvelopeBand or a "
                "golden_batch envelope with lower/upper limits over time"
            )
        for dim in ("tag", "variable"):
            if hasattr(lo, "dims") and dim in lo.dims:
                names = [str(v) for v in lo[dim].values]
                if variable is None:
                    if len(names) != 1:
                        raise ConfigError(f"envelope has variables {names}; say which one to use")
                    variable = names[0]
                lo, hi = lo.sel({dim: variable}), hi.sel({dim: variable})
        if variable is None:
            variable = str(getattr(lo, "name", None) or getattr(envelope, "variable", "T"))
        time = np.asarray(lo["time"].values if hasattr(lo, "coords") else envelope.time, dtype=float)
        units = str(getattr(lo, "attrs", {}).get("units", ""))
        return cls(variable, time, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), units)

    @classmethod
    def around(cls, trajectories: list[Any], variable: str, *, k: float = 3.0,
               min_halfwidth: float = 0.0, units: str = "") -> EnvelopeBand:
        """Mean ± ``k`` standard deviations of reference trajectories (a simple golden band).

        Used for tests and demos when no ``golden_batch`` envelope is given; the
        trajectories must share one time grid.
        """
        series = [_series(tr, variable) for tr in trajectories]
        t = series[0][0]
        xs = np.vstack([s[1] for s in series])
        mu, sd = xs.mean(axis=0), xs.std(axis=0, ddof=1) if len(series) > 1 else np.zeros_like(t)
        half = np.maximum(k * sd, min_halfwidth)
        return cls(variable, t, mu - half, mu + half, units)


def _from_fitted_arrays(cls, envelope: Any, variable: str | None) -> EnvelopeBand | None:
    """``golden_batch.Envelope`` after ``fit``: NumPy ``lower_``/``upper_`` of shape (time, variable)
    with ``time_`` (s), ``variables_`` and ``units_``."""
    lo, hi = getattr(envelope, "lower_", None), getattr(envelope, "upper_", None)
    names = getattr(envelope, "variables_", None)
    t = getattr(envelope, "time_", None)
    if not isinstance(lo, np.ndarray) or not isinstance(hi, np.ndarray) or names is None or t is None:
        return None
    names = [str(n) for n in names]
    if variable is None:
        if len(names) != 1:
            raise ConfigError(f"envelope has variables {names}; say which one to use")
        variable = names[0]
    if variable not in names:
        raise ConfigError(f"envelope has no variable {variable!r}; {did_you_mean(variable, names)}")
    j = names.index(variable)
    lo2, hi2 = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if lo2.ndim == 1:
        lo2, hi2 = lo2[:, None], hi2[:, None]
    units = list(getattr(envelope, "units_", None) or [""] * len(names))
    return cls(variable, np.asarray(t, dtype=float), lo2[:, j], hi2[:, j], str(units[j]))


def _first_attr(obj: Any, names: tuple[str, ...]) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is not None and not callable(v):
            return v
    return None


def _series(trajectory: Any, variable: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(trajectory, Mapping) or hasattr(trajectory, "data_vars"):
        if variable not in trajectory:
            raise ConfigError(f"trajectory has no variable {variable!r} for the envelope check")
        t = np.asarray(trajectory["time"], dtype=float)
        x = np.asarray(trajectory[variable], dtype=float)
        return t, x
    raise ConfigError(f"cannot read {variable!r} from a {type(trajectory).__name__}")
