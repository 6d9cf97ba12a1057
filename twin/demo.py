"""The end-to-end tour behind ``make demo`` / ``twin demo``.

Each step is a function ``step(outdir: Path) -> list[Path]`` owned by the
package it shows; the tour runs them in order on embedded defaults and prints
where every output went. A failing step is reported and the tour goes on; the
exit code is 1 if any step failed.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TOUR", "TourStep", "run_tour", "validate_shipped_configs"]


@dataclass(frozen=True)
class TourStep:
    """One step of the tour: a title and ``"module:function"``."""

    title: str
    target: str

    def load(self) -> Callable[[Path], list[Path]]:
        """Import the step's function."""
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


def validate_shipped_configs(outdir: Path) -> list[Path]:
    """Validate every YAML in ``scenarios/`` that names a registered ``kind``; write a summary."""
    from twin.configs import KINDS, model_for_kind
    from workbench.config import load_config, resolve_config

    scen = Path(__file__).resolve().parent.parent / "scenarios"
    lines = []
    for path in sorted(scen.glob("*.yaml")):
        kind = resolve_config(path).data.get("kind")
        if kind in KINDS:
            load_config(path, model_for_kind(kind))
            lines.append(f"ok    {path.name} (kind {kind})")
        else:
            lines.append(f"skip  {path.name} (kind {kind!r} not registered)")
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / "configs.txt"
    out.write_text("\n".join(lines) + "\n")
    return [out]


TOUR: list[TourStep] = [
    TourStep("Shipped configs validate", "twin.demo:validate_shipped_configs"),
    # --- tour steps (one line each, in tour order) ---
    # --- end of tour steps ---
]


def run_tour(outdir: Path, *, only: list[str] | None = None, console=None) -> int:
    """Run the tour steps, print outputs; return the number of failed steps."""
    from rich.console import Console

    console = console or Console()
    outdir = Path(outdir)
    failures = 0
    for i, step in enumerate(TOUR, 1):
        if only and not any(o.lower() in step.title.lower() for o in only):
            continue
        console.rule(f"[bold]{i}. {step.title}")
        t0 = time.perf_counter()
        try:
            outputs = step.load()(outdir / step.target.split(":")[0].split(".")[0]) or []
        except Exception:  # noqa: BLE001 - a broken step must not hide the others
            failures += 1
            console.print(f"[red]step failed[/] ({time.perf_counter() - t0:.1f} s)")
            console.print(traceback.format_exc(), markup=False, highlight=False)
            continue
        console.print(f"[green]done[/] in {time.perf_counter() - t0:.1f} s; outputs:")
        for path in outputs:
            console.print(f"  {path}", highlight=False)
    console.rule()
    console.print(f"tour outputs under {outdir.resolve()}", highlight=False)
    return failures
