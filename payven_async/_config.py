"""Client settings: hosts per environment, credentials, timeouts, retries, limits.

Arguments win over ``PAYVEN_*`` environment variables; a missing credential is an
error at construction that names both the argument and the variable.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

import attrs

from ._redact import REDACTED, SecretText
from .errors import ConfigurationError

__all__ = ["HOSTS", "ClientConfig", "Environment", "Timeout", "build_config"]

Environment = Literal["sandbox", "production"]

#: identity and vpos base URLs per environment (see ARCHITECTURE.md).
HOSTS: Mapping[str, tuple[str, str]] = {
    "production": ("https://identity.payven.com.tr", "https://vpos.payven.com.tr"),
    "sandbox": ("https://identity-sandbox.payven.com.tr", "https://vpos-sandbox.payven.com.tr"),
}


@attrs.frozen
class Timeout:
    """Time limits for one call, in seconds.

    ``total`` bounds one HTTP attempt from sending to the last byte of the answer;
    ``connect`` bounds getting a connection (including TLS). The defaults leave room
    for a bank's slow authorisation while still catching a stalled server.
    """

    total: float = 30.0
    connect: float = 10.0


@attrs.frozen
class ClientConfig:
    """Everything a client needs to know, resolved and checked once at construction."""

    client_id: str
    # SecretText: its repr is masked wherever it travels (a token request's body).
    client_secret: str = attrs.field(repr=lambda _: REDACTED, converter=SecretText)
    slug: str
    environment: Environment
    identity_url: str
    vpos_url: str
    timeout: Timeout
    max_retries: int
    ssl_context: ssl.SSLContext | None = None
    max_response_bytes: int = 8 * 1024 * 1024


def _pick(argument: str | None, variable: str, environ: Mapping[str, str]) -> str | None:
    if argument is not None:
        return argument
    value = environ.get(variable)
    return value if value else None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(name: str, url: str, problems: list[str]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{name}={url!r} is not an http(s) URL")
    elif parts.scheme == "http" and not _is_loopback(parts.hostname):
        problems.append(
            f"{name}={url!r} uses plain http; only https is allowed, except to loopback hosts"
        )
    return url.rstrip("/")


def build_config(
    *,
    client_id: str | None,
    client_secret: str | None,
    slug: str | None,
    environment: str | None,
    identity_url: str | None,
    vpos_url: str | None,
    timeout: float | Timeout | None,
    max_retries: int | None,
    ssl_context: ssl.SSLContext | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve arguments and ``PAYVEN_*`` variables into a checked :class:`ClientConfig`.

    Every problem is reported at once, in one :class:`ConfigurationError`.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    credentials = {}
    for argument, variable, value in (
        ("client_id", "PAYVEN_CLIENT_ID", client_id),
        ("client_secret", "PAYVEN_CLIENT_SECRET", client_secret),
        ("slug", "PAYVEN_SLUG", slug),
    ):
        resolved = _pick(value, variable, env)
        if not resolved:
            problems.append(f"{argument} is missing: pass {argument}= or set {variable}")
        credentials[argument] = resolved or ""

    chosen = _pick(environment, "PAYVEN_ENVIRONMENT", env) or "sandbox"
    if chosen not in HOSTS:
        problems.append(
            f"environment={chosen!r} is not one of {', '.join(sorted(HOSTS))} "
            "(argument environment= or PAYVEN_ENVIRONMENT)"
        )
        chosen = "sandbox"
    default_identity, default_vpos = HOSTS[chosen]
    identity = _check_url(
        "identity_url",
        _pick(identity_url, "PAYVEN_IDENTITY_URL", env) or default_identity,
        problems,
    )
    vpos = _check_url("vpos_url", _pick(vpos_url, "PAYVEN_VPOS_URL", env) or default_vpos, problems)

    if timeout is None:
        limits = Timeout()
    elif isinstance(timeout, Timeout):
        limits = timeout
    else:
        limits = Timeout(total=float(timeout))
    if not (limits.total > 0 and limits.connect > 0):
        problems.append(f"timeout must be positive, got {limits!r}")
    retries = 2 if max_retries is None else max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        problems.append(f"max_retries must be an int >= 0, got {max_retries!r}")
        retries = 0

    if ssl_context is not None and ca_bundle is not None:
        problems.append("pass ssl_context= or ca_bundle=, not both")
    elif ca_bundle is not None:
        try:
            # Verification stays on: the bundle only changes which CAs are trusted.
            ssl_context = ssl.create_default_context(cafile=os.fspath(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"ca_bundle={os.fspath(ca_bundle)!r} cannot be loaded: {exc}")
    elif ssl_context is not None and (
        ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname
    ):
        problems.append("ssl_context must verify certificates and host names")

    if problems:
        # Not locals for an error tracker: the environment (PAYVEN_CLIENT_SECRET and
        # whatever else it holds) and the credentials.
        del env, credentials, value, resolved
        client_secret = None
        raise ConfigurationError("invalid client configuration:\n  - " + "\n  - ".join(problems))
    return ClientConfig(
        client_id=credentials["client_id"],
        client_secret=credentials["client_secret"],
        slug=credentials["slug"],
        environment=chosen,  # type: ignore[arg-type]
        identity_url=identity,
        vpos_url=vpos,
        timeout=limits,
        max_retries=retries,
        ssl_context=ssl_context,
    )
