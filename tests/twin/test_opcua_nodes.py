"""A bound OPC UA node that does not exist stops the live twin at connect, naming the tag (issue 22)."""

from __future__ import annotations

import os
import sys

import pytest

from twin.emulator import PlantServer
from twin.sources import MissingNodeError, OpcUaSource
from workbench.errors import ConfigError

sys.path.insert(0, os.path.dirname(__file__))
from _synthetic import SinePlant, free_port, sine_scenario  # noqa: E402

pytestmark = pytest.mark.opcua


@pytest.fixture
def sine_server():
    """A real asyncua plant server on 127.0.0.1 serving tags A and B."""
    sc = sine_scenario(free_port(), speed=200)
    server = PlantServer(sc, plant=SinePlant())
    server.start_thread()
    try:
        yield sc.endpoint
    finally:
        server.stop_thread()


def test_a_missing_node_is_refused_at_connect_naming_the_tag(sine_server):
    src = OpcUaSource(
        sine_server,
        ["A", "Bx"],
        period=10.0,
        publishing_interval=0.05,
        time_scale=200,
        connect_timeout=20,
    )
    with pytest.raises(MissingNodeError) as err:
        next(iter(src.frames()))
    exc = err.value
    assert isinstance(exc, ConfigError) and exc.exit_code == 2
    assert [m.tag for m in exc.missing] == ["Bx"]
    msg = str(exc)
    assert "tag 'Bx'" in msg and "BadNodeIdUnknown" in msg and sine_server in msg
    assert exc.missing[0].node_id.startswith("ns=") and exc.missing[0].node_id.endswith(";s=Bx")
    assert "did you mean 'B'" in msg
    assert "'A'" not in msg.split("did you mean")[0]  # the existing tag is not reported


def test_an_unknown_namespace_makes_every_tag_missing(sine_server):
    src = OpcUaSource(
        sine_server,
        ["A", "B"],
        period=10.0,
        namespace="urn:twin-workbench:plnat",
        connect_timeout=20,
    )
    with pytest.raises(
        MissingNodeError, match=r"namespace 'urn:twin-workbench:plnat'.*did you mean"
    ) as err:
        src.connect()
    assert [m.tag for m in err.value.missing] == ["A", "B"]


def test_existing_nodes_pass_and_the_check_can_be_switched_off(sine_server):
    src = OpcUaSource(
        sine_server,
        ["A", "B"],
        period=10.0,
        publishing_interval=0.05,
        time_scale=200,
        connect_timeout=20,
    )
    try:
        frame = next(iter(src.frames()))
    finally:
        src.close()
    assert set(frame.samples) == {"A", "B"}
    lax = OpcUaSource(
        sine_server,
        ["A", "Bx"],
        period=10.0,
        publishing_interval=0.05,
        time_scale=200,
        connect_timeout=20,
        check_nodes=False,
    )
    try:
        frame = next(iter(lax.frames()))
    finally:
        lax.close()
    assert set(frame.samples) == {"A"}  # the old behaviour: the tag is silently absent


@pytest.fixture
def reactor_server():
    """The reactor plant emulator on 127.0.0.1 (waits for the first subscription)."""
    from _reactor import need_fmu, plant

    need_fmu()
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    server = PlantServer(plant(duration="40 min"), endpoint=url, speed=200, start_on_subscribe=True)
    server.start_thread()
    try:
        yield url
    finally:
        server.stop_thread()


def _binding(tmp_path, url, *renames):
    """The shipped reactor binding, pointed at ``url``, with tags renamed ``(old, new)``."""
    from _reactor import TWIN_YAML, need_fmu

    text = TWIN_YAML.read_text().replace("fmu_models/build/reactor.fmu", str(need_fmu()))
    text = text.replace("opc.tcp://127.0.0.1:4840/twin/plant", url)
    for old, new in renames:
        text = text.replace(f"{{tag: {old},", f"{{tag: {new},")
    path = tmp_path / "binding.yaml"
    path.write_text(text)
    return path


def test_live_twin_refuses_to_start_on_a_missing_node(tmp_path, reactor_server, capsys):
    from twin_app.cli.main import main

    path = _binding(tmp_path, reactor_server, ("TI_jacket", "TI_jaket"))
    code = main(
        [
            "monitor",
            str(path),
            "--trace",
            str(tmp_path / "m.zarr"),
            "--duration",
            "5 min",
            "--set",
            "opcua.plant_time_scale=200",
            "--set",
            "opcua.publishing_interval=0.05 s",
            "--json",
        ]
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert "tag 'TI_jaket'" in err and ";s=TI_jaket does not exist (BadNodeIdUnknown)" in err
    assert "did you mean 'TI_jacket'" in err and "Traceback" not in err
    assert not (tmp_path / "m.zarr").exists()  # refused before a trace store was created


def test_config_validate_connect_names_every_missing_node(tmp_path, reactor_server, capsys):
    from twin_app.cli.main import main

    good = _binding(tmp_path, reactor_server)
    assert main(["config", "validate", "--connect", str(good)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ok" in out and f"nodes found on {reactor_server}" in out
    bad = _binding(tmp_path, reactor_server, ("TI_jacket", "TI_jaket"), ("FI_cool", "FI_col"))
    assert main(["config", "validate", "--connect", str(bad)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "2 bound OPC UA node(s) do not exist" in err
    assert "tag 'TI_jaket'" in err and "tag 'FI_col'" in err and "Traceback" not in err
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "FI_col" in text)
    assert (
        f"binding.yaml:{line}:" in err
    )  # the file:line of the first missing tag (inputs come first)
    # without --connect the binding is only checked offline, as before
    assert main(["config", "validate", str(bad)]) == 0
