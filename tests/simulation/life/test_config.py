"""Life-model configs: shipped scenarios validate; mistakes give located, helpful errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from simulation.life import LifeDistribution, load_life_model
from twin_app.configs import model_for_kind
from workbench.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
LIFE_FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if "kind: life" in p.read_text())


@pytest.mark.parametrize("path", LIFE_FILES, ids=lambda p: p.name)
def test_shipped_life_models_validate(path):
    model = load_life_model(path)
    assert model.components and model.simulation.mission_time > 0


def test_variant_overrides_apply():
    base = load_life_model(SCENARIOS / "pump_station_life.yaml")
    two = load_life_model(SCENARIOS / "pump_station_life_two_crews.yaml")
    assert base.maintenance.crews == 1 and two.maintenance.crews == 2
    assert two.maintenance.spares[0].stock == 2 and two.name == "pump_station_two_crews"
    assert len(two.components) == len(base.components)


def test_kinds_registered():
    assert model_for_kind("life").__name__ == "LifeModel"
    assert model_for_kind("life-distribution").__name__ == "FittedLife"


BASE = """\
kind: life
name: x
components:
  - name: pump
    life: {distribution: weibull, shape: 2, scale: 1000 h}
  - name: valve
    life: {distribution: exponential, mean: 5000 h}
system: {type: series, blocks: [pump, valve]}
simulation: {mission_time: 100 h}
"""


def _load(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(textwrap.dedent(text))
    return load_life_model(p)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        ("distribution: weibull", "distribution: weibul", "did you mean 'weibull'"),
        ("shape: 2, scale: 1000 h", "shape: 2", "missing scale"),
        ("scale: 1000 h", "scale: 1000 bananas", "bananas"),
        ("blocks: [pump, valve]", "blocks: [pump, vlave]", "did you mean 'valve'"),
        ("type: series", "type: seris", "did you mean 'series'"),
        ("type: series, blocks: [pump, valve]", "type: k_out_of_n, k: 3, blocks: [pump, valve]", "1 <= k <= 2"),
        ("blocks: [pump, valve]", "blocks: [pump]", "not used in the system: valve"),
        ("mean: 5000 h}", "mean: 5000 h, shape: 2}", "not a parameter of the exponential"),
        ("type: series, blocks", "type: standby, mode: warm, blocks", "dormant_factor"),
    ],
)
def test_bad_models_explain_themselves(tmp_path, old, new, expect):
    assert old in BASE
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, BASE.replace(old, new))
    assert expect in str(err.value)
    assert "m.yaml" in str(err.value)


def test_unknown_spare_pool(tmp_path):
    text = BASE.replace("    life: {distribution: exponential, mean: 5000 h}",
                        "    life: {distribution: exponential, mean: 5000 h}\n    spare: seal_kits")
    text += "maintenance:\n  spares: [{name: seal_kit, stock: 1}]\n"
    with pytest.raises(ConfigError, match="did you mean 'seal_kit'"):
        _load(tmp_path, text)


def test_life_from_fitted_file(tmp_path):
    (tmp_path / "fitted.yaml").write_text(
        "kind: life-distribution\nlife: {distribution: weibull, shape: 2.1, scale: 81.9 h}\n")
    model = _load(tmp_path, BASE.replace("life: {distribution: weibull, shape: 2, scale: 1000 h}", "life: fitted.yaml"))
    assert isinstance(model.components[0].life, LifeDistribution)
    assert model.components[0].life.scale == pytest.approx(81.9 * 3600)
    with pytest.raises(ConfigError, match="no such fitted-distribution file"):
        _load(tmp_path, BASE.replace("life: {distribution: weibull, shape: 2, scale: 1000 h}", "life: missing.yaml"))
