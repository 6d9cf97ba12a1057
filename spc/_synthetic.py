"""A seeded synthetic continuous process: correlated tags driven by a few latent factors.

``x(t) = L f(t) + e(t)`` with ``f`` an AR(1) process per factor (``f(t) = φ f(t-1) + √(1-φ²) u(t)``,
unit variance; ``φ = 0`` is white) and independent sensor noise ``e`` of standard deviation
``noise`` – the latent-variable model PCA monitoring assumes (MacGregor & Kourti 1995).
Each tag gets its own level and spread (``x = level + spread · …``) so scaling matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_process_data"]


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
