"""Life fits on real published data: the Lieblein & Zelen (1956) ball-bearing endurance data.

23 deep-groove ball bearings, millions of revolutions to failure, shipped as
``examples/bearings_lieblein_zelen.csv`` (source and citation in ``examples/make_examples.py``).
Published maximum-likelihood estimates (Lawless, J. F. (2003), *Statistical Models and Methods
for Lifetime Data*, 2nd ed., Examples 1.1.1 and 5.2.2; also Meeker & Escobar (1998), Table 8.4
in log-location-scale form: mu = 4.405, sigma = 0.476):

- Weibull: shape 2.102, scale 81.88;
- lognormal: mu = 4.150, sigma = 0.522 (sigma with divisor n, the MLE).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from simulation.life import LifeData, fit_life

DATA = Path(__file__).resolve().parents[3] / "examples" / "bearings_lieblein_zelen.csv"


@pytest.fixture(scope="module")
def bearings() -> LifeData:
    frame = pd.read_csv(DATA)
    assert len(frame) == 23 and set(frame["status"]) == {"F"}
    return LifeData(failures=frame["time"].to_numpy(float))


def test_weibull_mle_equals_the_published_estimates(bearings):
    fit = fit_life(bearings, "weibull")
    assert fit.params["shape"] == pytest.approx(2.102, abs=0.002)
    assert fit.params["scale"] == pytest.approx(81.88, abs=0.02)


def test_lognormal_mle_equals_the_published_estimates(bearings):
    fit = fit_life(bearings, "lognormal")
    assert math.log(fit.params["median"]) == pytest.approx(4.150, abs=0.001)  # mu = ln(median)
    assert fit.params["sigma"] == pytest.approx(0.522, abs=0.001)
