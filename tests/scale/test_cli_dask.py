"""``--dask ADDRESS`` on the finished CLI commands: same output as a local run; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin_app.cli.main import main

pytestmark = pytest.mark.dask

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_life_run_on_dask_matches_local(dask_client, capsys):
    argv = ["life", "run", str(SCENARIOS / "pump_station_life.yaml"), "--engine", "event", "--seed", "3",
            "--set", "simulation.replications=4", "--set", "simulation.horizon=4380 h", "--json"]
    local = _json(capsys, argv)
    remote = _json(capsys, [*argv, "--dask", dask_client.scheduler.address])
    assert remote["kpis"] == local["kpis"] and remote["components"] == local["components"]


def test_golden_build_from_zarr_on_dask_matches_local(dask_client, capsys, tmp_path):
    import warnings

    import golden_batch as gb
    from workbench.dataset import write_netcdf, write_zarr

    history = gb.make_synthetic_history(24, seed=2, n_samples=90)
    write_netcdf(history, tmp_path / "history.nc")
    write_zarr(history.chunk({"batch": 6}), tmp_path / "history.zarr")
    common = ["--select", "yield >= 0.9", "--alignment", "elapsed", "--json"]
    local = _json(capsys, ["golden", "build", str(tmp_path / "history.nc"), "-o", str(tmp_path / "a.nc"), *common])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        remote = _json(capsys, ["golden", "build", str(tmp_path / "history.zarr"), "-o", str(tmp_path / "b.nc"),
                                "--chunk", "6", "--dask", dask_client.scheduler.address, *common])
    assert remote["summary"]["golden_batches"] == local["summary"]["golden_batches"]
    assert remote["summary"]["t2_limit"] == pytest.approx(local["summary"]["t2_limit"], rel=1e-12)
    assert remote["summary"]["spe_limit"] == pytest.approx(local["summary"]["spe_limit"], rel=1e-9)
    assert [r["batch"] for r in remote["selection"]] == [r["batch"] for r in local["selection"]]


def test_dask_option_errors_are_one_clear_line(capsys):
    model = str(SCENARIOS / "pump_station_life.yaml")
    assert main(["life", "run", model, "--dask", "host:8786", "--json"]) == 2
    assert "is not a scheduler address; use e.g. tcp://host:8786" in capsys.readouterr().err
    assert main(["life", "run", model, "--dask", "tcp://127.0.0.1:1", "--executor", "processes:2"]) == 2
    assert "--dask and --executor both choose the executor" in capsys.readouterr().err
