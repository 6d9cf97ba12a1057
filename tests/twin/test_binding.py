"""Binding configs: helpful errors for bad units, duplicate tags, missing FMU, unknown variables."""

from __future__ import annotations

import pytest
from _reactor import TWIN_YAML, binding, need_fmu

from twin import Twin, TwinBinding, load_binding
from workbench.errors import ConfigError, FmuError


def _yaml(tmp_path, old, new):
    text = TWIN_YAML.read_text()
    assert old in text
    path = tmp_path / "b.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_shipped_binding_loads():
    b = load_binding(TWIN_YAML)
    assert [t.tag for t in b.tags][:2] == ["FI_feed", "FI_cool"] and b.sample_period == 10.0
    assert b.detection.h == 10.0 and b.sync.interval == 600.0


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("unit: degC, low: 0, high: 140, sigma", "unit: degCx, low: 0, high: 140, sigma", "degCx"),
        ("tag: TI_jacket,", "tag: TI_reactor,", "bound twice"),
        ("sample_period: 10 s", "sample_period: 10 apples", "sample_period"),
        ("low: 0, high: 4,", "low: 5, high: 4,", "low"),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path, old, new, match):
    with pytest.raises(ConfigError, match=match) as err:
        load_binding(_yaml(tmp_path, old, new))
    assert "b.yaml:" in str(err.value)


def test_missing_fmu_and_unknown_variable(tmp_path):
    b = TwinBinding(fmu="nowhere/reactor.fmu", outputs=[{"tag": "T", "variable": "T"}])
    with pytest.raises(ConfigError, match="twin fmu build"):
        Twin(b)
    need_fmu()
    with pytest.raises(FmuError, match="did you mean 'T_jacket'"):
        Twin(binding(tmp_path, outputs=[{"tag": "TJ", "variable": "T_jackett", "unit": "K"}]))
    with pytest.raises(ConfigError, match="cannot be converted"):
        Twin(binding(tmp_path, outputs=[{"tag": "TJ", "variable": "T_jacket", "unit": "m3"}]))
