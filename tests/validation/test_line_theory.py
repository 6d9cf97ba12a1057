"""The line simulation against queueing theory and an exact transfer-line model.

* M/M/1 and M/M/c: mean time in system W = Wq + 1/μ with the Erlang-C waiting time
  Wq = C(c, a) / (cμ − λ), a = λ/μ, and utilisation ρ = λ/(cμ)
  (Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.,
  Wiley 2008, §2.2 eq. (2.28) for M/M/1 and §2.3 eqs. (2.34)–(2.36) for M/M/c).
* Two-machine transfer line with a finite buffer and unreliable machines, the
  exponential model of Gershwin & Berman (1981), "Analysis of transfer lines consisting
  of two unreliable machines with random processing times and finite storage buffers",
  *AIIE Transactions* 13(1):2–11 (also Gershwin, *Manufacturing Systems Engineering*,
  Prentice Hall 1994, §3.7): machine i processes at rate μi, fails while working at rate
  pi (operation-dependent failures), is repaired at rate ri; machine 1 is never starved,
  machine 2 never blocked; the buffer level n ∈ {0..N}. We solve the balance equations
  of that Markov chain (written out below, independently of the simulation) and compare
  its production rate μ2·P(machine 2 up, n > 0). For reliable machines the chain is the
  birth–death chain of M/M/1/N, whose closed form (Gross et al. 2008, §2.5, eq. (2.41))
  TH = μ1 (1 − P_N), P_N = ρ^N (1 − ρ) / (1 − ρ^{N+1}), ρ = μ1/μ2, checks the solver.
  Mapping to our line: buffer capacity B between the machines and blocking after
  service give N = B + 2 (B in the buffer, one on machine 2, one finished on machine 1).
* Little's law (Little 1961) on every run, and identical numbers serial vs parallel.

The theory checks use 99 % t-intervals over 8–10 replications with fixed seeds: a correct
model fails each check with probability 1 %; the half-widths are asserted to be small so
that the intervals are not vacuous.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from simulation.line import LineScenario, littles_law_gap, simulate


def _little_ok(ds, tol=0.03):
    gap = littles_law_gap(ds)
    assert float(gap.max()) < tol, f"Little's law gap {gap.values}"


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c (Erlang C), a = λ/μ offered load."""
    rho = a / c
    s = sum(a**k / math.factorial(k) for k in range(c))
    last = a**c / (math.factorial(c) * (1 - rho))
    return last / (s + last)


def mmc_scenario(c: int, mean_arrival_min: float, mean_service_min: float, seed: int) -> LineScenario:
    return LineScenario.model_validate({
        "name": f"mm{c}",
        "source": {"interarrival": f"exponential(mean={mean_arrival_min} min)"},
        "stations": [{"name": "s", "servers": c, "process_time": f"exponential(mean={mean_service_min} min)"}],
        "experiment": {"horizon": "8 d", "warmup": "12 h", "replications": 8, "seed": seed,
                       "confidence": 0.99},
    })


@pytest.mark.parametrize(
    ("c", "arrival", "service"),
    [(1, 1.0, 0.75), (3, 1.0, 2.4)],
    ids=["M/M/1", "M/M/3"],
)
def test_mmc_waiting_time_and_utilisation(c, arrival, service):
    lam, mu = 1 / arrival, 1 / service  # per minute
    a = lam / mu
    wq = erlang_c(c, a) / (c * mu - lam)
    w_hours = (wq + 1 / mu) / 60
    rho = lam / (c * mu)
    ds = simulate(mmc_scenario(c, arrival, service, seed=7))
    lo, hi = ds["ci"].sel(kpi="lead_time").values
    assert lo <= w_hours <= hi, f"W theory {w_hours:.5f} h not in CI [{lo:.5f}, {hi:.5f}]"
    ulo, uhi = ds["ci"].sel(kpi="utilisation[s]").values
    assert ulo <= rho <= uhi, f"rho {rho:.4f} not in CI [{ulo:.4f}, {uhi:.4f}]"
    # the CI is informative, not vacuous
    assert float(ds["half_width"].sel(kpi="lead_time")) < 0.1 * w_hours
    _little_ok(ds)


# --------------------------------------------------------------------- two-machine line
def two_machine_throughput(mu1, mu2, p1, r1, p2, r2, N) -> float:
    """Production rate of the Gershwin–Berman exponential two-machine line (rates per unit time).

    State (n, a1, a2): n ∈ 0..N parts downstream of machine 1, ai = 1 if machine i is up.
    Transitions: n→n+1 at μ1 if a1 and n<N; n→n−1 at μ2 if a2 and n>0;
    a1: 1→0 at p1 if n<N, 0→1 at r1; a2: 1→0 at p2 if n>0, 0→1 at r2.
    """
    idx = {}
    for n in range(N + 1):
        for a1 in (0, 1):
            for a2 in (0, 1):
                idx[(n, a1, a2)] = len(idx)
    Q = np.zeros((len(idx), len(idx)))

    def add(src, dst, rate):
        if rate > 0:
            Q[idx[src], idx[dst]] += rate

    for (n, a1, a2) in idx:
        if a1 and n < N:
            add((n, a1, a2), (n + 1, a1, a2), mu1)
            add((n, a1, a2), (n, 0, a2), p1)
        if a2 and n > 0:
            add((n, a1, a2), (n - 1, a1, a2), mu2)
            add((n, a1, a2), (n, a1, 0), p2)
        if not a1:
            add((n, a1, a2), (n, 1, a2), r1)
        if not a2:
            add((n, a1, a2), (n, a1, 1), r2)
    np.fill_diagonal(Q, -Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(len(idx))])
    b = np.zeros(len(idx) + 1)
    b[-1] = 1
    pi = np.linalg.lstsq(A, b, rcond=None)[0]
    return mu2 * sum(pi[i] for (n, a1, a2), i in idx.items() if a2 and n > 0)


def test_ctmc_solver_matches_mm1n_closed_form():
    mu1, mu2, N = 1.0, 1.25, 6
    rho = mu1 / mu2
    p_n = rho**N * (1 - rho) / (1 - rho ** (N + 1))
    closed = mu1 * (1 - p_n)
    assert two_machine_throughput(mu1, mu2, 0, 1, 0, 1, N) == pytest.approx(closed, rel=1e-10)


def two_machine_scenario(B: int, *, failures: bool, seed: int) -> LineScenario:
    m1 = {"name": "m1", "buffer": 1, "process_time": "exponential(mean=1 min)"}
    m2 = {"name": "m2", "buffer": B, "process_time": "exponential(mean=0.9 min)"}
    if failures:
        m1["failures"] = [{"ttf": "exponential(mean=60 min)", "ttr": "exponential(mean=8 min)"}]
        m2["failures"] = [{"ttf": "exponential(mean=45 min)", "ttr": "exponential(mean=10 min)"}]
    return LineScenario.model_validate({
        "name": "two_machine",
        "source": {"saturated": True},
        "stations": [m1, m2],
        "experiment": {"horizon": "8 d", "warmup": "12 h", "replications": 10, "seed": seed,
                       "confidence": 0.99},
    })


@pytest.mark.parametrize("failures", [False, True], ids=["reliable", "unreliable"])
def test_two_machine_line_throughput(failures):
    B = 3
    mu1, mu2 = 1.0, 1 / 0.9
    p1, r1, p2, r2 = (1 / 60, 1 / 8, 1 / 45, 1 / 10) if failures else (0, 1, 0, 1)
    theory_per_hour = 60 * two_machine_throughput(mu1, mu2, p1, r1, p2, r2, B + 2)
    ds = simulate(two_machine_scenario(B, failures=failures, seed=11))
    lo, hi = ds["ci"].sel(kpi="throughput").values
    assert lo <= theory_per_hour <= hi, f"theory {theory_per_hour:.4f}/h not in CI [{lo:.4f}, {hi:.4f}]"
    assert float(ds["half_width"].sel(kpi="throughput")) < 0.03 * theory_per_hour
    _little_ok(ds)


def test_same_seed_same_numbers_serial_and_parallel():
    sc = two_machine_scenario(2, failures=True, seed=5).model_copy(
        update={"experiment": two_machine_scenario(2, failures=True, seed=5).experiment.model_copy(
            update={"horizon": 86400.0, "warmup": 3600.0, "replications": 4})}
    )
    a = simulate(sc, executor=None)
    b = simulate(sc, executor="processes:2")
    xr.testing.assert_equal(a["value"], b["value"])
    xr.testing.assert_equal(a["state_fraction"], b["state_fraction"])
    c = simulate(sc, seed=6)
    assert not np.array_equal(a["value"].values, c["value"].values)
    _little_ok(a)
