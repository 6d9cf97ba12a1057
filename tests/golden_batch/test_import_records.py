"""``twin golden import`` and :func:`golden_batch.read_batch_records` / :func:`data_quality_summary` (issue 19 §1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import golden_batch as gb
from twin_app.cli.golden_import import parse_assignments, parse_range
from twin_app.cli.main import main
from workbench.dataset import read_netcdf
from workbench.errors import ConfigError, DataError

RESERVED = {"batch_id", "timestamp", "elapsed", "units", "phase", "tag", "value", "lot", "clock"}
tag_names = st.text("abcdXYZ_", min_size=1, max_size=6).filter(lambda s: s.lower() not in RESERVED)
cells = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def wide_tables(draw):
    """A wide table of 1-4 batches (1-9 samples each), 1-4 tags, random gaps, spaces around the names."""
    tags = draw(st.lists(tag_names, min_size=1, max_size=4, unique=True))
    n_b = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, 9), min_size=n_b, max_size=n_b))
    truth = {}
    rows = []
    for b, n in enumerate(lengths):
        vals = {t: draw(st.lists(cells, min_size=n, max_size=n)) for t in tags}
        truth[f"B{b}"] = {t: np.array([np.nan if v is None else v for v in vals[t]]) for t in tags}
        for k in range(n):
            rows.append({"Lot": f"B{b}" + draw(spaces), "Clock": 30.0 * k,
                         **{t: vals[t][k] for t in tags}})
    header = {"Lot": "Lot" + draw(spaces), "Clock": draw(spaces) + "Clock",
              **{t: draw(spaces) + t + draw(spaces) for t in tags}}
    frame = pd.DataFrame(rows).rename(columns=header)
    return frame, truth, lengths


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=wide_tables(), fmt=st.sampled_from(["csv", "parquet"]))
def test_wide_tables_round_trip_with_gaps_and_spaced_names(tmp_path, data, fmt):
    frame, truth, lengths = data
    path = tmp_path / f"records.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    rec = gb.read_batch_records(path, batch_id=" Lot", time="Clock ")
    ds = rec.data
    assert list(ds["batch"].values) == list(truth)  # 'B0 ' and 'B0' are one batch
    assert gb.batch_lengths(ds).tolist() == lengths  # a sample with gaps (even in every tag) is kept
    for b, tags in truth.items():
        n = len(next(iter(tags.values())))
        np.testing.assert_array_equal(ds["elapsed"].sel(batch=b).values[:n], 30.0 * np.arange(n))
        for t, expected in tags.items():
            np.testing.assert_array_equal(ds[t].sel(batch=b).values[:n], expected)
    summary = gb.data_quality_summary(ds, time_order=rec.time_order)
    for q in summary:
        for t, expected in truth[q.batch].items():
            assert q.missing.get(t, 0) == int(np.isnan(expected).sum())
        assert q.duplicate_times == q.backward_times == 0


def test_summary_counts_frozen_runs_ranges_and_time_order_with_file_rows(tmp_path):
    path = tmp_path / "h.csv"
    lines = ["batch_id,elapsed,T,P"]
    lines += [f"A,{10 * k},{350 if 2 <= k < 7 else 340 + k},{k}" for k in range(10)]  # T frozen 5 samples
    lines += ["B,0,1,5", "B,10,,6", "B,10,3,7", "B,5,4,800"]  # file lines 12-15: repeated at 14, backward at 15
    path.write_text("\n".join(lines) + "\n")
    rec = gb.read_batch_records(path)
    a, b = gb.data_quality_summary(rec.data, frozen=5, ranges={"P": (None, 100.0)}, time_order=rec.time_order)
    assert a.frozen == {"T": [(20.0, 5)]} and a.missing == {} and a.out_of_range == {}
    assert a.duplicate_times == a.backward_times == 0 and a.first_time_fault_row is None
    assert (a.samples, a.duration_s) == (10, 90.0)
    assert b.missing == {"T": 1} and b.out_of_range == {"P": 1}
    assert (b.duplicate_times, b.backward_times, b.first_time_fault_row) == (1, 1, 14)
    assert b.findings == 4 and b.to_dict()["first_time_fault_row"] == 14
    assert gb.data_quality_summary(rec.data, frozen=6)[0].frozen == {}


def test_long_table_time_order_is_per_tag(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("batch_id,timestamp,tag,value\nB1,0,T,1\nB1,0,P,2\nB1,10,T,3\nB1,10,P,4\nB1,10,P,5\n")
    rec = gb.read_batch_records(path)
    assert rec.layout == "long"
    assert rec.time_order["B1"].duplicate_times == 1 and rec.time_order["B1"].first_row == 6


def test_frozen_runs_end_at_gaps():
    assert gb.frozen_runs(np.array([1, 1, 1, np.nan, 1, 1, 2, 2, 2, 2]), 3) == [(0, 3), (6, 4)]
    assert gb.frozen_runs(np.array([np.nan] * 5), 2) == []
    assert gb.frozen_runs(np.array([]), 2) == []


def test_units_row_and_mapping(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("batch_id,elapsed,T,F\nunits,s,degC,m3/h\nB1,0,20,1.5\nB1,60,21,\nB1,120,x,1\n")
    with pytest.raises(DataError, match=r"h\.csv:5:3 column 'T': 'x' is not a number"):  # rows as in the file
        gb.read_batch_records(path)
    path.write_text("batch_id,elapsed,T,F\nunits,s,degC,m3/h\nB1,0,20,1.5\nB1,60,21,\n")
    rec = gb.read_batch_records(path)
    assert rec.units_from == "units row"
    assert rec.data["T"].attrs["units"] == "degC" and rec.data["F"].attrs["units"] == "m3/h"
    np.testing.assert_array_equal(rec.data["elapsed"].values, [[0, 60]])
    assert np.isnan(rec.data["F"].values[0, 1])
    rec = gb.read_batch_records(path, units={"T": "K"})
    assert rec.data["T"].attrs["units"] == "K" and rec.units_from == "mapping"
    with pytest.raises(ConfigError, match=r"units\.T: 'kelvinz' is not a unit"):
        gb.read_batch_records(path, units={"T": "kelvinz"})
    with pytest.raises(ConfigError, match="no tag 'Tx'.*did you mean 'T'"):
        gb.read_batch_records(path, units={"Tx": "K"})
    path.write_text("batch_id,elapsed,T\nunits,s,K\n1,0,20\n2,0,21\n")
    assert list(gb.read_batch_records(path).data["batch"].values) == ["1", "2"]
    path.write_text("batch_id,elapsed,T\nunits,s,furlongz\nB1,0,20\n")
    with pytest.raises(DataError, match=r"h\.csv:2:3 column 'T': units row: 'furlongz' is not a unit"):
        gb.read_batch_records(path)


def test_declared_columns_are_named_in_errors(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("Lot,Clock,T\nL1,0,1\nL1,,2\n")
    with pytest.raises(DataError, match=r"h\.csv:3:2 column 'Clock': empty or NaN cell; a time"):
        gb.read_batch_records(path, batch_id="Lot", time="Clock")
    with pytest.raises(DataError, match="no 'Clok' column.*'Clock'"):
        gb.read_batch_records(path, batch_id="Lot", time="Clok")
    path.write_text("Lot,Clock,elapsed,T\nL1,0,0,1\n")
    with pytest.raises(DataError, match="--time 'Clock' and the column 'elapsed' would both be the time"):
        gb.read_batch_records(path, batch_id="Lot", time="Clock")


def test_sample_period_for_tables_without_time(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("batch_id,T\n1,5\n1,6\n2,7\n")
    with pytest.raises(DataError, match="has no time column.*--sample-period"):
        gb.read_batch_records(path)
    rec = gb.read_batch_records(path, sample_period=60)
    np.testing.assert_array_equal(rec.data["elapsed"].values, [[0, 60], [0, np.nan]])
    with pytest.raises(ConfigError, match="positive number of seconds"):
        gb.read_batch_records(path, sample_period=0)


def test_excel_with_declared_columns_names_sheet_and_row(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "h.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="notes", index=False)
        pd.DataFrame({"Lot ": ["units", "L1", "L1", "L1"], "t": ["s", 0, 10, 20],
                      "T": ["K", 300.0, 301.0, "hot"]}).to_excel(xw, sheet_name="data", index=False)
    with pytest.raises(DataError, match=r"h\.xlsx\[data\]:5:3 column 'T': 'hot' is not a number"):
        gb.read_batch_records(path, sheet="data", batch_id="Lot", time="t")
    with pytest.raises(DataError, match=r"h\.xlsx\[data\]:3:2 column 't'"):
        with pd.ExcelWriter(path, engine="openpyxl", mode="a", if_sheet_exists="replace") as xw:
            pd.DataFrame({"Lot": ["L1", "L1"], "t": [0, "soon"], "T": [1, 2]}).to_excel(xw, sheet_name="data",
                                                                                         index=False)
        gb.read_batch_records(path, sheet="data", batch_id="Lot", time="t")


def test_quality_table_keyed_by_the_declared_batch_column(tmp_path):
    (tmp_path / "h.csv").write_text("Lot,elapsed,T\nL1,0,1\nL1,10,2\nL2,0,3\n")
    (tmp_path / "q.csv").write_text("Lot,yield\nL2,0.9\nL1,0.8\n")
    ds = gb.read_batch_records(tmp_path / "h.csv", batch_id="Lot", quality=tmp_path / "q.csv").data
    assert ds["yield"].attrs["role"] == "quality"
    np.testing.assert_allclose(ds["yield"].values, [0.8, 0.9])
    (tmp_path / "q.csv").write_text("Lot,yield\nX9,0.9\n")
    with pytest.raises(DataError, match=r"q\.csv.*no batch id of the quality table is a batch"):
        gb.read_batch_records(tmp_path / "h.csv", batch_id="Lot", quality=tmp_path / "q.csv")


@given(lo=st.floats(-1e9, 1e9), width=st.floats(1e-3, 1e9))
def test_parse_range_round_trips(lo, width):
    hi = lo + width
    assert parse_range(f"{lo!r}:{hi!r}") == (lo, hi)
    assert parse_range(f":{hi!r}") == (None, hi) and parse_range(f" {lo!r} :") == (lo, None)


@pytest.mark.parametrize("text", ["5", ":", "a:3", "3:1", "1:nan"])
def test_parse_range_rejects(text):
    with pytest.raises(ConfigError, match="--range"):
        parse_range(text)


def test_parse_assignments():
    assert parse_assignments([" T = K", "P=bar"], option="--unit") == {"T": "K", "P": "bar"}
    for bad in (["T"], ["=K"], ["T=K", "T=degC"]):
        with pytest.raises(ConfigError, match="--unit"):
            parse_assignments(bad, option="--unit")


def test_cli_import_prints_summary_writes_and_never_overwrites(tmp_path, capsys):
    src = tmp_path / "h.csv"
    src.write_text("batch_id,elapsed,T ,P\nB1,0,1,5\nB1,10,,6\nB1,20,3,7\nB2,0,1,500\nB2,0,2,6\n")
    (tmp_path / "units.yaml").write_text("T: degC\nP: bar\n")
    out = tmp_path / "history.nc"
    code = main(["golden", "import", str(src), "--out", str(out), "--units", str(tmp_path / "units.yaml"),
                 "--unit", "P=kPa", "--range", "P=0:100", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)  # pure JSON
    assert doc["output"] == str(out) and doc["units_from"] == "mapping"
    assert {t["name"]: t["units"] for t in doc["tags"]} == {"T": "degC", "P": "kPa"}
    b1, b2 = doc["batches"]
    assert b1["missing"] == {"T": 1} and b1["samples"] == 3
    assert b2["out_of_range"] == {"P": 1} and b2["duplicate_times"] == 1 and b2["first_time_fault_row"] == 6
    ds = read_netcdf(out)
    assert ds["T"].attrs["units"] == "degC" and gb.batch_lengths(ds).tolist() == [3, 2]
    before = out.read_bytes()
    assert main(["golden", "import", str(src), "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["golden", "import", str(src), "--out", str(out), "--overwrite", "--unit", "T=K"]) == 0
    text = capsys.readouterr().out
    assert "missing cells" in text and "T: 1" in text and "1 repeated" in text
    assert read_netcdf(out)["T"].attrs["units"] == "K"
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.parametrize("args, message", [
    (["--unit", "T=kelvinz"], "'kelvinz' is not a unit"),
    (["--range", "T=5:1"], "low must be below high"),
    (["--range", "Q=0:1"], "no tag 'Q'"),
    (["--batch-id", "lot"], "no 'lot' column"),
])
def test_cli_import_bad_options_exit_2(tmp_path, capsys, args, message):
    src = tmp_path / "h.csv"
    src.write_text("batch_id,elapsed,T\nB1,0,1\n")
    assert main(["golden", "import", str(src), "--out", str(tmp_path / "o.nc"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.nc").exists()


def test_cli_import_units_file_errors_name_the_line(tmp_path, capsys):
    src = tmp_path / "h.csv"
    src.write_text("batch_id,elapsed,T\nB1,0,1\n")
    (tmp_path / "u.yaml").write_text("T: K\nP: [1, 2]\n")
    assert main(["golden", "import", str(src), "--out", str(tmp_path / "o.nc"), "--units",
                 str(tmp_path / "u.yaml")]) == 2
    assert "u.yaml:2" in capsys.readouterr().err


def test_cli_import_of_the_example_workbook_builds(tmp_path, capsys):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    out = tmp_path / "h.nc"
    assert main(["golden", "import", str(examples / "batch_0815.xlsx"), "--sheet", "record", "--out", str(out),
                 "--unit", "temperature=K", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["batches"][0]["batch"] == "B0815" and doc["batches"][0]["samples"] == 111
    xr_csv = gb.read_history(examples / "batch_0815.csv")
    np.testing.assert_allclose(read_netcdf(out)["temperature"].values, xr_csv["temperature"].values)


def test_long_table_with_declared_batch_column_and_units_column(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("Lot,timestamp,tag,value,units\nL1,2026-01-05T08:00:00,T,300,K\nL1,2026-01-05T08:01:00,T,301,K\n"
                    "L1,2026-01-05T08:00:00,P ,2,bar\nL1,,yield,0.9,1\n")
    rec = gb.read_batch_records(path, batch_id="Lot", units={"yield": "%"})
    ds = rec.data
    assert rec.layout == "long" and list(ds["batch"].values) == ["L1"]
    assert ds["T"].attrs["units"] == "K" and ds["P"].attrs["units"] == "bar"
    np.testing.assert_array_equal(ds["elapsed"].values, [[0, 60]])
    assert ds["yield"].attrs["role"] == "quality" and ds["yield"].attrs["units"] == "%"


def test_time_declared_as_elapsed_beside_a_timestamp_column_is_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("batch_id,timestamp,elapsed,T\nB1,2026-01-05T08:00:00,0,1\n")
    with pytest.raises(DataError, match="--time 'elapsed' and the column 'timestamp' would both be the time"):
        gb.read_batch_records(path, time="elapsed")
    assert gb.read_batch_records(path, time="timestamp").data.sizes["sample"] == 1


def test_quality_units_from_the_mapping(tmp_path):
    (tmp_path / "h.csv").write_text("batch_id,elapsed,T\nB1,0,1\n")
    (tmp_path / "q.csv").write_text("batch_id,yield\nB1,93\n")
    ds = gb.read_batch_records(tmp_path / "h.csv", quality=tmp_path / "q.csv", units={"yield": "%"}).data
    assert ds["yield"].attrs["units"] == "%"


def test_cli_import_with_phases(tmp_path, capsys):
    rows = [{"batch_id": f"B{b}", "elapsed": 60.0 * k, "Step": "fill" if k < 3 else "react", "T": 300.0 + k}
            for b in range(2) for k in range(6)]
    pd.DataFrame(rows).to_csv(tmp_path / "h.csv", index=False)
    out = tmp_path / "h.nc"
    assert main(["golden", "import", str(tmp_path / "h.csv"), "--phase", "Step", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["phases"] == ["fill", "react"] and [t["name"] for t in doc["tags"]] == ["T"]
    ds = gb.read_history(out)
    assert ds["phase"].values.tolist() == [[0, 0, 0, 1, 1, 1]] * 2
