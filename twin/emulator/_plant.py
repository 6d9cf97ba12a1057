"""The emulated plant: an FMU run with hidden parameters, noise, drift and scripted faults.

:class:`PlantEmulator` produces one set of tag values per sample period. It is
independent of OPC UA: :mod:`twin.emulator._server` publishes its values on a
real OPC UA server, and :meth:`PlantEmulator.frames` feeds a twin in-process.

Sensor-bias emulation is physical: the plant's temperature controller acts on
the *measured* temperature, so a bias ``b`` on the tag bound to the controlled
variable ``T`` is emulated by giving the controller the set point ``T_sp - b``
(then the true temperature settles at ``T_sp - b`` while the biased sensor reads
``T_sp``) when ``controlled_tag`` names that tag.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fmu_models import resolve_fmu
from twin._model import FmuStepper
from twin._quality import _linear_conversion
from twin.emulator._scenario import PlantScenario
from twin.sources._base import Frame, Sample
from workbench.errors import ConfigError

__all__ = ["PlantEmulator"]


class PlantEmulator:
    """Step an FMU as "the plant" and measure it through noisy, faulty sensors.

    Parameters
    ----------
    scenario
        Plant scenario (hidden parameters, recipe, tags, drift, faults).
    seed
        Overrides ``scenario.seed`` (noise stream).
    controlled_tag
        Tag measuring the controlled variable (its bias shifts the controller).
        Default: the tag bound to ``T`` if there is one.
    """

    def __init__(self, scenario: PlantScenario, *, seed: int | None = None, controlled_tag: str | None = "auto") -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        path = resolve_fmu(scenario.fmu, scenario.source_file)
        self._input_names = sorted(scenario.inputs) or []
        self.model = FmuStepper(path, inputs=self._input_names, outputs=[], parameters=scenario.parameters)
        self._tag_is_input = [self.model.causality(t.variable) == "input" for t in scenario.tags]
        out_vars = [t.variable for t, is_in in zip(scenario.tags, self._tag_is_input, strict=True) if not is_in]
        self.model.set_outputs(out_vars)
        for spec, is_in in zip(scenario.tags, self._tag_is_input, strict=True):
            if is_in and spec.variable not in scenario.inputs:
                raise ConfigError(
                    f"tag '{spec.tag}' publishes input '{spec.variable}', which the scenario's inputs do not set",
                    source=scenario.source_file, path="inputs",
                )
        self._conv = []
        for t in scenario.tags:
            fmu_unit = self.model.variable_unit(t.variable)
            c = _linear_conversion(fmu_unit, t.unit) if fmu_unit != t.unit else (1.0, 0.0)
            if c is None:
                raise ConfigError(
                    f"tag '{t.tag}': unit '{t.unit}' cannot be converted from '{fmu_unit}' of variable '{t.variable}'",
                    source=scenario.source_file,
                )
            self._conv.append(c)
        self._sp_conv: dict[str, tuple[str, float, float]] = {}  # node -> (input, scale, offset) node -> FMU unit
        for i, sp in enumerate(scenario.setpoints):
            fmu_unit = self.model.variable_unit(sp.input)
            c = _linear_conversion(sp.unit, fmu_unit) if fmu_unit != sp.unit else (1.0, 0.0)
            if c is None:
                raise ConfigError(
                    f"set-point '{sp.node}': unit '{sp.unit}' cannot be converted to '{fmu_unit}' of input "
                    f"'{sp.input}'", source=scenario.source_file, path=f"setpoints[{i}].unit",
                )
            self._sp_conv[sp.node] = (sp.input, *c)
        if controlled_tag == "auto":
            controlled_tag = next((t.tag for t in scenario.tags if t.variable == "T"), None)
        self.controlled_tag = controlled_tag
        self.tags = [t.tag for t in scenario.tags]
        self.units = [t.unit for t in scenario.tags]
        self.reset()

    # -- life cycle -----------------------------------------------------------------------
    def reset(self) -> None:
        """Back to t = 0 with the hidden parameters and a fresh noise stream."""
        self.model.reset(dict(self.scenario.parameters))
        self.rng = np.random.default_rng(self.seed)
        self.time = 0.0
        self._written: dict[str, float] = {}  # FMU input -> value written to its set-point (FMU unit)
        self._frozen: dict[str, float] = {}
        self.values: dict[str, float] = {}
        self._base_params = {d.parameter: float(self.scenario.parameters.get(d.parameter, self._start(d.parameter)))
                             for d in self.scenario.drift}
        self.values = self._measure()

    def _start(self, name: str) -> float:
        value = self.model.start_value(name)
        return 0.0 if np.isnan(value) else value

    @property
    def done(self) -> bool:
        """True once the scenario duration is reached."""
        return self.time >= self.scenario.duration - 1e-9

    def active_faults(self, t: float | None = None) -> list:
        """Faults active at ``t`` (default: now)."""
        t = self.time if t is None else t
        return [f for f in self.scenario.faults if f.at <= t and (f.until is None or t < f.until)]

    def commanded_inputs(self, t: float) -> np.ndarray:
        """Recipe inputs at ``t`` (step profiles hold the last value)."""
        out = []
        for name in self._input_names:
            spec = self.scenario.inputs[name]
            if name in self._written:
                out.append(self._written[name])
            elif isinstance(spec, list):
                value = spec[0][1]
                for ti, vi in spec:
                    if ti <= t:
                        value = vi
                out.append(float(value))
            else:
                out.append(float(spec))
        return np.array(out)

    def write_setpoint(self, node: str, value: float) -> None:
        """Take ``value`` (node unit) for the set-point ``node``: it drives the plant from the next step.

        The value replaces the recipe's value of the set-point's input until the next write.
        Limits are the server's business (it refuses a value outside the node's EURange).
        """
        if node not in self._sp_conv:
            from workbench.errors import did_you_mean

            raise KeyError(f"'{node}' is not a set-point of this plant; {did_you_mean(node, list(self._sp_conv))}")
        name, scale, offset = self._sp_conv[node]
        self._written[name] = scale * float(value) + offset

    def setpoint_value(self, node: str, t: float | None = None) -> float:
        """The set-point ``node`` in effect at ``t`` (default: now), in the node's unit."""
        name, scale, offset = self._sp_conv[node]
        u = self.commanded_inputs(self.time if t is None else t)[self._input_names.index(name)]
        return (float(u) - offset) / scale

    def advance(self) -> dict[str, float]:
        """Step the plant one sample period; return the measured tag values."""
        dt = float(self.scenario.sample_period)
        t = self.time
        faults = self.active_faults(t)
        u = self.commanded_inputs(t)
        plant_u = u.copy()
        for f in faults:
            if f.kind == "valve" and f.input in self._input_names:
                plant_u[self._input_names.index(f.input)] *= f.value
            if f.kind == "bias" and f.tag == self.controlled_tag and "T_sp" in self._input_names:
                plant_u[self._input_names.index("T_sp")] -= f.value / self._conv[self.tags.index(f.tag)][0]
        params = {}
        for d in self.scenario.drift:
            if t >= d.start:
                params[d.parameter] = self._base_params[d.parameter] + d.rate * (t - d.start)
        for f in self.scenario.faults:
            if f.kind == "parameter" and f.at <= t and (f.until is None or t < f.until):
                params[f.parameter] = f.value
            elif f.kind == "parameter" and f.until is not None and t >= f.until:
                params.setdefault(f.parameter, float(self.scenario.parameters.get(f.parameter, self._start(f.parameter))))
        if params:
            self.model.set_parameters(params)
        self._u = u
        self.model.step(plant_u, dt)
        self.time = t + dt
        self.values = self._measure(u)
        return self.values

    def run_until(self, t: float) -> None:
        """Advance without publishing until plant time ``t`` (catch-up after a restart)."""
        while self.time + 1e-9 < t and not self.done:
            self.advance()

    def frames(self, *, n: int | None = None, t0: float = 0.0) -> Iterator[Frame]:
        """Frames for an in-process twin (elapsed time + ``t0``), first at t = now."""
        count = 0
        while n is None or count < n:
            yield self.frame(t0)
            count += 1
            if self.done or (n is not None and count >= n):
                return
            self.advance()

    def frame(self, t0: float = 0.0) -> Frame:
        """The current measurement as a :class:`~twin.sources.Frame`."""
        t = t0 + self.time
        samples = {}
        for tag, unit in zip(self.tags, self.units, strict=True):
            v = self.values[tag]
            samples[tag] = Sample(tag, v, t, unit, good=not np.isnan(v))
        if self.scenario.batch_time_tag:
            samples[self.scenario.batch_time_tag] = Sample(self.scenario.batch_time_tag, self.time, t, "s")
        return Frame(t, samples)

    # -- sensors --------------------------------------------------------------------------
    def _measure(self, u: np.ndarray | None = None) -> dict[str, float]:
        if u is None:
            u = self.commanded_inputs(self.time)
            self.model.step(u, 0.0)
        outs = self.model.read()
        out_iter = iter(outs)
        faults = self.active_faults()
        stuck = {f.tag for f in faults if f.kind == "stuck"}
        for tag in list(self._frozen):
            if tag not in stuck:
                del self._frozen[tag]
        values: dict[str, float] = {}
        for spec, is_in, (scale, offset) in zip(self.scenario.tags, self._tag_is_input, self._conv, strict=True):
            raw = u[self._input_names.index(spec.variable)] if is_in else next(out_iter)
            value = scale * raw + offset
            if spec.noise > 0:
                value += self.rng.normal(0.0, spec.noise)
            for f in faults:
                if f.tag != spec.tag:
                    continue
                if f.kind == "bias":
                    value += f.value
                elif f.kind == "stuck":
                    value = self._frozen.setdefault(spec.tag, self.values.get(spec.tag, value))
                elif f.kind == "dropout":
                    value = float("nan")
            values[spec.tag] = float(value)
        return values
