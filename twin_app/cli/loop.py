"""``twin loop``: the whole quality loop, batch after batch, on the plant emulator (kind: batch-loop)."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, console_err, print_json, print_table


def loop(
    scenario: Path = typer.Argument(..., help="Loop scenario YAML (kind: batch-loop)."),
    out: Path = typer.Option(Path("out/loop"), "--out", "-o", help="Folder for the batch traces and loop.json."),
    batches: int = typer.Option(None, "--batches", help="Run this many batches (default: the scenario's)."),
    duration: str = typer.Option(None, "--duration", help="Plant time of one batch, e.g. '1 h' (default: the "
                                 "scenario's; the golden model is built for it)."),
    advise: bool = typer.Option(True, "--advise/--no-advise",
                                help="Let the twin advise the plant (--no-advise: the same batches without advice)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run batches of the emulated plant with the twin in the loop: golden judgement, look-ahead, advice, R2R.

    \b
    Each batch is served over OPC UA on 127.0.0.1 and followed by the twin in lock-step virtual
    time (reproducible from the scenario's seed). Writes out/loop/batch_NN.zarr (trace stores:
    `twin dashboard --trace`), out/loop/loop.json, and prints one line per batch and a table.
    """
    from twin import load_batch_loop, run_batch_loop

    overrides = {k: v for k, v in (("batches", batches), ("duration", duration)) if v is not None}
    sc = load_batch_loop(scenario, overrides=overrides or None)
    echo = console_err.print if as_json else console.print
    result = run_batch_loop(sc, out, echo=echo, advise=advise)
    if as_json:
        print_json(result.as_dict())
        return
    q = sc.quality
    spec = " … ".join(f"{v:g}" for v in (q.low, q.high) if abs(v) != float("inf")) or "none"
    rows = []
    for r in result.records:
        written = [p for p in r.proposals if p["status"] == "written"]
        rows.append({
            "batch": r.batch,
            **{k: f"{v:.4g}" for k, v in r.recipe.items()},
            q.variable: f"{r.quality:.4g}",
            "in spec": "yes" if r.in_spec else "NO",
            "alarms": ", ".join(r.alarms) or "-",
            "advice": "; ".join(f"{n} → {v:.3g} ({p['status']}, {p['at_min']:.0f} min)"
                                for p in r.proposals for n, v in p["changes"].items()) or "-",
            "written": len(written),
        })
    print_table(rows, title=f"{sc.name}: {len(rows)} batches ({q.variable} spec {spec})")
    inside = sum(r.in_spec for r in result.records)
    console.print(f"{inside} of {len(rows)} batches in spec; traces and loop.json in {out}")
