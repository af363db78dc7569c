"""From an HTTP answer to a model or an exception, with no I/O (the sans-I/O core).

Errors are chosen by HTTP status and by the structured ``code``, never by message
text. Both error formats are understood: RFC 9457 problem+json (generation B) and the
``{message, isSuccess: false, code, data}`` envelope (generation A).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._converters import structure
from ._json import decode_json
from ._redact import redact_text
from ._retry import parse_retry_after
from ._transport import Answer
from .errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    DecodeError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "decode_answer",
    "error_from_answer",
    "error_from_payload",
    "normalise_code",
    "unwrap_envelope",
]

T = TypeVar("T")

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}

# Payven's canonical codes (payven-api.md section 6.2), lower snake.
_DECLINE_CODES = frozenset(
    {
        "bank_declined",
        "insufficient_funds",
        "card_expired",
        "do_not_honor",
        "limit_exceeded",
        "fraud_suspected",
        "fraud_blocked",
        "bin_restricted",
        "invalid_cvv",
        "payment_failed",
        "three_ds_required",
        "three_ds_authentication_failed",
        "three_ds_failed",
    }
)
_BY_CODE: dict[str, type[APIError]] = {
    "idempotency_key_in_use": IdempotencyConflictError,
    "idempotency_payload_mismatch": IdempotencyConflictError,
    "rate_limit_exceeded": RateLimitError,
    "unauthorized": AuthenticationError,
    "invalid_token": AuthenticationError,
    "token_expired": AuthenticationError,
    "invalid_credentials": AuthenticationError,
    "invalid_refresh_token": AuthenticationError,
    "client_unauthorized": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "merchant_inactive": PermissionDeniedError,
    "product_not_licensed": PermissionDeniedError,
    "ip_not_allowed": PermissionDeniedError,
    "realm_suspended": PermissionDeniedError,
    "conflict": ConflictError,
    "duplicate_external_id": ConflictError,
    "invalid_state_transition": ConflictError,
    "validation_failed": InvalidRequestError,
    "bad_request": InvalidRequestError,
    "invalid_json": InvalidRequestError,
    "internal_server_error": ServerError,
    "bad_gateway": ServerError,
    "service_unavailable": ServerError,
    "connector_unavailable": ServerError,
    "bank_timeout": ServerError,
}


def normalise_code(code: Any) -> str | None:
    """Lower-snake a structured code: ``PAYMENT_NOT_FOUND`` -> ``payment_not_found``."""
    if code is None:
        return None
    return str(code).strip().lower().replace("-", "_") or None


def _error_class(status: int, code: str | None, provider_error_code: str | None) -> type[APIError]:
    if code is not None:
        if code in _DECLINE_CODES:
            return PaymentDeclinedError
        by_code = _BY_CODE.get(code)
        if by_code is not None and (by_code is not ServerError or status >= 500):
            return by_code
    if status >= 500:
        return ServerError
    if status == 422 and provider_error_code:
        return PaymentDeclinedError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if code is not None and code.endswith("_not_found"):
        return NotFoundError
    if code is not None and (code.startswith("invalid_") or code.startswith("validation")):
        return InvalidRequestError
    return APIError


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def error_from_payload(
    status: int,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    fallback_text: str | None = None,
) -> APIError:
    """Build the exception for an error answer whose body decoded to ``payload``."""
    headers = headers or {}
    body: Mapping[str, Any] = payload if isinstance(payload, dict) else {}
    secrets = tuple(secrets)

    def get(*keys: str) -> Any:
        for key in keys:
            if key in body and body[key] is not None:
                return body[key]
        return None

    code = normalise_code(get("code", "Code", "errorCode", "error_code"))
    provider = _text(get("provider_error_code", "providerErrorCode"))
    detail = _text(get("detail", "message", "Message", "error_description"))
    title = _text(get("title", "Title"))
    if detail is None and title is None and fallback_text:
        detail = fallback_text
    if detail is not None:
        detail = redact_text(detail, secrets)
    if title is not None:
        title = redact_text(title, secrets)
    correlation_id = _text(get("correlation_id", "correlationId", "traceId")) or headers.get(
        "X-Correlation-Id"
    )
    cls = _error_class(status, code, provider)
    summary = detail or title or "no detail given"
    label = f"{status} {code}" if code else str(status)
    message = f"{label}: {summary}"
    if correlation_id:
        message += f" (correlation id {correlation_id})"
    return cls(
        message,
        status=status,
        code=code,
        title=title,
        detail=detail,
        type=_text(get("type")),
        correlation_id=correlation_id,
        provider_error_code=provider,
        errors=get("errors", "Errors"),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        body=_redacted(body, secrets),
    )


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of a decoded body with every string passed through the redactor."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    return value


def error_from_answer(answer: Answer, *, secrets: Iterable[str] = ()) -> APIError:
    """Build the exception for a non-2xx answer, whatever its body (JSON, HTML, nothing)."""
    try:
        payload = decode_json(answer.body) if answer.body else None
        fallback = None
    except DecodeError:
        payload = None
        # An HTML error page from a proxy: quote a short, redacted start of it.
        fallback = redact_text(answer.body[:200].decode("utf-8", "replace"), secrets).strip()
        fallback = " ".join(fallback.split()) or None
    return error_from_payload(
        answer.status,
        payload,
        headers=answer.headers,
        secrets=secrets,
        fallback_text=fallback,
    )


def decode_answer(answer: Answer, cls: type[T], *, secrets: Iterable[str] = ()) -> T:
    """Decode a 2xx answer into ``cls``; an envelope saying ``isSuccess: false`` raises."""
    payload = decode_json(answer.body)
    data, envelope = unwrap_envelope(payload)
    if envelope is not None and not isinstance(data, dict) and _envelope_failed(envelope):
        raise error_from_payload(answer.status, envelope, headers=answer.headers, secrets=secrets)
    if data is None:
        raise DecodeError(f"the answer carries no {cls.__name__}")
    return structure(data, cls)


def _envelope_failed(envelope: Mapping[str, Any]) -> bool:
    flag = envelope.get("isSuccess", envelope.get("is_success", envelope.get("IsSuccess")))
    return flag is False


_ENVELOPE_FLAGS = ("isSuccess", "is_success", "IsSuccess")


def unwrap_envelope(payload: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """Split a generation-A ``{message, isSuccess, code, data}`` envelope.

    Returns ``(data, envelope)``; for a raw (generation-B) body, ``(payload, None)``.
    A body is an envelope when it has ``data`` and an ``isSuccess`` flag in any spelling.
    """
    if type(payload) is dict and "data" in payload:
        for flag in _ENVELOPE_FLAGS:
            if flag in payload:
                return payload["data"], payload
    return payload, None
