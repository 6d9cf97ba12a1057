"""External references of a config, checked by ``twin config validate``.

A config can be valid on its own and still name things that do not exist: an FMU file
that is missing or is not an FMU, an FMU variable that the model does not have, a tag
unit that cannot be converted to the variable's unit, a campaign metric that no problem
computes. Each checker below walks one config kind and returns every such problem as a
:class:`~workbench.errors.ConfigError` at the file:line:column of the value (positions
from :class:`~workbench.config.ResolvedConfig`).

Checks that need a live system (OPC UA nodes of a binding, ``--connect``) are not here;
they are added beside these, per kind (see :func:`twin_app.configs.check_references`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workbench.config import ResolvedConfig, format_path
from workbench.errors import ConfigError, FmuError, UnitError, did_you_mean

__all__ = ["REFERENCE_CHECKS", "References"]


class References:
    """Collects reference problems of one config, each at the position of its value."""

    def __init__(self, resolved: ResolvedConfig) -> None:
        self.resolved = resolved
        self.errors: list[ConfigError] = []

    def error(self, path: tuple[Any, ...], message: str) -> None:
        """Record ``message`` at the position of ``path`` in the config."""
        mark = self.resolved.where(path)
        self.errors.append(
            ConfigError(
                message,
                source=mark[0] if mark else self.resolved.source,
                line=mark[1] if mark else None,
                column=mark[2] if mark else None,
                path=format_path(path) or None,
            )
        )

    def fmu(self, path: tuple[Any, ...], value: str):
        """Resolve and describe the FMU named at ``path``; None (and an error recorded) if it is not one."""
        from fmu_models import describe_fmu, resolve_fmu

        try:
            found = resolve_fmu(value, relative_to=self.resolved.source, field=format_path(path))
        except ConfigError as exc:
            self.error(path, exc.message)
            return None
        try:
            return describe_fmu(found)
        except FmuError as exc:
            self.error(path, f"{exc}; give an FMI 2.0/3.0 .fmu file")
            return None

    def variable(
        self,
        info: Any,
        path: tuple[Any, ...],
        name: Any,
        *,
        unit: str | None = None,
        unit_path: tuple[Any, ...] | None = None,
        causalities: Iterable[str] | None = None,
    ) -> None:
        """``name`` must be a variable of the FMU ``info``; a given ``unit`` must convert to its unit."""
        if info is None or not isinstance(name, str):
            return
        variables = {v.name: v for v in info.variables}
        var = variables.get(name)
        if var is None:
            self.error(
                path,
                f'FMU {info.model_name} ({Path(info.path).name}) has no variable "{name}"; '
                + did_you_mean(name, variables),
            )
            return
        allowed = tuple(causalities or ())
        if allowed and var.causality not in allowed:
            self.error(
                path,
                f'"{name}" is a{"n" if var.causality[0] in "aeiou" else ""} {var.causality} '
                f"of FMU {info.model_name}; this field needs a {' or '.join(allowed)}",
            )
        if unit is not None and unit_path is not None:
            self._units(unit, var, unit_path)

    def _units(self, unit: str, var: Any, path: tuple[Any, ...]) -> None:
        from workbench.units import convert, normalise_unit

        fmu_unit = var.units or "1"
        try:
            normalise_unit(fmu_unit)
            convert(1.0, fmu_unit, from_unit=unit)
        except UnitError as exc:
            if "cannot be converted" in str(exc) or "dimension" in str(exc).lower():
                self.error(
                    path,
                    f'unit "{unit}" cannot be converted to "{fmu_unit}", the unit of FMU variable '
                    f'"{var.name}"; use a unit of the same dimension',
                )
            # an FMU unit the workbench cannot parse is not the config's fault: not reported


def _twin_binding(binding: Any, refs: References) -> None:
    info = refs.fmu(("fmu",), binding.fmu)
    for key in binding.start_values:
        refs.variable(info, ("start_values", key), key)
    for key in binding.parameters:
        refs.variable(info, ("parameters", key), key)
    for group in ("inputs", "outputs"):
        for i, tb in enumerate(getattr(binding, group)):
            refs.variable(
                info,
                (group, i, "variable"),
                tb.variable,
                unit=tb.unit,
                unit_path=(group, i, "unit"),
            )
    for i, cal in enumerate(binding.calibration):
        refs.variable(info, ("calibration", i, "name"), cal.name)


def _plant_emulator(plant: Any, refs: References) -> None:
    info = refs.fmu(("fmu",), plant.fmu)
    for key in plant.parameters:
        refs.variable(info, ("parameters", key), key)
    for key in plant.inputs:
        refs.variable(info, ("inputs", key), key)
    for i, tag in enumerate(plant.tags):
        refs.variable(
            info,
            ("tags", i, "variable"),
            tag.variable,
            unit=tag.unit,
            unit_path=("tags", i, "unit"),
        )
    for i, drift in enumerate(getattr(plant, "drift", []) or []):
        refs.variable(info, ("drift", i, "parameter"), getattr(drift, "parameter", None))


def _line(scenario: Any, refs: References) -> None:
    for i, st in enumerate(scenario.stations):
        unit = st.unit
        if unit is None:
            continue
        base = ("stations", i, "unit")
        info = refs.fmu((*base, "fmu"), unit.fmu)
        for group in ("parameters", "inputs"):
            for key in getattr(unit, group):
                refs.variable(info, (*base, group, key), key)
        if unit.end_variable is not None:
            refs.variable(info, (*base, "end_variable"), unit.end_variable)
        for key, var in unit.quality.items():
            refs.variable(info, (*base, "quality", key), var)


def _campaign(campaign: Any, refs: References) -> None:
    model = campaign.model
    if getattr(model, "type", None) == "line":
        from simulation.line import LINE_KPIS, STATION_KPIS, load_scenario

        path = (
            model.scenario
            if model.scenario.is_absolute()
            else Path(refs.resolved.source).parent / model.scenario
        )
        if not path.is_file():
            refs.error(
                ("model", "scenario"),
                f'line scenario "{model.scenario}" not found (looked for {path})',
            )
            return
        try:
            scenario = load_scenario(path)
        except ConfigError as exc:
            refs.error(("model", "scenario"), f"line scenario {path} is not valid: {exc}")
            return
        metrics = set(LINE_KPIS) | {
            f"{k}[{st.name}]" for st in scenario.stations for k in STATION_KPIS
        }
    else:
        from optimization import REACTOR_METRICS

        metrics = set(REACTOR_METRICS)
    for group in ("objectives", "constraints"):
        for i, item in enumerate(getattr(campaign, group)):
            if item.metric not in metrics:
                refs.error(
                    (group, i, "metric"),
                    f'metric "{item.metric}" is not computed by this campaign\'s model; '
                    + did_you_mean(item.metric, metrics),
                )


REFERENCE_CHECKS: dict[str, Callable[[Any, References], None]] = {
    "campaign": _campaign,
    "line": _line,
    "plant-emulator": _plant_emulator,
    "twin-binding": _twin_binding,
}
"""Config kind → checker of its external references (FMU files, variables, units, metrics)."""
