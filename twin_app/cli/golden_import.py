"""``twin golden import``: batch records (CSV, Parquet, Excel) → a batch-history NetCDF, with a data-quality summary.

The summary (length, missing cells, frozen runs, out-of-range values, repeated and
backward times per batch) is printed before the file is written; an existing output
file is only replaced with ``--overwrite``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table
from workbench.errors import ConfigError

__all__ = ["import_records", "parse_assignments", "parse_range", "read_units_file"]


def parse_assignments(items: list[str], *, option: str) -> dict[str, str]:
    """``["T=K", "P = bar"]`` → ``{"T": "K", "P": "bar"}`` (names and values stripped)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{item!r} is not TAG=VALUE; write e.g. {option} temperature=K", path=option)
        if name.strip() in out:
            raise ConfigError(f"tag '{name.strip()}' is given twice", path=option)
        out[name.strip()] = value.strip()
    return out


def parse_range(text: str, *, tag: str = "") -> tuple[float | None, float | None]:
    """``"LO:HI"`` → ``(lo, hi)``; an empty side is open (``":400"``, ``"0:"``); low < high."""
    lo_text, sep, hi_text = str(text).partition(":")
    where = f"--range {tag}" if tag else "--range"

    def number(s: str) -> float | None:
        s = s.strip()
        if not s:
            return None
        try:
            x = float(s)
        except ValueError:
            raise ConfigError(f"{s!r} is not a number; write LOW:HIGH, e.g. {tag or 'T'}=300:400 "
                              "(leave a side empty for no limit)", path=where) from None
        if not math.isfinite(x):
            raise ConfigError(f"{s!r} is not a finite number; leave the side empty for no limit", path=where)
        return x

    if not sep:
        raise ConfigError(f"{text!r} is not LOW:HIGH; write e.g. {tag or 'T'}=300:400", path=where)
    lo, hi = number(lo_text), number(hi_text)
    if lo is None and hi is None:
        raise ConfigError("give at least one limit, e.g. 300:400, 300: or :400", path=where)
    if lo is not None and hi is not None and not lo < hi:
        raise ConfigError(f"low must be below high; got {lo:g}:{hi:g}", path=where)
    return lo, hi


def read_units_file(path: Path) -> dict[str, str]:
    """A YAML mapping tag → unit (``temperature: K``); errors name the file and line."""
    from workbench.config import read_yaml

    data, positions = read_yaml(Path(path))
    if not isinstance(data, dict):
        raise ConfigError("a units file is a mapping of tag to unit, e.g. 'temperature: K'", source=str(path))
    out = {}
    for tag, unit in data.items():
        line = positions.get((tag,), (None, None, None))[1]
        if isinstance(unit, bool) or not isinstance(unit, str | int | float):
            raise ConfigError(f"the unit of '{tag}' must be a text such as K, bar or 1; got {unit!r}",
                              source=str(path), line=line, path=str(tag))
        out[str(tag).strip()] = str(unit)
    return out


def _row(q) -> dict:
    def listing(d: dict) -> str:
        return ", ".join(f"{t}: {n}" for t, n in d.items()) or "–"

    frozen = ", ".join(f"{t}: {len(r)} (longest {max(n for _, n in r)})" for t, r in q.frozen.items()) or "–"
    order = []
    if q.duplicate_times:
        order.append(f"{q.duplicate_times} repeated")
    if q.backward_times:
        order.append(f"{q.backward_times} backward")
    if order:
        order.append(f"first at row {q.first_time_fault_row}")
    return {"batch": q.batch, "samples": q.samples, "duration [h]": q.duration_s / 3600.0,
            "missing cells": listing(q.missing), "frozen runs": frozen, "out of range": listing(q.out_of_range),
            "time order": ", ".join(order) or "ok"}


def import_records(
    source: Path = typer.Argument(..., help="Batch records: .csv, .parquet or .xlsx; long or wide layout."),
    out: Path = typer.Option(..., "--out", "-o", help="Batch history to write (NetCDF, .nc)."),
    sheet: str = typer.Option(None, "--sheet", help="Sheet name or 0-based index of an .xlsx file (default: the first)."),
    batch_id: str = typer.Option(None, "--batch-id", help="Column with the batch id (default: batch_id)."),
    time: str = typer.Option(None, "--time", help="Column with the time: date-times or seconds "
                                                  "(default: timestamp or elapsed)."),
    sample_period: float = typer.Option(None, "--sample-period",
                                        help="Seconds between two rows of a batch, for a wide table without a "
                                             "time column."),
    phase: str = typer.Option(None, "--phase", help="Column (wide) or tag (long) with each sample's phase; a "
                                                    "column called 'phase' is taken without this option."),
    quality: Path = typer.Option(None, "--quality", help="Table with batch-level quality: the batch-id column "
                                                         "and one column per KPI."),
    units_file: Path = typer.Option(None, "--units", help="YAML mapping tag → unit, e.g. 'temperature: K'."),
    unit: list[str] = typer.Option([], "--unit", help="TAG=UNIT (repeatable); overrides --units and a units row."),
    ranges: list[str] = typer.Option([], "--range", help="TAG=LOW:HIGH plausible range in the tag's unit "
                                                         "(repeatable; a side may be empty)."),
    frozen: int = typer.Option(10, "--frozen", min=2,
                               help="Report a value repeated in at least this many consecutive samples."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Import batch records into a batch history (.nc); prints a per-batch data-quality summary first."""
    from golden_batch import data_quality_summary, read_batch_records, trajectory_variables
    from workbench.dataset import write_netcdf

    if out.suffix.lower() != ".nc":
        raise ConfigError(f"{out}: the batch history is written as NetCDF; give a file name ending in .nc",
                          path="--out")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: exists already; choose another name or give --overwrite to replace it",
                          path="--out")
    units = read_units_file(units_file) if units_file is not None else {}
    units.update(parse_assignments(unit, option="--unit"))
    bounds = {tag: parse_range(text, tag=tag) for tag, text in parse_assignments(ranges, option="--range").items()}
    records = read_batch_records(source, batch_id=batch_id, time=time, phase=phase,
                                 sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
                                 quality=quality, units=units or None, sample_period=sample_period)
    ds = records.data
    summary = data_quality_summary(ds, frozen=frozen, ranges=bounds, time_order=records.time_order)
    tags = [{"name": t, "units": str(ds[t].attrs.get("units", "1"))} for t in trajectory_variables(ds)]
    phases = [p for p in str(ds["phase"].attrs.get("phase_names", "")).split(",") if p] if "phase" in ds else []
    if not json_out:
        print_table([_row(q) for q in summary], title=f"data quality of {records.source} "
                                                      f"({records.layout} layout, units from {records.units_from})")
        print_table(tags, title="tags")
        if phases:
            console.print(f"phases: {', '.join(phases)}")
    tmp = out.with_name(f".{out.name}.part")
    try:
        write_netcdf(ds, tmp)
        os.replace(tmp, out)  # the old file is only replaced by a complete new one
    finally:
        tmp.unlink(missing_ok=True)
    if json_out:
        print_json({"source": records.source, "layout": records.layout, "units_from": records.units_from,
                    "output": str(out), "tags": tags, "phases": phases,
                    "quality_variables": [str(v) for v in ds.data_vars if ds[v].attrs.get("role") == "quality"],
                    "batches": [q.to_dict() for q in summary]})
    else:
        n_findings = sum(q.findings for q in summary)
        console_err.print(f"wrote {out}: {ds.sizes['batch']} batches, {len(tags)} tags"
                          + (f"; {n_findings} data-quality findings above" if n_findings else ""))
