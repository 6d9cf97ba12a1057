"""Variable tables (``<model>/model.toml``) of the shipped FMU models.

One table per model is the single source of truth for variable names, units,
causality and start values. :mod:`fmu_models._build` renders it into
``modelDescription.xml`` (FMI 2.0 and 3.0) and the C header ``model_vars.h``;
:mod:`fmu_models.reference` reads the default parameter values from it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from workbench.errors import FmuError, did_you_mean

MODELS_DIR = Path(__file__).resolve().parent
MODELS: tuple[str, ...] = ("reactor", "dryer", "degradation")

_ALLOWED_KEYS = {
    "name", "type", "causality", "variability", "unit", "der_unit", "start", "nominal",
    "description", "state", "min", "max",
}


@dataclass(frozen=True)
class Variable:
    """One scalar variable of a shipped model."""

    name: str
    type: str  # "Real" or "Boolean"
    causality: str
    variability: str
    unit: str | None
    start: float | bool | None
    description: str
    state: bool = False
    der_unit: str | None = None
    nominal: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Parsed ``model.toml`` of one shipped model."""

    name: str
    description: str
    fmi3: bool
    event_indicators: int
    variables: tuple[Variable, ...]
    path: Path
    extra: dict = field(default_factory=dict)

    @property
    def states(self) -> tuple[Variable, ...]:
        """Continuous states in the order of the FMI state vector."""
        return tuple(v for v in self.variables if v.state)

    def defaults(self) -> dict[str, float | bool]:
        """Start values of every parameter and input, keyed by name."""
        return {
            v.name: v.start
            for v in self.variables
            if v.causality in {"parameter", "input"}
        }

    def variable(self, name: str) -> Variable:
        """Look a variable up by name (raises :class:`FmuError` with did-you-mean)."""
        for v in self.variables:
            if v.name == name:
                return v
        names = [v.name for v in self.variables]
        raise FmuError(
            f"model {self.name!r} has no variable {name!r}{did_you_mean(name, names)}"
        )


def _parse_variable(raw: dict, where: str) -> Variable:
    unknown = set(raw) - _ALLOWED_KEYS
    if unknown:
        raise FmuError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_ALLOWED_KEYS)}")
    causality = raw["causality"]
    state = bool(raw.get("state", False))
    if "variability" in raw:
        variability = raw["variability"]
    elif causality in {"parameter"}:
        variability = "fixed"
    elif raw.get("type", "Real") == "Boolean":
        variability = "discrete"
    else:
        variability = "continuous"
    return Variable(
        name=raw["name"],
        type=raw.get("type", "Real"),
        causality=causality,
        variability=variability,
        unit=raw.get("unit"),
        start=raw.get("start"),
        description=raw.get("description", ""),
        state=state,
        der_unit=raw.get("der_unit"),
        nominal=raw.get("nominal"),
        min=raw.get("min"),
        max=raw.get("max"),
    )


@cache
def load_spec(name: str) -> ModelSpec:
    """Read ``fmu_models/<name>/model.toml``.

    Parameters
    ----------
    name
        One of :data:`MODELS`.

    Returns
    -------
    ModelSpec
    """
    if name not in MODELS:
        raise FmuError(f"unknown shipped model {name!r}{did_you_mean(name, MODELS)}; "
                       f"shipped models: {', '.join(MODELS)}")
    path = MODELS_DIR / name / "model.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    model = raw["model"]
    variables = tuple(
        _parse_variable(v, f"{path}: variable[{i}]") for i, v in enumerate(raw["variable"])
    )
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise FmuError(f"{path}: duplicate variable names")
    return ModelSpec(
        name=model["name"],
        description=model["description"],
        fmi3=bool(model.get("fmi3", False)),
        event_indicators=int(model.get("event_indicators", 0)),
        variables=variables,
        path=path,
    )
