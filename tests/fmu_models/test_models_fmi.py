"""FMI mechanics of the shipped models: state get/set/serialize, reset, set rules, metadata.

Uses FMPy's low-level FMU2Slave / FMU3Slave so that only the FMU binary is under test.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from fmpy import extract, read_model_description
from fmpy.fmi1 import FMICallException
from fmpy.fmi2 import FMU2Slave
from fmpy.fmi3 import FMU3Slave
from fmpy.validation import validate_fmu

from fmu_models._spec import load_spec
from tests.fmu_models.shipped_fixtures import shipped_fmus_fixture  # noqa: F401

STEMS = ["reactor", "reactor3", "dryer", "degradation"]
HORIZON = {"reactor": (3600.0, 18000.0, 60.0), "dryer": (600.0, 3600.0, 20.0),
           "degradation": (3.0e7, 8.0e7, 1.0e6)}
# reactor: 18000 s spans the dosing event; degradation: 8e7 s spans the failure event


class Slave:
    """Thin uniform wrapper over FMU2Slave / FMU3Slave for these tests."""

    def __init__(self, path, unzipdir=None):
        self.md = read_model_description(str(path))
        self.fmi3 = self.md.fmiVersion.startswith("3")
        if unzipdir is None:  # removed with this object (the loaded binary stays mapped)
            self._tmp = tempfile.TemporaryDirectory(prefix="fmu-test-")
            unzipdir = extract(str(path), self._tmp.name)
        self.unzipdir = unzipdir
        self.vr = {v.name: v.valueReference for v in self.md.modelVariables}
        self.outputs = [v.valueReference for v in self.md.modelVariables
                        if v.causality == "output" and v.type in ("Real", "Float64")]
        kw = dict(unzipDirectory=self.unzipdir, modelIdentifier=self.md.coSimulation.modelIdentifier,
                  instanceName="test")
        if self.fmi3:
            self.fmu = FMU3Slave(guid=self.md.guid, **kw)
        else:
            self.fmu = FMU2Slave(guid=self.md.guid, **kw)
        self.fmu.instantiate()

    def init(self, params=None):
        f = self.fmu
        if not self.fmi3:
            f.setupExperiment(startTime=0.0)
        for name, value in (params or {}).items():
            self.set(name, value)
        if self.fmi3:
            f.enterInitializationMode(startTime=0.0)
        else:
            f.enterInitializationMode()
        f.exitInitializationMode()
        if self.fmi3:
            f.enterStepMode() if hasattr(f, "enterStepMode") else None

    def set(self, name, value):
        vr = [self.vr[name]]
        if isinstance(value, bool):
            self.fmu.setBoolean(vr, [value])
        elif self.fmi3:
            self.fmu.setFloat64(vr, [float(value)])
        else:
            self.fmu.setReal(vr, [float(value)])

    def get(self, vrs):
        return np.array(self.fmu.getFloat64(vrs, len(vrs)) if self.fmi3 else self.fmu.getReal(vrs))

    def run(self, t0, t1, h):
        rows = []
        t = t0
        while t < t1 - 1e-9 * t1:
            self.fmu.doStep(currentCommunicationPoint=t, communicationStepSize=h)
            t += h
            rows.append(self.get(self.outputs))
        return np.array(rows)

    def get_state(self):
        return self.fmu.getFMUState() if self.fmi3 else self.fmu.getFMUstate()

    def set_state(self, s):
        return self.fmu.setFMUState(s) if self.fmi3 else self.fmu.setFMUstate(s)

    def serialize(self, s):
        return self.fmu.serializeFMUState(s) if self.fmi3 else self.fmu.serializeFMUstate(s)

    def deserialize(self, b):
        return self.fmu.deserializeFMUState(b) if self.fmi3 else self.fmu.deSerializeFMUstate(b)

    def free_state(self, s):
        return self.fmu.freeFMUState(s) if self.fmi3 else self.fmu.freeFMUstate(s)

    def close(self):
        self.fmu.terminate()
        self.fmu.freeInstance()


def _model(stem: str) -> str:
    return stem.rstrip("3")


@pytest.mark.parametrize("stem", STEMS)
def test_validate_fmu_finds_no_problems(shipped_fmus, stem):
    assert validate_fmu(str(shipped_fmus[stem])) == []


@pytest.mark.parametrize("stem", STEMS)
def test_model_description_capabilities(shipped_fmus, stem):
    md = read_model_description(str(shipped_fmus[stem]))
    spec = load_spec(_model(stem))
    for kind in (md.coSimulation, md.modelExchange):
        assert kind is not None
        assert kind.canGetAndSetFMUstate and kind.canSerializeFMUstate
    assert md.coSimulation.canHandleVariableCommunicationStepSize
    assert [d.variable.derivative.name for d in md.derivatives] == [v.name for v in spec.states]
    units = {u.name for u in md.unitDefinitions}
    for v in md.modelVariables:
        if v.unit:
            assert v.unit in units
        if v.causality in ("parameter", "input"):
            assert v.start is not None
            assert float(v.start == "true" if v.type == "Boolean" else v.start) == pytest.approx(
                float(spec.variable(v.name).start))


@pytest.mark.parametrize("stem", STEMS)
def test_state_round_trip_reproduces_trajectory(shipped_fmus, stem):
    t1, t2, h = HORIZON[_model(stem)]
    s = Slave(shipped_fmus[stem])
    s.init()
    s.run(0.0, t1, h)
    state = s.get_state()
    first = s.run(t1, t2, h)
    s.set_state(state)
    again = s.run(t1, t2, h)
    np.testing.assert_array_equal(first, again)
    # serialize, restore into a fresh instance of the same FMU, continue
    blob = s.serialize(state)
    assert isinstance(blob, bytes) and len(blob) > 0
    s.free_state(state)
    other = Slave(shipped_fmus[stem], unzipdir=s.unzipdir)
    other.init()
    restored = other.deserialize(blob)
    other.set_state(restored)
    np.testing.assert_array_equal(other.run(t1, t2, h), first)
    other.free_state(restored)
    other.close()
    s.close()


@pytest.mark.parametrize("stem", STEMS)
def test_reset_restores_start_values(shipped_fmus, stem):
    t1, t2, h = HORIZON[_model(stem)]
    spec = load_spec(_model(stem))
    s = Slave(shipped_fmus[stem])
    s.init()
    fresh = s.run(0.0, t1, h)
    s.fmu.reset()
    real_params = [v for v in spec.variables
                   if v.causality in ("parameter", "input") and v.type == "Real"]
    got = s.get([s.vr[v.name] for v in real_params])
    np.testing.assert_array_equal(got, [v.start for v in real_params])
    # change a parameter, run, reset: the next run is the fresh run again
    first_param = real_params[0].name
    s.set(first_param, 1.5 * float(real_params[0].start) + 1.0)
    s.init()
    s.run(0.0, t1, h)
    s.fmu.reset()
    s.init()
    np.testing.assert_array_equal(s.run(0.0, t1, h), fresh)
    s.close()


def test_calculated_and_fixed_variables_cannot_be_set(shipped_fmus):
    s = Slave(shipped_fmus["reactor"])
    with pytest.raises(FMICallException):
        s.set("T", 300.0)  # a state: calculated from T0
    s.init()
    with pytest.raises(FMICallException):
        s.set("V0", 3.0)  # fixed parameter after initialisation
    s.set("U", 300.0)  # tunable parameter: allowed (fouling fault)
    s.set("F_cool", 0.0)  # input: allowed (valve failure)
    s.run(0.0, 600.0, 60.0)
    s.close()


def test_deserialize_rejects_foreign_state(shipped_fmus):
    a = Slave(shipped_fmus["reactor"])
    b = Slave(shipped_fmus["dryer"])
    a.init()
    b.init()
    blob = b.serialize(b.get_state())
    with pytest.raises(FMICallException):
        a.deserialize(blob)
    a.close()
    b.close()


def test_variable_communication_step_size(shipped_fmus):
    """Uneven communication steps give the same end state as even ones (own error control)."""
    a = Slave(shipped_fmus["reactor"])
    a.init()
    a.run(0.0, 7200.0, 10.0)
    b = Slave(shipped_fmus["reactor"], unzipdir=a.unzipdir)
    b.init()
    t = 0.0
    for h in [1.0, 599.0, 2000.0, 0.5, 3599.5, 1000.0]:
        b.fmu.doStep(currentCommunicationPoint=t, communicationStepSize=h)
        t += h
    assert t == 7200.0
    np.testing.assert_allclose(b.get(b.outputs), a.get(a.outputs), rtol=1e-6)
    a.close()
    b.close()
