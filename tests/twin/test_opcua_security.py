"""OPC UA security against the real emulator on 127.0.0.1: policies, certificates, users, masked URLs.

Certificates are made here with ``cryptography`` (self-signed, as OPC 10000-6 §6.2.2
describes an application instance certificate), independently of the code under test.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from _synthetic import SinePlant, free_port, sine_scenario
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import assume, given
from hypothesis import strategies as st

from twin import load_binding
from twin.emulator import PlantServer, ServerSecurity
from twin.sources import OpcUaSecurity, OpcUaSecurityError, OpcUaSource, mask_url
from twin.sources._opcua_security import client_credentials, split_url_credentials
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Tr0ub4dor&3-horse"  # distinctive: must never show in any output


def _certificate(folder: Path, name: str, uri: str, usage) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.UniformResourceIdentifier(uri),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    server = _certificate(d, "server", "urn:test:plant-server", ExtendedKeyUsageOID.SERVER_AUTH)
    client = _certificate(d, "client", "urn:test:twin-client", ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"server": server, "client": client}


def _start(server: PlantServer):
    """Serve in a thread; wait generously (asyncua's server init is slow on a loaded machine)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=server.run, kwargs={"stop": stop}, daemon=True, name="secured-plant"
    )
    thread.start()
    assert server.ready.wait(180), "the emulator did not start"
    return stop, thread


@pytest.fixture(scope="module")
def secured(pki):
    """One emulator offering only Basic256Sha256 SignAndEncrypt and Aes128Sha256RsaOaep Sign, user 'operator'."""
    os.environ["SRV_PW"] = PASSWORD
    try:
        sec = ServerSecurity.from_options(
            ["Basic256Sha256_SignAndEncrypt", "Aes128Sha256RsaOaep_Sign"],
            certificate=pki["server"][0],
            private_key=pki["server"][1],
            user="operator",
            password_env="SRV_PW",
        )
    finally:
        del os.environ["SRV_PW"]
    server = PlantServer(sine_scenario(free_port(), speed=200), plant=SinePlant(), security=sec)
    stop, thread = _start(server)
    yield server
    stop.set()
    thread.join(30)


def _frames(src: OpcUaSource, n: int):
    frames = []
    try:
        for f in src.frames():
            frames.append(f)
            if len(frames) >= n:
                break
    finally:
        src.close()
    return frames


def _source(url: str, security: OpcUaSecurity | None = None) -> OpcUaSource:
    return OpcUaSource(
        url,
        ["A", "B"],
        period=10.0,
        publishing_interval=0.05,
        time_scale=200,
        connect_timeout=60,
        security=security,
    )


# -- against the emulator --------------------------------------------------------------------------
@pytest.mark.opcua
@pytest.mark.parametrize(
    ("policy", "mode"), [("Basic256Sha256", "SignAndEncrypt"), ("Aes128Sha256RsaOaep", "Sign")]
)
def test_secure_policy_with_certificates_and_user_gets_exact_data(
    secured, pki, monkeypatch, policy, mode
):
    """The server offers no unsecured endpoint, so data arriving proves the secured channel works."""
    import math

    server = secured
    monkeypatch.setenv("TWIN_PW", PASSWORD)
    sec = OpcUaSecurity(
        policy=policy,
        mode=mode,
        certificate=str(pki["client"][0]),
        private_key=str(pki["client"][1]),
        server_certificate=str(pki["server"][0]),
        user="operator",
        password_env="TWIN_PW",
    )
    frames = _frames(_source(server.endpoint, sec), 8)
    assert len(frames) == 8
    for f in frames:
        t = f.time - server.anchor
        assert f.samples["A"].value == pytest.approx(math.sin(t / 100.0), abs=1e-6)
        assert f.samples["B"].value == pytest.approx(2.0 + math.cos(t / 100.0), abs=1e-6)


@pytest.mark.opcua
def test_wrong_password_is_refused_naming_the_masked_endpoint(secured, pki, monkeypatch, caplog):
    server = secured
    monkeypatch.setenv("TWIN_PW", "not-" + PASSWORD)
    sec = OpcUaSecurity(
        policy="Basic256Sha256",
        certificate=str(pki["client"][0]),
        private_key=str(pki["client"][1]),
        user="operator",
        password_env="TWIN_PW",
    )
    with pytest.raises(OpcUaSecurityError) as err:
        _frames(_source(server.endpoint, sec), 1)
    # a password written into the URL: taken out (warning), masked in the error, still refused
    wrong = "url-" + PASSWORD
    url = server.endpoint.replace("opc.tcp://", f"opc.tcp://operator:{quote(wrong, safe='')}@")
    sec_url = OpcUaSecurity(
        policy="Basic256Sha256",
        certificate=str(pki["client"][0]),
        private_key=str(pki["client"][1]),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(OpcUaSecurityError) as err_url:
        _frames(_source(url, sec_url), 1)
    msg = str(err.value)
    assert "BadUserAccessDenied" in msg and server.endpoint in msg and "operator" in msg
    assert err.value.exit_code == 2 and PASSWORD not in msg
    masked = server.endpoint.replace("opc.tcp://", "opc.tcp://operator:***@")
    assert masked in str(err_url.value) and "BadUserAccessDenied" in str(err_url.value)
    assert quote(wrong, safe="") not in str(err_url.value) and wrong not in str(err_url.value)
    assert "use opcua.security.user with password_env" in caplog.text
    assert wrong not in caplog.text and quote(wrong, safe="") not in caplog.text


@pytest.mark.opcua
def test_no_security_to_a_secured_server_lists_what_it_offers(secured):
    server = secured
    with pytest.raises(OpcUaSecurityError) as err:  # not retried until the 60 s connect timeout
        _frames(_source(server.endpoint), 1)
    msg = str(err.value)
    assert "does not offer no security (policy None)" in msg and server.endpoint in msg
    assert "Aes128Sha256RsaOaep Sign" in msg and "Basic256Sha256 SignAndEncrypt" in msg
    assert "None" not in msg.partition("it offers:")[2]


@pytest.mark.opcua
def test_anonymous_client_and_untrusted_server_certificate_are_refused(secured, pki):
    server = secured
    anonymous = OpcUaSecurity(
        policy="Aes128Sha256RsaOaep",
        mode="Sign",
        certificate=str(pki["client"][0]),
        private_key=str(pki["client"][1]),
    )
    pinned_other = anonymous.model_copy(update={"server_certificate": str(pki["client"][0])})
    with pytest.raises(OpcUaSecurityError, match="does not accept Anonymous identities") as anon:
        _frames(_source(server.endpoint, anonymous), 1)
    with pytest.raises(OpcUaSecurityError, match="not the trusted") as pinned:
        _frames(_source(server.endpoint, pinned_other), 1)
    assert (
        "UserName" in str(anon.value) and pinned.value.path == "opcua.security.server_certificate"
    )


# -- the CLI: `twin plant serve` in a subprocess, `twin monitor` in process --------------------------
def _serve(args: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twin_app.cli.main", "plant", "serve", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180  # generous: asyncua's server init is slow on a loaded machine
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(log.read_text())
        time.sleep(0.2)


@pytest.mark.opcua
def test_cli_serve_and_monitor_secured_never_print_the_password(tmp_path, capfd):
    from _reactor import need_fmu

    from twin_app.cli.main import main

    need_fmu()
    pki = tmp_path / "pki"
    for name, extra in (
        ("server", ["--server", "--application-uri", "urn:test:plant"]),
        ("client", []),
    ):
        assert (
            main(
                [
                    "plant",
                    "certificate",
                    str(pki / f"{name}.der"),
                    str(pki / f"{name}-key.pem"),
                    *extra,
                ]
            )
            == 0
        )
    assert (pki / "client-key.pem").stat().st_mode & 0o077 == 0
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twin/plant"
    serve_log = tmp_path / "serve.log"
    proc = _serve(
        [
            "scenarios/reactor_plant.yaml",
            "--endpoint",
            url,
            "--speed",
            "200",
            "--security-policy",
            "Basic256Sha256_SignAndEncrypt",
            "--certificate",
            str(pki / "server.der"),
            "--private-key",
            str(pki / "server-key.pem"),
            "--user",
            "operator",
            "--password-env",
            "PLANT_PW",
        ],
        port,
        {"PLANT_PW": PASSWORD},
        serve_log,
    )
    binding = _binding_yaml(
        tmp_path,
        "    policy: Basic256Sha256\n    mode: SignAndEncrypt\n"
        "    certificate: pki/client.der\n    private_key: pki/client-key.pem\n"
        "    server_certificate: pki/server.der\n"
        "    user: operator\n    password_env: TWIN_PW\n",
    )
    common = [
        "monitor",
        str(binding),
        "--url",
        url,
        "--duration",
        "5 min",
        "--set",
        "opcua.plant_time_scale=200",
        "--set",
        "opcua.publishing_interval=0.05 s",
    ]
    try:
        os.environ["TWIN_PW"] = "wrong-" + PASSWORD
        bad = main([*common, "--trace", str(tmp_path / "bad.zarr")])
        bad_out = capfd.readouterr()
        os.environ["TWIN_PW"] = PASSWORD
        good = main([*common, "--trace", str(tmp_path / "good.zarr")])
        good_out = capfd.readouterr()
    finally:
        os.environ.pop("TWIN_PW", None)
        proc.terminate()
        proc.wait(30)
    assert bad == 2, bad_out.err
    assert (
        "BadUserAccessDenied" in bad_out.err
        and url in bad_out.err
        and "Traceback" not in bad_out.err
    )
    assert good == 0, good_out.err
    from twin import open_trace

    assert (
        open_trace(tmp_path / "good.zarr").sizes["time"] >= 10
    )  # data came through the secured channel
    assert "monitoring reactor-twin at " + url in good_out.out
    served = serve_log.read_text()
    assert "Basic256Sha256_SignAndEncrypt; user 'operator' only" in served
    for text in (bad_out.out, bad_out.err, good_out.out, good_out.err, served):
        assert PASSWORD not in text


@pytest.mark.opcua
def test_cli_serves_a_line_plant_secured(tmp_path, pki):
    """`twin plant serve LINE_PLANT.yaml` passes the security options to the line emulator."""
    port = free_port()
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    proc = _serve(
        [
            "scenarios/assembly_line_twin_plant.yaml",
            "--endpoint",
            f"opc.tcp://127.0.0.1:{port}/twin/line",
            "--security-policy",
            "Aes128Sha256RsaOaep_SignAndEncrypt",
            "--certificate",
            str(pki["server"][0]),
            "--private-key",
            str(pki["server"][1]),
            "--user",
            "line",
            "--password-file",
            str(pw),
        ],
        port,
        {},
        tmp_path / "serve.log",
    )
    os.environ["LINE_PW"] = PASSWORD
    sec = OpcUaSecurity(
        policy="Aes128Sha256RsaOaep",
        certificate=str(pki["client"][0]),
        private_key=str(pki["client"][1]),
        user="line",
        password_env="LINE_PW",
    )
    src = OpcUaSource(
        f"opc.tcp://127.0.0.1:{port}/twin/line",
        ["line.clock"],
        period=5.0,
        namespace="urn:twin-workbench:line",
        publishing_interval=0.1,
        time_scale=60,
        connect_timeout=60,
        security=sec,
    )
    try:
        frames = _frames(src, 3)
        with pytest.raises(OpcUaSecurityError, match="does not offer no security"):
            _frames(
                OpcUaSource(
                    f"opc.tcp://127.0.0.1:{port}/twin/line",
                    ["line.clock"],
                    period=5.0,
                    namespace="urn:twin-workbench:line",
                    connect_timeout=60,
                ),
                1,
            )
    finally:
        del os.environ["LINE_PW"]
        proc.terminate()
        proc.wait(30)
    clocks = [f.samples["line.clock"].value for f in frames]
    assert clocks == sorted(clocks) and len(set(clocks)) == 3
    served = (tmp_path / "serve.log").read_text()
    assert (
        "Aes128Sha256RsaOaep_SignAndEncrypt; user 'line' only" in served and PASSWORD not in served
    )


def test_emulator_module_refuses_bad_security_options(capsys):
    from twin.emulator.__main__ import main as emulator_main

    assert (
        emulator_main(
            ["scenarios/reactor_plant.yaml", "--security-policy", "Basic256Sha256_SignAndEncrypt"]
        )
        == 2
    )
    assert "need the server's --certificate and --private-key" in capsys.readouterr().err


@pytest.mark.opcua
def test_cli_monitor_masks_a_password_given_in_the_url(tmp_path, capfd, caplog):
    """An open server accepts any user: the run works, and no output or log shows the password."""
    from _reactor import TWIN_YAML, need_fmu, plant

    from twin_app.cli.main import main

    need_fmu()
    port = free_port()
    server = PlantServer(
        plant(),
        endpoint=f"opc.tcp://127.0.0.1:{port}/twin/plant",
        speed=200,
        start_on_subscribe=True,
    )
    stop, thread = _start(server)
    url = f"opc.tcp://operator:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/twin/plant"
    try:
        with caplog.at_level(logging.WARNING):
            code = main(
                [
                    "monitor",
                    str(TWIN_YAML),
                    "--url",
                    url,
                    "--trace",
                    str(tmp_path / "t.zarr"),
                    "--duration",
                    "5 min",
                    "--set",
                    "opcua.plant_time_scale=200",
                    "--set",
                    "opcua.publishing_interval=0.05 s",
                ]
            )
    finally:
        stop.set()
        thread.join(30)
    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert (
        f"monitoring reactor-twin at opc.tcp://operator:***@127.0.0.1:{port}/twin/plant"
        in captured.out
    )
    assert "carries a password" in caplog.text
    for text in (captured.out, captured.err, caplog.text):
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text


# -- configuration -----------------------------------------------------------------------------------
def _binding_yaml(tmp_path: Path, security: str) -> Path:
    text = (ROOT / "scenarios" / "reactor_twin.yaml").read_text()
    text = text.replace(
        "fmu: fmu_models/build/reactor.fmu", f"fmu: {ROOT / 'fmu_models/build/reactor.fmu'}"
    )
    path = tmp_path / "b.yaml"
    path.write_text(
        text.replace("  plant_time_scale: 60\n", "  plant_time_scale: 60\n  security:\n" + security)
    )
    return path


def test_inline_password_in_yaml_is_refused_with_its_location(tmp_path):
    path = _binding_yaml(tmp_path, f"    user: operator\n    password: {PASSWORD}\n")
    with pytest.raises(ConfigError) as err:
        load_binding(path)
    msg = str(err.value)
    assert str(path) in msg and "inline password is refused" in msg and "password_env: NAME" in msg
    assert PASSWORD not in msg


def test_relative_paths_resolve_against_the_binding_and_missing_files_are_named(tmp_path):
    path = _binding_yaml(
        tmp_path,
        "    policy: Aes128Sha256RsaOaep\n    certificate: pki/c.der\n    private_key: pki/k.pem\n",
    )
    sec = load_binding(path).opcua.security
    assert (
        Path(sec.certificate) == tmp_path / "pki" / "c.der" and sec.message_mode == "SignAndEncrypt"
    )
    with pytest.raises(
        ConfigError, match=r"opcua.security.certificate: file .*c.der' does not exist"
    ):
        client_credentials("opc.tcp://127.0.0.1:4840/x", sec)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"policy": "Basic256Sha256"}, "missing: certificate, private_key"),
        ({"mode": "Sign"}, "needs a security policy"),
        ({"user": "op"}, "needs a password"),
        ({"password_env": "X"}, "need a user name"),
        ({"user": "op", "password_env": "X", "password_file": "f"}, "not both"),
    ],
)
def test_inconsistent_security_blocks_are_refused(fields, expected):
    with pytest.raises(ValueError, match=expected):
        OpcUaSecurity(**fields)


def test_password_from_env_or_file_and_unset_variable_named(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("NO_SUCH_PW", raising=False)
    with pytest.raises(ConfigError, match="environment variable NO_SUCH_PW is not set"):
        client_credentials(
            "opc.tcp://127.0.0.1:1/x", OpcUaSecurity(user="op", password_env="NO_SUCH_PW")
        )
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        creds = client_credentials(
            "opc.tcp://127.0.0.1:1/x", OpcUaSecurity(user="op", password_file=str(pw))
        )
    assert creds.password == PASSWORD and "chmod 600" in caplog.text
    assert PASSWORD not in repr(creds)


def test_warning_without_security_only_for_a_remote_host(caplog):
    with caplog.at_level(logging.WARNING):
        client_credentials("opc.tcp://127.0.0.1:4840/x")
        client_credentials("opc.tcp://localhost:4840/x")
        client_credentials("opc.tcp://[::1]:4840/x")
    assert "without security" not in caplog.text
    with caplog.at_level(logging.WARNING):
        client_credentials("opc.tcp://plant-gw.example:4840/x")
    assert "connecting to opc.tcp://plant-gw.example:4840/x without security" in caplog.text


def test_server_security_options_are_checked(pki):
    with pytest.raises(ConfigError, match="did you mean 'Basic256Sha256_Sign'"):
        ServerSecurity.from_options(["Basic256Sha256_sign"])
    with pytest.raises(ConfigError, match="need the server's --certificate and --private-key"):
        ServerSecurity.from_options(["Aes128Sha256RsaOaep_Sign"])
    with pytest.raises(ConfigError, match="--user needs --password-env"):
        ServerSecurity.from_options(None, user="op")
    sec = ServerSecurity.from_options(
        ["Basic256Sha256_Sign"], certificate=pki["server"][0], private_key=pki["server"][1]
    )
    assert sec.policies == ("Basic256Sha256_Sign",) and sec.user is None


def test_a_user_part_in_the_emulator_endpoint_is_refused():
    with pytest.raises(ConfigError, match=r"opc.tcp://op:\*\*\*@127.0.0.1") as err:
        PlantServer(
            sine_scenario(4840),
            endpoint=f"opc.tcp://op:{PASSWORD}@127.0.0.1:4840/p",
            plant=SinePlant(),
        )
    assert PASSWORD not in str(err.value)


# -- URL masking (property-based) --------------------------------------------------------------------
_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
_user = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12)


@given(
    user=_user,
    password=_text,
    port=st.integers(1, 65535),
    path=st.sampled_from(["", "/twin/plant", "/a@b"]),
)
def test_a_password_never_survives_masking(user, password, port, path):
    for pw in (
        quote(password, safe=""),
        password,
    ):  # encoded as it should be, and raw as users type it
        url = f"opc.tcp://{user}:{pw}@plant.example:{port}{path}"
        masked = mask_url(url)
        assume(
            pw not in f"opc.tcp://{user}:***@plant.example:{port}{path}"
        )  # distinctive to be looked for
        assert pw not in masked
        assert masked.startswith(f"opc.tcp://{user}:***@")


@given(user=_user, password=_text, port=st.integers(1, 65535))
def test_encoded_credentials_split_off_exactly(user, password, port):
    url = f"opc.tcp://{user}:{quote(password, safe='')}@10.1.2.3:{port}/twin/plant"
    clean, u, p = split_url_credentials(url)
    assert (clean, u, p) == (f"opc.tcp://10.1.2.3:{port}/twin/plant", user, password)
    assert mask_url(url) == f"opc.tcp://{user}:***@10.1.2.3:{port}/twin/plant"


def test_urls_without_a_password_are_unchanged():
    for url in ("opc.tcp://127.0.0.1:4840/twin/plant", "opc.tcp://op@host:4840/p", "plain"):
        assert mask_url(url) == url
