"""Control-chart constants against the printed table and the exact small-n formulas."""

from __future__ import annotations

import math

import pytest

from spc import A2, B3, B4, D3, D4, c4, d2, d3

# Montgomery, Introduction to Statistical Quality Control, 7th ed. (2013), Appendix VI, as printed:
# n: (d2, d3, c4, A2, D3, D4, B3, B4)
TABLE = {
    2: (1.128, 0.853, 0.7979, 1.880, 0.0, 3.267, 0.0, 3.267),
    3: (1.693, 0.888, 0.8862, 1.023, 0.0, 2.574, 0.0, 2.568),
    4: (2.059, 0.880, 0.9213, 0.729, 0.0, 2.282, 0.0, 2.266),
    5: (2.326, 0.864, 0.9400, 0.577, 0.0, 2.114, 0.0, 2.089),
    6: (2.534, 0.848, 0.9515, 0.483, 0.0, 2.004, 0.030, 1.970),
    7: (2.704, 0.833, 0.9594, 0.419, 0.076, 1.924, 0.118, 1.882),
    8: (2.847, 0.820, 0.9650, 0.373, 0.136, 1.864, 0.185, 1.815),
    10: (3.078, 0.797, 0.9727, 0.308, 0.223, 1.777, 0.284, 1.716),
    15: (3.472, 0.756, 0.9823, 0.223, 0.347, 1.653, 0.428, 1.572),
    20: (3.735, 0.729, 0.9869, 0.180, 0.415, 1.585, 0.510, 1.490),
    25: (3.931, 0.708, 0.9896, 0.153, 0.459, 1.541, 0.565, 1.435),
}


@pytest.mark.parametrize("n", sorted(TABLE))
def test_constants_match_the_printed_table(n):
    got = (d2(n), d3(n), c4(n), A2(n), D3(n), D4(n), B3(n), B4(n))
    for name, g, want in zip(("d2", "d3", "c4", "A2", "D3", "D4", "B3", "B4"), got, TABLE[n], strict=True):
        # the table rounds to its last printed digit (D4(3) = 2.5746 is printed 2.574)
        assert g == pytest.approx(want, abs=1.5e-3 if name != "c4" else 1e-4), (n, name, g, want)


def test_exact_values_for_pairs():
    # for n = 2 the range is |Z1 - Z2| ~ half-normal with scale sqrt(2): mean 2/sqrt(pi), var 2 - 4/pi
    assert d2(2) == pytest.approx(2 / math.sqrt(math.pi), abs=1e-9)
    assert d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), abs=1e-8)
    assert c4(2) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-12)


def test_range_moments_by_simulation():
    import numpy as np

    rng = np.random.default_rng(3)
    r = np.ptp(rng.standard_normal((200_000, 6)), axis=1)
    assert r.mean() == pytest.approx(d2(6), abs=4 * r.std() / math.sqrt(r.size))
    assert r.std() == pytest.approx(d3(6), rel=0.01)


def test_bad_subgroup_size():
    for n in (1, 0, 2.5):
        with pytest.raises(ValueError, match="subgroup size"):
            d2(n)
