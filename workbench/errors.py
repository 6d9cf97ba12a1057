"""One exception hierarchy for the whole workbench.

Every user-facing error derives from :class:`WorkbenchError`. Messages name the
object (file:line:column, field path or tag), the rule that was broken, the bad
value, and what would be accepted, in one line, e.g.::

    scenarios/line.yaml:14:9 line.stations[2].mttr: "45 minuts" is not a
    duration; use e.g. "45 min"

The CLI maps :class:`ConfigError`, :class:`DataError` (a bad data file the user
gave) and other usage errors to exit code 2 and every other
:class:`WorkbenchError` to exit code 1 (each class's ``exit_code``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "WorkbenchError",
    "ConfigError",
    "UnitError",
    "DatasetError",
    "NotFittedError",
    "DataQualityError",
    "DataError",
    "FmuError",
    "SimulationError",
    "SolverError",
    "ConnectionLostError",
    "did_you_mean",
]


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose."""

    exit_code = 1


class ConfigError(WorkbenchError, ValueError):
    """A configuration file or value is invalid (exit code 2).

    Parameters
    ----------
    message
        What is wrong and what would be right.
    source
        File name the value came from, if known.
    line, column
        1-based position in ``source``, if known.
    path
        Dotted/indexed field path, e.g. ``line.stations[2].mttr``.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.path = path
        self.errors: list[ConfigError] = []
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        parts = [p for p in (where, self.path) if p]
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class UnitError(ConfigError):
    """A quantity string could not be parsed or has the wrong dimension."""


class DatasetError(WorkbenchError, ValueError):
    """An xarray Dataset breaks the workbench conventions (dims, units, attrs)."""


class NotFittedError(DatasetError, AttributeError):
    """An estimator was used before ``fit`` (or ``load``) gave it its learned attributes.

    Also an :class:`AttributeError` (the learned attribute does not exist yet, so
    ``hasattr`` and ``getattr(obj, name, default)`` behave), as scikit-learn's
    ``NotFittedError`` is; a :class:`DatasetError` because the workbench raised
    that before this class existed.
    """


class DataQualityError(WorkbenchError):
    """Input data failed a data-quality gate that cannot be flagged and skipped."""


class DataError(ConfigError, DataQualityError, DatasetError):
    """A data file or table the user gave cannot be read or holds a bad value (exit code 2).

    Raised by the readers of life data, historian and batch files. The message is
    prefixed with ``source:row:column column 'name'`` as far as they are known
    (row and column 1-based; for a CSV file the row is the file line, the header
    being line 1). A user-input error like :class:`ConfigError`; also a
    :class:`DataQualityError` and a :class:`DatasetError`, which these readers
    raised before this class existed, so existing handlers keep catching it.

    Parameters
    ----------
    message
        What is wrong and what would be right.
    source
        File name (or ``"table"`` for an in-memory table).
    row, column
        1-based row (file line for CSV) and column number, if known.
    column_name
        Name of the column, if known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: int | None = None,
        column_name: str | None = None,
    ) -> None:
        self.row = row
        self.column_name = column_name
        super().__init__(message, source=source, line=row, column=column if row is not None else None,
                         path=None if column_name is None else f"column '{column_name}'")
        self.column = column


class FmuError(WorkbenchError):
    """Loading, instantiating or stepping an FMU failed."""


class SimulationError(WorkbenchError):
    """A discrete-event or Monte-Carlo simulation could not run."""


class SolverError(WorkbenchError):
    """An optimisation solver failed or returned a non-optimal status."""


class ConnectionLostError(WorkbenchError):
    """A live data connection (e.g. OPC UA) was lost and could not be restored."""


def did_you_mean(name: str, choices: Iterable[str], *, n: int = 3) -> str:
    """Return a short hint naming the closest valid choices.

    Parameters
    ----------
    name
        The unknown name the user gave.
    choices
        The valid names.
    n
        Maximum number of suggestions.

    Returns
    -------
    str
        ``"did you mean 'x'?"`` when close matches exist, otherwise
        ``"valid names: a, b, c"`` (truncated to 12 names).

    Examples
    --------
    >>> did_you_mean("mtr", ["mttr", "mtbf"])
    "did you mean 'mttr'?"
    """
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=n, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    shown = ", ".join(choices[:12]) + (", …" if len(choices) > 12 else "")
    return f"valid names: {shown}" if choices else "no names are defined here"
