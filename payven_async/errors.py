"""Every exception payven raises.

The tree::

    PayvenError                       base of everything raised here
    ├── ConfigurationError            bad or missing client settings (raised at construction)
    ├── ValidationError               bad input, found before any network I/O; lists every problem
    ├── APIError                      the service answered with an error
    │   ├── InvalidRequestError       400 / 422 validation problems
    │   ├── AuthenticationError       401: bad credentials, expired or invalid token
    │   ├── PermissionDeniedError     403: forbidden, merchant inactive, IP not allowed, ...
    │   ├── NotFoundError             404 / 410: unknown payment, session or realm
    │   ├── ConflictError             409: invalid state transition, duplicate external id
    │   │   └── IdempotencyConflictError   same Idempotency-Key, different body
    │   ├── RateLimitError            429, carries ``retry_after`` in seconds
    │   ├── ServerError               5xx
    │   └── PaymentDeclinedError      the bank or Payven declined the payment
    ├── TransportError                no usable HTTP answer
    │   ├── PayvenConnectionError     connecting, or the connection dropped mid-answer
    │   └── PayvenTimeoutError        no answer within the timeout
    ├── DecodeError                   the answer was not what the API documents
    ├── PaymentOutcomeUnknown         a money-moving call was sent, its outcome unknown
    ├── PageFetchError                a page of a listing failed; ``page`` resumes there
    ├── ClientClosedError             the client was closed (also a RuntimeError)
    ├── RunningEventLoopError         payven_sync called from a thread running a loop
    └── WebhookVerificationError      a webhook delivery failed verification; see ``reason``

Errors are chosen by HTTP status and by the structured ``code`` of the answer, never
by message text. Every foreign exception (aiohttp, json) is mapped at the boundary and
chained with ``from``. Messages never carry card data, secrets or tokens: texts that
come from the server pass through :mod:`payven_async._redact` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from .models import PaymentResult, ResponseMeta

__all__ = [
    "APIError",
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "IdempotencyConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "PageFetchError",
    "PaymentDeclinedError",
    "PaymentOutcomeUnknown",
    "PayvenConnectionError",
    "PayvenError",
    "PayvenTimeoutError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "RunningEventLoopError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "WebhookVerificationError",
]


class PayvenError(Exception):
    """Base class of every exception raised by payven.

    ``meta`` is the :class:`~payven_async.ResponseMeta` of the call that failed
    (correlation id, status, headers, attempts, elapsed time), or None for an error
    raised before any request was sent (a ``ValidationError``).
    """

    meta: ResponseMeta | None = None


class ConfigurationError(PayvenError, ValueError):
    """The client was configured wrongly (missing credential, bad URL, bad option)."""


@attrs.frozen
class Problem:
    """One problem with the caller's input: which field, and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(PayvenError, ValueError):
    """The input is invalid; raised before any network I/O.

    ``problems`` lists every problem found, not just the first one.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid input ({count} {noun}):\n{lines}")


class APIError(PayvenError):
    """The Payven service answered with an error.

    Both error formats decode into these attributes: RFC 9457 problem+json (generation
    B) and the ``{message, isSuccess: false, code, data}`` envelope (generation A).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        type: str | None = None,
        correlation_id: str | None = None,
        provider_error_code: str | None = None,
        errors: Any = None,
        retry_after: float | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.type = type
        self.correlation_id = correlation_id
        self.provider_error_code = provider_error_code
        #: Field-level validation errors as the server sent them (a list or a mapping).
        self.errors = errors
        #: The server's ``Retry-After`` hint in seconds, when it sent one.
        self.retry_after = retry_after
        #: The decoded (redacted) error body, for anything not mapped to an attribute.
        self.body: Mapping[str, Any] = body if body is not None else {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"correlation_id={self.correlation_id!r})"
        )


class InvalidRequestError(APIError):
    """400 or 422: the service rejected the request as malformed or invalid."""


class AuthenticationError(APIError):
    """401: the credentials or the access token were refused."""


class PermissionDeniedError(APIError):
    """403: authenticated, but not allowed (inactive merchant, IP not allowed, ...)."""


class NotFoundError(APIError):
    """404 or 410: the payment, session or realm does not exist (or has expired)."""


class ConflictError(APIError):
    """409: the request conflicts with the current state of the resource."""


class IdempotencyConflictError(ConflictError):
    """409 ``idempotency_key_in_use``: the key was already used with a different body."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's wait hint in seconds."""


class ServerError(APIError):
    """5xx: the service, or the bank behind it, failed."""


class PaymentDeclinedError(APIError):
    """The payment was declined (by the bank or by Payven's rules).

    ``code`` is Payven's canonical code (``insufficient_funds``, ``do_not_honor``, ...),
    ``provider_error_code`` the bank's own (ISO 8583) code, and ``result`` the
    :class:`~payven_async.models.PaymentResult` when the service sent one.
    """

    def __init__(self, message: str, *, result: PaymentResult | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.result = result


class TransportError(PayvenError):
    """No usable HTTP answer arrived.

    ``request_sent`` is False only when the request certainly never reached the server
    (the connection could not be made), which makes even a payment safe to resend.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class PayvenConnectionError(TransportError):
    """Connecting failed, or the connection dropped before the answer was complete."""


class PayvenTimeoutError(TransportError):
    """No complete answer arrived within the timeout."""


class DecodeError(PayvenError):
    """The answer could not be decoded into the documented shape."""


class PaymentOutcomeUnknown(PayvenError):
    """A money-moving request was sent, and no answer could be obtained: it may or may not
    have moved money (charged, refunded, captured, voided).

    Resolve it by making the same call again with the same ``idempotency_key`` (the
    service replays the original answer and never moves money twice), or by querying the
    payment. ``transaction_id`` is the payment the operation was about, when it had one
    (refund, void, capture, 3-D Secure complete).
    """

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str,
        external_id: str | None,
        transaction_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key
        self.external_id = external_id
        self.transaction_id = transaction_id


class PageFetchError(PayvenError):
    """A page of a listing (``list_transactions`` and the other ``list_*``) failed after
    its retries.

    Every item of the pages before it was yielded, so the same call with
    ``start_page=error.page`` resumes exactly where the listing stopped. ``error`` is
    the failure itself (also the ``__cause__``), ``call`` the listing's name.
    """

    def __init__(self, call: str, page: int, error: PayvenError) -> None:
        super().__init__(
            f"{call}: page {page} failed ({type(error).__name__}: {error}); the items of "
            f"the pages before it were all yielded: resume with {call}(..., start_page={page})"
        )
        self.call = call
        self.page = page
        self.error = error


class ClientClosedError(PayvenError, RuntimeError):
    """The client is closed: it was closed before the call, or while the call ran.

    Never retried: create a new client.
    """


class RunningEventLoopError(PayvenError, RuntimeError):
    """A ``payven_sync`` method was called from a thread that runs an event loop.

    A blocking call there would stall that loop (and deadlock it, were it the client's
    own loop), so it is refused before anything runs. In async code use
    ``payven_async.PayvenClient`` and ``await`` its methods.
    """


#: Why a webhook delivery was rejected (``WebhookVerificationError.reason``).
WebhookRejection = Literal[
    "missing_header",
    "bad_timestamp",
    "timestamp_too_old",
    "timestamp_in_future",
    "malformed_signature",
    "signature_mismatch",
    "malformed_body",
]


class WebhookVerificationError(PayvenError):
    """A webhook delivery failed verification: do not act on it; answer it with a 400.

    ``reason`` says why, as one stable code (branch on it, never on the message):

    - ``missing_header``: ``X-Payven-Signature`` or ``X-Payven-Timestamp`` is absent
      (``header`` names it);
    - ``bad_timestamp``: the timestamp is not whole Unix seconds;
    - ``timestamp_too_old`` / ``timestamp_in_future``: outside the tolerance, so a
      replay (or a badly wrong clock);
    - ``malformed_signature``: the signature header holds no ``sha256=<64 hex>`` entry;
    - ``signature_mismatch``: no signature matches any of the secrets;
    - ``malformed_body``: the body is authentic but is not an event payven can decode.

    Messages never quote a secret, a signature or the body.
    """

    def __init__(
        self, message: str, *, reason: WebhookRejection, header: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason: WebhookRejection = reason
        #: The header at fault, for ``missing_header``, ``bad_timestamp`` and signature reasons.
        self.header = header

    def __repr__(self) -> str:
        return f"WebhookVerificationError(reason={self.reason!r}, header={self.header!r})"
