"""Surrogate optimum verified on the twin; mid-batch correction replayed on the reactor FMU.

Tolerances
- Surrogate: the twin's yield at the surrogate optimum differs from the surrogate's prediction
  by less than 2x the surface's leave-one-out RMSE (its own error estimate), the recipe is
  feasible on the twin, and it is within 6 % of the Pyomo.DAE/Ipopt optimum of the same problem
  (a 10-coefficient quadratic on 30 Latin-hypercube points cannot resolve the active impurity
  constraint exactly; measured gap ~3.5 %).
- Correction: Ipopt's predicted final yield and impurity (Radau collocation, 8 elements) are
  reproduced by the FMU continued from the mid-batch FMU state within 1e-4 absolute (measured ~3e-7).
"""

from __future__ import annotations

import pytest

import fmu_models
from optimization import (
    ReactorRecipe,
    campaign_optimum,
    load_campaign,
    replay_correction,
)

pytestmark = pytest.mark.skipif(not fmu_models.shipped("reactor").is_file(),
                                reason="reactor FMU not built (make fmus)")


CAMPAIGN = """\
kind: campaign
name: surrogate
model: {type: reactor, backend: fmu, batch_time: 4 h, jacket_stages: 2, feed_stages: 2,
        jacket_inlet: [340 K, 335 K], feed_rate: [1.0e-4, 0], output_interval: 120 s}
parameters:
  - {name: jacket_inlet_1, low: 300 K, high: 380 K, unit: K}
  - {name: jacket_inlet_2, low: 300 K, high: 380 K, unit: K}
  - {name: feed_rate_1, low: 2.0e-5, high: 1.5277777e-4, unit: m3/s}
objectives: [{metric: yield, direction: maximize}]
constraints:
  - {metric: impurity, max: 0.05}
  - {metric: peak_temperature, max: 360 K, unit: K}
"""


def test_surrogate_optimum_verified_on_the_twin(tmp_path):
    from optimization import surrogate_optimum

    path = tmp_path / "surrogate.yaml"
    path.write_text(CAMPAIGN)
    camp = load_campaign(path)
    s = surrogate_optimum(camp, samples=30, seed=0)
    assert s.status == "optimal" and s.samples == 30
    assert s.fit["yield"]["r2"] > 0.9
    assert abs(s.error["yield"]) < 2 * s.fit["yield"]["loo_rmse"]
    assert s.feasible_on_twin
    ref = campaign_optimum(camp, nfe=12).predicted["yield"]
    assert s.verified["yield"] <= ref + 1e-3  # the exact optimum bounds any feasible recipe
    assert (ref - s.verified["yield"]) / ref < 0.06


def test_mid_batch_correction_replayed_on_the_fmu():
    hot = ReactorRecipe(jacket_inlet=(350.0, 350.0), feed_rate=(1.5e-4, 0.0))
    r = replay_correction(hot, 3600.0, stages=2, impurity_max=0.05, b_total_max=6600.0, nfe=8)
    assert r["correction"].status == "optimal"
    assert r["uncorrected"]["impurity"] > 0.05  # left alone, the batch ends out of spec
    assert r["corrected"]["impurity"] <= 0.05 + 1e-4
    assert r["corrected"]["yield"] == pytest.approx(r["predicted"]["yield"], abs=1e-4)
    assert r["corrected"]["impurity"] == pytest.approx(r["predicted"]["impurity"], abs=1e-4)
    assert r["corrected"]["b_fed"] <= 6600.0 + 1e-3
