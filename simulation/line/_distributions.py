"""Random quantities of a line scenario: the workbench's one distribution type, and sampling streams.

Every random quantity in a ``kind: line`` file is a :class:`workbench.distributions.Distribution`
(family table, parametrisations, truncation, round trip: see that module and
``docs/configuration.md``). This module gives the line's field types — durations in
seconds (:data:`DurationDist`), plain numbers (:data:`ValueDist`), counts
(:data:`CountDist`, where geometric/poisson/empirical make sense) — and :class:`Stream`,
one random process of the SimPy model with its own generator, drawing in blocks.
"""

from __future__ import annotations

import numpy as np

from workbench.distributions import Distribution, distribution_type, parse_distribution

__all__ = ["Distribution", "Stream", "parse_distribution", "DurationDist", "ValueDist", "CountDist"]


class Stream:
    """One random process: a distribution, its own generator and a block of pre-drawn values.

    Drawing single values from scipy.stats costs tens of microseconds; a stream draws
    ``block`` values at once and hands them out one by one, which keeps the event
    loop, not the sampling, the cost of a simulation.
    """

    __slots__ = ("dist", "rng", "_buf", "_i", "_block", "_lower", "_const")

    def __init__(self, dist: Distribution, rng: np.random.Generator, *, block: int = 256,
                 lower: float | None = 0.0):
        self.dist = dist
        self.rng = rng
        self._block = block
        self._lower = lower
        self._const = dist.mean() if dist.is_constant else None
        self._buf: list[float] = []
        self._i = 0

    def draw(self) -> float:
        """Next value (negative durations are clipped at ``lower``)."""
        if self._const is not None:
            return self._const
        if self._i >= len(self._buf):
            arr = np.asarray(self.dist.sample(self.rng, self._block), dtype=float)
            if self._lower is not None:
                np.maximum(arr, self._lower, out=arr)
            self._buf = arr.tolist()
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return v


DurationDist = distribution_type("s", lower=0.0)
"""A random duration in seconds (``{distribution: exponential, mean: 45 min}``, ``"30 min"``, …)."""

ValueDist = distribution_type(None)
"""A random dimensionless number (material variability, disturbances)."""

CountDist = distribution_type(None, lower=0.0)
"""A random count (e.g. cycles between failures: geometric, poisson, empirical or any
continuous family); samples are rounded up to integers >= 1 where used."""
