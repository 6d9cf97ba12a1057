"""``twin spc softsensor fit|predict`` and ``twin spc regimes``: learning from plant history."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table
from twin_app.cli.spc_mspc import _TIME_NAMES, read_process_table

softsensor_app = typer.Typer(
    help="Soft sensors (virtual metrology): a lab quality value predicted from process data, with a "
         "conformal interval and an applicability-domain flag.", no_args_is_help=True)

_GROUP_BY = ("day", "hour", "week")


def _raw_table(path: Path):
    from workbench.tables import read_table

    table = read_table(path, needs="a table with a header row, one column per variable")
    table.require_rows("give at least one data row")
    return table


def _check_groups(path: Path, table, groups: str | None, group_by: str | None, block: int | None) -> None:
    """Exactly one grouping option, naming something that exists (checked before the table is read)."""
    from workbench.errors import ConfigError, did_you_mean

    given = [o for o, v in (("--groups", groups), ("--group-by", group_by), ("--block", block)) if v is not None]
    if len(given) != 1:
        raise ConfigError(f"give exactly one of --groups COLUMN, --group-by {'|'.join(_GROUP_BY)} or --block N "
                          f"(got {', '.join(given) or 'none'}): cross-validation holds out whole batches or days, "
                          "never single rows")
    if groups is not None and groups not in table.columns:
        raise ConfigError(f"--groups {groups!r}: no such column in {path}; the columns are "
                          f"{', '.join(table.columns)}. {did_you_mean(groups, table.columns)}")
    if group_by is not None and group_by not in _GROUP_BY:
        raise ConfigError(f"--group-by {group_by!r}: use one of {', '.join(_GROUP_BY)}. "
                          f"{did_you_mean(str(group_by), _GROUP_BY)}")
    if group_by is not None and table.find(*_TIME_NAMES) is None:
        raise ConfigError(f"--group-by {group_by}: {path} has no time column ({', '.join(_TIME_NAMES)}); "
                          "use --groups COLUMN or --block N")


def _check_columns(path: Path, table, columns: list[str], option: str) -> None:
    from workbench.errors import DataError, did_you_mean

    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{option} {missing[0]}: no such column; the columns are {', '.join(table.columns)}. "
                        f"{did_you_mean(missing[0], table.columns)}", source=str(path))


def _groups(path: Path, frame, table, groups: str | None, group_by: str | None, block: int | None):
    """One group per row: a column, the day/hour/week of the time stamp, or blocks of consecutive rows."""
    import numpy as np
    import pandas as pd

    from workbench.errors import ConfigError

    if groups is not None:
        cells = table.cells(groups)
        empty = [i for i, c in enumerate(cells) if not str(c).strip()]
        if empty:
            raise table.error("empty group cell: every row needs its batch or day", i=empty[0], column=groups)
        return np.asarray(cells, dtype=str)
    if block is not None:
        return np.arange(len(frame)) // block
    if not isinstance(frame.index, pd.DatetimeIndex):  # (a time column that is not read as time stamps)
        raise ConfigError(f"--group-by {group_by}: {path} has no time column; use --groups COLUMN or --block N")
    freq = {"day": "D", "hour": "h", "week": "W"}[group_by]
    return frame.index.to_period(freq).astype(str).to_numpy()


@softsensor_app.command("fit")
def fit(
    data: Path = typer.Argument(..., help="History: CSV/Parquet with the process columns and the lab target (gaps allowed)."),
    target: str = typer.Option(..., "--target", "-y", help="The quality column to predict."),
    features: list[str] = typer.Option([], "--features", "-f", help="Input column (repeatable; default: every other numeric column)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Column to leave out of the default features (repeatable)."),
    lags: int = typer.Option(0, "--lags", min=0, help="Previous samples of every feature added as inputs."),
    groups: str = typer.Option(None, "--groups", help="Column naming the batch/day/campaign of each row."),
    group_by: str = typer.Option(None, "--group-by", help="Group rows by the day, hour or week of their time stamp."),
    block: int = typer.Option(None, "--block", min=1, help="Group N consecutive rows (data without batches or time)."),
    model: str = typer.Option("auto", "--model", help="auto (lower grouped-CV error), pls or hgb (gradient boosting)."),
    alpha: float = typer.Option(0.1, "--alpha", help="Interval miscoverage: 0.1 gives 90 % prediction intervals."),
    allow_leakage: bool = typer.Option(False, "--allow-leakage",
                                       help="Fit even when a feature equals the target shifted (it is then a real input)."),
    out: Path = typer.Option(Path("softsensor.nc"), "--out", "-o", help="Model file to write (NetCDF, .nc)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Fit a soft sensor: PLS and gradient boosting compared by grouped cross-validation, the better one kept."""
    from spc import SoftSensor
    from workbench.errors import ConfigError, DataError

    if out.suffix.lower() != ".nc":
        raise ConfigError(f"--out {out}: a soft sensor is saved as NetCDF (.nc), never pickled; use e.g. --out "
                          f"{out.with_suffix('.nc')}")
    table = _raw_table(data)
    _check_groups(data, table, groups, group_by, block)
    _check_columns(data, table, [target], "--target")
    _check_columns(data, table, [*features, *exclude], "--features/--exclude")
    drop = [c for c in [groups] if c and c in table.columns]
    frame, _ = read_process_table(data, exclude=[*drop, *exclude] if not features else drop,
                                  columns=[*features, target] if features else None)
    g = _groups(data, frame, table, groups, group_by, block)
    sensor = SoftSensor(target, features=list(features) or None, lags=lags, model=model, alpha=alpha,
                        allow_leakage=allow_leakage)
    try:
        with console_err.status(f"cross-validating soft sensors of {target} on {len(frame)} rows"):
            sensor.fit(frame, groups=g)
    except DataError as exc:
        raise DataError(exc.message, source=str(data), column_name=exc.column_name) from None
    sensor.save(out)
    summary = {**sensor.summary(), "data": str(data), "output": str(out)}
    if json_out:
        print_json(summary)
        return
    if sensor.leakage_:
        console_err.print(f"warning: leakage allowed: {summary['leakage_allowed']}")
    print_table([{"quantity": k, "value": v} for k, v in summary.items()],
                title=f"soft sensor of {target} (cross-validated RMSE in the target's unit)")


@softsensor_app.command("predict")
def predict(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model written by `twin spc softsensor fit`."),
    data: Path = typer.Argument(..., help="Process data: CSV/Parquet with the model's feature columns."),
    out: Path = typer.Option(None, "--out", "-o", help="Also write the predictions (.csv or .nc)."),
    show_all: bool = typer.Option(False, "--all", help="List every sample (default: the last 20)."),
    report: Path = typer.Option(None, "--report", help="Also write an HTML report (held-out fit, predictions, domain)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Predict the target for every row of DATA, with the conformal interval and a domain flag."""
    import math

    import numpy as np

    from spc import load_soft_sensor
    from workbench.errors import ConfigError, DataError, DatasetError

    try:
        sensor = load_soft_sensor(model_path)
    except DatasetError as exc:
        raise DataError(str(exc)) from None
    if out is not None and out.suffix.lower() not in (".csv", ".nc"):
        raise ConfigError(f"--out {out}: write predictions as .csv or .nc")
    table = _raw_table(data)
    cols = [*sensor.features_, *([sensor.target] if sensor.target in table.columns else [])]
    frame, time_col = read_process_table(data, columns=cols)
    res = sensor.predict(frame)
    key = "time" if time_col is not None else "row"

    def num(v):
        return None if math.isnan(float(v)) else float(v)

    rows = []
    for i, sample in enumerate(res["sample"].values):
        row = {key: str(np.datetime_as_string(sample, unit="s")) if time_col is not None else int(sample),
               "prediction": num(res["prediction"].values[i]), "lower": num(res["lower"].values[i]),
               "upper": num(res["upper"].values[i])}
        if "measured" in res:
            row["measured"] = num(res["measured"].values[i])
        row.update({"in_domain": bool(res["in_domain"].values[i]), "flag": str(res["flag"].values[i])})
        rows.append(row)
    if out is not None:
        if out.suffix.lower() == ".nc":
            from workbench.dataset import write_netcdf

            write_netcdf(res, out)
        else:
            import pandas as pd

            out.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(out, index=False)
    if report is not None:
        from viz.softsensor_report import write_softsensor_report

        write_softsensor_report(sensor.to_dataset(), res, report)
    if json_out:
        print_json(rows)
        return
    n_out = sum(not r["in_domain"] for r in rows)
    title = (f"{sensor.target} predicted by {sensor.model_.upper()} on {len(rows)} samples, "
             f"{100 * (1 - sensor.alpha):g} % interval ±{sensor.conformal_quantile_:.4g}; "
             f"{n_out} sample(s) flagged (out of domain or missing input)")
    print_table(rows if show_all else rows[-20:], title=title)
    for path in (out, report):
        if path is not None:
            console_err.print(f"wrote {path}")


def regimes(
    data: Path = typer.Argument(..., help="Continuous process data in time order: CSV/Parquet."),
    columns: list[str] = typer.Option([], "--columns", "-c", help="Column to segment on (repeatable; default: every numeric column)."),
    method: str = typer.Option("pelt", "--method", help="pelt (exact, penalised) or binseg (binary segmentation)."),
    penalty: float = typer.Option(None, "--penalty", help="Penalty per change point in noise-variance units (default: BIC)."),
    penalty_scale: float = typer.Option(1.0, "--penalty-scale", help="Factor on the BIC penalty (> 1: fewer change points)."),
    modes: str = typer.Option("auto", "--modes", help="auto (number of modes by BIC) or the number of modes."),
    min_size: int = typer.Option(None, "--min-size", min=2, help="Shortest segment in rows (default: max(5, n/200))."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the data with 'segment' and 'regime' columns (.csv or .nc)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Slice DATA into operating regimes: change points of the mean, then GMM modes of the segments."""
    from spc import find_regimes
    from workbench.errors import ConfigError, DataError

    if modes != "auto" and not (modes.isascii() and modes.isdigit() and int(modes) >= 1):
        raise ConfigError(f"--modes {modes!r}: use auto (chosen by BIC) or a whole number >= 1")
    if out is not None and out.suffix.lower() not in (".csv", ".nc"):
        raise ConfigError(f"--out {out}: write the labelled data as .csv or .nc")
    _check_columns(data, _raw_table(data), list(columns), "--columns")
    frame, time_col = read_process_table(data, columns=list(columns) or None)
    try:
        res = find_regimes(frame, list(columns) or None, method=method, penalty=penalty, penalty_scale=penalty_scale,
                           modes="auto" if modes == "auto" else int(modes), min_size=min_size)
    except DataError as exc:
        raise DataError(exc.message, source=str(data), column_name=exc.column_name) from None
    segs = res.segments()
    index = frame.index
    for s in segs:
        s["start"] = str(index[s["first_row"]])
        s["end"] = str(index[s["last_row"]])
    if out is not None:
        if out.suffix.lower() == ".nc":
            from workbench.dataset import write_netcdf

            write_netcdf(res.to_dataset(frame), out)
        else:
            import pandas as pd

            table = _raw_table(data)
            full = pd.DataFrame({c: table.cells(c) for c in table.columns})
            out.parent.mkdir(parents=True, exist_ok=True)
            full.assign(segment=res.segment, regime=res.regime).to_csv(out, index=False)
    summary = {"data": str(data), "columns": res.columns, "method": method, "penalty": res.penalty,
               "change_points": len(res.breakpoints), "segments": res.n_segments, "modes": res.n_modes,
               "bic": {str(k): v for k, v in res.bic.items()}, "segment_list": segs,
               "mode_means": {str(i): dict(zip(res.columns, m.tolist(), strict=True))
                              for i, m in enumerate(res.mode_means)}}
    if json_out:
        print_json(summary)
        return
    print_table([{"segment": s["segment"], "start": s["start"], "end": s["end"], "rows": s["rows"],
                  "regime": s["regime"]} for s in segs],
                title=f"{len(res.breakpoints)} change point(s), {res.n_segments} segments, {res.n_modes} regime(s) "
                      f"({method}, penalty {res.penalty:.3g}; modes by {'BIC' if modes == 'auto' else 'request'})")
    print_table([{"regime": i, **{c: round(v, 4) for c, v in zip(res.columns, m.tolist(), strict=True)}}
                 for i, m in enumerate(res.mode_means)], title="mean of each regime")
    if out is not None:
        console.print(f"wrote {out}")
