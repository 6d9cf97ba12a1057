"""Where the solvers come from: Ipopt (cyipopt-wheels + libpynumero_ASL) and HiGHS (highspy).

Pyomo's ``cyipopt`` interface needs ``libpynumero_ASL.so``. ``scripts/build-pynumero-asl.sh``
builds it into ``<sys.prefix>/pyomo/lib`` (the project's virtual environment), so a fresh
clone works after ``make setup`` without touching ``~/.pyomo``. This module points Pyomo
there (``PYOMO_CONFIG_DIR`` when unset, and PyNumero's library name) before any solve.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from workbench.errors import SolverError

__all__ = ["pynumero_library", "ipopt_solver", "highs_solver", "solver_status", "quiet_bound_warnings"]

_LIBNAME = "libpynumero_ASL.so"


def _candidates() -> list[Path]:
    out = []
    if os.environ.get("PYOMO_CONFIG_DIR"):
        out.append(Path(os.environ["PYOMO_CONFIG_DIR"]) / "lib" / _LIBNAME)
    out.append(Path(sys.prefix) / "pyomo" / "lib" / _LIBNAME)
    out.append(Path.home() / ".pyomo" / "lib" / _LIBNAME)
    return out


def pynumero_library() -> Path | None:
    """Path of ``libpynumero_ASL.so`` if it is installed, else None."""
    for cand in _candidates():
        if cand.is_file():
            return cand
    return None


def _configure_pyomo() -> None:
    lib = pynumero_library()
    if lib is None:
        return
    os.environ.setdefault("PYOMO_CONFIG_DIR", str(lib.parent.parent))
    from pyomo.contrib.pynumero.asl import AmplInterface

    if AmplInterface.libname in (None,) or not _is_set(AmplInterface.libname):
        AmplInterface.libname = str(lib)


def _is_set(libname) -> bool:
    return isinstance(libname, str) and os.path.exists(libname)


def ipopt_solver(*, tol: float = 1e-8, max_iter: int = 3000, print_level: int = 0):
    """A ready Pyomo ``cyipopt`` solver (Ipopt 3.14 + MUMPS from cyipopt-wheels).

    Raises
    ------
    SolverError
        If the PyNumero ASL library is missing (with the command that builds it).
    """
    _configure_pyomo()
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("cyipopt")
    if not solver.available(exception_flag=False):
        raise SolverError(
            "Ipopt via Pyomo's cyipopt interface is not available: libpynumero_ASL.so was not "
            f"found in {', '.join(str(c.parent) for c in _candidates())}; build it with "
            "`bash scripts/build-pynumero-asl.sh` (needs Debian libamplsolver-dev and cmake, "
            "`make setup` does both)"
        )
    solver.config.options["tol"] = tol
    solver.config.options["max_iter"] = max_iter
    solver.config.options["print_level"] = print_level
    solver.config.options["mu_strategy"] = "adaptive"
    return solver


def highs_solver():
    """A ready Pyomo ``appsi_highs`` solver (HiGHS from highspy) for LP/MILP/QP."""
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("appsi_highs")
    if not solver.available(exception_flag=False):
        raise SolverError("HiGHS (Pyomo appsi_highs) is not available; install highspy")
    return solver


@contextlib.contextmanager
def quiet_bound_warnings():
    """Silence Pyomo's W1002 while loading an Ipopt solution.

    Ipopt relaxes bounds by ``bound_relax_factor`` (1e-8 relative), so a solution may sit
    1e-8 outside a bound; Pyomo then logs W1002 for every such variable. The values are
    clipped by the readers of the result where it matters (e.g. feed rates >= 0).
    """
    log = logging.getLogger("pyomo.core")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def solver_status() -> dict[str, str]:
    """Availability of the solvers this package uses, for ``twin optimize`` diagnostics."""
    out = {}
    try:
        ipopt_solver()
        out["ipopt"] = f"available ({pynumero_library()})"
    except SolverError as exc:
        out["ipopt"] = f"missing: {exc}"
    try:
        highs_solver()
        out["highs"] = "available"
    except SolverError as exc:
        out["highs"] = f"missing: {exc}"
    return out
