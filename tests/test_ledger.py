"""The emulator's ledger on its own: transitions, and the domain errors it refuses with."""

from __future__ import annotations

from typing import Any

import pytest

from payven_async.testing import TEST_CARDS, Clock, LedgerError
from payven_async.testing._answers import ledger_problem
from payven_async.testing._ledger import (
    Charge,
    Ledger,
    OperationRefused,
    RecordNotFound,
    SessionClosed,
    SessionExpired,
)
from payven_async.testing._records import PaymentRecord

from .emulator_support import APPROVED, INSUFFICIENT

THREE_DS_ONLY = next(n for n, o in TEST_CARDS.items() if o.error_code == "three_ds_required")


@pytest.fixture
def clock() -> Clock:
    """A frozen clock, moved by the tests."""
    frozen = Clock()
    frozen.freeze()
    return frozen


@pytest.fixture
def ledger(clock: Clock) -> Ledger:
    """An empty ledger: 30-minute sessions, 3 attempts each."""
    return Ledger(clock, session_ttl=1800, max_attempts=3)


def charge(number: str = APPROVED, amount: int = 15000, **fields: Any) -> Charge:
    """A charge of ``amount`` kuruş to ``number``."""
    return Charge(number=number, amount=amount, holder_name="Test Kullanici", **fields)


def refused(error: pytest.ExceptionInfo[LedgerError], kind: type[LedgerError], code: str) -> None:
    """The error is of ``kind`` with ``code`` and a Turkish detail."""
    assert isinstance(error.value, kind)
    assert error.value.code == code
    assert error.value.detail


def steps(record: PaymentRecord) -> list[str]:
    """The statuses of the record's history, oldest first."""
    return [step.status for step in record.history]


# --- charges -----------------------------------------------------------------------------


def test_a_charge_is_recorded_with_the_card_masked(ledger: Ledger) -> None:
    """charge() records completed with codes; the record keeps only the masked number."""
    record = ledger.charge(charge())
    assert (record.status, record.is_success, record.auth_code is not None) == (
        "completed",
        True,
        True,
    )
    assert record.masked_card_number == "454671******7894"
    assert APPROVED not in repr(record)
    assert APPROVED not in repr(charge())
    assert ledger.payment(record.transaction_id) is record


def test_a_declined_charge_is_recorded_failed(ledger: Ledger) -> None:
    """A declining card gives a failed record with the card's codes (no error raised)."""
    record = ledger.charge(charge(INSUFFICIENT))
    assert (record.status, record.is_success) == ("failed", False)
    assert (record.error_code, record.provider_error_code) == ("insufficient_funds", "51")
    assert ledger.charges() == []


def test_a_pre_auth_charge_is_authorized(ledger: Ledger) -> None:
    """A PreAuth charge is authorized, not completed; its net amount is 0 until captured."""
    record = ledger.charge(charge(operation_type="PreAuth"))
    assert record.status == "authorized"
    assert record.net_amount == 0


# --- checkout sessions --------------------------------------------------------------------------


def test_paying_an_unknown_session_is_not_found(ledger: Ledger) -> None:
    """pay() on a session id the ledger never issued raises RecordNotFound."""
    with pytest.raises(LedgerError) as caught:
        ledger.pay("nope", charge())
    refused(caught, RecordNotFound, "session_not_found")


def test_a_paid_session_is_closed(ledger: Ledger) -> None:
    """After an approved pay the session is completed; another pay is session_closed."""
    session = ledger.open_session(15000)
    record = ledger.pay(session.session_id, charge())
    assert (session.status, session.transaction_id, session.attempt_count) == (
        "completed",
        record.transaction_id,
        1,
    )
    assert record.session_id == session.session_id
    with pytest.raises(LedgerError) as caught:
        ledger.pay(session.session_id, charge())
    refused(caught, SessionClosed, "session_closed")
    assert len(ledger) == 1


def test_failed_attempts_use_the_session_up(ledger: Ledger) -> None:
    """Three declines make the session failed; a fourth pay is max_attempts_exceeded."""
    session = ledger.open_session(15000)
    for _ in range(3):
        assert not ledger.pay(session.session_id, charge(INSUFFICIENT)).is_success
    assert (session.status, session.failed_attempts) == ("failed", 3)
    with pytest.raises(LedgerError) as caught:
        ledger.pay(session.session_id, charge())
    refused(caught, SessionClosed, "max_attempts_exceeded")


def test_an_expired_session_is_refused(ledger: Ledger, clock: Clock) -> None:
    """Past its expiry (on the ledger's clock) a session refuses pay with session_expired."""
    session = ledger.open_session(15000)
    clock.advance(1800)
    with pytest.raises(LedgerError) as caught:
        ledger.pay(session.session_id, charge())
    refused(caught, SessionExpired, "session_expired")
    assert session.attempt_count == 0


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"amount": 14999}, "session_amount_mismatch"),
        ({"currency": "EUR"}, "session_amount_mismatch"),
        ({"installment": 6}, "session_installment_not_allowed"),
        ({"operation_type": "PreAuth"}, "pre_auth_not_allowed"),
    ],
)
def test_a_pay_off_the_session_terms_is_refused(
    ledger: Ledger, terms: dict[str, Any], code: str
) -> None:
    """Amount, currency, installment and pre-auth must match what the session allows."""
    session = ledger.open_session(15000, allowed_installments=[1, 3])
    with pytest.raises(LedgerError) as caught:
        ledger.pay(session.session_id, charge(**terms))
    refused(caught, OperationRefused, code)
    assert (len(ledger), session.attempt_count) == (0, 0)


# --- 3-D Secure -------------------------------------------------------------------------------


def test_3ds_charges_nothing_until_complete(ledger: Ledger) -> None:
    """init_3ds() waits with no auth code; complete_3ds() charges it."""
    started = ledger.init_3ds(charge())
    assert (started.status, started.is_3d_secure, started.auth_code) == (
        "three_d_secure_init_processing",
        True,
        None,
    )
    done = ledger.complete_3ds(started.transaction_id)
    assert done is started
    assert (done.status, done.is_success, done.auth_code is not None) == ("completed", True, True)
    assert steps(done) == ["three_d_secure_init_processing", "completed"]


def test_the_3ds_only_card_is_approved_at_complete(ledger: Ledger) -> None:
    """The card that only asks for 3-D Secure is approved once it gets it."""
    started = ledger.init_3ds(charge(THREE_DS_ONLY))
    assert ledger.complete_3ds(started.transaction_id).status == "completed"


def test_3ds_declines_at_complete(ledger: Ledger) -> None:
    """A declining card fails at complete (recorded, not raised)."""
    started = ledger.init_3ds(charge(INSUFFICIENT))
    done = ledger.complete_3ds(started.transaction_id)
    assert (done.status, done.error_code) == ("failed", "insufficient_funds")


def test_3ds_complete_twice_is_refused(ledger: Ledger) -> None:
    """A second complete is three_ds_complete_not_allowed, and changes nothing."""
    started = ledger.init_3ds(charge())
    ledger.complete_3ds(started.transaction_id)
    with pytest.raises(LedgerError) as caught:
        ledger.complete_3ds(started.transaction_id)
    refused(caught, OperationRefused, "three_ds_complete_not_allowed")
    assert len(started.history) == 2


def test_3ds_complete_too_late_times_out(ledger: Ledger, clock: Clock) -> None:
    """More than 15 minutes after init, complete fails with three_ds_timeout."""
    started = ledger.init_3ds(charge())
    clock.advance(15 * 60 + 1)
    done = ledger.complete_3ds(started.transaction_id)
    assert (done.status, done.error_code, done.is_success) == ("failed", "three_ds_timeout", False)


# --- refunds ----------------------------------------------------------------------------------


def test_partial_refunds_add_up_to_refunded(ledger: Ledger) -> None:
    """Refunds add up; the one taking what is left makes the payment refunded."""
    tid = ledger.charge(charge()).transaction_id
    record = ledger.refund(tid, 5000, reason="kısmi")
    assert (record.status, record.refundable, record.net_amount) == ("completed", 10000, 10000)
    assert (record.last_step.charge_type, record.last_step.amount) == ("refund", 5000)
    record = ledger.refund(tid, 10000, currency="TRY")
    assert (record.status, record.refundable, record.refunded_amount) == ("refunded", 0, 15000)
    with pytest.raises(LedgerError) as caught:
        ledger.refund(tid, 1)
    refused(caught, OperationRefused, "payment_already_refunded")


def test_a_refund_beyond_what_is_left_changes_nothing(ledger: Ledger) -> None:
    """refund_exceeds_original names what can still be refunded; nothing is refunded."""
    record = ledger.charge(charge())
    ledger.refund(record.transaction_id, 10000)
    with pytest.raises(LedgerError) as caught:
        ledger.refund(record.transaction_id, 5001)
    refused(caught, OperationRefused, "refund_exceeds_original")
    assert "5000" in caught.value.detail
    assert (record.refunded_amount, len(record.history)) == (10000, 2)


@pytest.mark.parametrize(
    ("card", "operation_type", "currency", "code"),
    [
        (INSUFFICIENT, "Sale", None, "payment_not_refundable"),
        (APPROVED, "PreAuth", None, "payment_not_refundable"),
        (APPROVED, "Sale", "EUR", "refund_currency_mismatch"),
    ],
)
def test_refunds_the_ledger_refuses(
    ledger: Ledger, card: str, operation_type: str, currency: str | None, code: str
) -> None:
    """Only a completed payment refunds, in its own currency."""
    record = ledger.charge(charge(card, operation_type=operation_type))
    with pytest.raises(LedgerError) as caught:
        ledger.refund(record.transaction_id, 100, currency=currency)
    refused(caught, OperationRefused, code)
    assert record.refunded_amount == 0


# --- void -------------------------------------------------------------------------------------


def test_a_void_cancels_once(ledger: Ledger) -> None:
    """void() gives canceled with the charged amount; a second is payment_already_voided."""
    record = ledger.void(ledger.charge(charge()).transaction_id, reason="stok yok")
    assert (record.status, record.last_step.amount, record.last_step.message) == (
        "canceled",
        15000,
        "stok yok",
    )
    assert record.net_amount == 0
    with pytest.raises(LedgerError) as caught:
        ledger.void(record.transaction_id)
    refused(caught, OperationRefused, "payment_already_voided")


def test_a_partly_refunded_payment_is_not_voidable(ledger: Ledger) -> None:
    """Once anything is refunded, void is payment_not_voidable."""
    tid = ledger.charge(charge()).transaction_id
    ledger.refund(tid, 100)
    with pytest.raises(LedgerError) as caught:
        ledger.void(tid)
    refused(caught, OperationRefused, "payment_not_voidable")


def test_a_void_on_the_next_bank_day_is_refused(ledger: Ledger, clock: Clock) -> None:
    """After midnight in Turkey, void is void_not_allowed_after_settlement."""
    record = ledger.charge(charge())
    clock.advance(24 * 3600)
    with pytest.raises(LedgerError) as caught:
        ledger.void(record.transaction_id)
    refused(caught, OperationRefused, "void_not_allowed_after_settlement")
    assert record.status == "completed"


# --- capture ----------------------------------------------------------------------------------


def test_a_capture_completes_a_pre_auth_once(ledger: Ledger) -> None:
    """capture() takes part of a pre-auth; refunds then go up to it; a second is refused."""
    tid = ledger.charge(charge(operation_type="PreAuth")).transaction_id
    record = ledger.capture(tid, 12000, "TRY")
    assert (record.status, record.captured_amount, record.last_step.charge_type) == (
        "completed",
        12000,
        "post_auth",
    )
    assert (record.refundable, record.net_amount) == (12000, 12000)
    with pytest.raises(LedgerError) as caught:
        ledger.capture(tid, 100, "TRY")
    refused(caught, OperationRefused, "payment_already_captured")


@pytest.mark.parametrize(
    ("operation_type", "amount", "currency", "code"),
    [
        ("Sale", 100, "TRY", "payment_not_pre_auth"),
        ("PreAuth", 15001, "TRY", "capture_amount_exceeds_authorization"),
        ("PreAuth", 100, "EUR", "capture_currency_mismatch"),
    ],
)
def test_captures_the_ledger_refuses(
    ledger: Ledger, operation_type: str, amount: int, currency: str, code: str
) -> None:
    """Only a pre-auth captures, in its currency, up to the authorised amount."""
    record = ledger.charge(charge(operation_type=operation_type))
    with pytest.raises(LedgerError) as caught:
        ledger.capture(record.transaction_id, amount, currency)
    refused(caught, OperationRefused, code)
    assert record.captured_amount is None


def test_a_released_or_stale_pre_auth_cannot_be_captured(ledger: Ledger, clock: Clock) -> None:
    """A voided pre-auth is capture_not_allowed; one older than 24 hours, pre_auth_expired."""
    voided = ledger.charge(charge(operation_type="PreAuth")).transaction_id
    ledger.void(voided)
    with pytest.raises(LedgerError) as caught:
        ledger.capture(voided, 100, "TRY")
    refused(caught, OperationRefused, "capture_not_allowed")
    stale = ledger.charge(charge(operation_type="PreAuth")).transaction_id
    clock.advance(24 * 3600 + 1)
    with pytest.raises(LedgerError) as caught:
        ledger.capture(stale, 100, "TRY")
    refused(caught, OperationRefused, "pre_auth_expired")


def test_operations_on_an_unknown_payment_are_not_found(ledger: Ledger) -> None:
    """Every payment transition on an unknown id raises payment_not_found."""
    for operation in (
        lambda: ledger.complete_3ds("nope"),
        lambda: ledger.refund("nope", 100),
        lambda: ledger.void("nope"),
        lambda: ledger.capture("nope", 100, "TRY"),
    ):
        with pytest.raises(LedgerError) as caught:
            operation()
        refused(caught, RecordNotFound, "payment_not_found")


# --- as the routes answer them ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RecordNotFound("payment_not_found", "Ödeme bulunamadı."), 404),
        (SessionClosed("session_closed", "Bu oturum zaten ödendi."), 409),
        (SessionExpired("session_expired", "Checkout oturumunun süresi dolmuş."), 410),
        (OperationRefused("pre_auth_expired", "Ön provizyon 24 saat içinde çekilmeliydi."), 422),
    ],
)
def test_ledger_errors_become_problems_by_kind(error: LedgerError, status: int) -> None:
    """ledger_problem keeps code and detail and picks the status by the error's kind."""
    problem = ledger_problem(error)
    assert (problem.status, problem.code, problem.detail) == (status, error.code, error.detail)
