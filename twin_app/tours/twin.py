"""The twin part of ``make demo``: a live twin against the OPC UA plant emulator catching a fault."""

from __future__ import annotations

import json
from pathlib import Path

from twin import Twin, load_binding, lookahead

__all__ = ["demo_tour", "loop_tour"]

_ROOT = Path(__file__).resolve().parents[2]


def demo_tour(
    outdir: str | Path,
    *,
    speed: float = 300.0,
    bias_at: float = 1200.0,
    bias: float = 0.5,
    plant_time: float = 2400.0,
    lookahead_runs: int = 20,
    echo=print,
) -> list[Path]:
    """Serve the reactor plant over OPC UA, follow it with the twin, catch a sensor bias.

    The plant emulator (``scenarios/reactor_plant.yaml``, hidden parameters,
    noise) runs ``speed``× faster than real time on a free port of 127.0.0.1 with
    a ``bias`` K offset injected on ``TI_reactor`` at plant time ``bias_at``. The
    twin (``scenarios/reactor_twin.yaml``) reads it through an OPC UA
    subscription, writes its trace store and prints the alarm; then a
    Monte-Carlo look-ahead (uncertain U, ±10 %) predicts the end of the batch.
    Takes about 20–40 s.

    Parameters
    ----------
    outdir
        Folder for ``reactor_twin.zarr`` and ``twin_tour.json``.
    speed, bias_at, bias, plant_time
        Emulator speed-up, fault time (s), fault size (K), plant time to follow (s).
    lookahead_runs
        Monte-Carlo runs of the look-ahead.
    echo
        Print function.

    Returns
    -------
    list of pathlib.Path
        The trace store and the JSON summary.
    """
    from twin.emulator import PlantServer, free_port, load_plant_scenario
    from twin.sources import OpcUaSource

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twin/plant"
    sc = load_plant_scenario(
        _ROOT / "scenarios" / "reactor_plant.yaml",
        overrides={"drift": [], "faults": [{"kind": "bias", "tag": "TI_reactor", "at": bias_at, "value": bias}],
                   "duration": plant_time + 600.0},
    )
    b = load_binding(_ROOT / "scenarios" / "reactor_twin.yaml")
    trace_path = outdir / "reactor_twin.zarr"
    server = PlantServer(sc, endpoint=url, speed=speed, start_on_subscribe=True)
    echo(f"plant emulator: {sc.name} on {url}, {speed:g}x real time; +{bias:g} K bias on TI_reactor "
         f"at {bias_at / 60:.0f} min")
    server.start_thread()
    twin = Twin(b, trace=trace_path, time_kind="datetime", overwrite=True)  # the tour's own output
    src = OpcUaSource(url, [t.tag for t in b.tags] + [b.batch_time_tag], period=b.sample_period,
                      namespace=b.opcua.namespace, units={t.tag: t.unit for t in b.tags},
                      publishing_interval=0.05, time_scale=speed)
    alarm = {}

    def on_step(step):
        for ev in twin.detector.events:
            if ev.tag not in alarm:
                alarm[ev.tag] = ev
                echo(f"  ALARM {ev.kind} on {ev.tag} at plant time {(ev.start - server.anchor) / 60:.1f} min: "
                     f"residual {ev.direction * ev.magnitude:+.2f} {ev.unit}")
        if twin.batch_time >= plant_time:
            raise StopIteration

    try:
        twin.run(src, on_step=on_step)
    except StopIteration:
        pass
    finally:
        src.close()
        server.stop_thread()
    la = lookahead(twin.model, until=8 * 3600.0, outputs=["yield_C", "impurity_D", "T"], dt=60.0,
                   parameters=["U"], mean=[float(twin.model.parameters.get("U", 400.0))],
                   covariance=[[(0.1 * 400.0) ** 2]], n=lookahead_runs, seed=1)
    report = twin.close()
    echo(f"twin: {report.samples} samples over OPC UA, {len(report.events)} alarm event(s), "
         f"{report.syncs} state corrections; trace {trace_path}")
    echo(f"look-ahead from {twin.batch_time / 60:.0f} min to the end of the batch (8 h, {lookahead_runs} runs, "
         "inputs held):")
    for line in la.describe():
        echo("  " + line)
    summary = outdir / "twin_tour.json"
    summary.write_text(json.dumps({"report": report.as_dict(), "lookahead": la.summary,
                                   "bias_at_s": bias_at, "anchor": server.anchor}, indent=2, default=float))
    return [trace_path, summary]


def loop_tour(outdir: str | Path, *, batches: int = 2, echo=print) -> list[Path]:
    """``scenarios/reactor_loop.yaml`` for ``batches`` 1-hour batches, the second with the dosing-pump fault at 20 min.

    For 1-hour batches the R2R target is the impurity after 1 h at 345 K and the look-ahead runs every 15 min.

    The golden model is built from clean batches first (``outdir/golden.nc``); each batch is served
    over OPC UA and followed by the twin in lock-step virtual time; an operator confirms the twin's
    proposals; R2R sets the next batch's reactor set-point. Writes the batch traces and ``loop.json``.
    """
    from twin import load_batch_loop, run_batch_loop

    outdir = Path(outdir)
    fault = {"batch": 2, "fault": {"kind": "valve", "input": "F_B", "at": 1200.0, "value": 2.0}}
    sc = load_batch_loop(_ROOT / "scenarios" / "reactor_loop.yaml",
                         overrides={"batches": batches, "duration": "1 h", "faults": [fault],
                                    "golden.path": str(outdir / "golden.nc"), "golden.batches": 6,
                                    # impurity after 1 h at 345 K, and its gain per K (fmu_models/reactor)
                                    "r2r.target": 0.0103, "r2r.gains": {"T_sp": 0.0013},
                                    "twin_overrides": {"lookahead.every_min": 15}})
    result = run_batch_loop(sc, outdir, echo=lambda line: echo("  " + line))
    written = sum(p["status"] == "written" for r in result.records for p in r.proposals)
    echo(f"loop: {len(result.records)} batches, {written} proposal(s) confirmed and written; "
         f"{sum(r.in_spec for r in result.records)} in spec")
    return [outdir / "golden.nc", *(Path(r.trace) for r in result.records), outdir / "loop.json"]
