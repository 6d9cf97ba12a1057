"""Reference implementation of the pump-bearing degradation model (``fmu_models/degradation``).

Damage ``D`` accumulates by the Palmgren-Miner rule at a rate set by the
ISO 281 load-life relation, linear speed dependence (life in revolutions) and
an Arrhenius temperature factor (Nelson, *Accelerated Testing*, Wiley 1990,
ch. 2); failure at ``D = 1``. SI units: s, K, N, rad/s.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.integrate import quad

from fmu_models._spec import load_spec
from fmu_models.reference._common import InputValue, input_functions, integrate, merge_params

__all__ = [
    "R_GAS",
    "STATES",
    "INPUTS",
    "default_parameters",
    "bearing_temperature",
    "damage_rate",
    "degradation_rhs",
    "time_to_failure",
    "simulate_reference",
]

R_GAS = 8.314462618  # J/(mol K)
STATES = ("D", "revolutions")
INPUTS = ("load", "speed", "T_process")


def default_parameters() -> dict[str, float]:
    """Start values of all parameters and inputs of the degradation FMU (SI units)."""
    return load_spec("degradation").defaults()


def bearing_temperature(D: float, p: Mapping[str, float], u: Mapping[str, float]) -> float:
    """Bearing temperature in K: process temperature plus friction heating growing with damage."""
    load, n = max(u["load"], 0.0), max(u["speed"], 0.0)
    d = min(max(D, 0.0), 1.0)
    return u["T_process"] + p["dT_ref"] * (load / p["P_ref"]) * (n / p["n_ref"]) * (1.0 + p["c_heat"] * d)


def damage_rate(D: float, p: Mapping[str, float], u: Mapping[str, float]) -> float:
    """dD/dt in 1/s: ``(P/P_ref)^p (n/n_ref) exp(Ea/R (1/T_ref - 1/T_b)) / L_ref``."""
    load, n = max(u["load"], 0.0), max(u["speed"], 0.0)
    if load <= 0.0 or n <= 0.0:
        return 0.0
    tb = bearing_temperature(D, p, u)
    return ((load / p["P_ref"]) ** p["p_life"] * (n / p["n_ref"])
            * np.exp(p["Ea"] / R_GAS * (1.0 / p["T_ref"] - 1.0 / tb)) / p["L_ref"])


def degradation_rhs(t: float, x: np.ndarray, p: Mapping[str, float],
                    u: Mapping[str, float]) -> np.ndarray:
    """Right-hand side for ``x = [D, revolutions]``."""
    return np.array([damage_rate(x[0], p, u), max(u["speed"], 0.0) / (2.0 * np.pi)])


def time_to_failure(params: Mapping[str, float] | None = None) -> float:
    """Time in s for D to go from ``D0`` to 1 under constant inputs.

    ``t_f = integral_{D0}^{1} dD / rate(D)`` by adaptive quadrature; with
    ``c_heat = 0`` the rate is constant and ``t_f = (1 - D0) / rate`` exactly.
    """
    p = merge_params(default_parameters(), params, "degradation")
    u = {k: p[k] for k in INPUTS}
    if p["c_heat"] == 0.0 or p["dT_ref"] == 0.0:
        return (1.0 - p["D0"]) / damage_rate(p["D0"], p, u)
    val, _ = quad(lambda d: 1.0 / damage_rate(d, p, u), p["D0"], 1.0, epsabs=0.0, epsrel=1e-12)
    return val


def simulate_reference(
    params: Mapping[str, float] | None = None,
    inputs: Mapping[str, InputValue] | None = None,
    *,
    t_end: float = 1.0e8,
    dt: float = 3600.0,
    t_eval: np.ndarray | None = None,
    breakpoints: tuple[float, ...] = (),
    method: str = "Radau",
    rtol: float = 1e-10,
) -> dict[str, np.ndarray]:
    """Simulate the degradation model with scipy ``solve_ivp``.

    Returns
    -------
    dict of numpy.ndarray
        ``"time"``, ``D``, ``revolutions``, ``T_bearing``, ``vibration_rms``,
        ``damage_rate``, ``failed`` (bool) and ``t_failure`` (s, 0 before failure;
        the crossing time is located on the dense output).
    """
    p = merge_params(default_parameters(), {**(params or {}), **(inputs or {})}, "degradation")
    u_of_t = input_functions(INPUTS, p)
    if t_eval is None:
        t_eval = np.arange(0.0, t_end + 0.5 * dt, dt)
    x0 = np.array([p["D0"], 0.0])
    nominal = np.array([1.0, 1.0e9])
    switches = []
    if x0[0] < 1.0:
        switches.append((lambda t, x: x[0] - 1.0, lambda x: np.array([1.0, x[1]])))
    # the heating term is capped at D = 1: restart there (snap keeps D = 1 exactly)
    xs = integrate(lambda t, x: degradation_rhs(t, x, p, u_of_t(t)), x0, t_eval,
                   method=method, rtol=rtol, atol=rtol * nominal,
                   breakpoints=breakpoints, switches=switches)
    D = xs[:, 0]
    res = {"time": np.asarray(t_eval, dtype=float), "D": D, "revolutions": xs[:, 1]}
    us = [u_of_t(t) for t in t_eval]
    res["T_bearing"] = np.array([bearing_temperature(d, p, u) for d, u in zip(D, us, strict=True)])
    dc = np.clip(D, 0.0, 1.0)
    res["vibration_rms"] = p["v0"] + p["k_v"] * dc ** p["m_v"]
    res["damage_rate"] = np.array([damage_rate(d, p, u) for d, u in zip(D, us, strict=True)])
    res["failed"] = D >= 1.0 - 1e-9
    tf = 0.0
    if res["failed"].any():
        k = int(np.argmax(res["failed"]))
        if k == 0:
            tf = float(t_eval[0])
        else:
            # dense re-integration over the bracketing interval for the crossing time
            sub = np.linspace(t_eval[k - 1], t_eval[k], 2001)
            xsub = integrate(lambda t, x: degradation_rhs(t, x, p, u_of_t(t)), xs[k - 1],
                             sub, method=method, rtol=rtol, atol=rtol * nominal,
                             switches=[(lambda t, x: x[0] - 1.0,
                                        lambda x: np.array([1.0, x[1]]))])
            j = int(np.argmax(xsub[:, 0] >= 1.0 - 1e-12))
            d0, d1 = xsub[j - 1, 0], xsub[j, 0]
            tf = float(sub[j - 1] + (1.0 - d0) / (d1 - d0) * (sub[j] - sub[j - 1])) if d1 > d0 else float(sub[j])
    res["t_failure"] = np.where(res["failed"], tf, 0.0)
    return res
