"""``twin config validate`` checks what a config names outside itself: FMU file, variables, units,
campaign metrics; every problem with file:line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_app.cli.main import main
from twin_app.configs import check_references
from workbench.config import resolve_config

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
REACTOR_FMU = ROOT / "fmu_models" / "build" / "reactor.fmu"

pytestmark = pytest.mark.skipif(
    not REACTOR_FMU.exists(), reason="shipped FMUs not built (twin fmu build)"
)


def _edited(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = (
        (SCENARIOS / name)
        .read_text()
        .replace("fmu: fmu_models/build/reactor.fmu", f"fmu: {REACTOR_FMU}")
    )
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _validate(capsys, path: Path) -> tuple[int, str]:
    code = main(["config", "validate", str(path)])
    out = capsys.readouterr()
    return code, out.err + out.out


def test_shipped_configs_have_no_reference_problems(capsys):
    code, text = _validate(capsys, SCENARIOS / "reactor_twin.yaml")
    assert code == 0, text
    for name in ("reactor_plant.yaml", "reactor_campaign.yaml", "granulation_line.yaml"):
        assert main(["config", "validate", str(SCENARIOS / name)]) == 0, capsys.readouterr()


def test_missing_fmu_file(tmp_path, capsys):
    path = _edited(tmp_path, "reactor_twin.yaml", (f"fmu: {REACTOR_FMU}", "fmu: no_such_model.fmu"))
    code, text = _validate(capsys, path)
    assert code == 2
    assert (
        f"{path}:{_line_of(path, 'no_such_model')}:6 fmu:" in text
        and 'FMU "no_such_model.fmu" not found' in text
    )


def test_file_that_is_not_an_fmu(tmp_path, capsys):
    (tmp_path / "fake.fmu").write_text("not a zip")
    path = _edited(tmp_path, "reactor_twin.yaml", (f"fmu: {REACTOR_FMU}", "fmu: fake.fmu"))
    code, text = _validate(capsys, path)
    assert code == 2 and "fmu:" in text and "not an FMU" in text


def test_misspelt_variable_and_incompatible_unit_are_both_listed(tmp_path, capsys):
    path = _edited(
        tmp_path,
        "reactor_twin.yaml",
        ("variable: F_cool,", "variable: F_coool,"),
        ("variable: T_jacket, unit: degC", "variable: T_jacket, unit: bar"),
    )
    code, text = _validate(capsys, path)
    assert code == 2
    assert f"{path}:{_line_of(path, 'F_coool')}:" in text
    assert (
        "inputs[1].variable: FMU reactor (reactor.fmu) has no variable \"F_coool\"; did you mean 'F_cool'"
        in text
    )
    assert f"{path}:{_line_of(path, 'unit: bar')}:" in text
    assert 'outputs[1].unit: unit "bar" cannot be converted to "K"' in text


def test_parameters_and_calibration_names_are_checked(tmp_path, capsys):
    path = _edited(
        tmp_path,
        "reactor_twin.yaml",
        ("  R_fouling: 0.0", "  R_fuoling: 0.0"),
        ("- {name: U, initial", "- {name: Uu, initial"),
    )
    code, text = _validate(capsys, path)
    assert code == 2 and 'no variable "R_fuoling"' in text and "calibration[0].name" in text


def test_plant_emulator_tag_variable(tmp_path, capsys):
    path = _edited(tmp_path, "reactor_plant.yaml", ("variable: V,", "variable: Vol,"))
    code, text = _validate(capsys, path)
    assert code == 2 and f"{path}:{_line_of(path, 'Vol,')}:" in text and "tags[6].variable" in text


def test_misspelt_campaign_metric(tmp_path, capsys):
    path = tmp_path / "campaign.yaml"
    path.write_text(
        (SCENARIOS / "reactor_campaign.yaml")
        .read_text()
        .replace("metric: impurity", "metric: impurty")
    )
    code, text = _validate(capsys, path)
    assert code == 2
    assert f"{path}:{_line_of(path, 'impurty')}:" in text and "did you mean 'impurity'" in text


def test_line_fmu_unit_variables(tmp_path):
    text = (SCENARIOS / "granulation_line.yaml").read_text()
    path = tmp_path / "granulation_line.yaml"
    path.write_text(text)
    resolved = resolve_config(path)
    from simulation.line import load_scenario

    sc = load_scenario(path)
    sc.stations[[s.unit is not None for s in sc.stations].index(True)].unit.quality["x"] = (
        "no_such_output"
    )
    problems = check_references("line", sc, resolved)
    assert len(problems) == 1 and 'no variable "no_such_output"' in str(problems[0])


def test_kinds_without_external_references_have_nothing_to_check():
    resolved = resolve_config(SCENARIOS / "pump_station_life.yaml")
    assert check_references("life", object(), resolved) == []
