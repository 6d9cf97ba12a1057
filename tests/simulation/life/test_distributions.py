"""Life distributions: scipy parametrisation, fast samplers, YAML round trip, acceleration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.life import (
    Acceleration,
    ExposureClock,
    LifeDistribution,
    LifeProfile,
    acceleration_factor,
    miner_damage,
)

CASES = [
    {"distribution": "weibull", "shape": 1.7, "scale": "1000 h"},
    {"distribution": "weibull", "shape": 2.5, "scale": "500 h", "location": "100 h"},
    {"distribution": "lognormal", "median": "800 h", "sigma": 0.6},
    {"distribution": "exponential", "mean": "300 h"},
    {"distribution": "gamma", "shape": 3.0, "scale": "200 h"},
    {"distribution": "normal", "mean": "1000 h", "std": "300 h"},
]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s["distribution"])
def test_sampler_matches_scipy(spec):
    d = LifeDistribution.model_validate(spec)
    x = d.sample(np.random.default_rng(0), 200_000)
    rv = d.frozen()
    assert x.min() >= 0
    assert x.mean() == pytest.approx(rv.mean(), rel=5 * rv.std() / rv.mean() / np.sqrt(len(x)) + 1e-3)
    for q in (0.1, 0.5, 0.9):  # empirical CDF at scipy quantiles
        assert np.mean(x <= rv.ppf(q)) == pytest.approx(q, abs=0.005)


def test_weibull_parametrisation():
    d = LifeDistribution(distribution="weibull", shape=2.0, scale="1000 h")
    t = 500 * 3600.0
    assert d.sf(t) == pytest.approx(np.exp(-(0.5**2)))


@settings(max_examples=40, deadline=None)
@given(shape=st.floats(0.3, 8), scale_h=st.floats(1, 1e6), loc_h=st.floats(0, 1e3))
def test_yaml_round_trip(shape, scale_h, loc_h):
    d = LifeDistribution(distribution="weibull", shape=shape, scale=f"{scale_h} h", location=f"{loc_h} h")
    back = LifeDistribution.model_validate(d.to_yaml_dict("h"))
    assert back.shape == pytest.approx(d.shape, rel=1e-7)
    assert back.scale == pytest.approx(d.scale, rel=1e-7)
    assert back.location == pytest.approx(d.location, rel=1e-7, abs=1e-6)


def test_arrhenius_eyring_ipl_factors():
    profile = LifeProfile.model_validate(
        {"phases": [{"name": "hot", "duration": "1 h", "temperature": "80 degC", "load": 2.0}]})
    ph = profile.phases[0]
    arr = Acceleration(model="arrhenius", activation_energy="0.7 eV", reference_temperature="40 degC")
    k = 8.617333262e-5
    expected = np.exp(0.7 / k * (1 / 313.15 - 1 / 353.15))
    assert arr.factor(ph) == pytest.approx(expected, rel=1e-9)
    ey = Acceleration(model="eyring", activation_energy="0.7 eV", reference_temperature="40 degC")
    assert ey.factor(ph) == pytest.approx(expected * 353.15 / 313.15, rel=1e-9)
    ipl = Acceleration(model="ipl", exponent=3, reference_load=1.0)
    assert ipl.factor(ph) == pytest.approx(8.0)
    assert acceleration_factor([arr, ipl], ph) == pytest.approx(8 * expected)


PROFILE = LifeProfile.model_validate({"phases": [
    {"name": "day", "duration": "10 h", "temperature": "45 degC", "load": 1.2},
    {"name": "idle", "duration": "2 h", "duty": 0},
    {"name": "night", "duration": "12 h", "temperature": "30 degC", "load": 0.8, "duty": 0.5},
]})
MODELS = [Acceleration(model="inverse_power_law", exponent=3, reference_load=1.0)]


@settings(max_examples=60, deadline=None)
@given(u=st.floats(0, 1e8))
def test_exposure_clock_inverse(u):
    clock = ExposureClock(PROFILE, MODELS)
    t = clock.time_at(u)
    assert float(clock.exposure(t)) == pytest.approx(u, rel=1e-9, abs=1e-6)
    if u > 0:  # first time: a moment earlier the exposure is smaller
        assert float(clock.exposure(t * (1 - 1e-9) - 1e-3)) < u


def test_cumulative_exposure_reproduces_miner():
    """A deterministic life L at reference stress: the exposure model fails the unit exactly
    when Miner's damage sum reaches 1 (Nelson 1990, ch. 10 §2.4)."""
    clock = ExposureClock(PROFILE, MODELS)
    per_cycle = sum(p.duty * p.duration * acceleration_factor(MODELS, p) for p in PROFILE.phases if p.duty)
    cycles = 200
    L = cycles * per_cycle
    lives = [L / acceleration_factor(MODELS, p) if p.duty else np.inf for p in PROFILE.phases]
    assert miner_damage(PROFILE, lives, cycles=cycles) == pytest.approx(1.0, rel=1e-12)
    assert miner_damage(PROFILE, lives, cycles=cycles / 2) == pytest.approx(0.5, rel=1e-12)
    assert float(clock.time_at(L)) == pytest.approx(cycles * PROFILE.cycle, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0, 1e9))
def test_scalar_clock_matches_vectorised(t):
    clock = ExposureClock(PROFILE, MODELS)
    assert clock.exposure_at(t) == pytest.approx(float(clock.exposure(t)), rel=1e-12, abs=1e-9)
    u = clock.exposure_at(t)
    assert clock.time_of(u) == pytest.approx(float(clock.time_at(u)), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("spec", [
    "lognormal(mean=8 h, cv=0.5)",
    {"distribution": "lognormal", "mean": "8 h", "cv": 0.5},
    {"dist": "lognorm", "s": float(np.sqrt(np.log1p(0.25))), "scale": f"{8 / 1.25**0.5!r} h"},
])
def test_every_syntax_of_the_one_distribution_type_is_a_life(spec):
    d = LifeDistribution.model_validate(spec)
    assert d.distribution == "lognormal"
    assert d.mean_life() == pytest.approx(8 * 3600.0, rel=1e-9)
    back = LifeDistribution.model_validate(d.to_yaml_dict("h"))  # 8 significant digits
    assert back.dist.family == "lognormal" and back.mean_life() == pytest.approx(d.mean_life(), rel=1e-7)
    assert LifeDistribution.model_validate(d.dist.to_spec()) == d  # exact


def test_normal_life_is_truncated_at_zero_and_round_trips():
    d = LifeDistribution(distribution="normal", mean="100 h", std="80 h")
    assert d.dist.truncate == (0.0, np.inf)
    assert d.sf(0.0) == pytest.approx(1.0)
    back = LifeDistribution.model_validate(d.to_yaml_dict("h"))
    assert back == d and back.std == pytest.approx(d.std)


def test_count_families_are_not_lives():
    with pytest.raises(ValueError, match="poisson draws counts"):
        LifeDistribution.model_validate({"distribution": "poisson", "mean": 3})
