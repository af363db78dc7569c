"""Webhook delivery from the emulator: signed events POSTed to your endpoint, with retries.

>>> async with PayvenEmulator(webhook_url=url, webhook_secret="whsec_test") as emu:
...     ...                                  # a pay completes or is declined
...     await emu.webhooks.drain()           # every delivery delivered or given up
...     emu.webhooks.deliveries[0].attempt_count

As Payven documents it (fact sheet 6.11): one event per completed (``payment.completed``,
``payment.authorized`` for a pre-auth) or declined (``payment.failed``) pay, in the
``{id, type, created_at, data}`` envelope, with ``X-Payven-Event``, ``X-Payven-Event-Id``,
``X-Payven-Delivery-Id``, ``X-Payven-Timestamp`` (the emulator's clock) and
``X-Payven-Signature: sha256=<hex>`` over ``"<timestamp>.<body>"``, signed afresh on each
attempt. A 2xx answer within ``timeout`` is a delivery; anything else (3xx included,
redirects are not followed), a timeout or a connection error is retried after each
of ``retry_delays`` in turn (±``jitter``), ``max_retries`` times at most.

The real schedule is minutes to a day apart (:data:`REAL_RETRY_DELAYS`); the emulator's
default is the same shape compressed into about a second and a half, for tests.
Deliveries run in background tasks, never holding up the pay answer; stopping the
emulator cancels the ones still pending.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import aiohttp
import attrs
from yarl import URL

from .._json import dumps
from ..webhooks import (
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    EVENT_ID_HEADER,
    sign_webhook,
)
from ._clock import Clock, iso
from ._records import PaymentRecord

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "REAL_RETRY_DELAYS",
    "DeliveryState",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Webhooks",
]

logger = logging.getLogger("payven.emulator.webhooks")

#: Payven's documented retry schedule, in seconds: ~1 m, 5 m, 30 m, 2 h, 24 h.
REAL_RETRY_DELAYS = (60.0, 300.0, 1800.0, 7200.0, 86400.0)
#: The emulator's default: the same doubling-ish shape, fast enough for a test suite.
DEFAULT_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)

DeliveryState = Literal["pending", "delivered", "failed", "cancelled"]

_LONG_DIGIT_RUN = re.compile(r"\d{13}")


def _new_id(prefix: str) -> str:
    # Ids land in logs; 13+ digits in a row would look like a card number to redactors.
    while True:
        value = uuid.uuid4().hex
        if not _LONG_DIGIT_RUN.search(value):
            return prefix + value


@attrs.frozen
class WebhookAttempt:
    """One POST of a delivery: the receiver's status, or the error instead of one."""

    number: int
    sent_at: datetime
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@attrs.frozen
class WebhookSubscription:
    """A webhook endpoint: where events go, the secret that signs them, which events."""

    url: str
    secret: str = attrs.field(repr=False)
    events: frozenset[str] | None = None

    def wants(self, event_type: str) -> bool:
        """True when this endpoint subscribed to ``event_type`` (``None`` or ``*``: all)."""
        return self.events is None or "*" in self.events or event_type in self.events


@attrs.define(eq=False)
class WebhookDelivery:
    """One event on its way to one endpoint, with every attempt made so far."""

    delivery_id: str
    event_id: str
    event_type: str
    url: str
    body: bytes = attrs.field(repr=False)
    transaction_id: str | None = None
    state: DeliveryState = "pending"
    attempts: list[WebhookAttempt] = attrs.field(factory=list)

    @property
    def attempt_count(self) -> int:
        """How many POSTs were made."""
        return len(self.attempts)

    @property
    def delivered(self) -> bool:
        """True once an attempt got a 2xx."""
        return self.state == "delivered"


class Webhooks:
    """The emulator's webhook endpoints and deliveries (``emu.webhooks``).

    ``retry_delays``, ``max_retries``, ``timeout`` and ``jitter`` may be changed while
    the emulator runs; a delivery reads them when it starts.

    :param retry_delays: seconds before each retry; the last one repeats when
        ``max_retries`` asks for more retries than there are delays.
    :param max_retries: retries after the first attempt (Payven's ``max_retry_count``,
        5 by default): a delivery makes at most ``1 + max_retries`` attempts.
    :param timeout: seconds a receiver has to answer one attempt (15 s documented).
    :param jitter: each delay is varied by up to this fraction either way (±20 %).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        merchant_id: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        max_retries: int = 5,
        timeout: float = 15.0,
        jitter: float = 0.2,
    ) -> None:
        if max_retries < 0 or timeout <= 0 or not 0 <= jitter < 1:
            raise ValueError("max_retries must be >= 0, timeout > 0 and 0 <= jitter < 1")
        if any(delay < 0 for delay in retry_delays):
            raise ValueError("retry delays must be >= 0 seconds")
        self._clock = clock
        self._merchant_id = merchant_id
        self.retry_delays: tuple[float, ...] = tuple(retry_delays)
        self.max_retries = max_retries
        self.timeout = timeout
        self.jitter = jitter
        #: The endpoints events go to, in subscription order.
        self.subscriptions: list[WebhookSubscription] = []
        #: Every delivery so far, oldest first.
        self.deliveries: list[WebhookDelivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._random = random.Random()

    def __repr__(self) -> str:
        return (
            f"<Webhooks subscriptions={len(self.subscriptions)} "
            f"deliveries={len(self.deliveries)} pending={len(self._tasks)}>"
        )

    # --- endpoints --------------------------------------------------------------------

    def subscribe(
        self, url: str, secret: str | None = None, *, events: Iterable[str] | None = None
    ) -> WebhookSubscription:
        """Send events to ``url``, signed with ``secret`` (a fresh ``whsec_…`` if None).

        ``events`` limits them to these types; ``None`` (or ``"*"``) means all.
        """
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"a webhook URL must be http(s)://host/...; got {url!r}")
        subscription = WebhookSubscription(
            url=url,
            secret=secret if secret is not None else f"whsec_{secrets.token_urlsafe(24)}",
            events=frozenset(events) if events is not None else None,
        )
        self.subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: WebhookSubscription) -> None:
        """Stop sending new events to this endpoint (deliveries under way go on)."""
        self.subscriptions.remove(subscription)

    # --- events -----------------------------------------------------------------------

    def payment_recorded(self, record: PaymentRecord) -> None:
        """The ledger recorded a charge attempt: announce it (the pay route calls this)."""
        if record.is_success:
            event_type = (
                "payment.authorized" if record.operation_type == "PreAuth" else "payment.completed"
            )
        else:
            event_type = "payment.failed"
        self.emit(
            event_type,
            {
                "transaction_id": record.transaction_id,
                "status": record.status,
                "amount": record.amount,
                "currency": record.currency,
                "merchant_id": self._merchant_id,
                "provider_transaction_id": record.provider_transaction_id,
                "auth_code": record.auth_code,
                "error_code": record.error_code,
                "error_message": None if record.is_success else record.message,
                "masked_card_number": record.masked_card_number,
                "card_brand": record.card_brand,
            },
        )

    def emit(self, event_type: str, data: Mapping[str, Any]) -> list[WebhookDelivery]:
        """Send an event of any type to every endpoint that wants it; returns the deliveries.

        Call it from the emulator's event loop (a test's own coroutine, or a route).
        """
        targets = [sub for sub in self.subscriptions if sub.wants(event_type)]
        if not targets:
            return []
        loop = asyncio.get_running_loop()
        event_id = _new_id("evt_")
        body = dumps(
            {
                "id": event_id,
                "type": event_type,
                "created_at": iso(self._clock.utcnow()),
                "data": dict(data),
            }
        )
        transaction_id = data.get("transaction_id")
        started = []
        for subscription in targets:
            delivery = WebhookDelivery(
                delivery_id=_new_id("dlv_"),
                event_id=event_id,
                event_type=event_type,
                url=subscription.url,
                body=body,
                transaction_id=transaction_id if isinstance(transaction_id, str) else None,
            )
            self.deliveries.append(delivery)
            task = loop.create_task(self._deliver(delivery, subscription))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(delivery)
        return started

    # --- waiting and closing --------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until every delivery has been delivered or has given up (or was cancelled).

        With a long ``retry_delays`` schedule this waits that long: bound it with
        ``asyncio.wait_for`` if the receiver may keep failing.
        """
        while True:
            pending = {task for task in self._tasks if not task.done()}
            if not pending:
                return
            await asyncio.wait(pending)

    async def aclose(self) -> None:
        """Cancel the deliveries still pending, wait for them, close the HTTP session.

        Idempotent; the emulator's ``stop()`` calls it. Cancelled deliveries keep their
        attempts so far, in the state ``"cancelled"``.
        """
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for delivery in self.deliveries:
            # A task cancelled before its first step never ran its own bookkeeping.
            if delivery.state == "pending":
                delivery.state = "cancelled"
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    # --- delivering -------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            # Environment proxies must not reroute loopback deliveries.
            self._http = aiohttp.ClientSession(trust_env=False)
        return self._http

    def _delay(self, retry: int) -> float:
        if not self.retry_delays:
            return 0.0
        base = self.retry_delays[min(retry, len(self.retry_delays) - 1)]
        return base * (1 + self._random.uniform(-self.jitter, self.jitter))

    async def _deliver(self, delivery: WebhookDelivery, subscription: WebhookSubscription) -> None:
        attempts = 1 + self.max_retries
        try:
            for number in range(1, attempts + 1):
                if number > 1:
                    await asyncio.sleep(self._delay(number - 2))
                attempt = await self._attempt(delivery, subscription, number)
                delivery.attempts.append(attempt)
                logger.debug(
                    "webhook %s %s attempt %d/%d -> %s",
                    delivery.event_type,
                    delivery.delivery_id,
                    number,
                    attempts,
                    attempt.status if attempt.status is not None else attempt.error,
                )
                if attempt.ok:
                    delivery.state = "delivered"
                    return
            delivery.state = "failed"
            logger.info(
                "webhook %s %s gave up after %d attempts",
                delivery.event_type,
                delivery.delivery_id,
                attempts,
            )
        except asyncio.CancelledError:
            delivery.state = "cancelled"
            raise

    async def _attempt(
        self, delivery: WebhookDelivery, subscription: WebhookSubscription, number: int
    ) -> WebhookAttempt:
        sent_at = self._clock.utcnow()
        headers = {
            **sign_webhook(delivery.body, subscription.secret, int(self._clock.now())),
            "Content-Type": "application/json",
            "User-Agent": "Payven-Webhooks (payven emulator)",
            EVENT_HEADER: delivery.event_type,
            EVENT_ID_HEADER: delivery.event_id,
            DELIVERY_ID_HEADER: delivery.delivery_id,
        }
        try:
            async with self._session().post(
                delivery.url,
                data=delivery.body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                return WebhookAttempt(number, sent_at, status=response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return WebhookAttempt(number, sent_at, error=type(error).__name__)
