"""What an FMU offers: variables, units, start values and capabilities.

Reads ``modelDescription.xml`` once through :func:`fmpy.read_model_description`
(no extraction, no binary loading) and turns it into plain records that the
runtime, the ``twin fmu info`` command and the docs share. Works for any FMI
2.0 or 3.0 FMU, ours or third-party.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import FmuError

__all__ = ["FmuVariable", "FmuInfo", "describe_fmu", "variable_units"]

_REAL_TYPES = frozenset({"Real", "Float64", "Float32"})


@dataclass(frozen=True)
class FmuVariable:
    """One scalar variable of an FMU's ``modelDescription.xml``.

    Attributes
    ----------
    shape
        Dimensions of an FMI 3.0 array variable (``()`` for a scalar).
    items
        ``(name, value)`` of the items of an Enumeration's declared type.
    name, value_reference, type
        FMI name, value reference and type (``Real``/``Float64``/``Integer``/…).
    causality, variability, initial
        FMI attributes (``parameter``/``input``/``output``/``local``/…).
    units
        Unit string from the variable or its declared type; ``"1"`` if none.
    start
        Start value as written in the XML (string) or None.
    description
        Free text from the XML; used as ``long_name`` in results.
    min, max, nominal
        Bounds and nominal as written in the XML (strings) or None.
    """

    name: str
    value_reference: int
    type: str
    causality: str
    variability: str
    initial: str | None = None
    units: str = "1"
    start: str | None = None
    description: str = ""
    min: str | None = None
    max: str | None = None
    nominal: str | None = None
    shape: tuple[int, ...] = ()
    items: tuple[tuple[str, int], ...] = ()

    @property
    def is_real(self) -> bool:
        """True for Real (FMI 2.0) and Float64/Float32 (FMI 3.0) variables."""
        return self.type in _REAL_TYPES

    @property
    def is_scalar_float64(self) -> bool:
        """True for scalar Real (FMI 2.0) and Float64 (FMI 3.0): the array-call fast path."""
        return self.type in ("Real", "Float64") and not self.shape

    @property
    def size(self) -> int:
        """Number of values (1 for a scalar, the product of the dimensions for an array)."""
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class FmuInfo:
    """Summary of an FMU: identity, interfaces, capabilities and variables."""

    path: str
    fmi_version: str
    model_name: str
    guid: str
    description: str
    generation_tool: str | None
    interfaces: dict[str, dict[str, Any]]
    platforms: list[str]
    default_experiment: dict[str, float | None]
    number_of_continuous_states: int
    number_of_event_indicators: int
    variables: list[FmuVariable] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (``twin fmu info --json``)."""
        out = asdict(self)
        out["variables"] = [asdict(v) for v in self.variables]
        return out

    def by_causality(self, causality: str) -> list[FmuVariable]:
        """Variables with the given causality (``parameter``, ``input``, ``output``, …)."""
        return [v for v in self.variables if v.causality == causality]


def variable_units(variable: Any) -> str:
    """Unit of an fmpy ``ModelVariable``: its own ``unit``, else its declared type's, else ``"1"``."""
    unit = getattr(variable, "unit", None)
    if not unit and getattr(variable, "declaredType", None) is not None:
        unit = getattr(variable.declaredType, "unit", None)
    return unit or "1"


def _variable(v: Any) -> FmuVariable:
    return FmuVariable(
        name=v.name,
        value_reference=int(v.valueReference),
        type=v.type,
        causality=v.causality or "local",
        variability=v.variability or "continuous",
        initial=v.initial,
        units=variable_units(v),
        start=None if v.start is None else (" ".join(map(str, v.start)) if isinstance(v.start, list)
                                             else str(v.start)),
        description=v.description or "",
        min=None if v.min is None else str(v.min),
        max=None if v.max is None else str(v.max),
        nominal=None if v.nominal is None else str(v.nominal),
        shape=tuple(int(d) for d in (getattr(v, "shape", None) or ())),
        items=tuple((it.name, int(it.value)) for it in getattr(getattr(v, "declaredType", None), "items", None) or ()),
    )


_CAPABILITIES = (
    "canHandleVariableCommunicationStepSize",
    "canGetAndSetFMUstate",
    "canSerializeFMUstate",
    "providesDirectionalDerivative",
    "providesAdjointDerivatives",
    "needsCompletedIntegratorStep",
    "canInterpolateInputs",
    "maxOutputDerivativeOrder",
    "fixedInternalStepSize",
    "hasEventMode",
    "mightReturnEarlyFromDoStep",
    "canBeInstantiatedOnlyOncePerProcess",
    "needsExecutionTool",
)


def _interface(kind: str, itf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model_identifier": itf.modelIdentifier}
    for name in _CAPABILITIES:
        if hasattr(itf, name):
            value = getattr(itf, name)
            if value not in (None, False, 0) or name.startswith("can"):
                out[name] = value
    return out


def read_description(path: str | Path) -> Any:
    """Read an FMU's model description with fmpy, raising :class:`FmuError` on failure."""
    from fmpy import read_model_description

    path = Path(path)
    if not path.exists():
        raise FmuError(f"{path}: no such FMU; give the path of a .fmu file or an extracted FMU folder")
    if path.is_file() and not zipfile.is_zipfile(path):
        raise FmuError(f"{path}: not an FMU (an FMU is a ZIP archive with a modelDescription.xml)")
    try:
        return read_model_description(str(path), validate=False)
    except Exception as exc:  # fmpy raises bare Exception / lxml errors
        raise FmuError(f"{path}: cannot read modelDescription.xml ({exc})") from exc


def describe_fmu(path: str | Path) -> FmuInfo:
    """Describe any FMI 2.0/3.0 FMU without extracting or loading it.

    Parameters
    ----------
    path
        ``.fmu`` file or folder of an extracted FMU.

    Returns
    -------
    FmuInfo

    Raises
    ------
    FmuError
        If the file is missing or is not an FMU.
    """
    return info_from_description(path, read_description(path))


def info_from_description(path: str | Path, md: Any) -> FmuInfo:
    """Build :class:`FmuInfo` from an fmpy ``ModelDescription`` already read from ``path``."""
    from fmpy import supported_platforms

    interfaces = {}
    if md.coSimulation is not None:
        interfaces["co-simulation"] = _interface("cs", md.coSimulation)
    if md.modelExchange is not None:
        interfaces["model-exchange"] = _interface("me", md.modelExchange)
    if getattr(md, "scheduledExecution", None) is not None:
        interfaces["scheduled-execution"] = _interface("se", md.scheduledExecution)
    exp = md.defaultExperiment
    try:
        platforms = sorted(supported_platforms(str(path)))
    except Exception:  # noqa: BLE001 - informative only
        platforms = []
    return FmuInfo(
        path=str(path),
        fmi_version=md.fmiVersion,
        model_name=md.modelName,
        guid=md.guid or "",
        description=md.description or "",
        generation_tool=md.generationTool,
        interfaces=interfaces,
        platforms=platforms,
        default_experiment={
            "start_time": None if exp is None or exp.startTime is None else float(exp.startTime),
            "stop_time": None if exp is None or exp.stopTime is None else float(exp.stopTime),
            "step_size": None if exp is None or exp.stepSize is None else float(exp.stepSize),
            "tolerance": None if exp is None or exp.tolerance is None else float(exp.tolerance),
        },
        number_of_continuous_states=int(md.numberOfContinuousStates or 0),
        number_of_event_indicators=int(md.numberOfEventIndicators or 0),
        variables=[_variable(v) for v in md.modelVariables],
    )
