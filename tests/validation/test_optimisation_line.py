"""The line allocation MILP's answer checked by simulating it in the SimPy line model.

Tolerance: the MILP predicts the long-run busy fraction of each station,
lambda * t0_i / n_i, and the good-part rate lambda (flow conservation in a stable line with
unlimited buffers; Hopp & Spearman 2011, Factory Physics, ch. 7-8). The check is that each
prediction lies inside the simulated 95 % t-interval over 6 replications of 4 days (1 day
warm-up), or within 1.5 % when the interval is narrower than that (initial-transient bias).
"""

from __future__ import annotations

import numpy as np

from optimization import optimize_line_allocation, verify_line_allocation
from tests.optimization.conftest import LINE_SCENARIO


def test_allocation_verified_in_the_line_model(tmp_path):
    from simulation.line import load_scenario

    line_scenario = tmp_path / "three_station.yaml"
    line_scenario.write_text(LINE_SCENARIO)

    sol = optimize_line_allocation(load_scenario(line_scenario), budget=14.0,
                                   cost={"cut": 2.0, "weld": 3.0, "pack": 1.0}, rho_max=0.85)
    check = verify_line_allocation(line_scenario, sol, replications=6)
    err = np.abs(check["simulated"] - check["predicted"])
    ok = (err <= check["half_width"]) | (np.abs(check["relative_error"]) <= 0.015)
    assert bool(ok.all()), check.to_dataframe()
    assert float(check["half_width"].sel(kpi="throughput")) / sol.good_rate < 0.05
    assert check.attrs["max_wip"] < 60  # stable: no queue growing without bound
