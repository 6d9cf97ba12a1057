"""The whole quality loop, batch after batch: plant → twin → golden-batch judgement → look-ahead → advice → R2R.

A ``kind: batch-loop`` scenario (:class:`BatchLoopScenario`) names a plant emulator scenario and a
twin binding. :func:`run_batch_loop` runs ``batches`` batches; for each one

1. the emulator serves the batch over OPC UA on 127.0.0.1 (a real asyncua server) with the
   parameters drifted by ``per_batch`` × (batch − 1) (e.g. fouling of the jacket), the batch's
   scripted ``faults`` and the recipe the run-to-run controller chose;
2. the twin follows it through an OPC UA subscription: golden-batch scoring, look-ahead against the
   envelope, residual alarms, trace store per batch;
3. when a projection alarms, the twin searches its advised set-points and proposes a change
   (:meth:`~twin.Twin.attach_advice`); in ``recommend`` mode the scenario's operator confirms it
   through :func:`~twin.confirm_proposal` (the path of ``twin plant confirm`` and the dashboard),
   the twin checks limits and rate again and writes the set-point, which the plant's physics takes;
4. at the end the batch's quality is "measured" (the plant's value of ``quality.variable`` with
   lab noise) and the EWMA (double-EWMA) run-to-run controller (:class:`~optimization.R2RController`,
   stability checked when configured) sets the next batch's recipe.

Plant and twin run on one virtual clock in lock-step (:class:`~twin.PacedClock`, lead 1 sample):
the plant steps only once the twin has taken its samples, so a set-point written while the twin
processes a sample takes effect at the same plant time whatever the machine's speed; every result
is reproducible from ``seed``. The golden-batch model is built first, when its file does not exist,
from ``golden.batches`` clean batches of the same plant (no drift, no faults; recipe inputs spread
as ``golden.spread`` says), each served in process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from workbench.config import WorkbenchModel, load_config
from workbench.errors import ConfigError
from workbench.units import Duration

__all__ = ["BatchLoopScenario", "BatchRecord", "LoopResult", "load_batch_loop", "run_batch_loop"]

_T0 = 1.8e9  # plant epoch of the first batch (virtual time); batch k starts _BATCH_GAP × (k - 1) later
_BATCH_GAP = 86400.0


class LoopGolden(WorkbenchModel):
    """The golden-batch model of the loop (built from clean emulated batches when the file is missing)."""

    path: str | None = Field(None, description="Model file (relative: to the working folder); default: "
                             "golden_<batch seconds>s.nc in the loop's output folder")
    batches: int = Field(8, ge=6, description="Clean batches the model is built from (a golden model needs 6)")
    spread: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Plant input → [low, high]: the golden batches' recipes spread evenly over "
        "it (common-cause variation the envelope should allow)")
    components: int = Field(2, ge=1, description="Principal components of the batch PCA")


class LoopQuality(WorkbenchModel):
    """The batch-end quality: the plant's value of an FMU variable at discharge, measured with lab noise."""

    variable: str = Field(description="FMU variable of the plant (e.g. impurity_D)")
    noise: float = Field(0.0, ge=0, description="Standard deviation of the lab measurement")
    low: float = Field(-np.inf, description="Lower spec limit")
    high: float = Field(np.inf, description="Upper spec limit")


class LoopR2R(WorkbenchModel):
    """EWMA / double-EWMA run-to-run control of the recipe between batches (optimization.R2RConfig)."""

    target: float
    gains: dict[str, float] = Field(description="Plant input (recipe parameter) → model gain b (quality per unit)")
    lam: float = Field(0.3, description="EWMA weight of the offset estimate")
    lam2: float | None = Field(None, description="EWMA weight of the drift estimate (double EWMA); None: EWMA")
    limits: dict[str, tuple[float, float]] = Field(default_factory=dict)
    gain_ratio: tuple[float, float] = Field((1.0, 1.0), description="Range of true/model gain the loop must be "
                                            "stable for (Ingolfsson & Sachs 1993)")


class LoopFault(WorkbenchModel):
    """A fault scripted in one batch (any fault of the plant scenario's ``faults:``)."""

    batch: int = Field(ge=1)
    fault: dict[str, Any]


class BatchLoopScenario(WorkbenchModel):
    """``kind: batch-loop``: batches of an emulated plant with the twin in the loop (module notes)."""

    name: str = "batch-loop"
    plant: str = Field(description="Plant emulator scenario (kind: plant-emulator), relative to this file")
    twin: str = Field(description="Twin binding (kind: twin-binding) with golden:, lookahead:, advice:")
    twin_overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted edits of the twin binding for "
                                           "this loop, e.g. {lookahead.every_min: 15, advice.min_improvement: 0.1}")
    batches: int = Field(5, ge=1)
    duration: Duration = Field("2 h", description="Plant time of one batch")
    sample_period: Duration | None = Field(None, description="Sample period of plant and twin (default: the plant's)")
    recipe: dict[str, float] = Field(default_factory=dict, description="Plant input → value of the first batch "
                                     "(the run-to-run controller sets the following batches'); default: the plant's")
    per_batch: dict[str, float] = Field(default_factory=dict, description="Plant parameter → increment per batch "
                                        "(drift across batches, e.g. R_fouling)")
    faults: list[LoopFault] = Field(default_factory=list)
    golden: LoopGolden = Field(default_factory=LoopGolden)
    quality: LoopQuality
    r2r: LoopR2R | None = None
    source_file: str | None = Field(None, exclude=True, description="Set by load_batch_loop")
    operator: str | None = Field("operator", description="Who confirms each proposal at the next sample "
                                 "(recommend mode); None: nobody does (proposals expire)")
    seed: int = 1


@dataclass
class BatchRecord:
    """One batch of the loop."""

    batch: int
    recipe: dict[str, float]
    parameters: dict[str, float]
    faults: list[str]
    quality: float
    in_spec: bool
    alarms: list[str]
    proposals: list[dict[str, Any]]
    setpoint_writes: list[dict[str, Any]]
    trace: str


@dataclass
class LoopResult:
    """Every batch of a loop run and the run-to-run controller's last step."""

    name: str
    records: list[BatchRecord] = field(default_factory=list)
    r2r: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "batches": [asdict(r) for r in self.records], "r2r": self.r2r}


def load_batch_loop(path: str | Path, *, overrides: dict | None = None) -> BatchLoopScenario:
    """Read a ``kind: batch-loop`` YAML (paths in it are relative to its folder)."""
    sc = load_config(path, BatchLoopScenario, overrides=overrides, kind="batch-loop")
    sc.source_file = str(path)
    return sc


def _here(sc: BatchLoopScenario, name: str) -> Path:
    p = Path(name)
    if p.is_absolute() or sc.source_file is None:
        return p
    return Path(sc.source_file).parent / p


def _plant(sc: BatchLoopScenario, k: int, recipe: dict[str, float], *, golden: bool = False, seed: int = 0):
    """The plant scenario of batch ``k`` (1-based) with ``recipe``; ``golden``: clean (no drift, no faults)."""
    from twin.emulator import load_plant_scenario

    base = load_plant_scenario(_here(sc, sc.plant))
    params = dict(base.parameters)
    if not golden and sc.per_batch:
        from fmu_models import describe_fmu
        from twin._binding import resolve_fmu

        start = {v.name: v.start for v in describe_fmu(resolve_fmu(base.fmu, base.source_file)).variables}
        for name, step in sc.per_batch.items():
            if name not in start:
                raise ConfigError(f"per_batch.{name}: '{name}' is not a parameter of the plant's FMU",
                                  source=sc.source_file, path=f"per_batch.{name}")
            params[name] = float(params.get(name, start[name])) + step * (k - 1)
    inputs = {**base.inputs, **recipe}
    faults = [] if golden else [f.fault for f in sc.faults if f.batch == k]
    over = {"parameters": params, "inputs": inputs, "faults": faults, "drift": [], "duration": float(sc.duration),
            "seed": seed, "setpoints": [s.model_dump(mode="json") for s in base.setpoints]}
    if sc.sample_period is not None:
        over["sample_period"] = float(sc.sample_period)
    try:
        return load_plant_scenario(_here(sc, sc.plant), overrides=over)
    except ConfigError as exc:
        raise ConfigError(f"batch {k}: {exc}", source=sc.source_file, path="faults" if faults else "plant") from None


def _recipe0(sc: BatchLoopScenario) -> dict[str, float]:
    from twin.emulator import load_plant_scenario

    base = load_plant_scenario(_here(sc, sc.plant))
    names = list(dict.fromkeys([*sc.recipe, *(sc.r2r.gains if sc.r2r else [])]))
    out = {}
    for n in names:
        v = sc.recipe.get(n, base.inputs.get(n))
        if not isinstance(v, int | float):
            raise ConfigError(f"r2r.gains.{n}: the plant's input '{n}' must be a constant in the recipe (got {v!r}); "
                              "run-to-run sets one value per batch", source=sc.source_file, path=f"r2r.gains.{n}")
        out[n] = float(v)
    return out


def build_loop_golden(sc: BatchLoopScenario, tags: list[str], path: Path, echo=print) -> Path:
    """Build the loop's golden-batch model from ``golden.batches`` clean batches (in process) into ``path``."""
    import pandas as pd

    import golden_batch as gb
    from twin.emulator import PlantEmulator

    g = sc.golden
    frames = []
    for i in range(g.batches):
        recipe = {n: lo + (hi - lo) * i / max(g.batches - 1, 1) for n, (lo, hi) in g.spread.items()}
        plant = _plant(sc, 1, recipe, golden=True, seed=sc.seed * 1000 + i)
        frames.append(pd.DataFrame([{"time": f.time, **{k: s.value for k, s in f.samples.items()}}
                                    for f in PlantEmulator(plant).frames()]))
    missing = [t for t in tags if t not in frames[0]]
    if missing:
        raise ConfigError(f"golden: the plant publishes no tag {missing} that the twin measures", source=sc.source_file,
                          path="golden")
    units = {t.tag: t.unit for t in plant.tags}
    history = gb.make_batch_set({t: np.stack([f[t].values for f in frames]) for t in tags}, frames[0]["time"].values,
                                units={t: units[t] for t in tags})
    model = gb.GoldenBatchModel(None, aligner=gb.Aligner("elapsed", n_points=len(frames[0])),
                                mpca=gb.BatchPCA(g.components)).fit(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    echo(f"golden model: {g.batches} clean batches ({', '.join(tags)}) → {path}")
    return path


def _check_golden(sc: BatchLoopScenario, path: Path) -> None:
    """An existing golden model must cover the loop's batches (built for the same batch duration)."""
    import golden_batch as gb

    end = float(gb.GoldenBatchModel.load(path).envelope_.time_[-1])
    if abs(end - float(sc.duration)) > 1.0:
        raise ConfigError(f"the golden model {path} covers batches of {end / 3600:g} h, this loop runs "
                          f"{float(sc.duration) / 3600:g} h batches; give another golden.path (the loop builds it) "
                          "or remove that file", source=sc.source_file, path="golden.path")


def run_batch_loop(sc: BatchLoopScenario, outdir: str | Path, *, echo=print, advise: bool = True) -> LoopResult:
    """Run the loop (module notes); traces ``batch_NN.zarr`` and ``loop.json`` go to ``outdir``."""
    from optimization import R2RConfig, R2RController
    from twin import load_binding

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    base_binding = load_binding(_here(sc, sc.twin), overrides=dict(sc.twin_overrides))
    if base_binding.lookahead is None or base_binding.advice is None:
        raise ConfigError("the loop's twin needs lookahead: and advice: sections (the projection and what it may "
                          "write)", source=sc.source_file, path="twin")
    ctl = None
    if sc.r2r is not None:
        r = sc.r2r
        try:
            ctl = R2RController(R2RConfig(target=r.target, gains=r.gains, lam=r.lam, lam2=r.lam2, limits=r.limits,
                                          gain_ratio=r.gain_ratio))
        except ConfigError as exc:
            raise ConfigError(exc.message, source=sc.source_file, path=f"r2r.{exc.path}") from None
    golden = Path(sc.golden.path) if sc.golden.path else outdir / f"golden_{float(sc.duration):.0f}s.nc"
    if not golden.exists():
        build_loop_golden(sc, [o.tag for o in base_binding.outputs], golden, echo)
    else:
        _check_golden(sc, golden)
    recipe = _recipe0(sc)
    rng = np.random.default_rng(sc.seed)
    result = LoopResult(sc.name)
    for k in range(1, sc.batches + 1):
        plant = _plant(sc, k, recipe, seed=sc.seed + k)
        report, proposals, writes, value, b = _serve_and_follow(sc, k, plant, golden, outdir, advise)
        value += rng.normal(0.0, sc.quality.noise)
        q = sc.quality
        rec = BatchRecord(
            batch=k, recipe=dict(recipe), parameters={n: float(plant.parameters.get(n, 0.0)) for n in sc.per_batch},
            faults=[f"{f.kind} {getattr(f, 'tag', None) or getattr(f, 'input', None) or getattr(f, 'parameter', '')} "
                    f"from {f.at / 60:.0f} min" for f in plant.faults],
            quality=value, in_spec=bool(q.low <= value <= q.high), alarms=sorted({e.kind for e in report.events}),
            proposals=proposals, setpoint_writes=writes, trace=str(b.trace.path))
        result.records.append(rec)
        echo(_line(rec, q))
        if ctl is not None:
            ctl.observe(value, [recipe[n] for n in ctl.cfg.names])
            step = ctl.next_recipe()
            recipe = {**recipe, **{n: float(v) for n, v in step.recipe.items()}}
            result.r2r = step.summary()
    (outdir / "loop.json").write_text(json.dumps(result.as_dict(), indent=2, default=float))
    return result


def _serve_and_follow(sc: BatchLoopScenario, k: int, plant, golden: Path, outdir: Path, advise: bool):
    """Serve batch ``k`` over OPC UA and follow it with the twin in lock-step; (report, proposals, set-point
    writes, the plant's quality variable at the end, binding)."""
    from twin import AdviceChannel, PacedClock, Twin, confirm_proposal, load_binding
    from twin.emulator import PlantServer, free_port
    from twin.sources import OpcUaSource, OpcUaWriter

    period = float(plant.sample_period)
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    b = load_binding(_here(sc, sc.twin), overrides={**sc.twin_overrides, "golden": str(golden), "opcua.url": url,
                                                      "sample_period": period,
                                                      "trace.path": str(outdir / f"batch_{k:02d}.zarr")})
    clock = PacedClock(_T0 + _BATCH_GAP * (k - 1), lead=1)
    server = PlantServer(plant, endpoint=url, clock=clock, start_on_subscribe=True)
    processed = [0]
    clock.ahead = lambda: server.samples_published - processed[0]
    server.start_thread()
    twin = Twin(b, trace=b.trace.path, time_kind="datetime", overwrite=True)
    o = b.opcua
    src = OpcUaSource(url, [t.tag for t in b.tags] + ([b.batch_time_tag] if b.batch_time_tag else []),
                      period=b.sample_period, namespace=o.namespace, units={t.tag: t.unit for t in b.tags},
                      publishing_interval=0.02, clock=clock, connect_timeout=120, data_timeout=120)
    channel = operator = None
    answered: set[str] = set()

    def on_step(step) -> None:
        p = channel.pending if channel is not None else None
        if p is not None and sc.operator and p.id not in answered:  # the operator answers at the sample it appears
            answered.add(p.id)
            confirm_proposal(b, sc.operator, proposal=p.id, writer=operator)
        processed[0] += 1

    try:
        if advise:
            channel = AdviceChannel.from_binding(b, src, trace=twin.trace, since=server.anchor, writer=OpcUaWriter(
                url, namespace=o.namespace, timeout=b.advice.timeout))  # set-points set by the recipe at the start
            twin.attach_advice(channel)
            operator = OpcUaWriter(url, namespace=o.namespace, timeout=b.advice.timeout)
        twin.run(src, on_step=on_step, until=server.anchor + float(sc.duration) - 0.5 * period)
    finally:
        processed[0] = 10**9  # let the plant finish its batch
        src.close()
        for w in (channel, operator):
            if w is not None:
                w.close()
        server.stop_thread()
    report = twin.close()
    proposals = [{"at_min": (p.at - server.anchor) / 60.0, "changes": p.changes, "status": p.status,
                  "by": p.confirmed_by, "why": p.why, "predicted_effect": p.predicted_effect}
                 for p in (channel.proposals if channel is not None else [])]
    writes = [{"at_min": t / 60.0, "node": node, "value": v} for t, node, v in server.setpoint_writes]
    return report, proposals, writes, float(server.plant.model.read([sc.quality.variable])[0]), b


def _line(rec: BatchRecord, q: LoopQuality) -> str:
    recipe = ", ".join(f"{k} {v:.4g}" for k, v in rec.recipe.items()) or "recipe as the plant's"
    written = [p for p in rec.proposals if p["status"] == "written"]
    return (f"batch {rec.batch}: {recipe}; {q.variable} {rec.quality:.4g} ({'in' if rec.in_spec else 'OUT OF'} spec); "
            f"{len(rec.alarms)} alarm kind(s); {len(rec.proposals)} proposal(s), {len(written)} written"
            + (f"; faults: {', '.join(rec.faults)}" if rec.faults else ""))
