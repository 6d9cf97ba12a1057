"""Batch history files for `twin golden build/check` that are not what the reader expects (issue 22)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import golden_batch as gb
from twin_app.cli.main import main
from workbench.errors import DataError, WorkbenchError

MODEL = Path(__file__).parent / "data" / "model_v1.nc"

LONG = "batch_id,timestamp,tag,value\nB1,0,T,1.0\nB1,10,T,2.0\nB1,,yield,0.9\nB2,0,T,1.5\nB2,10,T,2.5\n"
WIDE = "batch_id,elapsed,T,P\nB1,0,1,5\nB1,10,2,6\nB2,0,1.5,5.5\nB2,10,2.5,6.5\n"


def test_valid_long_and_wide_tables_still_read(tmp_path):
    (tmp_path / "l.csv").write_text(LONG)
    ds = gb.read_history(tmp_path / "l.csv")
    assert list(ds["batch"].values) == ["B1", "B2"] and float(ds["yield"].sel(batch="B1")) == 0.9
    (tmp_path / "w.csv").write_text(WIDE)
    ds = gb.read_history(tmp_path / "w.csv")
    np.testing.assert_array_equal(ds["P"].values, [[5, 6], [5.5, 6.5]])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"h\.csv: is empty; give a batch history"),
        ("batch_id,elapsed,T\n", r"h\.csv: has a header \(batch_id, elapsed, T\) but no data rows"),
        (
            "batchid,elapsed,T\nB1,0,1\n",
            r"h\.csv: no 'batch_id' column; .*Is 'batchid' meant to be 'batch_id'\?",
        ),
        ("batch_id,T\nB1,1\n", r"h\.csv: not a long table .* and not a wide table"),
        (
            "batch_id,elapsed,T\nB1,0,1\nB1,10,2,3\n",
            r"h\.csv:3: expected 3 fields \(as in the header\), saw 4",
        ),
        (
            "batch_id,elapsed,T\nB1,0,1\nB1,ten,2\n",
            r"h\.csv:3:2 column 'elapsed': 'ten' is not a number of seconds",
        ),
        ("batch_id,elapsed,T\nB1,0,1\nB1,,2\n", r"h\.csv:3:2 column 'elapsed': empty or NaN cell"),
        (
            'batch_id,elapsed,T\nB1,0,1\nB1,10,"2,5"\n',
            r"h\.csv:3:3 column 'T': '2,5' is not a number \(decimal comma\?",
        ),
        (
            "batch_id,timestamp,T\nB1,2026-01-05 08:00,1\nB1,08:10 yesterday,2\n",
            r"h\.csv:3:2 column 'timestamp': '08:10 yesterday' is not a date-time",
        ),
        (
            "batch_id,timestamp,tag,value\nB1,0,T,1\nB1,10,T,high\n",
            r"h\.csv:3:4 column 'value': 'high' is not a number",
        ),
        (
            "batch_id,timestamp,tag,value\nB1,0,T,1\nB1,x,T,2\n",
            r"h\.csv:3:2 column 'timestamp': 'x' is not a number",
        ),
    ],
)
def test_malformed_history_names_file_row_and_column(tmp_path, text, match):
    (tmp_path / "h.csv").write_text(text)
    with pytest.raises(DataError, match=match):
        gb.read_history(tmp_path / "h.csv")


def test_binary_and_other_unreadable_files(tmp_path):
    (tmp_path / "b.csv").write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(DataError, match=r"b\.csv: is not a CSV text file \(binary content"):
        gb.read_history(tmp_path / "b.csv")
    (tmp_path / "n.nc").write_text("batch_id,elapsed\n")
    with pytest.raises(DataError, match=r"n\.nc: not a readable NetCDF file"):
        gb.read_history(tmp_path / "n.nc")
    (tmp_path / "p.parquet").write_text("batch_id,elapsed\n")
    with pytest.raises(DataError, match=r"p\.parquet: is not a readable Parquet file"):
        gb.read_history(tmp_path / "p.parquet")
    (tmp_path / "z.zarr").mkdir()
    with pytest.raises(DataError, match=r"z\.zarr: is not a readable Zarr store"):
        gb.read_history(tmp_path / "z.zarr")


def test_quality_table_errors_are_located(tmp_path):
    (tmp_path / "w.csv").write_text(WIDE)
    (tmp_path / "q.csv").write_text("batch,yield\nB1,0.9\n")
    with pytest.raises(DataError, match=r"q\.csv: no 'batch_id' column"):
        gb.read_history(tmp_path / "w.csv", quality=tmp_path / "q.csv")
    (tmp_path / "q.csv").write_text("batch_id,yield\nB1,0.9\nB2,n/a?\n")
    with pytest.raises(DataError, match=r"q\.csv:3:2 column 'yield': 'n/a\?' is not a number"):
        gb.read_history(tmp_path / "w.csv", quality=tmp_path / "q.csv")
    (tmp_path / "q.csv").write_text("batch_id,yield\nB1,0.9\nB2,\n")
    ds = gb.read_history(tmp_path / "w.csv", quality=tmp_path / "q.csv")
    assert float(ds["yield"].sel(batch="B1")) == 0.9 and np.isnan(
        float(ds["yield"].sel(batch="B2"))
    )


@pytest.mark.parametrize("command", ["build", "check"])
def test_cli_exits_2_with_one_located_line(tmp_path, capsys, command):
    (tmp_path / "h.csv").write_text("batch_id,elapsed,T\nB1,0,1\nB1,ten,2\n")
    args = (
        ["golden", "build", str(tmp_path / "h.csv"), "-o", str(tmp_path / "env.nc")]
        if command == "build"
        else ["golden", "check", str(MODEL), str(tmp_path / "h.csv")]
    )
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "h.csv:3:2 column 'elapsed': 'ten'" in err and "Traceback" not in err
    assert not (tmp_path / "env.nc").exists()


# --------------------------------------------------------------------------- properties
@st.composite
def _wide(draw):
    n_b = draw(st.integers(1, 3))
    n_s = draw(st.integers(1, 4))
    rows = []
    for b in range(n_b):
        for k in range(n_s):
            rows.append(
                [f"B{b}", repr(10.0 * k), *(repr(draw(st.floats(-1e6, 1e6))) for _ in range(2))]
            )
    return rows


def _write(path, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["batch_id", "elapsed", "T", "P"])
        w.writerows(rows)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_wide())
def test_valid_wide_histories_round_trip(tmp_path, rows):
    _write(tmp_path / "w.csv", rows)
    ds = gb.read_history(tmp_path / "w.csv")
    got = {
        (b, float(e)): float(ds["T"].sel(batch=b).values[k])
        for b in ds["batch"].values
        for k, e in enumerate(ds["elapsed"].sel(batch=b).values)
    }
    assert got == {(r[0], float(r[1])): float(r[2]) for r in rows}


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_wide(), st.data())
def test_garbage_cells_give_a_located_error(tmp_path, rows, data):
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    col = data.draw(st.integers(1, 3), label="column")
    junk = data.draw(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12), label="cell"
    )
    text = junk.strip()
    if col == 1:  # elapsed: any number is valid, an empty cell is not
        assume(not _is_number(text))
    else:  # tag values: empty / NaN cells are missing samples, anything else must be a number
        assume(
            not _is_number(text)
            and text.lower() not in ("", "nan", "na", "n/a", "null", "none", "#n/a")
        )
    rows[i][col] = junk
    _write(tmp_path / "g.csv", rows)
    try:
        gb.read_history(tmp_path / "g.csv")
    except WorkbenchError as exc:  # any other exception fails the test
        assert isinstance(exc, DataError)
        if col > 1 or i > 0:  # elapsed: the first cell sets the column's kind (numbers)
            assert (
                f"g.csv:{i + 2}:{col + 1} column '{('batch_id', 'elapsed', 'T', 'P')[col]}'"
                in str(exc)
            )
    else:
        assert col == 1 and i == 0 and len(rows) == 1, junk
