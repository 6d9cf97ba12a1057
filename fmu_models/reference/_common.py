"""Shared driver for the reference simulations (scipy ``solve_ivp``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.integrate import solve_ivp

from workbench.errors import FmuError, did_you_mean

InputValue = float | Callable[[float], float]
Switch = tuple[Callable[[float, np.ndarray], float], Callable[[np.ndarray], np.ndarray]]

__all__ = ["InputValue", "merge_params", "input_functions", "integrate"]


def merge_params(defaults: Mapping[str, float], given: Mapping[str, float] | None,
                 model: str) -> dict[str, float]:
    """Defaults overridden by ``given``; unknown names raise :class:`FmuError`."""
    out = dict(defaults)
    for key, value in (given or {}).items():
        if key not in defaults:
            raise FmuError(
                f"reference {model}: unknown parameter or input {key!r}"
                f"{did_you_mean(key, list(defaults))}"
            )
        out[key] = value
    return out


def input_functions(names: Sequence[str], values: Mapping[str, InputValue]
                    ) -> Callable[[float], dict[str, float]]:
    """Turn constants or callables of time into one function ``u(t) -> dict``."""
    fns = {}
    for n in names:
        v = values[n]
        fns[n] = v if callable(v) else (lambda t, _c=float(v): _c)
    return lambda t: {n: float(f(t)) for n, f in fns.items()}


def integrate(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    x0: np.ndarray,
    t_eval: np.ndarray,
    *,
    method: str = "Radau",
    rtol: float = 1e-9,
    atol: np.ndarray | float = 1e-12,
    breakpoints: Sequence[float] = (),
    switches: Sequence[Switch] = (),
    max_step: float = np.inf,
) -> np.ndarray:
    """Integrate ``dx/dt = rhs(t, x)`` and return the states at ``t_eval`` (shape n_t x n_x).

    Integration restarts at every breakpoint (input discontinuities) and at every
    switch, so the solver never steps across a discontinuity of the right-hand
    side. ``switches`` are pairs ``(g, snap)``: integration stops where
    ``g(t, x)`` rises through zero and continues from ``snap(x)``, the state
    placed exactly on the switching surface.
    """
    t_eval = np.asarray(t_eval, dtype=float)
    t0, t1 = float(t_eval[0]), float(t_eval[-1])
    stops = sorted({float(b) for b in breakpoints if t0 < b < t1} | {t1})
    out = np.empty((t_eval.size, np.size(x0)))
    out[0] = x0
    t, x = t0, np.asarray(x0, dtype=float).copy()
    active = list(range(len(switches)))
    for stop in stops:
        while t < stop:
            evs = []
            for k in active:
                def _ev(tt, xx, _f=switches[k][0]):
                    return _f(tt, xx)
                _ev.terminal = True
                _ev.direction = 1.0
                evs.append(_ev)
            sol = solve_ivp(rhs, (t, stop), x, method=method, rtol=rtol, atol=atol,
                            dense_output=True, events=evs or None, max_step=max_step)
            if sol.status < 0:
                raise FmuError(f"reference solver failed at t={sol.t[-1]:.6g} s: {sol.message}")
            t_end = float(sol.t[-1])
            sel = (t_eval > t) & (t_eval <= t_end)
            if sel.any():
                out[sel] = sol.sol(t_eval[sel]).T
            x = sol.y[:, -1].copy()
            if sol.status == 1:
                fired = [k for j, k in enumerate(active) if sol.t_events[j].size]
                for k in fired:
                    x = np.asarray(switches[k][1](x), dtype=float)
                active = [k for k in active if k not in fired]
                t = t_end
            else:
                t = stop
    return out
