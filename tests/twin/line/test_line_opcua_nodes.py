"""``twin config validate --connect`` on a line binding, against the served line emulator (issue 22)."""

from __future__ import annotations

import pytest
from _line import BINDING, PLANT, free_port

from twin.line import line_plant_server, load_line_plant
from twin_app.cli.main import main

pytestmark = pytest.mark.opcua


def test_config_validate_connect_checks_a_line_binding(capsys):
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/line"
    sc = load_line_plant(PLANT).model_copy(update={"duration": 3600.0})
    server = line_plant_server(sc, endpoint=url, speed=200)
    server.start_thread()
    try:
        ok = main(
            ["config", "validate", "--connect", str(BINDING), "--set", f"opcua.endpoint={url}"]
        )
        out = " ".join(capsys.readouterr().out.split())
        bad = main(
            [
                "config",
                "validate",
                "--connect",
                str(BINDING),
                "--set",
                f"opcua.endpoint={url}",
                "--set",
                "opcua.namespace=urn:twin-workbench:lien",
            ]
        )
        err = " ".join(capsys.readouterr().err.split())
    finally:
        server.stop_thread()
    assert ok == 0 and f"nodes found on {url}" in out, (out, err)
    assert bad == 2 and "namespace 'urn:twin-workbench:lien', which the server does not have" in err
    assert "did you mean 'urn:twin-workbench:line'" in err and "Traceback" not in err
