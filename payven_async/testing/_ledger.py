"""The emulator's in-memory books: checkout sessions and the payments charged to them.

Only what the real service would keep is kept: card numbers are stored masked, CVVs
never. A query answers from these records, so it returns exactly what a pay charged.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from .._redact import mask_pan
from ._cards import APPROVED, TEST_CARDS, CardOutcome, card_brand
from ._clock import Clock, iso

__all__ = ["CheckoutSessionRecord", "HistoryStep", "Ledger", "PaymentRecord"]

_LONG_DIGIT_RUN = re.compile(r"\d{13}")
#: ``charge_type`` of a history step, by the payment's operation type.
_CHARGE_TYPES = {"Sale": "sale", "PreAuth": "pre_auth"}


def new_session_id() -> str:
    """128 random bits in hex, as the docs show, never with 13 digits in a row.

    A run of 13+ digits looks like a card number to every redactor (ours included),
    which would mask the id in logs and errors; about one id in a hundred would.
    """
    while True:
        session_id = secrets.token_hex(16)
        if not _LONG_DIGIT_RUN.search(session_id):
            return session_id


@attrs.define
class CheckoutSessionRecord:
    """One hosted-checkout session and its state."""

    session_id: str
    amount: int
    currency: str
    created_at: datetime
    expires_at: datetime
    max_attempts: int
    payment_mode: str = "Non3D"
    merchant_name: str | None = None
    allowed_installments: list[int] | None = None
    description: str | None = None
    external_id: str | None = None
    basket_id: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    metadata: dict[str, str] | None = None
    allow_pre_auth: bool = False
    is_test_session: bool = False
    success_url: str | None = None
    cancel_url: str | None = None
    status: str = "open"
    transaction_id: str | None = None
    attempt_count: int = 0
    failed_attempts: int = 0

    def status_at(self, now: datetime) -> str:
        """The status as of ``now``: an open session past its expiry is ``expired``."""
        if self.status == "open" and now >= self.expires_at:
            return "expired"
        return self.status


@attrs.frozen
class HistoryStep:
    """One step in a payment's life, as the history route reports it."""

    timestamp: datetime
    status: str
    previous_status: str | None
    charge_type: str
    amount: int | None = None
    message: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@attrs.define
class PaymentRecord:
    """One charge attempt, approved or declined, as Payven records it.

    Refunds, voids and captures change it in place (``refunded_amount``,
    ``captured_amount``, ``status``) and add a :class:`HistoryStep` each.
    """

    transaction_id: str
    amount: int
    currency: str
    installment: int
    operation_type: str
    status: str
    is_success: bool
    message: str
    created_at: datetime
    masked_card_number: str
    card_brand: str
    card_holder_name: str | None = None
    session_id: str | None = None
    external_id: str | None = None
    basket_id: str | None = None
    error_code: str | None = None
    provider_error_code: str | None = None
    auth_code: str | None = None
    host_reference: str | None = None
    provider_transaction_id: str | None = None
    receipt_id: str | None = None
    bank_code: str = "0046"
    is_3d_secure: bool = False
    #: Refunded so far, in minor units.
    refunded_amount: int = 0
    #: What a capture turned the pre-auth into (None: not captured).
    captured_amount: int | None = None
    #: 3-D Secure: the bank's answer, decided at init from the card, applied at complete.
    pending_outcome: CardOutcome | None = attrs.field(default=None, repr=False)
    history: list[HistoryStep] = attrs.field(factory=list, repr=False)

    def move_to(
        self,
        status: str,
        when: datetime,
        charge_type: str,
        *,
        amount: int | None = None,
        message: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Change the status and record the step in ``history``."""
        previous = self.history[-1].status if self.history else None
        self.history.append(
            HistoryStep(
                timestamp=when,
                status=status,
                previous_status=previous,
                charge_type=charge_type,
                amount=amount,
                message=message,
                error_code=error_code,
                error_message=error_message,
            )
        )
        self.status = status

    def extra_properties(self) -> dict[str, str]:
        """What a connector fills into ``extra_properties`` (all strings)."""
        extra = {
            "processed_at": iso(self.created_at),
            "provider_transaction_id": self.provider_transaction_id or "",
        }
        if self.is_success:
            extra["auth_code"] = self.auth_code or ""
            extra["host_reference"] = self.host_reference or ""
            extra["receipt_id"] = self.receipt_id or ""
        if self.external_id is not None:
            extra["external_id"] = self.external_id
        return extra


class Ledger:
    """Sessions and payments, by id. Not thread-safe: mutate it from the emulator's loop
    (or while the emulator is idle)."""

    def __init__(self, clock: Clock, *, session_ttl: float, max_attempts: int) -> None:
        self._clock = clock
        self.session_ttl = session_ttl
        self.max_attempts = max_attempts
        self.sessions: dict[str, CheckoutSessionRecord] = {}
        self.payments: dict[str, PaymentRecord] = {}

    def __repr__(self) -> str:
        return f"<Ledger sessions={len(self.sessions)} payments={len(self.payments)}>"

    def __len__(self) -> int:
        return len(self.payments)

    def __iter__(self) -> Iterator[PaymentRecord]:
        return iter(list(self.payments.values()))

    def charges(self) -> list[PaymentRecord]:
        """The approved payments: money that actually moved."""
        return [payment for payment in self.payments.values() if payment.is_success]

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

    def record_charge(
        self,
        *,
        number: str,
        outcome: CardOutcome,
        amount: int,
        currency: str,
        installment: int = 1,
        operation_type: str = "Sale",
        holder_name: str | None = None,
        session: CheckoutSessionRecord | None = None,
        external_id: str | None = None,
        basket_id: str | None = None,
    ) -> PaymentRecord:
        """Record one charge attempt and update its session (attempts, status)."""
        approved = outcome.approved
        if approved:
            status = "authorized" if operation_type == "PreAuth" else "completed"
        else:
            status = "failed"
        record = PaymentRecord(
            transaction_id=str(uuid.uuid4()),
            amount=amount,
            currency=currency,
            installment=installment,
            operation_type=operation_type,
            status=status,
            is_success=approved,
            message=outcome.message,
            created_at=self._clock.utcnow(),
            masked_card_number=mask_pan(number),
            card_brand=card_brand(number),
            card_holder_name=holder_name,
            session_id=session.session_id if session is not None else None,
            external_id=external_id,
            basket_id=basket_id,
            error_code=outcome.error_code,
            provider_error_code=outcome.provider_error_code,
            auth_code=f"{secrets.randbelow(1_000_000):06d}" if approved else None,
            host_reference=f"HR{secrets.randbelow(10**10):010d}" if approved else None,
            provider_transaction_id=f"PRV-{secrets.token_hex(6).upper()}",
            receipt_id=f"RC{secrets.randbelow(10**8):08d}" if approved else None,
        )
        record.move_to(
            status,
            record.created_at,
            _CHARGE_TYPES.get(operation_type, operation_type),
            amount=amount,
            message=outcome.message,
            error_code=outcome.error_code,
            error_message=None if approved else outcome.message,
        )
        self.payments[record.transaction_id] = record
        if session is not None:
            session.attempt_count += 1
            if approved:
                session.status = "completed"
                session.transaction_id = record.transaction_id
            else:
                session.failed_attempts += 1
                if session.failed_attempts >= session.max_attempts:
                    session.status = "failed"
        return record

    def record_3ds_init(
        self,
        *,
        number: str,
        outcome: CardOutcome,
        amount: int,
        currency: str,
        installment: int = 1,
        operation_type: str = "Sale",
        holder_name: str | None = None,
        external_id: str | None = None,
        basket_id: str | None = None,
    ) -> PaymentRecord:
        """Record a 3-D Secure payment waiting for the customer at the bank.

        Nothing is charged yet: ``outcome`` is kept and applied by :meth:`complete_3ds`.
        """
        now = self._clock.utcnow()
        record = PaymentRecord(
            transaction_id=str(uuid.uuid4()),
            amount=amount,
            currency=currency,
            installment=installment,
            operation_type=operation_type,
            status="three_d_secure_init_processing",
            is_success=True,
            message="3D Secure doğrulaması bekleniyor",
            created_at=now,
            masked_card_number=mask_pan(number),
            card_brand=card_brand(number),
            card_holder_name=holder_name,
            external_id=external_id,
            basket_id=basket_id,
            provider_transaction_id=f"PRV-{secrets.token_hex(6).upper()}",
            is_3d_secure=True,
            pending_outcome=outcome,
        )
        record.move_to(
            record.status,
            now,
            _CHARGE_TYPES.get(operation_type, operation_type),
            amount=amount,
            message=record.message,
        )
        self.payments[record.transaction_id] = record
        return record

    def complete_3ds(self, record: PaymentRecord, outcome: CardOutcome) -> None:
        """Apply the bank's answer to a 3-D Secure payment: charged, authorised or failed."""
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
        record.pending_outcome = None
        record.move_to(
            status,
            self._clock.utcnow(),
            _CHARGE_TYPES.get(record.operation_type, record.operation_type),
            amount=record.amount,
            message=outcome.message,
            error_code=outcome.error_code,
            error_message=None if approved else outcome.message,
        )

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
            is_declined = index in declined_at
            number = declined_card if is_declined else approved_card
            outcome = TEST_CARDS[number] if is_declined else APPROVED
            record = self.record_charge(
                number=number,
                outcome=outcome,
                amount=amount,
                currency=currency,
                holder_name="Test Kullanici",
                external_id=f"SEED-{index + 1:06d}",
            )
            if ids is not None:
                del self.payments[record.transaction_id]
                record.transaction_id = ids[index]
                self.payments[record.transaction_id] = record
            created.append(record.transaction_id)
        return created

    def snapshot(self) -> Mapping[str, PaymentRecord]:
        """A copy of the payments by transaction id."""
        return dict(self.payments)
