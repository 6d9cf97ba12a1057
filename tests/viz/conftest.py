"""Fixtures of the view tests: example datasets, a Dash server on a free port, headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TWIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    from viz._samples import write_all

    out = tmp_path_factory.mktemp("viz-samples")
    return write_all(out, trace_rows=3600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DashServer:
    """A Dash app served by Werkzeug in a thread on 127.0.0.1:<free port>; always shut down."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", self.port, app.server, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def dash_server():
    servers = []

    def start(app):
        srv = DashServer(app).__enter__()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.__exit__(None, None, None)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield ctx
        ctx.close()


@pytest.fixture
def artefacts(request) -> Path:
    """Where screenshots go: test-artifacts/viz (git-ignored), or $TWIN_DOCS_SCREENSHOTS to refresh docs/img."""
    root = Path(os.environ.get("TWIN_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "viz"
    root.mkdir(parents=True, exist_ok=True)
    return root


def save_screenshot(page, name: str, artefacts: Path) -> Path:
    """Screenshot into the artefact dir, and into $TWIN_DOCS_SCREENSHOTS when set (docs refresh)."""
    path = artefacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    docs = os.environ.get("TWIN_DOCS_SCREENSHOTS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / f"{name}.png")
    return path


def publish(path: Path, artefacts: Path) -> Path:
    """Copy a rendered file into the artefact dir (and $TWIN_DOCS_SCREENSHOTS when set)."""
    out = artefacts / path.name
    if out != path:
        shutil.copy(path, out)
    docs = os.environ.get("TWIN_DOCS_SCREENSHOTS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / path.name)
    return out


@pytest.fixture(scope="session")
def line_tour(tmp_path_factory):
    """A real line-twin trace: :func:`twin_app.tours.line_twin.demo_tour` (emulated line, press slows at 3 h, drift alarm)."""
    from twin_app.tours.line_twin import demo_tour

    out = tmp_path_factory.mktemp("line-tour")
    paths = demo_tour(out, hours=4.5, replications=9)
    return {"trace": paths[0], "summary": paths[-1]}


@pytest.fixture(scope="session")
def real_outputs(tmp_path_factory):
    """Outputs of the real producers (twin, golden_batch, simulation, optimization); see ``_real.py``."""
    from tests.viz._real import write_all

    return write_all(tmp_path_factory.mktemp("viz-real"))
