"""Advice from the look-ahead: when a projection alarms, search the advised set-points through the same
projection and propose the best change through the audited advice channel.

A projection (:class:`~twin._addons.LookaheadAlarms`) that reaches ``alarm_probability`` — the batch
is likely to leave its golden envelope or miss a quality spec — starts a search: for each set-point of
``advice.setpoints`` with an ``input`` (the FMU input it moves in the twin), ``advice.candidates``
values evenly over what its limits and rate of change allow now (:meth:`~twin.AdviceChannel.reachable`)
are each projected from the twin's state with that value held from now on, with the same parameter
draws as the alarming projection (common random numbers: the comparison is not blurred by different
draws; Law, *Simulation Modeling and Analysis*, 5th ed., 2015, sec. 11.2). The value with the lowest
alarming probability (the larger of the probability of leaving the envelope and of missing a spec;
ties: the smaller expected share of the rest of the batch outside the envelope, the later expected
violation, the smaller move) is proposed when it lowers that probability — or, for a batch already
outside its band (every run "leaves"), that share — by at least ``advice.min_improvement``: in ``recommend`` mode an operator confirms it, in
``closed-loop`` it is written — the channel checks limits and rate again and audits every step. One
set-point moves per proposal (a coordinate search: each change explainable on its own); no proposal
while one waits for its operator or within ``advice.cooldown`` of the last.

Why not the Ipopt correction (:func:`optimization.correct_recipe`)? It re-optimises jacket-inlet and
feed profiles of the reference model; the plant takes set-points through its own controller. The
search here changes what the plant accepts, judged by the same Monte-Carlo projection the alarm came
from.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from workbench.errors import ConfigError, UnitError, did_you_mean
from workbench.units import convert

__all__ = ["LookaheadAdvisor"]

log = logging.getLogger(__name__)


class LookaheadAdvisor:
    """Propose set-point changes when the look-ahead alarms (see the module notes).

    Parameters
    ----------
    lookahead
        The twin's :class:`~twin._addons.LookaheadAlarms`.
    channel
        The :class:`~twin.AdviceChannel` of the binding's ``advice:`` section.
    twin
        The :class:`~twin.Twin` (its FMU inputs and units).
    """

    def __init__(self, lookahead, channel, twin) -> None:
        self.lookahead, self.channel = lookahead, channel
        s = channel.settings
        src = twin.binding.source_file
        model = twin.model
        #: (set-point, FMU input, node unit → FMU unit) of the searched set-points.
        self.searched = []
        for i, sp in enumerate(s.setpoints):
            if sp.input is None:
                continue
            if sp.input not in model.input_names:
                raise ConfigError(f"advice.setpoints[{i}].input: '{sp.input}' is not an input the twin drives; "
                                  f"{did_you_mean(sp.input, model.input_names)}", source=src,
                                  path=f"advice.setpoints[{i}].input")
            fmu_unit = model.variable_unit(sp.input)
            try:
                convert(1.0, fmu_unit, from_unit=sp.unit)
            except UnitError:
                raise ConfigError(f"advice.setpoints[{i}].unit: '{sp.unit}' does not convert to '{fmu_unit}' of FMU "
                                  f"input '{sp.input}'", source=src, path=f"advice.setpoints[{i}].unit") from None
            self.searched.append((sp, sp.input, fmu_unit))
        if not self.searched:
            raise ConfigError("advice: no set-point names the FMU input it moves (advice.setpoints[].input), so the "
                              "look-ahead has nothing to search", source=src, path="advice.setpoints")
        self.last_proposal_at = -math.inf
        #: Every search: plant time, the alarming probability, the best value per set-point and its probability.
        self.searches: list[dict] = []

    def update(self, time: float, elapsed: float, projected: bool) -> None:
        """After a sample: settle a pending proposal (an operator's answer); search if this sample's projection
        alarms."""
        ch = self.channel
        if ch.pending is not None:
            ch.poll_confirmations(time)
        la = self.lookahead
        if not projected or la.last is None:
            return
        worst = _worst(la.last)
        if worst < la.settings.alarm_probability or ch.pending is not None:
            return
        if time - self.last_proposal_at < ch.settings.cooldown:
            return
        best = self._search(time, elapsed, worst)
        if best is None:
            return
        sp, value, j, current = best
        self.last_proposal_at = time
        why = (f"look-ahead at {elapsed / 60:.0f} min of the batch: {_describe(la.last)} "
               f"(alarm level {la.settings.alarm_probability:g})")
        effect = (f"{sp.node} {current:.4g} → {value:.4g} {sp.unit}: {_describe(la.last)} → {_describe(j)} "
                  f"({la.settings.replications} runs, same draws)")
        ch.propose({sp.node: value}, why, effect, at=time)

    def _search(self, time: float, elapsed: float, worst: float):
        la, ch = self.lookahead, self.channel
        found = []
        record = {"time": float(time), "probability": worst, "candidates": []}
        for sp, fmu_input, fmu_unit in self.searched:
            try:
                low, high, current = ch.reachable(sp.node, time)
            except Exception as exc:  # noqa: BLE001 - a set-point not readable now is not searched; logged
                log.warning("advice search: %s not readable (%s); not searched", sp.node, exc)
                continue
            values = [v for v in np.linspace(low, high, ch.settings.candidates) if abs(v - current) > 1e-12]
            for value in values:
                out = la.project(elapsed, seed=la.last_seed,
                                 inputs={fmu_input: convert(float(value), fmu_unit, from_unit=sp.unit)})
                if out is None:
                    return None
                j = out[0]
                ttv = j.time_to_violation if math.isfinite(j.time_to_violation) else math.inf
                found.append(((_worst(j), j.share_outside, -ttv, abs(value - current)), sp, float(value), j, current))
                record["candidates"].append({"node": sp.node, "value": float(value), "probability": _worst(j),
                                             "share_outside": j.share_outside})
        self.searches.append(record)
        if not found:
            return None
        key, sp, value, j, current = min(found, key=lambda f: f[0])
        gain = max(worst - key[0], la.last.share_outside - key[1])
        if gain < ch.settings.min_improvement:
            return None
        return sp, value, j, current


def _worst(j) -> float:
    return max([j.p_leave, *j.p_miss.values()])


def _describe(j) -> str:
    parts = [f"P(leave envelope) {j.p_leave:.2f}"] + [f"P(miss {k}) {v:.2f}" for k, v in j.p_miss.items()]
    return ", ".join(parts) + f", {100 * j.share_outside:.0f} % of the rest outside"
