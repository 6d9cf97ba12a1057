"""Following the tour from a checkout writes only under ``out/`` (issue 24): the shipped twin binding's
trace and the shipped campaign's journal default there, not to ``traces/`` or ``scenarios/``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twin_app.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A copy of the checkout's inputs (scenarios/, examples/, the built FMUs linked) as the working directory."""
    for name in ("scenarios", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    build = ROOT / "fmu_models" / "build"
    if build.exists():
        (tmp_path / "fmu_models").mkdir()
        (tmp_path / "fmu_models" / "build").symlink_to(build.resolve(), target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() or p.is_dir() and not any(p.iterdir())}


def _outside_out(root: Path, before: set[Path]) -> list[str]:
    return sorted(str(p) for p in _files(root) - before if p.parts[0] != "out")


def test_shipped_campaign_journal_goes_under_out(checkout, capsys):
    before = _files(checkout)
    assert main(["optimize", "run", "scenarios/reactor_campaign.yaml", "--trials", "1", "--set",
                 "model.backend=reference", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"] == 1
    assert _outside_out(checkout, before) == []
    assert (checkout / "out" / "campaigns" / "reactor-yield.journal").exists()
    # and the report of the campaign reads that journal back
    assert main(["optimize", "report", "scenarios/reactor_campaign.yaml", "--out", "out/campaign.html"]) == 0
    assert _outside_out(checkout, before) == []


def test_replay_with_the_shipped_binding_traces_under_out(checkout, capsys):
    if not (checkout / "fmu_models" / "build" / "reactor.fmu").exists():
        pytest.skip("reactor FMU not built")
    history = checkout / "examples" / "reactor_history.csv"
    history.write_text("".join(history.read_text().splitlines(keepends=True)[:121]))  # the first 20 min
    before = _files(checkout)
    assert main(["replay", "scenarios/reactor_twin.yaml", "examples/reactor_history.csv", "--speed", "max",
                 "--json"]) == 0
    capsys.readouterr()
    assert _outside_out(checkout, before) == []
    assert (checkout / "out" / "traces" / "reactor_twin.zarr").is_dir()


def test_binding_default_trace_path_is_under_out():
    from twin._binding import TraceSettings

    assert TraceSettings().path.startswith("out/")
