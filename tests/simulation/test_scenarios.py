"""The shipped what-if variants change the conclusions the way scenarios/README.md explains.

Shortened runs (fewer replications, shorter horizons) keep this under a minute; the
effects are large enough to be significant with common random numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.line import compare, littles_law_gap, load_scenario, simulate

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
BUILD = Path(__file__).resolve().parents[2] / "fmu_models" / "build"


def run(name, reps=3, **overrides):
    sc = load_scenario(SCEN / f"{name}.yaml", overrides=overrides or None)
    return simulate(sc, replications=reps, trace=False)


def sig(c, variant, kpi):
    row = c.sel(variant=variant, kpi=kpi)
    return int(row["significant"]), float(row["delta"])


def test_assembly_line_variants():
    base = run("assembly_line", 6)
    big = run("assembly_line_big_buffers", 6)
    no_pm = run("assembly_line_no_pm", 6)
    c = compare(base, {"big": big, "no_pm": no_pm})
    s, d = sig(c, "big", "throughput")
    assert s and d > 0
    s, d = sig(c, "big", "wip")
    assert s and d > 0
    s, d = sig(c, "no_pm", "down[press]")
    assert s and d > 0
    assert float(littles_law_gap(base).max()) < 0.03


@pytest.mark.skipif(not (BUILD / "dryer.fmu").exists(), reason="dryer FMU not built (make fmus)")
def test_granulation_variants():
    base = run("granulation_line")
    two = run("granulation_line_second_dryer")
    hot = run("granulation_line_hot_air", **{"experiment.horizon": "168 h"})
    c = compare(base, {"two": two})
    s, d = sig(c, "two", "throughput")
    assert s and d > 0
    s, d = sig(c, "two", "utilisation[press]")
    assert s and d > 0
    assert float(hot["mean"].sel(kpi="yield")) < 0.05  # bed too hot at the end of drying


@pytest.mark.skipif(not (BUILD / "reactor.fmu").exists(), reason="reactor FMU not built (make fmus)")
def test_reactor_variants():
    short = {"experiment.horizon": "40 d", "experiment.warmup": "5 d"}
    base = run("reactor_train", **short)
    warm = run("reactor_train_warmer", **short)
    c = compare(base, {"warm": warm})
    s, d = sig(c, "warm", "yield")
    assert s and d < -0.3
    assert float(base["mean"].sel(kpi="yield")) > 0.8
