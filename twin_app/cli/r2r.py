"""``twin r2r``: run-to-run control between batches — the next batch's recipe from the batch history."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, print_json, print_table

_NEEDS = "a CSV table with one row per batch: the batch label, the measured quality and the recipe parameters used"
_KEYS = {"target", "quality", "batch", "lam", "lam2", "gains", "limits", "weights", "gain_ratio", "offset0", "drift0"}


def _config(path: Path):
    """Read the controller YAML; every bad value names the file, line and field."""
    from optimization import R2RConfig
    from workbench.config import read_yaml
    from workbench.errors import ConfigError, did_you_mean

    data, marks = read_yaml(path)
    src = str(path)
    if not isinstance(data, dict):
        raise ConfigError("the R2R config must be a mapping with target, gains and lam", source=src)

    def err(key: tuple, message: str) -> ConfigError:
        _, line, col = marks.get(key, (src, None, None))
        return ConfigError(message, source=src, line=line, column=col, path=".".join(map(str, key)))

    for key in data:
        if key not in _KEYS:
            raise err((key,), f"unknown key; {did_you_mean(str(key), sorted(_KEYS))}")
    for key in ("target", "gains", "lam"):
        if key not in data:
            raise ConfigError(f"missing '{key}' (the R2R config needs target, gains and lam)", source=src, path=key)

    def number(key: tuple, v, *, optional: bool = False):
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise err(key, f"{v!r} is not a finite number")
        return float(v)

    def mapping(key: str, *, pair: bool = False) -> dict:
        v = data.get(key) or {}
        if not isinstance(v, dict):
            raise err((key,), f"must be a mapping recipe parameter → {'[low, high]' if pair else 'number'}")
        out = {}
        for name, x in v.items():
            if pair:
                if not isinstance(x, list) or len(x) != 2:
                    raise err((key, name), f"{x!r}: give the limits as [low, high]")
                out[str(name)] = (number((key, name, 0), x[0]), number((key, name, 1), x[1]))
            else:
                out[str(name)] = number((key, name), x)
        return out

    ratio = data.get("gain_ratio", [1.0, 1.0])
    if not isinstance(ratio, list) or len(ratio) != 2:
        raise err(("gain_ratio",), f"{ratio!r}: give [ξ_min, ξ_max], the range of true gain / model gain")
    fields = {"target": number(("target",), data["target"]), "gains": mapping("gains"),
              "lam": number(("lam",), data["lam"]), "lam2": number(("lam2",), data.get("lam2"), optional=True),
              "limits": mapping("limits", pair=True), "weights": mapping("weights"),
              "gain_ratio": (number(("gain_ratio", 0), ratio[0]), number(("gain_ratio", 1), ratio[1]))}
    try:
        cfg = R2RConfig(**fields, source=src)
    except ConfigError as exc:  # add the line of the field it names
        raise err(tuple(exc.path.split(".")) if exc.path else (), exc.message) from None
    extra = {"quality": str(data.get("quality", "quality")), "batch": str(data.get("batch", "batch")),
             "offset0": number(("offset0",), data.get("offset0"), optional=True),
             "drift0": number(("drift0",), data.get("drift0", 0.0))}
    return cfg, extra


def r2r(
    history: Path = typer.Argument(..., help="Batch history CSV: batch, measured quality, recipe parameters used."),
    config: Path = typer.Option(..., "--config", "-c",
                                help="Controller YAML: target, gains, lam (lam2 for double EWMA), limits."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run-to-run control: the next batch's recipe from the batch-end quality of the batches so far.

    \b
    EWMA offset controller (Sachs, Hu & Ingolfsson 1995); with lam2 the double EWMA for
    drifting processes (Butler & Stefani 1994). The config is refused (exit 2) when the
    gains make the loop unstable for the gain ratio range it states (Ingolfsson & Sachs 1993).
    """
    import numpy as np

    from optimization import R2RController
    from workbench.tables import read_table

    cfg, extra = _config(config)
    table = read_table(history, needs=_NEEDS)
    table.require_rows(_NEEDS)
    for col, what in ((extra["batch"], "the batch label (set 'batch:' in the config)"),
                      (extra["quality"], "the measured batch-end quality (set 'quality:' in the config)"),
                      *((n, f"the recipe parameter '{n}' used (a key of gains)") for n in cfg.names)):
        if col not in table.columns:
            raise table.missing_column(col, _NEEDS + f"; '{col}' is {what}")
    y = table.numbers(extra["quality"], what="the measured quality")
    u = np.column_stack([table.numbers(n, what=f"the value of recipe parameter {n}") for n in cfg.names])
    ctl = R2RController(cfg, offset0=extra["offset0"], drift0=extra["drift0"])
    for yi, ui in zip(y, u, strict=True):
        ctl.observe(float(yi), ui)
    step = ctl.next_recipe()
    labels = table.cells(extra["batch"])
    out = step.summary()
    out.update({"history": str(history), "config": str(config), "last_batch": labels[-1],
                "lam": cfg.lam, "lam2": cfg.lam2, "gain_ratio": list(cfg.gain_ratio)})
    if as_json:
        print_json(out)
        return
    kind = "double EWMA" if cfg.lam2 is not None else "EWMA"
    print_table([{"parameter": n, "last": f"{step.last_recipe[n]:.6g}", "next": f"{step.recipe[n]:.6g}",
                  "change": f"{step.correction[n]:+.6g}", "clipped": "yes" if n in step.clipped else "-"}
                 for n in cfg.names],
                title=f"{history.name}: next recipe after batch {labels[-1]} ({step.batches} batches, {kind})")
    drift = "" if step.drift is None else f", drift estimate {step.drift:+.6g} per batch"
    console.print(f"offset estimate {step.offset:.6g}{drift}; predicted quality {step.predicted:.6g} "
                  f"(target {step.target:g})")
    if step.clipped:
        console.print(f"clipped at the recipe limits: {', '.join(step.clipped)}; the model falls short of the "
                      f"target by {step.target - step.predicted:+.6g}")
    st = step.stability
    console.print(f"stable for gain ratio ξ in [{cfg.gain_ratio[0]:g}, {cfg.gain_ratio[1]:g}]: "
                  f"margin {st['margin']:.3g} ({st['detail']}; {st['rule']})")
