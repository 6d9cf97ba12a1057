"""The import layers of DESIGN.md hold: no package imports a package above it, and each heavy
library is imported by one package only (the CLI, the composition root, may import anything)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["workbench", "fmu_models", "golden_batch", "simulation", "optimization", "twin", "viz"]
# The CLI is the composition root: it may import every layer (lazily, inside commands).
COMPOSITION_ROOTS = ("twin/cli/", "twin/demo.py")
HEAVY = {"fmpy": "fmu_models", "simpy": "simulation", "optuna": "optimization", "pyomo": "optimization",
         "asyncua": "twin", "dash": "viz", "pyvista": "viz", "plotly": "viz"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


FILES = [p for pkg in LAYERS for p in (ROOT / pkg).rglob("*.py")]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    rel = str(path.relative_to(ROOT))
    if rel.startswith(COMPOSITION_ROOTS):
        return
    own = LAYERS.index(rel.split("/")[0])
    found = imports_of(path)
    above = [m for m in found if m in LAYERS and LAYERS.index(m) > own]
    assert not above, f"{rel} imports {above}, which sit above {LAYERS[own]} in DESIGN.md's layers"
    heavy = [m for m in found if m in HEAVY and HEAVY[m] != LAYERS[own]]
    assert not heavy, f"{rel} imports {heavy}; each heavy library lives in one package ({HEAVY})"
