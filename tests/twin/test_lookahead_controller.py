"""``lookahead.controller``: the projection runs the model's own controller, started bumplessly from the held
manipulated value (Åström & Hägglund 2006, sec. 3.5), instead of freezing the plant's controller."""

from __future__ import annotations

import numpy as np
import pytest
from _reactor import need_fmu

from twin import FmuStepper, Twin, bumpless_integrator, lookahead
from workbench.errors import ConfigError

INPUTS = ["F_B", "T_sp", "F_cool", "T_cool_in"]
U = np.array([6e-5, 345.0, 2e-3, 293.15])


def _controlled_plant(seconds: float) -> FmuStepper:
    """The reactor with its PI controller on, run ``seconds`` from the start (the truth)."""
    m = FmuStepper(need_fmu(), inputs=INPUTS, outputs=["T", "T_jacket", "T_jacket_in"],
                   parameters={"controller_enabled": True}, mode="me")
    for _ in range(int(seconds / 10)):
        m.step(U, 10.0)
    return m


def _open_loop_twin_at(truth: FmuStepper) -> FmuStepper:
    """A twin with the controller off, driven by the truth's jacket inlet, holding the truth's states except the
    controller's integral (which a controller-off model never integrates: it stays 0)."""
    twin = FmuStepper(need_fmu(), inputs=INPUTS, outputs=["T", "T_jacket", "T_jacket_in"],
                      parameters={"controller_enabled": False}, mode="me")
    u = U.copy()
    u[3] = truth.read(["T_jacket_in"])[0]
    while twin.time < truth.time - 1e-9:
        twin.step(u, 10.0)
    twin.set_states({**truth.get_states(), "I_err": 0.0})
    return twin


def test_bumpless_start_recovers_the_controllers_integral_and_the_projection_is_the_plants_future():
    truth = _controlled_plant(1800.0)
    true_integral = truth.get_states()["I_err"]
    twin = _open_loop_twin_at(truth)
    held = float(twin.read(["T_jacket_in"])[0])
    assert held == pytest.approx(float(truth.read(["T_jacket_in"])[0]), rel=1e-12)  # the twin follows the plant now
    frozen = lookahead(twin, until=5400.0, outputs=["T", "T_jacket_in"], dt=60.0)
    live = lookahead(twin, until=5400.0, outputs=["T", "T_jacket_in"], dt=60.0,
                     switch={"controller_enabled": True},
                     bumpless={"integrator": "I_err", "output": "T_jacket_in", "input": "T_cool_in"})
    future = np.array([truth.step(U, 60.0) for _ in range(60)])  # the controlled plant's next hour
    # the controller's move at the start is the plant's: no bump, and its integral equals the plant's
    assert live.dataset["T_jacket_in"].values[0, 0] == pytest.approx(held, abs=1e-8)
    np.testing.assert_allclose(live.dataset["T"].values[0, 1:], future[:, 0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(live.dataset["T_jacket_in"].values[0, 1:], future[:, 2], rtol=0, atol=1e-2)
    # the held input (controller frozen) does not follow the set-point step the plant's controller makes
    assert np.abs(frozen.dataset["T"].values[0, 1:] - future[:, 0]).max() > 1.0
    # the twin is left as it was: controller off, integral 0, same time
    assert twin.parameters["controller_enabled"] is False and twin.get_states()["I_err"] == 0.0
    assert twin.time == pytest.approx(truth.time - 3600.0)
    twin.set_parameters({"controller_enabled": True})
    twin.step(np.r_[U[:3], held], 0.0)
    assert bumpless_integrator(twin, "I_err", "T_jacket_in", held) == pytest.approx(true_integral, rel=1e-6)


def test_held_value_beyond_the_controller_limits_starts_it_saturated():
    truth = _controlled_plant(600.0)
    twin = _open_loop_twin_at(truth)
    twin.set_parameters({"controller_enabled": True})
    twin.step(U, 0.0)
    limit = twin.start_value("Tj_in_max")
    bumpless_integrator(twin, "I_err", "T_jacket_in", limit + 50.0)
    assert twin.read(["T_jacket_in"])[0] == pytest.approx(limit)


def test_controller_section_is_checked_against_the_fmu(tmp_path):
    from _golden_case import build_model, golden_binding

    golden = build_model(tmp_path / "g.nc") and tmp_path / "g.nc"
    ok = {"parameters": {"controller_enabled": True}, "integrator": "I_err", "output": "T_jacket_in",
          "input": "T_cool_in"}
    for field, value, message in [
        ("integrator", "I_er", r"lookahead\.controller\.integrator: 'I_er' is not a continuous state.*I_err"),
        ("output", "Tjin", r"lookahead\.controller\.output: 'Tjin' is not a variable"),
        ("input", "F_B_actual", r"lookahead\.controller\.input: 'F_B_actual' is not an input the twin drives"),
        ("parameters", {"controler_enabled": True}, r"parameters\.controler_enabled: .*controller_enabled"),
    ]:
        b = golden_binding(tmp_path, golden, lookahead={"controller": {**ok, field: value}}, **{"sync.method": "ekf"})
        with pytest.raises(ConfigError, match=message):
            Twin(b)
    cs = golden_binding(tmp_path, golden, lookahead={"controller": ok})  # no sync: CS mode, no states to set
    with pytest.raises(ConfigError, match=r"lookahead\.controller\.integrator: .*needs the twin in ME mode"):
        Twin(cs)
    Twin(golden_binding(tmp_path, golden, lookahead={"controller": ok}, **{"sync.method": "ekf"})).close()
