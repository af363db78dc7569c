"""The emulator's webhook delivery, end to end over loopback: signed, retried, recorded."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest
from aiohttp import web
from multidict import CIMultiDict

from payven_async import (
    CheckoutSessionRequest,
    OperationType,
    PaymentDeclinedError,
    PayvenClient,
    WebhookVerificationError,
    verify_webhook,
)
from payven_async.testing import PayvenEmulator, SyncPayvenEmulator
from payven_async.testing._thread_loop import ThreadLoop

from .emulator_support import APPROVED, INSUFFICIENT, pay_request
from .fake_server import serving

SECRET = "whsec_emulator_tests"
FAST = (0.0, 0.0, 0.0, 0.0, 0.0)


@attrs.define
class Delivery:
    """What one POST to the receiver carried."""

    path: str
    headers: CIMultiDict[str]
    body: bytes


@attrs.define
class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers with scripted statuses, then 200."""

    url: str = ""
    statuses: list[int] = attrs.Factory(list)
    received: list[Delivery] = attrs.Factory(list)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = attrs.Factory(asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        """Record the delivery, then answer (or stall while ``hold`` is unset)."""
        self.received.append(
            Delivery(request.path, CIMultiDict(request.headers), await request.read())
        )
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return web.Response(status=status, headers=headers)


@contextlib.asynccontextmanager
async def receiving(hook: Receiver) -> AsyncIterator[Receiver]:
    """Serve ``hook`` on a free loopback port while inside (its ``url`` set)."""
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", hook.handle)
    async with serving(app) as url:
        hook.url = f"{url}/hooks/payven"
        try:
            yield hook
        finally:
            if hook.hold is not None:
                hook.hold.set()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A Receiver served on a free loopback port for the test's duration."""
    async with receiving(Receiver()) as hook:
        yield hook


async def pay(client: PayvenClient, number: str = APPROVED, **fields: Any) -> str | None:
    """Open a session and pay it; the transaction id, also for a declined card."""
    session = await client.create_checkout_session(
        CheckoutSessionRequest(amount=15000, currency="TRY", allow_pre_auth=True)
    )
    assert session.session_id is not None
    try:
        result = await client.pay(session.session_id, pay_request(number, **fields))
    except PaymentDeclinedError as declined:
        return declined.result.transaction_id if declined.result is not None else None
    return result.transaction_id


def free_loopback_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- delivery -------------------------------------------------------------------------


async def test_completed_pay_delivers_an_event_verify_webhook_accepts(receiver: Receiver) -> None:
    """An approved pay POSTs a signed payment.completed that verify_webhook accepts."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        transaction_id = await pay(client)
        await emu.webhooks.drain()
        now = emu.clock.now()
    (delivery,) = receiver.received
    assert delivery.path == "/hooks/payven"
    assert delivery.headers["Content-Type"] == "application/json"
    event = verify_webhook(delivery.body, delivery.headers, SECRET, now=now)
    assert event.type == "payment.completed"
    assert event.id.startswith("evt_")
    assert event.created_at is not None
    assert event.created_at.tzinfo is not None
    assert event.data.transaction_id == transaction_id
    assert event.data.status == "completed"
    assert event.data.amount == 15000
    assert event.data.currency == "TRY"
    assert event.data.merchant_id == emu.merchant_id
    assert event.data.masked_card_number == "454671******7894"
    assert event.data.auth_code is not None
    record = emu.webhooks.deliveries[0]
    assert (event.header_type, event.header_id, event.delivery_id) == (
        "payment.completed",
        record.event_id,
        record.delivery_id,
    )
    assert record.state == "delivered"
    assert record.attempt_count == 1
    assert record.attempts[0].status == 200


async def test_declined_pay_delivers_payment_failed(receiver: Receiver) -> None:
    """A declined pay is announced as payment.failed with the decline's code and message."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        transaction_id = await pay(client, INSUFFICIENT)
        await emu.webhooks.drain()
        now = emu.clock.now()
    event = verify_webhook(receiver.received[0].body, receiver.received[0].headers, SECRET, now=now)
    assert event.type == "payment.failed"
    assert event.data.transaction_id == transaction_id
    assert event.data.status == "failed"
    assert event.data.error_code == "insufficient_funds"
    assert event.data.error_message
    assert event.data.auth_code is None


async def test_pre_auth_is_announced_as_authorized(receiver: Receiver) -> None:
    """An approved pre-authorisation sends payment.authorized, not payment.completed."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        await pay(client, operation_type=OperationType.PRE_AUTH)
        await emu.webhooks.drain()
        now = emu.clock.now()
    event = verify_webhook(receiver.received[0].body, receiver.received[0].headers, SECRET, now=now)
    assert event.type == "payment.authorized"
    assert event.data.status == "authorized"


async def test_idempotent_replay_sends_no_second_event(receiver: Receiver) -> None:
    """A pay replayed under the same Idempotency-Key charges once and announces once."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        session = await client.create_checkout_session(CheckoutSessionRequest(amount=15000))
        assert session.session_id is not None
        for _ in range(2):
            await client.pay(session.session_id, pay_request(), idempotency_key="same-key")
        await emu.webhooks.drain()
    assert len(receiver.received) == 1
    assert len(emu.webhooks.deliveries) == 1


async def test_no_endpoint_means_no_delivery() -> None:
    """Without a webhook URL nothing is sent or recorded."""
    async with PayvenEmulator() as emu, emu.client() as client:
        await pay(client)
        await emu.webhooks.drain()
        assert emu.webhooks.deliveries == []


# --- retries --------------------------------------------------------------------------


async def test_receiver_failing_twice_then_succeeding_gets_three_attempts(
    receiver: Receiver,
) -> None:
    """500, 503, then 200: three signed attempts of the same event, then delivered."""
    receiver.statuses = [500, 503]
    async with (
        PayvenEmulator(
            webhook_url=receiver.url, webhook_secret=SECRET, webhook_retry_delays=FAST
        ) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await emu.webhooks.drain()
        now = emu.clock.now()
    (record,) = emu.webhooks.deliveries
    assert record.state == "delivered"
    assert [attempt.status for attempt in record.attempts] == [500, 503, 200]
    assert [attempt.number for attempt in record.attempts] == [1, 2, 3]
    events = [verify_webhook(d.body, d.headers, SECRET, now=now) for d in receiver.received]
    assert len(events) == 3
    assert {event.id for event in events} == {record.event_id}
    assert {event.delivery_id for event in events} == {record.delivery_id}


async def test_deliveries_stop_after_max_retries(receiver: Receiver) -> None:
    """A receiver that always fails gets 1 + max_retries attempts, then the delivery fails."""
    receiver.statuses = [500] * 10
    async with (
        PayvenEmulator(
            webhook_url=receiver.url,
            webhook_secret=SECRET,
            webhook_retry_delays=FAST,
            webhook_max_retries=2,
        ) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await emu.webhooks.drain()
    (record,) = emu.webhooks.deliveries
    assert record.state == "failed"
    assert record.attempt_count == 3
    assert len(receiver.received) == 3


async def test_zero_retries_means_one_attempt(receiver: Receiver) -> None:
    """max_retries=0: a failed first attempt is final."""
    receiver.statuses = [500]
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_max_retries=0) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await emu.webhooks.drain()
    assert [d.attempt_count for d in emu.webhooks.deliveries] == [1]
    assert emu.webhooks.deliveries[0].state == "failed"


@pytest.mark.parametrize("status", [302, 400, 404, 410])
async def test_redirects_and_client_errors_are_failures(receiver: Receiver, status: int) -> None:
    """3xx is not followed and counts as a failure; 4xx is retried like 5xx."""
    receiver.statuses = [status]
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_retry_delays=FAST) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await emu.webhooks.drain()
    assert [attempt.status for attempt in emu.webhooks.deliveries[0].attempts] == [status, 200]
    assert [d.path for d in receiver.received] == ["/hooks/payven"] * 2


async def test_connection_errors_are_retried_and_recorded() -> None:
    """A refused connection is a failed attempt with the error's name, retried to the max."""
    url = f"http://127.0.0.1:{free_loopback_port()}/hook"
    async with (
        PayvenEmulator(webhook_url=url, webhook_retry_delays=FAST, webhook_max_retries=1) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await emu.webhooks.drain()
    (record,) = emu.webhooks.deliveries
    assert record.state == "failed"
    assert [attempt.status for attempt in record.attempts] == [None, None]
    assert all(attempt.error for attempt in record.attempts)


# --- background tasks and shutdown ---------------------------------------------------


async def test_pay_answers_while_the_receiver_stalls_and_exit_cancels_cleanly(
    receiver: Receiver,
) -> None:
    """Delivery never holds up the pay answer; leaving the emulator cancels it cleanly."""
    receiver.hold = asyncio.Event()
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        # The receiver never answers while held: were delivery inline, pay would hang here.
        transaction_id = await asyncio.wait_for(pay(client), 30)
        await asyncio.wait_for(receiver.arrived.wait(), 30)
        (record,) = emu.webhooks.deliveries
        assert emu.webhooks.deliveries[0].state == "pending"
        assert record.transaction_id == transaction_id
    assert record.state == "cancelled"
    assert record.attempt_count == 0


async def test_exit_cancels_deliveries_waiting_to_retry(receiver: Receiver) -> None:
    """A delivery sleeping before its next retry is cancelled by stop(), keeping its attempts."""
    receiver.statuses = [500]
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_retry_delays=(3600.0,)) as emu,
        emu.client() as client,
    ):
        await pay(client)
        await asyncio.wait_for(receiver.arrived.wait(), 30)
        # No event marks a recorded attempt; poll until the 500 is in the books.
        while not emu.webhooks.deliveries[0].attempts:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    (record,) = emu.webhooks.deliveries
    assert record.state == "cancelled"
    assert [attempt.status for attempt in record.attempts] == [500]


# --- endpoints, events and clocks -----------------------------------------------------


async def test_subscriptions_filter_events_and_sign_with_their_own_secret(
    receiver: Receiver,
) -> None:
    """Each endpoint gets only its event types, signed with its own secret."""
    async with PayvenEmulator() as emu, emu.client() as client:
        failures = emu.webhooks.subscribe(receiver.url + "/failed", events=["payment.failed"])
        everything = emu.webhooks.subscribe(receiver.url + "/all", "whsec_all")
        assert failures.secret.startswith("whsec_")
        assert failures.secret not in repr(failures)
        await pay(client)
        await pay(client, INSUFFICIENT)
        await emu.webhooks.drain()
        now = emu.clock.now()
    by_path: dict[str, list[str]] = {}
    for delivery in receiver.received:
        secret = failures.secret if delivery.path.endswith("/failed") else everything.secret
        event = verify_webhook(delivery.body, delivery.headers, secret, now=now)
        by_path.setdefault(delivery.path.rsplit("/", 1)[1], []).append(event.type)
    assert sorted(by_path["all"]) == ["payment.completed", "payment.failed"]
    assert by_path["failed"] == ["payment.failed"]


async def test_emit_sends_any_event_type(receiver: Receiver) -> None:
    """emu.webhooks.emit sends an arbitrary event, for testing handlers of other types."""
    async with PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu:
        (record,) = emu.webhooks.emit("refund.completed", {"transaction_id": "t-1", "amount": 500})
        await emu.webhooks.drain()
        now = emu.clock.now()
    event = verify_webhook(receiver.received[0].body, receiver.received[0].headers, SECRET, now=now)
    assert (event.type, event.id) == ("refund.completed", record.event_id)
    assert (event.data.transaction_id, event.data.amount) == ("t-1", 500)


async def test_timestamps_follow_the_emulator_clock(receiver: Receiver) -> None:
    """After emu.clock.advance, deliveries are stamped in the clock's future: pass now=."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        await client.token()
        emu.clock.advance(3600)
        emu.revoke_tokens()
        await pay(client)
        await emu.webhooks.drain()
        now = emu.clock.now()
    delivery = receiver.received[0]
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(delivery.body, delivery.headers, SECRET, now=now - 3600)
    assert caught.value.reason == "timestamp_in_future"
    assert verify_webhook(delivery.body, delivery.headers, SECRET, now=now).type == (
        "payment.completed"
    )


def test_bad_webhook_url_is_refused() -> None:
    """Only http(s) URLs with a host can be subscribed."""
    for url in ("ftp://127.0.0.1/x", "not a url", "http:///path"):
        with pytest.raises(ValueError, match="webhook URL"):
            PayvenEmulator(webhook_url=url)


# --- the blocking twin ----------------------------------------------------------------


@pytest.fixture
def blocking_receiver() -> Iterator[Receiver]:
    """A Receiver served from a thread of its own, for tests without an event loop."""
    server = ThreadLoop(lambda: receiving(Receiver()), name="webhook-receiver")
    hook = server.start()
    try:
        yield hook
    finally:
        server.stop()


def test_sync_emulator_delivers_and_drains(blocking_receiver: Receiver) -> None:
    """SyncPayvenEmulator delivers too; drain_webhooks blocks until the delivery is done."""
    with (
        SyncPayvenEmulator(webhook_url=blocking_receiver.url, webhook_secret=SECRET) as emu,
        emu.client() as client,
    ):
        session = client.create_checkout_session(CheckoutSessionRequest(amount=15000))
        assert session.session_id is not None
        result = client.pay(session.session_id, pay_request())
        emu.drain_webhooks()
        now = emu.clock.now()
        assert emu.webhooks.deliveries[0].state == "delivered"
    delivery = blocking_receiver.received[0]
    event = verify_webhook(delivery.body, delivery.headers, SECRET, now=now)
    assert event.data.transaction_id == result.transaction_id
