"""The user's tabular data files (CSV, Parquet), read with errors that name file:row:column.

Life data, historian files and batch histories are tables the user exports from
other software. :func:`read_table` reads one into a :class:`Table`: a pandas
``DataFrame`` that remembers where each cell came from, so that a reader can say
``field.csv:7:2 column 'time': "12,5" is not a number`` instead of showing a
pandas traceback. Files that are no table at all — empty, binary (NUL bytes), not
UTF-8, ragged rows, not Parquet — raise :class:`~workbench.errors.DataError`
(exit code 2) before pandas sees them.

Row numbers are 1-based *file lines* for CSV (the header is line 1; blank lines
are skipped by the reader but counted), record numbers for Parquet and data-row
numbers for an in-memory table.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import DataError

__all__ = ["Table", "read_table", "MISSING_CELLS"]

#: Cell texts read as "no value" where an empty cell is allowed (compared lower-case, stripped).
MISSING_CELLS = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a"})

_PROBE_BYTES = 1 << 16
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


class Table:
    """A table and the place each of its cells came from.

    Parameters
    ----------
    frame
        The cells; positional row ``i`` of ``frame`` is data row ``i`` of the source.
    source
        File name shown in messages (``"table"`` for an in-memory frame).
    kind
        ``"csv"``, ``"parquet"`` or ``"frame"``: how rows are numbered.
    path
        For ``"csv"``: the file, read again only to map data rows to file lines for a message.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        source: str = "table",
        *,
        kind: str = "frame",
        path: str | Path | None = None,
    ) -> None:
        self.frame = frame
        self.source = source
        self.kind = kind
        self._path = None if path is None else Path(path)
        self._lines: list[int] | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return [str(c) for c in self.frame.columns]

    def row(self, i: int) -> int:
        """1-based row of positional data row ``i``: the file line for CSV, else the record number."""
        if self.kind != "csv" or self._path is None:
            return i + 1
        if self._lines is None:
            self._lines = _data_lines(self._path.read_text(encoding="utf-8-sig"))
        return self._lines[i] if i < len(self._lines) else i + 2

    def column_number(self, name: str) -> int:
        """1-based position of column ``name``."""
        return self.columns.index(str(name)) + 1

    def find(self, *names: str) -> str | None:
        """The first column whose stripped, lower-case name is one of ``names``, else None."""
        by_key = {str(c).strip().lower(): str(c) for c in self.frame.columns}
        return next((by_key[n] for n in names if n in by_key), None)

    def error(self, message: str, *, i: int | None = None, column: str | None = None) -> DataError:
        """A :class:`DataError` located at data row ``i`` and/or ``column`` of this table."""
        return DataError(
            message,
            source=self.source,
            row=None if i is None else self.row(i),
            column=None if column is None else self.column_number(column),
            column_name=None if column is None else str(column),
        )

    def missing_column(self, wanted: str, needs: str, expected: Sequence[str] = ()) -> DataError:
        """The error for a required column that is absent: the columns present and a did-you-mean.

        ``expected`` are the column names the reader knows; the present column that is
        not one of them and closest to ``wanted`` (``tiem`` → ``time``) is named in the hint.
        """
        have = self.columns
        known = {c.strip().lower() for c in expected} | {wanted}
        candidates = [c for c in have if c.strip().lower() not in known]
        close = difflib.get_close_matches(
            wanted, [c.strip().lower() for c in candidates], n=1, cutoff=0.6
        )
        shown = ", ".join(repr(c) for c in have) or "none"
        hint = ""
        if close:
            col = next(c for c in candidates if c.strip().lower() == close[0])
            hint = f" Is '{col}' meant to be '{wanted}'?"
        return DataError(
            f"no '{wanted}' column; {needs}; the columns in the file: {shown}.{hint}",
            source=self.source,
        )

    def require_rows(self, needs: str) -> None:
        """Raise when the table has a header but no data rows."""
        if len(self.frame) == 0:
            raise DataError(
                f"has a header ({', '.join(self.columns)}) but no data rows; {needs}",
                source=self.source,
            )

    def cells(self, column: str) -> list[str]:
        """The cells of ``column`` as stripped text ('' for a missing cell)."""
        return [_cell_text(v) for v in self.frame[column].tolist()]

    def numbers(
        self,
        column: str,
        *,
        what: str = "a number",
        allow_missing: bool = False,
        minimum: float | None = None,
        strict_minimum: bool = False,
        integer: bool = False,
    ) -> np.ndarray:
        """Column ``column`` as floats; the first bad cell raises a located :class:`DataError`.

        Parameters
        ----------
        column
            Column name.
        what
            What a cell should be, for the message (e.g. ``"a time in h"``).
        allow_missing
            Empty / NaN cells become NaN instead of an error.
        minimum, strict_minimum
            Every value must be ``>= minimum`` (``> minimum`` when strict).
        integer
            Every value must be a whole number.
        """
        series = self.frame[column]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            raw = series.to_numpy()
            out = series.to_numpy(dtype=float, na_value=np.nan).copy()
            unread = np.flatnonzero(~np.isfinite(out))
        else:  # text cells: pandas reads the plain numbers at once, the rest are looked at one by one
            raw = np.array([_cell_text(v) for v in series.tolist()], dtype=object)
            out = np.array(
                pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce"), dtype=float
            )
            unread = np.flatnonzero(~np.isfinite(out))
        for i in unread:
            out[i] = self._number(raw[i], int(i), column, what, allow_missing)
        ok = ~np.isnan(out)
        if minimum is not None:
            below = ok & ((out <= minimum) if strict_minimum else (out < minimum))
            if below.any():
                i = int(np.flatnonzero(below)[0])
                rule = f"> {minimum:g}" if strict_minimum else f">= {minimum:g}"
                raise self.error(
                    f"{_show(raw[i])} must be {rule}; {what} is expected", i=i, column=column
                )
        if integer:
            fractional = ok & (out != np.floor(out))
            if fractional.any():
                i = int(np.flatnonzero(fractional)[0])
                raise self.error(
                    f"{_show(raw[i])} is not a whole number; {what} is expected", i=i, column=column
                )
        return out

    def _number(self, v, i: int, column: str, what: str, allow_missing: bool) -> float:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
            v, (bool, np.bool_)
        ):
            x = float(v)
            if math.isnan(x):
                if allow_missing:
                    return x
                raise self.error(f"empty or NaN cell; {what} is expected", i=i, column=column)
            if math.isinf(x):
                raise self.error(
                    f"{_show(v)} is not a finite number; {what} is expected", i=i, column=column
                )
            return x
        text = _cell_text(v)
        if text.lower() in MISSING_CELLS:
            if allow_missing:
                return math.nan
            raise self.error(
                f"{'empty cell' if not text else _show(text)}: no value; {what} is expected",
                i=i,
                column=column,
            )
        try:
            x = float(text)
        except ValueError:
            hint = " (decimal comma? use a point)" if re.fullmatch(r"[+-]?\d+,\d+", text) else ""
            raise self.error(
                f"{_show(text)} is not a number{hint}; {what} is expected", i=i, column=column
            ) from None
        if not math.isfinite(x):
            raise self.error(
                f"{_show(text)} is not a finite number; {what} is expected", i=i, column=column
            )
        return x


def _cell_text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    return str(v).strip()


def _show(v) -> str:
    text = str(v)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _data_lines(text: str) -> list[int]:
    """File line (1-based) where each data row starts, blank lines skipped as pandas does."""
    reader = csv.reader(io.StringIO(text))
    starts, prev_end, header_seen = [], 0, False
    for record in reader:
        start = prev_end + 1
        prev_end = reader.line_num
        if len(record) <= 1 and not "".join(record).strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        starts.append(start)
    return starts


def read_table(
    path: str | Path,
    *,
    needs: str,
    text_cells: bool = False,
    formats: Sequence[str] = (".csv", ".parquet"),
) -> Table:
    """Read a CSV or Parquet file as a :class:`Table`; anything else is a located :class:`DataError`.

    Parameters
    ----------
    path
        The file.
    needs
        What the file should hold, for messages, e.g. ``"a header time,status[,count]"``.
    text_cells
        Read every CSV cell as text (no type guessing; empty cells are ``""``), so
        the caller parses and reports each cell itself.
    formats
        Accepted suffixes (``.csv``-like ones are read as CSV text, ``.parquet``/``.pq`` as Parquet).

    Raises
    ------
    DataError
        Missing file, a folder, an empty, binary or non-UTF-8 file, a malformed CSV
        row or an unreadable Parquet file.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise DataError(f"no such file; give {needs}", source=source)
    if path.is_dir():
        raise DataError(f"is a folder, not a file; give {needs}", source=source)
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path, needs)
    if suffix not in _CSV_SUFFIXES and suffix not in formats:
        raise DataError(
            f"unknown format '{suffix}'; use one of {', '.join(formats)}", source=source
        )
    with path.open("rb") as fh:
        head = fh.read(_PROBE_BYTES)
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"is not a CSV text file (binary content: a NUL byte at offset {nul}); give {needs}",
            source=source,
        )
    if not head.lstrip(b"\xef\xbb\xbf").strip():
        raise DataError(f"is empty; give {needs}", source=source)
    kw = {"dtype": str, "keep_default_na": False, "na_filter": False} if text_cells else {}
    try:
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding="utf-8-sig", **kw)
    except UnicodeDecodeError:
        _not_utf8(path.read_bytes(), source)
    except pd.errors.EmptyDataError:
        raise DataError(f"is empty; give {needs}", source=source) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise DataError(
                f"expected {m[1]} fields (as in the header), saw {m[3]}; a stray separator or an "
                f"unquoted text with commas?",
                source=source,
                row=int(m[2]),
            ) from None
        raise DataError(
            f"is not a well-formed CSV file ({exc}); give {needs}", source=source
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    return Table(frame, source, kind="csv", path=path)


def _not_utf8(raw: bytes, source: str) -> None:
    """Raise the error for a file pandas could not decode as UTF-8, naming the first bad byte and its line."""
    try:
        codecs.decode(raw, "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"is not a CSV text file in UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            f"save it as 'CSV UTF-8' text",
            source=source,
        ) from None
    raise DataError("is not a CSV text file in UTF-8; save it as 'CSV UTF-8' text", source=source)


def _read_parquet(path: Path, needs: str) -> Table:
    source = str(path)
    if path.stat().st_size == 0:
        raise DataError(f"is empty; give {needs}", source=source)
    try:
        frame = pd.read_parquet(path)
    # pyarrow raises ArrowInvalid, OSError, ValueError... for a file that is no Parquet
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"is not a readable Parquet file ({reason}); give {needs}", source=source
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    return Table(frame, source, kind="parquet")
