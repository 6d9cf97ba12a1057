"""``twin fmu info|list|run|build`` on the test FMU and on the shipped FMUs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fmu_models.lag_fixtures import lag_fmus_fixture  # noqa: F401 - fixture
from twin_app.cli.main import main


def run_json(capsys, *args: str):
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("version", [2, 3])
def test_info_on_third_party_fmu(lag_fmus, capsys, version):
    data = run_json(capsys, "fmu", "info", str(lag_fmus[version]))
    assert data["fmi_version"] == f"{version}.0" and data["model_name"] == "lag"
    assert set(data["interfaces"]) == {"co-simulation", "model-exchange"}
    assert data["interfaces"]["co-simulation"]["canGetAndSetFMUstate"] is True
    tau = next(v for v in data["variables"] if v["name"] == "tau")
    assert tau == {**tau, "causality": "parameter", "units": "s", "start": "10", "description": "time constant"}
    assert main(["fmu", "info", str(lag_fmus[version])]) == 0
    text = capsys.readouterr().out
    assert "canSerializeFMUstate" in text and "lag output" in text and "K/s" in text
    inputs = run_json(capsys, "fmu", "info", str(lag_fmus[version]), "--causality", "input")["variables"]
    assert [v["name"] for v in inputs] == ["u"]


def test_info_errors(tmp_path, capsys):
    assert main(["fmu", "info", str(tmp_path / "missing.fmu")]) == 1
    assert "no such FMU" in capsys.readouterr().err
    bad = tmp_path / "bad.fmu"
    bad.write_text("not a zip")
    assert main(["fmu", "info", str(bad)]) == 1
    assert "not an FMU" in capsys.readouterr().err


def test_list_and_run(lag_fmus, tmp_path, capsys):
    folder = tmp_path / "fmus"
    folder.mkdir()
    for path in lag_fmus.values():
        shutil.copy(path, folder / path.name)
    rows = run_json(capsys, "fmu", "list", "--dir", str(folder))
    assert [r["file"] for r in rows] == ["lag2.fmu", "lag3.fmu"] and rows[1]["fmi"] == "3.0"
    out = tmp_path / "run.nc"
    data = run_json(capsys, "fmu", "run", str(lag_fmus[2]), "-p", "k=2", "-p", "tau=5", "-i", "u=1",
                    "--stop-time", "1 min", "--output-interval", "1 s", "--out", str(out))
    y = next(r for r in data["outputs"] if r["output"] == "y")
    assert y["units"] == "K" and y["final value"] == pytest.approx(2 + 298 * 2.718281828459045 ** (-12), rel=1e-9)
    from workbench.dataset import read_netcdf

    assert read_netcdf(out).sizes["time"] == 61
    assert main(["fmu", "run", str(lag_fmus[2]), "-p", "kk=2"]) == 1
    assert "did you mean 'k'" in capsys.readouterr().err
    assert main(["fmu", "run", str(lag_fmus[2]), "-p", "k"]) == 2


def _built_fmus() -> list[Path]:
    import fmu_models

    build_dir = Path(getattr(fmu_models, "BUILD_DIR", Path(fmu_models.__file__).parent / "build"))
    return sorted(build_dir.glob("*.fmu"))


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> list[Path]:
    """The shipped FMUs: from fmu_models/build if built, else built into a temp folder."""
    import fmu_models

    found = _built_fmus()
    if found:
        return found
    build_all = getattr(fmu_models, "build_all", None)
    if build_all is None:
        pytest.fail("fmu_models.build_all is missing: the shipped models cannot be built")
    out = tmp_path_factory.mktemp("shipped")
    build_all(out_dir=out)
    return sorted(out.glob("*.fmu"))


def test_info_on_every_shipped_fmu(shipped, capsys):
    assert len(shipped) >= 3
    for path in shipped:
        data = run_json(capsys, "fmu", "info", str(path))
        assert data["guid"] and data["variables"], path
        assert {"co-simulation", "model-exchange"} <= set(data["interfaces"]), path
        for caps in data["interfaces"].values():
            assert caps["canGetAndSetFMUstate"] and caps["canSerializeFMUstate"], path
        assert all(v["units"] for v in data["variables"])
        assert main(["fmu", "info", str(path)]) == 0
        capsys.readouterr()
    assert any(json.loads(json.dumps(run_json(capsys, "fmu", "info", str(p))))["fmi_version"].startswith("3")
               for p in shipped)


def test_build_into_folder(tmp_path, capsys):
    rows = run_json(capsys, "fmu", "build", "--out-dir", str(tmp_path))
    names = sorted(Path(r["file"]).name for r in rows)
    assert {"reactor.fmu", "dryer.fmu", "degradation.fmu", "libwbstepper.so"} <= set(names)
    assert all(r["size [kB]"] > 1 for r in rows)
    listed = run_json(capsys, "fmu", "list", "--dir", str(tmp_path))
    assert {r["model"] for r in listed} == {"reactor", "dryer", "degradation"}


# -- FMUs from other tools (the conformance FMUs) ----------------------------------------------------
from tests.fmu_models.conformance_fixtures import conformance_fmus_fixture, djb2  # noqa: E402, F401 - fixture


def _final(data: dict) -> dict:
    return {r["output"]: r["final value"] for r in data["outputs"]}


@pytest.mark.parametrize("interface", ["cs", "me"])
def test_run_parses_values_by_declared_type(conformance_fmus, capsys, interface):
    data = run_json(capsys, "fmu", "run", str(conformance_fmus["types3"]), "--interface", interface,
                    "-p", "int64=9223372036854775807", "-p", "uint64=18446744073709551615", "-p", "flag=FALSE",
                    "-p", "label=007", "-p", "mode=fast", "-p", "int8=-128", "-p", "gains=1,2,3",
                    "--stop-time", "2", "--output-interval", "1")
    final = _final(data)
    assert final["o_int64"] == 2**63 - 1 and final["o_uint64"] == 2**64 - 1  # exact, not via float
    assert final["o_flag"] is False and final["o_mode"] == 3 and final["o_int8"] == -128
    assert final["label_hash"] == djb2("007") and final["ya[3]"] == 6.0 and final["f32"] == 0.5


@pytest.mark.parametrize(("pair", "needle"), [
    ("int8=300", "parameter 'int8' (Int8) = '300': out of range for Int8; valid range is -128 … 127"),
    ("flag=yes", "parameter 'flag' (Boolean) = 'yes': give true, false, 1 or 0"),
    ("int64=1e3", "parameter 'int64' (Int64) = '1e3': give an exact integer"),
    ("mode=medium", "give one of off (1), slow (2), fast (3)"),
])
def test_run_rejects_values_that_do_not_fit(conformance_fmus, capsys, pair, needle):
    assert main(["fmu", "run", str(conformance_fmus["types3"]), "-p", pair]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_run_prints_integer_only_outputs(conformance_fmus, capsys):
    data = run_json(capsys, "fmu", "run", str(conformance_fmus["counter2"]))
    assert data["outputs"] == [{"output": "bounces", "final value": 17, "units": "1", "min": 0, "max": 17}]
    assert main(["fmu", "run", str(conformance_fmus["counter2"])]) == 0
    assert "bounces" in capsys.readouterr().out


def test_run_of_a_self_terminating_model(conformance_fmus, capsys):
    assert main(["fmu", "run", str(conformance_fmus["bounce2"]), "-p", "max_bounces=3"]) == 0
    captured = capsys.readouterr()
    assert "note: the model ended the simulation itself at t = 1.75" in captured.out.replace("\n", " ")
    data = run_json(capsys, "fmu", "run", str(conformance_fmus["types3"]), "-p", "stop_at=4")
    assert data["terminated_at"] == 4.0 and data["time_s"] == [0.0, 4.0]


def test_run_refusals(conformance_fmus, tmp_path, capsys):
    assert main(["fmu", "run", str(conformance_fmus["clocked3"])]) == 1
    assert "offers only scheduled execution (FMI 3 clocks), which twin workbench does not run" in \
        capsys.readouterr().err.replace("\n", " ")
    assert main(["fmu", "run", str(conformance_fmus["types3"]), "--output-interval", "1e-9"]) == 2
    assert "at most 10,000,000 fit" in capsys.readouterr().err.replace("\n", " ")
