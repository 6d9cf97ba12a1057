"""resolve_fmu and shipped: one documented search order, errors that list what was tried."""

from __future__ import annotations

from pathlib import Path

import pytest

import fmu_models
from fmu_models import resolve_fmu, shipped, shipped_names
from workbench.errors import ConfigError, FmuError


def _fake_fmu(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")  # resolution only checks existence
    return path


def test_shipped_names_and_paths():
    assert shipped_names() == ("reactor", "reactor3", "dryer", "degradation")
    assert shipped("reactor") == Path(fmu_models.BUILD_DIR) / "reactor.fmu"
    assert shipped("reactor3.fmu") == Path(fmu_models.BUILD_DIR) / "reactor3.fmu"
    with pytest.raises(FmuError, match=r"'dryr' is not a shipped FMU; did you mean 'dryer'\?"):
        shipped("dryr")


def test_order_config_folder_then_cwd_then_shipped(tmp_path, monkeypatch):
    cfg = tmp_path / "configs" / "plant.yaml"
    cfg.parent.mkdir()
    cfg.write_text("kind: x\n")
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    in_cwd = _fake_fmu(cwd / "models" / "pump.fmu")
    assert resolve_fmu("models/pump.fmu", cfg) == in_cwd.resolve()
    next_to_config = _fake_fmu(cfg.parent / "models" / "pump.fmu")
    assert resolve_fmu("models/pump.fmu", cfg) == next_to_config.resolve()  # the config's folder wins
    assert resolve_fmu("models/pump.fmu", cfg.parent) == next_to_config.resolve()  # a folder works too
    assert resolve_fmu(str(in_cwd)) == in_cwd.resolve()  # absolute
    # a bare name in the working directory shadows the shipped FMU of that name
    local_reactor = _fake_fmu(cwd / "reactor.fmu")
    assert resolve_fmu("reactor.fmu") == local_reactor.resolve()


@pytest.mark.skipif(not shipped("reactor").exists(), reason="shipped FMUs not built (twin fmu build)")
def test_shipped_names_and_build_paths_resolve_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    want = shipped("reactor").resolve()
    assert resolve_fmu("reactor") == want
    assert resolve_fmu("reactor.fmu", tmp_path / "x.yaml") == want
    assert resolve_fmu("fmu_models/build/reactor.fmu") == want


def test_not_found_lists_places_and_shipped_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "b.yaml"
    cfg.write_text("")
    with pytest.raises(ConfigError) as err:
        resolve_fmu("nowhere/reactor.fmu", cfg)  # not a bare name: never the shipped reactor
    msg = str(err.value)
    assert msg.startswith(f"{cfg} fmu: ")
    assert str(tmp_path / "nowhere" / "reactor.fmu") in msg
    assert "reactor, reactor3, dryer, degradation" in msg and "twin fmu build" in msg
    with pytest.raises(ConfigError, match=r"did you mean 'reactor'"):
        resolve_fmu("reactr", field="unit.fmu")


def test_shipped_but_not_built_says_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("fmu_models._resolve.BUILD_DIR", tmp_path / "empty")
    with pytest.raises(ConfigError, match=r"shipped FMU 'dryer' is not built yet; .*`twin fmu build`"):
        resolve_fmu("dryer")
