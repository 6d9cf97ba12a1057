"""``twin golden``: build golden-batch envelopes from history, check batches, write reports."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import (
    DASK_OPTION,
    JSON_OPTION,
    WORKERS_OPTION,
    console,
    console_err,
    open_executor,
    print_json,
    print_table,
)

app = typer.Typer(help="Golden-batch envelopes and multivariate batch models (build, check, report).",
                  no_args_is_help=True)


# `twin golden build` shortcut flag → field of the golden-build config (part.parameter)
SHORTCUTS = {"select": "selection.spec", "alignment": "aligner.method", "indicator": "aligner.indicator",
             "alpha": "mpca.alpha", "k_sigma": "envelope.k", "n_components": "mpca.n_components"}

PHASE_OPTION = typer.Option(None, "--phase", help=(
    "Column (wide table) or tag (long table) with each sample's phase (numbers or names); a column called "
    "'phase' is taken as the phase without this option. DTW then aligns phase by phase."))
TIME_OPTION = typer.Option(None, "--time", help="Time column of a wide table not called timestamp or elapsed.")
PERIOD_OPTION = typer.Option(None, "--sample-period", help=(
    "Seconds between samples: the --time column (or the row order in each batch) counts samples."))
SHEET_OPTION = typer.Option(None, "--sheet", help="Sheet name or 0-based index of an .xlsx history (default: the first).")

SET_OPTION = typer.Option([], "--set", "-s", help=(
    "Any part parameter PART.PARAM=VALUE (repeatable), parts and parameters as in GoldenBatchModel: "
    "selection, aligner, envelope, mpca, quality_model; e.g. --set aligner.window=0.3 "
    "--set envelope.method=union --set quality_model=drop."))


def _model_from_options(config: Path | None, sets: list[str] | None = None, **options):
    """The model of a golden-build config (or the defaults), edited by the shortcut flags and ``--set``."""
    import warnings

    from golden_batch import GoldenBuildConfig
    from workbench.config import (
        ResolvedConfig,
        apply_overrides,
        load_config,
        parse_override_args,
        validate_config,
    )

    with warnings.catch_warnings(record=True) as caught:  # deprecated flat keys: tell the person at the terminal
        warnings.simplefilter("always", DeprecationWarning)
        cfg = load_config(config, GoldenBuildConfig) if config is not None else GoldenBuildConfig()
    for w in caught:
        if issubclass(w.category, DeprecationWarning):
            console_err.print(f"[yellow]note:[/yellow] {config}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    changes = {SHORTCUTS[k]: v for k, v in options.items() if v is not None}
    changes.update(parse_override_args(sets or []))
    if changes:
        data = ResolvedConfig(cfg.model_dump(), source="command line")
        apply_overrides(data, changes)
        cfg = validate_config(data.data, GoldenBuildConfig, source="command line")
    return cfg.model()


@app.command("build")
def build(
    history: Path = typer.Argument(..., help="Batch history: .nc, a .zarr store, or long/wide .csv/.parquet/.xlsx."),
    select: str = typer.Option(None, "--select", help='KPI spec, e.g. "yield >= 0.9 and impurity < 0.02".'),
    output: Path = typer.Option(Path("envelope.nc"), "-o", "--output", help="Model file to write (NetCDF)."),
    config: Path = typer.Option(None, "--config", help="YAML with kind: golden-build settings (one mapping per part)."),
    quality: Path = typer.Option(None, "--quality", help="Table batch_id,<kpi>… with batch-level quality."),
    alignment: str = typer.Option(None, "--alignment", help="dtw, elapsed or indicator (= --set aligner.method=...)."),
    indicator: str = typer.Option(None, "--indicator",
                                  help="Maturity variable for --alignment indicator (= --set aligner.indicator=...)."),
    alpha: float = typer.Option(None, "--alpha",
                                help="False-alarm probability of the limits, e.g. 0.01 (= --set mpca.alpha=...)."),
    k_sigma: float = typer.Option(None, "--k-sigma",
                                  help="Envelope half width in standard deviations (= --set envelope.k=...)."),
    n_components: float = typer.Option(None, "--n-components",
                                       help="MPCA components, or variance fraction < 1 (= --set mpca.n_components=...)."),
    sets: list[str] = SET_OPTION,
    chunk: int = typer.Option(None, "--chunk", help="Batches per chunk: read a .zarr history lazily, chunk by chunk.",
                              min=1),
    phase: str = PHASE_OPTION,
    time: str = TIME_OPTION,
    sample_period: float = PERIOD_OPTION,
    sheet: str = SHEET_OPTION,
    dask: str = DASK_OPTION,
    workers: int = WORKERS_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Select golden batches from HISTORY and write their envelope and batch model."""
    from golden_batch import read_history

    data = read_history(history, quality=quality, chunks={"batch": chunk} if chunk else None, phase=phase,
                        sheet=sheet, time=time, sample_period=sample_period)
    model = _model_from_options(config, sets, select=select, alignment=alignment, indicator=indicator, alpha=alpha,
                                k_sigma=k_sigma, n_components=n_components)
    with open_executor(dask=dask, workers=workers) as ex, \
            console.status(f"fitting golden-batch model on {data.sizes['batch']} batches"):
        model.fit(data, executor=ex)
    model.save(output)
    table = model.selection_.table
    summary = {
        "history": str(history), "batches": int(len(table)), "meeting_spec": int(table["meets_spec"].sum()),
        "outliers": int(table["outlier"].sum()), "operating_modes": model.selection_.n_modes,
        "golden_batches": int(table["selected"].sum()), "components": int(model.mpca_.n_components_),
        "t2_limit": float(model.mpca_.t2_limit_), "spe_limit": float(model.mpca_.spe_limit_),
        "output": str(output),
    }
    if json_out:
        print_json({"summary": summary, "selection": table.reset_index().to_dict(orient="records")})
        return
    rows = table.reset_index()
    cols = [c for c in ("batch", *[q for q in table.columns if q not in
                                   ("meets_spec", "t2", "spe", "outlier", "mode", "selected", "reason")],
                        "selected", "reason") if c in rows.columns]
    print_table(rows.to_dict(orient="records"), columns=cols, title="golden-batch selection")
    print_table([{"quantity": k, "value": v} for k, v in summary.items()], title="model [T², SPE in 1]")


@app.command("check")
def check(
    envelope: Path = typer.Argument(..., help="Model file written by `twin golden build`."),
    batch: Path = typer.Argument(..., help="Batch(es) to check: .nc, .csv, .parquet or .xlsx."),
    min_inside: float = typer.Option(None, "--min-inside", help=(
        "Accept a batch whose fraction of time inside the simultaneous envelope is at least this "
        "(default: every sample must be inside, as the report's in_envelope column)."), min=0.0, max=1.0),
    phase: str = PHASE_OPTION,
    time: str = TIME_OPTION,
    sample_period: float = PERIOD_OPTION,
    sheet: str = SHEET_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Check complete batches against the envelope, T² and SPE; exit 0 if all are inside, 1 otherwise.

    The envelope test is simultaneous over all time points and variables at the model's α
    (Bonferroni prediction band, widened to the conformal quantile of the reference batches'
    leave-one-out max |z|; docs/golden-batch.md), the same "in envelope" as the report table.
    """
    from golden_batch import GoldenBatchModel, read_history

    model = GoldenBatchModel.load(envelope)
    data = read_history(batch, phase=phase, sheet=sheet, time=time, sample_period=sample_period)
    aligned = model.align(data)
    res = model.check(data)
    contrib = model.mpca_.contributions(aligned)
    share = (contrib["t2_contribution"].clip(min=0) / res["t2"] + contrib["spe_contribution"] / res["spe"]).sum("time")
    rows, records = [], []
    for b in res["batch"].values:
        r = res.sel(batch=b)
        outside = float(r["envelope_outside_fraction"])
        reasons = []
        if float(r["t2"]) > float(r["t2_limit"]):
            reasons.append("T² above limit")
        if float(r["spe"]) > float(r["spe_limit"]):
            reasons.append("SPE above limit")
        if (min_inside is None and not bool(r["in_envelope"])) or (min_inside is not None and 1 - outside < min_inside):
            reasons.append(f"outside envelope {100 * outside:.0f} % of the time")
        verdict = "in" if not reasons else "OUT: " + "; ".join(reasons)
        row = {"batch": str(b), "outside envelope [%]": 100 * outside,
               "T² [1]": float(r["t2"]), "T² limit [1]": float(r["t2_limit"]),
               "SPE [1]": float(r["spe"]), "SPE limit [1]": float(r["spe_limit"])}
        top = share.sel(batch=b).to_series().sort_values(ascending=False).index[:3].tolist()
        record = {"batch": str(b), "verdict": verdict, "t2": float(r["t2"]), "t2_limit": float(r["t2_limit"]),
                  "spe": float(r["spe"]), "spe_limit": float(r["spe_limit"]), "in_envelope": bool(r["in_envelope"]),
                  "envelope_outside_fraction": outside, "top_contributors": [str(v) for v in top]}
        for v in res.data_vars:
            if str(v).startswith("predicted_"):
                kpi = str(v)[10:]
                row[f"{v} [{data[kpi].attrs.get('units', '1') if kpi in data else '1'}]"] = float(r[v])
                record[str(v)] = float(r[v])
        row["verdict"] = verdict
        rows.append(row)
        records.append(record)
    if json_out:
        print_json(records)
    else:
        print_table(rows, title=f"check against {envelope.name} (α = {model.mpca_.alpha}; envelope simultaneous "
                                f"over time and variables, ±{float(res['envelope_factor']):.2f} σ)")
    if any(r["verdict"] != "in" for r in records):
        raise typer.Exit(code=1)


@app.command("report")
def report(
    envelope: Path = typer.Argument(..., help="Model file written by `twin golden build`."),
    batch: Path = typer.Option(None, "--batch", help="Batch(es) to show against the envelope."),
    output: Path = typer.Option(Path("golden-report.html"), "-o", "--output", help="HTML file to write."),
    phase: str = PHASE_OPTION,
    time: str = TIME_OPTION,
    sample_period: float = PERIOD_OPTION,
    sheet: str = SHEET_OPTION,
) -> None:
    """Write a self-contained HTML report: envelopes, T²/SPE charts, selection table."""
    from golden_batch import GoldenBatchModel, read_history
    from viz.golden_report import write_golden_report
    from workbench.dataset import read_netcdf

    model_ds = read_netcdf(envelope)
    kwargs = {}
    if batch is not None:
        model = GoldenBatchModel.from_dataset(model_ds)
        data = read_history(batch, phase=phase, sheet=sheet, time=time,
                        sample_period=sample_period)
        aligned = model.align(data)
        kwargs = {"aligned": aligned, "check": model.check(data), "monitor": model.monitor_aligned(aligned),
                  "contributions": model.mpca_.contributions(aligned)}
    path = write_golden_report(model_ds, output, **kwargs)
    console.print(f"wrote {path}")


from twin_app.cli.golden_import import import_records  # noqa: E402 - a command of its own module

app.command("import")(import_records)
