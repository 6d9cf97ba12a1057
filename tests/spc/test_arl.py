"""Run lengths of the Shewhart chart with and without the Western Electric rules.

Published values: Champ, C. W. and Woodall, W. H. (1987), "Exact results for Shewhart control
charts with supplementary runs rules", Technometrics 29(4), 393-399, Table 1: ARL of the X-bar
chart with 3-sigma limits alone 370.4 (in control) and with the rules C1-C4 (1 beyond 3 sigma,
2 of 3 beyond 2 sigma, 4 of 5 beyond 1 sigma, 8 in a row on one side) 91.75 in control, 66.80 at a
shift of 0.2 sigma and 9.22 at 1 sigma.

Each is reproduced twice: by a Markov chain written here, independent of spc (states: the last
four points' zones and the length of the current one-sided run), and by simulating the chart
code (spc.first_signal) on seeded normal data, the simulated mean within its 99.9 % interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix, identity
from scipy.sparse.linalg import spsolve
from scipy.stats import norm

from spc import RULE_SETS, first_signal

WE = RULE_SETS["western-electric"]


def markov_arl(shift: float, rules=(1, 2, 3, 4)) -> float:
    cdf = norm.cdf(np.array([-3, -2, -1, 0, 1, 2, 3]) - shift)
    # zone = (side, level): level 0 within 1 sigma, 1 between 1 and 2, 2 between 2 and 3; beyond 3: signal
    zones = {(-1, 2): cdf[1] - cdf[0], (-1, 1): cdf[2] - cdf[1], (-1, 0): cdf[3] - cdf[2],
             (1, 0): cdf[4] - cdf[3], (1, 1): cdf[5] - cdf[4], (1, 2): cdf[6] - cdf[5]}
    order, index, edges = [((), 0)], {((), 0): 0}, []
    i = 0
    while i < len(order):
        hist, run = order[i]
        for z, pz in zones.items():
            h, s = hist + (z,), z[0]
            r = run + 1 if hist and hist[-1][0] == s else 1
            signal = ((2 in rules and sum(q[0] == s and q[1] >= 2 for q in h[-3:]) >= 2)
                      or (3 in rules and sum(q[0] == s and q[1] >= 1 for q in h[-5:]) >= 4)
                      or (4 in rules and r >= 8))
            if not signal:
                key = (h[-4:], min(r, 8))  # runs of 8+ matter only to rule 4
                if key not in index:
                    index[key] = len(order)
                    order.append(key)
                edges.append((i, index[key], pz))
        i += 1
    a, b, p = (np.array(v) for v in zip(*edges, strict=True))
    Q = coo_matrix((p, (a, b)), shape=(len(order), len(order))).tocsr()  # duplicates are summed
    return float(spsolve((identity(len(order)) - Q).tocsc(), np.ones(len(order)))[0])


@pytest.mark.parametrize("shift,published", [(0.0, 91.75), (0.2, 66.80), (1.0, 9.22)])
def test_markov_chain_reproduces_champ_woodall(shift, published):
    assert markov_arl(shift) == pytest.approx(published, abs=0.006)


def test_markov_chain_rule_one_alone():
    assert markov_arl(0.0, rules=(1,)) == pytest.approx(370.4, abs=0.05)


def simulated_run_lengths(rules, shift, n_runs, length, seed):
    rng = np.random.default_rng(seed)
    out = []
    for chunk in range(0, n_runs, 250):
        z = rng.standard_normal((min(250, n_runs - chunk), length)) + shift
        for row in z:
            i = first_signal(row, rules)
            assert i >= 0, "no signal within the simulated length"
            out.append(i + 1)
    return np.array(out)


@pytest.mark.parametrize("rules,shift,published,length", [
    (("WE1",), 0.0, 370.4, 5000),
    (WE, 0.0, 91.75, 1500),
    (WE, 1.0, 9.22, 300),
])
def test_simulated_chart_matches_published_arl(rules, shift, published, length):
    rl = simulated_run_lengths(rules, shift, 2000, length, seed=20260 + int(shift * 10) + len(rules))
    half = 3.29 * rl.std(ddof=1) / np.sqrt(rl.size)  # 99.9 % interval of the mean
    assert abs(rl.mean() - published) < half, (rl.mean(), half)
