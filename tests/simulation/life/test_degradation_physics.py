"""Degradation-based failure with the physics layer's degradation model (FMU and reference).

The pump-bearing model (``fmu_models/degradation``) accumulates Miner damage D; its
reference module gives the time to failure under constant inputs by quadrature
(``time_to_failure``), an independent check of our first-passage lives.
"""

from __future__ import annotations

import numpy as np
import pytest

from fmu_models import shipped
from simulation.life import Component, LifeModel, simulate_missions, simulate_paths

reference = pytest.importorskip("fmu_models.reference.degradation")

SPEC = {"model": "reference", "failure_threshold": 1.0, "horizon": "40000 h", "paths": 12, "steps": 400,
        "parameters": {"L_ref": {"distribution": "lognormal", "median": "20000 h", "sigma": 0.4}},
        "inputs": {"load": 6000.0, "T_process": 330.0}}


def test_first_passage_matches_reference_time_to_failure():
    comp = Component.model_validate({"name": "bearing", "degradation": SPEC})
    paths = simulate_paths(comp, seed=4)
    lives = paths.lives(1.0)
    exact = np.array([reference.time_to_failure({**p, **SPEC["inputs"]}) for p in paths.parameters])
    ok = exact < 40000 * 3600
    assert ok.sum() >= 8
    # linear interpolation on a 100 h grid of a nearly linear damage path
    np.testing.assert_allclose(lives[ok], exact[ok], rtol=2e-3)
    assert np.all(np.isinf(lives[~ok]))


@pytest.mark.skipif(not shipped("degradation").exists(), reason="degradation.fmu not built (run `twin fmu build`)")
def test_fmu_paths_equal_reference_paths():
    comp = Component.model_validate({"name": "bearing", "degradation": {**SPEC, "paths": 6, "steps": 100}})
    ref = simulate_paths(comp, seed=2)
    fmu = simulate_paths(comp.model_copy(update={"degradation": comp.degradation.model_copy(update={"model": "fmu"})}),
                         seed=2)
    np.testing.assert_allclose(fmu.level, ref.level, atol=1e-5)


def test_missions_with_degradation_component():
    m = LifeModel.model_validate({
        "name": "deg", "components": [{"name": "bearing", "degradation": {**SPEC, "paths": 20}},
                                      {"name": "motor", "life": {"distribution": "exponential", "mean": "50000 h"}}],
        "system": {"type": "series", "blocks": ["bearing", "motor"]},
        "simulation": {"mission_time": "3000 h", "missions": 20000, "importance_missions": 2000, "seed": 1},
    })
    ds = simulate_missions(m)
    assert 0 < float(ds["component_reliability"].sel(component="bearing")) < 1
    assert "reliability_analytic" not in ds  # no closed form with a simulated-physics component
