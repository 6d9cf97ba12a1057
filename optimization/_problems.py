"""What a campaign evaluates: a recipe problem turns trial parameters into metrics.

:class:`ReactorProblem` runs recipes on the reactor twin (:mod:`optimization._reactor`);
:class:`LineProblem` sets parameters on a line scenario and runs the SimPy line model
(``simulation.line``), whose KPIs are stochastic (one seed per repeat).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from optimization._config import CampaignConfig, EnvelopeSpec, LineProblemSpec, ReactorProblemSpec
from optimization._envelope import EnvelopeBand
from optimization._reactor import REACTOR_METRICS, ReactorRecipe, recipe_metrics, simulate_recipe
from workbench.errors import ConfigError, did_you_mean

__all__ = ["ReactorProblem", "LineProblem", "build_problem"]

ChunkHook = Callable[[float, dict[str, float]], None]


class ReactorProblem:
    """Recipes of the semi-batch reactor evaluated on the reactor twin.

    Parameters
    ----------
    spec
        The campaign's ``model:`` section.
    base_dir
        Directory that relative envelope files are resolved against.
    """

    stochastic = False

    def __init__(self, spec: ReactorProblemSpec, base_dir: Path | None = None):
        self.spec = spec
        self.base_dir = Path(base_dir or ".")
        self.base = ReactorRecipe.from_values(
            {}, base=ReactorRecipe(batch_time=spec.batch_time, jacket_inlet=tuple(spec.jacket_inlet),
                                   feed_rate=tuple(spec.feed_rate), parameters=dict(spec.parameters)),
            stages=spec.jacket_stages, feed_stages=spec.feed_stages)
        self._envelopes: list[EnvelopeBand] | None = None

    @property
    def metric_units(self) -> dict[str, str]:
        """Metric name → units."""
        return {k: u for k, (u, _d) in REACTOR_METRICS.items()}

    @property
    def envelopes(self) -> list[EnvelopeBand]:
        """The golden-batch envelopes (built on first use)."""
        if self._envelopes is None:
            self._envelopes = [self._envelope(e) for e in self.spec.envelopes]
        return self._envelopes

    def _envelope(self, e: EnvelopeSpec) -> EnvelopeBand:
        if e.file is not None:
            from workbench.dataset import read_netcdf

            path = e.file if e.file.is_absolute() else self.base_dir / e.file
            if not path.is_file():
                raise ConfigError(f"envelope file {path} does not exist", path="model.envelopes.file")
            ds = read_netcdf(path)
            if "envelope_lower" in ds:  # `twin golden build` / golden_batch Envelope.to_dataset()
                from golden_batch import Envelope

                return EnvelopeBand.from_envelope(Envelope.from_dataset(ds), e.variable)
            if "lower" not in ds or "upper" not in ds:
                raise ConfigError(f"envelope file {path} has neither golden_batch envelope variables "
                                  "(envelope_lower/envelope_upper) nor lower/upper", path="model.envelopes.file")
            return EnvelopeBand.from_envelope(_DsEnvelope(ds), e.variable)
        trajs = [simulate_recipe(self.recipe(r), backend=self.spec.backend, dt=self.spec.output_interval)
                 for r in (e.from_recipes or [])]
        if len(trajs) < 2:
            raise ConfigError("envelope from_recipes needs at least 2 proven recipes", path="model.envelopes")
        return golden_band(trajs, e.variable, k=e.k, min_halfwidth=e.min_halfwidth)

    def recipe(self, values: Mapping[str, Any]) -> ReactorRecipe:
        """The recipe for flat parameter values (others from the base recipe)."""
        return ReactorRecipe.from_values(values, base=self.base)

    def evaluate(self, values: Mapping[str, Any], *, seed: int = 0, chunks: int = 1,
                 on_chunk: ChunkHook | None = None) -> dict[str, float]:
        """Simulate one recipe and return its metrics (see ``REACTOR_METRICS``)."""
        recipe = self.recipe(values)
        envs = self.envelopes

        def hook(partial):
            if on_chunk is not None:
                viol = max([e.violation(partial) for e in envs], default=0.0)
                on_chunk(float(partial["time"][-1]), {"envelope_violation": viol,
                                                      "yield": float(partial["yield_C"][-1])})

        ds = simulate_recipe(recipe, backend=self.spec.backend, dt=self.spec.output_interval,
                             chunks=chunks, on_chunk=hook if on_chunk else None)
        return recipe_metrics(ds, envs)

    def trajectory(self, values: Mapping[str, Any]):
        """Full trajectory of one recipe (for reports)."""
        return simulate_recipe(self.recipe(values), backend=self.spec.backend, dt=self.spec.output_interval)


class _DsEnvelope:
    def __init__(self, ds):
        self.lower = ds["lower"]
        self.upper = ds["upper"]


def golden_band(trajectories, variable: str, *, k: float = 3.0, min_halfwidth: float = 0.0) -> EnvelopeBand:
    """Golden-batch band on ``variable`` from proven batches.

    Uses ``golden_batch`` (batch set + envelope) when it offers a mean ± k sd envelope;
    otherwise the same statistic computed here (:meth:`EnvelopeBand.around`).
    """
    return EnvelopeBand.around(trajectories, variable, k=k, min_halfwidth=min_halfwidth,
                               units=str(trajectories[0][variable].attrs.get("units", "")))


class LineProblem:
    """Parameters of a line scenario evaluated by the SimPy line model (stochastic KPIs).

    Parameter names are dotted override paths into the scenario (list items by their
    ``name``, e.g. ``stations.press.buffer`` or ``stations.weld.servers``); metrics are the
    line KPIs (``throughput``, ``wip``, ``lead_time`` …, :data:`simulation.line.LINE_KPIS`)
    and station KPIs as ``"utilisation[press]"`` of one replication per seed
    (:func:`simulation.line.run_replication`). The campaign's ``noise:`` section repeats
    seeds until the CI target (:meth:`optimization.Campaign.evaluate`).
    """

    stochastic = True

    def __init__(self, spec: LineProblemSpec, base_dir: Path | None = None):
        from simulation.line import load_scenario

        self.spec = spec
        self.base_dir = Path(base_dir or ".")
        self.path = spec.scenario if spec.scenario.is_absolute() else self.base_dir / spec.scenario
        if not self.path.is_file():
            raise ConfigError(f"line scenario {self.path} does not exist", path="model.scenario")
        self.scenario = load_scenario(self.path, overrides=self._fixed_overrides())

    def _fixed_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.spec.horizon is not None:
            out["experiment.horizon"] = self.spec.horizon
        if self.spec.warmup is not None:
            out["experiment.warmup"] = self.spec.warmup
        return out

    @property
    def metric_units(self) -> dict[str, str]:
        """Metric name → units (line KPIs and ``"<station KPI>[<station>]"``)."""
        from simulation.line import LINE_KPIS, STATION_KPIS

        out = {k: v[0] for k, v in LINE_KPIS.items()}
        for st in self.scenario.stations:
            out.update({f"{k}[{st.name}]": v[0] for k, v in STATION_KPIS.items()})
        return out

    @property
    def envelopes(self) -> list:
        return []

    def scenario_for(self, values: Mapping[str, Any]):
        """The line scenario with the trial's parameter values applied (validated)."""
        from simulation.line import load_scenario

        overrides = {**self._fixed_overrides(), **{k: _plain(v) for k, v in values.items()}}
        return load_scenario(self.path, overrides=overrides)

    def evaluate(self, values: Mapping[str, Any], *, seed: int = 0, chunks: int = 1,
                 on_chunk: ChunkHook | None = None) -> dict[str, float]:
        """KPIs of one replication of the line with these parameter values."""
        from simulation.line import run_replication

        res = run_replication(self.scenario_for(values), seed=int(seed), base_dir=str(self.path.parent))
        out = {k: float(v) for k, v in res.line.items()}
        for st, kpis in res.stations.items():
            out.update({f"{k}[{st}]": float(v) for k, v in kpis.items()})
        return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def build_problem(config: CampaignConfig, base_dir: Path | None = None):
    """The problem object for a campaign's ``model:`` section."""
    if isinstance(config.model, ReactorProblemSpec):
        problem = ReactorProblem(config.model, base_dir)
    else:
        problem = LineProblem(config.model, base_dir)
    units = problem.metric_units
    for where, metric in [("objectives", o.metric) for o in config.objectives] + \
                         [("constraints", c.metric) for c in config.constraints]:
        if metric not in units:
            raise ConfigError(f"{where}: metric {metric!r} is not known; {did_you_mean(metric, units)}",
                              path=where)
    return problem
