"""Hotelling T² on the vector of standardised residuals (innovations), alarms in the alarm log.

Per sample the measured tags' residuals ``r_i`` are standardised by their predicted
standard deviation ``s_i`` (the EKF's √S, else the detector's σ): ``z_i = r_i / s_i``.
With ``R`` the correlation matrix of ``z``,

    T² = zᵀ R⁻¹ z  ~  χ²_p  in control,

so a sample is above the limit when ``T² > χ²_{p, 1−α}`` (Hotelling T² with known
parameters, "Phase II, known μ and Σ": Montgomery, *Introduction to Statistical Quality
Control*, 7th ed., 2013, §11.3.1, eq. 11.19; with a Kalman filter's innovation covariance
this is the normalised innovation squared, Bar-Shalom, Li & Kirubarajan, *Estimation with
Applications to Tracking and Navigation*, 2001, §5.4). Assumption: ``z`` is N(0, R); with the
EKF ``R`` is the filter's predicted innovation correlation (``S`` scaled to unit diagonal),
otherwise the residuals of different tags are assumed independent (``R = I``, ``T² = Σ z_i²``).

Contributions (Westerhuis, Gurden & Smilde 2000, *Chemom. Intell. Lab. Syst.* 51:95-114)
``c_i = z_i (R⁻¹ z)_i`` sum to ``T²``; for ``R = I`` they are ``z_i²``. They are computed by
:func:`golden_batch.t2_contributions` on the eigen-decomposition ``R = V Λ Vᵀ`` (scores
``t = zV``, score variances ``Λ``).

A sample with missing residuals (NaN ``z``) is scored on its available sub-vector with
``R`` restricted to it and the limit on that many degrees of freedom (``χ²_{q, 1−α}``, q the
number of available tags): the marginal of a multivariate normal is normal with the
sub-matrix as covariance. A sample with none leaves the alarm state unchanged.

Alarm: ``min_run`` samples in a row above the limit raise one
:class:`~twin.AlarmEvent` of kind ``"residual-t2"`` (tag = the largest contribution at the
raising sample, direction = the sign of that tag's residual, magnitude = the largest
T²/limit seen, unit ``"1"``); it holds while ``T²`` stays above ``clear × limit`` (the
detectors' deadband, ISA-18.2) and ends at the first sample below.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from golden_batch import t2_contributions
from twin._detect import AlarmEvent, OneAlarm

__all__ = ["ResidualT2", "residual_t2", "standardise", "ekf_correlation"]

KIND = "residual-t2"


def residual_t2(z: np.ndarray, corr: np.ndarray | None = None) -> tuple[float, int, np.ndarray]:
    """T², its degrees of freedom and per-tag contributions of one standardised residual vector.

    Parameters
    ----------
    z
        Standardised residuals (p,); NaN where missing.
    corr
        Their correlation matrix (p × p); None for the identity (independent residuals).

    Returns
    -------
    t2, dof, contributions
        ``T²`` of the available sub-vector, its size, and contributions (p,) summing to ``T²``
        (0 for a missing residual).
    """
    z = np.asarray(z, dtype=float)
    ok = np.isfinite(z)
    c = np.zeros(z.size)
    q = int(ok.sum())
    if q == 0:
        return 0.0, 0, c
    zs = z[ok]
    if corr is None:
        c[ok] = zs * zs
    else:
        lam, vec = np.linalg.eigh(np.asarray(corr, dtype=float)[np.ix_(ok, ok)])
        if lam[0] <= 1e-12 * max(lam[-1], 1e-300):
            raise ValueError(f"the residual correlation matrix is singular (eigenvalues {lam.round(12).tolist()})")
        c[ok] = t2_contributions(zs[None], vec, (zs @ vec)[None], lam)[0]
    return float(c.sum()), q, c


def standardise(residual: np.ndarray, scale: np.ndarray | None, sigma: np.ndarray) -> np.ndarray:
    """Residuals divided by ``scale`` (this sample's predicted std, e.g. the EKF's √S) where it is known,
    else by ``sigma``; NaN where the residual is missing or neither is known yet (σ still in warm-up)."""
    sigma = np.asarray(sigma, dtype=float)
    s = sigma if scale is None else np.where(np.isfinite(scale) & (scale > 0), scale, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(s) & (s > 0), np.asarray(residual, dtype=float) / s, np.nan)


def ekf_correlation(ekf, p: int, rows: np.ndarray) -> np.ndarray | None:
    """Correlation of the standardised residuals of ``p`` tags: the EKF's predicted innovation covariance
    ``S`` scaled to unit diagonal on the filtered tags ``rows``, independence elsewhere; None (identity)
    without a filter."""
    if ekf is None:
        return None
    corr = np.eye(p)
    S = ekf.innovation_cov
    d = np.sqrt(np.diag(S))
    corr[np.ix_(rows, rows)] = S / np.outer(d, d)
    return corr


class ResidualT2(OneAlarm):
    """Hotelling T² alarms on the standardised residual vector of a twin's measured tags.

    Parameters
    ----------
    tags
        Measured tag names (order of the residual vectors).
    alpha
        Per-sample false-alarm probability of the χ² limit.
    min_run
        Samples in a row above the limit that raise an alarm.
    clear
        An alarm holds until T² falls to this fraction of the limit.
    reference
        0: ``z`` is N(0, R) with R known (given per sample, else I), χ² limits. ``m > 0``: the
        mean and covariance of ``z`` are estimated from the first ``m`` complete samples (a clean
        reference window; no T² alarm during it, and a bias already present in it is learnt as
        normal), T² is taken about that mean with that covariance, and the limit is the Phase II
        limit for individual observations with estimated parameters (Tracy, Young & Mason,
        *J. Quality Technology* 24(2):88-95, 1992; Montgomery 2013, §11.3.1)::

            UCL_q = q (m+1)(m−1) / (m² − m q) · F_{1−α; q, m−q}

        (q available tags). Needs ``m > p + 1``.
    """

    def __init__(self, tags: Sequence[str], alpha: float = 0.001, min_run: int = 1, clear: float = 0.5,
                 reference: int = 0):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if reference and reference <= len(tags) + 1:
            raise ValueError(f"reference must be more than tags + 1 = {len(tags) + 1} samples "
                             f"(the covariance of {len(tags)} residuals is estimated from it), got {reference}")
        self.reference = int(reference)
        #: Reference-window mean and covariance of ``z`` (``reference > 0``, once estimated).
        self.center: np.ndarray | None = None
        self.cov: np.ndarray | None = None
        self._ref: list[np.ndarray] = []
        self.tags = list(tags)
        self.alpha = float(alpha)
        self.min_run = int(min_run)
        self.clear = float(clear)
        p = len(self.tags)
        #: Limit for q = 0..p available tags (index q; 0 unused): χ²_{q, 1−α}, or the Phase II F limit.
        self.limits = np.array([np.inf] + [float(stats.chi2.ppf(1 - self.alpha, q)) for q in range(1, p + 1)])
        if self.reference:
            m = self.reference
            self.limits[1:] = [q * (m + 1) * (m - 1) / (m * m - m * q) * float(stats.f.ppf(1 - self.alpha, q, m - q))
                               for q in range(1, p + 1)]
        OneAlarm.__init__(self)
        self.reset()

    def reset(self) -> None:
        """Forget the run of samples above the limit (an active alarm stays until :meth:`close`)."""
        self._run = 0
        #: T², its limit and contributions of the last scored sample.
        self.t2, self.limit, self.contributions = 0.0, float("nan"), np.zeros(len(self.tags))

    @property
    def active(self) -> AlarmEvent | None:
        """The alarm currently active, if any."""
        return self._active

    def update(self, time: float, z: np.ndarray, corr: np.ndarray | None = None, trace=None) -> bool:
        """Score one standardised residual vector; return whether the alarm is active after it."""
        z = np.asarray(z, dtype=float)
        if self.reference:
            if self.cov is None:
                self._learn(z)
                return False
            z, corr = z - self.center, self.cov
        t2, q, c = residual_t2(z, corr)
        if q == 0:
            return self._active is not None
        limit = float(self.limits[q])
        self.t2, self.limit, self.contributions = t2, limit, c
        self._step(float(time), t2, limit, c, np.asarray(z, dtype=float), trace)
        return self._active is not None

    def update_block(self, time: np.ndarray, z: np.ndarray, trace=None) -> np.ndarray:
        """Score rows of standardised residuals (n × p) with ``R = I``; return the alarm state per row.

        Same results as :meth:`update` per row without ``corr``; the statistic is vectorised and
        the alarm logic runs only on rows above ``clear × limit`` or while an alarm is active.
        With a reference window (``reference > 0``) the rows go through :meth:`update` one by one.
        """
        z = np.asarray(z, dtype=float)
        if self.reference:
            return np.array([self.update(float(ti), zi, None, trace) for ti, zi in zip(time, z, strict=True)], bool)
        ok = np.isfinite(z)
        c = np.where(ok, z * z, 0.0)
        t2 = c.sum(axis=1)
        q = ok.sum(axis=1)
        limit = self.limits[q]
        busy = (q > 0) & (t2 > self.clear * limit)
        out = np.zeros(len(z), dtype=bool)
        for i in range(len(z)):
            if q[i] == 0:
                out[i] = self._active is not None
                continue
            if not busy[i] and self._active is None:
                self._run = 0
                continue
            self._step(float(time[i]), float(t2[i]), float(limit[i]), c[i], z[i], trace)
            out[i] = self._active is not None
        if len(z) and (q > 0).any():
            last = int(np.flatnonzero(q > 0)[-1])
            self.t2, self.limit, self.contributions = float(t2[last]), float(limit[last]), c[last].copy()
        return out

    def close(self, time: float, trace=None) -> None:
        """End an alarm still active at the end of the run."""
        super().close(time, trace)
        self._run = 0

    def _learn(self, z: np.ndarray) -> None:
        """Collect a complete sample of the reference window; estimate mean and covariance at its end."""
        if np.isfinite(z).all():
            self._ref.append(z.copy())
        if len(self._ref) == self.reference:
            x = np.array(self._ref)
            self.center, self.cov = x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(len(self.tags), -1)
            self._ref = []

    def _step(self, time: float, t2: float, limit: float, c: np.ndarray, z: np.ndarray, trace) -> None:
        above = t2 > limit
        self._run = self._run + 1 if above else 0
        ev = self._active
        if ev is None and self._run >= self.min_run:
            top = int(np.argmax(c))
            self._open(AlarmEvent(tag=self.tags[top], kind=KIND, start=time, magnitude=t2 / limit,
                                  direction=1 if z[top] > 0 else -1, unit="1"), trace)
        elif ev is not None and t2 > self.clear * limit:
            ev.magnitude = max(ev.magnitude, t2 / limit)
        elif ev is not None:
            self._end(time, trace)
