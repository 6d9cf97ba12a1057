"""Excel workbooks (``.xlsx``) as a :class:`workbench.tables.Table` for the batch-history reader.

pandas reads the sheet through a maintained engine: python-calamine (Rust, fast)
or openpyxl, whichever is installed; without either the reader says so. Rows are
numbered as Excel shows them (the header is row 1), and messages name the file and
the sheet: ``history.xlsx[Sheet1]:7:3 column 'T': ...``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from workbench.errors import DataError
from workbench.tables import Table

__all__ = ["EXCEL_SUFFIXES", "read_excel_table", "excel_engine"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_ENGINES = (("calamine", "python_calamine"), ("openpyxl", "openpyxl"))


def excel_engine() -> str | None:
    """The pandas engine used for ``.xlsx`` files (``"calamine"`` or ``"openpyxl"``), None if neither is installed."""
    return next((engine for engine, module in _ENGINES if importlib.util.find_spec(module) is not None), None)


class ExcelTable(Table):
    """A :class:`Table` read from one sheet, rows numbered as in Excel (the header is row 1)."""

    def row(self, i: int) -> int:
        return int(self.frame.index[i]) + 2 if i < len(self.frame) else i + 2


def read_excel_table(path: str | Path, *, sheet: str | int | None = None, needs: str) -> Table:
    """Read one sheet of an Excel workbook; a missing reader, file or sheet is a :class:`DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file; give {needs}", source=str(path))
    engine = excel_engine()
    if engine is None:
        raise DataError("reading Excel workbooks needs python-calamine or openpyxl, and neither is installed; "
                        "install one (pip install python-calamine) or save the sheet as CSV", source=str(path))
    try:
        names = list(pd.ExcelFile(path, engine=engine).sheet_names)
    except Exception as exc:  # the engines raise their own errors for a file that is no workbook
        raise DataError(f"is not a readable Excel workbook ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                        f"give {needs}", source=str(path)) from None
    if sheet is None:
        name = names[0]
    elif isinstance(sheet, int) or str(sheet).isdigit():
        k = int(sheet)
        if not 0 <= k < len(names):
            raise DataError(f"has {len(names)} sheet(s) ({', '.join(names)}); sheet index {k} does not exist "
                            "(0-based)", source=str(path))
        name = names[k]
    elif str(sheet) in names:
        name = str(sheet)
    else:
        from workbench.errors import did_you_mean

        raise DataError(f"has no sheet '{sheet}'; {did_you_mean(str(sheet), names)}", source=str(path))
    frame = pd.read_excel(path, sheet_name=name, engine=engine)
    frame = frame.dropna(how="all")  # formatted-but-empty rows; the index keeps each row's place in the sheet
    frame.columns = [str(c) for c in frame.columns]
    return ExcelTable(frame, f"{path}[{name}]", kind="excel", path=path)
