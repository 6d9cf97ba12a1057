"""``twin spc mspc build|check``: files in, model and per-sample verdicts out, clear errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from spc import make_process_data
from twin_app.cli.main import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mspc")
    normal = make_process_data(800, n_variables=6, n_latent=2, seed=1, structure_seed=5)
    normal.assign(label="line A").to_csv(d / "normal.csv")
    new = make_process_data(120, n_variables=6, n_latent=2, seed=2, structure_seed=5)
    new.iloc[60:, 4] += 5 * normal["x04"].std()  # sensor x04 biased from sample 60 on
    new.iloc[10, 1] = np.nan
    new.to_csv(d / "new.csv")
    normal.assign(x03=2.5).to_csv(d / "constant.csv")
    normal.iloc[:6].to_csv(d / "short.csv")
    new.drop(columns=["x02", "x05"]).to_csv(d / "fewer.csv")
    bad = (d / "new.csv").read_text().splitlines()
    bad[3] = bad[3].replace(bad[3].split(",")[2], "12,5x", 1)
    (d / "badcell.csv").write_text("\n".join(bad) + "\n")
    return d


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_build_check_json_and_report(files, capsys, tmp_path):
    model = tmp_path / "model.nc"
    code, out, err = _run(capsys, "spc", "mspc", "build", files / "normal.csv", "-o", model,
                          "--exclude", "label", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["components"] == 2 and summary["components_by"].startswith("cross-validation")
    assert summary["samples_used"] == 800 and summary["spe_limit_method"] == "jackson-mudholkar"
    code, out, err = _run(capsys, "spc", "mspc", "check", model, files / "new.csv", "--json",
                          "--report", tmp_path / "r.html")
    assert code == 0, err
    rows = json.loads(out)  # pure JSON on stdout
    assert len(rows) == 120 and set(rows[0]) >= {"time", "t2", "t2_limit", "spe", "spe_limit", "flag", "top_spe"}
    assert rows[10]["n_missing"] == 1 and rows[10]["t2"] is not None
    late = rows[60:]
    assert sum(r["flag"] != "ok" for r in late) > 0.9 * len(late)
    assert sum(r["top_spe"][0]["variable"] == "x04" for r in late) > 0.9 * len(late)
    assert sum(r["flag"] != "ok" for r in rows[:60]) <= 4
    page = (tmp_path / "r.html").read_text()
    # the figures' JSON may escape non-ASCII (plotly's json engine) or not (orjson): read both alike
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    assert "score plot" in page and "T² ellipse" in page and "Contributions of the worst samples" in page
    code, out, _ = _run(capsys, "spc", "mspc", "check", model, files / "new.csv", "--fail-on-alarm")
    assert code == 1 and "x04" in out and "above a limit" in out
    code, out, err = _run(capsys, "report", model, "-o", tmp_path / "m.html")
    assert code == 0 and "mspc_report" in out, err


def test_build_dynamic_pls_with_options(files, capsys, tmp_path):
    code, out, err = _run(capsys, "spc", "mspc", "build", files / "normal.csv", "-o", tmp_path / "pls.nc",
                          "--exclude", "label", "--y", "x05", "--lags", "1", "--components", "3",
                          "--scaling", "pareto", "--spe-method", "box", "--json")
    assert code == 0, err
    s = json.loads(out)
    assert (s["model"], s["components"], s["lagged_variables"], s["samples_not_used"]) == ("pls", 3, 10, 1)
    code, out, err = _run(capsys, "spc", "mspc", "check", tmp_path / "pls.nc", files / "new.csv", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert "predicted_x05" in rows[0] and rows[0]["n_missing"] == 5  # first sample: its lag is missing


@pytest.mark.parametrize("argv,text", [
    (["build", "constant.csv"], "constant.csv: variable(s) x03 are constant"),
    (["build", "normal.csv", "--exclude", "label", "--exclude", "x9"], "--exclude x9: no such column"),
    (["build", "normal.csv"], "column 'label'"),  # a text column that is not the time: located
    (["build", "short.csv", "--components", "2"], "6 complete samples are too few for 6 variables"),
    (["build", "normal.csv", "--exclude", "label", "--scaling", "unit"], "scaling must be one of"),
    (["build", "missing.csv"], "missing.csv: no such file"),
    (["check", "MODEL", "fewer.csv"], "column(s) x02, x05 of the model are missing"),
    (["check", "MODEL", "badcell.csv"], "badcell.csv:4"),
    (["check", "normal.csv", "new.csv"], "normal.csv"),
])
def test_bad_input_exits_2_with_one_clear_line(files, capsys, tmp_path, argv, text, monkeypatch):
    monkeypatch.chdir(files)
    if "MODEL" in argv:
        assert main(["spc", "mspc", "build", "normal.csv", "--exclude", "label", "-o", str(tmp_path / "m.nc")]) == 0
        argv = [str(tmp_path / "m.nc") if a == "MODEL" else a for a in argv]
        capsys.readouterr()
    code, out, err = _run(capsys, "spc", "mspc", *argv, "-o", tmp_path / "x.nc") if argv[0] == "build" else \
        _run(capsys, "spc", "mspc", *argv)
    assert code == 2, (out, err)
    assert text in " ".join(err.split()) and "Traceback" not in err
