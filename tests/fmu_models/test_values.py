"""Property tests of the start-value parser (``twin fmu run -p NAME=VALUE``): by declared type, with ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmu_models import FmuVariable
from fmu_models._values import INT_RANGES, coerce_value, parse_value
from workbench.errors import ConfigError


def var(
    type_: str, shape: tuple[int, ...] = (), items: tuple[tuple[str, int], ...] = ()
) -> FmuVariable:
    return FmuVariable(
        name="p",
        value_reference=1,
        type=type_,
        causality="parameter",
        variability="fixed",
        shape=shape,
        items=items,
    )


def parse(v: FmuVariable, text: str, version: int = 3):
    return parse_value(v, text, fmu="m.fmu", fmi_version=version)


INT_TYPES = sorted(INT_RANGES)
MODE = (("off", 1), ("slow", 2), ("fast", 3))


@st.composite
def in_range(draw):
    t = draw(st.sampled_from(INT_TYPES))
    lo, hi = INT_RANGES[t]
    return t, draw(st.integers(lo, hi) | st.sampled_from([lo, hi]))


@st.composite
def out_of_range(draw):
    t = draw(st.sampled_from(INT_TYPES))
    lo, hi = INT_RANGES[t]
    return t, draw(st.integers(hi + 1, hi + 2**70) | st.integers(lo - 2**70, lo - 1))


@given(in_range())
def test_integers_round_trip_exactly(case):
    t, value = case
    out = parse(var(t), str(value), 2 if t == "Integer" else 3)
    assert out == value and type(out) is int


@given(out_of_range())
def test_integers_out_of_range_are_always_rejected(case):
    t, value = case
    with pytest.raises(ConfigError) as err:
        parse(var(t), str(value), 2 if t == "Integer" else 3)
    lo, hi = INT_RANGES[t]
    assert (
        "'p'" in str(err.value)
        and str(value) in str(err.value)
        and f"{lo} … {hi}" in str(err.value)
    )


@given(
    st.sampled_from(INT_TYPES),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
    | st.sampled_from(["1e3", "2.5", "", "ten", "1_0x"]),
)
def test_integers_must_be_exact(t, value):
    with pytest.raises(ConfigError, match="'p'"):
        parse(var(t), str(value))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip(value):
    assert parse(var("Float64"), repr(value)) == value
    assert parse(var("Real"), repr(value), 2) == value


@given(
    st.floats(min_value=3.5e38, max_value=1e300) | st.floats(min_value=-1e300, max_value=-3.5e38)
)
def test_float32_out_of_range_is_rejected(value):
    with pytest.raises(ConfigError, match="Float32 must lie within"):
        parse(var("Float32"), repr(value))


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "abc", ""])
def test_floats_must_be_finite_numbers(text):
    with pytest.raises(ConfigError, match="'p'"):
        parse(var("Float64"), text)


@given(
    st.sampled_from(["true", "false", "1", "0"]), st.lists(st.booleans(), min_size=5, max_size=5)
)
def test_booleans_in_any_case(word, upper):
    text = "".join(c.upper() if u else c for c, u in zip(word, upper * 2, strict=False))
    assert parse(var("Boolean"), text) is (word in ("true", "1"))


@given(st.text(min_size=1).filter(lambda s: s.strip().lower() not in ("true", "false", "1", "0")))
def test_other_booleans_are_rejected(text):
    with pytest.raises(ConfigError, match="give true, false, 1 or 0"):
        parse(var("Boolean"), text)


@given(st.sampled_from(MODE))
def test_enumerations_by_name_or_value(item):
    name, value = item
    assert parse(var("Enumeration", items=MODE), name) == value
    assert parse(var("Enumeration", items=MODE), str(value)) == value


@given(st.integers().filter(lambda v: v not in (1, 2, 3)))
def test_enumeration_values_outside_the_items_are_rejected(value):
    with pytest.raises(ConfigError, match="off \\(1\\), slow \\(2\\), fast \\(3\\)"):
        parse(var("Enumeration", items=MODE), str(value))


@given(st.text())
def test_strings_are_kept_verbatim(text):
    assert parse(var("String"), text) == text


@given(st.lists(st.integers(-128, 127), min_size=3, max_size=3), st.sampled_from([",", " ", ", "]))
def test_arrays_from_text(values, sep):
    assert parse(var("Int8", shape=(3,)), sep.join(map(str, values))) == values


def test_arrays_need_one_value_per_element():
    with pytest.raises(ConfigError, match=r"shape \(2, 2\) needs 4 values, got 3"):
        coerce_value(var("Float64", shape=(2, 2)), [1, 2, 3], fmu="m.fmu", fmi_version=3)
    assert coerce_value(var("Float64", shape=(2, 2)), np.eye(2), fmu="m.fmu", fmi_version=3) == [
        1,
        0,
        0,
        1,
    ]


def test_python_values_are_checked_too():
    assert coerce_value(var("UInt64"), 2**64 - 1, fmu="m.fmu", fmi_version=3) == 2**64 - 1
    assert coerce_value(var("Int32"), 3.0, fmu="m.fmu", fmi_version=3) == 3
    assert coerce_value(var("Boolean"), np.bool_(True), fmu="m.fmu", fmi_version=3) is True
    # a Python bool is 0 or 1 for numbers (YAML `true` for a numeric flag keeps working)
    assert coerce_value(var("Int8"), True, fmu="m.fmu", fmi_version=3) == 1
    assert coerce_value(var("Float64"), False, fmu="m.fmu", fmi_version=3) == 0.0
    for bad, t in ((2.5, "Int8"), (math.nan, "Float64"), (2, "Boolean"), ("2", "Boolean")):
        with pytest.raises(ConfigError, match="'p'"):
            coerce_value(var(t), bad, fmu="m.fmu", fmi_version=3)
