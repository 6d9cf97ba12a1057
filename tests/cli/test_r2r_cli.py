"""``twin r2r``: the next recipe from the example history (JSON), and bad input as one located line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimization import R2RConfig, r2r_history
from twin_app.cli.main import main
from twin_app.cli.r2r import _config
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "examples" / "r2r" / "cd_history.csv"
EWMA = ROOT / "examples" / "r2r" / "cd_ewma.yaml"
DOUBLE = ROOT / "examples" / "r2r" / "cd_double_ewma.yaml"


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_next_recipe_matches_the_library(capsys):
    code, out, err = _run(capsys, ["r2r", HISTORY, "--config", EWMA, "--json"])
    assert code == 0, err
    res = json.loads(out)
    rows = np.genfromtxt(HISTORY, delimiter=",", names=True, dtype=None, encoding="utf-8")
    cfg = R2RConfig(target=3.0, gains={"dose": -0.02, "develop_time": -0.01}, lam=0.3,
                    limits={"dose": (45, 65), "develop_time": (60, 80)}, gain_ratio=(0.7, 1.5))
    step = r2r_history(rows["cd"], np.column_stack([rows["dose"], rows["develop_time"]]), cfg, offset0=4.8)
    assert res["next_recipe"] == pytest.approx(step.recipe)
    assert res["offset_estimate"] == pytest.approx(step.offset) and res["last_batch"] == "L030"
    assert res["predicted_quality"] == pytest.approx(3.0) and res["clipped"] == []
    assert res["stability"]["stable"] and res["stability"]["margin"] == pytest.approx(2 - 0.3 * 1.5)
    # the correction is the minimum-norm one: parallel to the gain vector
    c = np.array([res["correction"]["dose"], res["correction"]["develop_time"]])
    assert c[0] * -0.01 == pytest.approx(c[1] * -0.02)
    code, out, _ = _run(capsys, ["r2r", HISTORY, "-c", DOUBLE, "--json"])
    dbl = json.loads(out)
    assert code == 0 and dbl["stability"]["controller"] == "double-ewma" and dbl["drift_estimate"] > 0


def test_table_output_says_when_clipped(tmp_path, capsys):
    cfg = tmp_path / "tight.yaml"
    cfg.write_text(EWMA.read_text().replace("dose: [45, 65]", "dose: [45, 58.9]"))
    code, out, err = _run(capsys, ["r2r", HISTORY, "-c", cfg])
    assert code == 0, err
    assert "clipped at the recipe limits: dose" in out and "margin" in out


@pytest.mark.parametrize(("edit", "expected"), [
    (("gain_ratio: [0.7, 1.5]", "gain_ratio: [0.7, 7]"),
     "r2r.yaml:6:6 lam: EWMA stability needs 0 < λ·ξ < 2 (Ingolfsson & Sachs 1993), i.e. λ < 0.285714"),
    (("lam: 0.3 ", "lam: 1.6 "), "r2r.yaml:6:6 lam: the EWMA weight must be in (0, 1], got 1.6"),
    (("lam: 0.3 ", "lam: 0.3\nlam2: 0.9\nlamda: 1 "), "lamda: unknown key"),
    (("  dose: -0.02", "  dose: zero"), "gains.dose: 'zero' is not a finite number"),
    (("  dose: [45, 65]", "  dose: [65, 45]"), "limits.dose: the low limit 65.0 must be below"),
    (("quality: cd ", "quality: thickness "), "no 'thickness' column"),
])
def test_bad_config_names_the_field(tmp_path, capsys, edit, expected):
    cfg = tmp_path / "r2r.yaml"
    text = EWMA.read_text()
    assert edit[0] in text
    cfg.write_text(text.replace(edit[0], edit[1], 1))
    code, out, err = _run(capsys, ["r2r", HISTORY, "-c", cfg])
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err


def test_unstable_double_ewma_refused(tmp_path, capsys):
    cfg = tmp_path / "r2r.yaml"
    cfg.write_text(DOUBLE.read_text().replace("lam2: 0.1 ", "lam2: 0.95 ").replace("lam: 0.3 ", "lam: 0.95 "))
    code, _, err = _run(capsys, ["r2r", HISTORY, "-c", cfg])
    assert code == 2 and "lam2" in err and "unit circle" in err and "modulus" in err


def test_bad_history_cell_is_located(tmp_path, capsys):
    bad = tmp_path / "h.csv"
    lines = HISTORY.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[2], "n/a")
    bad.write_text("\n".join(lines) + "\n")
    code, _, err = _run(capsys, ["r2r", bad, "-c", EWMA])
    assert code == 2 and "h.csv:4:3" in err and "dose" in err


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=5), st.lists(st.floats(-3, 3), max_size=3))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["target", "lam", "lam2", "gain_ratio", "offset0", "limits", "gains", "weights"]),
       value=_VALUES)
def test_config_reader_accepts_or_names_the_field(tmp_path, key, value):
    """Any value for any field: a valid controller or a ConfigError that names the field — never a crash."""
    data = yaml.safe_load(EWMA.read_text())
    data[key] = value
    path = tmp_path / "r2r.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        cfg, _ = _config(path)
    except ConfigError as exc:
        assert key in str(exc)
    else:
        assert cfg.lam > 0 and cfg.gains


def test_example_history_is_what_make_examples_writes():
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pd.testing.assert_frame_equal(mod.r2r_lots(), pd.read_csv(HISTORY), check_exact=False, atol=1e-9)
