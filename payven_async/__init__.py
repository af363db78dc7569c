"""payven_async: the async Python client for the Payven virtual-POS (Sanal POS) API.

>>> async with PayvenClient(client_id=..., client_secret=..., slug=...) as client:
...     result = await client.pay(session_id, PayRequest(...))
...     query = await client.query(result.transaction_id)
"""

from typing import TYPE_CHECKING

from ._client import PayvenClient
from ._config import Timeout
from ._http import Answer, Headers, Request
from ._lazy import LAZY, attach
from ._pipeline import RetryDetails
from ._transport import Transport
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
    ResponseMeta,
    Token,
)

if TYPE_CHECKING:  # what type checkers see of the names in _lazy.LAZY (a test pins the two)
    from ._memory import MemoryTransport
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
    from ._webhook_models import (
        Acknowledged,
        WebhookDeliveryLog,
        WebhookDeliveryLogList,
        WebhookSubscription,
        WebhookSubscriptionList,
        WebhookSubscriptionRequest,
    )
    from .webhooks import WebhookEvent, WebhookPaymentData, sign_webhook, verify_webhook

__all__ = [
    "APIError",
    "Acknowledged",
    "Address",
    "Answer",
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
    "Headers",
    "IdempotencyConflictError",
    "InvalidRequestError",
    "MemoryTransport",
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
    "Request",
    "ResponseMeta",
    "RetryDetails",
    "RunningEventLoopError",
    "ServerError",
    "ThreeDSInitRequest",
    "Timeout",
    "Token",
    "Transport",
    "TransportError",
    "ValidationError",
    "VoidRequest",
    "WebhookDeliveryLog",
    "WebhookDeliveryLogList",
    "WebhookEvent",
    "WebhookPaymentData",
    "WebhookSubscription",
    "WebhookSubscriptionList",
    "WebhookSubscriptionRequest",
    "WebhookVerificationError",
    "__version__",
    "sign_webhook",
    "verify_webhook",
]

__getattr__, __dir__ = attach(__name__, LAZY, __all__)
