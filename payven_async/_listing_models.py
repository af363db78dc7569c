"""The models of the read side and of reconciliation: transactions, refunds, settlements,
chargebacks, traces, the pages they are listed in, and Payven's reconciliation resource.

Like :mod:`._operation_models`, this module loads the first time one of its names is
used (see :mod:`._lazy`), not with the package. Answers decode as leniently as every
other answer: any key spelling, enums in any spelling (unknown values kept as text),
doubles as ``Decimal``, unknown keys in ``unknown_fields``; a value of a type its field
cannot take is kept there too, under its key, and named in ``decode_problems`` (the
field keeps its default), so one odd value never costs a whole page. Amounts are
integer minor units (kuruş): both published generations type every one of them as
``int64``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import attrs

# The names the annotations below use must be importable here: cattrs resolves them
# in this module's namespace.
from ._operation_models import RefundReasonCode
from .models import NO_PROBLEMS, OperationType, _Answer, _Input, _Model

__all__ = [
    "BankTransaction",
    "BulkResolveError",
    "BulkResolveItem",
    "BulkResolveResult",
    "CardSchemaType",
    "CardType",
    "Chargeback",
    "ChargebackPage",
    "ChargebackStatus",
    "DiscrepancyType",
    "PaymentType",
    "Reconciliation",
    "ReconciliationDetail",
    "ReconciliationDetailPage",
    "ReconciliationDetailStatus",
    "ReconciliationOverallStatus",
    "ReconciliationPage",
    "ReconciliationPeriod",
    "ReconciliationResolutionAction",
    "ReconciliationScope",
    "Refund",
    "RefundPage",
    "RefundSibling",
    "RefundStatus",
    "RefundType",
    "ResolveReconciliationDetailRequest",
    "SecureType",
    "Settlement",
    "SettlementPage",
    "SettlementStatus",
    "StartReconciliationRequest",
    "Trace",
    "TraceEvent",
    "TraceEventSource",
    "TraceSummary",
    "Transaction",
    "TransactionHistoryEntry",
    "TransactionPage",
    "TransactionStatus",
]


# --- enums (values are the API's names, as the spec lists them) --------------------------------


class TransactionStatus(enum.Enum):
    """A transaction's state (``TransactionStatus``; on the wire also ``completed``, ...)."""

    CREATED = "Created"
    PROCESSING = "Processing"
    AUTHORIZED = "Authorized"
    COMPLETED = "Completed"
    FAILED = "Failed"
    REFUNDED = "Refunded"
    CANCELED = "Canceled"
    CANCELED_PROCESSING = "CanceledProcessing"
    REFUND_PROCESSING = "RefundProcessing"
    THREE_D_SECURE_INIT_PROCESSING = "ThreeDSecureInitProcessing"
    THREE_D_SECURE_AUTH_PROCESSING = "ThreeDSecureAuthProcessing"
    CAPTURE_PROCESSING = "CaptureProcessing"


class PaymentType(enum.Enum):
    """How a transaction was paid."""

    CARD = "Card"
    WALLET = "Wallet"
    BKM_EXPRESS = "BkmExpress"
    BANK_TRANSFER = "BankTransfer"
    LINK = "Link"


class SecureType(enum.Enum):
    """The 3-D Secure flavour of a transaction."""

    NON_3D = "Non3D"
    THREE_DS_V1 = "ThreeDSv1"
    THREE_DS_V2 = "ThreeDSv2"
    THREE_D_PAY = "ThreeDPay"


class CardSchemaType(enum.Enum):
    """The card scheme."""

    VISA = "Visa"
    MASTER_CARD = "MasterCard"
    AMEX = "Amex"
    TROY = "Troy"
    UNION_PAY = "UnionPay"
    PROPRIETARY = "Proprietary"


class CardType(enum.Enum):
    """Credit, debit or prepaid."""

    CREDIT = "Credit"
    DEBIT = "Debit"
    PREPAID = "Prepaid"


class RefundStatus(enum.Enum):
    """A refund's state."""

    PENDING = "Pending"
    COMPLETED = "Completed"
    FAILED = "Failed"


class RefundType(enum.Enum):
    """Whether a refund returned the whole payment or part of it (a list filter)."""

    FULL = "Full"
    PARTIAL = "Partial"


class SettlementStatus(enum.Enum):
    """A settlement's state."""

    PENDING = "Pending"
    PROCESSING = "Processing"
    SETTLED = "Settled"
    FAILED = "Failed"


class ChargebackStatus(enum.Enum):
    """A chargeback's state."""

    OPENED = "Opened"
    DISPUTED = "Disputed"
    WON = "Won"
    LOST = "Lost"


class TraceEventSource(enum.Enum):
    """Where a trace event was recorded."""

    PAYMENT_REQUEST = "PaymentRequest"
    API_REQUEST = "ApiRequest"
    TRANSACTION_HISTORY = "TransactionHistory"
    WEBHOOK_DELIVERY = "WebhookDelivery"


class ReconciliationScope(enum.Enum):
    """What a reconciliation covers: one connector (bank) or one merchant."""

    CONNECTOR = "Connector"
    MERCHANT = "Merchant"


class ReconciliationPeriod(enum.Enum):
    """The period a reconciliation covers."""

    DAILY = "Daily"
    MONTHLY = "Monthly"
    YEARLY = "Yearly"
    CUSTOM = "Custom"


class ReconciliationOverallStatus(enum.Enum):
    """A reconciliation's state: ``Draft`` and ``InReview`` can still change."""

    DRAFT = "Draft"
    IN_REVIEW = "InReview"
    COMPLETED = "Completed"
    PARTIALLY_COMPLETED = "PartiallyCompleted"
    CANCELLED = "Cancelled"


class DiscrepancyType(enum.Enum):
    """What a reconciliation found for one transaction."""

    MATCHED = "Matched"
    AMOUNT_MISMATCH = "AmountMismatch"
    STATUS_MISMATCH = "StatusMismatch"
    ORPHAN_DB = "OrphanDb"
    ORPHAN_BANK = "OrphanBank"


class ReconciliationDetailStatus(enum.Enum):
    """Whether a reconciliation detail still waits for a decision."""

    PENDING = "Pending"
    RESOLVED = "Resolved"
    IGNORED = "Ignored"
    AUTO_MATCHED = "AutoMatched"


class ReconciliationResolutionAction(enum.Enum):
    """How a reconciliation detail is resolved."""

    NONE = "None"
    ACCEPT_BANK = "AcceptBank"
    ACCEPT_DB = "AcceptDb"
    MARK_MATCHED = "MarkMatched"
    IGNORE = "Ignore"
    ADJUST_AMOUNT = "AdjustAmount"
    FORCE_STATUS = "ForceStatus"


# --- pages ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class _Page(_Answer):
    """The fields every page of a list has (``…PaginatedList``); ``items`` per subclass.

    Generation B names the page ``page``, generation A ``pageNumber``: :attr:`number`
    is whichever came. ``page_size`` is only in older answers.
    """

    page: int | None = None
    page_number: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    total_count: int | None = None
    has_previous_page: bool | None = None
    has_next_page: bool | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)

    @property
    def number(self) -> int | None:
        """The page's number (1-based), in either generation's spelling."""
        return self.page if self.page is not None else self.page_number


# --- transactions -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Transaction(_Answer):
    """One transaction as listed (``TransactionDto``) or fetched (``TransactionDetailDto``).

    ``id`` is the transaction id (the one :meth:`~payven_async.PayvenClient.query`
    takes). Amounts are integer minor units; ``status`` is a :class:`TransactionStatus`
    (or the text that came, when the API sends a value not in the spec).
    """

    id: str
    merchant_id: str | None = None
    external_merchant_id: str | None = None
    merchant_name: str | None = None
    basket_id: str | None = None
    external_id: str | None = None
    amount: int | None = None
    net_amount: int | None = None
    currency: str | None = None
    status: TransactionStatus | str | None = None
    operation_type: OperationType | str | None = None
    payment_type: PaymentType | str | None = None
    bin_number: int | None = None
    last4: str | None = None
    card_holder_name: str | None = None
    masked_card_number: str | None = None
    card_schema_type: CardSchemaType | str | None = None
    card_brand: str | None = None
    card_type: CardType | str | None = None
    issuer_bank_code: str | None = None
    issuer_bank_name: str | None = None
    issuer_bank_logo_url: str | None = None
    is_3d_secure: bool | None = None
    secure_type: SecureType | str | None = None
    installment_count: int | None = None
    created: datetime | None = None
    completed_at: datetime | None = None
    error_message: str | None = None
    connector_configuration_id: str | None = None
    connector_configuration_name: str | None = None
    connector_code: str | None = None
    installment_amount: int | None = None
    bank_commission_amount: int | None = None
    merchant_commission_amount: int | None = None
    net_merchant_amount: int | None = None
    settlement_date: datetime | None = None
    bank_response_code: str | None = None
    md_status: str | None = None
    provider_transaction_id: str | None = None
    auth_code: str | None = None
    host_reference: str | None = None
    rrn: str | None = None
    extra_properties_dict: Mapping[str, str | None] | None = None
    # TransactionDetailDto only (get_transaction):
    ip_address: str | None = None
    cavv: str | None = None
    eci: str | None = None
    xid: str | None = None
    md: str | None = None
    three_ds_server_trans_id: str | None = None
    provider_raw_request: str | None = None
    provider_raw_response: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class TransactionPage(_Page):
    """One page of ``GET /transactions``."""

    items: Sequence[Transaction] = attrs.field(factory=list)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class TransactionHistoryEntry(_Answer):
    """One status change of a transaction (``TransactionHistoryDto``), oldest first."""

    id: str | None = None
    transaction_id: str | None = None
    connector_configuration_id: str | None = None
    connector_configuration_name: str | None = None
    previous_status: TransactionStatus | str | None = None
    new_status: TransactionStatus | str | None = None
    message: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_transaction_id: str | None = None
    auth_code: str | None = None
    host_reference: str | None = None
    md_status: str | None = None
    cavv: str | None = None
    eci: str | None = None
    xid: str | None = None
    md: str | None = None
    three_ds_server_trans_id: str | None = None
    provider_raw_response: str | None = None
    operation_amount: int | None = None
    created: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


# --- refunds, settlements, chargebacks ----------------------------------------------------------


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class RefundSibling(_Model):
    """Another refund of the same payment (``RefundSiblingDto``)."""

    id: str | None = None
    refund_amount: int | None = None
    status: RefundStatus | str | None = None
    created: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Refund(_Answer):
    """One refund (``RefundListItemDto``, or ``RefundDetailDto`` with its extra fields)."""

    id: str
    transaction_id: str | None = None
    merchant_id: str | None = None
    merchant_external_id: str | None = None
    merchant_name: str | None = None
    refund_amount: int | None = None
    original_amount: int | None = None
    currency: str | None = None
    status: RefundStatus | str | None = None
    reason_code: RefundReasonCode | str | None = None
    reason: str | None = None
    created_by: str | None = None
    created: datetime | None = None
    completed_at: datetime | None = None
    error_message: str | None = None
    original_transaction_basket_id: str | None = None
    original_transaction_card_last4: str | None = None
    original_transaction_card_schema_type: CardSchemaType | str | None = None
    original_transaction_connector_name: str | None = None
    original_transaction_created: datetime | None = None
    provider_transaction_id: str | None = None
    provider_response_code: str | None = None
    provider_response_message: str | None = None
    sibling_refunds: Sequence[RefundSibling] | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class RefundPage(_Page):
    """One page of ``GET /refunds``."""

    items: Sequence[Refund] = attrs.field(factory=list)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Settlement(_Answer):
    """One settlement: what the bank pays out for a merchant's period (``SettlementDto``)."""

    id: str
    merchant_id: str | None = None
    merchant_name: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    bank_code: str | None = None
    currency: str | None = None
    gross_amount: int | None = None
    refund_amount: int | None = None
    bank_commission: int | None = None
    platform_commission: int | None = None
    net_amount: int | None = None
    transaction_count: int | None = None
    refund_count: int | None = None
    status: SettlementStatus | str | None = None
    settled_at: datetime | None = None
    bank_reference: str | None = None
    notes: str | None = None
    created: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class SettlementPage(_Page):
    """One page of ``GET /settlements``."""

    items: Sequence[Settlement] = attrs.field(factory=list)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Chargeback(_Answer):
    """One chargeback (``ChargebackDto``)."""

    id: str
    transaction_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    bank_reference_no: str | None = None
    status: ChargebackStatus | str | None = None
    response_deadline: datetime | None = None
    resolved_at: datetime | None = None
    merchant_response: str | None = None
    notes: str | None = None
    created: datetime | None = None
    merchant_name: str | None = None
    masked_card_number: str | None = None
    transaction_amount: int | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class ChargebackPage(_Page):
    """One page of ``GET /chargebacks``."""

    items: Sequence[Chargeback] = attrs.field(factory=list)


# --- traces -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class TraceSummary(_Model):
    """What a correlation id's trace touched (``TraceSummaryDto``)."""

    transaction_ids: Sequence[str] | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    payment_request_count: int | None = None
    api_request_count: int | None = None
    webhook_count: int | None = None
    transaction_history_count: int | None = None
    has_errors: bool | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class TraceEvent(_Model):
    """One event of a trace (``TraceEventDto``). Request and response bodies stay out of
    the repr: they may carry card data."""

    source: TraceEventSource | str | None = None
    timestamp: datetime | None = None
    record_id: str | None = None
    transaction_id: str | None = None
    title: str | None = None
    subtitle: str | None = None
    is_success: bool | None = None
    error_message: str | None = None
    details: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    request_body: str | None = attrs.field(default=None, repr=False)
    response_body: str | None = attrs.field(default=None, repr=False)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Trace(_Answer):
    """Everything recorded under one correlation id (``TraceTimelineDto``), oldest first."""

    correlation_id: str | None = None
    summary: TraceSummary | None = None
    events: Sequence[TraceEvent] = attrs.field(factory=list)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


# --- reconciliation ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class ReconciliationDetail(_Answer):
    """One transaction's line in a reconciliation (``ReconciliationDetailDto``).

    ``db_*`` is Payven's record, ``bank_*`` the bank's; ``discrepancy`` what differs.
    """

    id: str
    reconciliation_id: str | None = None
    transaction_id: str | None = None
    bank_transaction_id: str | None = None
    db_amount: int | None = None
    bank_amount: int | None = None
    db_status: str | None = None
    bank_status: str | None = None
    discrepancy: DiscrepancyType | str | None = None
    detail_status: ReconciliationDetailStatus | str | None = None
    resolution_action: ReconciliationResolutionAction | str | None = None
    adjusted_amount: int | None = None
    applied_status: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    remarks: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class ReconciliationDetailPage(_Page):
    """One page of ``GET /reconciliations/{id}/details``."""

    items: Sequence[ReconciliationDetail] = attrs.field(factory=list)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Reconciliation(_Answer):
    """A reconciliation run (``ReconciliationDto``; ``details`` filled when the answer is
    a ``ReconciliationWithDetailsDto``)."""

    id: str
    scope: ReconciliationScope | str | None = None
    connector_config_id: str | None = None
    connector_config_name: str | None = None
    merchant_id: str | None = None
    merchant_name: str | None = None
    bank_code: str | None = None
    period: ReconciliationPeriod | str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    reconciliation_date: date | None = None
    total_db_transactions: int | None = None
    total_bank_transactions: int | None = None
    matched_count: int | None = None
    amount_mismatch_count: int | None = None
    status_mismatch_count: int | None = None
    orphan_db_count: int | None = None
    orphan_bank_count: int | None = None
    resolved_count: int | None = None
    ignored_count: int | None = None
    total_db_amount: int | None = None
    total_bank_amount: int | None = None
    overall_status: ReconciliationOverallStatus | str | None = None
    finalized_at: datetime | None = None
    finalized_by: str | None = None
    notes: str | None = None
    created: datetime | None = None
    details: Sequence[ReconciliationDetail] | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class ReconciliationPage(_Page):
    """One page of ``GET /reconciliations``."""

    items: Sequence[Reconciliation] = attrs.field(factory=list)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class BulkResolveError(_Model):
    """A detail a bulk resolve could not resolve, and why."""

    detail_id: str | None = None
    message: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class BulkResolveResult(_Answer):
    """The answer to a bulk resolve (``BulkResolveReconciliationDetailsResponse``)."""

    processed: int | None = None
    failed: int | None = None
    details: Sequence[ReconciliationDetail] = attrs.field(factory=list)
    errors: Sequence[BulkResolveError] = attrs.field(factory=list)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.define(kw_only=True, repr=False, eq=False)
class BankTransaction(_Input):
    """One line of the bank's statement, sent to start a reconciliation
    (``BankTransactionInputDto``). ``amount`` is integer minor units."""

    amount: int
    bank_transaction_id: str | None = None
    status: str | None = None
    transaction_date: datetime | None = None
    merchant_external_id: str | None = None
    auth_code: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class StartReconciliationRequest(_Input):
    """The body of ``POST /reconciliations/start``.

    ``period_start`` (timezone-aware) opens the period; ``period_end`` closes a
    ``CUSTOM`` one (the others end where their period does). ``bank_transactions`` is
    the bank's statement to compare Payven's records with; without it Payven asks the
    bank itself.
    """

    scope: ReconciliationScope
    period: ReconciliationPeriod
    period_start: datetime
    period_end: datetime | None = None
    connector_config_id: str | None = None
    merchant_id: str | None = None
    bank_transactions: Sequence[BankTransaction] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ResolveReconciliationDetailRequest(_Input):
    """How to resolve one reconciliation detail (``ResolveReconciliationDetailRequest``).

    ``adjusted_amount`` goes with ``ADJUST_AMOUNT``, ``applied_status`` with
    ``FORCE_STATUS``.
    """

    action: ReconciliationResolutionAction
    adjusted_amount: int | None = None
    applied_status: TransactionStatus | None = None
    remarks: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class BulkResolveItem(_Input):
    """One detail of a bulk resolve, and how to resolve it."""

    detail_id: str
    request: ResolveReconciliationDetailRequest


@attrs.define(kw_only=True, repr=False, eq=False)
class BulkResolveRequest(_Input):
    """The body of a bulk resolve (built by the client from the items)."""

    items: Sequence[BulkResolveItem]


@attrs.define(kw_only=True, repr=False, eq=False)
class FinalizeReconciliationRequest(_Input):
    """The body of a finalize (built by the client from its arguments)."""

    notes: str | None = None
    force_partial: bool = False


@attrs.define(kw_only=True, repr=False, eq=False)
class CancelReconciliationRequest(_Input):
    """The body of a cancel (built by the client from its arguments)."""

    reason: str | None = None


#: The answer of ``GET /transactions/{id}/histories``: a JSON array of entries.
TRANSACTION_HISTORY: Any = list[TransactionHistoryEntry]
