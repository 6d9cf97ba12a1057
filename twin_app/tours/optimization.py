"""A short tour for ``twin demo``: campaign vs Ipopt optimum, replay on the twin, report data."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["demo_tour"]

_CAMPAIGN = """\
kind: campaign
name: demo-reactor-yield
model:
  type: reactor
  batch_time: 4 h
  jacket_stages: 2
  feed_stages: 2
  jacket_inlet: [340 K, 335 K]
  feed_rate: [1.0e-4, 0]
  output_interval: 120 s
  envelopes:               # golden band on T from three proven recipes (mean ± 3 sd, >= 5 K wide)
    - variable: T
      k: 3
      min_halfwidth: 5
      from_recipes:
        - {jacket_inlet_1: 335, jacket_inlet_2: 338, feed_rate_1: 1.4e-4}
        - {jacket_inlet_1: 338, jacket_inlet_2: 340, feed_rate_1: 1.3e-4}
        - {jacket_inlet_1: 332, jacket_inlet_2: 336, feed_rate_1: 1.5e-4}
parameters:
  - {name: jacket_inlet_1, low: 325 K, high: 350 K, unit: K}
  - {name: jacket_inlet_2, low: 325 K, high: 350 K, unit: K}
  - {name: feed_rate_1, low: 1.0e-4, high: 1.5277777e-4, unit: m3/s}
objectives:
  - {metric: yield, direction: maximize}
constraints:
  - {metric: envelope_violation, max: 0}
  - {metric: impurity, max: 0.05}
  - {metric: peak_temperature, max: 360 K, unit: K}
sampler: {name: tpe, seed: 1}
budget: {trials: 25}
"""


_LINE = """\
kind: line
name: demo-three-station
source: {interarrival: "exponential(mean=1 min)"}
stations:
  - name: cut
    process_time: "exponential(mean=1.5 min)"
    failures: [{basis: busy, ttf: "exponential(mean=4 h)", ttr: "exponential(mean=20 min)"}]
  - name: weld
    process_time: "exponential(mean=2.6 min)"
    failures: [{basis: busy, ttf: "exponential(mean=3 h)", ttr: "exponential(mean=30 min)"}]
  - name: pack
    process_time: "exponential(mean=0.9 min)"
experiment: {horizon: 4 d, warmup: 1 d, replications: 6, seed: 7}
"""


def demo_tour(outdir: str | Path, *, trials: int = 25) -> list[Path]:
    """Run a small reactor campaign, solve the same problem with Ipopt, replay it, write results.

    Writes ``campaign.yaml``, ``trials.nc``/``trials.csv``/``summary.json``,
    ``ipopt_optimum.json`` (with the replay on the twin), ``line.yaml`` and
    ``line_allocation.json`` (machine allocation MILP with HiGHS, checked in the line model). The HTML report is the viz layer's
    job: ``viz.campaign_report.write_campaign_report(outdir / "trials.nc", ...)``.
    About 20-40 s on one core.

    Returns
    -------
    list of Path
        Files written.
    """
    from optimization import campaign_optimum, load_campaign, recipe_metrics, simulate_recipe

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cfile = out / "campaign.yaml"
    cfile.write_text(_CAMPAIGN)
    journal = out / "demo-reactor-yield.journal"
    journal.unlink(missing_ok=True)
    camp = load_campaign(cfile)
    res = camp.run(workers=1, n_trials=trials, progress=False)
    paths = [cfile, *res.write(out)]
    opt = campaign_optimum(camp, nfe=12)
    replay = recipe_metrics(simulate_recipe(opt.recipe, backend=camp.config.model.backend))
    info = {**opt.as_dict(), "replay": replay,
            "campaign_best": res.best,
            "gap_to_ipopt": (opt.predicted["yield"] - res.best["metrics"]["yield"]) / opt.predicted["yield"]
            if res.best else None}
    p = out / "ipopt_optimum.json"
    p.write_text(json.dumps(info, indent=2, default=str))
    paths.append(p)
    paths += _line_allocation(out)
    return paths


def _line_allocation(out: Path) -> list[Path]:
    from optimization import optimize_line_allocation, verify_line_allocation
    from simulation.line import load_scenario

    line = out / "line.yaml"
    line.write_text(_LINE)
    sol = optimize_line_allocation(load_scenario(line), budget=14.0,
                                   cost={"cut": 2.0, "weld": 3.0, "pack": 1.0}, rho_max=0.85)
    check = verify_line_allocation(line, sol, replications=6)
    info = {**sol.as_dict(), "verification": check.to_dataframe().reset_index().to_dict(orient="records")}
    p = out / "line_allocation.json"
    p.write_text(json.dumps(info, indent=2, default=str))
    return [line, p]
