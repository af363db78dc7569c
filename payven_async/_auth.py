"""The token manager: one cached access token, renewed ahead of expiry, single flight.

The identity service allows about 10 token calls a minute per IP, so the rules are:

- the token is cached in memory and renewed 60 s before it expires (or halfway through
  its life, for short-lived tokens), through the rotating refresh token when there is
  one, and with client credentials when refresh fails;
- however many calls wait, one renewal is in flight; while a still-valid token is being
  renewed ahead of time, callers keep using it instead of waiting;
- a lifetime that makes no sense (``expires_in`` <= 0 or over a day) never turns into a
  token call per request: the JWT ``exp`` claim is used instead, else a default;
- on a 401 the client drops exactly the token it used (never a newer one).

Secrets and tokens are hidden from every repr.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._config import ClientConfig, Timeout
from ._http import Request
from ._operations import REFRESH, TOKEN, Operation
from ._throttle import Throttle
from .errors import PayvenError
from .models import Token

__all__ = [
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "RENEW_SKEW",
    "Run",
    "TokenManager",
    "token_lifetime",
]

logger = logging.getLogger("payven.auth")

RENEW_SKEW = 60.0
DEFAULT_LIFETIME = 300.0
MAX_LIFETIME = 86_400.0

T = TypeVar("T")


class Run(Protocol):
    """The call pipeline's entry point (``Pipeline.run``), through which tokens are fetched."""

    async def __call__(
        self,
        operation: Operation[T],
        request: Request,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
        started: float | None = None,
    ) -> T: ...


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (Unix seconds) of a JWT, or None when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp)
    return None


def token_lifetime(token: Token, *, now: float) -> float:
    """Seconds the token stays valid, from ``expires_in``, the JWT ``exp``, or a default."""
    if token.expires_in is not None and 0 < token.expires_in <= MAX_LIFETIME:
        return float(token.expires_in)
    expiry = _jwt_expiry(token.access_token)
    if expiry is not None and 0 < expiry - now <= MAX_LIFETIME:
        return expiry - now
    return DEFAULT_LIFETIME


class TokenManager:
    """Keeps one valid access token for a client."""

    def __init__(
        self,
        config: ClientConfig,
        run: Run,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._run = run
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = asyncio.Lock()
        self._token: Token | None = None
        self._bearer: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._refresh_expires_at: float | None = None
        #: The values that must never appear in text leaving the library (kept up to date
        #: by _store(), the only place tokens change; an attribute, read on every call).
        self.secrets: tuple[str, ...] = (config.client_secret,)
        #: How many token and refresh requests this manager has made (for tests and stats).
        self.requests_made = 0

    def __repr__(self) -> str:
        state = (
            "empty"
            if self._token is None
            else f"valid for {self._expires_at - self._clock():.0f} s"
        )
        return f"<TokenManager slug={self._config.slug!r} {state}>"

    def valid_bearer(self) -> str | None:
        """``Bearer <access token>`` while the cached token is not due for renewal, else None.

        Synchronous, so that the usual call costs no ``await``; when it gives None,
        :meth:`bearer` renews. The header's value is made once per token: every request
        sends it, and a call prepares its request with it when it is at hand.
        """
        if self._clock() < self._renew_at:
            return self._bearer
        return None

    async def bearer(
        self,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        started: float | None = None,
    ) -> str:
        """``Bearer <access token>`` for a valid token, renewed first when due (see
        :meth:`access_token` for the options)."""
        token = await self.access_token(timeout=timeout, max_retries=max_retries, started=started)
        return "Bearer " + token

    async def access_token(
        self,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        started: float | None = None,
    ) -> str:
        """A valid access token, renewing it first when it is due.

        A renewal made for a call obeys that call's ``timeout`` and ``max_retries``, and
        its deadline counts from the call's ``started`` (a monotonic time).
        """
        token = self._token
        now = self._clock()
        if token is not None and now < self._renew_at:
            return token.access_token
        if token is not None and now < self._expires_at and self._lock.locked():
            # Someone is already renewing ahead of time; this token is still good.
            return token.access_token
        async with self._lock:
            token = self._token
            if token is not None and self._clock() < self._renew_at:
                return token.access_token
            options = {"timeout": timeout, "max_retries": max_retries, "started": started}
            return (await self._renew(options)).access_token

    async def current_token(self) -> Token:
        """The full current token (renewed first when due)."""
        await self.access_token()
        assert self._token is not None
        return self._token

    def invalidate(self, access_token: str) -> None:
        """Forget ``access_token`` if it is still the current one (after a 401)."""
        if self._token is not None and self._token.access_token == access_token:
            logger.debug("dropping the access token the server refused")
            self._renew_at = self._expires_at = 0.0

    async def _renew(self, options: dict[str, Any]) -> Token:
        previous = self._token
        logger.info(
            "renewing the access token (%s)",
            "none yet"
            if previous is None
            else "refused by the server"
            if self._expires_at == 0.0
            else f"due: {self._expires_at - self._clock():.0f} s of validity left",
        )
        if previous is not None and previous.refresh_token and self._refresh_usable():
            body = {"refresh_token": previous.refresh_token}
            try:
                return self._store(await self._request(REFRESH, body, options))
            except PayvenError as exc:
                logger.info("refresh failed (%s); using client credentials", type(exc).__name__)
        body = {"client_id": self._config.client_id, "client_secret": self._config.client_secret}
        return self._store(await self._request(TOKEN, body, options))

    def _refresh_usable(self) -> bool:
        return self._refresh_expires_at is None or self._clock() < self._refresh_expires_at

    async def _request(
        self, operation: Operation[Token], body: dict[str, str], options: dict[str, Any]
    ) -> Token:
        request = operation.prepare(self._config.identity_url, self._config.slug, body=body)
        self.requests_made += 1
        return await self._run(operation, request, **options)

    def _store(self, token: Token) -> Token:
        now = self._clock()
        lifetime = token_lifetime(token, now=self._wall_clock())
        self._token = token
        self._bearer = "Bearer " + token.access_token
        self.secrets = (self._config.client_secret, token.access_token)
        if token.refresh_token:
            self.secrets += (token.refresh_token,)
        self._expires_at = now + lifetime
        self._renew_at = now + max(lifetime - RENEW_SKEW, lifetime / 2)
        refresh_life = token.refresh_expires_in
        self._refresh_expires_at = (
            now + refresh_life
            if refresh_life is not None and 0 < refresh_life <= 10 * MAX_LIFETIME
            else None
        )
        logger.debug("new access token, valid for %.0f s", lifetime)
        return token
