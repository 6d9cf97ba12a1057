"""Reference implementation of the convective batch fluid-bed dryer (``fmu_models/dryer``).

The equations of ``fmu_models/dryer/README.md`` written independently in NumPy
and integrated with scipy ``solve_ivp``; plus the analytic constant-rate
period (adiabatic-saturation product temperature and drying time).
SI units: s, K, kg, Pa, J, W; humidities and moisture in kg/kg.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.optimize import brentq

from fmu_models._spec import load_spec
from fmu_models.reference._common import InputValue, input_functions, integrate, merge_params

__all__ = [
    "STATES",
    "INPUTS",
    "T_ZERO",
    "default_parameters",
    "saturation_pressure",
    "saturation_humidity",
    "dryer_rhs",
    "dryer_outputs",
    "constant_rate_solution",
    "simulate_reference",
]

STATES = ("X", "T_p", "m_evap", "E_air_in", "E_air_out", "E_loss")
INPUTS = ("T_air_in", "G_air", "Y_in")
T_ZERO = 273.15  # K, enthalpy reference (0 degC, liquid water)
MW_RATIO = 0.62198  # M_water / M_dry_air = 18.01528 / 28.9647 (Perry's sec. 12)


def default_parameters() -> dict[str, float]:
    """Start values of all parameters and inputs of the dryer FMU (SI units)."""
    return load_spec("dryer").defaults()


def saturation_pressure(T: float | np.ndarray) -> float | np.ndarray:
    """Saturation pressure of water in Pa (Antoine, 1-100 degC).

    ``log10(p / mmHg) = 8.07131 - 1730.63 / (233.426 + t / degC)``; constants as
    tabulated for water between 1 and 100 degC (Lange's Handbook of Chemistry,
    reproduced in Perry's Chemical Engineers' Handbook). 1 mmHg = 133.322368 Pa.
    """
    t = np.asarray(T) - T_ZERO
    return 133.322368 * 10.0 ** (8.07131 - 1730.63 / (233.426 + t))


def saturation_humidity(T: float, P_total: float) -> float:
    """Saturation humidity in kg water / kg dry air: 0.622 p_s / (P - p_s) (Perry's, sec. 12)."""
    ps = min(float(saturation_pressure(T)), 0.99 * P_total)
    return MW_RATIO * ps / (P_total - ps)


def _algebraics(x: np.ndarray, p: Mapping[str, float], u: Mapping[str, float]) -> dict:
    X, Tp = x[0], x[1]
    G = max(u["G_air"], 0.0)
    Tin, Yin = u["T_air_in"], u["Y_in"]
    eff = 1.0 - np.exp(-p["NTU"])
    ys = saturation_humidity(Tp, p["P_total"])
    f = float(np.clip((X - p["X_e"]) / (p["X_c"] - p["X_e"]), 0.0, 1.0))
    y_out = Yin + f * eff * (ys - Yin)
    t_out = Tp + (Tin - Tp) * np.exp(-p["NTU"])
    m_dot = G * (y_out - Yin)

    def h_air(T, Y):
        return p["cp_a"] * (T - T_ZERO) + Y * (p["dHv0"] + p["cp_v"] * (T - T_ZERO))

    return dict(ys=ys, f=f, y_out=y_out, t_out=t_out, m_dot=m_dot, G=G,
                h_in=h_air(Tin, Yin), h_out=h_air(t_out, y_out),
                q_loss=p["UA_loss"] * (Tp - p["T_amb"]),
                q_sens=G * (p["cp_a"] + Yin * p["cp_v"]) * (Tin - t_out))


def dryer_rhs(t: float, x: np.ndarray, p: Mapping[str, float],
              u: Mapping[str, float]) -> np.ndarray:
    """Right-hand side dx/dt of the dryer (states :data:`STATES`).

    Parameters
    ----------
    t
        Time in s (unused).
    x
        ``[X, T_p, m_evap, E_air_in, E_air_out, E_loss]`` (kg/kg, K, kg, J, J, J).
    p
        Parameters by name.
    u
        Inputs ``T_air_in`` (K), ``G_air`` (kg/s), ``Y_in`` (kg/kg).

    Returns
    -------
    numpy.ndarray
    """
    a = _algebraics(x, p, u)
    X, Tp = x[0], x[1]
    heat_cap = p["m_dry"] * (p["cp_s"] + X * p["cp_w"])
    return np.array([
        -a["m_dot"] / p["m_dry"],
        (a["G"] * (a["h_in"] - a["h_out"]) - a["q_loss"]
         + a["m_dot"] * p["cp_w"] * (Tp - T_ZERO)) / heat_cap,
        a["m_dot"],
        a["G"] * a["h_in"],
        a["G"] * a["h_out"],
        a["q_loss"],
    ])


def dryer_outputs(x: np.ndarray, p: Mapping[str, float], u: Mapping[str, float]) -> dict:
    """Algebraic outputs (exhaust state, rate, product enthalpy) for one state."""
    a = _algebraics(x, p, u)
    X, Tp = x[0], x[1]
    pv = a["y_out"] * p["P_total"] / (MW_RATIO + a["y_out"])
    return {
        "moisture_wb": X / (1.0 + X),
        "T_air_out": a["t_out"],
        "Y_out": a["y_out"],
        "RH_out": pv / float(saturation_pressure(a["t_out"])),
        "Y_sat_p": a["ys"],
        "drying_rate": a["m_dot"],
        "f_falling": a["f"],
        "Q_sensible": a["q_sens"],
        "H_product": p["m_dry"] * (p["cp_s"] + X * p["cp_w"]) * (Tp - T_ZERO),
    }


def constant_rate_solution(params: Mapping[str, float] | None = None) -> dict[str, float]:
    """Analytic constant-rate period without wall losses.

    With equal transfer units for heat and mass the product settles at the
    temperature ``T_s`` where the energy balance closes with the evaporation,
    ``G (h_in - h_out) + m_dot cp_w (T_s - T0) = 0`` (solved by Brent's method).
    For NTU -> infinity this is the classical adiabatic-saturation temperature
    of the inlet air (Treybal, *Mass-Transfer Operations*, 3rd ed., sec. 7;
    Perry's sec. 12); at finite NTU the vapour leaves at ``T_out > T_s`` and
    ``T_s`` shifts by a fraction of a kelvin. The rate is then constant,
    ``m_dot = G (1 - e^-NTU)(Y_s(T_s) - Y_in)``, and the drying time from
    ``X0`` to ``X_c`` is ``m_dry (X0 - X_c) / m_dot``.

    Returns
    -------
    dict
        ``T_s`` (K), ``Y_s`` (kg/kg), ``rate`` (kg/s), ``t_constant_rate`` (s).
    """
    p = merge_params(default_parameters(), params, "dryer")
    u = {k: p[k] for k in INPUTS}
    pz = {**p, "UA_loss": 0.0}

    def balance(Ts):
        x = np.array([max(p["X0"], p["X_c"]), Ts, 0, 0, 0, 0])
        return dryer_rhs(0.0, x, pz, u)[1]

    Ts = brentq(balance, T_ZERO + 0.5, u["T_air_in"], xtol=1e-12)
    ys = saturation_humidity(Ts, p["P_total"])
    rate = u["G_air"] * (1.0 - np.exp(-p["NTU"])) * (ys - u["Y_in"])
    return {"T_s": Ts, "Y_s": ys, "rate": rate,
            "t_constant_rate": p["m_dry"] * (p["X0"] - p["X_c"]) / rate}


def simulate_reference(
    params: Mapping[str, float] | None = None,
    inputs: Mapping[str, InputValue] | None = None,
    *,
    t_end: float = 7200.0,
    dt: float = 10.0,
    t_eval: np.ndarray | None = None,
    breakpoints: tuple[float, ...] = (),
    method: str = "Radau",
    rtol: float = 1e-9,
) -> dict[str, np.ndarray]:
    """Simulate the dryer with scipy ``solve_ivp``.

    Parameters
    ----------
    params, inputs
        Overrides of parameters / inputs (inputs may be callables of t in s).
    t_end, dt, t_eval
        Output grid in s.
    breakpoints
        Input discontinuities in s.
    method, rtol
        Solver and relative tolerance (absolute = rtol times the state nominals).

    Returns
    -------
    dict of numpy.ndarray
        ``"time"``, states and outputs by FMU variable name.
    """
    p = merge_params(default_parameters(), {**(params or {}), **(inputs or {})}, "dryer")
    u_of_t = input_functions(INPUTS, p)
    if t_eval is None:
        t_eval = np.arange(0.0, t_end + 0.5 * dt, dt)
    spec = load_spec("dryer")
    nominal = np.array([spec.variable(n).nominal for n in STATES])
    x0 = np.array([p["X0"], p["T_p0"], 0.0, 0.0, 0.0, 0.0])
    # the piecewise-linear drying curve has kinks at X_c and X_e: restart there
    i_x = 0
    switches = []
    for level in (p["X_c"], p["X_e"]):
        if x0[i_x] > level:
            switches.append((lambda t, x, _l=level: _l - x[i_x],
                             lambda x, _l=level: np.concatenate([[_l], x[1:]])))
    xs = integrate(lambda t, x: dryer_rhs(t, x, p, u_of_t(t)), x0, t_eval, method=method,
                   rtol=rtol, atol=rtol * nominal, breakpoints=breakpoints, switches=switches)
    result = {"time": np.asarray(t_eval, dtype=float)}
    for i, n in enumerate(STATES):
        result[n] = xs[:, i]
    outs = [dryer_outputs(xs[k], p, u_of_t(t_eval[k])) for k in range(len(t_eval))]
    for key in outs[0]:
        result[key] = np.array([o[key] for o in outs])
    return result
