"""The payment operations on the client, end to end against the emulator over loopback.

Direct and 3-D Secure payments, get payment, refund, void, capture and history: happy
paths, declines, the ledger's rules mapped to error classes, idempotent retries after
lost answers (money never moves twice), and validation before any I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

import payven_sync
from payven_async import (
    CaptureRequest,
    Card,
    InvalidRequestError,
    Money,
    NotFoundError,
    OperationType,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PaymentRequest,
    PaymentResult,
    PayvenClient,
    RefundReasonCode,
    RefundRequest,
    ServerError,
    ThreeDSInitRequest,
    ValidationError,
    VoidRequest,
)
from payven_async.testing import PayvenEmulator, SyncPayvenEmulator

from .emulator_support import APPROVED, CVV, INSUFFICIENT, card

THREE_DS_ONLY = "4546712000000003"
CALLBACK = "https://shop.example/3ds/callback"


def payment(number: str = APPROVED, amount: int = 15000, **fields: Any) -> PaymentRequest:
    """A direct payment of ``amount`` kuruş with the given test card."""
    return PaymentRequest(amount=Money(amount, "TRY"), card=card(number), **fields)


def pre_auth(amount: int = 15000) -> PaymentRequest:
    """A direct pre-authorisation of ``amount`` kuruş."""
    return payment(amount=amount, operation_type=OperationType.PRE_AUTH)


def three_ds(number: str = APPROVED, amount: int = 15000, **fields: Any) -> ThreeDSInitRequest:
    """A 3-D Secure init of ``amount`` kuruş with the given test card."""
    return ThreeDSInitRequest(
        amount=Money(amount, "TRY"), card=card(number), callback_url=CALLBACK, **fields
    )


@pytest.fixture
async def emu() -> AsyncIterator[PayvenEmulator]:
    """A fresh emulator."""
    async with PayvenEmulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: PayvenEmulator) -> AsyncIterator[PayvenClient]:
    """A client of the emulator (default retries: two, with the usual short back-off)."""
    async with emu.client() as payven:
        yield payven


# --- direct payments ---------------------------------------------------------------------


async def test_a_direct_payment_charges_and_get_payment_reads_it(client: PayvenClient) -> None:
    """create_payment answers completed; get_payment returns the PaymentStatusDto fields."""
    result = await client.create_payment(payment(external_id="ORDER-1", basket_id="B-1"))
    assert (result.status, result.is_success) == ("completed", True)
    assert result.extra_properties["external_id"] == "ORDER-1"
    assert result.transaction_id is not None
    status = await client.get_payment(result.transaction_id)
    assert (status.transaction_id, status.status) == (result.transaction_id, "completed")
    assert (status.amount, status.currency, status.basket_id) == (15000, "TRY", "B-1")
    assert status.is_3d_secure is False
    assert status.created is not None
    assert status.created.tzinfo is not None


async def test_a_direct_pre_auth_is_authorized(client: PayvenClient) -> None:
    """operation_type PRE_AUTH reserves the amount: status authorized."""
    result = await client.create_payment(pre_auth())
    assert (result.status, result.is_success) == ("authorized", True)


async def test_a_declined_direct_payment_raises_declined_and_is_still_recorded(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """A bank decline is PaymentDeclinedError (code, bank code); get_payment shows it failed."""
    with pytest.raises(PaymentDeclinedError) as caught:
        await client.create_payment(payment(INSUFFICIENT))
    assert (caught.value.status, caught.value.code) == (422, "insufficient_funds")
    assert caught.value.provider_error_code == "51"
    (record,) = emu.ledger
    failed = await client.get_payment(record.transaction_id)
    assert (failed.status, failed.is_success, failed.error_code) == (
        "failed",
        False,
        "insufficient_funds",
    )
    assert failed.provider_error_code == "51"


async def test_get_payment_of_an_unknown_id_is_not_found(client: PayvenClient) -> None:
    """GET /payments/{id} for an id the ledger never saw raises NotFoundError."""
    with pytest.raises(NotFoundError) as caught:
        await client.get_payment("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert caught.value.code == "payment_not_found"


# --- 3-D Secure ----------------------------------------------------------------------------


async def test_3ds_init_says_where_to_send_the_customer_and_complete_charges(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """init answers three_d_secure_init_processing with redirect/html; complete -> completed."""
    started = await client.init_3ds(three_ds(THREE_DS_ONLY))
    assert started.status == "three_d_secure_init_processing"
    assert started.redirect_url is not None
    assert started.redirect_url.startswith(emu.url)
    assert started.redirect_method == "GET"
    assert started.html_content is not None
    assert "<form" in started.html_content
    assert started.transaction_id is not None
    assert not emu.ledger.charges()[0].auth_code  # nothing is charged before complete
    done = await client.complete_3ds(started.transaction_id)
    assert (done.transaction_id, done.status, done.is_success) == (
        started.transaction_id,
        "completed",
        True,
    )
    status = await client.get_payment(started.transaction_id)
    assert (status.status, status.is_3d_secure) == ("completed", True)


async def test_3ds_pre_auth_completes_as_authorized(client: PayvenClient) -> None:
    """A 3-D Secure pre-auth is authorized after complete, ready for capture."""
    started = await client.init_3ds(three_ds(operation_type=OperationType.PRE_AUTH))
    assert started.transaction_id is not None
    done = await client.complete_3ds(started.transaction_id, need_verification=False)
    assert done.status == "authorized"
    captured = await client.capture(started.transaction_id, CaptureRequest(amount=Money(15000)))
    assert captured.status == "completed"


async def test_3ds_complete_of_a_declining_card_raises_declined(client: PayvenClient) -> None:
    """The bank declines at complete: 200 with is_success false -> PaymentDeclinedError."""
    started = await client.init_3ds(three_ds(INSUFFICIENT))
    assert started.transaction_id is not None
    with pytest.raises(PaymentDeclinedError) as caught:
        await client.complete_3ds(started.transaction_id)
    assert (caught.value.code, caught.value.provider_error_code) == ("insufficient_funds", "51")
    assert caught.value.result is not None
    assert caught.value.result.status == "failed"


async def test_3ds_complete_twice_or_too_late_is_refused(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """A second complete is three_ds_complete_not_allowed; after 15 min, three_ds_timeout."""
    started = await client.init_3ds(three_ds())
    assert started.transaction_id is not None
    await client.complete_3ds(started.transaction_id)
    with pytest.raises(InvalidRequestError) as caught:
        await client.complete_3ds(started.transaction_id)
    assert caught.value.code == "three_ds_complete_not_allowed"
    late = await client.init_3ds(three_ds())
    assert late.transaction_id is not None
    emu.clock.advance(16 * 60)
    with pytest.raises(PaymentDeclinedError) as timed_out:
        await client.complete_3ds(late.transaction_id)
    assert timed_out.value.code == "three_ds_timeout"


# --- refunds -------------------------------------------------------------------------------


async def test_partial_refunds_add_up_and_the_last_makes_it_refunded(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """Two partial refunds stay completed, the one taking what is left gives refunded."""
    paid = await client.create_payment(payment(amount=15000))
    tid = paid.transaction_id
    assert tid is not None
    first = await client.refund(
        tid, RefundRequest(amount=5000, reason_code=RefundReasonCode.CUSTOMER_REQUEST)
    )
    assert (first.status, first.extra_properties["remaining_refundable"]) == ("completed", "10000")
    second = await client.refund(tid, RefundRequest(amount=4000, reason="kısmi iade"))
    assert second.extra_properties["remaining_refundable"] == "6000"
    full = await client.refund(tid, RefundRequest(amount=6000, currency="TRY"))
    assert (full.status, full.extra_properties["remaining_refundable"]) == ("refunded", "0")
    assert emu.ledger.payments[tid].refunded_amount == 15000
    with pytest.raises(InvalidRequestError) as caught:
        await client.refund(tid, RefundRequest(amount=100))
    assert caught.value.code == "payment_already_refunded"


async def test_a_refund_beyond_the_captured_amount_is_refused(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """refund_exceeds_original (422, InvalidRequestError); nothing is refunded."""
    paid = await client.create_payment(payment(amount=15000))
    assert paid.transaction_id is not None
    await client.refund(paid.transaction_id, RefundRequest(amount=10000))
    with pytest.raises(InvalidRequestError) as caught:
        await client.refund(paid.transaction_id, RefundRequest(amount=5001))
    assert (caught.value.status, caught.value.code) == (422, "refund_exceeds_original")
    assert emu.ledger.payments[paid.transaction_id].refunded_amount == 10000


async def test_a_captured_pre_auth_refunds_up_to_the_captured_amount(
    client: PayvenClient,
) -> None:
    """After capturing 12000 of 15000, refunding 12001 is refused and 12000 is a full refund."""
    held = await client.create_payment(pre_auth(15000))
    assert held.transaction_id is not None
    await client.capture(held.transaction_id, CaptureRequest(amount=Money(12000)))
    with pytest.raises(InvalidRequestError) as caught:
        await client.refund(held.transaction_id, RefundRequest(amount=12001))
    assert caught.value.code == "refund_exceeds_original"
    refunded = await client.refund(held.transaction_id, RefundRequest(amount=12000))
    assert refunded.status == "refunded"


@pytest.mark.parametrize(
    ("setup", "code"),
    [("pre_auth", "payment_not_refundable"), ("declined", "payment_not_refundable")],
)
async def test_refunds_of_payments_that_took_no_money_are_refused(
    client: PayvenClient, emu: PayvenEmulator, setup: str, code: str
) -> None:
    """An uncaptured pre-auth or a failed payment cannot be refunded (payment_not_refundable)."""
    if setup == "pre_auth":
        await client.create_payment(pre_auth())
    else:
        with pytest.raises(PaymentDeclinedError):
            await client.create_payment(payment(INSUFFICIENT))
    (record,) = emu.ledger
    with pytest.raises(InvalidRequestError) as caught:
        await client.refund(record.transaction_id, RefundRequest(amount=100))
    assert caught.value.code == code


async def test_a_refund_of_an_unknown_payment_is_not_found(client: PayvenClient) -> None:
    """payment_not_found is NotFoundError, not an unknown outcome."""
    with pytest.raises(NotFoundError):
        await client.refund("3c90c3cc-0d44-4b50-8888-8dd25736052a", RefundRequest(amount=100))


# --- void ----------------------------------------------------------------------------------


async def test_a_void_cancels_the_payment_once(client: PayvenClient) -> None:
    """void gives canceled; a second void is payment_already_voided."""
    paid = await client.create_payment(payment())
    assert paid.transaction_id is not None
    voided = await client.void(paid.transaction_id, VoidRequest(reason="stok yok"))
    assert (voided.status, voided.is_success) == ("canceled", True)
    with pytest.raises(InvalidRequestError) as caught:
        await client.void(paid.transaction_id)
    assert caught.value.code == "payment_already_voided"
    assert (await client.get_payment(paid.transaction_id)).status == "canceled"


async def test_a_void_releases_an_uncaptured_pre_auth(client: PayvenClient) -> None:
    """A pre-auth can be voided; it then cannot be captured."""
    held = await client.create_payment(pre_auth())
    assert held.transaction_id is not None
    assert (await client.void(held.transaction_id)).status == "canceled"
    with pytest.raises(InvalidRequestError) as caught:
        await client.capture(held.transaction_id, CaptureRequest(amount=Money(100)))
    assert caught.value.code == "capture_not_allowed"


async def test_a_void_after_the_settlement_day_is_refused(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """The next bank day a void is void_not_allowed_after_settlement; a refund still works."""
    paid = await client.create_payment(payment())
    assert paid.transaction_id is not None
    emu.clock.advance(24 * 3600)
    with pytest.raises(InvalidRequestError) as caught:
        await client.void(paid.transaction_id)
    assert caught.value.code == "void_not_allowed_after_settlement"
    assert (await client.refund(paid.transaction_id, RefundRequest(amount=15000))).status == (
        "refunded"
    )


async def test_a_partly_refunded_payment_cannot_be_voided(client: PayvenClient) -> None:
    """A void is for the whole amount: after a partial refund it is payment_not_voidable."""
    paid = await client.create_payment(payment())
    assert paid.transaction_id is not None
    await client.refund(paid.transaction_id, RefundRequest(amount=100))
    with pytest.raises(InvalidRequestError) as caught:
        await client.void(paid.transaction_id)
    assert caught.value.code == "payment_not_voidable"


# --- capture -------------------------------------------------------------------------------


async def test_a_capture_turns_a_pre_auth_into_a_charge_once(client: PayvenClient) -> None:
    """capture gives completed with captured/released amounts; a second is already_captured."""
    held = await client.create_payment(pre_auth(15000))
    assert held.transaction_id is not None
    captured = await client.capture(held.transaction_id, CaptureRequest(amount=Money(14750)))
    assert captured.status == "completed"
    assert captured.extra_properties["captured_amount"] == "14750"
    assert captured.extra_properties["released_amount"] == "250"
    with pytest.raises(InvalidRequestError) as caught:
        await client.capture(held.transaction_id, CaptureRequest(amount=Money(100)))
    assert caught.value.code == "payment_already_captured"


@pytest.mark.parametrize(
    ("operation", "amount", "advance", "code"),
    [
        (OperationType.SALE, 100, 0, "payment_not_pre_auth"),
        (OperationType.PRE_AUTH, 15001, 0, "capture_amount_exceeds_authorization"),
        (OperationType.PRE_AUTH, 100, 24 * 3600 + 1, "pre_auth_expired"),
    ],
)
async def test_captures_the_ledger_refuses(
    client: PayvenClient,
    emu: PayvenEmulator,
    operation: OperationType,
    amount: int,
    advance: int,
    code: str,
) -> None:
    """Sales, amounts over the authorisation and pre-auths older than 24 h are refused."""
    paid = await client.create_payment(payment(amount=15000, operation_type=operation))
    assert paid.transaction_id is not None
    emu.clock.advance(advance)
    with pytest.raises(InvalidRequestError) as caught:
        await client.capture(paid.transaction_id, CaptureRequest(amount=Money(amount)))
    assert (caught.value.status, caught.value.code) == (422, code)
    assert emu.ledger.payments[paid.transaction_id].captured_amount is None


# --- history -------------------------------------------------------------------------------


async def test_history_lists_every_step_oldest_first(client: PayvenClient) -> None:
    """Pre-auth, capture, refund: three steps with statuses, charge types and Decimal amounts."""
    held = await client.create_payment(pre_auth(15000), idempotency_key="order-7-payment")
    tid = held.transaction_id
    assert tid is not None
    await client.capture(tid, CaptureRequest(amount=Money(12000)))
    await client.refund(tid, RefundRequest(amount=2000))
    history = await client.get_payment_history(tid)
    assert (history.transaction_id, history.status) == (tid, "completed")
    assert (history.original_amount, history.net_amount, history.currency) == (15000, 10000, "TRY")
    steps = [(s.status, s.previous_status, s.charge_type) for s in history.internal_history]
    assert steps == [
        ("authorized", None, "pre_auth"),
        ("completed", "authorized", "post_auth"),
        ("completed", "completed", "refund"),
    ]
    amounts = [step.amount for step in history.internal_history]
    assert amounts == [Decimal(15000), Decimal(12000), Decimal(2000)]
    assert all(isinstance(amount, Decimal) for amount in amounts)
    assert history.external_history == []
    by_order = await client.get_payment_history(tid, order_id="ORDER-1")
    assert by_order.transaction_id == tid


# --- idempotency: lost answers never move money twice -----------------------------------------


async def _paid(client: PayvenClient, operation: OperationType = OperationType.SALE) -> str:
    result = await client.create_payment(payment(operation_type=operation))
    assert result.transaction_id is not None
    return result.transaction_id


Operation = Callable[[PayvenClient, str, dict[str, Any]], Awaitable[PaymentResult]]

OPERATIONS: dict[str, tuple[OperationType, Operation]] = {
    "refund_payment": (
        OperationType.SALE,
        lambda c, tid, kw: c.refund(tid, RefundRequest(amount=5000), **kw),
    ),
    "void_payment": (OperationType.SALE, lambda c, tid, kw: c.void(tid, **kw)),
    "capture_payment": (
        OperationType.PRE_AUTH,
        lambda c, tid, kw: c.capture(tid, CaptureRequest(amount=Money(15000)), **kw),
    ),
}


@pytest.mark.parametrize("route", sorted(OPERATIONS))
async def test_a_dropped_answer_is_retried_with_the_same_key_and_moves_money_once(
    client: PayvenClient, emu: PayvenEmulator, route: str
) -> None:
    """The connection drops after the work; the retry replays it: one refund/void/capture."""
    operation_type, call = OPERATIONS[route]
    tid = await _paid(client, operation_type)
    emu.faults.drop_next(route, after_charge=True)
    result = await call(client, tid, {})
    assert result.is_success
    sent = [r for r in emu.requests if r.route == route]
    assert len(sent) == 2
    assert sent[0].idempotency_key == sent[1].idempotency_key
    assert emu.idempotency.replays == 1
    assert len(emu.ledger.payments[tid].history) == 2  # the payment, then one operation


@pytest.mark.parametrize("route", sorted(OPERATIONS))
async def test_a_lost_answer_without_retries_is_outcome_unknown_and_resolves_with_its_key(
    client: PayvenClient, emu: PayvenEmulator, route: str
) -> None:
    """PaymentOutcomeUnknown carries the key and id; the same call with that key replays."""
    operation_type, call = OPERATIONS[route]
    tid = await _paid(client, operation_type)
    emu.faults.drop_next(route, after_charge=True)
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await call(client, tid, {"max_retries": 0})
    assert caught.value.transaction_id == tid
    key = caught.value.idempotency_key
    again = await call(client, tid, {"idempotency_key": key})
    assert again.is_success
    record = emu.ledger.payments[tid]
    assert record.refunded_amount == (5000 if route == "refund_payment" else 0)
    assert len(record.history) == 2


async def test_a_lost_direct_payment_answer_charges_once(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """create_payment after a dropped answer: one charge, the retry replays it."""
    emu.faults.drop_next("create_payment", after_charge=True)
    result = await client.create_payment(payment())
    assert result.is_success
    assert len(emu.ledger) == 1
    emu.faults.drop_next("create_payment", after_charge=True)
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await client.create_payment(payment(external_id="ORDER-2"), max_retries=0)
    assert caught.value.external_id == "ORDER-2"
    again = await client.create_payment(
        payment(external_id="ORDER-2"), idempotency_key=caught.value.idempotency_key
    )
    assert again.is_success
    assert len(emu.ledger) == 2


async def test_a_lost_3ds_complete_answer_completes_once(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """complete_3ds after a dropped answer is replayed, not refused as completed already."""
    started = await client.init_3ds(three_ds())
    assert started.transaction_id is not None
    emu.faults.drop_next("complete_3ds", after_charge=True)
    done = await client.complete_3ds(started.transaction_id)
    assert done.status == "completed"
    assert emu.idempotency.replays == 1


@pytest.mark.parametrize(("status", "unknown"), [(500, True), (502, True), (503, False)])
async def test_server_errors_after_sending_a_capture(
    client: PayvenClient, emu: PayvenEmulator, status: int, unknown: bool
) -> None:
    """500/502 may have captured (outcome unknown); 503 did not take it (ServerError)."""
    tid = await _paid(client, OperationType.PRE_AUTH)
    emu.faults.fail_next("capture_payment", status=status)
    expected: type[Exception] = PaymentOutcomeUnknown if unknown else ServerError
    with pytest.raises(expected):
        await client.capture(tid, CaptureRequest(amount=Money(100)), max_retries=0)


async def test_every_mutating_call_carries_an_idempotency_key_and_plain_json(
    client: PayvenClient, emu: PayvenEmulator
) -> None:
    """Each POST has a key (the caller's when given) and Content-Type application/json."""
    tid = await _paid(client)
    await client.refund(tid, RefundRequest(amount=100), idempotency_key=f"refund-{tid}-1")
    started = await client.init_3ds(three_ds())
    assert started.transaction_id is not None
    await client.complete_3ds(started.transaction_id)
    posts = [r for r in emu.requests if r.method == "POST" and r.route != "token"]
    assert {r.route for r in posts} == {
        "create_payment",
        "refund_payment",
        "init_3ds",
        "complete_3ds",
    }
    assert all(r.content_type == "application/json" for r in posts)
    assert all(r.idempotency_key for r in posts)
    assert len({r.idempotency_key for r in posts}) == len(posts)
    assert [r.idempotency_key for r in posts if r.route == "refund_payment"] == [f"refund-{tid}-1"]


# --- validation before any I/O -----------------------------------------------------------------

_EXPIRED = Card("Test Kullanici", APPROVED, "01", "2020", CVV)


@pytest.mark.parametrize(
    ("call", "fields"),
    [
        (
            lambda c: c.create_payment(
                PaymentRequest(amount=Money(0, "try"), card=_EXPIRED, installment=0)
            ),
            {"amount.amount", "amount.currency", "card.expire_year", "installment"},
        ),
        (
            lambda c: c.create_payment(payment(operation_type=OperationType.REFUND)),
            {"operation_type"},
        ),
        (
            lambda c: c.init_3ds(
                ThreeDSInitRequest(
                    amount=Money(15000), card=card("4546711234567895"), callback_url="ftp://x"
                )
            ),
            {"card.number", "callback_url"},
        ),
        (
            lambda c: c.refund("", RefundRequest(amount=-5, currency="lira", reason="x" * 501)),
            {"transaction_id", "amount", "currency", "reason"},
        ),
        (
            lambda c: c.refund("t", RefundRequest(amount=15.0)),  # type: ignore[arg-type]
            {"amount"},
        ),
        (lambda c: c.refund("t", 5000), {"request"}),
        (
            lambda c: c.capture("t", CaptureRequest(amount=Money(0), extra_properties={"a": 1})),  # type: ignore[dict-item]
            {"amount.amount", "extra_properties"},
        ),
        (lambda c: c.void("t t"), {"transaction_id"}),
        (lambda c: c.void("t", idempotency_key="k" * 129), {"idempotency_key"}),
        (lambda c: c.complete_3ds("t", need_verification="yes"), {"need_verification"}),
        (lambda c: c.get_payment(""), {"transaction_id"}),
        (lambda c: c.get_payment_history("t", order_id="a b"), {"order_id"}),
    ],
)
async def test_invalid_input_is_refused_before_any_request(
    client: PayvenClient, emu: PayvenEmulator, call: Any, fields: set[str]
) -> None:
    """One ValidationError names every bad field, and nothing reaches the emulator."""
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert {problem.field for problem in caught.value.problems} == fields
    assert not emu.requests
    assert CVV not in str(caught.value)


# --- the blocking facade ---------------------------------------------------------------------


def test_the_sync_client_runs_every_operation() -> None:
    """payven_sync: pay, 3DS, refund, capture, void, get and history, without await."""
    with SyncPayvenEmulator() as emu, emu.client() as client:
        assert isinstance(client, payven_sync.PayvenClient)
        paid = client.create_payment(payment())
        assert paid.transaction_id is not None
        assert client.refund(paid.transaction_id, RefundRequest(amount=100)).is_success
        held = client.create_payment(pre_auth())
        assert held.transaction_id is not None
        assert client.capture(held.transaction_id, CaptureRequest(amount=Money(100))).is_success
        assert client.void(held.transaction_id).status == "canceled"
        started = client.init_3ds(three_ds())
        assert started.transaction_id is not None
        assert client.complete_3ds(started.transaction_id).status == "completed"
        assert client.get_payment(paid.transaction_id).amount == 15000
        assert len(client.get_payment_history(held.transaction_id).internal_history) == 3
