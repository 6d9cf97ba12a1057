"""Reading real-world batch records (issue 19 §1-3): gaps, phases, names with spaces, Excel."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import golden_batch as gb
from tests.golden_batch._phased import write_phased_history
from twin_app.cli.main import main
from workbench.errors import DataError

dtw_path = gb.dtw_path


def excel_engine() -> str | None:
    return next((m for m in ("python_calamine", "openpyxl") if importlib.util.find_spec(m) is not None), None)


def test_missing_value_in_first_tag_keeps_the_sample(tmp_path):
    (tmp_path / "h.csv").write_text("batch_id,elapsed,T,P\nB1,0,1,5\nB1,10,,6\nB1,20,3,7\n")
    ds = gb.read_history(tmp_path / "h.csv")
    np.testing.assert_array_equal(ds["elapsed"].values, [[0, 10, 20]])
    assert np.isnan(ds["T"].values[0, 1]) and ds["P"].values[0, 1] == 6
    assert gb.batch_lengths(ds).tolist() == [3]


def test_make_batch_set_pads_only_where_every_tag_is_missing():
    t = np.array([[1.0, np.nan, 3.0, np.nan]])
    p = np.array([[1.0, 2.0, 3.0, np.nan]])
    ds = gb.make_batch_set({"T": t, "P": p}, np.arange(4.0))
    assert gb.batch_lengths(ds).tolist() == [3]


@given(st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_row_of_a_wide_table_is_a_sample(tmp_path, data):
    """Property: whatever cells are empty, each row stays a sample with its elapsed time and its values."""
    n_b = data.draw(st.integers(1, 3))
    lengths = [data.draw(st.integers(1, 6)) for _ in range(n_b)]
    rows = []
    for b, n in enumerate(lengths):
        for k in range(n):
            vals = [data.draw(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3))))
                    for _ in range(2)]
            if all(v is None for v in vals):
                vals[1] = 0.5  # a row with no value at all is no sample
            rows.append((f"B{b}", 10.0 * k, *vals))
    text = "batch_id, elapsed ,T , P\n" + "".join(
        ",".join("" if v is None else str(v) for v in r) + "\n" for r in rows)
    path = tmp_path / "prop.csv"
    path.write_text(text)
    ds = gb.read_history(path)
    assert gb.trajectory_variables(ds) == ["T", "P"]  # names stripped
    assert gb.batch_lengths(ds).tolist() == lengths
    for b, n in enumerate(lengths):
        got = ds.sel(batch=f"B{b}")
        want = [r for r in rows if r[0] == f"B{b}"]
        np.testing.assert_array_equal(got["elapsed"].values[:n], [r[1] for r in want])
        np.testing.assert_array_equal(got["T"].values[:n], [np.nan if r[2] is None else r[2] for r in want])


def test_dtw_with_gaps_in_the_reference_aligns():
    rng = np.random.default_rng(0)
    n = 40
    traj = {"T": np.sin(np.linspace(0, 3, n))[None] + 0.01 * rng.standard_normal((5, n)),
            "P": np.cos(np.linspace(0, 3, n))[None] + 0.01 * rng.standard_normal((5, n))}
    traj["T"][:, 7] = np.nan  # every batch, the reference included, misses one T value
    ds = gb.make_batch_set(traj, np.arange(n) * 60.0)
    aligned = gb.Aligner("dtw", window=0.1).fit_transform(ds)
    assert np.isfinite(aligned["T"].values).all() and np.isfinite(aligned["dtw_distance"].values).all()
    # the NaN-aware local cost: a reference with gaps aligns a series to itself along the diagonal
    ref = np.stack([traj["T"][0], traj["P"][0]], axis=-1)
    path, d = dtw_path(ref, ref, window=0.1)
    assert d == 0.0 and (path[:, 0] == path[:, 1]).all()


def test_dtw_error_does_not_advise_widening_for_bad_values():
    q = np.full((10, 2), np.inf)
    with pytest.raises(ValueError, match="widening the window will not help"):
        dtw_path(q, np.zeros((10, 2)), window=0.5)
    q[3, 0] = np.nan
    with pytest.raises(ValueError, match="widening the window will not help"):
        dtw_path(np.zeros((10, 2)), q, window=0.5)


WIDE_PHASES = ("batch_id,elapsed,phase,T\n"
               "B1,0,heat-up,1\nB1,10,heat-up,2\nB1,20,,3\nB1,30,feed,4\n"
               "B2,0,heat-up,1\nB2,10,feed,3\nB2,20,feed,4\n")


def test_phase_column_is_the_phase_not_a_variable(tmp_path):
    (tmp_path / "h.csv").write_text(WIDE_PHASES)
    ds = gb.read_history(tmp_path / "h.csv")
    assert gb.trajectory_variables(ds) == ["T"]
    assert ds["phase"].attrs["phase_names"] == "heat-up,feed"
    np.testing.assert_array_equal(ds["phase"].values, [[0, 0, 0, 1], [0, 1, 1, 1]])  # empty cell: phase before


def test_phase_option_names_another_column(tmp_path):
    (tmp_path / "h.csv").write_text(WIDE_PHASES.replace("phase", "step"))
    ds = gb.read_history(tmp_path / "h.csv", phase="step")
    assert gb.trajectory_variables(ds) == ["T"] and "phase" in ds
    with pytest.raises(DataError, match=r"h\.csv: no 'stage' column; the phase column"):
        gb.read_history(tmp_path / "h.csv", phase="stage")
    long = "batch_id,timestamp,tag,value\nB1,0,T,1\nB1,0,step,1\nB1,10,T,2\nB1,10,step,2\n"
    (tmp_path / "l.csv").write_text(long)
    ds = gb.read_history(tmp_path / "l.csv", phase="step")
    assert gb.trajectory_variables(ds) == ["T"] and ds["phase"].values.tolist() == [[0, 1]]


def test_cli_build_with_phase_option(tmp_path, capsys):
    write_phased_history(tmp_path / "h.csv", temperature="T ")  # a name with a trailing space
    code = main(["golden", "build", str(tmp_path / "h.csv"), "--phase", "stage", "-o", str(tmp_path / "m.nc"),
                 "--json"])
    assert code == 0
    model = gb.GoldenBatchModel.load(tmp_path / "m.nc")
    assert model.aligner_.variables_ == ["T", "P"] and model.aligner_.reference_phase_ is not None
    capsys.readouterr()


@pytest.mark.skipif(excel_engine() is not None, reason="an Excel reader is installed")
def test_excel_without_a_reader_says_what_to_install(tmp_path):
    (tmp_path / "h.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match=r"h\.xlsx: reading Excel workbooks needs python-calamine or openpyxl"):
        gb.read_history(tmp_path / "h.xlsx")


@pytest.mark.skipif(excel_engine() is None, reason="neither python-calamine nor openpyxl is installed")
def test_excel_sheet_is_read_with_located_errors(tmp_path):
    pytest.importorskip("openpyxl")  # to write the workbook
    path = tmp_path / "h.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="notes", index=False)
        pd.DataFrame({"batch_id": ["B1", "B1"], "elapsed": [0, 10], " T": [1.0, "high"]}).to_excel(
            xw, sheet_name="data", index=False)
    with pytest.raises(DataError, match=r"h\.xlsx\[data\]:3:3 column 'T': 'high' is not a number"):
        gb.read_history(path, sheet="data")
    with pytest.raises(DataError, match="has no sheet 'dta'"):
        gb.read_history(path, sheet="dta")


def test_long_table_tag_names_with_spaces_keep_their_units_and_quality(tmp_path):
    rows = [("B1", t, "T ", 300.0 + t, "K") for t in (0.0, 60.0, 120.0)]
    rows += [("B1", "", "yield ", 0.9, "1")]
    p = tmp_path / "long.csv"
    pd.DataFrame(rows, columns=["batch_id", "timestamp", "tag", "value", "units"]).to_csv(p, index=False)
    ds = gb.read_history(p)
    assert ds["T"].attrs.get("units") == "K"
    assert float(ds["yield"].sel(batch="B1")) == 0.9
