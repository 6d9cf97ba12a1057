"""Life-data files as other software writes them: status codes, bad cells, degenerate data (issue 22)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simulation.life import (
    FAILURE_CODES,
    SUSPENSION_CODES,
    LifeData,
    fit_best,
    fit_life,
    parse_status_map,
    read_life_data,
)
from simulation.life._identifiable import check_fit
from twin_app.cli.main import main
from workbench.errors import ConfigError, DataError, SolverError, WorkbenchError


def _csv(path, text: str):
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- status convention
@pytest.mark.parametrize(
    ("fail", "susp"),
    [
        ("F", "S"),
        ("failed", "suspended"),
        (" Failure ", "CENSORED "),
        ("event", "survivor"),
        ("1", "0"),
        ("1.0", "0.0"),
        ("TRUE", "false"),
    ],
)
def test_status_words_follow_the_documented_convention(tmp_path, fail, susp):
    f = _csv(tmp_path / "d.csv", f"time,status\n100,{fail}\n200,{susp}\n300,{fail}\n")
    d = read_life_data(f)
    assert sorted(d.failures) == [100, 300] and list(d.right) == [200]


def test_unknown_status_is_an_error_naming_file_row_column_and_accepted_values(tmp_path):
    f = _csv(tmp_path / "d.csv", "serial,time,status\nA1,100,F\nA2,200,X\n")
    with pytest.raises(DataError) as err:
        read_life_data(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}:3:3 column 'status': 'X' is not a known status")
    assert "failed" in msg and "suspended" in msg and "--status-map" in msg


def test_status_2_is_not_silently_a_suspension(tmp_path):
    f = _csv(tmp_path / "r.csv", "time,status\n100,1\n200,2\n300,2\n150,1\n")
    with pytest.raises(
        DataError, match=r"r\.csv:3:2 column 'status': status 2 .*--status-map 1=censored,2=failure"
    ):
        read_life_data(f)
    d = read_life_data(f, status_map="1=censored,2=failure")
    assert sorted(d.failures) == [200, 300] and sorted(d.right) == [100, 150]
    d2 = read_life_data(f, status_map={1: "right-censored", 2: "event"})
    assert sorted(d2.failures) == [200, 300]


def test_a_status_map_replaces_the_convention(tmp_path):
    f = _csv(tmp_path / "d.csv", "time,status\n100,A\n200,B\n300,0\n")
    with pytest.raises(
        DataError,
        match=r"d\.csv:4:2 column 'status': '0' is not in the status map; "
        r"accepted: failure = a; suspension = b",
    ):
        read_life_data(f, status_map="A=failure,B=suspension")


def test_status_map_parsing():
    assert parse_status_map("F=failure, S=suspended,2=event") == {"f": True, "s": False, "2": True}
    assert parse_status_map(None) is None
    with pytest.raises(ConfigError, match="did you mean 'failure'"):
        parse_status_map("F=failur")
    with pytest.raises(ConfigError, match="is not CODE=TARGET"):
        parse_status_map("F")
    with pytest.raises(ConfigError, match="both failure and suspension"):
        parse_status_map("1=failure,1.0=censored")


# --------------------------------------------------------------------------- bad files and cells
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"d\.csv: is empty"),
        ("\n  \n", r"d\.csv: is empty"),
        ("time,status\n", r"d\.csv: has a header \(time, status\) but no data rows"),
        (
            "tiem,status\n1,F\n",
            r"d\.csv: no 'time' column; .*columns in the file: 'tiem', 'status'\. Is 'tiem' meant to be 'time'\?",
        ),
        ("lower\n1\n", r"no 'upper' column; interval data need both"),
        (
            "time,status\n100,F\n1O0,F\n",
            r"d\.csv:3:1 column 'time': '1O0' is not a number; a time in h",
        ),
        ("time,status\n100,F\n12,5,F\n", r"d\.csv:3: expected 2 fields"),
        (
            'time,status\n100,F\n"12,5",F\n',
            r"d\.csv:3:1 column 'time': '12,5' is not a number \(decimal comma\?",
        ),
        ("time,status\n100,F\n-5,F\n", r"d\.csv:3:1 column 'time': '-5' must be >= 0"),
        ("time,status\n100,F\nNaN,F\n", r"d\.csv:3:1 column 'time': 'NaN': no value"),
        ("time,status\n100,F\n,F\n", r"d\.csv:3:1 column 'time': empty cell"),
        ("time,status\n100,F\ninf,F\n", r"d\.csv:3:1 column 'time': 'inf' is not a finite number"),
        ("time,status,count\n100,F,2\n200,F,0\n", r"d\.csv:3:3 column 'count': '0' must be >= 1"),
        ("time,status,count\n100,F,-1\n", r"d\.csv:2:3 column 'count': '-1' must be >= 1"),
        (
            "time,status,count\n100,F,1.5\n",
            r"d\.csv:2:3 column 'count': '1.5' is not a whole number",
        ),
        ("time,status\n100,S\n200,S\n", r"d\.csv: life data has no failures"),
        ("lower,upper\n10,5\n", r"d\.csv:2:2 column 'upper': upper 5 is below lower 10"),
        ("lower,upper\n,\n", r"d\.csv:2:1 column 'lower': lower and upper are both empty"),
        (
            "time,status\n\n100,F\n\nx,F\n",
            r"d\.csv:5:1 column 'time': 'x' is not a number",
        ),  # blank lines counted
    ],
)
def test_bad_files_and_cells_name_file_row_and_column(tmp_path, text, match):
    f = _csv(tmp_path / "d.csv", text)
    with pytest.raises(DataError, match=match):
        read_life_data(f)


def test_binary_and_non_utf8_files(tmp_path):
    b = tmp_path / "b.csv"
    b.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(DataError, match=r"b\.csv: is not a CSV text file \(binary content"):
        read_life_data(b)
    latin = tmp_path / "l.csv"
    latin.write_bytes("time,status\n100,F\n200,\xe9chou\xe9\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"l\.csv: is not a CSV text file in UTF-8 \(byte 0xe9 .* line 3\)"
    ):
        read_life_data(latin)


def test_from_frame_names_the_data_row():
    df = pd.DataFrame({"time": [1.0, 2.0, -3.0], "status": ["F", "S", "F"]})
    with pytest.raises(DataError, match=r"^table:3:1 column 'time': '-3.0' must be >= 0"):
        LifeData.from_frame(df)
    df = pd.DataFrame({"time": [1.0, 2.0], "status": [1, 2]})
    with pytest.raises(DataError, match="status-map 1=censored,2=failure"):
        LifeData.from_frame(df)
    assert list(LifeData.from_frame(df, status_map="1=censored,2=failure").failures) == [2.0]


# --------------------------------------------------------------------------- degenerate likelihoods
def test_too_few_distinct_failure_times_is_an_error():
    same = LifeData(failures=[100.0, 100.0, 100.0])
    for dist in ("weibull", "lognormal", "normal", "gamma"):
        with pytest.raises(
            DataError, match=r"all 3 failure times are equal \(100 h\).*no finite maximum"
        ):
            fit_life(same, dist)
    assert fit_life(same, "exponential").params["mean"] == pytest.approx(100.0, rel=1e-6)
    with pytest.raises(DataError, match="3 parameters but the data hold 2 failure"):
        fit_life(LifeData(failures=[100.0, 200.0], right=[300.0]), "weibull3")
    with pytest.raises(DataError, match="2 parameters but the data hold 1 failure"):
        fit_life(LifeData(failures=[100.0], right=[50.0, 80.0]), "weibull")


def test_fits_that_run_to_a_bound_are_errors():
    tied = LifeData(failures=[100.0, 100.0 + 1e-6])
    with pytest.raises(
        DataError, match=r"weibull fit ran to a bound: shape = .*within 0.001..1000"
    ):
        fit_life(tied, "weibull")
    with pytest.raises(DataError, match="normal fit ran to a bound: std"):
        fit_life(tied, "normal")
    skipped: dict[str, str] = {}
    fits = fit_best(tied, skipped=skipped)
    assert [f.distribution for f in fits] == ["exponential"]
    assert set(skipped) == {"weibull", "lognormal", "gamma", "normal"}


def test_no_fittable_distribution_is_a_data_error():
    with pytest.raises(
        DataError, match="no distribution could be fitted.*weibull: a weibull fit has 2"
    ):
        fit_best(LifeData(failures=[100.0, 100.0]), distributions=("weibull", "normal"))


def test_a_fit_without_a_proper_maximum_is_a_solver_error():
    d = LifeData(failures=[90.0, 110.0])
    with pytest.raises(SolverError, match="no proper maximum"):
        check_fit("weibull", {"shape": 5.0, "scale": 100.0}, d, np.array([[1.0, 0.0], [0.0, -1.0]]))
    check_fit("weibull", {"shape": 5.0, "scale": 100.0}, d, np.eye(2))


# --------------------------------------------------------------------------- CLI
def test_cli_status_2_exits_2_and_names_the_cell(tmp_path, capsys):
    f = _csv(tmp_path / "r.csv", "time,status\n100,1\n200,2\n300,2\n150,1\n")
    out = tmp_path / "fit.yaml"
    assert main(["life", "fit", str(f), "-d", "weibull", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        "r.csv:3:2" in err and "--status-map 1=censored,2=failure" in err and "Traceback" not in err
    )
    assert not out.exists()
    assert (
        main(
            [
                "life",
                "fit",
                str(f),
                "-d",
                "weibull",
                "--status-map",
                "1=censored,2=failure",
                "-o",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    assert out.exists()


def test_cli_identical_failures_writes_no_model(tmp_path, capsys):
    f = _csv(tmp_path / "same.csv", "time,status\n100,F\n100,F\n100,F\n")
    out = tmp_path / "fit.yaml"
    assert main(["life", "fit", str(f), "-d", "normal", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "same.csv: a normal fit has 2 parameters but all 3 failure times are equal" in err
    assert not out.exists()
    assert (
        main(["life", "fit", str(f), "-o", str(out)]) == 0
    )  # auto: only the exponential is determined
    captured = capsys.readouterr().out
    assert "not fitted: weibull" in captured and "exponential" in out.read_text()


@pytest.mark.parametrize(
    "text", ["", "time,status\n100,F\nabc,F\n", "time,status,count\n100,F,-2\n"]
)
def test_cli_bad_files_exit_2_without_traceback(tmp_path, capsys, text):
    f = _csv(tmp_path / "d.csv", text)
    assert main(["life", "fit", str(f)]) == 2
    err = capsys.readouterr().err
    assert "d.csv" in err and "Traceback" not in err


def test_cli_help_documents_the_convention(capsys):
    assert main(["life", "fit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "failure: F, fail, failed, failure, event, 1" in text and "--status-map" in text
    assert "1=censored,2=failure" in text


# --------------------------------------------------------------------------- properties
_CODES = st.sampled_from(FAILURE_CODES + SUSPENSION_CODES)
_CASE = st.sampled_from([str.lower, str.upper, str.title])
_PAD = st.sampled_from(["", " ", "  "])


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        t = draw(st.floats(0, 1e7, allow_nan=False, allow_infinity=False))
        code = draw(_CODES)
        rows.append(
            (
                t,
                draw(_PAD) + draw(_CASE)(code) + draw(_PAD),
                code in FAILURE_CODES,
                draw(st.integers(1, 4)),
            )
        )
    return rows


def _write(path, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "status", "count"])
        w.writerows(rows)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_tables())
def test_valid_tables_round_trip(tmp_path, rows):
    f = tmp_path / "p.csv"
    _write(f, [(repr(t), s, c) for t, s, _, c in rows])
    fails = sorted(t for t, _, failed, c in rows if failed for _ in range(c))
    susp = sorted(t for t, _, failed, c in rows if not failed for _ in range(c))
    if not fails:
        with pytest.raises(DataError, match="no failures"):
            read_life_data(f)
        return
    d = read_life_data(f)
    assert sorted(d.failures) == fails and sorted(d.right) == susp


def _valid_time(s: str) -> bool:
    try:
        x = float(s.strip())
    except ValueError:
        return False
    return math.isfinite(x) and x >= 0


def _valid_count(s: str) -> bool:
    return _valid_time(s) and float(s.strip()) >= 1 and float(s.strip()).is_integer()


_GARBAGE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_tables(), st.data())
def test_garbage_cells_give_a_located_workbench_error(tmp_path, rows, data):
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    col = data.draw(st.integers(0, 2), label="column")
    junk = data.draw(_GARBAGE, label="cell")
    valid = (
        _valid_time,
        lambda s: (
            s.strip().lower() in FAILURE_CODES + SUSPENSION_CODES
            or _valid_time(s)
            and float(s.strip()) in (0.0, 1.0)
        ),
        _valid_count,
    )[col]
    assume(not valid(junk))
    cells = [[repr(t), s, str(c)] for t, s, _, c in rows]
    cells[i][col] = junk
    f = tmp_path / "g.csv"
    _write(f, cells)
    try:
        read_life_data(f)
    except WorkbenchError as exc:  # any other exception fails the test
        assert isinstance(exc, DataError)
        assert f"{f}:{i + 2}:{col + 1} column '{('time', 'status', 'count')[col]}'" in str(exc)
    else:
        pytest.fail(f"garbage {junk!r} in row {i}, column {col} was accepted")
