"""The one report style (issue 24): header, units, times, tables with CSV, print/PDF."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.viz._report_checks import assert_report_style, csv_tables, visible_text
from viz import fmt_quantity, fmt_time, plant_timezone, render_report, table_html, unit_label
from viz._format import fmt_value


def test_dimensionless_has_no_unit_one():
    assert fmt_quantity(0.862181, "1") == "0.8622"
    assert fmt_quantity(12.5, "K") == "12.5 K"
    assert unit_label("1") == "–" and unit_label("") == "–" and unit_label("h") == "h"


def test_epoch_seconds_become_iso_in_the_plant_zone():
    tz, note = plant_timezone({"timezone": "Europe/Berlin"})
    assert "Europe/Berlin" in note
    assert fmt_time(1_796_637_600.0, tz) == "2026-12-07T11:00:00+01:00"
    tz, note = plant_timezone({})
    assert note.startswith("UTC") and fmt_time(1_796_637_600.0, tz) == "2026-12-07T10:00:00+00:00"
    assert fmt_time(np.datetime64("2026-12-07T10:00:00"), dt.UTC) == "2026-12-07T10:00:00+00:00"
    # an epoch-like number under a time-like name is a date; a plain count is not
    assert fmt_value(1.79664e9, key="start_time").startswith("2026-12-")
    assert fmt_value(1.79664e9, key="count") == "1.797e+09"


def test_json_and_mappings_become_key_value_text():
    assert fmt_value('{"shape": 2.1, "scale": 81.9}') == "shape = 2.1; scale = 81.9"
    assert fmt_value({"a": {"b": 1}}) == "a = b = 1"
    assert fmt_value("[0]") == "[0]" and fmt_value("{x}") == "{x}"  # text that is not a JSON object stays


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_fmt_quantity_never_writes_unit_one(x):
    assert not fmt_quantity(x, "1").endswith(" 1")


def test_table_has_units_in_header_and_a_csv_link_that_decodes_to_it():
    df = pd.DataFrame({"kpi": ["throughput", "yield"], "mean": [28.8212345, 0.862181],
                       "start_time": [1.79664e9, 1.79665e9]})
    page = table_html(df, units={"mean": "1/h"}, csv_name="kpis", tz=dt.UTC)
    assert "<th>mean [1/h]</th>" in page and "<td>28.82</td>" in page
    assert "2026-12-07T10:40:00+00:00" in page
    rows = csv_tables(page)["kpis.csv"]
    assert rows[0] == ["kpi", "mean [1/h]", "start_time"]
    assert rows[1] == ["throughput", "28.8212345", "2026-12-07T10:40:00+00:00"]  # full precision in the CSV
    assert len(rows) == 3


def test_report_header_sections_and_print_style(tmp_path):
    import plotly.graph_objects as go

    src = tmp_path / "in.nc"
    src.write_bytes(b"abc")
    path = render_report("T", [("numbers", pd.DataFrame({"a": [1.5]}), "what this shows: a number."),
                               ("trend", go.Figure(go.Scatter(y=[1, 2])))], tmp_path / "r.html",
                         attrs={"created": 1.79664e9, "timezone": "Europe/Berlin", "params": '{"k": 2}'},
                         inputs=[src])
    text = assert_report_style(path)
    assert "in.nc (sha256 ba7816bf8f01)" in text  # sha256("abc")
    assert "what this shows: a number." in text
    assert "Europe/Berlin" in text and "2026-12-07T11:40:00+01:00" in text  # created, in the plant's zone
    assert "k = 2" in text


def test_style_check_catches_dumps(tmp_path):
    bad = render_report("T", [("x", "<p>yield = 0.862181 1 at 1796640000.0 {'shape': 2}</p>")], tmp_path / "b.html")
    with pytest.raises(AssertionError):
        assert_report_style(bad)
    assert "{'shape'" in visible_text(bad.read_text())


def test_provenance_numbers_carry_the_unit_their_name_says():
    from viz._html import attrs_table_html

    page = attrs_table_html({"warmup_s": 86400.0, "horizon_h": 168, "seed": 3})
    assert ">86400 s</td>" in page and ">168 h</td>" in page and ">3</td>" in page


@given(st.lists(st.tuples(st.text(min_size=1, max_size=12) | st.sampled_from(["[0]", "{}", "[1, 2]", '"q"']), st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=8))
def test_csv_link_round_trips_every_cell(rows):
    page = table_html([{"name": n, "value": v} for n, v in rows], units={"value": "K"}, csv_name="t")
    got = csv_tables(page)["t.csv"]
    assert got[0] == ["name", "value [K]"]
    assert [(r[0], float(r[1])) for r in got[1:]] == [(n, float(v)) for n, v in rows]


def test_trace_figures_show_plant_wall_clock_time(sample_dir, tmp_path):
    from twin import open_trace
    from viz import report_result

    ds = open_trace(sample_dir["trace"])
    first = np.datetime64(ds["time"].values[0], "s")
    ds.attrs["timezone"] = "Asia/Tokyo"  # UTC+9, no daylight saving
    path, _ = report_result(ds, tmp_path / "t.html")
    page = path.read_text()
    local = str(first + np.timedelta64(9, "h")).replace("T", " ")[:16]
    assert local in page.replace("T", " ") and "Asia/Tokyo (from the data's attrs['timezone'])" in visible_text(page)
