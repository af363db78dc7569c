"""``PayvenEmulator`` (async) and ``SyncPayvenEmulator`` (in a thread): Payven on loopback."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._app import EmulatorApp, EmulatorRunner, RecordedRequest
from ._clock import Clock
from ._context import RouteContext
from ._faults import Faults
from ._idempotency import IdempotencyStore
from ._ledger import Ledger
from ._ratelimit import MinuteLimit, RateLimiter
from ._seeding import SeededPayments, seed_payments
from ._thread_loop import ThreadLoop
from ._tokens import TokenIssuer
from ._webhooks import DEFAULT_RETRY_DELAYS, Webhooks

if TYPE_CHECKING:
    import collections

    import payven_sync

    from .._client import PayvenClient

__all__ = ["PayvenEmulator", "SyncPayvenEmulator"]

DEFAULT_CLIENT_ID = "pvk_test_emulator"
DEFAULT_SLUG = "emulator"


def _loopback(host: str) -> str:
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise ValueError(f"the emulator only binds loopback addresses, not {host!r}") from None
    return host


class _Seeding:
    """``seed_payments``, the same on both emulators."""

    #: The emulator's payments (the sync emulator reaches the async one's).
    ledger: Ledger

    def seed_payments(
        self,
        count: int | None = None,
        *,
        amount: int = 15000,
        currency: str = "TRY",
        declined: Sequence[int] = (),
        ids: Sequence[str] | None = None,
        day: date | None = None,
        mismatches: Mapping[Any, int] | None = None,
    ) -> SeededPayments:
        """Put payments straight into the ledger (no HTTP); returns their transaction ids.

        ``count`` approved payments (declined at the positions in ``declined``), or
        one per id of ``ids``. ``day`` dates them evenly over that bank day
        (Turkish time).
        ``mismatches`` plants disagreements between Payven's and the bank's record of
        some approved ones, e.g. ``{"status": 2, "external_missing": 1}`` (the kinds:
        ``status``, ``amount``, ``captured_amount``, ``currency``,
        ``external_missing``). The result is the list of ids, in order, with
        ``.mismatches`` (transaction id -> kind) and ``.day``.
        """
        return seed_payments(
            self.ledger,
            count,
            amount=amount,
            currency=currency,
            declined=declined,
            ids=ids,
            day=day,
            mismatches=mismatches,
        )


class PayvenEmulator(_Seeding):
    """The Payven identity and vpos APIs, emulated on one loopback URL.

    >>> async with PayvenEmulator() as emu:
    ...     async with emu.client() as client:
    ...         token = await client.token()

    Everything is in memory and per instance: tokens, checkout sessions, the ledger of
    payments, idempotency keys. ``faults`` (see :class:`Faults`) and ``rate_limit`` may
    be changed while it runs; ``clock`` can be moved forward to expire tokens and
    sessions without waiting.

    :param port: the port to bind on ``host`` (127.0.0.1); 0 picks a free one.
    :param token_ttl: access-token lifetime in seconds (``expires_in``), 300 as documented.
    :param refresh_ttl: refresh-token lifetime in seconds.
    :param session_ttl: checkout-session lifetime in seconds, 30 minutes as documented.
    :param max_attempts: failed pay attempts after which a session is ``failed``.
    :param rate_limit: requests per second before 429; ``None`` turns limiting and the
        ``X-RateLimit-*`` headers off.
    :param token_calls_per_minute: calls to the token route allowed in any minute before
        it answers 429 with ``Retry-After`` (10, as documented); ``None`` turns it off.
        ``calls["token"]`` counts every call, refused ones too.
    :param webhook_url: send a signed webhook event for every pay that completes or is
        declined to this URL (more endpoints: ``emu.webhooks.subscribe``).
    :param webhook_secret: the secret signing those events (a fresh ``whsec_…`` if None).
    :param webhook_retry_delays: seconds between delivery attempts (fast by default; see
        :class:`~payven_async.testing.Webhooks`).
    :param webhook_max_retries: retries after a delivery's first attempt.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        slug: str = DEFAULT_SLUG,
        token_ttl: int = 300,
        refresh_ttl: int = 1800,
        session_ttl: float = 1800.0,
        max_attempts: int = 3,
        rate_limit: int | None = 10_000,
        token_calls_per_minute: int | None = 10,
        faults: Faults | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_max_retries: int = 5,
    ) -> None:
        if token_ttl < 1 or refresh_ttl < 1 or session_ttl <= 0 or max_attempts < 1:
            raise ValueError("token_ttl, refresh_ttl, session_ttl and max_attempts must be > 0")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be >= 1, or None for no limit")
        if token_calls_per_minute is not None and token_calls_per_minute < 1:
            raise ValueError("token_calls_per_minute must be >= 1, or None for no limit")
        self._host = _loopback(host)
        self._port = port
        self.client_id = client_id
        self.client_secret = client_secret or f"sk_test_{secrets.token_urlsafe(24)}"
        self.slug = slug
        self.clock = Clock()
        self.faults = faults if faults is not None else Faults()
        self.ledger = Ledger(self.clock, session_ttl=session_ttl, max_attempts=max_attempts)
        self.idempotency = IdempotencyStore(self.clock)
        self._limiter = RateLimiter(self.clock, rate_limit)
        self._token_limit = MinuteLimit(self.clock, token_calls_per_minute)
        self.tenant_id = str(uuid.uuid4())
        self.merchant_id = str(uuid.uuid4())
        self.tokens = TokenIssuer(
            client_id=client_id,
            client_secret=self.client_secret,
            slug=slug,
            issuer_url=f"http://{host}/realms/{slug}",
            tenant_id=self.tenant_id,
            merchant_id=self.merchant_id,
            access_ttl=token_ttl,
            refresh_ttl=refresh_ttl,
            clock=self.clock,
        )
        #: Webhook endpoints and deliveries (see :class:`~payven_async.testing.Webhooks`).
        self.webhooks = Webhooks(
            self.clock,
            merchant_id=self.merchant_id,
            retry_delays=webhook_retry_delays,
            max_retries=webhook_max_retries,
        )
        if webhook_url is not None:
            self.webhooks.subscribe(webhook_url, webhook_secret)
        context = RouteContext(
            ledger=self.ledger,
            tokens=self.tokens,
            idempotency=self.idempotency,
            clock=self.clock,
            base_url=lambda: self.url,
            tenant_id=self.tenant_id,
            merchant_id=self.merchant_id,
            on_payment=self.webhooks.payment_recorded,
            on_event=self.webhooks.emit,
        )
        self._app = EmulatorApp(
            context,
            faults=self.faults,
            limiter=self._limiter,
            token_limit=self._token_limit,
            webhooks=self.webhooks,
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        where = self._url or "not running"
        return f"<PayvenEmulator {where} client_id={self.client_id!r} slug={self.slug!r}>"

    # --- lifetime -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve. Prefer ``async with``."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        runner = EmulatorRunner(self._app.build(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._url = f"http://{host}:{port}"
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving and close every connection; cancel pending webhooks. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            self._app.closing()
            try:
                await self.webhooks.aclose()
            finally:
                await runner.cleanup()

    async def __aenter__(self) -> PayvenEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what tests use -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL of both identity and vpos routes, e.g. ``http://127.0.0.1:54321``."""
        if self._url is None:
            raise RuntimeError("the emulator is not running; use 'async with PayvenEmulator()'")
        return self._url

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def rate_limit(self) -> int | None:
        """Requests per second before 429 (``None``: unlimited, no headers)."""
        return self._limiter.limit

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("rate_limit must be >= 1, or None for no limit")
        self._limiter.limit = value

    @property
    def token_calls_per_minute(self) -> int | None:
        """Token-route calls allowed in any minute before 429 (``None``: unlimited)."""
        return self._token_limit.limit

    @token_calls_per_minute.setter
    def token_calls_per_minute(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("token_calls_per_minute must be >= 1, or None for no limit")
        self._token_limit.limit = value

    @property
    def token_calls_refused(self) -> int:
        """How many token-route calls were answered 429 for the per-minute limit."""
        return self._token_limit.refused

    @property
    def calls(self) -> collections.Counter[str]:
        """Requests received per route (``"token"``, ``"refresh"``, ``"pay"``, ``"query"``...)."""
        return self._app.calls

    @property
    def requests(self) -> Sequence[RecordedRequest]:
        """The last 1000 requests received (method, path, headers of note; no bodies)."""
        return tuple(self._app.requests)

    def credentials(self) -> Mapping[str, str]:
        """Keyword arguments for a ``PayvenClient`` (or the ``PAYVEN_*`` variables' values)."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "slug": self.slug,
            "identity_url": self.url,
            "vpos_url": self.url,
        }

    def environ(self) -> Mapping[str, str]:
        """The ``PAYVEN_*`` variables pointing a client (or the ``payven`` command) here."""
        return {
            "PAYVEN_CLIENT_ID": self.client_id,
            "PAYVEN_CLIENT_SECRET": self.client_secret,
            "PAYVEN_SLUG": self.slug,
            "PAYVEN_IDENTITY_URL": self.url,
            "PAYVEN_VPOS_URL": self.url,
        }

    def client(self, **kwargs: Any) -> PayvenClient:
        """An async ``PayvenClient`` pointed at this emulator; ``kwargs`` go to its constructor.

        Its token follows the emulator's :attr:`clock`: ``emu.clock.advance(290)`` makes
        it renew before its next call, as that much real time would.
        """
        from .._client import PayvenClient

        client = PayvenClient(**{**self.credentials(), **kwargs})
        client._pipeline.tokens.follow(self.clock.monotonic, self.clock.now)
        return client

    def revoke_tokens(self) -> None:
        """Invalidate every access and refresh token issued so far."""
        self.tokens.revoke_all()


class SyncPayvenEmulator(_Seeding):
    """:class:`PayvenEmulator` for blocking code: it serves from its own thread.

    >>> with SyncPayvenEmulator() as emu:
    ...     with emu.client() as client:      # a payven_sync.PayvenClient
    ...         client.token()

    Takes the same arguments as :class:`PayvenEmulator`; ``emulator`` is the async one,
    and its parts (``faults``, ``ledger``, ``clock``...) are reachable from here. Change
    them while no request is in flight.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.emulator = PayvenEmulator(**kwargs)
        self._thread = ThreadLoop(
            lambda: self.emulator, name="payven-emulator", what="the emulator"
        )

    def __repr__(self) -> str:
        return f"<SyncPayvenEmulator {self.emulator!r}>"

    def __getattr__(self, name: str) -> Any:
        # url, client_id, client_secret, slug, faults, ledger, clock, calls, ...
        if name.startswith("_") or name == "emulator":
            raise AttributeError(name)
        return getattr(self.emulator, name)

    def start(self, timeout: float = 30.0) -> None:
        """Start serving from a daemon thread. Prefer ``with``."""
        self._thread.start(timeout)

    def stop(self) -> None:
        """Stop serving and join the thread. Idempotent."""
        self._thread.stop()

    def __enter__(self) -> SyncPayvenEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL of both identity and vpos routes."""
        return self.emulator.url

    def client(self, **kwargs: Any) -> payven_sync.PayvenClient:
        """A blocking ``payven_sync.PayvenClient`` pointed at this emulator; its token
        follows the emulator's clock, as :meth:`PayvenEmulator.client`'s does."""
        from payven_sync import PayvenClient

        client = PayvenClient(**{**self.emulator.credentials(), **kwargs})
        clock = self.emulator.clock
        client._client._pipeline.tokens.follow(clock.monotonic, clock.now)
        return client

    def drain_webhooks(self, timeout: float | None = 30.0) -> None:
        """Block until every webhook delivery is delivered or has given up.

        :raises TimeoutError: still pending after ``timeout`` seconds.
        """
        if not self._thread.running:
            return
        try:
            self._thread.call(self.emulator.webhooks.drain, timeout)
        except TimeoutError:
            raise TimeoutError("webhook deliveries still pending") from None
