"""Fault injection against the emulator: nothing charged twice, nothing lost, nothing leaked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from payven_async import (
    Card,
    DecodeError,
    Money,
    PaymentOutcomeUnknown,
    PayRequest,
    PayvenClient,
    PayvenConnectionError,
    PayvenTimeoutError,
    QueryOutcome,
)
from payven_async.models import CheckoutSessionRequest
from payven_async.testing import Faults, PayvenEmulator

from .batch_support import running_batch_workers

APPROVED_CARD = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")


@pytest.fixture
async def emulator() -> AsyncIterator[PayvenEmulator]:
    """A running emulator with no faults and no rate limit."""
    async with PayvenEmulator(rate_limit=None) as emu:
        yield emu


async def open_session(client: PayvenClient) -> str:
    session = await client.create_checkout_session(CheckoutSessionRequest(amount=15000))
    assert session.session_id is not None
    return session.session_id


def pay_request() -> PayRequest:
    return PayRequest(amount=Money(15000), card=APPROVED_CARD, external_id="ORDER-7")


async def test_answer_lost_after_the_charge_is_retried_into_one_charge(
    emulator: PayvenEmulator,
) -> None:
    """The connection drops after charging; the retry replays the answer, one charge."""
    async with emulator.client(max_retries=2) as client:
        session_id = await open_session(client)
        emulator.faults.drop_next("pay", after_charge=True)
        result = await client.pay(session_id, pay_request())
    assert result.is_success
    assert len(emulator.ledger.charges()) == 1
    pays = [request for request in emulator.requests if request.route == "pay"]
    assert len(pays) == 2
    assert pays[0].idempotency_key == pays[1].idempotency_key


async def test_unknown_outcome_is_resolved_by_paying_again_with_the_key(
    emulator: PayvenEmulator,
) -> None:
    """Without retries the caller gets PaymentOutcomeUnknown; paying again with its key
    returns the original result and never charges twice."""
    async with emulator.client(max_retries=0) as client:
        session_id = await open_session(client)
        emulator.faults.drop_next("pay", after_charge=True)
        with pytest.raises(PaymentOutcomeUnknown) as caught:
            await client.pay(session_id, pay_request())
        unknown = caught.value
        assert unknown.external_id == "ORDER-7"
        result = await client.pay(
            session_id, pay_request(), idempotency_key=unknown.idempotency_key
        )
    assert result.is_success
    assert len(emulator.ledger.charges()) == 1


async def test_malformed_pay_answer_is_an_unknown_outcome(emulator: PayvenEmulator) -> None:
    """A 200 whose body cannot be read is PaymentOutcomeUnknown, not a bare DecodeError."""
    async with emulator.client(max_retries=0) as client:
        session_id = await open_session(client)
        emulator.faults.malform_next("pay")
        with pytest.raises(PaymentOutcomeUnknown) as caught:
            await client.pay(session_id, pay_request())
    assert isinstance(caught.value.__cause__, DecodeError)
    assert len(emulator.ledger.charges()) == 1


async def test_truncated_pay_answer_is_retried_into_the_result(emulator: PayvenEmulator) -> None:
    """A body cut short mid-way is a connection fault; the keyed retry returns the result."""
    async with emulator.client(max_retries=1) as client:
        session_id = await open_session(client)
        emulator.faults.truncate_next("pay")
        result = await client.pay(session_id, pay_request())
    assert result.is_success
    assert len(emulator.ledger.charges()) == 1


async def test_drop_before_charge_is_retried_safely(emulator: PayvenEmulator) -> None:
    """A connection lost before the charge is retried and charges exactly once."""
    async with emulator.client(max_retries=2) as client:
        session_id = await open_session(client)
        emulator.faults.drop_next("pay", times=2)
        result = await client.pay(session_id, pay_request())
    assert result.is_success
    assert len(emulator.ledger.charges()) == 1


async def test_flaky_batch_gives_every_id_exactly_one_outcome(emulator: PayvenEmulator) -> None:
    """n ids in, n outcomes out, each id once, while 30 % of queries fail at first."""
    transaction_ids = emulator.seed_payments(400)
    emulator.faults.set_error_rate("query", 0.3, statuses=(500, 502))
    emulator.faults.seed = 11
    async with emulator.client(max_retries=3) as client:
        outcomes = [o async for o in client.query_many(transaction_ids, concurrency=24)]
    assert sorted(o.transaction_id for o in outcomes) == sorted(transaction_ids)
    assert emulator.faults.injected.get("error", 0) > 0
    failed = [o for o in outcomes if not o.ok]
    assert all(o.error is not None and o.result is None for o in failed)
    assert len(failed) < len(outcomes) // 10  # three retries cure nearly all of them


async def test_flaky_batch_without_retries_loses_nothing(emulator: PayvenEmulator) -> None:
    """Failures without retries are outcomes carrying errors, never missing ids."""
    transaction_ids = emulator.seed_payments(200)
    emulator.faults.set_error_rate("query", 0.5, statuses=(500,))
    async with emulator.client(max_retries=0) as client:
        outcomes = [o async for o in client.query_many(transaction_ids, concurrency=16)]
    assert sorted(o.transaction_id for o in outcomes) == sorted(transaction_ids)
    assert any(not o.ok for o in outcomes)
    assert any(o.ok for o in outcomes)


async def test_429_storm_is_ridden_out_by_the_shared_pause() -> None:
    """Under a server rate limit every query eventually succeeds, each id once."""
    async with PayvenEmulator(rate_limit=40) as emu:
        # 60 ids at 40 a second: one second's window is overrun and ridden out (the
        # pause is Retry-After's real second: the storm itself is what is tested).
        transaction_ids = emu.seed_payments(60)
        async with emu.client(max_retries=8) as client:
            outcomes = [o async for o in client.query_many(transaction_ids, concurrency=32)]
        limited = [r for r in emu.requests if r.route == "query"]
    assert sorted(o.transaction_id for o in outcomes) == sorted(transaction_ids)
    assert all(o.ok for o in outcomes)
    assert len(limited) > len(transaction_ids)  # the server did say 429


async def test_a_stalled_server_raises_the_timeout(emulator: PayvenEmulator) -> None:
    """A query that stalls past its timeout raises PayvenTimeoutError."""
    (transaction_id,) = emulator.seed_payments(1)
    async with emulator.client(max_retries=0) as client:
        await client.token()
        emulator.faults.delay_next("query", 30)
        with pytest.raises(PayvenTimeoutError):
            await client.query(transaction_id, timeout=0.3)


async def test_a_stall_is_retried_into_an_answer(emulator: PayvenEmulator) -> None:
    """After one stalled attempt times out, the retry gets the answer."""
    (transaction_id,) = emulator.seed_payments(1)
    async with emulator.client(max_retries=1) as client:
        await client.token()
        emulator.faults.delay_next("query", 30)
        query = await client.query(transaction_id, timeout=0.3)
    assert query.transaction_id == transaction_id


async def test_malformed_and_truncated_query_answers(emulator: PayvenEmulator) -> None:
    """Broken bodies raise DecodeError or PayvenConnectionError without retries."""
    (transaction_id,) = emulator.seed_payments(1)
    async with emulator.client(max_retries=0) as client:
        emulator.faults.malform_next("query")
        with pytest.raises(DecodeError):
            await client.query(transaction_id)
        emulator.faults.truncate_next("query")
        with pytest.raises(PayvenConnectionError):
            await client.query(transaction_id)
        query = await client.query(transaction_id)
    assert query.transaction_id == transaction_id


async def test_token_expiring_mid_batch_is_renewed_once(emulator: PayvenEmulator) -> None:
    """When every token expires mid-batch, the batch renews once and loses nothing."""
    transaction_ids = emulator.seed_payments(300)
    expired = False

    def expire_halfway(outcome: QueryOutcome) -> None:
        nonlocal expired
        if not expired:
            expired = True
            emulator.clock.advance(400)

    async with emulator.client() as client:
        outcomes = [
            o
            async for o in client.query_many(
                transaction_ids, concurrency=16, progress=expire_halfway
            )
        ]
    assert sorted(o.transaction_id for o in outcomes) == sorted(transaction_ids)
    assert all(o.ok for o in outcomes)
    renewals = emulator.calls["token"] + emulator.calls["refresh"]
    assert renewals == 2  # the first token, and one renewal


async def test_revoked_tokens_fall_back_to_client_credentials(emulator: PayvenEmulator) -> None:
    """When access and refresh tokens are both revoked, the client logs in again."""
    (transaction_id,) = emulator.seed_payments(1)
    async with emulator.client() as client:
        await client.query(transaction_id)
        emulator.revoke_tokens()
        await client.query(transaction_id)
    assert emulator.calls["token"] == 2


async def test_cancelling_mid_batch_leaves_nothing_behind() -> None:
    """Cancelling a batch in flight cancels every worker and frees every connection."""
    async with PayvenEmulator(rate_limit=None, faults=Faults(latency=0.05)) as emu:
        transaction_ids = emu.seed_payments(500)
        async with emu.client() as client:
            seen = 0
            forty_in = asyncio.Event()

            async def consume() -> None:
                nonlocal seen
                async for _ in client.query_many(transaction_ids, concurrency=32):
                    seen += 1
                    if seen == 40:
                        forty_in.set()

            task = asyncio.create_task(consume())
            await forty_in.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert running_batch_workers() == []
            session = client._transport._session
            assert session is not None
            assert not session.connector._acquired  # type: ignore[union-attr]
        assert seen < len(transaction_ids)


async def test_an_unreachable_proxy_is_named_in_the_error(emulator: PayvenEmulator) -> None:
    """A proxy that refuses connections: the error names the proxy (not the API host),
    without the proxy's credentials, and says the request was never sent."""
    import socket

    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = f"http://user:s3cret-pass@127.0.0.1:{port}"
    async with emulator.client(proxy=proxy, max_retries=0) as client:
        with pytest.raises(PayvenConnectionError) as caught:
            await client.token()
    message = str(caught.value)
    assert message.startswith(f"cannot connect to the proxy 127.0.0.1:{port}: ")
    assert "s3cret-pass" not in message
    assert caught.value.request_sent is False
