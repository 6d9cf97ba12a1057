"""The end-to-end tour behind ``make demo`` / ``twin demo``.

Each step is a function ``step(outdir: Path) -> list[Path]`` that calls the
tour function of the package it shows (and the viz layer for its report); the
tour runs them in order on embedded defaults and prints where every output went. A failing step is reported and the tour goes on; the
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
    from twin_app.configs import KINDS, model_for_kind
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
    outdir = outdir / "configs"
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / "configs.txt"
    out.write_text("\n".join(lines) + "\n")
    return [out]


def physics_step(outdir: Path) -> list[Path]:
    """One reactor batch, a 40-run parameter sweep and a look-ahead from a saved FMU state."""
    from twin_app.tours.physics import runtime_tour

    return runtime_tour(outdir / "physics")


def live_twin_step(outdir: Path) -> list[Path]:
    """A live twin on the OPC UA plant emulator catching an injected sensor bias; trace report."""
    from twin_app.tours.twin import demo_tour
    from viz import report_result

    written = demo_tour(outdir / "twin")
    store = next((p for p in written if str(p).endswith(".zarr")), None)
    if store is not None:
        written.append(report_result(store, outdir / "twin" / "twin_report.html")[0])
    return written


def quality_loop_step(outdir: Path) -> list[Path]:
    """The whole loop on the emulated reactor: golden judgement, look-ahead, advice confirmed, R2R between batches."""
    from twin_app.tours.twin import loop_tour

    return loop_tour(outdir / "loop")


def line_twin_step(outdir: Path) -> list[Path]:
    """A line twin on an emulated assembly line: drift alarm, re-calibration, shift forecast."""
    from twin_app.tours.line_twin import demo_tour

    return demo_tour(outdir / "line_twin")


def golden_batch_step(outdir: Path) -> list[Path]:
    """Golden-batch model from a batch history, checks of faulty batches, HTML report."""
    from twin_app.tours.golden import demo_tour
    from viz import report_result

    written = demo_tour(outdir / "golden")
    envelope = next(p for p in written if p.name == "golden_envelope.nc")
    written.append(report_result(envelope, outdir / "golden" / "golden_report.html")[0])
    return written


def what_if_step(outdir: Path) -> list[Path]:
    """Shipped line scenarios with replications, a what-if comparison and its report."""
    from twin_app.tours.line import demo_tour

    return demo_tour(outdir / "line")


def reliability_step(outdir: Path) -> list[Path]:
    """Field-data fit, system life Monte Carlo, PM optimisation, reports."""
    from twin_app.tours.life import demo_tour

    return demo_tour(outdir / "life")


def optimisation_step(outdir: Path) -> list[Path]:
    """A reactor recipe campaign (Optuna) cross-checked against the Pyomo/Ipopt optimum; report."""
    from twin_app.tours.optimization import demo_tour
    from viz.campaign_report import write_campaign_report

    out = outdir / "optimization"
    written = demo_tour(out)
    trials = next((p for p in written if p.name == "trials.nc"), None)
    if trials is not None:
        written.append(write_campaign_report(trials, out / "campaign_report.html"))
    return written


def scene_step(outdir: Path) -> list[Path]:
    """3D plant views: the assembly line coloured by utilisation, the reactor by temperature."""
    from twin_app.tours.views import demo_tour

    return demo_tour(outdir / "views")


TOUR: list[TourStep] = [
    TourStep("Shipped configs validate", "twin_app.demo:validate_shipped_configs"),
    # --- tour steps (one line each, in tour order) ---
    TourStep("Physics: FMU runs, sweep and look-ahead", "twin_app.demo:physics_step"),
    TourStep("Live twin against the OPC UA plant emulator", "twin_app.demo:live_twin_step"),
    TourStep("Quality loop: golden batch, look-ahead, advice, run-to-run", "twin_app.demo:quality_loop_step"),
    TourStep("Line twin: drift alarm, re-calibration, shift forecast", "twin_app.demo:line_twin_step"),
    TourStep("Golden batch: envelope, T²/SPE, checks", "twin_app.demo:golden_batch_step"),
    TourStep("What-if: line scenarios with confidence intervals", "twin_app.demo:what_if_step"),
    TourStep("Reliability: life fit, Monte Carlo, PM policy", "twin_app.demo:reliability_step"),
    TourStep("Optimisation: recipe campaign vs Ipopt", "twin_app.demo:optimisation_step"),
    TourStep("Views: 3D scenes and reports", "twin_app.demo:scene_step"),
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
            outputs = step.load()(outdir) or []
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
