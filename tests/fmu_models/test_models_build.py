"""Build of the shipped models: outputs, idempotence, errors."""

from __future__ import annotations

import zipfile

import pytest
from fmpy import read_model_description

from fmu_models import BUILD_DIR, MODELS, build, build_all
from fmu_models._build import render_fmi2, render_header
from fmu_models._spec import load_spec
from tests.fmu_models.shipped_fixtures import shipped_fmus_fixture  # noqa: F401
from workbench.errors import FmuError


def test_build_all_lists_every_model(shipped_fmus):
    assert set(shipped_fmus) == {"reactor", "reactor3", "dryer", "degradation"}
    assert set(MODELS) == {"reactor", "dryer", "degradation"}
    for path in shipped_fmus.values():
        assert path.parent == BUILD_DIR and path.exists()


def test_second_build_is_skipped(shipped_fmus):
    before = {p: p.stat().st_mtime_ns for p in shipped_fmus.values()}
    again = build_all()
    assert {p: p.stat().st_mtime_ns for p in again} == before


def test_build_into_other_directory_and_force(tmp_path):
    fmu = build("dryer", tmp_path)
    assert fmu == tmp_path / "dryer.fmu"
    stamp = tmp_path / "dryer.fmu.sha256"
    assert stamp.exists()
    mtime = fmu.stat().st_mtime_ns
    assert build("dryer", tmp_path).stat().st_mtime_ns == mtime  # stamped: skipped
    build("dryer", tmp_path, force=True)
    with zipfile.ZipFile(fmu) as zf:
        names = set(zf.namelist())
    assert "modelDescription.xml" in names
    assert any(n.startswith("binaries/") and n.endswith("dryer.so") for n in names)
    assert "sources/dryer.c" in names and "documentation/README.md" in names
    md = read_model_description(str(fmu))
    assert md.fmiVersion == "2.0" and md.modelExchange and md.coSimulation


def test_fmi3_variant_has_its_own_layout(shipped_fmus):
    with zipfile.ZipFile(shipped_fmus["reactor3"]) as zf:
        names = zf.namelist()
    assert any(n.startswith("binaries/x86_64-linux/") or n.startswith("binaries/aarch64-linux/")
               for n in names)
    md = read_model_description(str(shipped_fmus["reactor3"]))
    assert md.fmiVersion == "3.0"
    assert [v.name for v in md.modelVariables if v.causality == "independent"] == ["time"]
    assert len(md.eventIndicators) == 1


def test_unknown_model_suggests_name(tmp_path):
    with pytest.raises(FmuError, match="reactor"):
        build("reactr", tmp_path)


def test_fmi3_only_where_enabled(tmp_path):
    with pytest.raises(FmuError, match="FMI 3.0"):
        build("dryer", tmp_path, fmi_version=3)


def test_compiler_failure_carries_gcc_output(tmp_path, monkeypatch):
    fake = tmp_path / "fakecc"
    fake.write_text("#!/bin/sh\necho 'fakecc: error: something broke' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    with pytest.raises(FmuError, match="something broke"):
        build("degradation", tmp_path / "out", force=True)


def test_generated_artifacts_agree_with_the_table():
    spec = load_spec("reactor")
    header = render_header(spec, "{token}")
    xml = render_fmi2(spec, "{token}", ["reactor.c"])
    for v in spec.variables:
        assert f"#define VR_{v.name} " in header
        assert f'name="{v.name}"' in xml
    assert f"#define NX {len(spec.states)}" in header
    assert "#define NZ 1" in header
