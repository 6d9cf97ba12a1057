"""``twin spc softsensor fit|predict`` and ``twin spc regimes``: files in, models and labels out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twin_app.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spc"


def _strict(text: str):
    """Exactly one standard JSON document on stdout (no NaN/Infinity, no progress text)."""
    def reject(name):
        raise ValueError(f"{name} is not standard JSON")

    return json.loads(text.strip(), parse_constant=reject)


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """A batch-wise table: a text batch column, a quality value per row."""
    d = tmp_path_factory.mktemp("ss")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 3))
    frame = pd.DataFrame(x, columns=["p1", "p2", "p3"]).assign(
        batch=[f"B{i // 24:02d}" for i in range(120)], q=x @ [2.0, -1.0, 0.5] + 0.1 * rng.normal(size=120))
    frame.to_csv(d / "batches.csv", index=False)
    frame.assign(q_copy=frame["q"]).to_csv(d / "leaky.csv", index=False)
    frame.assign(batch=[f"B{i // 60}" for i in range(120)]).to_csv(d / "two.csv", index=False)
    return d


def test_fit_and_predict_on_the_shipped_plant(capsys, tmp_path):
    model = tmp_path / "ss.nc"
    code, out, err = _run(capsys, "spc", "softsensor", "fit", EXAMPLES / "softsensor_plant.csv", "--target",
                          "quality", "--lags", "1", "--group-by", "day", "--out", model, "--json")
    assert code == 0, err
    s = _strict(out)
    assert s["groups"] == 30 and s["lagged_features"] == 12 and s["model"] in ("pls", "hgb")
    assert s[f"cv_rmse_{s['model']}"] < 0.6 * s["cv_rmse_mean"]
    code, out, err = _run(capsys, "spc", "softsensor", "predict", model, EXAMPLES / "softsensor_plant.csv",
                          "--json", "--out", tmp_path / "pred.nc")
    assert code == 0, err
    rows = _strict(out)
    assert len(rows) == 720 and rows[0]["prediction"] is None and rows[0]["flag"] == "missing tag0[t-1]"
    lab = [r for r in rows if r["measured"] is not None and r["prediction"] is not None]
    inside = np.mean([r["lower"] <= r["measured"] <= r["upper"] for r in lab])
    assert inside > 0.85  # in-sample rows: at least nominal 90 % (minus noise)
    ds = xr.open_dataset(tmp_path / "pred.nc")
    assert ds.attrs["kind"] == "softsensor-prediction"
    code, out, err = _run(capsys, "spc", "softsensor", "predict", model, EXAMPLES / "softsensor_plant.csv",
                          "--report", tmp_path / "r.html")
    assert code == 0, err
    assert "90 % interval" in out and ("PLS" in out or "HGB" in out)
    page = (tmp_path / "r.html").read_text()
    assert "Soft-sensor report" in page and "held out vs lab value" in page and "applicability domain" in page


def test_batches_as_groups_from_a_text_column(batches, capsys, tmp_path):
    code, out, err = _run(capsys, "spc", "softsensor", "fit", batches / "batches.csv", "--target", "q",
                          "--groups", "batch", "--model", "pls", "--out", tmp_path / "b.nc", "--json")
    assert code == 0, err
    s = _strict(out)
    assert s["groups"] == 5 and s["cv"] == "leave-one-group-out" and s["features"] == 3


@pytest.mark.parametrize(("file", "argv", "text"), [
    ("leaky.csv", ["--groups", "batch"], "feature 'q_copy' is a copy of 'q'"),
    ("two.csv", ["--groups", "batch"], "at least 3 groups with target values; the data has 2"),
    ("batches.csv", [], "give exactly one of --groups COLUMN, --group-by"),
    ("batches.csv", ["--groups", "btch"], "did you mean 'batch'"),
    ("batches.csv", ["--group-by", "day"], "has no time column"),
    ("batches.csv", ["--block", "10", "--out", "m.joblib"], "saved as NetCDF (.nc), never pickled"),
])
def test_bad_input_exits_2_with_the_reason(batches, capsys, tmp_path, file, argv, text):
    if "--out" not in argv:
        argv = [*argv, "--out", tmp_path / "m.nc"]
    code, out, err = _run(capsys, "spc", "softsensor", "fit", batches / file, "--target", "q", *argv)
    assert code == 2, out + err
    assert text in " ".join(err.split()), err
    assert "Traceback" not in err


def test_regimes_labels_the_shipped_grade_changes(capsys, tmp_path):
    out_csv = tmp_path / "labelled.csv"
    code, out, err = _run(capsys, "spc", "regimes", EXAMPLES / "grade_changes.csv", "--columns", "melt_temp",
                          "--columns", "screw_speed", "--columns", "line_density", "--out", out_csv, "--json")
    assert code == 0, err
    s = _strict(out)
    grades = [seg for seg in s["segment_list"] if seg["rows"] >= 200]
    assert [g["first_row"] for g in grades] == pytest.approx([420, 720, 960], abs=3) or \
        [g["first_row"] for g in grades][-3:] == pytest.approx([420, 720, 960], abs=3)
    assert grades[0]["regime"] == grades[2]["regime"] != grades[1]["regime"]  # A, B, A
    labelled = pd.read_csv(out_csv)
    assert list(labelled.columns) == ["time", "melt_temp", "screw_speed", "line_density", "segment", "regime"]
    assert labelled["time"].iloc[0] == "2026-05-04T00:00:00Z"  # the original cells, as written
    code, out, err = _run(capsys, "spc", "regimes", EXAMPLES / "grade_changes.csv", "--method", "binseg",
                          "--modes", "3", "--out", tmp_path / "l.nc")
    assert code == 0, err
    ds = xr.open_dataset(tmp_path / "l.nc")
    assert ds.attrs["kind"] == "regimes" and int(ds["regime"].max()) <= 2


@pytest.mark.parametrize(("argv", "text"), [
    (["--columns", "melt_tmp"], "did you mean 'melt_temp'"),
    (["--modes", "two"], "--modes 'two': use auto"),
    (["--method", "window"], "method must be one of pelt, binseg"),
    (["--out", "x.parquet"], "write the labelled data as .csv or .nc"),
])
def test_regimes_bad_input(capsys, argv, text):
    code, out, err = _run(capsys, "spc", "regimes", EXAMPLES / "grade_changes.csv", *argv)
    assert code == 2, out + err
    assert text in " ".join(err.split()), err
