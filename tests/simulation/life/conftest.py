"""Small life models shared by the life tests."""

from __future__ import annotations

import pytest

from simulation.life import LifeModel


def make_model(system, components, maintenance=None, **simulation):
    sim = {"mission_time": "1000 h", "missions": 20000, "replications": 20, "time_points": 11, "seed": 1,
           "importance_missions": 5000}
    sim.update(simulation)
    return LifeModel.model_validate({"name": "t", "components": components, "system": system, "simulation": sim,
                                   "maintenance": maintenance or {}})


def expo(name, mean="1000 h", **extra):
    return {"name": name, "life": {"distribution": "exponential", "mean": mean}, **extra}


@pytest.fixture
def small_rbd():
    comps = [expo("a"), expo("b", "2000 h"), expo("c", "1500 h"),
             {"name": "d", "life": {"distribution": "weibull", "shape": 2.0, "scale": "3000 h"}}]
    return make_model({"type": "series", "blocks": ["d", {"type": "parallel", "blocks": ["a", "b", "c"]}]}, comps)
