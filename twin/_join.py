"""Joining a batch that is already running: state estimation at join and a settling hold.

A twin that starts mid-batch does not know the states of its FMU. It catches up
by integrating from the FMU's initial state to the batch time with the first
measured inputs held (:func:`catch_up`), then takes the measured states from the
first sample. The unmeasured states (amounts, extents) are then wrong by however
much the unknown past inputs differed from the held ones: on the shipped reactor,
joined 20 min in, by 10–30 % for the reaction products, while a default EKF
covariance said 0.1 %. The overconfident filter then cannot correct them and its
innovations carry a slow bias that a CUSUM turns into alarms.

Two remedies, both standard:

* **Initial covariance from the catch-up** (:func:`catch_up_covariance`): each
  input's unknown past is modelled as a constant offset of standard deviation
  ``σᵤ`` around its first sample; the law of propagation of uncertainty to first
  order (JCGM 100:2008, *Guide to the Expression of Uncertainty in Measurement*,
  §5.1.2) gives ``P₀ = J diag(σᵤ²) Jᵀ`` with ``J = ∂x(t_join)/∂u`` from central
  differences of the catch-up. Unlike a diagonal guess it keeps the correlations
  the physics imposes (an error in the reaction extent moves A, B and C
  together), which is what lets the filter correct the right direction. In an EKF
  ``P₀`` is the covariance of the initial estimate's error (Simon, *Optimal State
  Estimation*, Wiley 2006, §5.1 and §13.2).
* **Settling hold** (:class:`Settling`): the drift detectors (EWMA/CUSUM) are
  not fed until the standardised residuals over the last ``window`` samples are
  consistent with N(0, 1): the sum of squares (the normalised innovation squared
  of each tag, summed over the window) below its χ² upper bound, and each tag's
  window mean within its normal bound (Bar-Shalom, Li & Kirubarajan,
  *Estimation with Applications to Tracking and Navigation*, Wiley 2001, §5.4.2:
  time-average NIS and innovation-mean tests), and not before ``min_settle``
  (the wide covariance must shrink first: released at the first consistent
  window, 5 of 36 joins still alarmed later). The hold ends at the latest
  ``settle`` after its shortest length. Fixed limits stay live throughout.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from twin._ekf import binding_ekf
from twin._quality import QualityFlag
from workbench.errors import FmuError, WorkbenchError

__all__ = [
    "BatchJoin",
    "Settling",
    "catch_up",
    "catch_up_covariance",
    "input_offsets",
    "join_covariance",
]


def catch_up(model, u: np.ndarray, batch_time: float, dt: float) -> None:
    """Step ``model`` with inputs ``u`` held until its time reaches ``batch_time`` (steps of ``dt`` s)."""
    while model.time + 1e-9 < batch_time:
        model.step(u, min(dt, batch_time - model.time))


def catch_up_covariance(
    model, u: np.ndarray, batch_time: float, dt: float, input_std: np.ndarray
) -> np.ndarray:
    """State covariance at ``batch_time`` from unknown constant input offsets over the catch-up.

    ``P = J diag(σᵤ²) Jᵀ``, ``J[:, i] = (x(u + σᵢ eᵢ) − x(u − σᵢ eᵢ)) / 2σᵢ``
    (first-order propagation, JCGM 100:2008 §5.1.2). One side alone is used when
    the other fails (e.g. an FMU that refuses a negative flow). The model is left
    reset at time 0 with inputs ``u``, ready for the nominal catch-up.

    Parameters
    ----------
    model
        A :class:`~twin.FmuStepper` in mode ``"me"``.
    u
        Inputs held over the catch-up (FMU units).
    batch_time, dt
        Catch-up end (s) and step (s).
    input_std
        Standard deviation of each input's past offset (FMU units; 0 = known).

    Raises
    ------
    FmuError
        When the catch-up fails on both sides of an input.
    """
    names = model.state_names
    columns = []
    for i in np.flatnonzero(np.asarray(input_std) > 0):
        ends = {}
        for sign in (1.0, -1.0):
            up = np.array(u, float)
            up[i] += sign * input_std[i]
            try:
                model.reset(start_time=0.0)
                model.step(up, 0.0)
                catch_up(model, up, batch_time, dt)
                ends[sign] = model.state_vector
            except WorkbenchError:
                continue
        if len(ends) == 2:
            columns.append(0.5 * (ends[1.0] - ends[-1.0]))
        elif ends:
            model.reset(start_time=0.0)
            model.step(u, 0.0)
            catch_up(model, u, batch_time, dt)
            ((sign, x),) = ends.items()
            columns.append(sign * (x - model.state_vector))
        else:
            raise FmuError(
                f"catching up to batch time {batch_time:g} s failed with input "
                f"'{model.input_names[i]}' moved by ±{input_std[i]:g}; lower join.input_std for it"
            )
    model.reset(start_time=0.0)
    model.step(u, 0.0)
    J = np.array(columns).T if columns else np.zeros((len(names), 0))
    return J @ J.T


def input_offsets(binding, real: np.ndarray, to_fmu: np.ndarray) -> np.ndarray:
    """Std of each input's unknown past offset in FMU units: ``join.input_std`` or ``input_rel × |first value|``.

    ``real`` holds the first sample's values (tag units, inputs first; NaN:
    unusable, which gives 0), ``to_fmu`` the tag → FMU conversion per tag.
    """
    j = binding.join
    std = [
        j.input_std.get(tb.tag, j.input_rel * abs(real[i]) if np.isfinite(real[i]) else 0.0)
        for i, tb in enumerate(binding.inputs)
    ]
    return np.asarray(std, float) * np.abs(to_fmu[: len(std), 0])


def join_covariance(
    catch: np.ndarray,
    x: np.ndarray,
    floor: np.ndarray,
    p0_scale: float,
    measured: np.ndarray,
    r_var: np.ndarray,
) -> np.ndarray:
    """EKF covariance at join: catch-up covariance plus ``(p0_scale·|x|)²`` and the filter's own ``floor``.

    States taken from a measurement at join (``measured``: their indices) have
    the sensor's variance ``r_var`` and no correlation with the others.
    """
    P = np.array(catch, float) + np.diag(np.square(p0_scale * np.abs(x)) + floor)
    P[measured, :] = 0.0
    P[:, measured] = 0.0
    P[measured, measured] = r_var
    return 0.5 * (P + P.T)


class Settling:
    """Holds the drift detectors after a join until the standardised residuals are consistent.

    Parameters
    ----------
    start
        Time (s) of the first sample after the join.
    n_tags
        Measured tags (columns of the standardised residuals).
    window
        Samples in the test window (also the shortest hold).
    alpha
        Level of each test (the mean test is Bonferroni-split over the tags).
    max_time
        Longest hold (s); the hold ends then whatever the tests say.
    min_time
        Shortest hold (s); samples up to then are not tested (e.g. while an EKF
        estimates the states of a ``reset`` binding).
    """

    def __init__(
        self,
        start: float,
        n_tags: int,
        *,
        window: int,
        alpha: float,
        max_time: float,
        min_time: float = 0.0,
    ) -> None:
        self.start = float(start)
        self.min_time = float(min_time)
        self.window = int(window)
        self.alpha = float(alpha)
        self.max_time = float(max_time)
        self._z = np.full((self.window, n_tags), np.nan)
        self._n = 0
        #: Time the hold ended (None while holding) and why: ``"consistent"`` or ``"max"``.
        self.released_at: float | None = None
        self.reason: str | None = None

    @property
    def holding(self) -> bool:
        """True while the detectors are held."""
        return self.released_at is None

    def update(self, time: float, z: np.ndarray) -> bool:
        """Add this sample's standardised residuals (NaN: not testable); return True while still holding."""
        if not self.holding:
            return False
        if time - self.start <= self.min_time and self.min_time > 0:
            return True
        self._z[self._n % self.window] = z
        self._n += 1
        if self._n >= self.window and self.consistent(self._z, self.alpha):
            self.released_at, self.reason = float(time), "consistent"
        elif time - self.start >= self.max_time:
            self.released_at, self.reason = float(time), "max"
        return self.holding

    @staticmethod
    def consistent(z: np.ndarray, alpha: float) -> bool:
        """Window ``z`` (samples × tags) consistent with white N(0, 1)?

        Sum of squares ≤ χ²₁₋α(n) over the n finite entries, and every tag's
        ``|Σ zⱼ| / √nⱼ ≤ Φ⁻¹(1 − α / 2m)`` over the m tags tested (Bar-Shalom et
        al. 2001, §5.4.2). A window with no finite entry is not consistent.
        """
        ok = np.isfinite(z)
        n = int(ok.sum())
        if n == 0:
            return False
        zz = np.where(ok, z, 0.0)
        if float(np.sum(zz * zz)) > stats.chi2.ppf(1.0 - alpha, n):
            return False
        nj = ok.sum(axis=0)
        tested = nj > 0
        bound = stats.norm.ppf(1.0 - alpha / (2 * int(tested.sum())))
        mean_z = np.abs(zz.sum(axis=0)[tested]) / np.sqrt(nj[tested])
        return bool(np.all(mean_z <= bound)) and math.isfinite(bound)


class BatchJoin:
    """What a :class:`~twin.Twin` does when it joins a running batch (its ``binding.join`` settings).

    Made before the nominal catch-up (:meth:`__init__` runs the perturbed ones),
    started after it (:meth:`begin`), then fed every sample while it holds the
    detectors (:meth:`step`); the twin drops it once settled.

    A ``reset`` binding whose synced outputs all have a ``sigma`` gets an EKF for
    ``join.estimate`` (the mean-residual reset cannot estimate unmeasured states);
    it then hands over to the reset.
    """

    def __init__(self, twin, real: np.ndarray, batch_time: float) -> None:
        self.twin = twin
        self.batch_time = float(batch_time)
        self.own_ekf = False
        if twin.ekf is None and twin.sync_on:
            twin.ekf = binding_ekf(twin.binding, twin.model, twin._to_fmu, required=False)
            self.own_ekf = twin.ekf is not None
        self.catch = None
        if twin.ekf is not None:
            n = len(twin.model.state_names)
            std = input_offsets(twin.binding, real, twin._to_fmu)
            period = float(twin.binding.sample_period)
            self.catch = (
                catch_up_covariance(twin.model, twin._u, batch_time, period, std)
                if batch_time > 0
                else np.zeros((n, n))
            )
        self.settling: Settling | None = None

    def begin(self, t: float, usable: np.ndarray) -> BatchJoin:
        """After the catch-up and the measured-state reset: widen the EKF's covariance, start the hold."""
        tw, j = self.twin, self.twin.binding.join
        if self.catch is not None:
            ok = usable[tw._ekf_rows]
            ekf = tw.ekf
            ekf.set_covariance(
                join_covariance(
                    self.catch,
                    tw.model.state_vector,
                    ekf.p0_var,
                    j.p0_scale,
                    ekf.idx[ok],
                    np.diag(ekf.R)[ok],
                )
            )
        # shortest hold: a reset binding's EKF estimates the states first; otherwise min_settle
        est = j.estimate if self.own_ekf else j.min_settle
        self.settling = Settling(
            t,
            len(tw.binding.outputs),
            window=j.window,
            alpha=j.alpha,
            max_time=est + j.settle,
            min_time=est,
        )
        tw.report.joined_at = self.batch_time
        return self

    def step(
        self, t: float, residual: np.ndarray, scale: np.ndarray | None, flags: np.ndarray
    ) -> np.ndarray:
        """Flag SETTLING on the measured tags, test this sample; release the detectors once consistent."""
        tw, s = self.twin, self.settling
        sigma = tw.detector.sigma
        sd = sigma if scale is None else np.where(np.isfinite(scale), scale, sigma)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = residual / sd
        flags = flags.copy()
        flags[len(flags) - len(residual) :] |= np.uint16(QualityFlag.SETTLING)
        if (
            self.own_ekf and t - s.start >= s.min_time
        ):  # reset binding: the EKF hands over to the reset
            tw.ekf, tw._last_sync, self.own_ekf = None, t, False
        if not s.update(t, z):
            tw._joining = None
            tw.detector.reset()
            tw.report.settled_at, tw.report.settle_reason = s.released_at, s.reason
        return flags
