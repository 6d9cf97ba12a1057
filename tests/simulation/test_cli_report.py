"""``twin run`` / ``twin compare`` end to end, and the HTML report."""

from __future__ import annotations

import json

import pytest

from twin_app.cli.main import main
from workbench.dataset import read_netcdf

BASE = """\
kind: line
name: small
source: {saturated: true}
stations:
  - {name: a, buffer: 2, process_time: "exponential(mean=1 min)",
     failures: [{ttf: "exponential(mean=2 h)", ttr: "exponential(mean=20 min)"}]}
  - {name: b, buffer: 2, process_time: "exponential(mean=0.9 min)"}
experiment: {horizon: 1 d, warmup: 1 h, replications: 3, seed: 3}
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "big.yaml").write_text("extends: base.yaml\nname: big\noverrides:\n  stations.b.buffer: 10\n")
    return tmp_path


def test_run_json_and_outputs(files, capsys):
    code = main(["run", str(files / "base.yaml"), "--json", "--out", str(files / "r.nc"),
                 "--report", str(files / "r.html")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    row = {r["kpi"]: r for r in data["kpis"]}["throughput"]
    assert row["ci_low"] <= row["mean"] <= row["ci_high"] and row["units"] == "1/h"
    ds = read_netcdf(files / "r.nc")
    assert float(ds["mean"].sel(kpi="throughput")) == pytest.approx(row["mean"])
    html = (files / "r.html").read_text()
    assert "plotly" in html.lower() and "Machine states" in html


def test_compare_table_and_report(files, capsys):
    code = main(["compare", str(files / "base.yaml"), str(files / "big.yaml"), "--json",
                 "--report", str(files / "c.html"), "--out", str(files / "c.nc")])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    thr = next(r for r in rows if r["kpi"] == "throughput")
    assert thr["variant"] == "big" and thr["ci_low"] <= thr["delta"] <= thr["ci_high"]
    assert "What-if differences" in (files / "c.html").read_text()
    assert read_netcdf(files / "c.nc").sizes["variant"] == 1


def test_set_override_and_config_error_exit_code(files, capsys):
    assert main(["run", str(files / "base.yaml"), "--json", "-n", "2", "--set", "stations.b.servers=2"]) == 0
    assert main(["run", str(files / "base.yaml"), "--set", "stations.c.servers=2"]) == 2
    err = capsys.readouterr().err
    assert "stations" in err and "'c'" in err


EXTRA_STATION = BASE.replace("name: small", "name: three").replace(
    '  - {name: b, buffer: 2, process_time: "exponential(mean=0.9 min)"}',
    '  - {name: b, buffer: 2, process_time: "exponential(mean=0.9 min)"}\n'
    '  - {name: c, buffer: 2, process_time: "exponential(mean=0.5 min)"}')


def test_compare_keeps_a_station_only_the_variant_has(files, capsys):
    """Issue 22: the new station's KPIs were dropped from the table, --all-kpis and the NetCDF."""
    (files / "three.yaml").write_text(EXTRA_STATION)
    code = main(["compare", str(files / "base.yaml"), str(files / "three.yaml"), "--json", "--all-kpis",
                 "--out", str(files / "c.nc"), "--report", str(files / "c.html")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["absent_stations"] == {"small": ["c"]}
    util_c = next(r for r in data["rows"] if r["kpi"] == "utilisation[c]")
    assert util_c["base"] is None and util_c["delta"] is None and util_c["absent_in"] == ["small"]
    assert 0 < util_c["variant_mean"] <= 1
    ds = read_netcdf(files / "c.nc")
    assert "utilisation[c]" in ds["kpi"].values
    assert json.loads(ds.attrs["absent_stations"]) == {"small": ["c"]}
    assert float(ds["variant_mean"].sel(variant="three", kpi="utilisation[c]")) == pytest.approx(util_c["variant_mean"])
    html = (files / "c.html").read_text()
    assert "utilisation[c]" in html and "small has no station c" in html
    # the people's table: a note names the scenario lacking the station, absent cells say so
    assert main(["compare", str(files / "base.yaml"), str(files / "three.yaml"), "--all-kpis"]) == 0
    out = capsys.readouterr().out
    assert "utilisation[c]" in out and "absent" in out
    assert "the base 'small' has no station 'c'" in " ".join(out.split())
