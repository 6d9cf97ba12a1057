"""workbench.tables: the user's CSV/Parquet files with errors that name file:row:column; DataError."""

from __future__ import annotations

import pandas as pd
import pytest

from twin_app.cli.main import main
from workbench.errors import ConfigError, DataError, DataQualityError, DatasetError, WorkbenchError
from workbench.tables import Table, read_table


def test_data_error_is_a_user_input_error_located_by_row_and_column():
    err = DataError("'x' is not a number", source="f.csv", row=7, column=2, column_name="time")
    assert str(err) == "f.csv:7:2 column 'time': 'x' is not a number"
    assert err.exit_code == 2 and err.row == 7 and err.column == 2 and err.column_name == "time"
    for cls in (ConfigError, DataQualityError, DatasetError, WorkbenchError, ValueError):
        assert isinstance(err, cls)
    assert str(DataError("is empty", source="f.csv")) == "f.csv: is empty"


def test_rows_are_file_lines_with_blank_lines_and_quoted_newlines(tmp_path):
    (tmp_path / "t.csv").write_text('a,b\n1,2\n\n   \n3,4\n"multi\nline",5\nx,6\n')
    t = read_table(tmp_path / "t.csv", needs="a table", text_cells=True)
    assert [t.row(i) for i in range(len(t))] == [2, 5, 6, 8]
    with pytest.raises(DataError, match=r"t\.csv:6:1 column 'a': 'multi\\nline' is not a number"):
        t.numbers("a", allow_missing=True)
    (tmp_path / "u.csv").write_text('a,b\n1,2\n\n"multi\nline",5\n7,x\n')
    with pytest.raises(DataError, match=r"u\.csv:6:2 column 'b': 'x' is not a number"):
        read_table(tmp_path / "u.csv", needs="a table").numbers("b")


def test_numbers_rules():
    t = Table(pd.DataFrame({"n": ["1", " 2 ", "", "nan"], "k": [1.0, 2.0, 2.5, 3.0]}))
    out = t.numbers("n", allow_missing=True)
    assert out[:2].tolist() == [1.0, 2.0] and pd.isna(out[2:]).all()
    with pytest.raises(DataError, match=r"^table:3:1 column 'n': empty cell: no value"):
        t.numbers("n")
    with pytest.raises(DataError, match=r"^table:3:2 column 'k': '2.5' is not a whole number"):
        t.numbers("k", integer=True)
    with pytest.raises(DataError, match=r"^table:1:2 column 'k': '1.0' must be > 1"):
        t.numbers("k", minimum=1, strict_minimum=True)


def test_a_data_error_exits_2_at_the_cli(tmp_path, capsys):
    (tmp_path / "d.csv").write_bytes(b"\x00\x01")
    assert main(["life", "fit", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert "d.csv: is not a CSV text file" in err and "Traceback" not in err
