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

With a token store (``token_store=``, see :mod:`payven_async.stores`) the cache is
shared by a fleet. :meth:`TokenManager.valid_bearer` stays what it is, a synchronous
look at the local copy: the store is only consulted when that copy is missing or due
for renewal, or after a 401. Then the manager takes the published token if it is fresh;
else it takes the store's lock and renews (with the published refresh token, the
latest) and publishes the result; else, while another process holds the lock, it waits
for what that one publishes (the lock lapses by itself if its holder dies). A 401 drops
the shared token only if it is still the refused one. A store that fails turns the
manager back into a per-process cache, with one warning, for a minute at a time.

Secrets and tokens are hidden from every repr.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import _fork
from ._config import ClientConfig, Timeout
from ._http import Request
from ._operations import REFRESH, TOKEN, Operation
from ._redact import SecretText
from ._throttle import Throttle
from .errors import PayvenError
from .models import Token
from .stores import StoreError, TokenStore

if TYPE_CHECKING:
    from ._sealing import Sealer

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
#: Seconds a failed token store is left alone before it is tried again.
STORE_RETRY_AFTER = 60.0
#: Seconds between looks at the store while another process renews (plus jitter).
STORE_POLL = 0.05

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
        store: TokenStore | None = None,
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
        self.secrets: tuple[str, ...] = (SecretText(config.client_secret),)
        #: How many token and refresh requests this manager has made (for tests and stats).
        self.requests_made = 0
        self._shared = store
        self._sealer: Sealer | None = None
        self._key = ""
        if store is not None:
            from ._sealing import Sealer  # only a client with a store seals tokens

            context = f"{config.client_id}\x00{config.slug}\x00{config.identity_url}"
            self._sealer = Sealer(config.client_secret, context)
            self._key = self._sealer.name
        self._refused: str | None = None
        self._store_down_until = 0.0
        self._store_warned = False
        _fork.after_fork_in_child(self)

    def __repr__(self) -> str:
        state = (
            "empty"
            if self._token is None
            else f"valid for {self._expires_at - self._clock():.0f} s"
        )
        return f"<TokenManager slug={self._config.slug!r} {state}>"

    def follow(self, clock: Callable[[], float], wall_clock: Callable[[], float]) -> None:
        """Judge the token's validity by these clocks (a monotonic one and Unix time)
        instead of the machine's: the emulator's clock, so that a test moving it forward
        expires the token for the client too (``emu.clock.advance(301)``), without
        sleeping. Waits (a store's lock, a store that is down) stay on real time."""
        self._clock = clock
        self._wall_clock = wall_clock

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
        return SecretText("Bearer " + token)

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
            if self._shared is None:
                return (await self._renew(options)).access_token
            return (await self._renew_shared(self._shared, options)).access_token

    async def current_token(self) -> Token:
        """The full current token (renewed first when due)."""
        await self.access_token()
        assert self._token is not None
        return self._token

    def invalidate(self, access_token: str) -> None:
        """Forget ``access_token`` if it is still the current one (after a 401)."""
        access_token = SecretText(access_token)  # a local an error tracker may render
        if self._token is not None and self._token.access_token == access_token:
            logger.debug("dropping the access token the server refused")
            self._renew_at = self._expires_at = 0.0
            if self._shared is not None:
                # Dropped from the store by the renewal that follows (it awaits; this
                # is called from the pipeline's loop and must not).
                self._refused = access_token

    def _after_fork(self) -> None:
        # In a forked child: an asyncio lock may be bound to the parent's loop (or held
        # by one of its tasks, which do not exist here). The token itself stays good.
        self._lock = asyncio.Lock()

    # --- the shared store ---------------------------------------------------------------

    async def _renew_shared(self, store: TokenStore, options: dict[str, Any]) -> Token:
        """Renew through the fleet's store (see the module docstring); on a store that
        fails, renew for this process alone."""
        if time.monotonic() < self._store_down_until:
            return await self._renew(options)
        try:
            return await self._renew_in_fleet(store, options)
        except StoreError as exc:
            self._store_failed(exc)
            return await self._renew(options)

    async def _renew_in_fleet(self, store: TokenStore, options: dict[str, Any]) -> Token:
        key = self._key
        refused, self._refused = self._refused, None
        if refused is not None:
            await store.discard(key, self._fingerprint(refused))
        give_up_at = time.monotonic() + 2 * store.lock_timeout + 1.0  # real waiting
        while True:
            shared = await self._read_shared(store, refused)
            if shared is not None and shared[1]:
                return shared[0]
            handle = await store.lock(key)
            if handle is not None:
                break
            if time.monotonic() > give_up_at:  # a store that never frees its lock
                logger.debug("the token store's lock is never free; renewing alone")
                return await self._renew(options)
            await asyncio.sleep(STORE_POLL * (1 + random.random()))
        try:
            shared = await self._read_shared(store, refused)
            if shared is not None and shared[1]:
                return shared[0]  # published while the lock was being taken
            token = await self._renew(options)
            try:
                await self._publish(store, token)
            except StoreError as exc:
                self._store_failed(exc)
            return token
        finally:
            with contextlib.suppress(StoreError):
                await store.unlock(key, handle)

    async def _read_shared(
        self, store: TokenStore, refused: str | None
    ) -> tuple[Token, bool] | None:
        """The published token, adopted as this manager's own, and whether it is fresh
        (not due for renewal); None when there is none (or it is the refused one)."""
        sealed = await store.read(self._key)
        fields = None if sealed is None else self._open_shared(sealed)
        if fields is None:
            return None  # none published, sealed under other credentials, or altered
        access, expires_at, renew_at = fields["a"], fields["e"], fields["n"]
        if access == refused:
            return None
        wall = self._wall_clock()
        if wall >= expires_at:
            return None
        current = self._token
        if current is None or current.access_token != access:
            refresh_at = fields.get("re")
            token = Token(
                access_token=access,
                refresh_token=fields.get("r"),
                expires_in=max(1, int(expires_at - wall)),
                refresh_expires_in=None if refresh_at is None else max(1, int(refresh_at - wall)),
                token_type=fields.get("t"),
                scope=fields.get("s"),
            )
            self._adopt(token, expires_at - wall, renew_at - wall)
        assert self._token is not None
        return self._token, wall < renew_at

    async def _publish(self, store: TokenStore, token: Token) -> None:
        now, wall = self._clock(), self._wall_clock()
        life = self._expires_at - now
        if life <= 0:
            return
        sealed = self._seal_shared(token, now, wall, life)
        # Never kept longer than the access token lives.
        await store.publish(self._key, sealed, self._fingerprint(token.access_token), life)

    # The two helpers below hold the plain tokens only in their own frames, which never
    # await: a store failing mid-call leaves no token in the locals an error tracker sends.

    def _open_shared(self, sealed: bytes) -> dict[str, Any] | None:
        """A published token's fields, its tokens as SecretText; None if unreadable."""
        assert self._sealer is not None
        opened = self._sealer.open(sealed)
        if opened is None:
            return None
        try:
            fields = json.loads(opened)
            fields["a"] = SecretText(fields["a"])
            if fields.get("r") is not None:
                fields["r"] = SecretText(fields["r"])
            fields["e"], fields["n"] = float(fields["e"]), float(fields["n"])
        except (ValueError, KeyError, TypeError):
            return None
        return fields  # type: ignore[no-any-return]

    def _seal_shared(self, token: Token, now: float, wall: float, life: float) -> bytes:
        """``token`` and its times (on the wall clock, which all processes share), sealed."""
        assert self._sealer is not None
        refresh_at = self._refresh_expires_at
        fields = {
            "a": token.access_token,
            "r": token.refresh_token,
            "e": wall + life,
            "n": wall + (self._renew_at - now),
            "re": None if refresh_at is None else wall + (refresh_at - now),
            "t": token.token_type,
            "s": token.scope,
        }
        return self._sealer.seal(json.dumps(fields, separators=(",", ":")).encode())

    def _fingerprint(self, access_token: str) -> str:
        assert self._sealer is not None
        return self._sealer.fingerprint(access_token)

    def _store_failed(self, exc: StoreError) -> None:
        """Per-process tokens for a while; one warning in this manager's life."""
        self._store_down_until = time.monotonic() + STORE_RETRY_AFTER
        if self._store_warned:
            logger.debug("token store still unavailable: %s", exc)
            return
        self._store_warned = True
        # StoreError's text names the failure's type only: never a URL, never a token.
        logger.warning(
            "token store unavailable (%s); this process fetches its own tokens meanwhile",
            exc,
        )

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
            body: dict[str, str] = {"refresh_token": SecretText(previous.refresh_token)}
            try:
                return self._store(await self._request(REFRESH, body, options))
            except PayvenError as exc:
                logger.info("refresh failed (%s); using client credentials", type(exc).__name__)
        body = {
            "client_id": self._config.client_id,
            "client_secret": SecretText(self._config.client_secret),
        }
        return self._store(await self._request(TOKEN, body, options))

    def _refresh_usable(self) -> bool:
        return self._refresh_expires_at is None or self._clock() < self._refresh_expires_at

    async def _request(
        self, operation: Operation[Token], body: dict[str, str], options: dict[str, Any]
    ) -> Token:
        request = operation.prepare(self._config.identity_url, self._config.slug, body=body)
        self.requests_made += 1
        return await self._run(operation, request, **options)

    def _adopt(self, token: Token, lifetime: float, renew_in: float) -> None:
        """Take a token another process published, with its expiry and renewal times."""
        now = self._clock()
        self._token = token
        # Masked reprs (SecretText): these travel through frames an error tracker renders.
        self._bearer = SecretText("Bearer " + token.access_token)
        self.secrets = (SecretText(self._config.client_secret), SecretText(token.access_token))
        if token.refresh_token:
            self.secrets += (SecretText(token.refresh_token),)
        self._expires_at = now + lifetime
        self._renew_at = now + renew_in
        refresh_life = token.refresh_expires_in
        self._refresh_expires_at = None if refresh_life is None else now + refresh_life
        logger.debug("shared access token, valid for %.0f s", lifetime)

    def _store(self, token: Token) -> Token:
        now = self._clock()
        lifetime = token_lifetime(token, now=self._wall_clock())
        self._token = token
        # Masked reprs (SecretText): these travel through frames an error tracker renders.
        self._bearer = SecretText("Bearer " + token.access_token)
        self.secrets = (SecretText(self._config.client_secret), SecretText(token.access_token))
        if token.refresh_token:
            self.secrets += (SecretText(token.refresh_token),)
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
