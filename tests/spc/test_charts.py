"""Control charts: limits against hand formulas and a published example, Phase I/II, remedies, errors."""

from __future__ import annotations

import importlib.resources
import json
import math

import numpy as np
import pandas as pd
import pytest

from spc import ChartLimits, control_chart, load_limits
from workbench.errors import ConfigError

D2_2 = 2 / math.sqrt(math.pi)  # E|Z1 - Z2|, exact
DATASETS = importlib.resources.files("process_improve") / "datasets"

# Montgomery, Introduction to Statistical Quality Control, 7th ed. (2013), Table 7.1 / Example 7.1:
# nonconforming frozen orange-juice cans in 30 samples of n = 50
CANS = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]


def test_p_chart_reproduces_montgomery_example_7_1():
    trial = control_chart(CANS, chart="p", sizes=50, drop=False, rules="none")
    # printed: p-bar = 0.2313, UCL = 0.4102, LCL = 0.0524; samples 15 and 23 above the UCL
    assert trial.limits.center == pytest.approx(0.2313, abs=5e-5)
    assert trial.primary.ucl[0] == pytest.approx(0.4102, abs=5e-5)
    assert trial.primary.lcl[0] == pytest.approx(0.0524, abs=5e-5)
    assert [s.label for s in trial.signals] == ["15", "23"]
    revised = control_chart(CANS, chart="p", sizes=50)
    # Montgomery drops 15 and 23 and prints the revised p-bar 0.2150, UCL 0.3893: sample 21 (0.40) is above it,
    # so the iterative Phase I drops it in a second pass
    first = [d["label"] for d in revised.dropped if d["iteration"] == 1]
    second = [d["label"] for d in revised.dropped if d["iteration"] == 2]
    assert first == ["15", "23"] and second == ["21"]
    rev_p = (347 - 22 - 24) / 1400
    assert rev_p == pytest.approx(0.2150, abs=5e-5)
    assert rev_p + 3 * math.sqrt(rev_p * (1 - rev_p) / 50) == pytest.approx(0.3893, abs=5e-5)
    assert revised.limits.center == pytest.approx((347 - 22 - 24 - 20) / 1350)


def rubber():
    return pd.read_csv(DATASETS / "monitoring" / "rubber-colour.csv")["Colour"].to_numpy(float)


def test_real_data_imr_limits_equal_the_hand_formula():
    """process-improve's rubber colour data: I-MR limits from numpy by the textbook formula."""
    x = rubber()
    c = control_chart(x, chart="imr", drop=False)
    sigma = np.abs(np.diff(x)).mean() / D2_2
    assert c.limits.sigma == pytest.approx(sigma, rel=1e-9)
    assert c.primary.ucl[0] == pytest.approx(x.mean() + 3 * sigma, rel=1e-9)
    assert c.primary.lcl[0] == pytest.approx(x.mean() - 3 * sigma, rel=1e-9)
    # MR chart: UCL = D4 MR-bar with D4(2) = 3.267 (Montgomery Appendix VI)
    assert c.secondary.ucl[0] == pytest.approx(3.267 * np.abs(np.diff(x)).mean(), rel=2e-4)
    beyond = np.flatnonzero(np.abs(x - x.mean()) > 3 * sigma)
    assert sorted(s.index for s in c.signals if s.rule == "WE1") == beyond.tolist()


def test_real_data_xbar_r_limits_equal_the_hand_formula():
    x = rubber()
    g = x.reshape(-1, 5)
    c = control_chart(x, chart="xbar-r", subgroups=5, drop=False)
    rbar = np.ptp(g, axis=1).mean()
    # A2(5) = 0.577, D4(5) = 2.114 (Montgomery Appendix VI, 3 decimals)
    assert c.primary.ucl[0] == pytest.approx(g.mean() + 0.577 * rbar, abs=2e-3 * rbar)
    assert c.secondary.ucl[0] == pytest.approx(2.114 * rbar, rel=5e-4)
    assert c.secondary.lcl[0] == 0
    s = control_chart(x, chart="xbar-s", subgroups=5, drop=False)
    sbar = g.std(axis=1, ddof=1).mean()
    assert s.secondary.ucl[0] == pytest.approx(2.089 * sbar, rel=5e-4)  # B4(5)
    assert s.primary.ucl[0] == pytest.approx(g.mean() + 1.427 * sbar, rel=5e-4)  # A3(5)


def test_subgroup_column_with_varying_sizes():
    rng = np.random.default_rng(5)
    sizes = rng.integers(3, 7, 30)
    labels = np.repeat([f"g{i}" for i in range(30)], sizes)
    x = rng.normal(10, 2, labels.size)
    c = control_chart(x, chart="xbar-s", subgroups=list(labels), drop=False)
    assert c.labels[:2] == ["g0", "g1"] and c.sizes.tolist() == sizes.tolist()
    from scipy.special import gammaln

    def c4(n):
        return math.sqrt(2 / (n - 1)) * math.exp(gammaln(n / 2) - gammaln((n - 1) / 2))

    groups = [x[labels == f"g{i}"] for i in range(30)]
    sigma = np.mean([g.std(ddof=1) / c4(g.size) for g in groups])
    assert c.limits.sigma == pytest.approx(sigma)
    assert c.primary.ucl == pytest.approx(x.mean() + 3 * sigma / np.sqrt(sizes))


def test_phase1_drops_assignable_causes_then_phase2_monitors(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.normal(50, 2, 60)
    x[[10, 30]] = [70, 25]
    c = control_chart(x, chart="imr")
    assert [d["index"] for d in c.dropped if d["iteration"] == 1] == [10, 30]
    keep = np.ones(60, bool)
    keep[[d["index"] for d in c.dropped]] = False
    mr = np.abs(np.diff(x))[keep[1:] & keep[:-1]]
    assert c.limits.center == pytest.approx(x[keep].mean())
    assert c.limits.sigma == pytest.approx(mr.mean() / D2_2)
    for suffix in (".json", ".yaml"):
        path = c.limits.save(tmp_path / f"lim{suffix}")
        back = load_limits(path)
        assert back.center == c.limits.center and back.sigma == c.limits.sigma and back.chart == "imr"
    new = rng.normal(50, 2, 40)
    new[20:] += 4  # a 2-sigma shift half-way
    mon = control_chart(new, chart="imr", limits=load_limits(tmp_path / "lim.json"))
    assert mon.phase == 2 and mon.dropped == []
    assert mon.signals and min(s.index for s in mon.signals if s.chart == "X") >= 20
    assert mon.primary.ucl[0] == pytest.approx(c.limits.center + 3 * c.limits.sigma)


def test_ewma_and_cusum_against_hand_recursions():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 80)
    x[50:] += 1.5
    lim = ChartLimits(chart="ewma", center=0.0, sigma=1.0, lam=0.2, L=2.962)
    e = control_chart(x, chart="ewma", limits=lim)
    z, zs = 0.0, []
    for v in x:
        z = 0.2 * v + 0.8 * z
        zs.append(z)
    t = np.arange(1, 81)
    width = 2.962 * np.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * t)))  # Montgomery eq. 9.25
    assert e.primary.values == pytest.approx(zs)
    assert e.primary.ucl == pytest.approx(width)
    assert [s.index for s in e.signals] == np.flatnonzero(np.abs(zs) > width).tolist()
    c = control_chart(x, chart="cusum", limits=ChartLimits(chart="cusum", center=0.0, sigma=1.0, k=0.5, h=5.0))
    cp = [0.0]
    for v in x:
        cp.append(max(0.0, v - 0.5 + cp[-1]))
    assert c.primary.values == pytest.approx(cp[1:])
    assert min(s.index for s in c.signals) > 50 and {s.rule for s in c.signals} == {"cusum+"}


def ar1(phi, n, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x + 100


def test_autocorrelation_warning_and_remedies():
    x = ar1(0.8, 400, 4)
    plain = control_chart(x, chart="imr")
    assert plain.autocorrelation.significant and any(n.startswith("WARNING") for n in plain.notes)
    assert plain.autocorrelation.r1 == pytest.approx(0.8, abs=0.08)
    res = control_chart(x, chart="imr", remedy="residuals")
    phi = res.limits.ar[1]
    assert phi == pytest.approx(0.8, abs=0.06)
    # independent check of the fit: OLS of x_t on x_{t-1} with numpy.polyfit
    slope, icpt = np.polyfit(x[:-1], x[1:], 1)
    assert res.limits.ar == pytest.approx([icpt, slope])
    assert len(res.labels) == 399 and not any(n.startswith("WARNING") for n in res.notes)
    assert len(res.signals) < len(plain.signals)
    bm = control_chart(x, chart="imr", remedy="batch-means")
    b = bm.limits.batch_size
    means = x[: x.size // b * b].reshape(-1, b).mean(axis=1)
    assert bm.primary.values == pytest.approx(means)
    # Phase II reuses the AR model from the limits
    mon = control_chart(ar1(0.8, 100, 9), chart="imr", limits=res.limits)
    assert mon.remedy == "residuals" and len(mon.labels) == 99


def test_independent_data_raise_no_warning():
    rng = np.random.default_rng(8)
    c = control_chart(rng.normal(size=200), chart="imr")
    assert not c.autocorrelation.significant and not any(n.startswith("WARNING") for n in c.notes)


@pytest.mark.parametrize("kwargs,match", [
    ({"values": [1.0] * 3}, "at least 8 points"),
    ({"values": np.arange(20.0), "chart": "xbar-r", "subgroups": 1}, "at least 2"),
    ({"values": np.arange(20.0), "chart": "xbar-r"}, "needs subgroups"),
    ({"values": [3, -1, 2, 4, 5], "chart": "c"}, "negative"),
    ({"values": [3, 1, 2, 4, 5], "chart": "p"}, "number inspected"),
    ({"values": [3, 60, 2, 4, 5], "chart": "p", "sizes": 50}, "exceeds"),
    ({"values": [5.0] * 20}, "no variation"),
    ({"values": np.arange(20.0), "chart": "bogus"}, "unknown chart"),
    ({"values": [1.0, np.nan] * 10}, "not a finite"),
])
def test_bad_input_is_a_clear_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        control_chart(**kwargs)


def test_limits_file_errors(tmp_path):
    p = tmp_path / "l.json"
    p.write_text(json.dumps({"chart": "imr", "center": 1.0}))
    with pytest.raises(ConfigError, match="sigma"):
        load_limits(p)
    p.write_text(json.dumps({"chart": "imr", "center": 1.0, "sigma": -2}))
    with pytest.raises(ConfigError, match="> 0"):
        load_limits(p)
    p.write_text(json.dumps({"chart": "imr", "center": 1.0, "sigma": 1, "sigmaa": 2}))
    with pytest.raises(ConfigError, match="unknown field"):
        load_limits(p)
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid"):
        load_limits(p)
    with pytest.raises(ConfigError, match="no such"):
        load_limits(tmp_path / "missing.yaml")
