"""The models of the payment operations beyond pay and query: direct and 3-D Secure
payments, refund, void, capture and history.

They are public as :mod:`payven_async.models` names (``from payven_async.models import
RefundRequest``) and as ``payven_async`` names; this module is loaded the first time one
of them is used, not with the package: building attrs classes is most of the package's
import time, and a process that only pays and queries never needs these.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

# The names the annotations below use must be importable here: cattrs resolves them
# in this module's namespace.
from .models import (
    NO_PROBLEMS,
    Address,
    BasketItem,
    Buyer,
    Card,
    Money,
    OperationType,
    _Answer,
    _Input,
    _Model,
)

__all__ = [
    "CaptureRequest",
    "PaymentHistory",
    "PaymentHistoryEntry",
    "PaymentRequest",
    "RefundReasonCode",
    "RefundRequest",
    "ThreeDSInitRequest",
    "VoidRequest",
]


class RefundReasonCode(enum.Enum):
    """Why a refund is made. Values are the API's names, as sent on the wire."""

    CUSTOMER_REQUEST = "CustomerRequest"
    OUT_OF_STOCK = "OutOfStock"
    DUPLICATE_CHARGE = "DuplicateCharge"
    PRODUCT_DEFECT = "ProductDefect"
    FRAUD = "Fraud"
    WRONG_AMOUNT = "WrongAmount"
    OTHER = "Other"


@attrs.define(kw_only=True, repr=False, eq=False)
class PaymentRequest(_Input):
    """The body of a direct (Non-3D) payment (``POST /payments``, ``CreatePaymentRequest``).

    ``operation_type=OperationType.PRE_AUTH`` only reserves the amount: turn it into a
    charge with ``capture``, or release it with ``void``.
    """

    amount: Money
    card: Card
    installment: int = 1
    external_id: str | None = None
    basket_id: str | None = None
    description: str | None = None
    buyer: Buyer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    basket_items: Sequence[BasketItem] | None = None
    operation_type: OperationType = OperationType.SALE
    extra_properties: Mapping[str, str] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ThreeDSInitRequest(_Input):
    """The body of a 3-D Secure payment's first step (``POST /payments/3d/init``).

    The same fields as :class:`PaymentRequest`, plus ``callback_url`` (required: where
    the bank sends the customer back after authentication) and the optional
    ``cancel_url`` and ``return_url``.
    """

    amount: Money
    card: Card
    callback_url: str
    installment: int = 1
    external_id: str | None = None
    basket_id: str | None = None
    description: str | None = None
    buyer: Buyer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    basket_items: Sequence[BasketItem] | None = None
    cancel_url: str | None = None
    return_url: str | None = None
    operation_type: OperationType = OperationType.SALE
    extra_properties: Mapping[str, str] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ThreeDSCompleteRequest(_Input):
    """The body of ``POST /payments/3d/complete``: which payment, and whether Payven
    verifies the 3-D Secure authentication first. Internal: ``complete_3ds`` takes
    these as arguments and builds it, so it is not exported."""

    transaction_id: str
    need_verification: bool = True


@attrs.define(kw_only=True, repr=False, eq=False)
class RefundRequest(_Input):
    """The body of a refund (``POST /payments/{id}/refund``).

    ``amount`` is integer minor units (kuruş) and always required, as the API's contract
    requires it: a *partial* refund sends less than what is left to refund (several
    partial refunds may follow one another), a *full* refund sends exactly what is left
    (the payment's amount, when nothing was refunded yet); the answer's ``status`` is
    then ``refunded``. ``currency`` defaults to the payment's own; ``reason`` is free
    text of at most 500 characters.
    """

    amount: int
    currency: str | None = None
    reason: str | None = None
    reason_code: RefundReasonCode | None = None
    extra_properties: Mapping[str, str] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class VoidRequest(_Input):
    """The (optional) body of a void (``POST /payments/{id}/void``): why, and connector extras.

    A void cancels the whole payment before the day's settlement, or releases an
    uncaptured pre-authorisation.
    """

    reason: str | None = None
    extra_properties: Mapping[str, str] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class CaptureRequest(_Input):
    """The body of a capture (``POST /payments/{id}/capture``): turn a pre-auth into a charge.

    ``amount`` is at most the authorised amount; the rest of the reservation is released.
    """

    amount: Money
    reason: str | None = None
    extra_properties: Mapping[str, str] | None = None


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class PaymentHistoryEntry(_Model):
    """One step in a payment's life (``OrderHistoryEntryDto``).

    ``amount`` arrives as a JSON double and is a ``Decimal`` here, without binary-float
    noise; ``timestamp`` is timezone-aware.
    """

    timestamp: datetime | None = None
    status: str | None = None
    previous_status: str | None = None
    charge_type: str | None = None
    message: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_transaction_id: str | None = None
    auth_code: str | None = None
    host_reference: str | None = None
    order_id: str | None = None
    settlement_id: str | None = None
    amount: Decimal | None = None
    md_status: str | None = None
    cavv: str | None = None
    eci: str | None = None
    xid: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class PaymentHistory(_Answer):
    """The answer to ``GET /payments/{transaction_id}/history`` (``OrderHistoryDto``).

    ``internal_history`` is Payven's own record of the payment's steps, oldest first;
    ``external_history`` the bank's, when ``provider_history_available``. Amounts are
    integer minor units.
    """

    transaction_id: str | None = None
    status: str | None = None
    original_amount: int | None = None
    net_amount: int | None = None
    currency: str | None = None
    is_success: bool = False
    message: str | None = None
    provider_history_available: bool = False
    internal_history: Sequence[PaymentHistoryEntry] = attrs.field(factory=list)
    external_history: Sequence[PaymentHistoryEntry] = attrs.field(factory=list)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)
