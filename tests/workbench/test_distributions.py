"""The one distribution type: family table, parametrisations, truncation, round trip, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from workbench.distributions import FAMILIES, Distribution, distribution_type, parse_distribution
from workbench.errors import ConfigError
from workbench.units import convert

H = 3600.0
G = math.gamma

# (spec, unit, analytic mean, analytic variance, source of the formula)
MOMENTS = [
    # exponential: mean θ, var θ² (= 1/λ, 1/λ²)
    ("exponential(mean=2 h)", "s", 2 * H, (2 * H) ** 2),
    ({"distribution": "exponential", "rate": "0.5 1/h"}, "s", 2 * H, (2 * H) ** 2),
    ({"dist": "expon", "scale": 7200}, "s", 2 * H, (2 * H) ** 2),
    ({"distribution": "exponential", "mean": "2 h", "location": "1 h"}, "s", 3 * H, (2 * H) ** 2),
    # normal: mean μ, var σ²
    ("normal(mean=10 min, sd=2 min)", "s", 600.0, 120.0**2),
    ({"distribution": "normal", "mean": 0.25, "std": 0.015}, None, 0.25, 0.015**2),
    ({"dist": "norm", "loc": 3, "scale": 2}, None, 3.0, 4.0),
    # lognormal: mean exp(μ + σ²/2), var (exp(σ²) − 1)·exp(2μ + σ²); cv² = exp(σ²) − 1
    ("lognormal(mean=2 h, cv=0.5)", "s", 2 * H, (0.5 * 2 * H) ** 2),
    ({"distribution": "lognormal", "median": "800 h", "sigma": 0.6}, "s",
     800 * H * math.exp(0.18), math.expm1(0.36) * (800 * H) ** 2 * math.exp(0.36)),
    ({"distribution": "lognormal", "mu": 1.0, "sigma": 0.5}, None,
     math.exp(1.125), math.expm1(0.25) * math.exp(2.25)),
    ({"dist": "lognorm", "s": 0.5, "scale": math.e}, None, math.exp(1.125), math.expm1(0.25) * math.exp(2.25)),
    # gamma: mean kθ, var kθ²; by mean/cv: k = 1/cv², θ = mean·cv²
    ({"distribution": "gamma", "shape": 3.0, "scale": "200 h"}, "s", 600 * H, 3 * (200 * H) ** 2),
    ("gamma(a=9, scale=0.4 min)", "s", 216.0, 9 * 24.0**2),
    ({"distribution": "gamma", "mean": "1 h", "cv": 0.5}, "s", H, (0.5 * H) ** 2),
    ({"distribution": "gamma", "shape": 2.0, "rate": "4 1/h"}, "s", 0.5 * H, 2 * (0.25 * H) ** 2),
    # erlang(k, mean m): gamma with k, θ = m/k: var m²/k
    ("erlang(mean=1 h, k=3)", "s", H, H**2 / 3),
    # weibull: mean η·Γ(1 + 1/β), var η²·[Γ(1 + 2/β) − Γ(1 + 1/β)²]
    ("weibull(shape=2, scale=5 h)", "s", 5 * H * G(1.5), (5 * H) ** 2 * (G(2) - G(1.5) ** 2)),
    ({"dist": "weibull_min", "c": 1.5, "scale": "40 h"}, "s",
     40 * H * G(1 + 1 / 1.5), (40 * H) ** 2 * (G(1 + 2 / 1.5) - G(1 + 1 / 1.5) ** 2)),
    ({"distribution": "weibull3", "shape": 1.0, "scale": "1 h", "location": "2 h"}, "s", 3 * H, H**2),
    # triangular(a, c, b): mean (a+b+c)/3, var (a²+b²+c²−ab−ac−bc)/18
    ("triangular(min=1 min, mode=2 min, max=6 min)", "s", 180.0,
     (60**2 + 360**2 + 120**2 - 60 * 360 - 60 * 120 - 360 * 120) / 18),
    ({"dist": "triang", "c": 0.5, "loc": 0, "scale": 2}, None, 1.0, (0 + 4 + 1 - 0 - 0 - 2) / 18),
    # uniform(a, b): mean (a+b)/2, var (b−a)²/12
    ("uniform(min=10 s, max=30 s)", "s", 20.0, 400 / 12),
    ({"distribution": "uniform", "loc": 1, "scale": 2}, None, 2.0, 4 / 12),
    # constant: mean v, var 0
    ("30 min", "s", 1800.0, 0.0),
    ("constant(4 h)", "s", 4 * H, 0.0),
    ({"distribution": "deterministic", "value": 7}, None, 7.0, 0.0),
    # geometric (trials to the first success, 1, 2, …): mean 1/p, var (1 − p)/p²
    ("geometric(p=0.25)", None, 4.0, 0.75 / 0.0625),
    ({"distribution": "geometric", "mean": 500}, None, 500.0, (1 - 1 / 500) * 500**2),
    # poisson: mean = var = μ
    ("poisson(mean=3.5)", None, 3.5, 3.5),
    # empirical: Σ wᵢxᵢ / Σ wᵢ
    ("empirical(values=[1, 2, 5], weights=[1, 1, 2])", None, 13 / 4, (1 + 4 + 50) / 4 - (13 / 4) ** 2),
    ({"distribution": "empirical", "values": ["1 min", "3 min"]}, "s", 120.0, 60.0**2),
]


@pytest.mark.parametrize(("spec", "unit", "mean", "var"), MOMENTS, ids=lambda v: str(v)[:40])
def test_moments_match_analytic_formulas(spec, unit, mean, var):
    d = parse_distribution(spec, unit)
    assert d.mean() == pytest.approx(mean, rel=1e-9)
    assert d.var() == pytest.approx(var, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(("spec", "unit", "mean", "var"), MOMENTS, ids=lambda v: str(v)[:40])
def test_samples_match_moments(spec, unit, mean, var):
    d = parse_distribution(spec, unit)
    x = np.asarray(d.sample(np.random.default_rng(11), 100_000), dtype=float)
    se = math.sqrt(var / len(x))
    assert abs(x.mean() - mean) <= 5 * se + 1e-12 * abs(mean)


def test_every_family_of_the_table_is_covered():
    written = set()
    for spec, unit, *_ in MOMENTS:
        written.add(parse_distribution(spec, unit).family)
    assert written == set(FAMILIES)


@pytest.mark.parametrize(
    "spec",
    ["exponential(mean=45 min)", "normal(mean=1 s, sd=2 s)", "lognormal(mean=10 min, cv=0.3)",
     "gamma(a=9, scale=0.4 min)", "weibull(shape=1.5, scale=40 h)", "triangular(min=1 s, mode=2 s, max=4 s)",
     {"dist": "gengamma", "a": 2.0, "c": 1.5, "scale": 3.0}],
)
def test_sampling_draws_what_scipy_draws(spec):
    """Same generator calls as ``rv.rvs(random_state=rng)``: seeds give the same numbers as scipy."""
    d = parse_distribution(spec, "s")
    a = d.sample(np.random.default_rng(5), 1000)
    b = d.rv.rvs(size=1000, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_scipy_names_are_parametrisations_of_the_family():
    a = parse_distribution({"dist": "lognorm", "s": 0.5, "scale": 100}, "s")
    b = parse_distribution({"distribution": "lognormal", "median": 100, "sigma": 0.5}, "s")
    assert a.family == b.family == "lognormal"
    assert a.scipy_kwargs == b.scipy_kwargs
    assert a.name == "lognorm"


# ---------------------------------------------------------------------- truncation
TRUNCATED = [
    ({"distribution": "normal", "mean": "10 min", "sd": "4 min", "truncate": ["0 s", "12 min"]}, "s"),
    ("lognormal(mean=1 h, cv=1, truncate=[10 min, 2 h])", "s"),
    ({"distribution": "weibull", "shape": 0.8, "scale": "1 h", "truncate": [None, "30 min"]}, "s"),
    ({"distribution": "exponential", "mean": 5, "truncate": [2, None]}, None),
    ({"distribution": "gamma", "shape": 2, "scale": 1, "truncate": [0.5, 6]}, None),
]


@pytest.mark.parametrize(("spec", "unit"), TRUNCATED, ids=lambda v: str(v)[:40])
def test_truncated_samples_stay_inside_and_mean_matches_the_integral(spec, unit):
    d = parse_distribution(spec, unit)
    low, high = d.truncate
    base = parse_distribution(_untruncated(d), unit).rv
    a, b = max(low, base.support()[0]), min(high, base.support()[1])
    z = base.cdf(b) - base.cdf(a)
    # E[X | a ≤ X ≤ b] = ∫ₐᵇ x f(x) dx / (F(b) − F(a)), by quadrature on the untruncated density
    expect = integrate.quad(lambda x: x * base.pdf(x), a, b, limit=200)[0] / z
    assert d.mean() == pytest.approx(expect, rel=1e-6)
    x = d.sample(np.random.default_rng(3), 50_000)
    assert x.min() >= low and x.max() <= high
    assert x.mean() == pytest.approx(expect, abs=5 * d.std() / math.sqrt(len(x)))
    # the CDF is renormalised on the interval
    assert float(d.cdf(a)) == pytest.approx(0.0, abs=1e-12)
    assert float(d.cdf(b)) == pytest.approx(1.0)
    q = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(d.cdf(d.ppf(q)), q, rtol=1e-6)


def _untruncated(d: Distribution) -> dict:
    spec = d.to_spec()
    spec.pop("truncate")
    return spec


def test_truncated_normal_is_scipy_truncnorm():
    d = parse_distribution("normal(mean=1, sd=2, truncate=[0, null])")
    assert d.mean() == pytest.approx(stats.truncnorm(-0.5, np.inf, loc=1, scale=2).mean())


def test_truncated_geometric_counts():
    d = parse_distribution("geometric(p=0.1, truncate=[null, 5])")
    k = np.arange(1, 6)
    pmf = 0.9 ** (k - 1) * 0.1
    assert d.mean() == pytest.approx((k * pmf).sum() / pmf.sum())
    x = d.sample(np.random.default_rng(0), 10_000)
    assert set(np.unique(x)) == {1, 2, 3, 4, 5}


# ---------------------------------------------------------------------- round trip
def _positive(lo=1e-3, hi=1e6):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


SPECS = st.one_of(
    st.builds(lambda m: {"distribution": "exponential", "mean": m}, _positive()),
    st.builds(lambda r, loc: {"distribution": "exponential", "rate": r, "location": loc}, _positive(), _positive(0, 1e3)),
    st.builds(lambda m, s: {"distribution": "normal", "mean": m, "sd": s}, st.floats(-1e5, 1e5), _positive()),
    st.builds(lambda m, c: {"distribution": "lognormal", "mean": m, "cv": c}, _positive(), _positive(0.01, 3)),
    st.builds(lambda m, s: {"distribution": "lognormal", "median": m, "sigma": s}, _positive(), _positive(0.01, 3)),
    st.builds(lambda m, s: {"distribution": "lognormal", "mu": m, "sigma": s}, st.floats(-5, 10), _positive(0.01, 3)),
    st.builds(lambda k, t: {"distribution": "gamma", "shape": k, "scale": t}, _positive(0.1, 50), _positive()),
    st.builds(lambda m, c: {"distribution": "gamma", "mean": m, "cv": c}, _positive(), _positive(0.05, 3)),
    st.builds(lambda m, k: {"distribution": "erlang", "mean": m, "k": k}, _positive(), st.integers(1, 20)),
    st.builds(lambda b, e, g: {"distribution": "weibull", "shape": b, "scale": e, "location": g},
              _positive(0.3, 8), _positive(), _positive(0, 1e3)),
    st.builds(lambda a, w, f: {"distribution": "triangular", "min": a, "mode": a + f * w, "max": a + w},
              _positive(0, 1e3), _positive(), st.floats(0, 1)),
    st.builds(lambda a, w: {"distribution": "uniform", "min": a, "max": a + w}, _positive(0, 1e3), _positive(1e-2)),
    st.builds(lambda v: {"distribution": "constant", "value": v}, _positive(0, 1e6)),
    st.builds(lambda p: {"distribution": "geometric", "p": p}, st.floats(0.01, 1)),
    st.builds(lambda m: {"distribution": "poisson", "mean": m}, _positive(0.01, 1e3)),
    st.builds(lambda v, w: {"distribution": "empirical", "values": v, "weights": w[: len(v)] + [1.0] * (len(v) - len(w))},
              st.lists(_positive(0, 1e4), min_size=1, max_size=6), st.lists(_positive(0.1, 10), max_size=6)),
)


@settings(max_examples=200, deadline=None)
@given(spec=SPECS, truncate=st.booleans())
def test_to_spec_round_trips(spec, truncate):
    d = parse_distribution(spec)
    if truncate and not d.is_constant:
        lo, hi = d.ppf([0.05, 0.95])
        if hi > lo:
            d = parse_distribution({**d.to_spec(), "truncate": [float(lo), float(hi)]})
    back = parse_distribution(d.to_spec())
    assert back == d
    assert back.mean() == d.mean() or math.isclose(back.mean(), d.mean(), rel_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(m=_positive(1, 1e5), s=_positive(1, 1e4), unit=st.sampled_from(["s", "min", "h", "d"]))
def test_to_spec_with_units_round_trips(m, s, unit):
    d = parse_distribution({"distribution": "normal", "mean": m, "sd": s, "truncate": [0, None]}, "s")
    spec = d.to_spec(unit)
    assert spec["mean"].endswith(f" {unit}")
    back = parse_distribution(spec, "s")
    assert back.family == d.family and back.truncate == d.truncate
    for (k, a), (k2, b) in zip(back.params, d.params, strict=True):
        assert k == k2 and a == pytest.approx(b, rel=1e-12)


def test_rate_is_written_with_an_inverse_unit():
    d = parse_distribution({"distribution": "exponential", "rate": "6 1/h"}, "s")
    assert d.to_spec("h") == {"distribution": "exponential", "rate": "6.0 1/h"}
    assert d.mean() == pytest.approx(600.0)


def test_pydantic_field_serialises_the_canonical_form():
    from pydantic import BaseModel

    class M(BaseModel):
        t: distribution_type("s", lower=0.0)

    m = M(t="lognormal(mean=2 min, cv=0.5)")
    assert m.model_dump() == {"t": {"distribution": "lognormal", "mean": 120.0, "cv": 0.5}}
    assert M.model_validate(m.model_dump()) == m


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("spec", "unit", "fragments"),
    [
        ({"distribution": "weibul", "shape": 2, "scale": 3}, "s", ["'weibul' is not a known distribution",
                                                                   "did you mean 'weibull'"]),
        ("lognormal(mean=1 h, sd=2 h)", "s", ["'sd' is not a parameter of the lognormal distribution",
                                              "{mean, cv} | {median, sigma} | {mu, sigma} | {s, scale}"]),
        ("lognormal(mean=1 h)", "s", ["missing cv", "lognormal takes {mean, cv} | {median, sigma}"]),
        ("lognormal(mean=1 h, sigma=0.5)", "s", ["do not form one parametrisation", "{median, sigma}"]),
        ({"distribution": "weibull", "shape": 2, "scale": "3 h", "location": "1 h", "loc": "1 h"}, "s",
         ["location or loc"]),
        ({"distribution": "gamma", "mean": "1 h", "cv": -1}, "s", ["cv must be > 0, got -1"]),
        ({"distribution": "normal", "mean": 1, "sd": 1, "truncate": [3, 2]}, None, ["low < high"]),
        ({"distribution": "normal", "mean": 1, "sd": 1, "truncate": [3]}, None, ["truncate must be [low, high]"]),
        ({"distribution": "exponential", "mean": 1, "truncate": [-3, -1]}, None, ["leaves no probability"]),
        ("poisson(mean=3)", "s", ["poisson draws counts", "not for a quantity in s"]),
        ("geometric(mean=0.5)", None, ["must be >= 1"]),
        ("empirical(values=[1, 2], weights=[1])", None, ["one entry per value"]),
        ({"shape": 2}, "s", ["needs one 'distribution: <family>'"]),
        ({"distribution": "normal", "dist": "normal", "mean": 1, "sd": 1}, None, ["needs one 'distribution"]),
        ("exponential(mean=3 kg)", "s", ['"exponential(mean=3 kg)"', "not a duration"]),
    ],
)
def test_bad_specs_name_the_field_and_the_choices(spec, unit, fragments):
    with pytest.raises(ConfigError) as err:
        parse_distribution(spec, unit)
    for fragment in fragments:
        assert fragment in str(err.value)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_parser_never_crashes_unexpectedly(text):
    try:
        parse_distribution(text, "s")
    except ConfigError:
        pass


def test_convert_is_the_one_unit_conversion():
    assert convert(5400.0, "h", from_unit="s") == 1.5
    assert convert("90 min", "h") == 1.5


def test_truncated_empirical_keeps_mass_at_the_bounds():
    """An empirical distribution has arbitrary (non-integer) points: truncating to [a, b]
    keeps the points a <= x <= b and renormalises their weights (found by the round-trip test)."""
    d = parse_distribution({"distribution": "empirical", "values": [0.5, 0.75], "truncate": [0.5, 0.75]})
    assert d.mean() == pytest.approx(0.625) and d.var() == pytest.approx(0.015625)
    d = parse_distribution({"distribution": "empirical", "values": [0.5, 0.75, 2.0], "weights": [1, 1, 2],
                            "truncate": [0.6, 3.0]})
    assert d.mean() == pytest.approx((0.75 + 2 * 2.0) / 3)
    x = d.sample(np.random.default_rng(1), 20_000)
    assert set(np.unique(x)) == {0.75, 2.0}
    assert np.mean(x == 2.0) == pytest.approx(2 / 3, abs=0.02)
