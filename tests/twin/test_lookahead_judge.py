"""judge_projection: projected trajectories × golden envelope → probabilities and time to first violation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import judge_projection

GRID = np.array([0.0, 100.0, 200.0, 300.0])
LOWER = np.array([[0.0, -1.0]] * 4)
UPPER = np.array([[10.0, 1.0], [10.0, 1.0], [20.0, 1.0], [20.0, 1.0]])  # var a: upper 10 → 20 between 100 and 200


def test_hand_computed_case():
    times = np.array([50.0, 100.0, 150.0, 200.0, 250.0])
    x = np.zeros((4, 5, 2))
    x[0, :, 0] = 5.0                 # run 0: inside all the way
    x[1, 2, 0] = 16.0                # run 1: a = 16 at t=150, band there is 15 (interpolated): out at 150
    x[2, 2, 0] = 14.0                # run 2: a = 14 at 150: inside (band 15)
    x[2, 4, 1] = -2.0                # ... b = -2 at 250: out at 250
    x[3, 0, 1] = 5.0                 # run 3: out only at the start sample (not judged) ...
    x[3, 1, 1] = 5.0                 # ... and at 100: out at 100
    j = judge_projection(times, x, GRID, LOWER, UPPER, variables=["a", "b"])
    assert j.start == 50.0
    assert j.p_leave == 3 / 4
    assert j.p_variable == {"a": 1 / 4, "b": 2 / 4}
    np.testing.assert_array_equal(j.first_violation, [np.nan, 150.0, 250.0, 100.0])
    assert j.time_to_violation == pytest.approx(((150 - 50) + (250 - 50) + (100 - 50)) / 3)


def test_nothing_leaves_gives_nan_time_and_zero_probability():
    times = np.array([0.0, 100.0, 200.0])
    j = judge_projection(times, np.full((3, 3, 2), 0.5), GRID, LOWER, UPPER, variables=["a", "b"])
    assert j.p_leave == 0.0 and math.isnan(j.time_to_violation) and np.isnan(j.first_violation).all()


def test_offset_and_grid_range():
    times = np.array([0.0, 400.0])  # 400 s is past the grid: not judged ...
    x = np.full((1, 2, 2), 50.0)
    assert judge_projection(times, x, GRID, LOWER, UPPER, variables=["a", "b"]).p_leave == 0.0
    # ... unless the alignment says the batch is 150 s behind the reference (400 - 150 = 250)
    j = judge_projection(times, x, GRID, LOWER, UPPER, variables=["a", "b"], offset=-150.0)
    assert j.p_leave == 1.0 and j.first_violation[0] == 400.0


def test_quality_specs():
    finals = {"yield": np.array([0.95, 0.85, 0.91, np.nan]), "impurity": np.array([0.01, 0.03, 0.0, 0.02])}
    specs = {"yield": (0.9, math.inf), "impurity": (-math.inf, 0.02)}
    j = judge_projection(np.array([0.0, 100.0]), np.zeros((4, 2, 2)), GRID, LOWER, UPPER, variables=["a", "b"],
                         finals=finals, specs=specs)
    assert j.p_miss == {"yield": 2 / 4, "impurity": 1 / 4}  # a failed run (NaN) is a miss; 0.02 is in spec


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match=r"trajectories must be \(runs, 2 times, 2 variables\)"):
        judge_projection(np.array([0.0, 1.0]), np.zeros((3, 2)), GRID, LOWER, UPPER, variables=["a", "b"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_probability_is_the_share_of_runs_with_a_first_violation(runs, steps, seed):
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 300.0, steps)
    x = rng.normal(0.0, 1.2, (runs, steps, 2)) + np.array([5.0, 0.0])
    j = judge_projection(times, x, GRID, LOWER, UPPER, variables=["a", "b"])
    assert j.p_leave == np.mean(~np.isnan(j.first_violation))
    assert max(j.p_variable.values()) <= j.p_leave <= sum(j.p_variable.values())
    hit = ~np.isnan(j.first_violation)
    assert (j.first_violation[hit] > times[0]).all()
