"""Load life models and fitted-distribution files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workbench.config import load_config
from workbench.errors import ConfigError

__all__ = ["load_life_model", "load_fitted", "write_fitted", "kpi_rows"]


def load_life_model(path: str | Path, *, overrides: Mapping[str, Any] | None = None):
    """Read a ``kind: life`` YAML file (``extends``/``overrides`` supported).

    ``life: fitted.yaml`` entries are replaced by the fitted distribution stored
    in that file (path relative to the model file).

    Returns
    -------
    LifeModel
    """
    from simulation.life._config import LifeModel

    model = load_config(path, LifeModel, overrides=overrides, kind="life")
    try:
        return model.resolve_files(Path(path).resolve().parent)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=str(path), path="components.life") from None


def load_fitted(path: str | Path):
    """Read a ``kind: life-distribution`` file written by ``twin life fit``.

    Returns
    -------
    FittedLife
    """
    from simulation.life._config import FittedLife

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such fitted-distribution file; write one with `twin life fit DATA -o {path.name}`")
    return load_config(path, FittedLife, kind="life-distribution")


def write_fitted(fit, path: str | Path, *, unit: str = "h", source: str = "") -> Path:
    """Write a :class:`~simulation.life.LifeFit` as a ``kind: life-distribution`` YAML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "kind": "life-distribution",
        "life": fit.to_config().to_yaml_dict(unit),
        "source": source,
        "fit": fit.summary(unit=unit),
    }
    header = f"# fitted by twin life fit ({fit.distribution}, MLE); use it as `life: {path.name}` in a life model\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    return path


def kpi_rows(ds, unit: str) -> list[dict[str, Any]]:
    """The KPIs of a life result (variables over ``bound``), times shown in ``unit``.

    Returns
    -------
    list of dict
        One row per KPI: ``kpi``, ``estimate``, ``lower``, ``upper`` (floats), ``unit`` and
        ``description`` (the variable's ``long_name``). Durations stored in s are converted
        to ``unit``; other variables keep their own unit.
    """
    from workbench.units import convert

    rows = []
    for var in ds.data_vars:
        da = ds[var]
        if da.dims != ("bound",):
            continue
        u = da.attrs.get("units", "")
        scale, shown = (convert(1.0, "s", from_unit=unit), unit) if u == "s" else (1.0, u)
        e, lo, hi = (float(v) / scale for v in da.values)
        rows.append({"kpi": str(var), "estimate": e, "lower": lo, "upper": hi, "unit": shown,
                     "description": da.attrs.get("long_name", "")})
    return rows
