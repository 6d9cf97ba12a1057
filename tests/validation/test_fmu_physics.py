"""Shipped FMU models against independent solutions of their documented equations.

* FMU (co-simulation: the FMU's own Dormand-Prince 5(4) integrator, cs_rtol 1e-7;
  model exchange: FMPy's CVode, rtol 1e-8) against ``fmu_models.reference``
  (scipy ``solve_ivp`` Radau, rtol 1e-9) over random parameter sets (hypothesis).
  Tolerance on every compared state: |fmu - ref| <= 2e-5 (|ref| + nominal).
  Measured at the default parameters, max over states of |fmu - ref| / (|ref| + nominal):
  reactor CS 2.7e-8, ME 2.4e-7 (FMI 2 and 3 alike); dryer CS 1.2e-6, ME 4.5e-7;
  degradation time to failure CS 8e-12, ME 1e-6 (relative).
* Conservation: atom balances on A and B to 1e-9 relative, energy balances of
  reactor contents, jacket and dryer to 1e-9 of the energy turned over
  (measured: 1e-15 atoms, 7e-14 reactor energy, 6e-12 dryer energy).
* Limiting cases against closed-form results: isothermal second-order batch,
  dosing time, adiabatic temperature rise, constant-rate drying time and
  product temperature (adiabatic saturation), time to failure of the bearing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fmu_models import load_spec
from fmu_models.reference import degradation, dryer, reactor

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/validation is no package
from tests.fmu_models.shipped_fixtures import (  # noqa: E402, F401
    on_grid,
    shipped_fmus_fixture,
    simulate,
)

HYP = settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
               suppress_health_check=[HealthCheck.function_scoped_fixture])
MODES = ["CoSimulation", "ModelExchange"]
AGREE = 2e-5


def _assert_agree(model: str, res, ref: dict, names, tol: float = AGREE) -> None:
    spec = load_spec(model)
    times = ref["time"]
    for name in names:
        var = spec.variable(name)
        scale = var.nominal if var.nominal is not None else 1.0
        got = on_grid(res, name, times)
        err = np.abs(got - ref[name])
        bound = tol * (np.abs(ref[name]) + scale)
        worst = int(np.argmax(err - bound))
        assert np.all(err <= bound), (
            f"{model}.{name}: |fmu - ref| = {err[worst]:.3g} at t = {times[worst]:.6g} s "
            f"exceeds {bound[worst]:.3g}")


# ------------------------------------------------------------------ reactor
reactor_params = st.fixed_dictionaries({
    "U": st.floats(200.0, 800.0),
    "k1_ref": st.floats(2e-7, 1e-6),
    "k2_ref": st.floats(2e-6, 2e-5),
    "E1": st.floats(4e4, 8e4),
    "E2": st.floats(8e4, 1.2e5),
    "dH1": st.floats(-1.5e5, -5e4),
    "T_sp": st.floats(330.0, 360.0),
    "F_B": st.floats(3e-5, 1e-4),
    "F_cool": st.floats(5e-4, 4e-3),
    "controller_enabled": st.booleans(),
    "T_cool_in": st.floats(300.0, 330.0),
    "R_fouling": st.floats(0.0, 1e-3),
})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stem", ["reactor", "reactor3"])
@HYP
@given(params=reactor_params)
def test_reactor_matches_reference(shipped_fmus, stem, mode, params):
    res = simulate(shipped_fmus[stem], mode, params, 8 * 3600.0, 60.0)
    ref = reactor.simulate_reference(params, dt=60.0)
    _assert_agree("reactor", res, ref,
                  ["nA", "nB", "nC", "nD", "V", "T", "T_jacket", "n_B_fed", "E_rxn", "E_exch"])


def test_reactor_balances_close(shipped_fmus):
    p = reactor.default_parameters()
    res = simulate(shipped_fmus["reactor"], "CoSimulation", {}, 8 * 3600.0, 60.0)
    nA0, nB0 = p["cA0"] * p["V0"], p["cB0"] * p["V0"]
    # A atoms: A -> C -> D; B atoms: B -> C -> D (fed B counted in n_B_fed)
    a_res = res["nA"] + res["nC"] + res["nD"] - nA0
    b_res = res["nB"] + res["nC"] + res["nD"] - nB0 - res["n_B_fed"]
    assert np.max(np.abs(a_res)) <= 1e-9 * nA0
    assert np.max(np.abs(b_res)) <= 1e-9 * (nB0 + res["n_B_fed"][-1])
    assert res["V"][-1] == pytest.approx(p["V0"] + res["n_B_fed"][-1] / p["cB_feed"], rel=1e-12)
    # contents: rho_cp [V (T - T_feed) - V0 (T0 - T_feed)] = E_rxn - E_exch (T_feed as reference)
    lhs = p["rho_cp"] * (res["V"] * (res["T"] - p["T_feed"]) - p["V0"] * (p["T0"] - p["T_feed"]))
    resid = lhs - (res["E_rxn"] - res["E_exch"])
    assert np.max(np.abs(resid)) <= 1e-9 * res["E_rxn"][-1]
    # jacket: rho_cp_cool V_j (Tj - Tj0) = E_exch - E_cool
    lhs_j = p["rho_cp_cool"] * p["V_jacket"] * (res["T_jacket"] - p["Tj0"])
    resid_j = lhs_j - (res["E_exch"] - res["E_cool"])
    assert np.max(np.abs(resid_j)) <= 1e-9 * np.max(np.abs(res["E_exch"]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("c_b0", [2000.0, 3000.0])
def test_reactor_isothermal_second_order_batch(shipped_fmus, mode, c_b0):
    """No feed, no heat of reaction, jacket at T0: cA(t) of A + B -> C in closed form."""
    p = reactor.default_parameters()
    T0 = 340.0
    sv = {"F_B": 0.0, "cB0": c_b0, "dH1": 0.0, "dH2": 0.0, "k2_ref": 0.0, "T0": T0, "Tj0": T0,
          "controller_enabled": False, "T_cool_in": T0}
    res = simulate(shipped_fmus["reactor"], mode, sv, 4 * 3600.0, 60.0)
    k = p["k1_ref"] * np.exp(-p["E1"] / reactor.R_GAS * (1 / T0 - 1 / p["T_ref"]))
    t, ca0 = res["time"], p["cA0"]
    if c_b0 == ca0:
        ca = ca0 / (1.0 + k * ca0 * t)
    else:  # ln(cB cA0 / (cA cB0)) = (cB0 - cA0) k t
        e = np.exp((c_b0 - ca0) * k * t)
        ca = (c_b0 - ca0) / (c_b0 / ca0 * e - 1.0)
    assert np.max(np.abs(res["T"] - T0)) < 1e-9
    np.testing.assert_allclose(res["cA"], ca, rtol=2e-6, atol=1e-6 * ca0)
    np.testing.assert_allclose(res["cB"], ca + c_b0 - ca0, rtol=2e-6, atol=1e-6 * ca0)


def test_reference_reactor_isothermal_batch_is_exact():
    """The reference itself against the closed form (equal charges: cA = cA0 / (1 + k cA0 t))."""
    p = reactor.default_parameters()
    T0 = 345.0
    sv = {"F_B": 0.0, "cB0": p["cA0"], "dH1": 0.0, "dH2": 0.0, "k2_ref": 0.0, "T0": T0,
          "Tj0": T0, "controller_enabled": False, "T_cool_in": T0}
    ref = reactor.simulate_reference(sv, t_end=3 * 3600.0, dt=300.0)
    k = p["k1_ref"] * np.exp(-p["E1"] / reactor.R_GAS * (1 / T0 - 1 / p["T_ref"]))
    np.testing.assert_allclose(ref["cA"], p["cA0"] / (1.0 + k * p["cA0"] * ref["time"]), rtol=1e-7)


def test_reactor_dosing_stops_at_totaliser(shipped_fmus):
    p = reactor.default_parameters()
    F = 8e-5
    sv = {"F_B": F, "k1_ref": 0.0, "k2_ref": 0.0, "dH1": 0.0, "dH2": 0.0}
    res = simulate(shipped_fmus["reactor"], "CoSimulation", sv, 8 * 3600.0, 10.0)
    t_stop = p["n_B_dose"] / (F * p["cB_feed"])
    expected_v = p["V0"] + F * np.minimum(res["time"], t_stop)
    np.testing.assert_allclose(res["V"], expected_v, rtol=1e-9)
    np.testing.assert_allclose(res["nB"][-1], p["n_B_dose"], rtol=1e-9)


def test_reactor_adiabatic_temperature_rise(shipped_fmus):
    """Adiabatic batch: T - T0 = (-dH1) (nA0 - nA) / (rho_cp V0)."""
    p = reactor.default_parameters()
    sv = {"F_B": 0.0, "cB0": 3000.0, "k2_ref": 0.0, "R_fouling": 1e12, "T0": 320.0}
    res = simulate(shipped_fmus["reactor"], "CoSimulation", sv, 2 * 3600.0, 60.0)
    rise = -p["dH1"] * (p["cA0"] * p["V0"] - res["nA"]) / (p["rho_cp"] * p["V0"])
    assert rise[-1] > 20.0  # a real exotherm
    np.testing.assert_allclose(res["T"] - 320.0, rise, rtol=1e-7, atol=1e-6)


# -------------------------------------------------------------------- dryer
dryer_params = st.fixed_dictionaries({
    "T_air_in": st.floats(323.15, 363.15),
    "G_air": st.floats(0.2, 1.0),
    "Y_in": st.floats(0.002, 0.015),
    "NTU": st.floats(0.5, 4.0),
    "X_c": st.floats(0.08, 0.18),
    "X_e": st.floats(0.0, 0.03),
    "cp_s": st.floats(1000.0, 2000.0),
    "UA_loss": st.floats(0.0, 20.0),
})


@pytest.mark.parametrize("mode", MODES)
@HYP
@given(params=dryer_params)
def test_dryer_matches_reference(shipped_fmus, mode, params):
    res = simulate(shipped_fmus["dryer"], mode, params, 7200.0, 20.0)
    ref = dryer.simulate_reference(params, dt=20.0)
    _assert_agree("dryer", res, ref, ["X", "T_p", "m_evap", "E_air_in", "E_air_out", "E_loss"])


def test_dryer_balances_close(shipped_fmus):
    p = dryer.default_parameters()
    res = simulate(shipped_fmus["dryer"], "CoSimulation", {}, 7200.0, 10.0)
    water = p["m_dry"] * (p["X0"] - res["X"]) - res["m_evap"]
    assert np.max(np.abs(water)) <= 1e-9 * p["m_dry"] * p["X0"]
    # product enthalpy change = air enthalpy in - out - wall loss
    dh = res["H_product"] - res["H_product"][0]
    resid = dh - (res["E_air_in"] - res["E_air_out"] - res["E_loss"])
    assert np.max(np.abs(resid)) <= 1e-9 * res["E_air_in"][-1]
    # exhaust never supersaturated, rate = G (Y_out - Y_in)
    assert np.all(res["RH_out"] <= 1.0 + 1e-9)
    np.testing.assert_allclose(res["drying_rate"], p["G_air"] * (res["Y_out"] - p["Y_in"]),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ntu", [1.0, 3.0])
def test_dryer_constant_rate_period(shipped_fmus, mode, ntu):
    """Product at the adiabatic-saturation temperature dries linearly to X_c."""
    sol = dryer.constant_rate_solution({"NTU": ntu, "UA_loss": 0.0})
    sv = {"NTU": ntu, "UA_loss": 0.0, "T_p0": sol["T_s"]}
    p = dryer.default_parameters()
    t_c = sol["t_constant_rate"]
    res = simulate(shipped_fmus["dryer"], mode, sv, 0.95 * t_c, 0.95 * t_c / 100)
    np.testing.assert_allclose(res["T_p"], sol["T_s"], atol=1e-6)
    x_lin = p["X0"] - sol["rate"] * res["time"] / p["m_dry"]
    np.testing.assert_allclose(res["X"], x_lin, rtol=1e-7)
    # time at which X_c is reached, extrapolated from the last point (linear period)
    t_hit = res["time"][-1] + (res["X"][-1] - p["X_c"]) / (sol["rate"] / p["m_dry"])
    assert t_hit == pytest.approx(t_c, rel=1e-6)


def test_dryer_constant_rate_temperature_is_adiabatic_saturation():
    """For NTU -> infinity the constant-rate product temperature solves the classical
    adiabatic-saturation balance c_H (T_in - T_as) = (Y_as - Y_in) lambda(T_as)
    (Treybal, Mass-Transfer Operations, 3rd ed., eq. 7.21), lambda(T) = dHv0 + (cp_v - cp_w)(T - T0)."""
    from scipy.optimize import brentq

    p = dryer.default_parameters()
    c_h = p["cp_a"] + p["Y_in"] * p["cp_v"]

    def balance(T):
        lam = p["dHv0"] + (p["cp_v"] - p["cp_w"]) * (T - dryer.T_ZERO)
        y_as = dryer.saturation_humidity(T, p["P_total"])
        return c_h * (p["T_air_in"] - T) - (y_as - p["Y_in"]) * lam

    t_as = brentq(balance, 280.0, p["T_air_in"], xtol=1e-12)
    assert dryer.constant_rate_solution({"NTU": 60.0})["T_s"] == pytest.approx(t_as, abs=1e-6)
    # finite NTU: vapour leaves at T_out > T_s, a small shift (documented in the README)
    assert dryer.constant_rate_solution({"NTU": 1.0})["T_s"] == pytest.approx(t_as, abs=0.5)
    # psychrometric chart: 80 degC air with 8 g/kg saturates adiabatically near 31 degC
    assert 302.0 < t_as < 306.0


# -------------------------------------------------------------- degradation
deg_params = st.fixed_dictionaries({
    "load": st.floats(2000.0, 9000.0),
    "speed": st.floats(80.0, 320.0),
    "T_process": st.floats(290.0, 360.0),
    "p_life": st.sampled_from([3.0, 10.0 / 3.0]),
    "Ea": st.floats(2e4, 8e4),
    "c_heat": st.floats(0.0, 3.0),
    "D0": st.floats(0.0, 0.5),
})


@pytest.mark.parametrize("mode", MODES)
@HYP
@given(params=deg_params)
def test_degradation_matches_reference(shipped_fmus, mode, params):
    t_f = degradation.time_to_failure(params)
    t_end = 1.5 * t_f
    dt = t_end / 400
    res = simulate(shipped_fmus["degradation"], mode, params, t_end, dt)
    ref = degradation.simulate_reference(params, t_end=t_end, dt=dt)
    _assert_agree("degradation", res, ref, ["D", "revolutions"])
    assert bool(res["failed"][-1]) == bool(ref["failed"][-1])
    # CS: the FMU locates the event on its own interpolant; ME: FMPy's CVode root finding
    assert res["t_failure"][-1] == pytest.approx(t_f, rel=1e-6 if mode == "CoSimulation" else 1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_degradation_constant_conditions_time_to_failure(shipped_fmus, mode):
    """No damage feedback: t_f = L_ref / [(P/P_ref)^p (n/n_ref) exp(Ea/R (1/T_ref - 1/T_b))]."""
    p = degradation.default_parameters()
    load, speed, T_proc = 7000.0, 250.0, 330.0
    sv = {"c_heat": 0.0, "load": load, "speed": speed, "T_process": T_proc}
    T_b = T_proc + p["dT_ref"] * load / p["P_ref"] * speed / p["n_ref"]
    af = (load / p["P_ref"]) ** p["p_life"] * speed / p["n_ref"] * np.exp(
        p["Ea"] / degradation.R_GAS * (1 / p["T_ref"] - 1 / T_b))
    t_f = p["L_ref"] / af
    res = simulate(shipped_fmus["degradation"], mode, sv, 1.2 * t_f, t_f / 100)
    assert bool(res["failed"][-1])
    assert res["t_failure"][-1] == pytest.approx(t_f, rel=1e-7)
    np.testing.assert_allclose(res["acceleration_factor"][1:], af, rtol=1e-12)
    before = res["time"] < t_f * (1 - 1e-6)
    np.testing.assert_allclose(res["D"][before], res["time"][before] / t_f, rtol=1e-8, atol=1e-12)
    assert not res["failed"][before].any()
    assert res["failed"][res["time"] > t_f * (1 + 1e-6)].all()


def test_degradation_reference_conditions_give_rated_life(shipped_fmus):
    p = degradation.default_parameters()
    res = simulate(shipped_fmus["degradation"], "CoSimulation", {"c_heat": 0.0}, 1.1 * p["L_ref"],
                   p["L_ref"] / 50)
    assert res["t_failure"][-1] == pytest.approx(p["L_ref"], rel=1e-8)
    np.testing.assert_allclose(res["T_bearing"], p["T_ref"], rtol=1e-12)
    d = np.clip(res["D"], 0, 1)
    np.testing.assert_allclose(res["vibration_rms"], p["v0"] + p["k_v"] * d ** p["m_v"], rtol=1e-12)
