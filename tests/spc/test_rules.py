"""Run rules: property tests against brute-force definitions, and the rule-set parser."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spc import RULE_SETS, RULES, apply_rules, first_signal, rule_set
from workbench.errors import ConfigError

zs = st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=60).map(np.array)


def fired(z, rule):
    return sorted(s.index for s in apply_rules(z, (rule,)))


def brute(z, rule):
    """Each rule written as the literal definition, point by point."""
    out = []
    for i in range(len(z)):
        w = lambda m, i=i: z[max(0, i - m + 1): i + 1]  # noqa: E731
        if rule == "WE1":
            hit = abs(z[i]) > 3
        elif rule == "WE2":
            hit = any(s * z[i] > 2 and sum(s * v > 2 for v in w(3)) >= 2 for s in (1, -1))
        elif rule == "WE3":
            hit = any(s * z[i] > 1 and sum(s * v > 1 for v in w(5)) >= 4 for s in (1, -1))
        elif rule in ("WE4", "N2"):
            m = 8 if rule == "WE4" else 9
            hit = i >= m - 1 and (all(v > 0 for v in w(m)) or all(v < 0 for v in w(m)))
        elif rule == "N3":
            d = np.diff(w(6))
            hit = i >= 5 and (all(d > 0) or all(d < 0))
        elif rule == "N4":
            d = np.diff(w(14))
            hit = i >= 13 and all(d[j] * d[j + 1] < 0 for j in range(12))
        elif rule == "N7":
            hit = i >= 14 and all(abs(v) < 1 for v in w(15))
        elif rule == "N8":
            hit = i >= 7 and all(abs(v) > 1 for v in w(8))
        if hit:
            out.append(i)
    return out


@settings(max_examples=150, deadline=None)
@given(zs, st.sampled_from(["WE1", "WE2", "WE3", "WE4", "N2", "N3", "N4", "N7", "N8"]))
def test_rules_match_their_definitions(z, rule):
    assert fired(z, rule) == brute(z, rule)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 80))
def test_constant_sequence_at_the_centre(n):
    z = np.zeros(n)
    assert apply_rules(z, RULE_SETS["western-electric"]) == []
    nelson = [s for s in apply_rules(z, RULE_SETS["nelson"])]
    # only N7 (15 points within 1 sigma: stratification) fires, from the 15th point on
    assert {s.rule for s in nelson} <= {"N7"}
    assert [s.index for s in nelson] == list(range(14, n))


@settings(max_examples=100, deadline=None)
@given(zs)
def test_we1_fires_exactly_beyond_three_sigma(z):
    assert fired(z, "WE1") == list(np.flatnonzero(np.abs(z) > 3))
    assert fired(z, "N1") == fired(z, "WE1")


@settings(max_examples=100, deadline=None)
@given(zs)
def test_first_signal_is_the_first_of_apply_rules(z):
    sig = apply_rules(z, RULE_SETS["western-electric"])
    assert first_signal(z, RULE_SETS["western-electric"]) == (sig[0].index if sig else -1)


def test_nan_points_never_fire_and_break_runs():
    z = np.array([1.0] * 7 + [np.nan] + [1.0] * 7)
    assert fired(z, "WE4") == []
    assert fired(np.array([np.nan, 4.0]), "WE1") == [1]


def test_signals_carry_value_label_and_chart():
    s = apply_rules(np.array([0, 4.0]), ("WE1",), values=np.array([10, 22.0]), labels=["a", "b"], chart="X")[0]
    assert (s.rule, s.index, s.value, s.label, s.chart) == ("WE1", 1, 22.0, "b", "X")
    assert s.as_dict()["description"] == RULES["WE1"]


@pytest.mark.parametrize("text,want", [
    ("western-electric", RULE_SETS["western-electric"]), ("Western_Electric", RULE_SETS["western-electric"]),
    ("nelson", RULE_SETS["nelson"]), ("none", ("limit",)), ("we1, we2", ("WE1", "WE2")), ("N1,N5", ("N1", "N5")),
    (None, RULE_SETS["western-electric"]),
])
def test_rule_set_parser(text, want):
    assert rule_set(text) == want


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_rule_set_parser_accepts_or_raises_config_error(text):
    try:
        rules = rule_set(text)
    except ConfigError as exc:
        assert "western-electric" in str(exc)
    else:
        assert rules and all(r in RULES for r in rules)
