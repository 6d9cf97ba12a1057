"""Scenario configs: the shipped scenarios validate; mistakes give located, helpful errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulation.line import load_scenario
from twin_app.configs import model_for_kind
from workbench.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
_KIND = re.compile(r"^kind:\s*(\S+)", re.M)


def _is_line(path: Path) -> bool:
    text = path.read_text()
    kind = _KIND.search(text)
    if kind:
        return kind.group(1) == "line"
    base = re.search(r"^extends:\s*(\S+)", text, re.M)
    return bool(base) and (path.parent / base.group(1)).exists() and _is_line(path.parent / base.group(1))


LINE_FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if _is_line(p))


@pytest.mark.parametrize("path", LINE_FILES, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    sc = load_scenario(path)
    assert sc.stations and sc.experiment.replications >= 2


def test_kind_registered():
    assert model_for_kind("line").__name__ == "LineScenario"


def _write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


BASE = """\
kind: line
name: t
source: {interarrival: "exponential(mean=1 min)"}
stations:
  - name: cutter
    process_time: "exponential(mean=0.5 min)"
    next: polisher
  - name: polisher
    process_time: 30 s
experiment: {horizon: 1 d, replications: 3}
"""


def test_unknown_station_reference_has_did_you_mean(tmp_path):
    p = _write(tmp_path, BASE.replace("next: polisher", "next: polsher"))
    with pytest.raises(ConfigError) as err:
        load_scenario(p)
    msg = str(err.value)
    assert "s.yaml" in msg and "polsher" in msg and "did you mean 'polisher'" in msg


def test_bad_distribution_is_located(tmp_path):
    p = _write(tmp_path, BASE.replace("exponential(mean=0.5 min)", "exponental(mean=0.5 min)"))
    with pytest.raises(ConfigError) as err:
        load_scenario(p)
    assert "s.yaml:6:" in str(err.value) and "did you mean 'exponential'" in str(err.value)


def test_unknown_field(tmp_path):
    p = _write(tmp_path, BASE.replace("process_time: 30 s", "process_tme: 30 s"))
    with pytest.raises(ConfigError, match="process_tme"):
        load_scenario(p)


def test_variant_overrides(tmp_path):
    _write(tmp_path, BASE)
    v = tmp_path / "v.yaml"
    v.write_text("extends: s.yaml\nname: v\noverrides:\n  stations.polisher.servers: 2\n")
    sc = load_scenario(v)
    assert sc.station("polisher").servers == 2 and sc.name == "v"


def test_warmup_must_be_shorter_than_horizon(tmp_path):
    p = _write(tmp_path, BASE.replace("horizon: 1 d", "horizon: 1 d, warmup: 2 d"))
    with pytest.raises(ConfigError, match="warmup"):
        load_scenario(p)
