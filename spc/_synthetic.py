"""A seeded synthetic continuous process: correlated tags driven by a few latent factors.

``x(t) = L f(t) + e(t)`` with ``f`` an AR(1) process per factor (``f(t) = φ f(t-1) + √(1-φ²) u(t)``,
unit variance; ``φ = 0`` is white) and independent sensor noise ``e`` of standard deviation
``noise`` – the latent-variable model PCA monitoring assumes (MacGregor & Kourti 1995).
Each tag gets its own level and spread (``x = level + spread · …``) so scaling matters.

:func:`make_softsensor_data` adds a lab quality value with a known law (for soft-sensor
validation), :func:`make_regime_data` a process moving between operating modes at known change
points (for regime slicing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_process_data", "make_softsensor_data", "make_regime_data"]


def make_process_data(n_samples: int, *, n_variables: int = 10, n_latent: int = 3, noise: float = 0.3,
                      phi: float = 0.0, seed: int = 0, start: str = "2026-01-01", period: str = "1min",
                      structure_seed: int | None = None) -> pd.DataFrame:
    """Normal operating data, one column ``x00`` … per tag, indexed by ``time``.

    Parameters
    ----------
    n_samples, n_variables, n_latent
        Samples, tags and latent factors.
    noise
        Sensor noise standard deviation relative to the factor-driven part.
    phi
        AR(1) coefficient of the factors (autocorrelated process for ``0 < φ < 1``).
    seed
        Seed of the samples.
    structure_seed
        Seed of the loadings, levels and spreads (default: ``seed``): give the same one to
        draw training and held-out data of the same process.
    """
    srng = np.random.default_rng(seed if structure_seed is None else structure_seed)
    load = srng.normal(size=(n_latent, n_variables))
    level = srng.uniform(10, 100, n_variables)
    spread = srng.uniform(0.5, 5, n_variables)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_samples, n_latent))
    if phi:
        from scipy.signal import lfilter

        u[0] /= np.sqrt(1 - phi * phi)  # start in the stationary distribution
        f = lfilter([np.sqrt(1 - phi * phi)], [1.0, -phi], u, axis=0)
    else:
        f = u
    x = level + spread * (f @ load + noise * rng.normal(size=(n_samples, n_variables)))
    index = pd.date_range(start, periods=n_samples, freq=period, name="time")
    return pd.DataFrame(x, index=index, columns=[f"x{j:02d}" for j in range(n_variables)])


def make_softsensor_data(n_days: int, *, per_day: int = 24, lab_every: int = 4, noise: float = 0.1,
                         day_effect: float = 0.1, seed: int = 0, structure_seed: int = 1,
                         start: str = "2026-01-01") -> tuple[pd.DataFrame, pd.Series]:
    """Hourly process data with a lab value every ``lab_every`` rows, and the noise-free truth.

    Six tags of an autocorrelated process (:func:`make_process_data`, φ = 0.9); the quality is
    ``q = 50 + 2 z₀(t) − 1.5 z₁(t−1) + 0.8 z₂(t)² + day(t) + ε``, ``z = (x − level)/spread`` of the tags, a day-to-day offset ``day ~ N(0, day_effect²)`` (groups are correlated, as days of a real plant)
    and lab error ``ε ~ N(0, noise²)``. Returns the table (column ``quality`` empty between lab
    samples) and the true ``q`` without lab error on every row.
    """
    n = n_days * per_day
    x = make_process_data(n, n_variables=6, n_latent=3, noise=0.3, phi=0.9, seed=seed,
                          structure_seed=structure_seed, start=start, period=f"{24 // per_day}h")
    srng = np.random.default_rng(structure_seed)  # the draws of make_process_data: loadings, levels, spreads
    srng.normal(size=(3, 6))
    level, spread = srng.uniform(10, 100, 6), srng.uniform(0.5, 5, 6)
    z = (x.to_numpy() - level) / spread  # the same law for every seed of one structure
    rng = np.random.default_rng(seed + 10_000)
    day = np.repeat(rng.normal(0, day_effect, n_days), per_day)
    z1_lag = np.concatenate([[z[0, 1]], z[:-1, 1]])
    truth = 50 + 2 * z[:, 0] - 1.5 * z1_lag + 0.8 * z[:, 2] ** 2 + day
    lab = truth + rng.normal(0, noise, n)
    lab[np.arange(n) % lab_every != 0] = np.nan
    frame = x.copy()
    frame.columns = [f"tag{j}" for j in range(6)]
    frame["quality"] = lab
    return frame, pd.Series(truth, index=x.index, name="truth")


def make_regime_data(n_samples: int = 1500, *, n_changes: int = 5, n_modes: int = 3, n_variables: int = 3,
                     shift: float = 3.0, phi: float = 0.0, min_gap: int = 60, seed: int = 0,
                     start: str = "2026-01-01", period: str = "1min") -> tuple[pd.DataFrame, list[int], np.ndarray]:
    """A process jumping between ``n_modes`` operating modes at ``n_changes`` known change points.

    Mode levels are drawn with components ``N(0, shift²)`` (in units of the noise σ = 1); consecutive
    segments never share a mode; the noise is AR(1) with coefficient ``phi`` (unit variance).
    Returns the table, the true change points (row where each new segment starts) and the true
    mode of every row.
    """
    rng = np.random.default_rng(seed)
    levels = rng.normal(0, shift, size=(n_modes, n_variables))
    while True:  # change points at least min_gap apart and from the ends
        cps = np.sort(rng.choice(np.arange(min_gap, n_samples - min_gap), n_changes, replace=False))
        if np.all(np.diff(cps) >= min_gap):
            break
    seq = [int(rng.integers(n_modes))]
    for _ in range(n_changes):
        seq.append(int(rng.choice([m for m in range(n_modes) if m != seq[-1]])))
    mode = np.zeros(n_samples, dtype=int)
    bounds = [0, *cps.tolist(), n_samples]
    for i in range(n_changes + 1):
        mode[bounds[i]:bounds[i + 1]] = seq[i]
    e = rng.normal(size=(n_samples, n_variables))
    if phi:
        from scipy.signal import lfilter

        e = lfilter([np.sqrt(1 - phi * phi)], [1.0, -phi], e, axis=0)
    x = 100 + 10 * np.arange(n_variables) + levels[mode] + e
    index = pd.date_range(start, periods=n_samples, freq=period, name="time")
    frame = pd.DataFrame(x, index=index, columns=[f"y{j}" for j in range(n_variables)])
    return frame, cps.tolist(), mode
