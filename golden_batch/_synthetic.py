"""An analytic batch-history generator (no simulation) for tests, benchmarks and the tour.

Each batch follows a maturity ``τ ∈ [0, 1]`` that runs through the batch with a
random duration and a power-law time warp ``τ = (t / T_b)^γ``. Trajectories are
smooth functions of ``τ`` shifted by three latent disturbances – raw material
``r`` (initial concentration), kinetics ``k`` (activation-energy shift) and the
coolant temperature ``c`` – plus AR(1) measurement noise, so the history has the
correlation structure multiway PCA is built for. Faults start at ``fault_onset``
(fraction of the batch):

* ``"cooling"`` – slow loss of cooling: reactor and jacket temperature drift up,
  heat removal falls (like UA decaying);
* ``"sensor_bias"`` – the temperature sensor reads 2 K too high
  (nothing else changes, so the correlation structure breaks: an SPE fault);
* ``"late_feed"`` – the feed of B starts later than in the recipe.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from golden_batch._batchset import make_batch_set
from workbench.errors import ConfigError

__all__ = ["make_synthetic_history", "FAULTS"]

FAULTS = ("cooling", "sensor_bias", "late_feed")

_UNITS = {"temperature": "K", "jacket_temperature": "K", "feed_rate": "m3/s", "conversion": "1",
          "heat_release": "kW", "concentration_b": "mol/m3", "yield": "1", "impurity": "1"}
_NAMES = {"temperature": "reactor temperature", "jacket_temperature": "jacket temperature",
          "feed_rate": "feed rate of B", "conversion": "conversion of A", "heat_release": "heat release rate",
          "concentration_b": "concentration of B", "yield": "yield of C", "impurity": "impurity D fraction"}


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_synthetic_history(
    n_batches: int = 60,
    seed: int = 0,
    *,
    n_samples: int = 120,
    n_variables: int = 6,
    faults: Mapping[str, int] | None = None,
    fault_onset: float = 0.4,
    fault_size: float = 1.0,
    warp: float = 0.06,
    noise: float = 1.0,
    identical: bool = False,
) -> xr.Dataset:
    """Generate a raw batch history (``batch`` × ``sample``) with KPIs ``yield`` and ``impurity``.

    Parameters
    ----------
    n_batches
        Normal batches.
    seed
        Root seed.
    n_samples
        Samples of a batch of nominal duration (sampling interval 60 s).
    n_variables
        Trajectory variables: the first six are named physical signals, further
        ones (``x06`` …) are noisy linear mixtures of them (benchmarks use 20).
    faults
        Fault type → number of extra faulty batches (appended after the normal ones).
    fault_onset
        Fault start as a fraction of the batch.
    fault_size
        Multiplier of every fault's magnitude.
    warp
        Standard deviation of the relative batch duration and of the warp exponent.
    noise
        Multiplier of the measurement noise.
    identical
        Every batch the same (no disturbances, no noise, no warp): for zero-width checks.

    Returns
    -------
    xarray.Dataset
        Raw batch set; ``fault`` (batch, str) names the injected fault ("" if none) and
        ``fault_start`` (batch, s) its onset time.
    """
    faults = dict(faults or {})
    for f in faults:
        if f not in FAULTS:
            raise ConfigError(f"unknown fault {f!r}; choose from {', '.join(FAULTS)}")
    if n_variables < 6:
        raise ConfigError(f"n_variables must be >= 6; got {n_variables}")
    kinds = [""] * n_batches + [f for f, n in faults.items() for _ in range(n)]
    n_total = len(kinds)
    rng = np.random.default_rng(seed)
    dt = 60.0
    scale = 0.0 if identical else 1.0
    dur = n_samples * dt * (1 + scale * warp * rng.standard_normal(n_total)).clip(0.75, 1.25)
    gamma = np.exp(scale * warp * rng.standard_normal(n_total))
    r = scale * rng.standard_normal(n_total)
    k = scale * rng.standard_normal(n_total)
    c = scale * rng.standard_normal(n_total)
    n_max = int(np.ceil(dur.max() / dt)) + 1
    mix = rng.standard_normal((6, max(n_variables - 6, 0))) / np.sqrt(6)
    out = {name: np.full((n_total, n_max), np.nan) for name in list(_UNITS)[:6]}
    extra = np.full((n_total, n_max, max(n_variables - 6, 0)), np.nan)
    elapsed = np.full((n_total, n_max), np.nan)
    yld = np.empty(n_total)
    imp = np.empty(n_total)
    fault_start = np.full(n_total, np.nan)
    for b in range(n_total):
        n = int(np.floor(dur[b] / dt)) + 1
        t = np.arange(n) * dt
        tau = (t / dur[b]) ** gamma[b]
        kind = kinds[b]
        onset = fault_onset
        after = np.clip((tau - onset) / (1 - onset), 0, None) if kind else np.zeros(n)
        feed_start = 0.25 + (0.12 * fault_size if kind == "late_feed" else 0.0)
        feed = 5e-5 * (_logistic((tau - feed_start) / 0.015) - _logistic((tau - feed_start - 0.35) / 0.015))
        fed = np.clip((tau - feed_start) / 0.35, 0, 1)
        rate = 1.0 + 0.06 * k[b] + 0.04 * r[b]
        conv = (1 - np.exp(-3.5 * rate * fed)) * (0.97 + 0.01 * r[b])
        q = 40 * rate * (feed / 5e-5) * np.exp(-2.0 * fed) * (1 + 0.05 * r[b])
        cool = 4.0 * fault_size * after if kind == "cooling" else 0.0
        temp = 345 + 1.2 * c[b] + 0.08 * q + 3.0 * np.sin(np.pi * tau) + cool
        tj = temp - 6.0 - 0.25 * q + 0.8 * c[b] + (2.5 * fault_size * after if kind == "cooling" else 0.0)
        cb = 600 * fed * (1 - conv) + 30 * r[b] * fed
        sig = noise * scale
        ar = _ar1(rng, (n, 6), 0.6) * sig
        vals = np.stack([temp, tj, feed, conv, q, cb], -1)
        vals = vals + ar * np.array([0.15, 0.15, 5e-7, 0.002, 0.4, 3.0])
        if kind == "sensor_bias":
            vals[:, 0] += 2.0 * fault_size * (tau >= onset)
        if kind:
            fault_start[b] = float(t[np.argmax(tau >= onset)])
        for j, name in enumerate(list(_UNITS)[:6]):
            out[name][b, :n] = vals[:, j]
        if n_variables > 6:
            zv = (vals - np.array([345, 335, 2.5e-5, 0.5, 20, 200])) / np.array([3, 5, 2.5e-5, 0.4, 15, 150])
            extra[b, :n] = zv @ mix + 0.05 * sig * rng.standard_normal((n, n_variables - 6))
        elapsed[b, :n] = t
        yld[b] = (0.93 + 0.010 * r[b] + 0.008 * k[b] - 0.006 * abs(c[b]) + 0.003 * sig * rng.standard_normal()
                  - (0.04 * fault_size if kind == "cooling" else 0) - (0.02 * fault_size if kind == "late_feed" else 0))
        imp[b] = (0.012 + 0.0015 * c[b] + 0.001 * k[b] + 0.0005 * sig * rng.standard_normal()
                  + (0.01 * fault_size if kind == "cooling" else 0))
    traj = dict(out)
    for j in range(n_variables - 6):
        traj[f"x{j + 6:02d}"] = extra[:, :, j]
    ds = make_batch_set(traj, elapsed, quality={"yield": yld, "impurity": imp}, units=_UNITS, long_names=_NAMES)
    ds["fault"] = xr.DataArray(np.asarray(kinds, dtype=str), dims=("batch",),
                               attrs={"units": "1", "long_name": "injected fault", "role": "meta"})
    ds["fault_start"] = xr.DataArray(fault_start, dims=("batch",),
                                     attrs={"units": "s", "long_name": "fault onset time", "role": "meta"})
    ds.attrs.update({"generator": "golden_batch.make_synthetic_history", "seed": int(seed)})
    return ds


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    e = rng.standard_normal(shape) * np.sqrt(1 - phi * phi)
    out = np.empty(shape)
    out[0] = rng.standard_normal(shape[1])
    for i in range(1, shape[0]):
        out[i] = phi * out[i - 1] + e[i]
    return out
