"""Security of the emulated plant's OPC UA server: policies, certificate, users.

``twin plant serve --security-policy Basic256Sha256_SignAndEncrypt --certificate
server.der --private-key server-key.pem --user operator --password-env PW`` serves
only the given policies (asyncua ``Server.set_security_policy``), presents the
given certificate, and accepts only that user name and password (a user manager;
anonymous sessions are then refused). Like a test server, the emulator accepts
any client certificate: a plant's server keeps a trust list.
:func:`write_self_signed_certificate` makes a certificate pair for tests and demos
(``twin plant certificate``).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import ConfigError, did_you_mean

__all__ = ["SECURITY_POLICIES", "ServerSecurity", "write_self_signed_certificate"]

#: Policy names accepted by ``--security-policy`` (asyncua ``ua.SecurityPolicyType`` names).
SECURITY_POLICIES = (
    "None",
    "Basic256Sha256_Sign",
    "Basic256Sha256_SignAndEncrypt",
    "Aes128Sha256RsaOaep_Sign",
    "Aes128Sha256RsaOaep_SignAndEncrypt",
)


@dataclass(frozen=True)
class ServerSecurity:
    """Security settings of a :class:`~twin.emulator.PlantServer` (the password never shows in ``repr``)."""

    policies: tuple[str, ...] = ("None",)
    certificate: Path | None = None
    private_key: Path | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_options(
        cls,
        policies: Sequence[str] | None = None,
        *,
        certificate: str | Path | None = None,
        private_key: str | Path | None = None,
        user: str | None = None,
        password_env: str | None = None,
        password_file: str | Path | None = None,
    ) -> ServerSecurity:
        """Validate command-line style options (the password from an environment variable or a file).

        Raises
        ------
        ConfigError
            Unknown policy, missing certificate/key for a secure policy, missing files,
            an unset password variable, or a user without password (and vice versa).
        """
        pols = tuple(policies or ("None",))
        for p in pols:
            if p not in SECURITY_POLICIES:
                raise ConfigError(
                    f"unknown security policy '{p}'{did_you_mean(p, SECURITY_POLICIES)}; choose from "
                    f"{', '.join(SECURITY_POLICIES)}",
                    path="--security-policy",
                )
        if any(p != "None" for p in pols) and (certificate is None or private_key is None):
            raise ConfigError(
                f"security policies {', '.join(p for p in pols if p != 'None')} need the server's "
                "--certificate and --private-key (make a pair with 'twin plant certificate')",
                path="--certificate",
            )
        for opt, p in (("--certificate", certificate), ("--private-key", private_key)):
            if p is not None and not Path(p).is_file():
                raise ConfigError(f"file '{p}' does not exist", path=opt)
        if password_env is not None and password_file is not None:
            raise ConfigError(
                "give either --password-env or --password-file, not both", path="--password-env"
            )
        password = None
        if password_env is not None:
            password = os.environ.get(password_env)
            if password is None:
                raise ConfigError(
                    f"environment variable {password_env} is not set; export it with the password "
                    f"of user '{user}'",
                    path="--password-env",
                )
        elif password_file is not None:
            if not Path(password_file).is_file():
                raise ConfigError(f"file '{password_file}' does not exist", path="--password-file")
            lines = Path(password_file).read_text().splitlines()
            password = lines[0] if lines else ""
        if (user is None) != (password is None):
            raise ConfigError(
                "--user needs --password-env or --password-file, and they need --user",
                path="--user",
            )
        return cls(
            pols,
            Path(certificate) if certificate else None,
            Path(private_key) if private_key else None,
            user,
            password,
        )

    async def apply(self, server) -> None:
        """Configure an asyncua ``Server`` (after ``init()``, before ``start()``)."""
        from asyncua import ua
        from cryptography import x509

        server.set_security_policy(
            [
                getattr(ua.SecurityPolicyType, "NoSecurity" if p == "None" else p)
                for p in self.policies
            ]
        )
        if self.certificate is not None:
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
            cert = server.iserver.certificate
            try:  # the server's application URI must match its certificate (OPC 10000-4 §6.1.3)
                uris = cert.extensions.get_extension_for_class(
                    x509.SubjectAlternativeName
                ).value.get_values_for_type(x509.UniformResourceIdentifier)
                if uris:
                    await server.set_application_uri(uris[0])
            except x509.ExtensionNotFound:
                pass
        if self.user is not None:
            server.iserver.set_user_manager(_PasswordUser(self.user, self.password or ""))
            server.set_identity_tokens([ua.UserNameIdentityToken])


class _PasswordUser:
    """asyncua user manager accepting one user name and password (constant-time comparison)."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def get_user(self, iserver, username=None, password=None, certificate=None):
        from asyncua.crypto.permission_rules import User, UserRole

        ok_user = hmac.compare_digest((username or "").encode(), self._user)
        pw = password.encode() if isinstance(password, str) else (password or b"")
        ok_password = hmac.compare_digest(pw, self._password)
        return User(role=UserRole.User, name=username) if ok_user and ok_password else None


def write_self_signed_certificate(
    certificate: str | Path,
    private_key: str | Path,
    *,
    application_uri: str,
    hostname: str = "localhost",
    days: int = 365,
    server: bool = False,
) -> None:
    """Write a self-signed OPC UA application certificate (DER) and its key (PEM, unencrypted, mode 600).

    The certificate follows OPC 10000-6 §6.2.2 via ``asyncua.crypto.cert_gen``: the
    application URI and host name (and 127.0.0.1) as subject alternative names,
    client (or server) authentication as extended key usage.
    """
    from asyncua.crypto import cert_gen
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = cert_gen.generate_private_key()
    names = [
        x509.UniformResourceIdentifier(application_uri),
        x509.DNSName(hostname),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    usage = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = cert_gen.generate_self_signed_app_certificate(
        key, application_uri, {}, names, usage, days=days
    )
    Path(certificate).parent.mkdir(parents=True, exist_ok=True)
    Path(private_key).parent.mkdir(parents=True, exist_ok=True)
    Path(certificate).write_bytes(cert.public_bytes(Encoding.DER))
    fd = os.open(private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_gen.dump_private_key_as_pem(key))
    os.chmod(private_key, 0o600)
