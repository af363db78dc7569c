"""The emulator's books, and the rules by which money moves in them.

Every change to a checkout session or a payment is a :class:`Ledger` method, which
checks the API's rules before it changes anything and otherwise raises a
:class:`LedgerError`: a stable ``code`` (``refund_exceeds_original``, ...) and the
``detail`` the real API gives in Turkish. The ledger knows nothing of HTTP; the routes
answer its errors as problems (see :func:`~payven_async.testing._answers.ledger_problem`).

==============================  ================================================================
transition                      refused with
==============================  ================================================================
:meth:`Ledger.pay`              ``session_not_found``; ``session_expired``; ``session_closed``,
                                ``max_attempts_exceeded``; ``session_amount_mismatch``,
                                ``session_installment_not_allowed``, ``pre_auth_not_allowed``
:meth:`Ledger.charge`           (never: a decline is recorded, ``failed``)
:meth:`Ledger.init_3ds`         (never: the card's answer waits for :meth:`~Ledger.complete_3ds`)
:meth:`Ledger.complete_3ds`     ``payment_not_found``; ``three_ds_complete_not_allowed``
                                (15 minutes after init it completes as ``three_ds_timeout``)
:meth:`Ledger.refund`           ``payment_not_found``; ``payment_already_refunded``,
                                ``payment_not_refundable``, ``refund_currency_mismatch``,
                                ``refund_exceeds_original``
:meth:`Ledger.void`             ``payment_not_found``; ``payment_already_voided``,
                                ``payment_not_voidable``, ``void_not_allowed_after_settlement``
:meth:`Ledger.capture`          ``payment_not_found``; ``payment_not_pre_auth``,
                                ``payment_already_captured``, ``capture_not_allowed``,
                                ``pre_auth_expired``, ``capture_currency_mismatch``,
                                ``capture_amount_exceeds_authorization``
==============================  ================================================================

The bank's answer to a charge is decided by the card number (:mod:`._cards`). Card
numbers reach the ledger in a :class:`Charge` and are stored masked; CVVs never reach it.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._redact import mask_pan
from ._cards import APPROVED, CardOutcome, card_brand, outcome_for
from ._clock import Clock
from ._records import ChargebackRecord, CheckoutSessionRecord, HistoryStep, PaymentRecord

if TYPE_CHECKING:
    from ..models import PaymentRequest, PayRequest, ThreeDSInitRequest

__all__ = [
    "CAPTURE_WINDOW",
    "THREE_DS_WINDOW",
    "Charge",
    "ChargebackRecord",
    "CheckoutSessionRecord",
    "HistoryStep",
    "Ledger",
    "LedgerError",
    "OperationRefused",
    "PaymentRecord",
    "RecordNotFound",
    "SessionClosed",
    "SessionExpired",
    "settlement_day",
]

R = TypeVar("R")

#: How long a pre-auth can be captured.
CAPTURE_WINDOW = timedelta(hours=24)
#: How long a 3-D Secure flow may take from init to complete.
THREE_DS_WINDOW = timedelta(minutes=15)
#: Banks close the day in Turkish time (UTC+3 all year round).
_TURKEY = timezone(timedelta(hours=3))
_LONG_DIGIT_RUN = re.compile(r"\d{13}")


def settlement_day(moment: datetime) -> date:
    """The bank day ``moment`` belongs to (end of day is midnight in Turkey)."""
    return moment.astimezone(_TURKEY).date()


def new_session_id() -> str:
    """128 random bits in hex, as the docs show, never with 13 digits in a row.

    A run of 13+ digits looks like a card number to every redactor (ours included),
    which would mask the id in logs and errors; about one id in a hundred would.
    """
    while True:
        session_id = secrets.token_hex(16)
        if not _LONG_DIGIT_RUN.search(session_id):
            return session_id


# --- what the ledger refuses -----------------------------------------------------------------


class LedgerError(Exception):
    """A change the ledger refuses: a stable ``code`` and the API's Turkish ``detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class RecordNotFound(LedgerError):
    """No such checkout session (``session_not_found``) or payment (``payment_not_found``)."""


class SessionExpired(LedgerError):
    """The checkout session is past its expiry (``session_expired``)."""


class SessionClosed(LedgerError):
    """The checkout session takes no more payments (``session_closed``,
    ``max_attempts_exceeded``)."""


class OperationRefused(LedgerError):
    """The payment's state, or the terms asked for, do not allow the operation."""


# --- what a charge asks for ------------------------------------------------------------------


@attrs.frozen
class Charge:
    """One charge asked of the bank. The card number is stored masked once recorded."""

    number: str = attrs.field(repr=mask_pan)
    amount: int
    currency: str = "TRY"
    installment: int = 1
    operation_type: str = "Sale"
    holder_name: str | None = None
    external_id: str | None = None
    basket_id: str | None = None

    @classmethod
    def of(cls, request: PayRequest | PaymentRequest | ThreeDSInitRequest) -> Charge:
        """The charge a (checked) pay, payment or 3-D Secure init request asks for."""
        return cls(
            number=request.card.number,
            amount=request.amount.amount,
            currency=request.amount.currency,
            installment=request.installment,
            operation_type=request.operation_type.value,
            holder_name=request.card.holder_name,
            external_id=request.external_id,
            basket_id=request.basket_id,
        )


def _find(records: Mapping[str, R], key: str, code: str, detail: str) -> R:
    record = records.get(key)
    if record is None:
        raise RecordNotFound(code, detail)
    return record


def _timed_out(outcome: CardOutcome) -> CardOutcome:
    """The outcome of a 3-D Secure flow completed too late, whatever the card."""
    return attrs.evolve(
        outcome,
        approved=False,
        message="3D Secure süresi doldu",
        error_code="three_ds_timeout",
        provider_error_code=None,
    )


class Ledger:
    """Sessions and payments, by id, and the transitions between their states.

    Not thread-safe: use it from the emulator's loop (or while the emulator is idle).
    """

    def __init__(self, clock: Clock, *, session_ttl: float, max_attempts: int) -> None:
        self._clock = clock
        self.session_ttl = session_ttl
        self.max_attempts = max_attempts
        self.sessions: dict[str, CheckoutSessionRecord] = {}
        self.payments: dict[str, PaymentRecord] = {}
        #: Chargebacks opened by the bank (see :meth:`open_chargeback`), oldest first.
        self.chargebacks: list[ChargebackRecord] = []

    def __repr__(self) -> str:
        return f"<Ledger sessions={len(self.sessions)} payments={len(self.payments)}>"

    def __len__(self) -> int:
        return len(self.payments)

    def __iter__(self) -> Iterator[PaymentRecord]:
        return iter(list(self.payments.values()))

    def charges(self) -> list[PaymentRecord]:
        """The approved payments: money that actually moved."""
        return [payment for payment in self.payments.values() if payment.is_success]

    def snapshot(self) -> Mapping[str, PaymentRecord]:
        """A copy of the payments by transaction id."""
        return dict(self.payments)

    # --- lookups ------------------------------------------------------------------------------

    def session(self, session_id: str) -> CheckoutSessionRecord:
        """The checkout session ``session_id``.

        :raises RecordNotFound: ``session_not_found``.
        """
        return _find(self.sessions, session_id, "session_not_found", "Checkout oturumu bulunamadı.")

    def payment(self, transaction_id: str) -> PaymentRecord:
        """The payment ``transaction_id``.

        :raises RecordNotFound: ``payment_not_found``.
        """
        return _find(self.payments, transaction_id, "payment_not_found", "Ödeme bulunamadı.")

    # --- checkout sessions --------------------------------------------------------------------

    def open_session(
        self, amount: int, currency: str = "TRY", **fields: Any
    ) -> CheckoutSessionRecord:
        """Create a checkout session valid for ``session_ttl`` seconds."""
        now = self._clock.utcnow()
        record = CheckoutSessionRecord(
            session_id=new_session_id(),
            amount=amount,
            currency=currency,
            created_at=now,
            expires_at=now + timedelta(seconds=self.session_ttl),
            max_attempts=self.max_attempts,
            **fields,
        )
        self.sessions[record.session_id] = record
        return record

    def pay(self, session_id: str, charge: Charge) -> PaymentRecord:
        """Charge a checkout session: recorded approved or declined, the session updated.

        :raises RecordNotFound: ``session_not_found``.
        :raises SessionExpired: ``session_expired``.
        :raises SessionClosed: paid already (``session_closed``), or out of attempts
            (``max_attempts_exceeded``).
        :raises OperationRefused: ``session_amount_mismatch``,
            ``session_installment_not_allowed``, ``pre_auth_not_allowed``.
        """
        session = self.session(session_id)
        status = session.status_at(self._clock.utcnow())
        if status == "expired":
            raise SessionExpired("session_expired", "Checkout oturumunun süresi dolmuş.")
        if status == "completed":
            raise SessionClosed("session_closed", "Bu oturum zaten ödendi.")
        if status == "failed":
            raise SessionClosed(
                "max_attempts_exceeded",
                f"Bu oturumda {session.max_attempts} başarısız deneme hakkı doldu.",
            )
        if charge.amount != session.amount or charge.currency != session.currency:
            raise OperationRefused(
                "session_amount_mismatch",
                f"Tutar oturumdaki tutarla ({session.amount} {session.currency}) uyuşmuyor.",
            )
        allowed = session.allowed_installments or [1]
        if charge.installment not in allowed:
            raise OperationRefused(
                "session_installment_not_allowed",
                f"Bu oturumda izin verilen taksitler: {', '.join(map(str, allowed))}.",
            )
        if charge.operation_type == "PreAuth" and not session.allow_pre_auth:
            raise OperationRefused("pre_auth_not_allowed", "Bu oturumda ön provizyon kapalı.")
        record = self._record(charge, outcome_for(charge.number), session_id=session_id)
        session.attempt_count += 1
        if record.is_success:
            session.status = "completed"
            session.transaction_id = record.transaction_id
        else:
            session.failed_attempts += 1
            if session.failed_attempts >= session.max_attempts:
                session.status = "failed"
        return record

    # --- payments -----------------------------------------------------------------------------

    def charge(self, charge: Charge) -> PaymentRecord:
        """Charge a card directly: recorded ``completed`` (``authorized`` for a pre-auth),
        or ``failed`` when the bank declines."""
        return self._record(charge, outcome_for(charge.number))

    def init_3ds(self, charge: Charge) -> PaymentRecord:
        """Start a 3-D Secure payment: nothing is charged until :meth:`complete_3ds`.

        The bank's answer is decided now from the card and kept for complete; the card
        that only asks for 3-D Secure is approved, as it now gets it.
        """
        outcome = outcome_for(charge.number)
        if outcome.error_code == "three_ds_required":
            outcome = APPROVED
        return self._record(charge, outcome, three_ds=True)

    def complete_3ds(self, transaction_id: str) -> PaymentRecord:
        """Apply the bank's answer to a 3-D Secure payment: charged, authorised or failed.

        Completed more than :data:`THREE_DS_WINDOW` after init, it fails with
        ``three_ds_timeout`` whatever the card.

        :raises RecordNotFound: ``payment_not_found``.
        :raises OperationRefused: ``three_ds_complete_not_allowed`` (not waiting for it).
        """
        record = self.payment(transaction_id)
        outcome = record.pending_outcome
        if record.status != "three_d_secure_init_processing" or outcome is None:
            raise OperationRefused(
                "three_ds_complete_not_allowed", "Bu işlem 3D Secure tamamlamayı beklemiyor."
            )
        now = self._clock.utcnow()
        if now - record.created_at > THREE_DS_WINDOW:
            outcome = _timed_out(outcome)
        record.pending_outcome = None
        self._apply(record, outcome, now)
        return record

    def refund(
        self,
        transaction_id: str,
        amount: int,
        *,
        currency: str | None = None,
        reason: str | None = None,
    ) -> PaymentRecord:
        """Refund ``amount`` of a completed payment; ``refunded`` once nothing is left.

        :raises RecordNotFound: ``payment_not_found``.
        :raises OperationRefused: ``payment_already_refunded``, ``payment_not_refundable``
            (not completed), ``refund_currency_mismatch``, ``refund_exceeds_original``
            (more than :attr:`~PaymentRecord.refundable`).
        """
        record = self.payment(transaction_id)
        if record.status == "refunded":
            raise OperationRefused("payment_already_refunded", "Ödemenin tamamı zaten iade edildi.")
        if record.status != "completed":
            raise OperationRefused(
                "payment_not_refundable",
                f"'{record.status}' durumundaki bir ödeme iade edilemez.",
            )
        if currency is not None and currency != record.currency:
            raise OperationRefused(
                "refund_currency_mismatch", f"Ödemenin para birimi {record.currency}."
            )
        if amount > record.refundable:
            raise OperationRefused(
                "refund_exceeds_original", f"İade edilebilecek tutar {record.refundable} kuruş."
            )
        record.refunded_amount += amount
        record.move_to(
            "refunded" if record.refundable == 0 else "completed",
            self._clock.utcnow(),
            "refund",
            amount=amount,
            message=reason or "İade başarılı",
        )
        return record

    def void(self, transaction_id: str, *, reason: str | None = None) -> PaymentRecord:
        """Cancel a payment, or release a pre-auth, on the bank day it was made.

        :raises RecordNotFound: ``payment_not_found``.
        :raises OperationRefused: ``payment_already_voided``, ``payment_not_voidable``
            (not completed or authorised, or partly refunded),
            ``void_not_allowed_after_settlement`` (see :func:`settlement_day`).
        """
        record = self.payment(transaction_id)
        if record.status == "canceled":
            raise OperationRefused("payment_already_voided", "Ödeme zaten iptal edildi.")
        if record.status not in ("completed", "authorized") or record.refunded_amount:
            raise OperationRefused(
                "payment_not_voidable",
                f"'{record.status}' durumundaki bir ödeme iptal edilemez; iade yapın.",
            )
        now = self._clock.utcnow()
        if settlement_day(record.created_at) != settlement_day(now):
            raise OperationRefused(
                "void_not_allowed_after_settlement",
                "Gün sonu kapandı; iptal yerine iade yapın.",
            )
        record.move_to(
            "canceled",
            now,
            "void",
            amount=record.charged_amount,
            message=reason or "İptal başarılı",
        )
        return record

    def capture(
        self, transaction_id: str, amount: int, currency: str, *, reason: str | None = None
    ) -> PaymentRecord:
        """Capture ``amount`` of an authorised pre-auth (the rest is released): ``completed``.

        :raises RecordNotFound: ``payment_not_found``.
        :raises OperationRefused: ``payment_not_pre_auth``, ``payment_already_captured``,
            ``capture_not_allowed`` (not authorised), ``pre_auth_expired`` (after
            :data:`CAPTURE_WINDOW`), ``capture_currency_mismatch``,
            ``capture_amount_exceeds_authorization``.
        """
        record = self.payment(transaction_id)
        if record.operation_type != "PreAuth":
            raise OperationRefused("payment_not_pre_auth", "Ödeme bir ön provizyon değil.")
        if record.captured_amount is not None:
            raise OperationRefused("payment_already_captured", "Bu ön provizyon zaten çekildi.")
        if record.status != "authorized":
            raise OperationRefused(
                "capture_not_allowed",
                f"'{record.status}' durumundaki bir ön provizyon çekilemez.",
            )
        now = self._clock.utcnow()
        if now - record.created_at > CAPTURE_WINDOW:
            raise OperationRefused("pre_auth_expired", "Ön provizyon 24 saat içinde çekilmeliydi.")
        if currency != record.currency:
            raise OperationRefused(
                "capture_currency_mismatch", f"Provizyonun para birimi {record.currency}."
            )
        if amount > record.amount:
            raise OperationRefused(
                "capture_amount_exceeds_authorization",
                f"En fazla {record.amount} kuruş çekilebilir.",
            )
        record.captured_amount = amount
        record.move_to(
            "completed", now, "post_auth", amount=amount, message=reason or "Çekim başarılı"
        )
        return record

    # --- without HTTP -------------------------------------------------------------------------

    def seed(
        self,
        count: int | None = None,
        *,
        amount: int = 15000,
        currency: str = "TRY",
        declined: Iterable[int] = (),
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Add payments without HTTP (for batch and reconciliation tests).

        Adds ``count`` payments with fresh ids, or one per id in ``ids``. They are
        approved, except those whose position is in ``declined`` (declined with
        insufficient funds). Returns the transaction ids, in order.
        """
        if ids is not None:
            count = len(ids)
        if count is None or count < 0:
            raise ValueError("pass a count >= 0, or ids")
        declined_at = set(declined)
        approved_card, declined_card = "4546711234567894", "4546717000000051"
        created: list[str] = []
        for index in range(count):
            charge = Charge(
                number=declined_card if index in declined_at else approved_card,
                amount=amount,
                currency=currency,
                holder_name="Test Kullanici",
                external_id=f"SEED-{index + 1:06d}",
            )
            record = self.charge(charge)
            if ids is not None:
                del self.payments[record.transaction_id]
                record.transaction_id = ids[index]
                self.payments[record.transaction_id] = record
            created.append(record.transaction_id)
        return created

    def add_payments(
        self,
        count: int,
        *,
        start: datetime | None = None,
        spacing: timedelta = timedelta(seconds=1),
        amount: int = 15000,
        currency: str = "TRY",
        operation_type: str = "Sale",
    ) -> list[str]:
        """Add ``count`` approved payments at once, the cheap way (listing and paging tests).

        No card is looked up and no randomness drawn beyond the ids: each payment is
        ``completed`` (``authorized`` for a pre-auth), made at ``start`` (default: now)
        plus ``spacing`` times its position. Returns the transaction ids, oldest first.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        first = self._clock.utcnow() if start is None else start
        status = "authorized" if operation_type == "PreAuth" else "completed"
        charge_type = "pre_auth" if operation_type == "PreAuth" else "sale"
        created: list[str] = []
        for index in range(count):
            when = first + spacing * index
            transaction_id = str(uuid.uuid4())
            tail = transaction_id[-6:].upper()
            record = PaymentRecord(
                transaction_id=transaction_id,
                amount=amount,
                currency=currency,
                installment=1,
                operation_type=operation_type,
                status=status,
                is_success=True,
                message="İşlem başarılı",
                created_at=when,
                masked_card_number="454671******7894",
                card_brand="Visa",
                card_holder_name="Test Kullanici",
                external_id=f"BULK-{index + 1:06d}",
                auth_code=f"{index % 1_000_000:06d}",
                host_reference=f"HR{index:010d}",
                provider_transaction_id=f"PRV-{tail}{index:06d}",
                receipt_id=f"RC{index % 10**8:08d}",
            )
            record.history.append(
                HistoryStep(when, status, None, charge_type, amount=amount, message=record.message)
            )
            self.payments[transaction_id] = record
            created.append(transaction_id)
        return created

    def open_chargeback(
        self,
        transaction_id: str,
        *,
        amount: int | None = None,
        reason: str = "Kart sahibi işlemi tanımıyor",
        reason_code: str = "4837",
    ) -> ChargebackRecord:
        """The bank opens a chargeback on a payment (``amount`` defaults to all of it).

        :raises RecordNotFound: ``payment_not_found``.
        """
        record = self.payment(transaction_id)
        now = self._clock.utcnow()
        chargeback = ChargebackRecord(
            id=str(uuid.uuid4()),
            transaction_id=transaction_id,
            amount=record.charged_amount if amount is None else amount,
            currency=record.currency,
            reason=reason,
            reason_code=reason_code,
            created=now,
            response_deadline=now + timedelta(days=10),
        )
        self.chargebacks.append(chargeback)
        return chargeback

    # --- recording ----------------------------------------------------------------------------

    def _record(
        self,
        charge: Charge,
        outcome: CardOutcome,
        *,
        session_id: str | None = None,
        three_ds: bool = False,
    ) -> PaymentRecord:
        """A new payment for ``charge``: answered by ``outcome`` now, or (3-D Secure) waiting."""
        now = self._clock.utcnow()
        # Every payment starts as one waiting for the bank; a direct one is answered at once.
        record = PaymentRecord(
            transaction_id=str(uuid.uuid4()),
            amount=charge.amount,
            currency=charge.currency,
            installment=charge.installment,
            operation_type=charge.operation_type,
            status="three_d_secure_init_processing",
            is_success=True,
            message="3D Secure doğrulaması bekleniyor",
            created_at=now,
            masked_card_number=mask_pan(charge.number),
            card_brand=card_brand(charge.number),
            card_holder_name=charge.holder_name,
            session_id=session_id,
            external_id=charge.external_id,
            basket_id=charge.basket_id,
            provider_transaction_id=f"PRV-{secrets.token_hex(6).upper()}",
            is_3d_secure=three_ds,
        )
        if three_ds:
            record.pending_outcome = outcome
            record.move_to(
                record.status, now, record.charge_type, amount=charge.amount, message=record.message
            )
        else:
            self._apply(record, outcome, now)
        self.payments[record.transaction_id] = record
        return record

    @staticmethod
    def _apply(record: PaymentRecord, outcome: CardOutcome, now: datetime) -> None:
        """The bank answered ``outcome``: charged (authorised for a pre-auth) or failed."""
        approved = outcome.approved
        if approved:
            status = "authorized" if record.operation_type == "PreAuth" else "completed"
            record.auth_code = f"{secrets.randbelow(1_000_000):06d}"
            record.host_reference = f"HR{secrets.randbelow(10**10):010d}"
            record.receipt_id = f"RC{secrets.randbelow(10**8):08d}"
        else:
            status = "failed"
        record.is_success = approved
        record.message = outcome.message
        record.error_code = outcome.error_code
        record.provider_error_code = outcome.provider_error_code
        record.move_to(
            status,
            now,
            record.charge_type,
            amount=record.amount,
            message=outcome.message,
            error_code=outcome.error_code,
            error_message=None if approved else outcome.message,
        )
