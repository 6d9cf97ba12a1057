"""Campaign benchmark: trials to reach 1 % of the Ipopt optimum (TPE vs random) and 2 vs 1 workers.

Problem: the reactor recipe campaign of ``tests/validation/test_optimisation_reactor.py`` without
the envelope (2 jacket stages, 1 feed stage, impurity <= 5 %, peak T <= 360 K). Reference:
Pyomo.DAE + Ipopt optimum of the same problem. Quality: trials needed until the best feasible
yield is within 1 % of it (median over seeds; budget-capped), ratio random/TPE.
Throughput: finished trials per second with 2 worker processes vs 1 (journal storage).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Benchmark

CAMPAIGN = """\
kind: campaign
name: bench-{tag}
model: {{type: reactor, backend: reference, batch_time: 4 h, jacket_stages: 2, feed_stages: 2,
        jacket_inlet: [340 K, 335 K], feed_rate: [1.0e-4, 0], output_interval: 120 s}}
parameters:
  - {{name: jacket_inlet_1, low: 325 K, high: 350 K, unit: K}}
  - {{name: jacket_inlet_2, low: 325 K, high: 350 K, unit: K}}
  - {{name: feed_rate_1, low: 1.0e-4, high: 1.5277777e-4, unit: m3/s}}
objectives: [{{metric: yield, direction: maximize}}]
constraints:
  - {{metric: impurity, max: 0.05}}
  - {{metric: peak_temperature, max: 360 K, unit: K}}
sampler: {{name: {sampler}, seed: {seed}}}
budget: {{trials: {trials}}}
pruning: {{enabled: false}}
"""


def _campaign(d: Path, tag: str, sampler: str, seed: int, trials: int):
    from optimization import load_campaign

    p = d / f"{tag}.yaml"
    p.write_text(CAMPAIGN.format(tag=tag, sampler=sampler, seed=seed, trials=trials))
    return load_campaign(p)


def _trials_to_target(res, target: float) -> float:
    ds = res.trials
    y = np.where(ds["feasible"].values, ds["objective_0"].values, -np.inf)
    hit = np.nonzero(np.maximum.accumulate(y) >= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


def main(quick: bool = False) -> dict:
    from optimization import campaign_optimum

    bench = Benchmark("campaign", "reactor campaign: trials to 1 % of the Ipopt optimum; 2 vs 1 workers")
    trials = 20 if quick else 120
    seeds = [1] if quick else [1, 2, 3]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ref = campaign_optimum(_campaign(d, "ref", "tpe", 0, 1), nfe=12)
        target = 0.99 * ref.predicted["yield"]
        bench.record("ipopt_yield", ref.predicted["yield"])
        out = {}
        for sampler in ("tpe", "random"):
            counts = [_trials_to_target(_campaign(d, f"{sampler}{s}", sampler, s, trials).run(progress=False), target)
                      for s in seeds]
            out[sampler] = float(np.median(counts))
            bench.record(f"trials_to_1pct_{sampler}", out[sampler])
        bench.record("trials_ratio_random_over_tpe", out["random"] / out["tpe"] if np.isfinite(out["tpe"]) else None)
        if not quick:
            n = 24
            rates = {}
            for w in (1, 2):
                camp = _campaign(d, f"thr{w}", "random", 7, n)
                t0 = time.perf_counter()
                camp.run(workers=w, progress=False)
                rates[w] = n / (time.perf_counter() - t0)
                bench.record(f"trials_per_s_{w}_workers", rates[w])
            bench.record("throughput_ratio_2_over_1", rates[2] / rates[1])
    bench.write()
    return bench.metrics


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
