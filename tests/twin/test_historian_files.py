"""Historian files that are not what `twin replay` expects: located errors, exit 2, never a traceback (issue 22)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from _reactor import TWIN_YAML
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from twin.sources import ReplaySource
from twin_app.cli.main import main
from workbench.errors import DataError, WorkbenchError
from workbench.tables import MISSING_CELLS

_ACCEPTED = "accepted: ISO 8601 date-times"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"h\.csv: is empty; give a historian table"),
        ("time,TI\n", r"h\.csv: has a header \(time, TI\) but no data rows"),
        (
            "tiem,TI\n0,1\n",
            r"h\.csv: no 'time' column; .*the columns in the file: 'tiem', 'TI'\. Is 'tiem' meant to be 'time'\?",
        ),
        ("time,TI\n0,1\n1,2,3\n", r"h\.csv:3: expected 2 fields \(as in the header\), saw 3"),
        (
            "time,TI\n0,1\nabc,2\n",
            rf"h\.csv:3:1 column 'time': 'abc' is not a number of seconds .*{_ACCEPTED}",
        ),
        (
            "time,TI\n,1\n0,1\nx,2\n",
            rf"h\.csv:4:1 column 'time': 'x' is not a number of seconds like the column's first time '0'; {_ACCEPTED}",
        ),
        (
            "TI,time\n1,2026-01-05T08:00:00\n2,2026-01-05T08:00:10\n3,yesterday\n",
            rf"h\.csv:4:2 column 'time': 'yesterday' is not a date-time in the format of the column's first time "
            rf"'2026-01-05T08:00:00'; {_ACCEPTED}",
        ),
        (
            "time,TI\nNaN,0\n2026-01-05T08:00:00,1\n,2\n2026-01-05T08:00:20,3\n08:00:30,4\n",
            r"h\.csv:6:1 column 'time': '08:00:30' is not a date-time in the format of the column's first time",
        ),
        (
            "time,tag,value\n0,TI,1\n\n1O,TI,2\n",
            r"h\.csv:4:1 column 'time': '1O' is not a number of seconds",
        ),
    ],
)
def test_malformed_csv_names_file_row_and_column(tmp_path, text, match):
    (tmp_path / "h.csv").write_text(text)
    with pytest.raises(DataError, match=match):
        ReplaySource(tmp_path / "h.csv")


def test_binary_and_non_utf8_files(tmp_path):
    (tmp_path / "b.csv").write_bytes(bytes(range(256)))
    with pytest.raises(
        DataError,
        match=r"b\.csv: is not a CSV text file \(binary content: a NUL byte at offset 0\)",
    ):
        ReplaySource(tmp_path / "b.csv")
    (tmp_path / "l.csv").write_bytes("time,T\u00b0C\n0,1\n".encode("latin-1"))
    with pytest.raises(
        DataError,
        match=r"l\.csv: is not a CSV text file in UTF-8 \(byte 0xb0 at offset 6, line 1\)",
    ):
        ReplaySource(tmp_path / "l.csv")


def test_files_that_are_no_parquet_netcdf_or_zarr(tmp_path):
    for name in ("x.parquet", "x.nc"):
        (tmp_path / name).write_text("time,TI\n0,1\n")
    with pytest.raises(DataError, match=r"x\.parquet: is not a readable Parquet file"):
        ReplaySource(tmp_path / "x.parquet")
    with pytest.raises(DataError, match=r"x\.nc: is not a readable NetCDF file"):
        ReplaySource(tmp_path / "x.nc")
    (tmp_path / "x.zarr").mkdir()
    with pytest.raises(DataError, match=r"x\.zarr: is not a readable Zarr store"):
        ReplaySource(tmp_path / "x.zarr")
    (tmp_path / "e.parquet").write_bytes(b"")
    with pytest.raises(DataError, match=r"e\.parquet: is empty"):
        ReplaySource(tmp_path / "e.parquet")


def test_missing_times_are_left_to_the_quality_gate(tmp_path):
    (tmp_path / "m.csv").write_text(
        "time,TI\n2026-01-05T08:00:00,1\n,2\nNaN,3\n2026-01-05T08:00:10,4\n"
    )
    src = ReplaySource(tmp_path / "m.csv")
    times = [f.time for f in src.frames()]
    assert (
        src.time_kind == "datetime" and np.isnan(times[1:3]).all() and times[3] - times[0] == 10.0
    )
    stamps = pd.to_datetime(["2026-01-05 08:00", None, "2026-01-05 08:02"])
    pd.DataFrame({"time": stamps, "TI": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "t.parquet")
    times = [f.time for f in ReplaySource(tmp_path / "t.parquet").frames()]
    assert np.isnan(times[1]) and times[2] - times[0] == 120.0  # NaT was -9.2e9 s before


def test_bad_values_are_left_to_the_quality_gate(tmp_path):
    (tmp_path / "v.csv").write_text("time,TI\n0,1\n10,bad\n20,\n")
    frames = list(ReplaySource(tmp_path / "v.csv").frames())
    assert [f.time for f in frames] == [0.0, 10.0, 20.0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "h.csv: is empty"),
        ("time,TI_reactor\n0,350\nnoon,351\n", "h.csv:3:1 column 'time': 'noon'"),
    ],
)
def test_replay_cli_exits_2_with_one_located_line(tmp_path, capsys, text, where):
    (tmp_path / "h.csv").write_text(text)
    code = main(
        ["replay", str(TWIN_YAML), str(tmp_path / "h.csv"), "--trace", str(tmp_path / "t.zarr")]
    )
    err = capsys.readouterr().err
    assert code == 2 and where in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "t.zarr").exists()


# --------------------------------------------------------------------------- properties
_FINITE = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@st.composite
def _wide(draw):
    n = draw(st.integers(1, 10))
    tags = draw(
        st.lists(
            st.from_regex(r"[A-Z]{1,3}[0-9]{0,3}", fullmatch=True),
            min_size=1,
            max_size=4,
            unique_by=str.lower,
        ).filter(lambda ts: "TIME" not in {t.upper() for t in ts})
    )
    times = draw(st.lists(st.floats(0, 1e9, allow_nan=False), min_size=n, max_size=n))
    values = [[draw(_FINITE) for _ in tags] for _ in range(n)]
    return tags, times, values


def _write(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_wide())
def test_valid_wide_tables_round_trip(tmp_path, table):
    tags, times, values = table
    _write(
        tmp_path / "w.csv",
        ["time", *tags],
        [[repr(t), *map(repr, v)] for t, v in zip(times, values, strict=True)],
    )
    frames = list(ReplaySource(tmp_path / "w.csv").frames())
    assert [f.time for f in frames] == pytest.approx(times, rel=1e-15)
    got = np.array([[float(f.samples[t].value) for t in tags] for f in frames])
    np.testing.assert_allclose(got, np.array(values), rtol=1e-15)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return pd.notna(pd.to_numeric(pd.Series([s.strip()]), errors="coerce")[0])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_wide(), st.data())
def test_garbage_time_cells_give_a_located_error(tmp_path, table, data):
    tags, times, values = table
    i = data.draw(st.integers(0, len(times) - 1), label="row")
    junk = data.draw(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12), label="cell"
    )
    assume(
        not _is_number(junk.strip()) and junk.strip().lower() not in MISSING_CELLS
    )  # missing: the gate's
    rows = [[repr(t), *map(repr, v)] for t, v in zip(times, values, strict=True)]
    rows[i][0] = junk
    _write(tmp_path / "g.csv", ["time", *tags], rows)
    try:
        src = ReplaySource(tmp_path / "g.csv")
    except WorkbenchError as exc:  # any other exception fails the test
        assert isinstance(exc, DataError)
        if (
            i > 0
        ):  # the first cell sets the column's kind (numbers), so the junk cell is the one named
            assert f"g.csv:{i + 2}:1 column 'time'" in str(exc)
        else:
            assert "g.csv:" in str(exc) and ":1 column 'time'" in str(exc)
    else:  # only a first cell that is a date-time and a column of them could pass; not with numbers after it
        assert len(times) == 1 and src.time_kind == "datetime", junk
