"""The plant emulator: hidden parameters, noise, drift and each scripted fault do what they say."""

from __future__ import annotations

import numpy as np
import pytest
from _reactor import plant

from twin.emulator import PlantEmulator
from workbench.errors import ConfigError


def _series(sc):
    emu = PlantEmulator(sc)
    frames = list(emu.frames())
    t = np.array([f.time for f in frames])
    return t, {tag: np.array([f.samples[tag].value for f in frames]) for tag in emu.tags}, emu


def test_faults_bias_stuck_dropout_valve():
    faults = [
        {"kind": "bias", "tag": "TI_jacket", "at": 600, "until": 1200, "value": 3.0},
        {"kind": "stuck", "tag": "TI_reactor", "at": 1200, "until": 1800},
        {"kind": "dropout", "tag": "FI_feed", "at": 1800, "until": 2400},
        {"kind": "valve", "input": "F_cool", "at": 2400, "value": 0.0},
    ]
    t, clean, _ = _series(plant(duration="1 h", seed=3))
    t, y, _ = _series(plant(duration="1 h", seed=3, faults=faults))
    before = t < 600
    np.testing.assert_array_equal(y["TI_jacket"][before], clean["TI_jacket"][before])  # same noise stream
    bias = (t >= 600) & (t < 1200)
    assert np.allclose(y["TI_jacket"][bias] - clean["TI_jacket"][bias], 3.0)
    stuck = (t >= 1200) & (t < 1800)
    assert np.unique(y["TI_reactor"][stuck]).size == 1 and y["TI_reactor"][t == 1800] != y["TI_reactor"][stuck][0]
    drop = (t >= 1800) & (t < 2400)
    assert np.isnan(y["FI_feed"][drop]).all() and not np.isnan(y["FI_feed"][~drop]).any()
    # valve closed: coolant flow tag still shows the command, the jacket heats up
    assert np.allclose(y["FI_cool"][t >= 2400], clean["FI_cool"][t >= 2400], atol=0.1)
    assert y["TI_jacket"][-1] - clean["TI_jacket"][-1] > 2.0


def test_noise_level_and_fouling_drift():
    t, y, emu = _series(plant(duration="2 h", seed=1, drift=[{"parameter": "R_fouling", "rate": 1e-7, "start": 0}]))
    _, clean, _ = _series(plant(duration="2 h", seed=1))
    # noise: first differences of a slow signal ~ sqrt(2) sigma
    assert np.std(np.diff(clean["TSP"])[:300]) == 0.0
    assert np.std(np.diff(clean["LI_volume"])) / np.sqrt(2) == pytest.approx(0.002, rel=0.15)
    assert emu.model.parameters["R_fouling"] == pytest.approx(1e-7 * (7200 - 10), rel=1e-6)
    # fouling lowers UA: the controller drives the jacket inlet colder to hold T
    assert np.mean(y["TI_jacket_in"][-60:]) < np.mean(clean["TI_jacket_in"][-60:]) - 0.5


def test_scenario_errors_name_the_field():
    with pytest.raises(ConfigError, match="faults"):
        plant(faults=[{"kind": "bias", "tag": "TI_nope", "at": 10}])
