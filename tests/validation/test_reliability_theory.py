"""Reliability engines and fitting against analytic results and published values.

* series / parallel / k-out-of-n / cold standby R(t) vs closed forms
  (Rausand & Høyland 2004, *System Reliability Theory*, ch. 4 and §6.4);
* exponential repairable unit: long-run availability MTBF/(MTBF+MTTR)
  (Barlow & Proschan 1965; Rausand & Høyland §6.3);
* age and block replacement: simulated cost rate vs the renewal-reward formulas
  (Barlow & Proschan 1965, ch. 4);
* Weibull MLE of the Lieblein & Zelen (1956) ball-bearing data vs published estimates.

Monte-Carlo tolerances are 4.5 standard errors (binomial or Student-t), so a
correct engine fails with probability ~1e-5 per check; the seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulation.life import (
    LifeData,
    LifeModel,
    age_replacement_cost_rate,
    block_replacement_cost_rate,
    fit_life,
    simulate_missions,
    simulate_operation,
)
from twin_app.tours.life import BALL_BEARING_MCYCLES

H = 3600.0
Z = 4.5


def _model(system, components, **sim):
    s = {"mission_time": "2000 h", "missions": 200_000, "time_points": 21, "seed": 11, "importance_missions": 2}
    s.update(sim)
    return LifeModel.model_validate({"name": "v", "components": components, "system": system, "simulation": s})


COMPONENTS = [
    {"name": "w1", "life": {"distribution": "weibull", "shape": 1.5, "scale": "3000 h"}},
    {"name": "w2", "life": {"distribution": "weibull", "shape": 2.5, "scale": "2500 h", "location": "200 h"}},
    {"name": "e1", "life": {"distribution": "exponential", "mean": "4000 h"}},
    {"name": "ln", "life": {"distribution": "lognormal", "median": "3500 h", "sigma": 0.7}},
    {"name": "g1", "life": {"distribution": "gamma", "shape": 3.0, "scale": "1000 h"}},
]


def _sf(name, t):
    from simulation.life import LifeDistribution

    spec = next(c for c in COMPONENTS if c["name"] == name)["life"]
    return LifeDistribution.model_validate(spec).sf(t)


P_TAIL = 3.4e-6  # two-sided tail probability of a 4.5σ normal deviation


def _check_against(ds, analytic):
    """Survivor counts must be plausible under Binomial(n, R_exact) at every time point
    (exact binomial tails, so the far tail with a handful of survivors is judged fairly)."""
    est = ds["reliability"].sel(bound="estimate").values
    n = ds.attrs["missions"]
    k = np.rint(est * n)
    lower_tail = stats.binom.cdf(k, n, analytic)
    upper_tail = stats.binom.sf(k - 1, n, analytic)
    assert np.all(np.minimum(lower_tail, upper_tail) > P_TAIL / 2), np.min(np.minimum(lower_tail, upper_tail))


def test_series_parallel_nested_matches_analytic():
    system = {"type": "series", "blocks": ["w1", {"type": "parallel", "blocks": ["w2", "e1", "ln"]}, "g1"]}
    ds = simulate_missions(_model(system, COMPONENTS))
    t = ds["time"].values
    r = _sf("w1", t) * (1 - (1 - _sf("w2", t)) * (1 - _sf("e1", t)) * (1 - _sf("ln", t))) * _sf("g1", t)
    _check_against(ds, r)
    np.testing.assert_allclose(ds["reliability_analytic"].values, r, rtol=1e-12)


def test_k_out_of_n_unequal_units_matches_analytic():
    system = {"type": "k_out_of_n", "k": 3, "blocks": [c["name"] for c in COMPONENTS]}
    ds = simulate_missions(_model(system, COMPONENTS))
    t = ds["time"].values
    rs = [_sf(c["name"], t) for c in COMPONENTS]
    r = np.zeros_like(t)  # P(at least 3 of 5 work), by enumeration of the 32 states
    for state in range(32):
        up = [(state >> i) & 1 for i in range(5)]
        if sum(up) >= 3:
            p = np.ones_like(t)
            for u, ri in zip(up, rs, strict=True):
                p = p * (ri if u else 1 - ri)
            r += p
    _check_against(ds, r)


def test_identical_2_out_of_3_closed_form():
    comps = [{"name": n, "life": {"distribution": "exponential", "mean": "1000 h"}} for n in "abc"]
    ds = simulate_missions(_model({"type": "k_out_of_n", "k": 2, "blocks": ["a", "b", "c"]}, comps))
    t = ds["time"].values
    p = np.exp(-t / (1000 * H))
    _check_against(ds, 3 * p**2 - 2 * p**3)
    # MTTF of 2oo3 exponential = 5/(6λ) (Rausand & Høyland, Table 4.x)
    mttf = ds["mttf"].values
    assert mttf[1] <= 5 / 6 * 1000 * H <= mttf[2] + 1e-9


@pytest.mark.parametrize("p_switch", [1.0, 0.9])
def test_cold_standby_with_imperfect_switch(p_switch):
    """Two identical exponential units, cold standby, switch success p:
    R(t) = e^{-λt}(1 + p·λt) (Rausand & Høyland 2004, §6.4)."""
    comps = [{"name": n, "life": {"distribution": "exponential", "mean": "1000 h"}} for n in ("main", "backup")]
    system = {"type": "standby", "mode": "cold", "switch_reliability": p_switch, "blocks": ["main", "backup"]}
    ds = simulate_missions(_model(system, comps))
    lt = ds["time"].values / (1000 * H)
    _check_against(ds, np.exp(-lt) * (1 + p_switch * lt))


def test_warm_standby_exponential():
    """Warm standby, exponential λ active and fλ dormant, perfect switch:
    R(t) = e^{-λt} + λ/(fλ)·(e^{-λt} − e^{-(1+f)λt}) (Rausand & Høyland 2004, §6.4)."""
    f = 0.3
    comps = [{"name": n, "life": {"distribution": "exponential", "mean": "1000 h"}} for n in ("main", "backup")]
    system = {"type": "standby", "mode": "warm", "dormant_factor": f, "blocks": ["main", "backup"]}
    ds = simulate_missions(_model(system, comps))
    lt = ds["time"].values / (1000 * H)
    _check_against(ds, np.exp(-lt) + (np.exp(-lt) - np.exp(-(1 + f) * lt)) / f)


def test_exponential_repairable_availability():
    """Alternating renewal process: A∞ = MTBF / (MTBF + MTTR)."""
    comps = [{"name": "pump", "life": {"distribution": "exponential", "mean": "200 h"},
              "repair": {"distribution": "exponential", "mean": "25 h"}}]
    m = _model("pump", comps, mission_time="40000 h", replications=40, time_points=11)
    ds = simulate_operation(m)
    a = ds["mean_availability"].values
    target = 200 / 225
    half = (a[2] - a[0]) / stats.t.ppf(0.975, 39) * Z  # 4.5 standard errors
    assert abs(a[0] - target) <= half
    # failures per hour of uptime → MTBF
    mtbf_h = ds["mtbf"].values / H
    assert mtbf_h[1] * 0.97 <= 200 <= mtbf_h[2] * 1.03


def test_age_replacement_cost_rate_matches_renewal_reward():
    cp, cf = 100.0, 1000.0
    comps = [{"name": "bearing", "life": {"distribution": "weibull", "shape": 2.5, "scale": "1000 h"},
              "preventive": {"policy": "age", "interval": "355 h", "cost": cp}, "costs": {"failure": cf}}]
    m = _model("bearing", comps, mission_time="200000 h", replications=30, time_points=5)
    ds = simulate_operation(m)
    est, lo, hi = ds["cost_rate"].values
    exact = age_replacement_cost_rate(m.components[0].life, 355 * H, cp, cf)
    half = (hi - est) / stats.t.ppf(0.975, 29) * Z
    assert abs(est - exact) <= half, (est, exact, half)


def test_block_replacement_cost_rate_matches_renewal_reward():
    cp, cf = 100.0, 1000.0
    comps = [{"name": "lamp", "life": {"distribution": "weibull", "shape": 3.0, "scale": "1000 h"},
              "preventive": {"policy": "block", "interval": "500 h", "cost": cp}, "costs": {"failure": cf}}]
    m = _model("lamp", comps, mission_time="200000 h", replications=30, time_points=5)
    ds = simulate_operation(m)
    est, lo, hi = ds["cost_rate"].values
    exact = block_replacement_cost_rate(m.components[0].life, 500 * H, cp, cf)
    half = (hi - est) / stats.t.ppf(0.975, 29) * Z
    assert abs(est - exact) <= half, (est, exact, half)


def test_weibull_mle_of_lieblein_zelen_ball_bearings():
    """Published MLEs for the 23 ball-bearing lives (10⁶ revolutions) of Lieblein & Zelen (1956):

    * extreme-value (log-Weibull) parametrisation û = 4.405, b̂ = 0.476 — Lawless (2003),
      *Statistical Models and Methods for Lifetime Data*, 2nd ed., ch. 5 (ball-bearing example);
    * Weibull κ̂ = 2.10, λ̂ = 0.0122 (S(t) = exp(−(λt)^κ)) — Leemis (2009),
      *Reliability: Probabilistic Models and Statistical Methods*, 2nd ed., ch. 8 (ball-bearing example);
      equivalently β̂ = 2.10, η̂ = 81.9 (Crowder, Kimber, Smith & Sweeting 1991, ch. 3).

    The lognormal MLE is closed-form (mean and n-divisor s.d. of the logs): μ̂ = 4.150, σ̂ = 0.522
    (Lawless 2003, ch. 5).
    """
    fit = fit_life(LifeData(failures=np.array(BALL_BEARING_MCYCLES), unit="h"), "weibull")
    beta, eta = fit.params["shape"], fit.params["scale"]
    assert np.log(eta) == pytest.approx(4.405, abs=0.0005)
    assert 1 / beta == pytest.approx(0.476, abs=0.0005)
    assert beta == pytest.approx(2.10, abs=0.005)
    assert 1 / eta == pytest.approx(0.0122, abs=0.00005)
    assert eta == pytest.approx(81.9, abs=0.05)
    ln = fit_life(LifeData(failures=np.array(BALL_BEARING_MCYCLES), unit="h"), "lognormal")
    assert np.log(ln.params["median"]) == pytest.approx(4.150, abs=0.0005)
    assert ln.params["sigma"] == pytest.approx(0.522, abs=0.0005)


def test_accelerated_life_under_a_stress_profile():
    """Arrhenius at constant stress scales a Weibull's characteristic life by 1/AF (Nelson 1990,
    ch. 2); a two-phase duty cycle with duty d₁, d₂ gives the mean rate Σ dᵢ·AFᵢ·τᵢ / Σ τᵢ."""
    from simulation.life._stress import BOLTZMANN_EV

    af = np.exp(0.7 / BOLTZMANN_EV * (1 / 313.15 - 1 / 353.15))
    comps = [{"name": "board", "life": {"distribution": "weibull", "shape": 2.0, "scale": "20000 h"},
              "acceleration": [{"model": "arrhenius", "activation_energy": "0.7 eV",
                                "reference_temperature": "40 degC"}]}]
    prof = {"phases": [{"name": "hot", "duration": "1 h", "temperature": "80 degC"}]}
    m = LifeModel.model_validate({"name": "acc", "components": comps, "system": "board", "profile": prof,
                                  "simulation": {"mission_time": "5000 h", "missions": 200_000,
                                                 "time_points": 21, "seed": 3, "importance_missions": 2}})
    ds = simulate_missions(m)
    t = ds["time"].values
    _check_against(ds, stats.weibull_min(2.0, scale=20000 * H / af).sf(t))
    # duty cycle: 6 h hot at full duty + 18 h at reference with duty 0.5, checked at whole days
    prof2 = {"phases": [{"name": "hot", "duration": "6 h", "temperature": "80 degC"},
                        {"name": "cool", "duration": "18 h", "temperature": "40 degC", "duty": 0.5}]}
    m2 = m.model_validate({**m.model_dump(), "profile": prof2,
                           "simulation": {**m.simulation.model_dump(), "mission_time": 24 * 300 * H,
                                          "time_points": 301}})
    ds2 = simulate_missions(m2)
    rate = (6 * af + 18 * 0.5) / 24
    days = ds2["time"].values[::25]
    est = ds2["reliability"].sel(bound="estimate").values[::25]
    exact = stats.weibull_min(2.0, scale=20000 * H / rate).sf(days)
    k = np.rint(est * 200_000)
    tails = np.minimum(stats.binom.cdf(k, 200_000, exact), stats.binom.sf(k - 1, 200_000, exact))
    assert np.all(tails > P_TAIL / 2)
