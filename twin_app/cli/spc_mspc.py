"""``twin spc mspc build|check``: PCA/PLS monitoring of a continuous process (T², SPE, contributions)."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table

app = typer.Typer(help="Multivariate SPC of continuous processes: PCA/PLS models with T² and SPE limits.",
                  no_args_is_help=True)

_NEEDS = "a table with one column per process variable (CSV or Parquet), optionally a time column"
_TIME_NAMES = ("time", "timestamp", "datetime", "date")


def read_process_table(path: Path, *, exclude: list[str] | None = None, columns: list[str] | None = None):
    """The DataFrame of a process table: numeric columns, indexed by its time column or file row.

    ``exclude`` names columns to leave out (each must exist); ``columns`` restricts the numeric
    columns read (a missing one is an error naming every missing column).
    """
    import pandas as pd

    from workbench.errors import DataError, did_you_mean
    from workbench.tables import read_table

    table = read_table(path, needs=_NEEDS)
    table.require_rows(f"give {_NEEDS}")
    have = table.columns
    for col in exclude or []:
        if col not in have:
            raise DataError(f"--exclude {col}: no such column; the columns are {', '.join(have)}. "
                            f"{did_you_mean(col, have)}", source=str(path))
    time_col = table.find(*_TIME_NAMES)
    if columns is not None:
        missing = [c for c in columns if c not in have]
        if missing:
            raise DataError(f"column(s) {', '.join(missing)} of the model are missing; the model needs "
                            f"{', '.join(columns)}", source=str(path))
        wanted = list(columns)
    else:
        wanted = [c for c in have if c != time_col and c not in set(exclude or [])]
    data = {c: table.numbers(c, what="a number (or an empty cell for a missing value)", allow_missing=True)
            for c in wanted}
    if time_col is not None:
        stamps = pd.to_datetime(pd.Series(table.cells(time_col)), errors="coerce", utc=True)
        bad = stamps.isna().to_numpy().nonzero()[0]
        if len(bad):
            raise table.error(f"{table.cells(time_col)[bad[0]]!r} is not a time stamp (ISO 8601 expected)",
                              i=int(bad[0]), column=time_col)
        index = pd.DatetimeIndex(stamps.dt.tz_convert(None), name="time")
    else:
        index = pd.Index([table.row(i) for i in range(len(table))], name="row")
    return pd.DataFrame(data, index=index), time_col


@app.command("build")
def build(
    data: Path = typer.Argument(..., help="Normal operating data: CSV/Parquet, one column per variable."),
    output: Path = typer.Option(Path("model.nc"), "-o", "--output", help="Model file to write (NetCDF)."),
    components: int = typer.Option(None, "--components", "-a", min=1,
                                   help="Number of components A (default: chosen by cross-validation)."),
    lags: int = typer.Option(0, "--lags", min=0, help="Dynamic PCA/PLS: previous samples appended (Ku et al. 1995)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Column to leave out (repeatable)."),
    scaling: str = typer.Option("autoscale", "--scaling", help="autoscale (unit variance), mean (centre only) or pareto."),
    y: list[str] = typer.Option([], "--y", help="Quality column for a PLS model (repeatable); none = PCA model."),
    alpha: float = typer.Option(0.01, "--alpha", help="False-alarm probability of the limits (0.01 = 99 %)."),
    spe_method: str = typer.Option("jackson-mudholkar", "--spe-method",
                                   help="SPE limit: jackson-mudholkar (residual eigenvalues) or box (cross-validated SPE)."),
    missing: str = typer.Option("tsr", "--missing", help="Scores of samples with missing values: tsr or pmp."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Fit a PCA (or, with --y, PLS) monitor on normal operating DATA and write it to a NetCDF model."""
    from spc import PCAMonitor, PLSMonitor
    from workbench.errors import DataError

    frame, _ = read_process_table(data, exclude=exclude)
    kw = {"n_components": components if components is not None else "cv", "scaling": scaling, "lags": lags,
          "alpha": alpha, "spe_method": spe_method, "missing": missing}
    model = PLSMonitor(list(y), **kw) if y else PCAMonitor(**kw)
    try:
        with console_err.status(f"fitting a {model._model.upper()} monitor on {len(frame)} samples"):
            model.fit(frame)
    except DataError as exc:
        raise DataError(exc.message, source=str(data)) from None
    model.save(output)
    summary = {
        "model": model._model, "data": str(data), "samples_used": model.n_samples_,
        "samples_not_used": model.n_incomplete_, "variables": len(model.variables_),
        "lagged_variables": len(model.lagged_variables_), "scaling": scaling,
        "components": model.n_components_, "components_by": "given" if components else "cross-validation (PRESS)",
        "alpha": alpha, "t2_limit": model.t2_limit_, "t2_limit_phase1": model.t2_limit_phase1_,
        "spe_limit": model.spe_limit_, "spe_limit_method": spe_method, "output": str(output),
    }
    if json_out:
        print_json(summary)
        return
    if model.n_incomplete_:
        console_err.print(f"note: {model.n_incomplete_} sample(s) with a missing value"
                          f"{' or without their lags' if lags else ''} were not used to fit (they are scored "
                          "by `twin spc mspc check` all the same)")
    print_table([{"quantity": k, "value": v} for k, v in summary.items()], title="MSPC model [T², SPE in 1]")


def _num(v) -> float | None:
    import math

    return None if math.isnan(float(v)) else float(v)


def _top(c, names: list[str], n: int) -> list[dict]:
    """The ``n`` largest contributions (by magnitude) of one sample, with their share of the statistic."""
    import numpy as np

    total = float(np.sum(c))
    order = np.argsort(-np.abs(c), kind="stable")[:n]
    return [{"variable": names[j], "contribution": float(c[j]),
             "share": float(c[j] / total) if total else 0.0} for j in order]


@app.command("check")
def check(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file written by `twin spc mspc build`."),
    data: Path = typer.Argument(..., help="Samples to check: CSV/Parquet with the model's columns."),
    top: int = typer.Option(3, "--top", min=1, help="Contributions listed per sample."),
    show_all: bool = typer.Option(False, "--all", help="List every sample in the table, not only alarms."),
    report: Path = typer.Option(None, "--report", help="Also write an HTML report (score plot, T²/SPE, contributions)."),
    fail_on_alarm: bool = typer.Option(False, "--fail-on-alarm", help="Exit 1 when any sample is above a limit."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Score DATA against the model: per sample T², SPE, their limits, a flag and the top contributions."""
    import numpy as np

    from spc import load_monitor
    from workbench.errors import DataError, DatasetError

    try:
        model = load_monitor(model_path)
    except DatasetError as exc:  # not a model file: the user gave the wrong file (exit 2)
        raise DataError(str(exc)) from None
    frame, time_col = read_process_table(data, columns=list(model.variables_))
    res = model.score_samples(frame)
    rows = []
    key = "time" if time_col is not None else "row"
    t2, spe, flag, n_miss = (res[v].values for v in ("t2", "spe", "flag", "n_missing"))
    t2_lim, spe_lim = float(res["t2_limit"]), float(res["spe_limit"])
    predicted = {str(v): res[v].values for v in res.data_vars if str(v).startswith("predicted_")}
    contrib = {"t2": res["t2_contribution"].values, "spe": res["spe_contribution"].values}
    names = [str(v) for v in res["variable"].values]
    for i, sample in enumerate(res["sample"].values):
        row = {key: (str(np.datetime_as_string(sample, unit="s")) if time_col is not None else int(sample)),
               "t2": _num(t2[i]), "t2_limit": t2_lim, "spe": _num(spe[i]), "spe_limit": spe_lim,
               "flag": str(flag[i]), "n_missing": int(n_miss[i]),
               "top_t2": _top(contrib["t2"][i], names, top), "top_spe": _top(contrib["spe"][i], names, top)}
        row.update({k: _num(v[i]) for k, v in predicted.items()})
        rows.append(row)
    n_alarm = int(np.sum((res["t2_alarm"] | res["spe_alarm"]).values))
    if report is not None:
        from viz.mspc_report import write_mspc_report

        write_mspc_report(model.to_dataset(), res, report)
    if json_out:
        print_json(rows)
    else:
        shown = rows if show_all else [r for r in rows if r["flag"] != "ok"]
        table = [{key: r[key], "T² [1]": r["t2"], "SPE [1]": r["spe"], "flag": r["flag"],
                  "top contributions": ", ".join(
                      f"{c['variable']} {100 * c['share']:.0f} %"
                      for c in (r["top_spe"] if "SPE" in r["flag"] else r["top_t2"]))} for r in shown]
        title = (f"{n_alarm} of {len(rows)} samples above a limit (T² limit {model.t2_limit_:.4g}, "
                 f"SPE limit {model.spe_limit_:.4g}, α = {model.alpha}; expected false alarms ≈ "
                 f"{len(rows) * (1 - (1 - model.alpha) ** 2):.1f})")
        if table:
            print_table(table, title=title)
        else:
            console.print(title)
        if report is not None:
            console_err.print(f"wrote {report}")
    if fail_on_alarm and n_alarm:
        raise typer.Exit(1)
