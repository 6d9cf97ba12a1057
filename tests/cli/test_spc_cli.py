"""``twin spc chart|capability|corr``: JSON output, tables, and bad input as one located line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spc import ChartLimits
from twin_app.cli.main import main
from twin_app.cli.spc import _subgroup
from workbench.errors import ConfigError
from workbench.tables import Table

ROOT = Path(__file__).resolve().parents[2]
RUBBER = str(ROOT / "examples" / "spc" / "rubber_colour.csv")
CANS = str(ROOT / "examples" / "spc" / "orange_juice_cans.csv")
LDPE = str(ROOT / "examples" / "spc" / "ldpe.csv")


def run_json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_chart_json_lists_signals_limits_and_drops(capsys):
    out = run_json(capsys, ["spc", "chart", CANS, "--column", "nonconforming", "--type", "p", "--subgroup",
                            "inspected", "--time", "sample", "--json"])
    assert out["chart"] == "p" and out["phase"] == 1
    assert [d["label"] for d in out["dropped"]] == ["15", "23", "21"]
    assert out["limits"]["center"] == pytest.approx(281 / 1350)
    assert all({"rule", "index", "label", "value", "chart"} <= set(s) for s in out["signals"])
    assert {s["label"] for s in out["signals"] if s["rule"] == "WE1"} == {"15", "21", "23"}


def test_phase1_save_then_phase2_limits(tmp_path, capsys):
    lim = tmp_path / "lim.yaml"
    out = run_json(capsys, ["spc", "chart", RUBBER, "-c", "Colour", "--subgroup", "5", "--type", "xbar-s",
                            "--save-limits", str(lim), "--json"])
    assert lim.exists() and out["saved_limits"] == str(lim)
    again = run_json(capsys, ["spc", "chart", RUBBER, "-c", "Colour", "--subgroup", "5", "--limits", str(lim),
                              "--json"])
    assert again["phase"] == 2 and again["chart"] == "xbar-s" and again["dropped"] == []
    assert again["limits"]["sigma"] == pytest.approx(out["limits"]["sigma"])


def test_chart_table_output(capsys):
    assert main(["spc", "chart", RUBBER, "-c", "Colour", "--rules", "nelson"]) == 0
    text = capsys.readouterr().out
    assert "imr chart, Phase 1" in text and "MR-bar/d2" in text


def test_autocorrelation_warning_on_stderr(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = np.zeros(200)
    for t in range(1, 200):
        x[t] = 0.9 * x[t - 1] + rng.standard_normal()
    p = tmp_path / "ar.csv"
    p.write_text("x\n" + "\n".join(f"{v:.5f}" for v in x) + "\n")
    assert main(["spc", "chart", str(p), "-c", "x"]) == 0
    assert "autocorrelated" in capsys.readouterr().err
    out = run_json(capsys, ["spc", "chart", str(p), "-c", "x", "--remedy", "residuals", "--json"])
    assert out["remedy"] == "residuals" and len(out["limits"]["ar"]) == 2


def test_capability_json(capsys):
    out = run_json(capsys, ["spc", "capability", RUBBER, "-c", "Colour", "--lsl", "200", "--usl", "280",
                            "--subgroup", "5", "--json"])
    assert set(out["indices"]) >= {"Cp", "Cpk", "Pp", "Ppk", "Cpm"}
    assert "pooled" in out["sigma_method"] and out["ppm"]["observed"]["total"] == 0


def test_corr_json(capsys):
    out = run_json(capsys, ["spc", "corr", LDPE, "--target", "Mw", "--lags", "2", "--json"])
    cols = [r["column"] for r in out["ranking"]]
    assert "sample" in cols and "Mw" not in cols and len(cols) == 19
    assert all(0 <= r["best_lag"] <= 2 for r in out["ranking"])


@pytest.fixture
def bad(tmp_path):
    (tmp_path / "text.csv").write_text("x,g\n1,a\n2,a\nabc,b\n4,b\n")
    (tmp_path / "few.csv").write_text("x\n1\n2\n3\n")
    (tmp_path / "neg.csv").write_text("c\n" + "\n".join(["3", "4", "-2", "5", "6"]) + "\n")
    (tmp_path / "ok.csv").write_text("x,g\n" + "\n".join(f"{i % 7 + 0.5 * i},{i}" for i in range(30)) + "\n")
    (tmp_path / "lim.json").write_text('{"chart": "imr", "center": 1}')
    return tmp_path


@pytest.mark.parametrize("argv,text", [
    (["spc", "chart", "{d}/ok.csv", "-c", "y"], "no 'y' column"),
    (["spc", "chart", "{d}/text.csv", "-c", "x"], "text.csv:4:1 column 'x': 'abc' is not a number"),
    (["spc", "chart", "{d}/few.csv", "-c", "x"], "at least 8 points"),
    (["spc", "chart", "{d}/ok.csv", "-c", "x", "--subgroup", "g", "--type", "xbar-r"], "at least 2"),
    (["spc", "chart", "{d}/ok.csv", "-c", "x", "--subgroup", "gg"], "neither a whole number"),
    (["spc", "chart", "{d}/neg.csv", "-c", "c", "--type", "c"], "neg.csv:4:1 column 'c': '-2' must be >= 0"),
    (["spc", "chart", "{d}/ok.csv", "-c", "x", "--rules", "westen"], "unknown run rules"),
    (["spc", "chart", "{d}/ok.csv", "-c", "x", "--limits", "{d}/lim.json"], "sigma"),
    (["spc", "chart", "{d}/ok.csv", "-c", "g", "--type", "p"], "number inspected"),
    (["spc", "chart", "{d}/missing.csv", "-c", "x"], "no such file"),
    (["spc", "capability", "{d}/ok.csv", "-c", "x"], "spec limit"),
    (["spc", "capability", "{d}/ok.csv", "-c", "x", "--lsl", "5", "--usl", "1"], "below"),
    (["spc", "capability", "{d}/ok.csv", "-c", "x", "--usl", "9", "--method", "johnson"], "--method"),
    (["spc", "corr", "{d}/ok.csv", "--target", "q"], "no 'q' column"),
])
def test_bad_input_exits_2_with_one_line(bad, capsys, argv, text):
    assert main([a.replace("{d}", str(bad)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert text in " ".join(err.split()) and "Traceback" not in err



@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_subgroup_option_parser(text):
    import pandas as pd

    table = Table(pd.DataFrame({"x": [1.0, 2.0], "batch id": ["a", "b"]}), "t.csv")
    try:
        got = _subgroup(table, text)
    except ConfigError as exc:
        assert "--subgroup" in str(exc)
    else:
        t = text.strip()
        assert got == (int(t) if t.isascii() and t.isdigit() else t)
        assert isinstance(got, int) and got >= 1 or got in table.columns


values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=4),
                   st.lists(st.floats(-2, 2), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["chart", "center", "sigma", "subgroup_size", "lam", "L", "k", "h", "ar",
                                        "batch_size", "width", "bogus"]), values),
       st.sampled_from(["imr", "xbar-r", "p", "np", "c", "ewma", "cusum", "zz"]))
def test_limits_parser_accepts_or_names_the_field(data, chart):
    data = {"chart": chart, **data} if "chart" not in data else data
    try:
        lim = ChartLimits.from_dict(data, source="l.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("l.yaml")
    else:
        assert lim.chart in ("imr", "xbar-r", "xbar-s", "p", "np", "c", "u", "ewma", "cusum")
        assert isinstance(lim.center, float) and np.isfinite(lim.center)
        assert lim.sigma is None or lim.sigma > 0


def test_phase2_limits_from_options(capsys):
    out = run_json(capsys, ["spc", "chart", RUBBER, "-c", "Colour", "--center", "240", "--sigma", "5", "--json"])
    assert out["phase"] == 2 and out["charts"][0]["ucl"] == pytest.approx(255)
    assert main(["spc", "chart", RUBBER, "-c", "Colour", "--sigma", "5"]) == 2
    assert "--center" in capsys.readouterr().err
    out = run_json(capsys, ["spc", "chart", CANS, "-c", "nonconforming", "--type", "np", "--subgroup", "50",
                            "--center", "0.2", "--json"])
    assert out["charts"][0]["center"] == pytest.approx(10)


def test_capability_clements_with_report(tmp_path, capsys):
    out = run_json(capsys, ["spc", "capability", RUBBER, "-c", "Colour", "--lsl", "200", "--usl", "280",
                            "--method", "clements", "--report", str(tmp_path / "c.html"), "--json"])
    assert out["method"] == "clements" and out["indices"]["Cpk"]["lower"] is None
    assert "Pearson curve" in (tmp_path / "c.html").read_text()
