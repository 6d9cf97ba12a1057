"""Distribution specs in configs: aliases, scipy names, errors with did-you-mean."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.line import Stream, parse_distribution
from workbench.errors import ConfigError


@pytest.mark.parametrize(
    ("spec", "mean_s"),
    [
        ("exponential(mean=45 min)", 2700.0),
        ({"dist": "weibull_min", "c": 1.5, "scale": "40 h"}, 40 * 3600 * math.gamma(1 + 1 / 1.5)),
        ("lognormal(mean=2 h, cv=0.5)", 7200.0),
        ("triangular(min=1 min, mode=2 min, max=6 min)", 180.0),
        ("uniform(min=10 s, max=30 s)", 20.0),
        ("erlang(mean=1 h, k=3)", 3600.0),
        ("weibull(shape=2, scale=5 h)", 5 * 3600 * math.gamma(1.5)),
        ("30 min", 1800.0),
        (12.5, 12.5),
        ("gamma(a=9, scale=0.4 min)", 9 * 24.0),
    ],
)
def test_means_in_seconds(spec, mean_s):
    d = parse_distribution(spec, "s")
    assert d.mean() == pytest.approx(mean_s, rel=1e-9)


def test_lognormal_cv_matches_samples():
    d = parse_distribution("lognormal(mean=10 min, cv=0.3)", "s")
    x = d.sample(np.random.default_rng(1), 200_000)
    assert x.mean() == pytest.approx(600, rel=0.01)
    assert x.std() / x.mean() == pytest.approx(0.3, rel=0.02)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("exponentail(mean=3 min)", "did you mean 'exponential'"),
        ("exponential(maen=3 min)", "did you mean 'mean'"),
        ({"dist": "weibull_min", "k": 1.5, "scale": "4 h"}, "'k' is not a parameter of scipy.stats.weibull_min"),
        ({"dist": "weibull_min", "c": -1, "scale": "4 h"}, "not valid for scipy.stats.weibull_min"),
        ("exponential(mean=3 kg)", "not a duration"),
        ("normal(mean=3 min)", "missing sd"),
        ("triangular(min=5 min, mode=1 min, max=6 min)", "min <= mode <= max"),
        ("three minutes", "neither a value nor a distribution"),
    ],
)
def test_errors_name_the_problem(spec, fragment):
    with pytest.raises(ConfigError) as err:
        parse_distribution(spec, "s")
    assert fragment in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e5, allow_nan=False), st.sampled_from(["s", "min", "h"]))
def test_exponential_mean_round_trip(value, unit):
    factor = {"s": 1, "min": 60, "h": 3600}[unit]
    d = parse_distribution(f"exponential(mean={value!r} {unit})", "s")
    assert d.mean() == pytest.approx(value * factor, rel=1e-9)
    assert parse_distribution(d.as_json(), "s") == d


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_parser_never_crashes_unexpectedly(text):
    try:
        parse_distribution(text, "s")
    except ConfigError:
        pass


def test_stream_blocks_are_reproducible_and_clip_negative():
    d = parse_distribution("normal(mean=1 s, sd=2 s)", "s")
    a = Stream(d, np.random.default_rng(3))
    b = Stream(d, np.random.default_rng(3))
    xa = [a.draw() for _ in range(600)]
    assert xa == [b.draw() for _ in range(600)]
    assert min(xa) == 0.0
