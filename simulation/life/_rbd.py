"""Compiled reliability block diagram: vectorised lives, analytic R(t), boolean state.

Structure functions (Rausand & Høyland 2004, *System Reliability Theory*, ch. 4):
series = min of lives, parallel = max, k-out-of-n = the (n−k+1)-th smallest life.
Standby (cold/warm/hot) follows the cumulative exposure model: a waiting unit
ages at ``dormant_factor`` × its active rate, so a unit switched in at time
``t₁`` with exposure life ``L`` fails at ``E⁻¹(L + (1−f)·E(t₁))`` (or during
dormancy if ``L ≤ f·E(t₁)``); each switch-over succeeds with probability p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation.life._config import Block, LifeModel
from simulation.life._stress import ExposureClock
from workbench.errors import ConfigError

__all__ = ["Node", "Structure", "compile_structure"]


@dataclass
class Node:
    """A compiled block: ``children`` are component indices (int) or Nodes."""

    type: str
    children: list[int | Node]
    k: int = 1
    factor: float = 0.0
    switch_p: float = 1.0
    switch_id: int = -1  # first column in the switch-draw matrix
    components: list[int] = field(default_factory=list)
    standby_id: int = -1


def _compile(block: Block | str, index: dict[str, int], counters: dict[str, int]) -> int | Node:
    if isinstance(block, str):
        return index[block]
    children = [_compile(b, index, counters) for b in block.blocks]
    node = Node(block.type, children, k=block.k or 1, factor=block.factor, switch_p=block.switch_reliability)
    for c in children:
        node.components.extend([c] if isinstance(c, int) else c.components)
    if block.type == "standby":
        node.switch_id = counters["switch"]
        counters["switch"] += len(children) - 1
        node.standby_id = counters["standby"]
        counters["standby"] += 1
    return node


class Structure:
    """The system structure of a :class:`LifeModel`, compiled once.

    Attributes
    ----------
    names
        Component names (column order of every life matrix).
    clocks
        One :class:`ExposureClock` per component.
    n_switches, n_standby
        Number of switch-overs and standby blocks.
    """

    def __init__(self, model: LifeModel):
        self.names = [c.name for c in model.components]
        index = {n: i for i, n in enumerate(self.names)}
        counters = {"switch": 0, "standby": 0}
        self.root = _compile(model.system, index, counters)
        self.n_switches = counters["switch"]
        self.n_standby = counters["standby"]
        self.clocks = [ExposureClock(model.profile, c.acceleration) for c in model.components]
        used = [model.system] if isinstance(model.system, str) else model.system.component_names()
        self.repeated = len(used) != len(set(used))
        if self.repeated and self.n_standby:
            raise ConfigError(
                "a component appears more than once in a system with standby blocks; "
                "give each standby unit its own component", path="system"
            )

    # ------------------------------------------------------------ vectorised lives
    def system_life(
        self, times: np.ndarray, exposure_lives: np.ndarray, switch_u: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """System life and the index of the component whose failure ended it.

        Parameters
        ----------
        times
            ``(missions, components)`` calendar failure times if every unit were active from 0.
        exposure_lives
            ``(missions, components)`` lives on the exposure clock (needed for standby).
        switch_u
            ``(missions, n_switches)`` uniforms deciding switch-over success.
        """
        ctx = (exposure_lives, switch_u)
        return self._eval(self.root, times, ctx)

    def _eval(self, node: int | Node, T: np.ndarray, ctx) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, int):
            return T[:, node], np.full(T.shape[0], node, dtype=np.int32)
        if node.type in ("series", "parallel"):
            return self._min_max(node, T, ctx)
        if node.type == "standby":
            return self._standby(node, T, ctx)
        # k-out-of-n fails at the (n-k+1)-th failure
        if all(isinstance(c, int) for c in node.children):
            lives = T[:, np.asarray(node.children)]
            causes = None
        else:
            parts = [self._eval(c, T, ctx) for c in node.children]
            lives = np.stack([p[0] for p in parts], axis=1)
            causes = np.stack([p[1] for p in parts], axis=1)
        n = lives.shape[1]
        r = n - node.k
        pick = np.argpartition(lives, r, axis=1)[:, r] if n > 1 else np.zeros(len(lives), dtype=np.intp)
        life = np.take_along_axis(lives, pick[:, None], axis=1)[:, 0]
        if causes is None:
            cause = np.asarray(node.children, dtype=np.int32)[pick]
        else:
            cause = np.take_along_axis(causes, pick[:, None], axis=1)[:, 0]
        return life, cause

    def _min_max(self, node: Node, T: np.ndarray, ctx) -> tuple[np.ndarray, np.ndarray]:
        """Series (min) or parallel (max) folded child by child: only 1-D temporaries.

        Same result as ``argmin``/``argmax`` over the stacked children: the first
        extreme wins ties, and a NaN life (the first one) wins as NumPy's do.
        """
        series = node.type == "series"
        life: np.ndarray | None = None
        cause: np.ndarray | None = None
        for child in node.children:
            lc, cc = (T[:, child], child) if isinstance(child, int) else self._eval(child, T, ctx)
            if life is None:
                life = lc
                cause = np.full(T.shape[0], cc, dtype=np.int32) if isinstance(cc, int) else cc
                continue
            better = np.less(lc, life) if series else np.greater(lc, life)
            nan = np.isnan(lc)
            if nan.any():
                better |= nan & ~np.isnan(life)
            life = np.where(better, lc, life)
            cause = np.where(better, cc, cause)
        return life, cause

    def _standby(self, node: Node, T: np.ndarray, ctx) -> tuple[np.ndarray, np.ndarray]:
        L, switch_u = ctx
        t, cause = self._eval(node.children[0], T, ctx)
        for j, child in enumerate(node.children[1:]):
            comps = [child] if isinstance(child, int) else child.components
            Tj = T.copy()
            f = node.factor
            if f < 1.0:  # hot standby (f = 1) ages like an active unit: times unchanged
                for i in comps:
                    clock = self.clocks[i]
                    e_switch = clock.exposure(t)
                    with np.errstate(invalid="ignore"):
                        after = clock.time_at(L[:, i] + (1.0 - f) * e_switch)
                    if f > 0:
                        alive = L[:, i] > f * e_switch
                        Tj[:, i] = np.where(alive, after, clock.time_at(L[:, i] / f))
                    else:
                        Tj[:, i] = after
            tj, cj = self._eval(child, Tj, ctx)
            ok = (tj > t)
            if node.switch_p < 1.0:
                ok &= switch_u[:, node.switch_id + j] < node.switch_p
            t = np.where(ok, tj, t)
            cause = np.where(ok, cj, cause)
        return t, cause

    # ------------------------------------------------------------ analytic R(t)
    def analytic_reliability(self, component_sf: list[np.ndarray]) -> np.ndarray | None:
        """Exact R(t) from component reliabilities, or None when not available.

        Exact for series/parallel/k-out-of-n trees of independent components used
        once (Rausand & Høyland 2004, §4.2–4.4); k-out-of-n with unequal units via
        the Poisson-binomial recursion. Standby and repeated components → None.
        """
        if self.repeated or self.n_standby:
            return None
        if any(sf is None for sf in component_sf):
            return None
        return self._analytic(self.root, component_sf)

    def _analytic(self, node: int | Node, sf: list[np.ndarray]) -> np.ndarray:
        if isinstance(node, int):
            return np.asarray(sf[node], dtype=float)
        rs = [self._analytic(c, sf) for c in node.children]
        if node.type == "series":
            return np.prod(rs, axis=0)
        if node.type == "parallel":
            return 1.0 - np.prod([1.0 - r for r in rs], axis=0)
        # P(at least k of n work): dp[j] = P(exactly j work so far)
        dp = [np.ones_like(rs[0])] + [np.zeros_like(rs[0]) for _ in rs]
        for r in rs:
            for j in range(len(dp) - 1, 0, -1):
                dp[j] = dp[j] * (1 - r) + dp[j - 1] * r
            dp[0] = dp[0] * (1 - r)
        return np.sum(dp[node.k:], axis=0)

    # ------------------------------------------------------------ boolean state
    def is_up(self, up: np.ndarray, stuck: np.ndarray, node: int | Node | None = None) -> bool:
        """System (or ``node``) state from component states; ``stuck[s]`` marks a failed switch."""
        node = self.root if node is None else node
        if isinstance(node, int):
            return bool(up[node])
        states = [self.is_up(up, stuck, c) for c in node.children]
        if node.type == "series":
            return all(states)
        if node.type == "parallel":
            return any(states)
        if node.type == "k_out_of_n":
            return sum(states) >= node.k
        return (states[0] or not stuck[node.standby_id]) and any(states)

    def activity(self, up: np.ndarray, stuck: np.ndarray) -> np.ndarray:
        """Ageing rate multiplier per component: 1 active, ``dormant_factor`` waiting."""
        out = np.ones(len(self.names))
        self._activity(self.root, up, stuck, 1.0, out)
        return out

    def _activity(self, node: int | Node, up, stuck, rate: float, out: np.ndarray) -> None:
        if isinstance(node, int):
            out[node] = rate
            return
        if node.type != "standby":
            for c in node.children:
                self._activity(c, up, stuck, rate, out)
            return
        active_found = False
        for j, c in enumerate(node.children):
            child_up = self.is_up(up, stuck, c)
            can_switch = j == 0 or not stuck[node.standby_id]
            if not active_found and can_switch and (child_up or j == len(node.children) - 1):
                self._activity(c, up, stuck, rate, out)
                active_found = child_up
            else:
                self._activity(c, up, stuck, rate * node.factor, out)

    def standby_nodes(self) -> list[Node]:
        """Every standby node (index = ``standby_id``)."""
        found: list[Node] = []

        def walk(n):
            if isinstance(n, Node):
                if n.type == "standby":
                    found.append(n)
                for c in n.children:
                    walk(c)

        walk(self.root)
        return sorted(found, key=lambda n: n.standby_id)


def compile_structure(model: LifeModel) -> Structure:
    """Compile ``model.system`` into a :class:`Structure`."""
    return Structure(model)
