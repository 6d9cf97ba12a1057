"""`twin maintain`: help, bad input (exit 2 with the reason), pure JSON, the HTML report."""

from __future__ import annotations

import json
import os
import sys

import pandas as pd
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "twin"))
from _reactor import TWIN_YAML, need_fmu, plant  # noqa: E402

from twin.emulator import PlantEmulator  # noqa: E402
from twin_app.cli.main import main  # noqa: E402

RATE = 2.0e-8  # the shipped fouling rate, from the start: U_eff 400 → 361 W/(m2.K) over 4 h


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    need_fmu()
    sc = plant(duration="4 h", seed=3, drift=[{"parameter": "R_fouling", "rate": RATE, "start": 0.0}])
    rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in PlantEmulator(sc).frames()]
    path = tmp_path_factory.mktemp("maintain") / "history.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_help_names_the_options():
    assert main(["maintain", "--help"]) == 0


def test_help_text(capsys):
    main(["maintain", "--help"])
    out = capsys.readouterr().out
    for opt in ("--param", "--limit", "--window-min", "--model", "--clean-cost", "--downtime-h", "--loss-rate",
                "--json", "--report"):
        assert opt in out


def test_json_is_pure_and_the_report_is_written(history, tmp_path, capfd):
    report = tmp_path / "m.html"
    code = main(["maintain", str(TWIN_YAML), str(history), "--param", "U", "--limit", "330",
                 "--model", "reciprocal", "--clean-cost", "5000", "--downtime-h", "8", "--loss-rate", "20000",
                 "--json", "--report", str(report)])
    out = capfd.readouterr().out  # file-descriptor level: nothing else on stdout
    assert code == 0
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert doc["parameter"] == "U" and doc["unit"] == "W/(m2.K)" and len(doc["path"]["windows"]) == 8
    cr = doc["crossing"]
    assert cr["determined"] and cr["in_low"] < cr["in"] < cr["in_high"]
    truth_in = (1 / 330 - 1 / 400) / RATE - 4 * 3600.0  # 3.4 h from the end of the data
    assert cr["in_low"] < truth_in < cr["in_high"]  # coverage over seeds: tests/validation/test_maintain_forecast.py
    cl = doc["cleaning"]
    assert cl["interval"] > 0 and len(cl["cost_curve"]) == len(cl["tau"])
    # the limit comes first: the interval is capped at the crossing, the curve reaches the economic optimum
    assert cl["limited_by_limit"] and cl["economic_interval"] > cl["interval"] and max(cl["tau"]) > cl["economic_interval"]
    assert cl["interval"] == pytest.approx(cr["time"], rel=1e-9)  # capped at the crossing, measured from clean
    text = report.read_text()
    assert "Maintenance forecast: U" in text and "cleaning interval \\u03c4 [h]" in text and "W/(m2.K)" in text and "reaches 330" in text


def test_table_says_when_the_limit_is_reached(history, capsys):
    assert main(["maintain", str(TWIN_YAML), str(history), "--param", "U", "--limit", "330",
                 "--model", "reciprocal"]) == 0
    out = capsys.readouterr().out
    assert "U reaches 330 W/(m2.K) in" in out and "Fieller" in out


@pytest.mark.parametrize("args, needle", [
    (["--param", "UA_x", "--limit", "300"], "not a parameter"),
    (["--param", "Uu", "--limit", "300"], "did you mean 'U'"),
    (["--param", "U", "--limit", "450", "--model", "reciprocal"], "wrong side"),
    (["--param", "U", "--limit", "300", "--window-min", "100"], "at least 3"),
    (["--param", "U", "--limit", "300", "--window-min", "300"], "shorter than one calibration window"),
    (["--param", "U", "--limit", "300", "--model", "quadratic"], "not known"),
    (["--param", "U", "--limit", "300", "--clean-cost", "10"], "both --clean-cost and --loss-rate"),
])
def test_bad_input_exits_2_with_the_reason(history, capsys, args, needle):
    assert main(["maintain", str(TWIN_YAML), str(history), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_json_not_determined_says_why_and_the_cleaning_bound_is_open(history, capsys):
    # the first hour only: U_eff falls by 2.8 W/(m2.K), the slope of 4 windows is not significant
    short = history.parent / "short.csv"
    df = pd.read_csv(history)
    df[df["time"] <= df["time"].iloc[0] + 3600].to_csv(short, index=False)
    assert main(["maintain", str(TWIN_YAML), str(short), "--param", "U", "--limit", "330", "--window-min", "15",
                 "--model", "reciprocal", "--clean-cost", "5000", "--loss-rate", "20000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert not doc["crossing"]["determined"] and "not determined" in doc["crossing"]["reason"] and doc["crossing"]["in"] is None
    assert doc["cleaning"]["high"] is None and "no finite upper bound" in doc["cleaning"]["note"]
