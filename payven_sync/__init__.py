"""payven_sync: the blocking facade over payven_async, for code without an event loop.

>>> with PayvenClient(client_id=..., client_secret=..., slug=...) as client:
...     result = client.pay(session_id, PayRequest(...))
...     query = client.query(result.transaction_id)

Every model, enum and error is the very object ``payven_async`` exports; only
``PayvenClient`` is this package's own.
"""

from typing import TYPE_CHECKING

import payven_async
from payven_async import (
    Address as Address,
    Answer as Answer,
    APIError as APIError,
    AuthenticationError as AuthenticationError,
    BasketItem as BasketItem,
    Buyer as Buyer,
    Card as Card,
    CheckoutPaymentMode as CheckoutPaymentMode,
    CheckoutSession as CheckoutSession,
    CheckoutSessionRequest as CheckoutSessionRequest,
    ClientClosedError as ClientClosedError,
    ConfigurationError as ConfigurationError,
    ConflictError as ConflictError,
    DecodeError as DecodeError,
    Headers as Headers,
    IdempotencyConflictError as IdempotencyConflictError,
    InvalidRequestError as InvalidRequestError,
    Money as Money,
    NotFoundError as NotFoundError,
    OperationType as OperationType,
    PageFetchError as PageFetchError,
    PaymentDeclinedError as PaymentDeclinedError,
    PaymentOutcomeUnknown as PaymentOutcomeUnknown,
    PaymentQuery as PaymentQuery,
    PaymentQueryDetail as PaymentQueryDetail,
    PaymentResult as PaymentResult,
    PayRequest as PayRequest,
    PayvenConnectionError as PayvenConnectionError,
    PayvenError as PayvenError,
    PayvenTimeoutError as PayvenTimeoutError,
    PermissionDeniedError as PermissionDeniedError,
    Problem as Problem,
    QueryFailed as QueryFailed,
    QueryOutcome as QueryOutcome,
    QuerySucceeded as QuerySucceeded,
    RateLimitError as RateLimitError,
    Request as Request,
    ResponseMeta as ResponseMeta,
    RetryDetails as RetryDetails,
    RunningEventLoopError as RunningEventLoopError,
    ServerError as ServerError,
    Timeout as Timeout,
    Token as Token,
    Transport as Transport,
    TransportError as TransportError,
    ValidationError as ValidationError,
    WebhookVerificationError as WebhookVerificationError,
    __version__ as __version__,
)
from payven_async._lazy import LAZY, attach

from ._client import PayvenClient as PayvenClient

if TYPE_CHECKING:  # what type checkers see of the names in payven_async._lazy.LAZY
    from payven_async import (
        Acknowledged as Acknowledged,
        BankTransaction as BankTransaction,
        BulkResolveError as BulkResolveError,
        BulkResolveItem as BulkResolveItem,
        BulkResolveResult as BulkResolveResult,
        CaptureRequest as CaptureRequest,
        CardSchemaType as CardSchemaType,
        CardType as CardType,
        Chargeback as Chargeback,
        ChargebackPage as ChargebackPage,
        ChargebackStatus as ChargebackStatus,
        DiscrepancyType as DiscrepancyType,
        ExpectedRecord as ExpectedRecord,
        MemoryTransport as MemoryTransport,
        Mismatch as Mismatch,
        MismatchKind as MismatchKind,
        PaymentHistory as PaymentHistory,
        PaymentHistoryEntry as PaymentHistoryEntry,
        PaymentRequest as PaymentRequest,
        PaymentType as PaymentType,
        Reconciliation as Reconciliation,
        ReconciliationDetail as ReconciliationDetail,
        ReconciliationDetailPage as ReconciliationDetailPage,
        ReconciliationDetailStatus as ReconciliationDetailStatus,
        ReconciliationItem as ReconciliationItem,
        ReconciliationOverallStatus as ReconciliationOverallStatus,
        ReconciliationPage as ReconciliationPage,
        ReconciliationPeriod as ReconciliationPeriod,
        ReconciliationResolutionAction as ReconciliationResolutionAction,
        ReconciliationScope as ReconciliationScope,
        Refund as Refund,
        RefundPage as RefundPage,
        RefundReasonCode as RefundReasonCode,
        RefundRequest as RefundRequest,
        RefundSibling as RefundSibling,
        RefundStatus as RefundStatus,
        RefundType as RefundType,
        ResolveReconciliationDetailRequest as ResolveReconciliationDetailRequest,
        SecureType as SecureType,
        Settlement as Settlement,
        SettlementPage as SettlementPage,
        SettlementStatus as SettlementStatus,
        StartReconciliationRequest as StartReconciliationRequest,
        ThreeDSInitRequest as ThreeDSInitRequest,
        Trace as Trace,
        TraceEvent as TraceEvent,
        TraceEventSource as TraceEventSource,
        TraceSummary as TraceSummary,
        Transaction as Transaction,
        TransactionHistoryEntry as TransactionHistoryEntry,
        TransactionPage as TransactionPage,
        TransactionStatus as TransactionStatus,
        VoidRequest as VoidRequest,
        WebhookDeliveryLog as WebhookDeliveryLog,
        WebhookDeliveryLogList as WebhookDeliveryLogList,
        WebhookEvent as WebhookEvent,
        WebhookPaymentData as WebhookPaymentData,
        WebhookSubscription as WebhookSubscription,
        WebhookSubscriptionList as WebhookSubscriptionList,
        WebhookSubscriptionRequest as WebhookSubscriptionRequest,
        sign_webhook as sign_webhook,
        verify_webhook as verify_webhook,
    )

#: The very names payven_async exports: its models, enums and errors are these objects.
__all__ = list(payven_async.__all__)

__getattr__, __dir__ = attach(__name__, dict.fromkeys(LAZY, "payven_async"), __all__)
