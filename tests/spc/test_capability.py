"""Capability indices and intervals: a published worked example, hand formulas, simulated coverage."""

from __future__ import annotations

import importlib.resources
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spc import bissell_interval, capability, chi2_interval


def sample_with(mean, s, n, seed=0):
    """n values with exactly this mean and sample standard deviation."""
    z = np.random.default_rng(seed).standard_normal(n)
    return mean + s * (z - z.mean()) / z.std(ddof=1)


def test_cp_interval_of_montgomery_example():
    """Montgomery (2013), §8.3.5, Example 8.5: USL 62, LSL 38, n = 20, x-bar centred, s = 1.75.

    Printed: Cp-hat = 2.29; the 95 % interval from the chi-square table values chi2(0.975, 19) = 8.91
    and chi2(0.025, 19) = 32.85 (Appendix III). The textbook's Cp uses s: our Pp.
    """
    cap = capability(sample_with(50, 1.75, 20), lsl=38, usl=62)
    est, lo, hi = cap.indices["Pp"]
    assert est == pytest.approx(2.29, abs=0.005)
    assert lo == pytest.approx(24 / (6 * 1.75) * math.sqrt(8.91 / 19), abs=0.002)
    assert hi == pytest.approx(24 / (6 * 1.75) * math.sqrt(32.85 / 19), abs=0.002)


def test_cpk_interval_of_montgomery_example():
    """Montgomery (2013), §8.3.5, Example 8.6 (Bissell 1990): n = 20, Cpk-hat = 1.33 → 0.88 ≤ Cpk ≤ 1.78."""
    usl = 50 + 3 * 1.33 * 1.75
    cap = capability(sample_with(50, 1.75, 20), lsl=20, usl=usl)
    est, lo, hi = cap.indices["Ppk"]
    assert est == pytest.approx(1.33, abs=1e-9)
    assert (round(lo, 2), round(hi, 2)) == (0.88, 1.78)


def test_indices_ppm_by_hand_and_one_sided():
    rng = np.random.default_rng(7)
    x = rng.normal(10.2, 0.5, 120)
    cap = capability(x, lsl=8.5, usl=11.5, target=10)
    m, s = x.mean(), x.std(ddof=1)
    sw = np.abs(np.diff(x)).mean() / (2 / math.sqrt(math.pi))
    assert cap.indices["Cp"][0] == pytest.approx(3 / (6 * sw))
    assert cap.indices["Cpk"][0] == pytest.approx(min(11.5 - m, m - 8.5) / (3 * sw))
    assert cap.indices["Ppk"][0] == pytest.approx(min(11.5 - m, m - 8.5) / (3 * s))
    assert cap.indices["Cpm"][0] == pytest.approx(3 / (6 * math.sqrt(s * s + (m - 10) ** 2)))
    total = 1e6 * (stats.norm.cdf(8.5, m, s) + stats.norm.sf(11.5, m, s))
    assert cap.ppm["expected_overall"]["total"] == pytest.approx(total)
    one = capability(x, usl=11.5)
    assert set(one.indices) == {"Cpu", "Cpk", "Ppu", "Ppk"}
    assert one.indices["Cpk"] == one.indices["Cpu"]
    assert one.ppm["expected_within"]["below_lsl"] == 0


def test_pooled_subgroup_sigma():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 100)
    cap = capability(x, lsl=-4, usl=4, subgroups=5)
    g = x.reshape(20, 5)
    sp = math.sqrt(g.var(axis=1, ddof=1).mean())
    dof = 80
    c4 = math.sqrt(2 / dof) * math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2))
    assert cap.sigma_within == pytest.approx(sp / c4)
    assert "pooled" in cap.sigma_method


def test_interval_coverage_by_simulation():
    """2000 seeded samples of n = 50: each interval covers the true index ≈ 95 % (99 % binomial band)."""
    rng = np.random.default_rng(2026)
    n, reps = 50, 2000
    x = rng.standard_normal((reps, n))
    lsl, usl = -3.0, 4.5  # true Pp = 1.25, Ppk = 1.0
    m, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    pp = (usl - lsl) / (6 * s)
    ppk = np.minimum(usl - m, m - lsl) / (3 * s)
    lo, hi = chi2_interval(pp, n - 1)
    cover_pp = np.mean((lo <= 1.25) & (1.25 <= hi))
    lo, hi = bissell_interval(ppk, n)
    cover_ppk = np.mean((lo <= 1.0) & (1.0 <= hi))
    band = 2.576 * math.sqrt(0.95 * 0.05 / reps)
    assert abs(cover_pp - 0.95) < band, cover_pp
    assert abs(cover_ppk - 0.95) < band, cover_ppk
    # the intervals the public function reports are these: one sample checked end to end
    cap = capability(x[0], lsl=lsl, usl=usl)
    assert cap.indices["Pp"][1:] == pytest.approx(tuple(np.array(chi2_interval(pp[0], n - 1)).tolist()))


def test_box_cox_is_explicit_and_transforms_the_specs():
    rng = np.random.default_rng(1)
    x = rng.lognormal(1.0, 0.4, 200)
    normal = capability(x, lsl=0.5, usl=12)
    assert any("do not look normal" in n for n in normal.notes)
    bc = capability(x, lsl=0.5, usl=12, method="box-cox")
    y, lam = stats.boxcox(x)
    t = lambda v: (v**lam - 1) / lam  # noqa: E731
    assert bc.boxcox_lambda == pytest.approx(lam)
    assert bc.indices["Pp"][0] == pytest.approx((t(12) - t(0.5)) / (6 * y.std(ddof=1)))
    with pytest.raises(ValueError, match="> 0"):
        capability(x - 5, lsl=0.5, usl=12, method="box-cox")


def test_real_data_capability_against_numpy():
    """process-improve's rubber colour data with illustrative specs 200-280: indices from numpy by hand."""
    path = importlib.resources.files("process_improve") / "datasets" / "monitoring" / "rubber-colour.csv"
    x = pd.read_csv(path)["Colour"].to_numpy(float)
    cap = capability(x, lsl=200, usl=280, subgroups=5)
    g = x.reshape(-1, 5)
    m, s = x.mean(), x.std(ddof=1)
    assert cap.indices["Ppk"][0] == pytest.approx(min(280 - m, m - 200) / (3 * s))
    assert cap.ppm["observed"]["total"] == pytest.approx(1e6 * np.mean((x < 200) | (x > 280)))
    assert cap.sigma_within < s * 1.5 and g.shape == (20, 5)


@pytest.mark.parametrize("kwargs,match", [
    ({}, "at least one spec"), ({"lsl": 5, "usl": 1}, "below"), ({"usl": 1, "method": "clement"}, "unknown method"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        capability(np.arange(10.0), **kwargs)


@pytest.mark.parametrize("dist,skew,kurt", [
    (stats.gamma(4), 1.0, 4.5), (stats.gamma(2), 2 / math.sqrt(2), 6.0),  # Pearson type III
    (stats.beta(2, 5), None, None),  # type I
    (stats.t(8), 0.0, 4.5),  # type VII
    (stats.norm(), 0.0, 3.0),
])
def test_pearson_curve_percentiles_match_the_exact_distributions(dist, skew, kurt):
    from spc import pearson_cdf

    m, v, s, k = (float(a) for a in dist.stats(moments="mvsk"))
    x, F = pearson_cdf(s, k + 3)
    p = [0.00135, 0.5, 0.99865]
    assert np.interp(p, F, x) == pytest.approx((dist.ppf(p) - m) / math.sqrt(v), abs=2e-4)


def test_clements_is_explicit_and_agrees_with_normal_theory_on_normal_data():
    x = sample_with(10, 1, 4000, seed=5)
    cl = capability(x, lsl=6, usl=13.5, method="clements")
    pp = capability(x, lsl=6, usl=13.5)
    assert cl.method == "clements" and set(cl.indices) == {"Cp", "Cpu", "Cpl", "Cpk"}
    assert cl.indices["Cp"][0] == pytest.approx(pp.indices["Pp"][0], rel=0.06)
    assert cl.indices["Cpk"][0] == pytest.approx(pp.indices["Ppk"][0], rel=0.06)
    assert math.isnan(cl.indices["Cpk"][1]) and "Pearson" in cl.notes[-1]
    with pytest.raises(ValueError, match="Pearson"):
        from spc import pearson_cdf

        pearson_cdf(2.0, 3.0)
