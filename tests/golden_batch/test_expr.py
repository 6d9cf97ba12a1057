"""KPI expression parser: grammar, safety, NaN handling, error messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_batch import evaluate, parse_expression
from workbench.errors import ConfigError

OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}


def test_spec_on_arrays():
    env = {"yield": np.array([0.95, 0.88, 0.91]), "impurity": np.array([0.01, 0.01, 0.03])}
    got = evaluate("yield >= 0.9 and impurity < 0.02", env)
    np.testing.assert_array_equal(got, [True, False, False])
    np.testing.assert_array_equal(evaluate("not (yield < 0.9) or impurity > 0.025", env), [True, False, True])
    np.testing.assert_array_equal(evaluate("0.9 <= yield < 0.94", env), [False, False, True])
    np.testing.assert_array_equal(evaluate("abs(yield - 0.9) * 100 < 2.5", env), [False, True, True])
    assert evaluate("`odd name` > 1", {"odd name": np.array(2.0)})


def test_nan_fails_comparisons():
    env = {"y": np.array([np.nan, 1.0])}
    np.testing.assert_array_equal(evaluate("y >= 0", env), [False, True])


@pytest.mark.parametrize("text", ["__import__('os')", "yield >= ", "a >= 1 and", "(a > 1", "a >> 1", "a = 1", ""])
def test_rejects_bad_text(text):
    with pytest.raises(ConfigError) as err:
        parse_expression(text)
    assert "expression" in str(err.value)


def test_error_names_column():
    with pytest.raises(ConfigError, match="column 10"):
        parse_expression("yield >= ) 1")


@settings(max_examples=200, deadline=None)
@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6), op=st.sampled_from(sorted(OPS)),
       c=st.floats(-1e3, 1e3), conj=st.sampled_from(["and", "or"]))
def test_matches_python_semantics(a, b, op, c, conj):
    text = f"x {op} {b!r} {conj} -x + {c!r} * 2 > y / 4"
    env = {"x": np.array(a), "y": np.array(3.0)}
    left = OPS[op](a, b)
    right = -a + c * 2 > 3.0 / 4
    expected = (left and right) if conj == "and" else (left or right)
    assert bool(evaluate(text, env)) == bool(expected)
