"""The ``twin`` entry point: help, version, exit codes, config commands."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from twin_app.cli.main import app, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin_app.cli.main", *args], capture_output=True, text=True)


def test_help_and_version():
    out = run("--help")
    assert out.returncode == 0 and "config" in out.stdout
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("twin workbench ")


def walk(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group)

    def rec(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from rec(sub, (*path, name))

    yield from rec(click_group, prefix)


@pytest.mark.parametrize("path", list(walk(app)), ids=lambda p: " ".join(p) or "twin")
def test_every_command_has_help(path, capsys):
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Usage" in text


def test_usage_error_exit_code(capsys):
    assert main(["no-such-command"]) == 2


@pytest.fixture
def registered(monkeypatch):
    from twin_app import configs

    monkeypatch.setitem(configs.KINDS, "test-line", "tests.workbench.models:Scenario")


GOOD = textwrap.dedent(
    """\
    kind: test-line
    line:
      name: l
      stations:
        - {name: a, cycle_time: 2 min}
    """
)


def test_config_validate_ok_and_errors(tmp_path, registered, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert main(["config", "validate", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("2 min", "2 minuts"))
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert 'bad.yaml:5:29 line.stations[0].cycle_time: "2 minuts" is not a duration' in " ".join(err.split())
    assert main(["config", "validate", "--json", str(good), str(bad)]) == 2
    rows = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in rows] == ["ok", "error"]


def test_config_show_resolves_units_and_overrides(tmp_path, registered, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert main(["config", "show", "--json", str(good), "--set", "line.stations.a.cycle_time=3 min"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["line"]["stations"][0]["cycle_time"] == 180.0
    assert data["kind"] == "test-line"


def test_unknown_kind_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text("kind: lien\n")
    assert main(["config", "validate", str(path)]) == 2
    assert 'kind "lien" is not known' in capsys.readouterr().err
