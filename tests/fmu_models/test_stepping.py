"""The Stepper interface: CS and ME steppers on the shipped reactor, block stepping, snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from fmu_models import CsStepper, FmuInstance, FmuModel, MeStepper, Stepper, open_stepper, shipped

pytestmark = pytest.mark.skipif(not shipped("reactor").exists(), reason="reactor FMU not built (twin fmu build)")

INPUTS = ["T_sp", "F_B"]
OUTPUTS = ["T", "yield_C"]


def _u(n: int) -> np.ndarray:
    return np.column_stack([np.where(np.arange(n) < n // 2, 340.0, 348.0), np.full(n, 6e-5)])


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_both_interfaces_implement_one_stepper(interface):
    with open_stepper(shipped("reactor"), interface=interface, inputs=INPUTS, outputs=OUTPUTS) as s:
        assert isinstance(s, Stepper) and isinstance(s, CsStepper if interface == "cs" else MeStepper)
        assert s.interface == interface and s.variable("T").units == "K"
        s.start({"T0": 330.0})
        assert s.time == 0.0
        assert s.read(["T"])[0] == pytest.approx(330.0)
        s.set_inputs([345.0, 6e-5])
        s.step(60.0)
        assert s.time == pytest.approx(60.0)
        snap = s.get_state()
        y1 = s.step_block(_u(5), np.full(5, 10.0))
        s.set_state(snap)
        y2 = s.step_block(_u(5), np.full(5, 10.0))
        np.testing.assert_array_equal(y1, y2)
        s.free_state(snap)
        with pytest.raises(Exception, match="did you mean 'T_jacket'"):
            s.set_outputs(["T_jackett"])


def test_cs_step_block_equals_step_by_step_and_the_runner():
    n, h = 360, 10.0
    u = _u(n)
    a = open_stepper(shipped("reactor"), inputs=INPUTS, outputs=OUTPUTS)
    b = open_stepper(shipped("reactor"), inputs=INPUTS, outputs=OUTPUTS)
    try:
        a.start()
        block = a.step_block(u, np.full(n, h))
        b.start()
        rows = []
        for k in range(n):
            b.set_inputs(u[k])
            b.step(h)
            rows.append(b.read())
        np.testing.assert_array_equal(block, np.array(rows))  # the C loop is bit-identical
        assert a.time == b.time == pytest.approx(n * h)
    finally:
        a.close()
        b.close()
    ds = FmuModel(shipped("reactor")).run(
        inputs={"T_sp": (np.arange(n) * h, u[:, 0]), "F_B": 6e-5}, stop_time=n * h, output_interval=h,
        outputs=OUTPUTS)
    # the runner interpolates the table linearly; up to the set-point jump the inputs are the same
    half = n // 2 - 1
    np.testing.assert_allclose(block[:half, 0], ds["T"].values[1:half + 1], rtol=1e-12)


def test_instance_is_the_shared_layer():
    model = FmuModel(shipped("reactor"))
    inst = model.instance
    assert isinstance(inst, FmuInstance) and inst.guid == model.guid
    ds = model.run(stop_time=600, output_interval=60, outputs=["T"])
    assert ds.attrs["kind"] == "fmu-run"
    assert inst.time == 600.0 and not inst.failed
    assert inst.raw.pointers and inst.value_references(["T"]).dtype == np.uint32
    batch = model.run_many([{"T0": 330.0}, {"T0": 335.0}], stop_time=600, output_interval=60, outputs=["T"])
    assert batch.attrs["kind"] == "fmu-run"
    model.close()
