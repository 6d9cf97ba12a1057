"""`twin plant serve` prints its anchor (so a restart can resume the run) and what it published."""

from __future__ import annotations

import re

import pytest
from _reactor import need_fmu
from _synthetic import free_port

from twin_app.cli.main import main

pytestmark = pytest.mark.opcua

PLANT = "scenarios/reactor_plant.yaml"


def test_plant_serve_prints_anchor_and_count_and_resumes_with_it(capsys, monkeypatch):
    need_fmu()
    from _reactor import ROOT

    monkeypatch.chdir(ROOT)
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    assert main(["plant", "serve", PLANT, "--endpoint", url, "--speed", "1000", "--until", "2 min"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    m = re.search(r"anchor (\d+\.\d+): plant time 0 as epoch seconds; restart with --anchor (\d+\.\d+)", out)
    assert m and m.group(1) == m.group(2), out
    assert "published 13 samples; plant time 120 s" in out  # 0 .. 2 min every 10 s
    # a restart given that anchor resumes the same run: the plant is caught up, not back at 0
    anchor = m.group(1)
    assert main(["plant", "serve", PLANT, "--endpoint", url, "--speed", "1000", "--anchor", anchor,
                 "--until", "2 min"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"anchor {anchor}:" in out
    published = int(re.search(r"published (\d+) samples", out).group(1))
    assert published == 1  # caught up past 2 min: only the current sample
