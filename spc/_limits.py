"""Control limits as a small file: estimated in Phase I, given to Phase II.

A :class:`ChartLimits` holds the parameters the limits are computed from (the
centre and the process σ, or p̄/c̄/ū for attribute charts, plus the EWMA/CUSUM
design and an AR model for residual charts), not the limit values themselves:
the limits of each Phase II point follow from its subgroup size. Saved as JSON
(``.json``) or YAML (``.yaml``/``.yml``)::

    chart: xbar-r
    center: 74.001
    sigma: 0.0099
    subgroup_size: 5
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["CHART_TYPES", "ChartLimits", "load_limits"]

#: chart type -> what it plots
CHART_TYPES: dict[str, str] = {
    "imr": "individuals and moving range",
    "xbar-r": "subgroup means and ranges",
    "xbar-s": "subgroup means and standard deviations",
    "p": "fraction nonconforming (counts of nonconforming units out of n)",
    "np": "number nonconforming (constant n)",
    "c": "nonconformities per inspection unit",
    "u": "nonconformities per unit (n units inspected)",
    "ewma": "exponentially weighted moving average",
    "cusum": "tabular CUSUM",
}


@dataclass
class ChartLimits:
    """What a chart's limits are computed from.

    Attributes
    ----------
    chart
        Chart type (:data:`CHART_TYPES`).
    center
        Process mean (variables charts, in the data unit), p̄ (p, np), c̄ (c) or ū (u).
    sigma
        Process standard deviation (variables charts, data unit); None for attribute charts.
    sigma_method
        How σ was estimated (e.g. ``"MR-bar/d2"``, ``"R-bar/d2"``, ``"S-bar/c4"``) or ``"given"``.
    subgroup_size
        The constant subgroup size the limits were estimated with (None for individuals or varying sizes).
    width
        Limit width in σ of the plotted statistic (3 for Shewhart charts).
    lam, L
        EWMA weight and limit width (ewma only).
    k, h
        CUSUM reference value and decision interval in σ units (cusum only).
    ar
        AR model ``[c, φ_1, …, φ_p]`` of a residual chart (the chart's centre and σ are the residuals').
    batch_size
        Batch size of a batch-means chart.
    column
        The data column the limits were estimated on.
    n_points
        Points (or subgroups) the estimate used.
    """

    chart: str
    center: float
    sigma: float | None = None
    sigma_method: str = "given"
    subgroup_size: int | None = None
    width: float = 3.0
    lam: float | None = None
    L: float | None = None
    k: float | None = None
    h: float | None = None
    ar: list[float] | None = None
    batch_size: int | None = None
    column: str | None = None
    n_points: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not d["extra"]:
            d.pop("extra")
        return {k: v for k, v in d.items() if v is not None}

    def save(self, path: str | Path) -> Path:
        """Write the limits as JSON (``.json``) or YAML (any other suffix)."""
        path = Path(path)
        data = self.to_dict()
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        else:
            import yaml

            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "limits") -> ChartLimits:
        """Build and check limits from a mapping; a bad field is a :class:`ConfigError` naming it."""
        from workbench.errors import ConfigError, did_you_mean

        if not isinstance(data, dict):
            raise ConfigError(f"expected a mapping with chart, center, sigma, ...; got {type(data).__name__}",
                              source=source)
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                hint = did_you_mean(str(key), known)
                raise ConfigError(f"unknown field{(' (' + hint + ')') if hint else ''}; known: "
                                  f"{', '.join(sorted(known))}", source=source, path=str(key))
        for req in ("chart", "center"):
            if data.get(req) is None:
                raise ConfigError("missing; the limits file needs at least chart and center", source=source,
                                  path=req)
        chart = str(data["chart"])
        if chart not in CHART_TYPES:
            raise ConfigError(f"{chart!r} is not a chart type; use one of {', '.join(CHART_TYPES)}",
                              source=source, path="chart")

        def num(name: str, *, positive: bool = False, integer: bool = False) -> None:
            v = data.get(name)
            if v is None:
                return
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(f"{v!r} is not a finite number", source=source, path=name)
            if positive and v <= 0:
                raise ConfigError(f"{v!r} must be > 0", source=source, path=name)
            if integer and int(v) != v:
                raise ConfigError(f"{v!r} must be a whole number", source=source, path=name)

        num("center")
        for name in ("sigma", "width", "lam", "L", "h"):
            num(name, positive=True)
        num("k")
        num("subgroup_size", positive=True, integer=True)
        num("batch_size", positive=True, integer=True)
        if chart in ("imr", "xbar-r", "xbar-s", "ewma", "cusum") and data.get("sigma") is None:
            raise ConfigError(f"missing; a {chart} chart needs the process sigma", source=source, path="sigma")
        if chart in ("p", "np") and not 0 < data["center"] < 1:
            raise ConfigError(f"{data['center']!r} must be a fraction in (0, 1) for a {chart} chart",
                              source=source, path="center")
        if chart in ("c", "u") and data["center"] <= 0:
            raise ConfigError(f"{data['center']!r} must be > 0 for a {chart} chart", source=source, path="center")
        if chart == "np" and data.get("subgroup_size") is None:
            raise ConfigError("missing; an np chart needs the constant subgroup size", source=source,
                              path="subgroup_size")
        ar = data.get("ar")
        if ar is not None and (not isinstance(ar, list) or len(ar) < 2
                               or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in ar)):
            raise ConfigError(f"{ar!r} must be a list [c, phi_1, ..., phi_p] of numbers", source=source, path="ar")
        out = cls(**{k: v for k, v in data.items()})
        for name in ("center", "sigma", "width", "lam", "L", "k", "h"):
            v = getattr(out, name)
            if v is not None:
                setattr(out, name, float(v))
        for name in ("subgroup_size", "batch_size", "n_points"):
            v = getattr(out, name)
            if v is not None:
                setattr(out, name, int(v))
        return out


def load_limits(path: str | Path) -> ChartLimits:
    """Read limits saved by :meth:`ChartLimits.save` (JSON or YAML)."""
    from workbench.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError("no such limits file; give the file written by `twin spc chart --phase1 --save-limits`",
                          source=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ConfigError(f"is not valid JSON/YAML ({str(exc).splitlines()[0]})", source=str(path)) from None
    except Exception as exc:  # yaml.YAMLError
        raise ConfigError(f"is not valid YAML ({str(exc).splitlines()[0]})", source=str(path)) from None
    return ChartLimits.from_dict(data, source=str(path))
