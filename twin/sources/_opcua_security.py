"""OPC UA connection security: policy, certificates, user identity, masked URLs.

The binding's ``opcua.security`` block (:class:`OpcUaSecurity`) chooses a
security policy and message mode (OPC 10000-7 security policies; OPC 10000-4
§7.20 ``MessageSecurityMode``), the client application certificate and key,
an optional pinned server certificate, and a user name whose password comes
from an environment variable (``password_env``) or a file (``password_file``).
A password written inline in YAML (``password:``) is refused; a password in
the endpoint URL (``opc.tcp://user:pw@host``) is taken out of the URL before
connecting, with a warning to use ``password_env``. Every URL shown to a user
goes through :func:`mask_url` (``opc.tcp://user:***@host:4840/path``).

:func:`connect_client` asks the server for its endpoints first (GetEndpoints
runs on an unsecured channel, OPC 10000-4 §5.4.4), so a policy, mode or user
token the server does not offer gives an :class:`OpcUaSecurityError` that
lists what it does offer, instead of a protocol failure.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, model_validator

from workbench.config import WorkbenchModel
from workbench.errors import ConfigError

__all__ = [
    "OpcUaSecurity",
    "OpcUaSecurityError",
    "ClientCredentials",
    "mask_url",
    "split_url_credentials",
    "client_credentials",
    "connect_client",
]

log = logging.getLogger(__name__)

PolicyName = Literal["None", "Basic256Sha256", "Aes128Sha256RsaOaep"]
ModeName = Literal["Sign", "SignAndEncrypt"]
_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


class OpcUaSecurityError(ConfigError):
    """The server refused this client's security settings or identity (exit code 2).

    Not transient: the source stops instead of reconnecting, since only a change
    of the binding (or of the server) can fix it.
    """


class OpcUaSecurity(WorkbenchModel):
    """Security of the OPC UA connection (``opcua.security`` in a binding).

    Relative paths are relative to the binding file's folder.
    """

    policy: PolicyName = Field(
        "None", description="Security policy: None, Basic256Sha256 or Aes128Sha256RsaOaep"
    )
    mode: ModeName | None = Field(
        None,
        description="Message security mode: Sign or SignAndEncrypt (default SignAndEncrypt; "
        "must be empty with policy None)",
    )
    certificate: str | None = Field(
        None, description="Client application certificate (.der or .pem)"
    )
    private_key: str | None = Field(
        None, description="Private key of the client certificate (.pem or .der)"
    )
    server_certificate: str | None = Field(
        None,
        description="Trusted server certificate: connect only to a server presenting exactly this one",
    )
    user: str | None = Field(
        None, description="User name (the password comes from password_env or password_file)"
    )
    password_env: str | None = Field(
        None, description="Environment variable holding the user's password"
    )
    password_file: str | None = Field(
        None, description="File holding the user's password (first line)"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data):
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "an inline password is refused (it would sit in plain text in the YAML); "
                "put it in an environment variable and write 'password_env: NAME', "
                "or in a file readable only by you and write 'password_file: PATH'"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self):
        if self.policy == "None":
            if self.mode is not None:
                raise ValueError(
                    f"mode '{self.mode}' needs a security policy; set policy to Basic256Sha256 or "
                    "Aes128Sha256RsaOaep, or remove mode"
                )
        else:
            missing = [k for k in ("certificate", "private_key") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"policy {self.policy} needs a client certificate and private key; "
                    f"missing: {', '.join(missing)}"
                )
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("give either password_env or password_file, not both")
        if (self.password_env is not None or self.password_file is not None) and not self.user:
            raise ValueError("password_env/password_file need a user name: add 'user: NAME'")
        if self.user and self.password_env is None and self.password_file is None:
            raise ValueError(
                f"user '{self.user}' needs a password: add 'password_env: NAME' (an environment "
                "variable) or 'password_file: PATH'"
            )
        return self

    @property
    def message_mode(self) -> str:
        """``None``, ``Sign`` or ``SignAndEncrypt`` (the default mode of a policy)."""
        return "None" if self.policy == "None" else (self.mode or "SignAndEncrypt")

    def relative_to(self, folder: str | Path) -> OpcUaSecurity:
        """A copy with relative file paths resolved against ``folder``."""
        updates = {}
        for key in ("certificate", "private_key", "server_certificate", "password_file"):
            value = getattr(self, key)
            if value is not None and not Path(value).expanduser().is_absolute():
                updates[key] = str(Path(folder) / value)
        return self.model_copy(update=updates)


# -- URLs ------------------------------------------------------------------------------------------
def _userinfo(url: str, *, conservative: bool) -> tuple[str, str, str] | None:
    """``(scheme://, userinfo, host and the rest)`` of a URL with a user part, else None.

    Strict (RFC 3986 §3.2): the authority ends at the first ``/``, ``?`` or ``#``
    and the user part at its last ``@`` — what a client connects to. Conservative:
    the user part ends at the last ``@`` anywhere, so an unencoded ``/``, ``?``,
    ``#`` or ``@`` in a password is still hidden (a path with ``@`` is masked too):
    what is shown to people.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    if conservative:
        userinfo, _, tail = rest.rpartition("@")
        return scheme + sep, userinfo, tail
    netloc = rest
    for stop in "/?#":
        netloc = netloc.partition(stop)[0]
    if "@" not in netloc:
        return None
    userinfo = netloc.rpartition("@")[0]
    return scheme + sep, userinfo, rest[len(userinfo) + 1 :]


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (``opc.tcp://user:***@host:4840/p``).

    Errs on the side of hiding: everything up to the last ``@`` after the user
    name is masked, whether or not the password was percent-encoded.
    """
    found = _userinfo(url, conservative=True)
    if found is None:
        return url
    head, userinfo, tail = found
    user, colon, _ = userinfo.partition(":")
    return f"{head}{user}:***@{tail}" if colon else url


def split_url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user part, user, password)`` per RFC 3986; user and password percent-decoded."""
    found = _userinfo(url, conservative=False)
    if found is None:
        return url, None, None
    head, userinfo, tail = found
    user, colon, password = userinfo.partition(":")
    return head + tail, unquote(user) or None, unquote(password) if colon else None


def _is_loopback(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # e.g. an unbalanced '[': not a loopback address either
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- credentials -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientCredentials:
    """Everything needed to open a (secured) session; the password never shows in ``repr``."""

    url: str  # without user part: what the client connects to
    shown: str  # masked: what messages show
    policy: str = "None"
    mode: str = "None"
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def _existing(path: str | None, key: str) -> Path | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(
            f"file '{p}' does not exist; give the path of the {key.replace('_', ' ')} "
            "(relative paths are relative to the binding file)",
            path=f"opcua.security.{key}",
        )
    return p


def _password(sec: OpcUaSecurity) -> str | None:
    if sec.password_env is not None:
        value = os.environ.get(sec.password_env)
        if value is None:
            raise ConfigError(
                f"environment variable {sec.password_env} is not set; export it with the password "
                f"of OPC UA user '{sec.user}'",
                path="opcua.security.password_env",
            )
        return value
    if sec.password_file is not None:
        p = _existing(sec.password_file, "password_file")
        if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "password file %s is readable by other users; restrict it with 'chmod 600 %s'", p, p
            )
        lines = p.read_text().splitlines()
        return lines[0] if lines else ""
    return None


def client_credentials(url: str, security: OpcUaSecurity | None = None) -> ClientCredentials:
    """Resolve a URL and its security block into :class:`ClientCredentials`.

    Warns when the URL carries a password (it is moved out of the URL; the
    security block's password wins) and when a non-loopback host is reached
    without security.

    Raises
    ------
    ConfigError
        A certificate/key/password file is missing or the password variable is unset.
    """
    sec = security or OpcUaSecurity()
    clean, url_user, url_password = split_url_credentials(url)
    shown = mask_url(url)
    if url_password is not None:
        log.warning(
            "the OPC UA URL %s carries a password; it is taken out of the URL, but it stays in shell "
            "history and process lists: use opcua.security.user with password_env: NAME instead",
            shown,
        )
    password = _password(sec)
    user = sec.user or url_user
    if sec.user is None:
        password = url_password
    if sec.policy == "None" and not _is_loopback(clean):
        log.warning(
            "connecting to %s without security: data%s travel unsigned and unencrypted; set "
            "opcua.security.policy (Basic256Sha256 or Aes128Sha256RsaOaep) with a certificate",
            shown,
            " and the password" if password else "",
        )
    return ClientCredentials(
        url=clean,
        shown=shown,
        policy=sec.policy,
        mode=sec.message_mode,
        certificate=_existing(sec.certificate, "certificate"),
        private_key=_existing(sec.private_key, "private_key"),
        server_certificate=_existing(sec.server_certificate, "server_certificate"),
        user=user,
        password=password,
    )


# -- connecting ------------------------------------------------------------------------------------
def _offer(ep) -> str:
    """``Basic256Sha256 SignAndEncrypt`` or ``None`` for an endpoint description."""
    from asyncua.crypto import security_policies

    names = {
        getattr(security_policies, f"SecurityPolicy{n}").URI: n
        for n in (
            "None",
            "Basic256Sha256",
            "Aes128Sha256RsaOaep",
            "Aes256Sha256RsaPss",
            "Basic256",
            "Basic128Rsa15",
        )
    }
    policy = names.get(ep.SecurityPolicyUri, ep.SecurityPolicyUri.rpartition("#")[2])
    return policy if policy == "None" else f"{policy} {ep.SecurityMode.name}"


def _wanted(creds: ClientCredentials) -> str:
    return "None" if creds.policy == "None" else f"{creds.policy} {creds.mode}"


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()[:16]


def new_client(creds: ClientCredentials, *, timeout: float):
    """An asyncua ``Client`` for ``creds`` (not connected)."""
    from asyncua import Client

    client = Client(creds.url, timeout=timeout)
    if creds.user is not None:
        client.set_user(creds.user)
        client.set_password(creds.password or "")
    return client


async def connect_client(client, creds: ClientCredentials) -> None:
    """Check the server's offer, set up security and connect ``client``.

    Raises
    ------
    OpcUaSecurityError
        The server does not offer the policy/mode or user token, presents another
        certificate than the trusted one, or refuses the identity (e.g. BadUserAccessDenied).
    """
    from asyncua import ua
    from asyncua.crypto import security_policies, uacrypto
    from cryptography import x509

    endpoints = await client.connect_and_get_server_endpoints()
    wanted = [
        ep
        for ep in endpoints
        if ep.EndpointUrl.startswith("opc.tcp") and _offer(ep) == _wanted(creds)
    ]
    offered = sorted({_offer(ep) for ep in endpoints})
    if not wanted:
        asked = (
            "no security (policy None)" if creds.policy == "None" else f"policy {_wanted(creds)}"
        )
        raise OpcUaSecurityError(
            f"OPC UA server {creds.shown} does not offer {asked}; it offers: {', '.join(offered) or 'nothing'}; "
            "set opcua.security.policy and mode to one of them",
            path="opcua.security.policy",
        )
    ep = wanted[0]
    if creds.policy != "None":  # trust the server before telling it who we are
        server_der = bytes(ep.ServerCertificate)
        if creds.server_certificate is not None:
            trusted = uacrypto.der_from_x509(
                await uacrypto.load_certificate(creds.server_certificate)
            )
            first = uacrypto.der_from_x509(uacrypto.x509_from_der(server_der))
            if first != trusted:
                raise OpcUaSecurityError(
                    f"OPC UA server {creds.shown} presents certificate {_fingerprint(first)} (SHA-256), not the "
                    f"trusted {_fingerprint(trusted)} from {creds.server_certificate}; check the server or "
                    "update opcua.security.server_certificate",
                    path="opcua.security.server_certificate",
                )
    tokens = {t.TokenType for t in ep.UserIdentityTokens}
    need = ua.UserTokenType.UserName if creds.user is not None else ua.UserTokenType.Anonymous
    if need not in tokens:
        names = ", ".join(sorted(t.name for t in tokens)) or "none"
        hint = (
            "set opcua.security.user with password_env"
            if need == ua.UserTokenType.Anonymous
            else "remove opcua.security.user"
        )
        raise OpcUaSecurityError(
            f"OPC UA server {creds.shown} does not accept {need.name} identities on "
            f"{_offer(ep)}; it accepts: {names}; {hint}",
            path="opcua.security.user",
        )
    if creds.policy != "None":
        cert = await uacrypto.load_certificate(creds.certificate)
        try:  # the client's application URI must match its certificate (OPC 10000-4 §6.1.3)
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
            if uris:
                client.application_uri = uris[0]
        except x509.ExtensionNotFound:
            pass
        await client.set_security(
            getattr(security_policies, f"SecurityPolicy{creds.policy}"),
            str(creds.certificate),
            str(creds.private_key),
            server_certificate=uacrypto.CertProperties(server_der, extension="der"),
            mode=getattr(ua.MessageSecurityMode, creds.mode),
        )
    try:
        await client.connect()
    except (
        ua.uaerrors.BadUserAccessDenied,
        ua.uaerrors.BadIdentityTokenRejected,
        ua.uaerrors.BadIdentityTokenInvalid,
    ) as exc:
        who = f"user '{creds.user}'" if creds.user is not None else "an anonymous client"
        raise OpcUaSecurityError(
            f"OPC UA server {creds.shown} refused {who}: {type(exc).__name__} (wrong user name or password?); "
            "check opcua.security.user and the password in password_env/password_file",
            path="opcua.security.user",
        ) from None
    except (
        ua.uaerrors.BadSecurityChecksFailed,
        ua.uaerrors.BadCertificateInvalid,
        ua.uaerrors.BadCertificateUntrusted,
        ua.uaerrors.BadSecurityPolicyRejected,
    ) as exc:
        raise OpcUaSecurityError(
            f"OPC UA server {creds.shown} rejected the secure channel ({creds.policy} {creds.mode}, certificate "
            f"{creds.certificate}): {type(exc).__name__}; the server may not trust this client certificate",
            path="opcua.security.certificate",
        ) from None
