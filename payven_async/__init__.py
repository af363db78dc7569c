"""payven_async: the async Python client for the Payven virtual-POS (Sanal POS) API.

>>> async with PayvenClient(client_id=..., client_secret=..., slug=...) as client:
...     result = await client.pay(session_id, PayRequest(...))
...     query = await client.query(result.transaction_id)
"""

from typing import TYPE_CHECKING, Any

from ._client import PayvenClient
from ._config import Timeout
from ._version import __version__
from .errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenConnectionError,
    PayvenError,
    PayvenTimeoutError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    RunningEventLoopError,
    ServerError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from .models import (
    _OPERATION_MODELS,
    Address,
    BasketItem,
    Buyer,
    Card,
    CheckoutPaymentMode,
    CheckoutSession,
    CheckoutSessionRequest,
    Money,
    OperationType,
    PaymentQuery,
    PaymentQueryDetail,
    PaymentResult,
    PayRequest,
    QueryOutcome,
    Token,
)

if TYPE_CHECKING:
    from ._operation_models import (
        CaptureRequest,
        PaymentHistory,
        PaymentHistoryEntry,
        PaymentRequest,
        RefundReasonCode,
        RefundRequest,
        ThreeDSInitRequest,
        VoidRequest,
    )
    from .webhooks import WebhookEvent, WebhookPaymentData, sign_webhook, verify_webhook

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

# The webhook helpers and the payment operations' models load on first use: a process
# that only pays or queries never spends import time on them (the import-time budget in
# DESIGN.md).
_LAZY = {
    **dict.fromkeys(_OPERATION_MODELS, "._operation_models"),
    "WebhookEvent": ".webhooks",
    "WebhookPaymentData": ".webhooks",
    "sign_webhook": ".webhooks",
    "verify_webhook": ".webhooks",
}


def __getattr__(name: str) -> Any:
    """Load a lazily exported name (see ``_LAZY``) on first access."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every attribute, the lazily loaded names included."""
    return sorted({*globals(), *__all__})
