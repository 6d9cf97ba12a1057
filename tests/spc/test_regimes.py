"""spc.find_regimes: change points, modes by BIC, labels written back, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spc import find_regimes, make_regime_data, noise_scale
from workbench.errors import ConfigError, DataError


def _steps(seed=0):
    rng = np.random.default_rng(seed)
    levels = np.array([[0, 0], [4, -3], [-3, 3], [4, -3], [0, 0]])
    mode = np.repeat(np.arange(5), [200, 150, 250, 150, 250])
    return pd.DataFrame(levels[mode] + rng.normal(size=(1000, 2)), columns=["a", "b"]), [200, 350, 600, 750]


@pytest.mark.parametrize("method", ["pelt", "binseg"])
def test_steps_are_found_and_repeated_modes_share_a_label(method):
    frame, truth = _steps()
    r = find_regimes(frame, method=method)
    assert len(r.breakpoints) == 4
    assert all(abs(b - t) <= 3 for b, t in zip(r.breakpoints, truth, strict=True))
    assert r.n_modes == 3 and min(r.bic, key=r.bic.get) == 3
    seg = r.segments()
    assert [s["regime"] for s in seg] == [0, 1, 2, 1, 0]  # numbered by first appearance
    assert seg[0]["first_row"] == 0 and seg[-1]["last_row"] == 999
    np.testing.assert_allclose(r.mode_means[1], [4, -3], atol=0.2)


def test_labels_are_written_back_as_columns_and_as_a_dataset():
    frame, _ = _steps()
    frame.index = pd.date_range("2026-01-01", periods=len(frame), freq="1min", name="time")
    r = find_regimes(frame, ["a"])
    out = r.label(frame)
    assert list(out.columns) == ["a", "b", "segment", "regime"]
    assert out["segment"].is_monotonic_increasing
    ds = r.to_dataset(frame)
    assert ds.attrs["kind"] == "regimes" and "time" in ds.dims
    assert ds["regime"].attrs["units"] == "1" and ds["regime"].attrs["long_name"]
    np.testing.assert_array_equal(ds["regime"].values, r.regime)


def test_given_number_of_modes_and_penalty():
    frame, _ = _steps()
    assert find_regimes(frame, modes=2).n_modes <= 2
    few = find_regimes(frame, penalty=1e6)
    assert few.breakpoints == [] and few.n_modes == 1


def test_noise_scale_ignores_steps():
    rng = np.random.default_rng(4)
    x = rng.normal(scale=2.0, size=(4000, 1)) + np.repeat([0.0, 50.0], 2000)[:, None]
    assert noise_scale(x)[0] == pytest.approx(2.0, rel=0.05)


def test_synthetic_generator_knows_its_change_points():
    frame, cps, mode = make_regime_data(900, n_changes=4, seed=3)
    assert len(cps) == 4 and all(mode[c] != mode[c - 1] for c in cps)
    assert list(frame.columns) == ["y0", "y1", "y2"]


def test_bad_input_names_the_column():
    frame, _ = _steps()
    gap = frame.copy()
    gap.iloc[17, 1] = np.nan
    with pytest.raises(DataError, match=r"column 'b' has 1 missing value\(s\), the first on data row 18"):
        find_regimes(gap)
    with pytest.raises(DataError, match=r"column\(s\) still are constant"):
        find_regimes(frame.assign(still=1.0))
    with pytest.raises(DataError, match=r"column\(s\) c are not in the data"):
        find_regimes(frame, ["c"])
    with pytest.raises(ConfigError, match="method must be one of pelt, binseg"):
        find_regimes(frame, method="window")
    with pytest.raises(ConfigError, match="modes must be 'auto'"):
        find_regimes(frame, modes=0)
    with pytest.raises(DataError, match="--modes 9: only 5 segment"):
        find_regimes(frame, modes=9)
    with pytest.raises(DataError, match="too few to segment"):
        find_regimes(frame.iloc[:8])
