"""``twin spc ...``: quality analytics for continuous processes (control charts, capability, MSPC)."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli import spc_learn, spc_mspc
from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table

app = typer.Typer(help="Quality analytics for continuous processes: control charts, capability, multivariate SPC.",
                  no_args_is_help=True)

app.add_typer(spc_mspc.app, name="mspc")
app.add_typer(spc_learn.softsensor_app, name="softsensor")
app.command("regimes")(spc_learn.regimes)

_NEEDS = "a CSV or Parquet table with a header row and one numeric column per variable"
COLUMN_OPTION = typer.Option(..., "--column", "-c", help="The column to analyse.")
TIME_OPTION = typer.Option(None, "--time", help="Column with the time or label of each row (default: the row number).")
REPORT_OPTION = typer.Option(None, "--report", help="Write a self-contained HTML report here.")


def _table(data: Path):
    from workbench.tables import read_table

    table = read_table(data, needs=_NEEDS)
    table.require_rows(_NEEDS)
    return table


def _column(table, name: str, what: str) -> str:
    if name not in table.columns:
        raise table.missing_column(name, f"give {what} with --column")
    return name


def _subgroup(table, text: str | None) -> int | str | None:
    """``--subgroup``: a whole number (size) or a column name."""
    from workbench.errors import ConfigError

    if text is None:
        return None
    t = text.strip()
    if t.isascii() and t.isdigit():
        if int(t) < 1:
            raise ConfigError(f"--subgroup {text!r}: a subgroup size must be >= 1")
        return int(t)
    if t not in table.columns:
        raise ConfigError(f"--subgroup {text!r} is neither a whole number (subgroup size) nor a column of "
                          f"{table.source} (columns: {', '.join(table.columns)})")
    return t


def _labels(table, time: str | None) -> list[str]:
    if time is None:
        return [str(table.row(i)) for i in range(len(table))]
    _column(table, time, "the time column")
    return table.cells(time)


def _wrap(exc: ValueError, data: Path, column: str | None):
    from workbench.errors import DataError

    return DataError(str(exc), source=str(data), column_name=column)


@app.command("chart")
def chart_cmd(
    data: Path = typer.Argument(..., help="CSV or Parquet table."),
    column: str = COLUMN_OPTION,
    subgroup: str = typer.Option(
        None, "--subgroup", "-n",
        help="X-bar charts: subgroup size N (consecutive rows) or a column of subgroup labels. "
             "p, np, u charts: the number inspected per row, N or a column."),
    chart: str = typer.Option(None, "--type", "-t",
                              help="imr, xbar-r, xbar-s, p, np, c, u, ewma or cusum "
                                   "(default: the limits file's, else imr, or xbar-r with --subgroup)."),
    rules: str = typer.Option("western-electric", "--rules",
                              help="Run rules on the primary chart: western-electric, nelson, none, "
                                   "or a comma list such as WE1,WE2 or N1,N2,N3."),
    phase1: bool = typer.Option(True, "--phase1/--no-drop",
                                help="Phase I: drop points beyond the limits as assignable causes and "
                                     "re-estimate (default); --no-drop keeps every point."),
    limits: Path = typer.Option(None, "--limits", help="Phase II: monitor against these limits (JSON/YAML)."),
    save_limits: Path = typer.Option(None, "--save-limits", help="Write the Phase I limits here (.json or .yaml)."),
    center: float = typer.Option(None, "--center",
                                 help="Phase II from options: the process mean (p-bar, c-bar, u-bar for attribute charts)."),
    sigma: float = typer.Option(None, "--sigma", help="Phase II from options: the process σ (variables charts)."),
    time: str = TIME_OPTION,
    remedy: str = typer.Option("none", "--remedy",
                               help="For autocorrelated individuals: none, residuals (AR model) or batch-means."),
    ar_order: int = typer.Option(1, "--ar-order", min=1, max=20, help="Order p of the AR(p) model of --remedy residuals."),
    batch_size: int = typer.Option(None, "--batch-size", min=1,
                                   help="Batch size of --remedy batch-means (default: chosen from the data)."),
    lam: float = typer.Option(0.2, "--lambda", min=0.0, max=1.0, help="EWMA weight λ in (0, 1]."),
    ewma_l: float = typer.Option(2.962, "--ewma-l", min=0.0, help="EWMA limit width L (σ of the EWMA)."),
    k: float = typer.Option(0.5, "--k", min=0.0, help="CUSUM reference value k (σ units)."),
    h: float = typer.Option(5.0, "--h", min=0.0, help="CUSUM decision interval h (σ units)."),
    unit: str = typer.Option("", "--unit", help="Unit of the column, for the output."),
    report: Path = REPORT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Control chart of one column: limits, run-rule signals, Phase I drops, autocorrelation check.

    \b
    Exit code 0 also when the chart signals (the signals are the result); bad
    input (a missing column, a non-numeric cell, too few points, subgroups of
    one on an X-bar chart, negative counts) exits with code 2.
    """
    import numpy as np

    from spc import CHART_TYPES, control_chart, load_limits, rule_set
    from workbench.errors import ConfigError, WorkbenchError

    rule_names = rule_set(rules)
    if remedy not in ("none", "residuals", "batch-means"):
        raise ConfigError(f"--remedy {remedy!r}: use none, residuals or batch-means")
    if not 0 < lam <= 1:
        raise ConfigError(f"--lambda {lam}: the EWMA weight must be in (0, 1]")
    if limits is not None and (center is not None or sigma is not None):
        raise ConfigError("give the Phase II limits either as --limits FILE or as --center/--sigma, not both")
    lim = load_limits(limits) if limits is not None else None
    if center is not None or sigma is not None:
        from spc import ChartLimits

        if center is None:
            raise ConfigError("--sigma needs --center (the process mean) for Phase II limits")
        fields = {"chart": (chart or ("xbar-r" if subgroup and subgroup.strip() not in ("", "1") else "imr")).lower(),
                  "center": center, "sigma": sigma}
        if fields["chart"] == "np" and subgroup and subgroup.strip().isascii() and subgroup.strip().isdigit():
            fields["subgroup_size"] = int(subgroup)
        fields.update({"lam": lam, "L": ewma_l} if fields["chart"] == "ewma" else {})
        fields.update({"k": k, "h": h} if fields["chart"] == "cusum" else {})
        lim = ChartLimits.from_dict({key: v for key, v in fields.items() if v is not None}, source="--center/--sigma")
    table = _table(data)
    _column(table, column, "the column to chart")
    sub = _subgroup(table, subgroup)
    kind = (chart or (lim.chart if lim else ("xbar-r" if isinstance(sub, str) or (sub or 1) > 1 else "imr"))).lower()
    if kind not in CHART_TYPES:
        raise ConfigError(f"--type {chart!r}: use one of {', '.join(CHART_TYPES)}")
    if lim is not None and lim.chart != kind:
        raise ConfigError(f"--type {kind} but {limits} holds limits of a {lim.chart} chart", source=str(limits))
    attribute = kind in ("p", "np", "c", "u")
    values = table.numbers(column, what="a count >= 0" if attribute else "a number",
                           minimum=0 if attribute else None, integer=kind in ("p", "np", "c"))
    labels = _labels(table, time)
    kw: dict = {}
    if attribute:
        if isinstance(sub, str):
            kw["sizes"] = table.numbers(sub, what="the number inspected (> 0)", minimum=0, strict_minimum=True)
        elif sub is not None:
            kw["sizes"] = float(sub)
        elif kind != "c":
            raise ConfigError(f"a {kind} chart needs the number inspected per row: --subgroup N or --subgroup COLUMN")
    elif sub is not None:
        kw["subgroups"] = sub if isinstance(sub, int) else table.cells(sub)
        if kind == "imr" and sub != 1:
            raise ConfigError("--subgroup with --type imr: an individuals chart has no subgroups; use --type xbar-r "
                              "or xbar-s (or ewma/cusum of subgroup means)")
        if sub == 1:
            kw.pop("subgroups")
    try:
        result = control_chart(values, chart=kind, labels=labels, rules=rule_names, limits=lim, drop=phase1,
                               lam=lam, L=ewma_l, k=k, h=h, remedy=remedy, ar_order=ar_order, batch_size=batch_size,
                               column=column, unit=unit, **kw)
    except WorkbenchError:
        raise
    except ValueError as exc:
        raise _wrap(exc, data, column) from None
    if save_limits is not None:
        if result.phase != 1:
            raise ConfigError("--save-limits needs Phase I (limits estimated from the data), not --limits")
        result.limits.save(save_limits)
    if report is not None:
        from viz.spc_report import write_chart_report

        write_chart_report(report, result, source=str(data))
    if as_json:
        out = result.summary()
        out.update({"data": str(data), "report": str(report) if report else None,
                    "saved_limits": str(save_limits) if save_limits else None})
        print_json(out)
        return
    u = f" {unit}" if unit else ""
    rows = []
    for s in (result.primary, result.secondary):
        if s is None:
            continue
        lo, cl, hi = (s.lcl, s.center, s.ucl)
        const = all(np.allclose(a, a[0], equal_nan=True) for a in (lo, cl, hi))
        fmt = (lambda a: f"{a[0]:.6g}") if const else (lambda a: f"{np.nanmin(a):.6g} … {np.nanmax(a):.6g}")
        rows.append({"chart": s.name, "LCL": fmt(lo) if np.isfinite(lo).any() else "-", "centre": fmt(cl),
                     "UCL": fmt(hi), "unit": s.unit or unit or "-"})
    lm = result.limits
    sig = f"σ = {lm.sigma:.6g}{u} ({lm.sigma_method})" if lm.sigma is not None else lm.sigma_method
    print_table(rows, title=f"{data.name} {column}: {kind} chart, Phase {result.phase}, {len(result.labels)} points; "
                            f"{sig}")
    if result.dropped:
        print_table(result.dropped, title="Phase I: dropped as assignable causes",
                    columns=["iteration", "label", "value", "reason"])
    if result.signals:
        print_table([s.as_dict() for s in result.signals], title=f"signals ({len(result.signals)})",
                    columns=["rule", "description", "chart", "label", "value"])
    else:
        console.print("no signals: in statistical control under the chosen rules", highlight=False)
    for note in result.notes:
        console_err.print(note, highlight=False, markup=False)
    for p in (save_limits, report):
        if p is not None:
            console.print(f"wrote {p}", highlight=False)


@app.command("capability")
def capability_cmd(
    data: Path = typer.Argument(..., help="CSV or Parquet table."),
    column: str = COLUMN_OPTION,
    lsl: float = typer.Option(None, "--lsl", help="Lower spec limit (in the column's unit)."),
    usl: float = typer.Option(None, "--usl", help="Upper spec limit."),
    target: float = typer.Option(None, "--target", help="Target for Cpm (default: the middle of the specs)."),
    subgroup: str = typer.Option(
        None, "--subgroup", "-n",
        help="Subgroup size N or a column of subgroup labels: σ within = pooled subgroup σ "
             "(default: MR-bar/d2 of consecutive values)."),
    method: str = typer.Option("normal", "--method",
                               help="normal; for non-normal data (chosen explicitly) box-cox or clements (Pearson-curve percentiles)."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of the two-sided intervals, e.g. 0.9."),
    unit: str = typer.Option("", "--unit", help="Unit of the column, for the output."),
    report: Path = REPORT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Process capability: Cp, Cpk, Pp, Ppk, Cpm with confidence intervals and expected ppm out of spec.

    \b
    σ within (short term, for Cp/Cpk): MR-bar/d2, or the pooled subgroup σ with --subgroup;
    σ overall (Pp/Ppk/Cpm): the sample standard deviation. Intervals: chi-square (Cp, Pp),
    Bissell 1990 (Cpk, Ppk, one-sided), Boyles 1991 (Cpm).
    """
    from spc import CAPABILITY_METHODS, capability
    from workbench.errors import ConfigError, WorkbenchError

    if method not in CAPABILITY_METHODS:
        raise ConfigError(f"--method {method!r}: use one of {', '.join(CAPABILITY_METHODS)}")
    if lsl is None and usl is None:
        raise ConfigError("give at least one spec limit: --lsl and/or --usl")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ConfigError(f"--lsl {lsl:g} must be below --usl {usl:g}")
    if not 0 < confidence < 1:
        raise ConfigError(f"--confidence {confidence}: use a level in (0, 1), e.g. 0.95")
    table = _table(data)
    _column(table, column, "the measured column")
    sub = _subgroup(table, subgroup)
    values = table.numbers(column, what="a measurement")
    try:
        cap = capability(values, lsl=lsl, usl=usl, target=target, method=method, confidence=confidence,
                         subgroups=None if sub is None else (sub if isinstance(sub, int) else table.cells(sub)),
                         column=column, unit=unit)
    except WorkbenchError:
        raise
    except ValueError as exc:
        raise _wrap(exc, data, column) from None
    if report is not None:
        from viz.spc_report import write_capability_report

        write_capability_report(report, cap, source=str(data))
    if as_json:
        out = cap.summary()
        out.update({"data": str(data), "report": str(report) if report else None})
        print_json(out)
        return
    u = f" {unit}" if unit else ""
    specs = ", ".join(f"{k} {v:g}{u}" for k, v in (("LSL", lsl), ("USL", usl), ("target", cap.target)) if v is not None)
    console.print(f"{data.name} {column}: n = {cap.n}, mean {cap.mean:.6g}{u}; {specs}", highlight=False)
    console.print(f"σ within {cap.sigma_within:.4g}{u} ({cap.sigma_method}); σ overall {cap.sigma_overall:.4g}{u} "
                  f"(sample standard deviation)", highlight=False)
    print_table(cap.rows(), title=f"capability ({confidence:.0%} intervals)", columns=["index", "estimate", "lower", "upper"])
    print_table([{"ppm": k.replace("_", " "), "below LSL": v["below_lsl"], "above USL": v["above_usl"],
                  "total": v["total"]} for k, v in cap.ppm.items()], title="out of spec [ppm]")
    for note in cap.notes:
        console_err.print(note, highlight=False, markup=False)
    if report is not None:
        console.print(f"wrote {report}", highlight=False)


@app.command("corr")
def corr_cmd(
    data: Path = typer.Argument(..., help="CSV or Parquet table, rows in time order."),
    target: str = typer.Option(..., "--target", "-y", help="The quality column."),
    lags: int = typer.Option(0, "--lags", "-k", min=0, help="Largest lag K (samples) of the process before the quality."),
    columns: str = typer.Option(None, "--columns", help="Comma list of process columns (default: every numeric column)."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of the Fisher z intervals."),
    top: int = typer.Option(None, "--top", min=1, help="Show only the first N of the ranking (tables; JSON has all)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank process columns by their strongest correlation with a quality column, lags 0..K.

    \b
    r at lag k: Pearson correlation of process(t-k) with quality(t). p: t-test, Bonferroni-
    adjusted over the K+1 lags; interval: Fisher z. Autocorrelated series make p too small:
    the lag-1 autocorrelation of each column is shown.
    """
    import numpy as np

    from spc import lagged_correlation
    from workbench.errors import ConfigError, DataError

    if not 0 < confidence < 1:
        raise ConfigError(f"--confidence {confidence}: use a level in (0, 1), e.g. 0.95")
    table = _table(data)
    if target not in table.columns:
        raise table.missing_column(target, "give the quality column with --target")
    y = table.numbers(target, what="a number (the quality)", allow_missing=True)
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    cols, skipped = {}, {}
    for name in wanted or table.columns:
        if name == target:
            continue
        if name not in table.columns:
            raise table.missing_column(name, "every --columns name must be a column")
        try:
            cols[name] = table.numbers(name, allow_missing=True)
        except DataError as exc:
            if wanted:
                raise
            skipped[name] = f"not numeric ({exc.message})"
    cols[target] = y
    try:
        res = lagged_correlation(cols, target, lags=lags, confidence=confidence)
    except ValueError as exc:
        raise _wrap(exc, data, target) from None
    res.skipped.update(skipped)
    if as_json:
        out = res.summary()
        out["data"] = str(data)
        print_json(out)
        return
    rows = [{"rank": i + 1, "column": c.column, "best lag": c.lag, "r": c.r,
             f"{confidence:.0%} CI": f"[{c.lower:.3f}, {c.upper:.3f}]", "p (adj.)": f"{c.p_adjusted:.2g}",
             "signif.": "yes" if c.significant else "no", "r lag 0": c.r_lag0,
             "autocorr. lag 1": c.lag1_autocorrelation}
            for i, c in enumerate(res.rows[:top] if top else res.rows)]
    print_table(rows, title=f"{data.name}: correlation with {target} (y at t vs x at t-lag, lags 0..{lags}); "
                            f"{target} lag-1 autocorr. {res.target_lag1_autocorrelation:.2f}")
    for name, why in res.skipped.items():
        console_err.print(f"skipped {name}: {why}", highlight=False, markup=False)
    if np.isfinite(res.target_lag1_autocorrelation) and abs(res.target_lag1_autocorrelation) > 0.5:
        console_err.print("note: the quality column is strongly autocorrelated; p-values are too small "
                          "(prewhiten the series before trusting significance)", highlight=False)
