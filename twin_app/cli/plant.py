"""``twin plant serve SCENARIO``: an emulated plant on a real OPC UA server (``advise``/``confirm``: set-point advice)."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import console, print_table

app = typer.Typer(help="Plant emulator: an FMU with hidden parameters, noise, drift and faults over OPC UA.",
                  no_args_is_help=True)


@app.command("serve")
def serve(
    scenario: Path = typer.Argument(..., help="Plant YAML (kind: plant-emulator or line-plant)."),
    endpoint: str = typer.Option(None, "--endpoint", help="opc.tcp://127.0.0.1:PORT/path (default: the scenario's)."),
    speed: float = typer.Option(None, "--speed", help="Plant seconds per wall second (default: the scenario's)."),
    anchor: float = typer.Option(None, "--anchor", help="Epoch seconds of plant time 0 (resume a plant after a restart)."),
    seed: int = typer.Option(None, "--seed", help="Noise seed (default: the scenario's)."),
    until: str = typer.Option(None, "--until", help="Stop at this plant time, e.g. '2 h' (default: scenario duration)."),
    security_policy: list[str] = typer.Option(
        None, "--security-policy", help="Offered policy (repeatable): None, Basic256Sha256_Sign, "
        "Basic256Sha256_SignAndEncrypt, Aes128Sha256RsaOaep_Sign, Aes128Sha256RsaOaep_SignAndEncrypt (default None)."),
    certificate: Path = typer.Option(None, "--certificate", help="Server certificate (.der/.pem) for secure policies."),
    private_key: Path = typer.Option(None, "--private-key", help="Private key of --certificate."),
    user: str = typer.Option(None, "--user", help="Accept only this user name (anonymous access is then refused)."),
    password_env: str = typer.Option(None, "--password-env", help="Environment variable holding --user's password."),
    password_file: Path = typer.Option(None, "--password-file", help="File holding --user's password (first line)."),
) -> None:
    """Serve the plant until its scenario ends (Ctrl-C stops).

    A ``kind: plant-emulator`` scenario runs an FMU; a ``kind: line-plant`` scenario runs a
    SimPy line and publishes station states, counters and buffer levels. The security
    options restrict the server to the given policies and user (see docs/twin-monitoring.md).
    """
    from twin.emulator import PlantServer, ServerSecurity, load_plant_scenario
    from workbench.config import resolve_config
    from workbench.units import convert

    security = ServerSecurity.from_options(security_policy, certificate=certificate, private_key=private_key,
                                           user=user, password_env=password_env, password_file=password_file)
    if resolve_config(scenario).data.get("kind") == "line-plant":
        from twin_app.cli.line_twin import serve_line_plant_command

        serve_line_plant_command(scenario, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed,
                                 until=until, security=security)
        return
    sc = load_plant_scenario(scenario)
    server = PlantServer(sc, endpoint=endpoint, speed=speed, anchor=anchor, seed=seed, security=security)
    print_table([{"tag": t.tag, "variable": t.variable, "unit": t.unit, "noise": f"{t.noise:g} {t.unit}"}
                 for t in sc.tags], title=f"{sc.name}: tags")
    if sc.setpoints:
        print_table([{"set-point": s.node, "input": s.input, "EURange": f"[{s.low:g}, {s.high:g}] {s.unit}"}
                     for s in sc.setpoints], title="writable set-points")
    if sc.faults:
        print_table([{"fault": f.kind, "tag/input": f.tag or f.parameter or f.input, "at [s]": f.at,
                      "until [s]": f.until, "value": f.value} for f in sc.faults], title="scripted faults")
    console.print(f"serving {sc.name} at {server.endpoint}, {server.speed:g}× real time, "
                  f"sample period {sc.sample_period:g} s (Ctrl-C stops)")
    print_security(security)
    try:
        server.run(until=convert(until, "s") if until else None, on_ready=print_anchor)
    except KeyboardInterrupt:
        pass
    console.print(f"published {server.samples_published} samples; plant time {server.plant.time:g} s")


def print_anchor(server) -> None:
    """Print the anchor a server uses (plant time 0 as epoch seconds), so a restart can resume its run."""
    console.print(f"anchor {server.anchor!r}: plant time 0 as epoch seconds; restart with --anchor {server.anchor!r} "
                  "to resume this plant run (without it a restart starts a new timeline)", soft_wrap=True)


def print_security(security) -> None:
    """One line on what the server offers (never the password)."""
    who = f"user '{security.user}' only" if security.user else "anonymous access"
    console.print(f"security: {', '.join(security.policies)}; {who}", highlight=False)


@app.command("certificate")
def certificate(
    cert: Path = typer.Argument(..., help="Certificate file to write (DER, e.g. pki/client.der)."),
    key: Path = typer.Argument(..., help="Private key file to write (PEM, unencrypted, mode 600)."),
    application_uri: str = typer.Option(
        "urn:twin-workbench:client", "--application-uri", help="Application URI (the subject alternative name)."),
    hostname: str = typer.Option("localhost", "--hostname", help="Host name in the certificate."),
    days: int = typer.Option(365, "--days", min=1, help="Validity in days."),
    server: bool = typer.Option(False, "--server", help="A server certificate (server authentication usage)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing files."),
) -> None:
    """Write a self-signed OPC UA application certificate and key (for tests and the emulator).

    A plant's OPC UA server must trust the client certificate (copy it to the server's
    trust list); for production use certificates from your plant's PKI.
    """
    from twin.emulator import write_self_signed_certificate
    from workbench.errors import ConfigError

    for p in (cert, key):
        if p.exists() and not overwrite:
            raise ConfigError(f"'{p}' exists; pass --overwrite to replace it", path="certificate")
    write_self_signed_certificate(cert, key, application_uri=application_uri, hostname=hostname, days=days,
                                  server=server)
    console.print(f"wrote certificate {cert} and private key {key} ({application_uri}, {days} days)",
                  highlight=False)


from twin_app.cli.advice import advise, confirm  # noqa: E402 - the advice commands join `twin plant`

app.command("advise")(advise)
app.command("confirm")(confirm)
