"""Reference implementation of the jacketed semi-batch reactor (``fmu_models/reactor``).

The same documented equations as the C model (see ``fmu_models/reactor/README.md``),
written independently in NumPy and integrated with scipy's ``solve_ivp``.
All quantities are SI: s, K, m3, mol, J, W.

Reactions (Fogler, *Elements of Chemical Reaction Engineering*, 5th ed., ch. 8
and 13; Srinivasan, Bonvin et al., Comput. Chem. Eng. 27 (2003) 1-26)::

    A + B -> C    r1 = k1(T) cA cB     k_i(T) = k_i,ref exp(-E_i/R (1/T - 1/T_ref))
    C     -> D    r2 = k2(T) cC
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fmu_models._spec import load_spec
from fmu_models.reference._common import InputValue, input_functions, integrate, merge_params

__all__ = [
    "R_GAS",
    "STATES",
    "INPUTS",
    "default_parameters",
    "initial_state",
    "reactor_rhs",
    "reactor_outputs",
    "simulate_reference",
]

R_GAS = 8.314462618  # J/(mol K), CODATA 2018
STATES = ("nA", "nB", "nC", "nD", "V", "T", "T_jacket", "I_err",
          "n_B_fed", "E_rxn", "E_exch", "E_cool")
INPUTS = ("F_B", "T_sp", "F_cool", "T_cool_in")
_IX = {n: i for i, n in enumerate(STATES)}


def default_parameters() -> dict[str, float]:
    """Start values of all parameters and inputs of the reactor FMU (SI units)."""
    return load_spec("reactor").defaults()


def initial_state(p: Mapping[str, float]) -> np.ndarray:
    """State vector at t = 0 from the parameters (order :data:`STATES`)."""
    x = np.zeros(len(STATES))
    x[_IX["nA"]] = p["cA0"] * p["V0"]
    x[_IX["nB"]] = p["cB0"] * p["V0"]
    x[_IX["V"]] = p["V0"]
    x[_IX["T"]] = p["T0"]
    x[_IX["T_jacket"]] = p["Tj0"]
    return x


def _algebraics(x: np.ndarray, p: Mapping[str, float], u: Mapping[str, float]) -> dict:
    nA, nB, nC, nD, V, T, Tj, I_err, n_fed = x[:9]
    cA, cB, cC, cD = nA / V, nB / V, nC / V, nD / V
    k1 = p["k1_ref"] * np.exp(-p["E1"] / R_GAS * (1.0 / T - 1.0 / p["T_ref"]))
    k2 = p["k2_ref"] * np.exp(-p["E2"] / R_GAS * (1.0 / T - 1.0 / p["T_ref"]))
    r1 = k1 * cA * cB
    r2 = k2 * cC
    # wetted area of a flat-bottomed cylinder: bottom + wall up to the liquid level
    area = np.pi * p["D_vessel"] ** 2 / 4.0 + 4.0 * V / p["D_vessel"]
    ua = area / (1.0 / p["U"] + p["R_fouling"])
    f_feed = u["F_B"] if n_fed < p["n_B_dose"] else 0.0
    f_feed = max(f_feed, 0.0)
    if p["controller_enabled"]:
        e = u["T_sp"] - T
        raw = u["T_sp"] + p["Kc"] * (e + I_err / p["tau_I"])
        tj_in = min(max(raw, p["Tj_in_min"]), p["Tj_in_max"])
        # back-calculation anti-windup, Astrom & Hagglund (2006) sec. 3.5
        d_int = e
        if p["Kc"] > 0.0 and p["T_track"] > 0.0:
            d_int += p["tau_I"] * (tj_in - raw) / (p["Kc"] * p["T_track"])
    else:
        tj_in = u["T_cool_in"]
        d_int = 0.0
    f_cool = max(u["F_cool"], 0.0)
    q_rxn = (-p["dH1"] * r1 - p["dH2"] * r2) * V
    q_exch = ua * (T - Tj)
    q_cool = f_cool * p["rho_cp_cool"] * (Tj - tj_in)
    return dict(cA=cA, cB=cB, cC=cC, cD=cD, r1=r1, r2=r2, UA=ua, F_B_actual=f_feed,
                T_jacket_in=tj_in, d_int=d_int, Q_rxn=q_rxn, Q_exch=q_exch, Q_cool=q_cool)


def reactor_rhs(t: float, x: np.ndarray, p: Mapping[str, float],
                u: Mapping[str, float]) -> np.ndarray:
    """Right-hand side dx/dt of the reactor.

    Parameters
    ----------
    t
        Time in s (unused: the model is autonomous given the inputs).
    x
        State vector in the order :data:`STATES` (mol, m3, K, K s, J).
    p
        Parameters by name (see :func:`default_parameters`).
    u
        Input values at ``t`` by name (:data:`INPUTS`).

    Returns
    -------
    numpy.ndarray
        Time derivatives of the states.
    """
    a = _algebraics(x, p, u)
    V, T = x[_IX["V"]], x[_IX["T"]]
    r1, r2, F = a["r1"], a["r2"], a["F_B_actual"]
    dx = np.empty(len(STATES))
    dx[0] = -r1 * V
    dx[1] = F * p["cB_feed"] - r1 * V
    dx[2] = (r1 - r2) * V
    dx[3] = r2 * V
    dx[4] = F
    # energy balance with constant volumetric heat capacity (Luyben 2007, ch. 5)
    dx[5] = (F * p["rho_cp"] * (p["T_feed"] - T) + a["Q_rxn"] - a["Q_exch"]) / (p["rho_cp"] * V)
    dx[6] = (a["Q_exch"] - a["Q_cool"]) / (p["rho_cp_cool"] * p["V_jacket"])
    dx[7] = a["d_int"]
    dx[8] = F * p["cB_feed"]
    dx[9] = a["Q_rxn"]
    dx[10] = a["Q_exch"]
    dx[11] = a["Q_cool"]
    return dx


def reactor_outputs(x: np.ndarray, p: Mapping[str, float], u: Mapping[str, float]) -> dict:
    """Algebraic outputs (concentrations, yield, impurity, heat flows) for one state."""
    a = _algebraics(x, p, u)
    nA0 = p["cA0"] * p["V0"]
    nA, nC, nD = x[_IX["nA"]], x[_IX["nC"]], x[_IX["nD"]]
    prod = nC + nD
    out = {k: a[k] for k in ("cA", "cB", "cC", "cD", "r1", "r2", "UA", "F_B_actual",
                             "T_jacket_in", "Q_rxn", "Q_exch", "Q_cool")}
    out["conversion_A"] = 1.0 - nA / nA0 if nA0 > 0 else 0.0
    out["yield_C"] = nC / nA0 if nA0 > 0 else 0.0
    out["impurity_D"] = nD / prod if prod > 0 else 0.0
    return out


def simulate_reference(
    params: Mapping[str, float] | None = None,
    inputs: Mapping[str, InputValue] | None = None,
    *,
    t_end: float = 8 * 3600.0,
    dt: float = 60.0,
    t_eval: np.ndarray | None = None,
    breakpoints: tuple[float, ...] = (),
    method: str = "Radau",
    rtol: float = 1e-9,
) -> dict[str, np.ndarray]:
    """Simulate the reactor with scipy ``solve_ivp``.

    Parameters
    ----------
    params
        Parameter overrides by name (SI units); missing ones take the FMU start values.
    inputs
        Input values by name: a constant or a callable ``f(t)``; missing ones take
        the FMU start values.
    t_end, dt
        Stop time and output interval in s (ignored if ``t_eval`` is given).
    t_eval
        Output times in s, starting at 0.
    breakpoints
        Times in s where an input jumps; integration restarts there.
    method, rtol
        ``solve_ivp`` method (``"Radau"``, ``"LSODA"``, ...) and relative tolerance;
        absolute tolerances are ``rtol`` times the state nominal values.

    Returns
    -------
    dict of numpy.ndarray
        ``"time"``, every state and every algebraic output by FMU variable name.
    """
    p = merge_params(default_parameters(), {**(params or {}), **(inputs or {})}, "reactor")
    u_of_t = input_functions(INPUTS, p)
    if t_eval is None:
        t_eval = np.arange(0.0, t_end + 0.5 * dt, dt)
    spec = load_spec("reactor")
    nominal = np.array([spec.variable(n).nominal for n in STATES])
    x0 = initial_state(p)

    def rhs(t, x):
        return reactor_rhs(t, x, p, u_of_t(t))

    i_fed = _IX["n_B_fed"]

    def dosing_done(t, x):
        return x[i_fed] - p["n_B_dose"]

    def snap(x):
        x = x.copy()
        x[i_fed] = p["n_B_dose"]
        return x

    switches = [(dosing_done, snap)] if x0[i_fed] < p["n_B_dose"] else []
    xs = integrate(rhs, x0, t_eval, method=method, rtol=rtol, atol=rtol * nominal,
                   breakpoints=breakpoints, switches=switches)
    result = {"time": np.asarray(t_eval, dtype=float)}
    for i, n in enumerate(STATES):
        result[n] = xs[:, i]
    outs = [reactor_outputs(xs[k], p, u_of_t(t_eval[k])) for k in range(len(t_eval))]
    for key in outs[0]:
        result[key] = np.array([o[key] for o in outs])
    return result
