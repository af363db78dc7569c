"""payven_sync: the blocking facade over payven_async, for code without an event loop.

>>> with PayvenClient(client_id=..., client_secret=..., slug=...) as client:
...     result = client.pay(session_id, PayRequest(...))
...     query = client.query(result.transaction_id)

Every model, enum and error is the very object ``payven_async`` exports; only
``PayvenClient`` is this package's own.
"""

from typing import TYPE_CHECKING, Any

import payven_async
from payven_async import (
    Address,
    APIError,
    AuthenticationError,
    BasketItem,
    Buyer,
    Card,
    CheckoutPaymentMode,
    CheckoutSession,
    CheckoutSessionRequest,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    IdempotencyConflictError,
    InvalidRequestError,
    Money,
    NotFoundError,
    OperationType,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PaymentQuery,
    PaymentQueryDetail,
    PaymentResult,
    PayRequest,
    PayvenConnectionError,
    PayvenError,
    PayvenTimeoutError,
    PermissionDeniedError,
    Problem,
    QueryOutcome,
    RateLimitError,
    RunningEventLoopError,
    ServerError,
    Timeout,
    Token,
    TransportError,
    ValidationError,
    WebhookVerificationError,
    __version__,
)

from ._client import PayvenClient

if TYPE_CHECKING:
    from payven_async import (
        CaptureRequest,
        PaymentHistory,
        PaymentHistoryEntry,
        PaymentRequest,
        RefundReasonCode,
        RefundRequest,
        ThreeDSInitRequest,
        VoidRequest,
        WebhookEvent,
        WebhookPaymentData,
        sign_webhook,
        verify_webhook,
    )

__all__ = [
    "APIError",
    "Address",
    "AuthenticationError",
    "BasketItem",
    "Buyer",
    "CaptureRequest",
    "Card",
    "CheckoutPaymentMode",
    "CheckoutSession",
    "CheckoutSessionRequest",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "IdempotencyConflictError",
    "InvalidRequestError",
    "Money",
    "NotFoundError",
    "OperationType",
    "PayRequest",
    "PaymentDeclinedError",
    "PaymentHistory",
    "PaymentHistoryEntry",
    "PaymentOutcomeUnknown",
    "PaymentQuery",
    "PaymentQueryDetail",
    "PaymentRequest",
    "PaymentResult",
    "PayvenClient",
    "PayvenConnectionError",
    "PayvenError",
    "PayvenTimeoutError",
    "PermissionDeniedError",
    "Problem",
    "QueryOutcome",
    "RateLimitError",
    "RefundReasonCode",
    "RefundRequest",
    "RunningEventLoopError",
    "ServerError",
    "ThreeDSInitRequest",
    "Timeout",
    "Token",
    "TransportError",
    "ValidationError",
    "VoidRequest",
    "WebhookEvent",
    "WebhookPaymentData",
    "WebhookVerificationError",
    "__version__",
    "sign_webhook",
    "verify_webhook",
]


def __getattr__(name: str) -> Any:
    """Load a name that ``payven_async`` loads on first use, the same way."""
    if name not in payven_async._LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(payven_async, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every attribute, the lazily loaded names included."""
    return sorted({*globals(), *__all__})
