"""What the emulator's ledger keeps: checkout sessions, payments and their history.

Plain state: every change is made by :class:`~payven_async.testing.Ledger`, which
checks the API's rules first. Only what the real service would keep is kept: card
numbers masked, CVVs never.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._cards import CardOutcome
from ._clock import iso

__all__ = ["ChargebackRecord", "CheckoutSessionRecord", "HistoryStep", "PaymentRecord"]

#: ``charge_type`` (and the query's ``operation_type``), by the operation type.
_CHARGE_TYPES = {"Sale": "sale", "PreAuth": "pre_auth"}


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

    The ledger's refunds, voids and captures change it in place (``refunded_amount``,
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
    #: What the bank's record (the query's ``external``) says differently from
    #: Payven's, field by field; None: it agrees (see ``_seeding``).
    bank_view: dict[str, Any] | None = attrs.field(default=None, repr=False)
    #: The bank has no record of it: the query's ``external`` is null.
    bank_record_missing: bool = attrs.field(default=False, repr=False)
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

    @property
    def charge_type(self) -> str:
        """The operation type as the history and the query write it (``sale``, ``pre_auth``)."""
        return _CHARGE_TYPES.get(self.operation_type, self.operation_type)

    @property
    def charged_amount(self) -> int:
        """What was taken: the captured amount of a captured pre-auth, else the amount."""
        return self.captured_amount if self.captured_amount is not None else self.amount

    @property
    def refundable(self) -> int:
        """What can still be refunded: charged minus refunded."""
        return self.charged_amount - self.refunded_amount

    @property
    def net_amount(self) -> int:
        """What the payment is worth now: charged (or captured) minus refunded."""
        if not self.is_success or self.status in ("canceled", "failed"):
            return 0
        if self.operation_type == "PreAuth" and self.captured_amount is None:
            return 0
        return self.refundable

    @property
    def last_step(self) -> HistoryStep:
        """The step just taken (the payment itself, or the last operation on it)."""
        return self.history[-1]

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


@attrs.define
class ChargebackRecord:
    """A chargeback the bank opened on a payment."""

    id: str
    transaction_id: str
    amount: int
    currency: str
    reason: str
    reason_code: str
    created: datetime
    response_deadline: datetime
    status: str = "Opened"
    bank_reference_no: str | None = None
