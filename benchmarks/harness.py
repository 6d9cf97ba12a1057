"""Benchmark harness: project path vs a named baseline, side by side, same process.

Each benchmark module in ``benchmarks/`` defines ``main(quick: bool = False) -> dict``
and uses :class:`Benchmark` to time the project's path and a baseline with the
same inputs (median of repeats), record quality (error vs a reference) beside
speed, and write ``benchmarks/results/<name>.json``. Ratios, not absolute
seconds, are what is compared across machines.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

__all__ = ["Benchmark", "Timing", "time_call", "machine_info", "RESULTS_DIR"]


@dataclass
class Timing:
    """Wall-clock timings of one callable (seconds)."""

    label: str
    samples: list[float]

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.samples)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "label": self.label,
            "median_s": self.median,
            "min_s": min(self.samples),
            "max_s": max(self.samples),
            "repeats": len(self.samples),
        }


def time_call(fn: Callable[[], Any], *, repeats: int = 3, warmup: int = 1, label: str = "") -> tuple[Timing, Any]:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls.

    Returns
    -------
    (Timing, Any)
        The timings and the value returned by the last call.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return Timing(label, samples), result


def machine_info() -> dict[str, Any]:
    """Python, platform and CPU facts recorded with every result."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


@dataclass
class Benchmark:
    """One benchmark: several comparisons of a candidate against a baseline.

    Parameters
    ----------
    name
        File stem of the results JSON.
    description
        One line on what is measured.
    """

    name: str
    description: str
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def compare(
        self,
        what: str,
        candidate: Callable[[], Any],
        baseline: Callable[[], Any],
        *,
        candidate_label: str = "workbench",
        baseline_label: str = "baseline",
        repeats: int = 3,
        warmup: int = 1,
        work_units: float | None = None,
        unit: str = "run",
        target_ratio: float | None = None,
        quality: Callable[[Any, Any], dict[str, float]] | None = None,
    ) -> dict[str, Any]:
        """Time candidate and baseline alternately in this process and record the speed-up.

        Parameters
        ----------
        what
            Name of the comparison.
        candidate, baseline
            Zero-argument callables doing the same work.
        repeats, warmup
            Timed and untimed calls of each.
        work_units
            Units of work per call (e.g. number of runs) to report throughput.
        unit
            Name of one work unit.
        target_ratio
            The speed-up (baseline_time / candidate_time) the issue asks for.
        quality
            ``quality(candidate_result, baseline_result) -> {metric: value}``
            (e.g. max abs error vs the reference).

        Returns
        -------
        dict
            The recorded comparison.
        """
        c_time, c_res = time_call(candidate, repeats=repeats, warmup=warmup, label=candidate_label)
        b_time, b_res = time_call(baseline, repeats=repeats, warmup=warmup, label=baseline_label)
        speedup = b_time.median / c_time.median if c_time.median > 0 else float("inf")
        row: dict[str, Any] = {
            "what": what,
            "candidate": c_time.as_dict(),
            "baseline": b_time.as_dict(),
            "speedup": speedup,
            "target_speedup": target_ratio,
            "meets_target": None if target_ratio is None else bool(speedup >= target_ratio),
        }
        if work_units:
            row["throughput"] = {
                "unit": f"{unit}/s",
                "candidate": work_units / c_time.median,
                "baseline": work_units / b_time.median,
            }
        if quality is not None:
            row["quality"] = quality(c_res, b_res)
        self.comparisons.append(row)
        return row

    def record(self, key: str, value: Any) -> None:
        """Record a further metric (a ratio, a quality figure, units in the key name)."""
        self.metrics[key] = value

    def write(self, results_dir: Path | None = None) -> Path:
        """Write ``<results_dir>/<name>.json`` and print a table; return the path."""
        results_dir = Path(results_dir or RESULTS_DIR)
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{self.name}.json"
        payload = {
            "name": self.name,
            "description": self.description,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine_info(),
            "comparisons": self.comparisons,
            "metrics": self.metrics,
        }
        path.write_text(json.dumps(payload, indent=2, default=float))
        self.print_table()
        return path

    def print_table(self) -> None:
        """Print the comparisons as a rich table."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{self.name}: {self.description}")
        for col in ("comparison", "candidate [s]", "baseline [s]", "speed-up", "target"):
            table.add_column(col)
        for row in self.comparisons:
            target = row["target_speedup"]
            table.add_row(
                row["what"],
                f"{row['candidate']['median_s']:.4g}",
                f"{row['baseline']['median_s']:.4g}",
                f"{row['speedup']:.2f}×",
                "-" if target is None else (f"≥{target:g}× " + ("✓" if row["meets_target"] else "✗")),
            )
        console = Console()
        console.print(table)
        for key, value in self.metrics.items():
            console.print(f"  {key}: {value}")
