"""The import layers of docs/architecture.md hold, with no exemption.

- Every import (module-level or inside a function) points down the layers: a package never
  imports a package above it. ``twin_app`` (CLI, demo tour, config-kind registry) is the top
  layer, the composition root: the only package allowed to import every other.
- Each heavy library is imported by one package only.
- No package imports another package's private modules or names (``pkg._module``,
  ``from pkg import _name``): what another layer needs is that package's public API.
  (Tests and benchmarks are not layers: they may reach into the internals they check or time.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["workbench", "fmu_models", "golden_batch", "spc", "simulation", "optimization", "twin", "viz", "twin_app"]
HEAVY = {"fmpy": "fmu_models", "simpy": "simulation", "optuna": "optimization", "pyomo": "optimization",
         "asyncua": "twin", "ruptures": "spc", "dash": "viz", "pyvista": "viz", "plotly": "viz", "typer": "twin_app"}


def imported_modules(path: Path) -> list[tuple[int, str, list[str]]]:
    """Every absolute import in ``path``: (line, module, names imported from it)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module, [a.name for a in node.names]))
    return out


FILES = [p for pkg in LAYERS for p in (ROOT / pkg).rglob("*.py")]


def _ids(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_imports_point_down(path):
    rel = _ids(path)
    own = LAYERS.index(rel.split("/")[0])
    found = {m.split(".")[0] for _, m, _ in imported_modules(path)}
    above = [m for m in found if m in LAYERS and LAYERS.index(m) > own]
    assert not above, f"{rel} imports {above}, which sit above {LAYERS[own]} in the layers"
    heavy = [m for m in found if m in HEAVY and HEAVY[m] != LAYERS[own]]
    assert not heavy, f"{rel} imports {heavy}; each heavy library lives in one package ({HEAVY})"


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_no_private_imports_across_packages(path):
    rel = _ids(path)
    own = rel.split("/")[0]
    bad = []
    for line, module, names in imported_modules(path):
        top, *rest = module.split(".")
        if top == own or top not in LAYERS:
            continue
        if any(part.startswith("_") for part in rest):
            bad.append(f"line {line}: {module}")
        bad.extend(f"line {line}: {module}.{n}" for n in names if n.startswith("_"))
    assert not bad, f"{rel} reaches into another package's private parts: {bad}; use its public API"


def test_every_layer_is_a_folder():
    missing = [pkg for pkg in LAYERS if not (ROOT / pkg / "__init__.py").exists()]
    assert not missing, f"layers without a package folder: {missing}"
