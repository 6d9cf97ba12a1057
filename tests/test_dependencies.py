"""pyproject.toml lists what the code imports at run time, and nothing it does not use.

Every third-party module imported by the packages (module level or inside a function) must
come from a distribution named in ``[project] dependencies``; every runtime dependency must be
imported somewhere or be in ``USED_WITHOUT_IMPORT`` with the reason. Test-only libraries live
in the ``dev`` extra.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.test_layers import FILES, LAYERS, ROOT, imported_modules

# Runtime dependencies the code uses through another library, not by importing them.
USED_WITHOUT_IMPORT = {
    "cmaes": "Optuna's CmaEsSampler (campaign sampler 'cmaes')",
    "psycopg2-binary": "SQLAlchemy's driver for postgresql:// campaign storages",
    "h5netcdf": "xarray's NetCDF engine (workbench.dataset)",
    "h5py": "h5netcdf's back-end",
    "pyarrow": "pandas' Parquet reader (golden_batch histories in .parquet)",
    "python-calamine": "pandas' Excel engine 'calamine' (golden_batch histories in .xlsx)",
    "cyipopt-wheels": "Ipopt for Pyomo's cyipopt solver",
    "highspy": "HiGHS for Pyomo's appsi_highs solver",
}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _third_party_imports() -> dict[str, str]:
    """Top-level module → first file importing it, for modules outside the stdlib and the project."""
    found: dict[str, str] = {}
    for path in FILES:
        for _, module, _ in imported_modules(path):
            top = module.split(".")[0]
            if top in LAYERS or top in sys.stdlib_module_names or top == "__future__":
                continue
            found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_import_is_a_declared_dependency():
    declared = {_name(r) for r in _project()["dependencies"]}
    dists = packages_distributions()
    missing = {}
    for module, where in _third_party_imports().items():
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing[module] = (where, sorted(names))
    assert not missing, f"imported at run time but not in [project] dependencies: {missing}"


def test_every_dependency_is_used():
    dists = packages_distributions()
    imported = {d.lower().replace("_", "-") for m in _third_party_imports() for d in dists.get(m, [m])}
    unused = [r for r in _project()["dependencies"]
              if _name(r) not in imported and _name(r) not in USED_WITHOUT_IMPORT]
    assert not unused, f"in [project] dependencies but never imported (move to an extra or drop): {unused}"


def test_test_only_libraries_are_in_the_dev_extra():
    runtime = {_name(r) for r in _project()["dependencies"]}
    dev = {_name(r) for r in _project()["optional-dependencies"]["dev"]}
    for lib in ("pytest", "hypothesis", "playwright", "lifelines", "dtaidistance"):
        assert lib in dev and lib not in runtime, f"{lib} is test-only: list it in the dev extra only"
