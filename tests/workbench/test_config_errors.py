"""The catalogue of broken configs: each gives one precise message with file:line:column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.workbench.models import Scenario
from workbench.config import load_config, resolve_config
from workbench.errors import ConfigError, WorkbenchError

GOOD = """\
line:
  name: granulation
  stations:
    - name: granulator
      cycle_time: 20 min
    - name: dryer
      cycle_time: 1 h
      servers: 2
      failure:
        mtbf: 40 h
        mttr: 30 min
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, Scenario, **kwargs)
    assert isinstance(info.value, WorkbenchError)
    return info.value


def test_good_config_loads_with_units_converted(tmp_path):
    cfg = load_config(write(tmp_path, "line.yaml", GOOD), Scenario)
    assert cfg.line.stations[0].cycle_time == 1200.0
    assert cfg.line.stations[1].failure.mtbf == 40 * 3600.0
    assert cfg.line.coolant == pytest.approx(288.15)


def test_issue_example_bad_duration(tmp_path):
    path = write(tmp_path, "line.yaml", GOOD.replace("mttr: 30 min", "mttr: 45 minuts"))
    err = error_of(path)
    assert str(err) == (
        f'{path}:11:15 line.stations[1].failure.mttr: "45 minuts" is not a duration: '
        'unknown unit "minuts"; use e.g. "45 min"'
    )
    assert (err.line, err.column, err.path) == (11, 15, "line.stations[1].failure.mttr")


def test_bad_yaml_names_line_and_column(tmp_path):
    path = write(tmp_path, "line.yaml", "line:\n  name: x\n stations: []\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:3:2: invalid YAML:")
    assert "indentation" in str(err)


def test_unknown_field_did_you_mean(tmp_path):
    path = write(tmp_path, "line.yaml", GOOD.replace("cycle_time: 1 h", "cycle_time: 1 h\n      cycle_tme: 3 min"))
    err = error_of(path)
    assert str(err) == (
        f"{path}:8:18 line.stations[1].cycle_tme: unknown field 'cycle_tme'; did you mean 'cycle_time'?"
    )


def test_wrong_dimension(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("20 min", "5 kg")))
    assert str(err).endswith(
        'line.stations[0].cycle_time: "5 kg" is not a duration (it is a mass); use e.g. "45 min"'
    )
    assert err.line == 5


def test_negative_duration(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("20 min", "-20 min")))
    assert "line.stations[0].cycle_time: '-20 min' is a negative duration; use a value >= 0 s" in str(err)


def test_missing_extends_file_did_you_mean(tmp_path):
    write(tmp_path, "base.yaml", GOOD)
    path = write(tmp_path, "variant.yaml", "extends: bsae.yaml\nseed: 3\n")
    err = error_of(path)
    assert str(err) == (
        f"{path}:1:10 extends: file 'bsae.yaml' not found in {tmp_path}/; did you mean 'base.yaml'?"
    )


def test_cyclic_extends(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nseed: 1\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nseed: 2\n")
    err = error_of(tmp_path / "a.yaml")
    assert "cyclic extends (a.yaml → b.yaml → a.yaml); remove one of the extends" in str(err)
    assert err.path == "extends"


def test_extends_not_a_file_name(tmp_path):
    err = error_of(write(tmp_path, "v.yaml", "extends: 12\n" + GOOD))
    assert str(err) == f"{tmp_path / 'v.yaml'}:1:10 extends: 12 is not a file name; use e.g. extends: base.yaml"


def test_override_unknown_list_item(tmp_path):
    write(tmp_path, "base.yaml", GOOD)
    path = write(tmp_path, "v.yaml", "extends: base.yaml\noverrides:\n  line.stations.dryr.servers: 3\n")
    err = error_of(path)
    assert str(err) == (
        f"{path}:3:3 overrides.line.stations.dryr.servers: no item named 'dryr' in line.stations; "
        "did you mean 'dryer'?"
    )


def test_override_unknown_middle_field(tmp_path):
    write(tmp_path, "base.yaml", GOOD)
    path = write(tmp_path, "v.yaml", "extends: base.yaml\noverrides:\n  lin.name: x\n")
    assert "overrides.lin.name: no field 'lin' in the top level; did you mean 'line'?" in str(error_of(path))


def test_override_index_out_of_range(tmp_path):
    path = write(tmp_path, "l.yaml", GOOD)
    err = error_of(path, overrides={"line.stations[5].servers": 2})
    assert str(err) == (
        f"{path} overrides.line.stations[5].servers: index 5 is out of range for line.stations (2 items)"
    )


def test_override_into_a_scalar(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD), overrides={"line.name.first": "x"})
    assert "line.name is a value ('granulation'), not a mapping or list, so 'first' cannot be set" in str(err)


def test_overrides_must_be_a_mapping(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD + "overrides: [a, b]\n"))
    assert err.path == "overrides" and err.line == 12
    assert "must be a mapping of dotted paths to values" in str(err)


def test_override_value_error_points_at_the_override(tmp_path):
    write(tmp_path, "base.yaml", GOOD)
    path = write(tmp_path, "v.yaml", "extends: base.yaml\noverrides:\n  line.stations.dryer.failure.mttr: 45 minuts\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:3:37 line.stations[1].failure.mttr: \"45 minuts\" is not a duration")


def test_cli_style_override_error_names_set(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD), overrides={"line.stations[0].servers": "many"})
    assert str(err).startswith("--set line.stations[0].servers line.stations[0].servers: \"many\" is not valid")


def test_wrong_type(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("servers: 2", "servers: many")))
    assert str(err) == (
        f'{tmp_path / "l.yaml"}:8:16 line.stations[1].servers: "many" is not valid: '
        "input should be a valid integer, unable to parse string as an integer"
    )


def test_constraint_violation(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("servers: 2", "servers: 0")))
    assert "line.stations[1].servers: 0 is not valid: input should be greater than or equal to 1" in str(err)


def test_missing_required_field(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("      cycle_time: 20 min\n", "")))
    assert str(err) == f"{tmp_path / 'l.yaml'}:4:7 line.stations[0].cycle_time: required field 'cycle_time' is missing; add it"


def test_literal_choice_did_you_mean(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("servers: 2", "servers: 2\n      type: bach")))
    assert "line.stations[1].type: \"bach\" is not one of 'machine' or 'batch'; did you mean 'batch'?" in str(err)


def test_duplicate_key(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("servers: 2", "servers: 2\n      servers: 3")))
    assert str(err) == (
        f"{tmp_path / 'l.yaml'}:9:7 line.stations[1].servers: duplicate key 'servers'; "
        "each key may appear once in a mapping"
    )


def test_top_level_list(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", "- a\n- b\n"))
    assert str(err) == f"{tmp_path / 'l.yaml'}:1:1: top level is a list; a config must be a YAML mapping of fields"


def test_empty_file(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", "# nothing\n"))
    assert "file is empty" in str(err)


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.yaml")
    assert str(err) == f"{tmp_path / 'nope.yaml'}: file not found; give the path of a YAML config"


def test_not_utf8(tmp_path):
    path = tmp_path / "l.yaml"
    path.write_bytes(b"line: \xff\xfe\n")
    assert "not UTF-8 text" in str(error_of(path))


def test_fraction_above_one(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("  name: granulation", "  name: granulation\n  scrap: 150 %")))
    assert "line.scrap: '150 %' is above the maximum 1 dimensionless" in str(err)


def test_temperature_below_absolute_zero(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", GOOD.replace("  name: granulation", "  name: granulation\n  coolant: -300 degC")))
    assert "line.coolant: '-300 degC' is a negative temperature; use a value >= 0 K" in str(err)


def test_list_where_mapping_expected(tmp_path):
    err = error_of(write(tmp_path, "l.yaml", "line: [1, 2]\n"))
    assert str(err) == (
        f"{tmp_path / 'l.yaml'}:1:7 line: a list is not valid here: input should be a valid dictionary "
        "or instance of Line"
    )


def test_several_problems_are_all_listed(tmp_path):
    text = GOOD.replace("servers: 2", "servers: -1").replace("20 min", "20 parsecs")
    err = error_of(write(tmp_path, "l.yaml", text))
    assert len(err.errors) == 2
    assert "\n  also " in str(err)


def test_extends_merges_and_overrides_apply(tmp_path):
    write(tmp_path, "base.yaml", GOOD)
    path = write(
        tmp_path,
        "v.yaml",
        """\
        extends: base.yaml
        seed: 7
        line:
          coolant: 20 degC
        overrides:
          line.stations.dryer.failure.mttr: 45 min
          line.stations[0].servers: 3
        """,
    )
    cfg = load_config(path, Scenario)
    assert cfg.seed == 7
    assert cfg.line.name == "granulation"
    assert cfg.line.coolant == pytest.approx(293.15)
    assert cfg.line.stations[1].failure.mttr == 2700.0
    assert cfg.line.stations[0].servers == 3
    resolved = resolve_config(path)
    assert resolved.files == [str(path), str(tmp_path / "base.yaml")]
    # positions follow the merge: the override's line for the overridden value, the base for the rest
    assert resolved.where(("line", "stations", 1, "failure", "mttr"))[:2] == (str(path), 6)
    assert resolved.where(("line", "stations", 1, "cycle_time"))[:2] == (str(tmp_path / "base.yaml"), 7)
