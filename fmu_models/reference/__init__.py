"""Independent Python implementations of the shipped FMU models.

Each module writes the equations documented in ``fmu_models/<model>/README.md``
in NumPy and integrates them with scipy ``solve_ivp`` (Radau or LSODA, rtol
1e-9 by default). They validate the C models and are reusable by Pyomo,
golden-batch and twin work: every module offers ``default_parameters()``, the
right-hand side ``<model>_rhs(t, x, p, u)`` and ``simulate_reference(...)``
returning a dict of arrays keyed by FMU variable name. SI units throughout.
:func:`integrate` is their shared driver (``solve_ivp`` restarted at input
breakpoints and switching surfaces), reusable for chunked integration.
"""

from fmu_models.reference import degradation, dryer, reactor
from fmu_models.reference._common import integrate

__all__ = ["reactor", "dryer", "degradation", "integrate"]
