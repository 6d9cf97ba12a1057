"""Line binding and line-plant configs: loading, tag naming, registered kinds, clear errors."""

from __future__ import annotations

import pytest
import yaml
from _line import BINDING, PLANT, model

from twin.line import LineBinding, LinePlant, LinePlantScenario, load_line_binding, load_line_plant
from twin_app.configs import model_for_kind
from workbench.errors import ConfigError


def test_shipped_files_load_and_kinds_are_registered():
    b = load_line_binding(BINDING)
    assert b.scenario_path().exists()
    assert b.sample_period == 5.0 and b.shift.length == 8 * 3600.0 and b.forecast.every == 1800.0
    assert model_for_kind("line-binding") is LineBinding
    assert model_for_kind("line-plant") is LinePlantScenario
    p = load_line_plant(PLANT)
    assert p.changes[0].station == "press" and p.changes[0].at == 3 * 3600.0
    line = LinePlant.from_scenario(p)
    # the hidden truth is applied to the emulated line, not to the twin's model
    assert line.line.station("kitting").process_time.mean() == pytest.approx(51.0)
    assert model().station("kitting").process_time.mean() == pytest.approx(50.0)


def test_tag_names_default_and_override():
    b = LineBinding(name="x", scenario="m.yaml", tag_prefix="L1.",
                    stations=["a", {"station": "b", "cycle_time": "B_CT", "state": ["B_S0", "B_S1"]}])
    assert b.tag("a", "state") == "L1.a.state"
    assert b.tag("a", "state", 1, servers=2) == "L1.a.state.1"
    assert b.tag("b", "cycle_time") == "B_CT"
    assert b.tag("b", "state", 1, servers=2) == "B_S1"
    assert b.tag("b", "buffer") == "L1.b.buffer"


def test_bad_configs_name_the_field(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text(yaml.safe_dump({"kind": "line-binding", "name": "x", "scenario": "m.yaml",
                                 "stations": ["a", "a"], "sample_period": "5 parsecs"}))
    with pytest.raises(ConfigError) as e:
        load_line_binding(f)
    assert "sample_period" in str(e.value)
    f.write_text(yaml.safe_dump({"kind": "line-binding", "name": "x", "scenario": "m.yaml", "stations": ["a", "a"]}))
    with pytest.raises(ConfigError, match="repeated: a"):
        load_line_binding(f)
    with pytest.raises(ConfigError, match="did you mean 'press'"):
        LinePlant(model(), changes=[{"kind": "cycle_time", "station": "pres", "factor": 1.2}])
