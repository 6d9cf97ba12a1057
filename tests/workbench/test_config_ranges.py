"""Numbers in configs are checked for range: a ConfigError with file:line, field, value and the range."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_app.configs import model_for_kind
from workbench.config import load_config
from workbench.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _copy_with(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, int]:
    """Copy a shipped scenario with ``old`` replaced by ``new``; return the path and the edited line."""
    text = (SCENARIOS / name).read_text()
    assert text.count(old) == 1, old
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    line = text[: text.index(old)].count("\n") + 1
    return path, line


def _load(path: Path, kind: str, **kw):
    return load_config(path, model_for_kind(kind), kind=kind, **kw)


def test_huge_replications_is_a_config_error_not_an_overflow(tmp_path):
    path, line = _copy_with(
        tmp_path, "assembly_line.yaml", "replications: 10", "replications: " + "1" + "0" * 30
    )
    with pytest.raises(ConfigError) as info:
        _load(path, "line")
    err = info.value
    assert (err.source, err.line, err.path) == (str(path), line, "experiment.replications")
    assert "1.000e+30" in err.message and "9,223,372,036,854,775,807" in err.message


def test_replications_above_the_maximum_names_the_range(tmp_path):
    path, line = _copy_with(
        tmp_path, "assembly_line.yaml", "replications: 10", "replications: 1000000"
    )
    with pytest.raises(ConfigError) as info:
        _load(path, "line")
    assert info.value.line == line
    assert (
        "1000000 is not valid: input should be less than or equal to 100000; replications must be between 2 and 100,000"
        in str(info.value)
    )


def test_absurd_horizon_is_refused(tmp_path):
    path, line = _copy_with(tmp_path, "assembly_line.yaml", "horizon: 7 d", "horizon: 1e30 d")
    with pytest.raises(
        ConfigError, match=r"'1e30 d' is above the maximum .* \(1000 years\)"
    ) as info:
        _load(path, "line")
    assert (info.value.line, info.value.path) == (line, "experiment.horizon")


def test_huge_trials_is_refused(tmp_path):
    path, line = _copy_with(
        tmp_path, "reactor_campaign.yaml", "budget: {trials: 60}", "budget: {trials: 50000000}"
    )
    with pytest.raises(ConfigError, match=r"trials must be between 1 and 1,000,000") as info:
        _load(path, "campaign")
    assert (info.value.line, info.value.path) == (line, "budget.trials")


def test_huge_missions_and_mission_time_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"missions must be at most 100,000,000"):
        _load(
            SCENARIOS / "pump_station_life.yaml", "life", overrides={"simulation.missions": 10**12}
        )
    with pytest.raises(ConfigError, match=r"above the maximum .*1000 years"):
        _load(
            SCENARIOS / "pump_station_life.yaml",
            "life",
            overrides={"simulation.mission_time": "1e20 h"},
        )


def test_any_integer_field_beyond_64_bit_is_refused(tmp_path):
    # the seed has no declared bound, but NumPy and the stores cannot hold it
    with pytest.raises(ConfigError, match=r"out of range; integers in a config") as info:
        _load(SCENARIOS / "assembly_line.yaml", "line", overrides={"experiment.seed": -(10**40)})
    assert info.value.path == "experiment.seed"
