"""DetectorBank.update_block gives the same alarm bits, statistics, latches and events as update() per row."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import DetectorBank


def _bank(clear: float) -> DetectorBank:
    return DetectorBank(["a", "b", "c"], sigma=np.array([1.0, 0.5, 2.0]), limit=np.array([4.0, np.nan, 9.0]),
                        method=["cusum", "ewma", "cusum"], k=0.5, h=3.0, clear=clear)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    shift=st.floats(0.0, 3.0),
    nan_frac=st.sampled_from([0.0, 0.1, 0.5]),
    clear=st.sampled_from([0.3, 0.5, 1.0]),
    blocks=st.integers(1, 4),
)
def test_block_update_equals_row_updates(seed, n, shift, nan_frac, clear, blocks):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 1.0, (n, 3)) * np.array([1.0, 0.5, 2.0])
    r[n // 3: 2 * n // 3] += shift  # a shift that starts and ends: alarms raise, hold and clear
    r[rng.random((n, 3)) < nan_frac] = np.nan
    t = np.arange(n, dtype=float)
    rows, block = _bank(clear), _bank(clear)
    bits_rows = np.array([rows.update(t[i], r[i]) for i in range(n)])
    cuts = np.unique(np.r_[0, np.sort(rng.integers(0, n, blocks - 1)), n])
    bits_block, stat_block = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        bb, sb = block.update_block(t[a:b], r[a:b])
        bits_block.append(bb)
        stat_block.append(sb)
    np.testing.assert_array_equal(np.concatenate(bits_block), bits_rows)
    stat_rows = rows.statistic()
    np.testing.assert_array_equal(stat_block[-1][-1], stat_rows)
    np.testing.assert_array_equal(block.latched, rows.latched)
    assert [e.as_dict() for e in block.events] == [e.as_dict() for e in rows.events]


def test_deadband_holds_an_alarm_until_the_statistic_falls_to_clear():
    bank = DetectorBank(["x"], sigma=np.ones(1), limit=np.full(1, np.nan), method=["cusum"], k=0.5, h=3.0,
                        clear=0.5)
    r = np.r_[np.full(5, 2.0), np.zeros(20)]  # C+ = 1.5, 3, 4.5, 6, 7.5, then falls by 0.5 per sample
    bits = np.array([bank.update(float(i), r[i : i + 1])[0] for i in range(r.size)])
    on = np.flatnonzero(bits & 4)
    # raised when C+ > 3 (4.5 at i = 2); held while C+ > 1.5 = clear·h: at i = 4 + j, C+ = 7.5 − 0.5 j,
    # so through i = 15, cleared at i = 16
    assert on[0] == 2 and on[-1] == 15 and len(bank.events) == 1 and bank.events[0].end == 16.0
    chatter = DetectorBank(["x"], sigma=np.ones(1), limit=np.full(1, np.nan), method=["cusum"], k=0.5, h=3.0,
                           clear=1.0)
    for i, v in enumerate([4.0, 0.0, 1.0, 0.0, 1.0]):  # C+ = 3.5, 3.0, 3.5, 3.0, 3.5
        chatter.update(float(i), np.array([v]))
    assert len(chatter.events) == 3  # without a deadband the same stream alarms three times
