"""Docs are tests: every shell command in README.md and docs/*.md runs as written.

Each page runs in its own scratch copy of the repository's inputs (``scenarios/``, ``examples/``;
``fmu_models/`` linked), blocks in page order, so a later command may use what an earlier one
wrote, as a reader following the page would. Pages that use ``out/demo/`` get the outputs of one
``twin demo`` run (what the README asks the reader to run first). How blocks are read and the
``<!-- docs-test: ... -->`` directives: ``tests/docs/_blocks.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.docs._blocks import Block, Command, parse_page

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 900  # s; a bound for a hung command, not a speed expectation
SERVER_READY_TIMEOUT = 300  # s
_URL = re.compile(r"(?:opc\.tcp|https?)://([\w.\-]+):(\d+)")

pytestmark = [pytest.mark.slow, pytest.mark.docs, pytest.mark.timeout(3600)]


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    env.pop("TWIN_DOCS_SCREENSHOTS", None)
    env["MPLBACKEND"] = "Agg"
    env["PWD"] = str(work)
    return env


def _scratch(tmp: Path, demo_out: Path | None) -> Path:
    work = tmp / "repo"
    work.mkdir()
    for name in ("scenarios", "examples"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, work / name)
    (work / "fmu_models").symlink_to(ROOT / "fmu_models")
    (work / "tests").symlink_to(ROOT / "tests")
    if demo_out is not None:
        (work / "out").mkdir()
        (work / "out" / "demo").symlink_to(demo_out)
    return work


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory) -> Path:
    """One run of ``twin demo`` (the README's first command), shared by the pages that use it."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    proc = subprocess.run([str(BIN / "twin"), "demo", "--out", str(out)], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, env=_env(out.parent), cwd=out.parent)
    assert proc.returncode == 0, f"twin demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out


def _wait_ready(proc: subprocess.Popen, log: Path, cmd: Command, where: str) -> None:
    """Wait until the server prints its URL and that port accepts connections."""
    deadline = time.monotonic() + SERVER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{where}: server `{cmd.text}` exited with {proc.returncode} before it was "
                        f"ready:\n{log.read_text()[-4000:]}")
        match = _URL.search(log.read_text())
        if match:
            with socket.socket() as sock:
                sock.settimeout(1.0)
                if sock.connect_ex((match.group(1), int(match.group(2)))) == 0:
                    return
        time.sleep(0.2)
    pytest.fail(f"{where}: server `{cmd.text}` printed no reachable URL within {SERVER_READY_TIMEOUT} s:\n"
                f"{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _server_logs(work: Path) -> str:
    return "".join(f"\n--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(work.glob(".server-*.log")))


def _export(cmd: Command, env: dict[str, str], where: str) -> None:
    """``export NAME=VALUE ...``: the reader's shell keeps it for the next commands; so does the page's env."""
    proc = subprocess.run(["bash", "-c", f"{cmd.shell_text} && env -0"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f"{where}: `{cmd.text}` failed: {proc.stderr}"
    env.clear()
    env.update(item.split("=", 1) for item in proc.stdout.split("\0") if "=" in item)


def _run_block(block: Block, work: Path, env: dict[str, str]) -> None:
    servers: list[subprocess.Popen] = []
    try:
        for n, cmd in enumerate(block.commands):
            where = f"{block.page}:{cmd.line}"
            if cmd.text.startswith("export "):
                _export(cmd, env, where)
                continue
            if cmd.background:
                log = work / f".server-{block.line}-{n}.log"
                handle = log.open("w")
                proc = subprocess.Popen(["bash", "-c", f"exec {cmd.shell_text}"], cwd=work, env=env,
                                        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
                servers.append(proc)
                _wait_ready(proc, log, cmd, where)
                continue
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd.shell_text], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
            shown = (f"$ {cmd.text}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
                     + _server_logs(work))
            allowed = block.allowed_exits(cmd)
            assert proc.returncode in allowed, f"{where}: exit {proc.returncode} (the page allows {allowed}):\n{shown}"
            assert "Traceback (most recent call last)" not in proc.stderr, f"{where}: a traceback:\n{shown}"
            output = " ".join((proc.stdout + "\n" + proc.stderr).split())
            for line in cmd.expect:
                assert line in output, f"{where}: the page shows {line!r} but the command printed:\n{shown}"
    finally:
        for proc in servers:
            _stop(proc)


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


#: Pages run by the main pytest process instead of the docs process beside it (``make test`` runs
#: the two at once; this keeps their wall times about equal). They must not use ``out/demo/``.
WITH_REST = {"docs/golden-batch.md"}


def _pages() -> list:
    return [pytest.param(p, marks=pytest.mark.docs_with_rest) if _page_id(p) in WITH_REST else p
            for p in PAGES if parse_page(p, ROOT)]


@pytest.mark.parametrize("page", _pages(), ids=_page_id)
def test_page_commands_run_as_written(page: Path, tmp_path: Path, request) -> None:
    """Every command of the page, in order, exits as the page says, prints what the page shows."""
    blocks = parse_page(page, ROOT)
    text = page.read_text(encoding="utf-8")
    demo_out = request.getfixturevalue("demo_outputs") if "out/demo/" in text else None
    work = _scratch(tmp_path, demo_out)
    env = _env(work)
    ran = 0
    for block in blocks:
        if block.skip:
            continue
        _run_block(block, work, env)
        ran += len(block.commands)
    if not ran:
        pytest.skip("every block of this page is marked skip")
