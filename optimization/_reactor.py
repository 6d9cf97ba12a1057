"""Reactor recipes and their evaluation on the twin (reactor FMU or its reference equations).

A :class:`ReactorRecipe` is what a recipe engineer sets for one batch of the jacketed
semi-batch reactor (``fmu_models/reactor/README.md``): the batch time, a staged
jacket-inlet temperature programme and a staged feed-rate programme of B (equal-length
stages, piecewise constant), plus any FMU parameter overrides. The reactor runs open loop on
the jacket (``controller_enabled = false``; the jacket inlet temperature is the recipe's
thermal decision), so the Pyomo model (:mod:`optimization._dynamic`) and the FMU share the
same equations and the same decision space.

:func:`simulate_recipe` runs a recipe on the FMU (``fmu_models.shipped("reactor")`` through
:class:`fmu_models.FmuModel`) or, when the FMU is not built or ``backend="reference"``, on the
independent NumPy/SciPy implementation in :mod:`fmu_models.reference.reactor`; it can stop
after each chunk of the batch so that campaigns prune recipes that leave the envelope early.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from workbench.errors import ConfigError, did_you_mean

__all__ = [
    "ReactorRecipe",
    "simulate_recipe",
    "recipe_metrics",
    "reactor_fmu_path",
    "REACTOR_METRICS",
    "RECIPE_OUTPUTS",
]

RECIPE_OUTPUTS = ("T", "T_jacket", "T_jacket_in", "F_B_actual", "nA", "nB", "nC", "nD", "V",
                  "n_B_fed", "yield_C", "impurity_D", "conversion_A", "Q_rxn", "Q_cool")

REACTOR_METRICS: dict[str, tuple[str, str]] = {
    "yield": ("1", "yield of C on A charged at the end of the batch"),
    "impurity": ("1", "impurity fraction nD/(nC+nD) at the end of the batch"),
    "conversion": ("1", "conversion of A at the end of the batch"),
    "peak_temperature": ("K", "highest reactor temperature"),
    "batch_time": ("s", "batch time"),
    "productivity": ("mol/h", "C made per hour of batch time"),
    "b_fed": ("mol", "amount of B fed"),
    "utility_energy": ("J", "jacket utility duty integrated over the batch, |Q_cool| dt"),
    "envelope_violation": ("K", "largest excursion outside the golden-batch envelope(s)"),
}

_OPEN_LOOP = {"controller_enabled": False, "n_B_dose": 1.0e12}


def reactor_fmu_path() -> Path:
    """Deprecated: use ``fmu_models.shipped("reactor")`` (``fmu_models/build/reactor.fmu``)."""
    import warnings

    warnings.warn("optimization.reactor_fmu_path() is deprecated; use fmu_models.shipped('reactor')",
                  DeprecationWarning, stacklevel=2)
    return _reactor_fmu()


def _reactor_fmu() -> Path:
    import fmu_models

    return fmu_models.shipped("reactor")


@dataclass(frozen=True)
class ReactorRecipe:
    """One batch recipe of the semi-batch reactor.

    Parameters
    ----------
    batch_time
        Batch time in s.
    jacket_inlet
        Jacket inlet temperature per stage in K (equal-length stages over ``batch_time``).
    feed_rate
        Volumetric feed rate of B per stage in m3/s (equal-length stages).
    parameters
        FMU parameter overrides (SI units), e.g. ``{"T0": 335.0}``.
    """

    batch_time: float = 4 * 3600.0
    jacket_inlet: tuple[float, ...] = (340.0,)
    feed_rate: tuple[float, ...] = (1.0e-4,)
    parameters: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jacket_inlet", tuple(float(v) for v in np.atleast_1d(self.jacket_inlet)))
        object.__setattr__(self, "feed_rate", tuple(float(v) for v in np.atleast_1d(self.feed_rate)))
        if not self.batch_time > 0:
            raise ConfigError(f"recipe: batch_time must be > 0 s, got {self.batch_time!r}")
        if not self.jacket_inlet or not self.feed_rate:
            raise ConfigError("recipe: jacket_inlet and feed_rate need at least one stage each")
        if min(self.feed_rate) < 0:
            raise ConfigError(f"recipe: feed_rate must be >= 0 m3/s, got {self.feed_rate}")

    @staticmethod
    def stage_bounds(batch_time: float, n: int) -> np.ndarray:
        """Start/end times (s) of ``n`` equal stages."""
        return np.linspace(0.0, batch_time, n + 1)

    def profile(self, name: str, t: np.ndarray | float) -> np.ndarray:
        """Value of the ``"jacket_inlet"`` or ``"feed_rate"`` programme at times ``t`` (s).

        Stages hold on ``(t_k, t_k+1]``, the value at ``t = 0`` is the first stage's.
        """
        values = np.asarray(getattr(self, name), dtype=float)
        b = self.stage_bounds(self.batch_time, values.size)
        idx = np.clip(np.searchsorted(b, np.asarray(t, dtype=float), side="left") - 1, 0, values.size - 1)
        return values[idx]

    def breakpoints(self) -> list[float]:
        """Times where an input jumps (s)."""
        pts = set()
        for name in ("jacket_inlet", "feed_rate"):
            pts.update(self.stage_bounds(self.batch_time, len(getattr(self, name)))[1:-1].tolist())
        return sorted(pts)

    def fmu_parameters(self) -> dict[str, Any]:
        """Parameters to set on the FMU for this recipe (open-loop jacket, no totaliser)."""
        return {**_OPEN_LOOP, **dict(self.parameters)}

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, base: ReactorRecipe | None = None,
                    stages: int | None = None, feed_stages: int | None = None) -> ReactorRecipe:
        """Build a recipe from flat campaign parameters.

        Names understood: ``batch_time`` (s), ``jacket_inlet`` (all stages, K),
        ``jacket_inlet_<k>`` (stage k from 1, K), ``feed_rate`` / ``feed_rate_<k>`` (m3/s),
        ``b_total`` (mol of B fed, spread over the feed stages in proportion to their
        rates), and any reactor FMU parameter name (SI units).
        """
        base = base or cls()
        n_j = stages or len(base.jacket_inlet)
        n_f = feed_stages or len(base.feed_rate)
        jac = list(np.resize(base.jacket_inlet, n_j))
        feed = list(np.resize(base.feed_rate, n_f))
        params = dict(base.parameters)
        batch_time = base.batch_time
        b_total = None
        from fmu_models.reference.reactor import default_parameters

        known = default_parameters()
        for key, val in values.items():
            if key == "batch_time":
                batch_time = float(val)
            elif key == "jacket_inlet":
                jac = [float(val)] * n_j
            elif key == "feed_rate":
                feed = [float(val)] * n_f
            elif key == "b_total":
                b_total = float(val)
            elif key.startswith("jacket_inlet_") or key.startswith("feed_rate_"):
                prof, _, k = key.rpartition("_")
                target = jac if prof == "jacket_inlet" else feed
                if not k.isdigit() or not 1 <= int(k) <= len(target):
                    raise ConfigError(f"recipe parameter {key!r}: stage must be 1..{len(target)}")
                target[int(k) - 1] = float(val)
            elif key in known:
                params[key] = float(val) if not isinstance(val, bool) else val
            else:
                choices = ["batch_time", "jacket_inlet", "feed_rate", "b_total",
                           *[f"jacket_inlet_{i + 1}" for i in range(n_j)],
                           *[f"feed_rate_{i + 1}" for i in range(n_f)], *known]
                raise ConfigError(f"recipe parameter {key!r} is not known; {did_you_mean(key, choices)}")
        if b_total is not None:
            cb = float(params.get("cB_feed", known["cB_feed"]))
            stage_len = batch_time / n_f
            shape = np.asarray(feed, dtype=float)
            if shape.sum() <= 0:
                shape = np.ones(n_f)
            scale = b_total / (cb * stage_len * shape.sum())
            feed = list(shape * scale)
        return cls(batch_time=batch_time, jacket_inlet=tuple(jac), feed_rate=tuple(feed),
                   parameters=params)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"batch_time": self.batch_time, "jacket_inlet": list(self.jacket_inlet),
                "feed_rate": list(self.feed_rate), "parameters": dict(self.parameters)}


# --------------------------------------------------------------------------- simulation
ChunkCallback = Callable[[xr.Dataset], None]


def _time_grid(batch_time: float, dt: float, extra: Sequence[float]) -> np.ndarray:
    n = max(1, int(round(batch_time / dt)))
    t = np.linspace(0.0, batch_time, n + 1)
    return np.unique(np.concatenate([t, np.asarray(list(extra), dtype=float)]))


def simulate_recipe(
    recipe: ReactorRecipe,
    *,
    backend: str = "auto",
    dt: float = 60.0,
    chunks: int = 1,
    on_chunk: ChunkCallback | None = None,
    rtol: float = 1e-7,
) -> xr.Dataset:
    """Run one recipe and return its trajectory.

    Parameters
    ----------
    recipe
        The recipe.
    backend
        ``"fmu"`` (reactor FMU, co-simulation), ``"reference"`` (SciPy implementation of
        the same equations) or ``"auto"`` (FMU when built, else reference).
    dt
        Output interval in s (stage boundaries are always output points).
    chunks
        Simulate the batch in this many equal chunks; ``on_chunk`` sees the trajectory
        so far after each one and may raise (e.g. :class:`optuna.TrialPruned`) to stop.
    rtol
        Relative tolerance of the integrator.

    Returns
    -------
    xarray.Dataset
        Variables :data:`RECIPE_OUTPUTS` over ``time`` (s), with units, and the recipe
        in ``attrs["recipe"]``; ``attrs["backend"]`` names the simulator used.
    """
    backend = resolve_backend(backend)
    times = _time_grid(recipe.batch_time, dt, recipe.breakpoints())
    cuts = np.linspace(0.0, recipe.batch_time, max(1, int(chunks)) + 1)[1:]
    runner = _FmuRun(recipe, rtol) if backend == "fmu" else _ReferenceRun(recipe, rtol)
    rows: list[np.ndarray] = [runner.outputs(0.0)]
    t_done = 0.0
    for cut in cuts:
        seg = times[(times > t_done + 1e-9) & (times <= cut + 1e-9)]
        rows.extend(runner.advance(seg))
        t_done = float(cut)
        if on_chunk is not None and cut < recipe.batch_time - 1e-9:
            on_chunk(_dataset(times[: len(rows)], np.vstack(rows), recipe, backend))
    return _dataset(times[: len(rows)], np.vstack(rows), recipe, backend)


def resolve_backend(backend: str) -> str:
    """``"auto"`` → ``"fmu"`` if the reactor FMU is built and loadable, else ``"reference"``."""
    if backend not in ("auto", "fmu", "reference"):
        raise ConfigError(f"backend {backend!r} is not known; use 'auto', 'fmu' or 'reference'")
    if backend == "auto":
        return "fmu" if _reactor_fmu().is_file() else "reference"
    if backend == "fmu" and not _reactor_fmu().is_file():
        raise ConfigError(f"backend 'fmu': {_reactor_fmu()} is not built; run `make fmus`")
    return backend


def _units_of(name: str) -> str:
    from fmu_models import load_spec

    try:
        unit = load_spec("reactor").variable(name).unit
    except Exception:  # noqa: BLE001 - outputs without a spec entry are dimensionless
        unit = None
    return unit or "1"


def _dataset(times: np.ndarray, values: np.ndarray, recipe: ReactorRecipe, backend: str) -> xr.Dataset:
    import json

    data = {}
    for i, name in enumerate(RECIPE_OUTPUTS):
        data[name] = xr.DataArray(values[:, i], dims="time",
                                  attrs={"units": _units_of(name), "long_name": name})
    ds = xr.Dataset(data, coords={"time": ("time", times, {"units": "s", "long_name": "elapsed batch time"})})
    ds.attrs["recipe"] = json.dumps(recipe.as_dict())
    ds.attrs["backend"] = backend
    return ds


class _ReferenceRun:
    """Chunked integration of :mod:`fmu_models.reference.reactor` (LSODA, restarts at stages)."""

    def __init__(self, recipe: ReactorRecipe, rtol: float):
        from fmu_models import load_spec
        from fmu_models.reference import reactor as ref

        self.ref = ref
        self.recipe = recipe
        p = ref.default_parameters()
        p.update(recipe.fmu_parameters())
        self.p = p
        self.rtol = rtol
        spec = load_spec("reactor")
        self.atol = rtol * np.array([spec.variable(n).nominal or 1.0 for n in ref.STATES])
        self.x = ref.initial_state(p)
        self.t = 0.0
        self.bps = recipe.breakpoints()
        # stage tables for the right-hand side (called ~10^3 times per batch): bisect on lists
        # gives the same stage as ReactorRecipe.profile without NumPy call overhead
        self._stages = {name: (recipe.stage_bounds(recipe.batch_time, len(getattr(recipe, name))).tolist(),
                               list(getattr(recipe, name))) for name in ("feed_rate", "jacket_inlet")}

    def _u(self, t: float) -> dict[str, float]:
        # value on the stage containing (t - 0): right-continuous at the stage end is handled by
        # restarting the integration at every breakpoint
        return {"F_B": self._stage_value("feed_rate", t), "T_cool_in": self._stage_value("jacket_inlet", t),
                "T_sp": self.p["T_sp"], "F_cool": self.p["F_cool"]}

    def _stage_value(self, name: str, t: float) -> float:
        bounds, values = self._stages[name]
        k = min(max(bisect.bisect_left(bounds, float(t)) - 1, 0), len(values) - 1)
        return values[k]

    def outputs(self, t: float) -> np.ndarray:
        ix = {n: i for i, n in enumerate(self.ref.STATES)}
        out = self.ref.reactor_outputs(self.x, self.p, self._u(t))
        return np.array([self.x[ix[n]] if n in ix else out[n] for n in RECIPE_OUTPUTS])

    def advance(self, seg: np.ndarray) -> list[np.ndarray]:
        if seg.size == 0:
            return []
        ix = {n: i for i, n in enumerate(self.ref.STATES)}
        t_eval = np.concatenate([[self.t], seg])

        def rhs(t, x):
            # inside (t_k, t_k+1] the stage k value applies; restarts at breakpoints make the
            # integrator never evaluate across a jump
            return self.ref.reactor_rhs(t, x, self.p, self._u_open(t))

        xs = self.ref_integrate(rhs, t_eval)
        rows = []
        for k, t in enumerate(seg):
            x = xs[k + 1]
            out = self.ref.reactor_outputs(x, self.p, self._u(t))
            rows.append(np.array([x[ix[n]] if n in ix else out[n] for n in RECIPE_OUTPUTS]))
        self.x = xs[-1].copy()
        self.t = float(seg[-1])
        return rows

    def _u_open(self, t: float) -> dict[str, float]:
        return self._u(t)

    def ref_integrate(self, rhs, t_eval):
        from fmu_models.reference import integrate

        return integrate(rhs, self.x, t_eval, method="LSODA", rtol=self.rtol, atol=self.atol,
                         breakpoints=self.bps)


class _FmuRun:
    """Chunked co-simulation of the reactor FMU with the stepping API of :class:`FmuModel`."""

    _models: dict[str, Any] = {}

    def __init__(self, recipe: ReactorRecipe, rtol: float):
        from fmu_models import FmuModel

        key = str(_reactor_fmu())
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = FmuModel(key, interface="cs")
        self.model = model
        self.recipe = recipe
        params = {**recipe.fmu_parameters(), "cs_rtol": rtol}
        model.start(parameters=params, inputs=self._u(0.0), stop_time=recipe.batch_time)

    def _u(self, t: float) -> dict[str, float]:
        return {"F_B": float(self.recipe.profile("feed_rate", t)),
                "T_cool_in": float(self.recipe.profile("jacket_inlet", t))}

    def outputs(self, t: float) -> np.ndarray:
        return self.model.get(list(RECIPE_OUTPUTS))

    def advance(self, seg: np.ndarray) -> list[np.ndarray]:
        rows = []
        for t in seg:
            t_prev = self.model.time or 0.0
            # zero-order hold over (t_prev, t]: the stage that contains this step
            u = self._u(0.5 * (t_prev + t))
            self.model.set(list(u), list(u.values()))
            self.model.step_to(float(t))
            rows.append(self.model.get(list(RECIPE_OUTPUTS)))
        return rows


# --------------------------------------------------------------------------- metrics
def recipe_metrics(trajectory: xr.Dataset, envelopes: Sequence[Any] = ()) -> dict[str, float]:
    """Key figures of one batch (see :data:`REACTOR_METRICS` for names and units).

    ``envelope_violation`` is the largest excursion over all ``envelopes`` (objects with
    ``violation(trajectory) -> float``), 0 when inside or when none are given.
    """
    t = trajectory["time"].values
    end = trajectory.isel(time=-1)
    bt = float(t[-1])
    q = np.abs(trajectory["Q_cool"].values)
    energy = float(np.sum(0.5 * (q[1:] + q[:-1]) * np.diff(t))) if t.size > 1 else 0.0
    viol = max([float(e.violation(trajectory)) for e in envelopes], default=0.0)
    return {
        "yield": float(end["yield_C"]),
        "impurity": float(end["impurity_D"]),
        "conversion": float(end["conversion_A"]),
        "peak_temperature": float(trajectory["T"].max()),
        "batch_time": bt,
        "productivity": float(end["nC"]) / (bt / 3600.0) if bt > 0 else 0.0,
        "b_fed": float(end["n_B_fed"]),
        "utility_energy": energy,
        "envelope_violation": viol,
    }


def with_recipe(recipe: ReactorRecipe, **changes: Any) -> ReactorRecipe:
    """Copy of ``recipe`` with fields replaced."""
    return replace(recipe, **changes)
