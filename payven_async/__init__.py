"""payven_async: the async Python client for the Payven virtual-POS (Sanal POS) API.

>>> async with PayvenClient(client_id=..., client_secret=..., slug=...) as client:
...     result = await client.pay(session_id, PayRequest(...))
...     query = await client.query(result.transaction_id)
"""

from ._client import PayvenClient
from ._config import Timeout
from ._version import __version__
from .errors import (
    APIError,
    AuthenticationError,
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
    ServerError,
    TransportError,
    ValidationError,
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
    Token,
)

__all__ = [
    "APIError",
    "Address",
    "AuthenticationError",
    "BasketItem",
    "Buyer",
    "Card",
    "CheckoutPaymentMode",
    "CheckoutSession",
    "CheckoutSessionRequest",
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
    "PaymentOutcomeUnknown",
    "PaymentQuery",
    "PaymentQueryDetail",
    "PaymentResult",
    "PayvenClient",
    "PayvenConnectionError",
    "PayvenError",
    "PayvenTimeoutError",
    "PermissionDeniedError",
    "Problem",
    "QueryOutcome",
    "RateLimitError",
    "ServerError",
    "Timeout",
    "Token",
    "TransportError",
    "ValidationError",
    "__version__",
]
