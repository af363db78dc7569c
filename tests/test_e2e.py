"""End-to-end: PayvenClient against the emulator over real loopback HTTP.

These pin what a user of the client gets when the service misbehaves the way real
services do: dropped connections, 5xx, broken bodies, expired and revoked tokens,
rate limits, and big batches. Faults are scripted, never timed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from payven_async import (
    CheckoutSessionRequest,
    NotFoundError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenClient,
    PayvenConnectionError,
    ServerError,
)
from payven_async.testing import PayvenEmulator

from .emulator_support import APPROVED, CVV, INSUFFICIENT, pay_request


async def _session(client: PayvenClient, amount: int = 15000) -> str:
    session = await client.create_checkout_session(CheckoutSessionRequest(amount=amount))
    assert session.session_id is not None
    return session.session_id


async def test_pay_then_query_tells_one_consistent_story(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Session, pay and query agree on the transaction, the amount and the session state."""
    session_id = await _session(payven_client, 12345)
    result = await payven_client.pay(session_id, pay_request(amount=12345, external_id="O-1"))
    query = await payven_client.query(result.transaction_id or "", order_id="O-1")
    session = await payven_client.get_checkout_session(session_id)
    assert result.is_success
    assert query.internal is not None
    assert query.internal.amount == 12345
    assert session.transaction_id == result.transaction_id
    assert result.extra_properties["external_id"] == "O-1"
    assert payven_emulator.calls["token"] == 1


async def test_a_drop_after_the_charge_is_retried_into_one_charge(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """The connection drops after charging; the client's retry, same key, gets the replay."""
    session_id = await _session(payven_client)
    payven_emulator.faults.drop_next("pay", after_charge=True)
    result = await payven_client.pay(session_id, pay_request())
    assert result.is_success
    assert payven_emulator.calls["pay"] == 2
    assert payven_emulator.idempotency.replays == 1
    assert [p.transaction_id for p in payven_emulator.ledger.charges()] == [result.transaction_id]
    keys = {r.idempotency_key for r in payven_emulator.requests if r.route == "pay"}
    assert len(keys) == 1


async def test_drops_past_the_retries_are_an_unknown_outcome_resolved_by_the_key(
    payven_emulator: PayvenEmulator,
) -> None:
    """Every attempt dropped after charging: PaymentOutcomeUnknown; paying again with its key
    returns the one charge that was made."""
    async with payven_emulator.client(max_retries=2) as client:
        session_id = await _session(client)
        payven_emulator.faults.drop_next("pay", after_charge=True, times=3)
        with pytest.raises(PaymentOutcomeUnknown) as caught:
            await client.pay(session_id, pay_request(external_id="ORDER-9"))
        unknown = caught.value
        assert unknown.external_id == "ORDER-9"
        assert APPROVED not in str(unknown)
        assert len(payven_emulator.ledger.charges()) == 1
        result = await client.pay(
            session_id, pay_request(external_id="ORDER-9"), idempotency_key=unknown.idempotency_key
        )
    assert [p.transaction_id for p in payven_emulator.ledger.charges()] == [result.transaction_id]


async def test_a_drop_before_the_charge_is_retried_and_charges_once(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """A connection lost before the work is retried; exactly one charge results."""
    session_id = await _session(payven_client)
    payven_emulator.faults.drop_next("pay")
    result = await payven_client.pay(session_id, pay_request())
    assert result.is_success
    assert len(payven_emulator.ledger.charges()) == 1
    assert payven_emulator.idempotency.replays == 0


async def test_a_500_on_pay_is_retried_with_the_same_key(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """An injected 500 before the work is retried; one charge, one key."""
    session_id = await _session(payven_client)
    payven_emulator.faults.fail_next("pay", status=500)
    assert (await payven_client.pay(session_id, pay_request())).is_success
    assert len(payven_emulator.ledger.charges()) == 1


async def test_persistent_500s_on_query_end_in_server_error(
    payven_emulator: PayvenEmulator,
) -> None:
    """A route that always answers 500 exhausts the retries and raises ServerError."""
    async with payven_emulator.client(max_retries=1) as client:
        await client.token()
        payven_emulator.faults.set_error_rate("query", 1.0, statuses=[500])
        with pytest.raises(ServerError) as caught:
            await client.query(str(uuid.uuid4()))
    assert caught.value.status == 500
    assert caught.value.correlation_id
    assert payven_emulator.calls["query"] == 2


async def test_a_truncated_pay_answer_is_retried_into_the_replay(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """The answer breaks off mid-body after the charge; the retry replays it: one charge."""
    session_id = await _session(payven_client)
    payven_emulator.faults.truncate_next("pay")
    result = await payven_client.pay(session_id, pay_request())
    assert result.is_success
    assert payven_emulator.idempotency.replays == 1
    assert len(payven_emulator.ledger.charges()) == 1


async def test_a_truncated_query_answer_without_retries_is_a_connection_error(
    payven_emulator: PayvenEmulator,
) -> None:
    """Without retries a truncated answer surfaces as PayvenConnectionError."""
    (transaction_id,) = payven_emulator.seed_payments(1)
    async with payven_emulator.client(max_retries=0) as client:
        payven_emulator.faults.truncate_next("query")
        with pytest.raises(PayvenConnectionError):
            await client.query(transaction_id)
        assert (await client.query(transaction_id)).transaction_id == transaction_id


async def test_a_malformed_pay_answer_is_an_error_and_the_key_finds_the_charge(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """A 200 whose body is broken JSON is an unknown outcome; the same key then returns the
    charge that was made."""
    session_id = await _session(payven_client)
    payven_emulator.faults.malform_next("pay")
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await payven_client.pay(session_id, pay_request(), idempotency_key="order-77")
    assert caught.value.idempotency_key == "order-77"
    result = await payven_client.pay(session_id, pay_request(), idempotency_key="order-77")
    assert [p.transaction_id for p in payven_emulator.ledger.charges()] == [result.transaction_id]


async def test_a_token_expired_on_the_servers_clock_is_renewed_through_refresh(
    payven_emulator: PayvenEmulator,
) -> None:
    """A client on its own clock (not the emulator's) whose token the service says has
    expired: the next call gets 401 token_expired, refreshes once and succeeds."""
    (transaction_id,) = payven_emulator.seed_payments(1)
    async with PayvenClient(**payven_emulator.credentials()) as client:
        await client.query(transaction_id)
        payven_emulator.clock.advance(301)
        await client.query(transaction_id)
    assert payven_emulator.calls["token"] == 1
    assert payven_emulator.calls["refresh"] == 1
    assert payven_emulator.calls["query"] == 3


@pytest.mark.parametrize("seconds", [241, 301])
async def test_the_emulators_clock_drives_the_clients_token_clock(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient, seconds: int
) -> None:
    """Moved past the renewal point (a 300 s token is renewed 60 s early) or past the
    expiry, the emulator's clock makes its client refresh before its next call: no 401,
    no sleeping."""
    (transaction_id,) = payven_emulator.seed_payments(1)
    await payven_client.query(transaction_id)
    payven_emulator.clock.advance(239)
    await payven_client.query(transaction_id)
    assert payven_emulator.calls["refresh"] == 0  # not due yet
    payven_emulator.clock.advance(seconds - 239)
    await payven_client.query(transaction_id)
    assert payven_emulator.calls["token"] == 1
    assert payven_emulator.calls["refresh"] == 1
    assert payven_emulator.calls["query"] == 3  # one a call: no 401, no replay


async def test_revoked_tokens_fall_back_to_client_credentials(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Every token revoked: the 401 drops the token, refresh fails, credentials get a new one."""
    (transaction_id,) = payven_emulator.seed_payments(1)
    await payven_client.query(transaction_id)
    payven_emulator.revoke_tokens()
    await payven_client.query(transaction_id)
    assert payven_emulator.calls["token"] == 2
    assert payven_emulator.calls["refresh"] == 1


async def test_a_cold_client_makes_one_token_request_for_many_calls(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Fifty concurrent queries on a cold client share one token request."""
    ids = payven_emulator.seed_payments(50)
    results = await asyncio.gather(*(payven_client.query(i) for i in ids))
    assert [r.transaction_id for r in results] == ids
    assert payven_emulator.calls["token"] == 1


async def test_query_many_yields_one_outcome_per_id(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Two thousand seeded ids and a few unknown ones: one outcome each, unknown ones 404."""
    known = payven_emulator.seed_payments(2000, declined=range(0, 2000, 100))
    unknown = [str(uuid.uuid4()) for _ in range(7)]
    seen: dict[str, bool] = {}
    progress: list[str] = []
    async for outcome in payven_client.query_many(
        [*known, *unknown], concurrency=64, progress=lambda o: progress.append(o.transaction_id)
    ):
        assert outcome.transaction_id not in seen
        seen[outcome.transaction_id] = outcome.ok
        if not outcome.ok:
            assert isinstance(outcome.error, NotFoundError)
    assert len(seen) == len(progress) == 2007
    assert [i for i, ok in seen.items() if not ok] == [i for i in seen if i in unknown]
    assert set(unknown) == {i for i, ok in seen.items() if not ok}


async def test_query_many_in_order_survives_injected_errors(
    payven_emulator: PayvenEmulator,
) -> None:
    """With a 10% error rate on query, retries still give every id its result, in order."""
    ids = payven_emulator.seed_payments(200)
    payven_emulator.faults.set_error_rate("query", 0.1, statuses=[500])
    payven_emulator.faults.seed = 3
    async with payven_emulator.client(max_retries=5) as client:
        outcomes = [o async for o in client.query_many(ids, concurrency=16, ordered=True)]
    assert [o.transaction_id for o in outcomes] == ids
    assert all(o.ok for o in outcomes)
    assert payven_emulator.faults.injected["error"] > 0


async def test_declines_carry_codes_and_never_card_data(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A decline's error has both codes; nothing logged or raised shows the PAN, CVV or secret."""
    caplog.set_level(logging.DEBUG)
    session_id = await _session(payven_client)
    with pytest.raises(PaymentDeclinedError) as caught:
        await payven_client.pay(session_id, pay_request(INSUFFICIENT))
    error = caught.value
    assert (error.code, error.provider_error_code) == ("insufficient_funds", "51")
    shown = f"{error} {error!r} {caplog.text}"
    for secret in (INSUFFICIENT, payven_emulator.client_secret, f"cvv={CVV}"):
        assert secret not in shown
