"""``twin golden build/check/report`` end to end (in tmp_path)."""

from __future__ import annotations

import json

import pytest

import golden_batch as gb
from twin_app.cli.main import main
from workbench.dataset import write_netcdf


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("golden")
    write_netcdf(gb.make_synthetic_history(40, seed=1), d / "history.nc")
    write_netcdf(gb.make_synthetic_history(0, seed=2, faults={"cooling": 2}), d / "bad.nc")
    good = gb.make_synthetic_history(3, seed=4, noise=0.5)
    write_netcdf(good, d / "good.nc")
    return d


def test_build_check_report(files, capsys):
    env = files / "envelope.nc"
    code = main(["golden", "build", str(files / "history.nc"), "--select", "yield >= 0.9", "-o", str(env),
                 "--alignment", "elapsed", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["golden_batches"] > 10 and env.exists()
    assert main(["golden", "check", str(env), str(files / "bad.nc")]) == 1
    capsys.readouterr()
    assert main(["golden", "check", str(env), str(files / "good.nc"), "--json", "--min-inside", "0.5"]) in (0, 1)
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all("verdict" in r for r in rows)
    html = files / "report.html"
    assert main(["golden", "report", str(env), "--batch", str(files / "bad.nc"), "-o", str(html)]) == 0
    text = html.read_text()
    assert "Golden-batch selection" in text and "plotly" in text.lower() and "<script" in text


def test_bad_spec_is_config_error(files, capsys):
    code = main(["golden", "build", str(files / "history.nc"), "--select", "yield >>= 0.9",
                 "-o", str(files / "x.nc")])
    assert code == 2
