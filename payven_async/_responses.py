"""From an HTTP answer to a model or an exception, with no I/O (the sans-I/O core).

Errors are chosen by HTTP status and by the structured ``code``, never by message
text. Both error formats are understood: RFC 9457 problem+json (generation B) and the
``{message, isSuccess: false, code, data}`` envelope (generation A). Two outcomes are
only known once the answer is read against the request: a money-moving call whose
answer says ``is_success: false`` was *declined*, and one whose answer never arrived
(or cannot be read) has an *unknown outcome*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ._converters import _DECODERS, structure
from ._hooks import normalise_key
from ._http import Answer, Request
from ._json import decode_json
from ._redact import SecretText, redact_data, redact_text, scrub, sent_secrets
from ._retry import parse_retry_after
from .errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    DecodeError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from .models import PaymentResult, Token

__all__ = [
    "declined",
    "decode_answer",
    "decode_token",
    "error_from_answer",
    "error_from_payload",
    "normalise_code",
    "outcome_unknown",
    "request_secrets",
    "unsuccessful",
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
    if provider is not None:
        provider = redact_text(provider, secrets)
    correlation_id = _text(get("correlation_id", "correlationId", "traceId")) or headers.get(
        "X-Correlation-Id"
    )
    if correlation_id is not None:
        correlation_id = redact_text(correlation_id, secrets)
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
        type=redact_data(_text(get("type")), secrets),
        correlation_id=correlation_id,
        provider_error_code=provider,
        # Kept redacted on the way in: servers echo the request (card, CVV) in both.
        errors=redact_data(get("errors", "Errors"), secrets),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        body=redact_data(body, secrets),
    )


def request_secrets(request: Request, secrets: tuple[str, ...]) -> tuple[str, ...]:
    """``secrets`` and the card data and secrets ``request`` sent, which an answer to it
    may echo (worked out only when the call fails)."""
    return secrets + sent_secrets(request.body)


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


def decode_answer(
    answer: Answer, cls: type[T], *, secrets: Iterable[str] = (), sent: Request | None = None
) -> T:
    """Decode a 2xx answer into ``cls``; an envelope saying ``isSuccess: false`` raises.

    ``sent`` is the request answered: what it sent is masked in the error, if it
    echoes it. A JSON array decodes into a list model's ``items`` (a class whose
    ``wraps_list`` is true: the webhook lists), or as ``cls`` says (``list[X]``); an
    empty 204 into a model that needs no field (an update's or a delete's
    acknowledgement).
    """
    try:
        payload = decode_json(answer.body)
    except DecodeError:
        if answer.status == 204 and not answer.body:
            return structure({}, cls)
        raise
    # unwrap_envelope() written out for the two usual answers: a Python call less.
    envelope: Mapping[str, Any] | None
    if type(payload) is not dict or "data" not in payload:
        data, envelope = payload, None  # generation B: no envelope
    elif "isSuccess" in payload:
        data, envelope = payload["data"], payload  # generation A's envelope
    else:
        data, envelope = unwrap_envelope(payload)
    if envelope is not None and type(data) is not dict and _envelope_failed(envelope):
        if sent is not None:
            secrets = request_secrets(sent, tuple(secrets))
        raise error_from_payload(answer.status, envelope, headers=answer.headers, secrets=secrets)
    if data is None:
        raise DecodeError(f"the answer carries no {cls.__name__}")
    if type(data) is list and getattr(cls, "wraps_list", False):
        data = {"items": data}  # a list model (the webhook lists): the array is its items
    # structure() written out: a Python call less per answer.
    decoder = _DECODERS.get(cls)
    if decoder is None:
        return structure(data, cls)
    try:
        result: T = decoder(data, cls)
    except DecodeError as exc:  # as structure() does it
        scrub(exc)  # the decoders' frames hold the answer's data (tokens, echoed cards)
        raise
    except Exception as exc:
        scrub(exc)
        raise DecodeError(f"cannot decode {cls.__name__}: {type(exc).__name__}") from exc
    return result


def _envelope_failed(envelope: Mapping[str, Any]) -> bool:
    flag = envelope.get("isSuccess", envelope.get("is_success", envelope.get("IsSuccess")))
    return flag is False


_ENVELOPE_FLAGS = ("isSuccess", "is_success", "IsSuccess")
_ENVELOPE_KEYS = frozenset({"data", "message", "Message", "code", "Code", *_ENVELOPE_FLAGS})


def unwrap_envelope(payload: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """Split a generation-A ``{message, isSuccess, code, data}`` envelope.

    Returns ``(data, envelope)``; for a raw (generation-B) body, ``(payload, None)``.
    A body is an envelope when it has ``data`` and an ``isSuccess`` flag in any
    spelling, or ``data`` and no key but the envelope's (the schema requires none of
    them, so ``{"data": {...}}`` is a valid envelope too; no answer model has a
    ``data`` field).
    """
    if type(payload) is dict and "data" in payload:
        for flag in _ENVELOPE_FLAGS:
            if flag in payload:
                return payload["data"], payload
        if payload.keys() <= _ENVELOPE_KEYS:
            return payload["data"], payload
    return payload, None


# --- tokens ----------------------------------------------------------------------------------

_LIFETIME_KEYS = frozenset({"expires_in", "expiresIn", "refresh_expires_in", "refreshExpiresIn"})


def _is_whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite() and value == int(value)


def decode_token(answer: Answer) -> Token:
    """Decode a token answer: flat, nested under ``token``, or inside a ``data`` envelope."""
    payload: Any = decode_json(answer.body)
    payload, _ = unwrap_envelope(payload)
    if isinstance(payload, dict) and "access_token" not in payload and "accessToken" not in payload:
        for key in ("data", "token", "Token"):
            inner = payload.get(key)
            if isinstance(inner, dict):
                return decode_token_payload(inner)
    return decode_token_payload(payload)


def decode_token_payload(payload: Any) -> Token:
    """Decode a token mapping whose keys may also be nested one level deeper."""
    if isinstance(payload, dict) and isinstance(payload.get("token"), dict):
        payload = payload["token"]
    if isinstance(payload, dict):
        # A lifetime we cannot read is as good as none: token_lifetime then falls back
        # to the JWT's exp or the default, instead of failing the whole token.
        payload = {
            key: (None if key in _LIFETIME_KEYS and not _is_whole_number(value) else value)
            for key, value in payload.items()
        }
    token = structure(payload, Token)
    if not token.access_token:
        raise DecodeError("the token answer carries no access_token")
    # Kept as SecretText (masked reprs): they travel through the frames of every call.
    refresh = token.refresh_token
    return attrs.evolve(
        token,
        access_token=SecretText(token.access_token),
        refresh_token=None if refresh is None else SecretText(refresh),
    )


# --- money-moving outcomes -------------------------------------------------------------------

# Answers after which a money-moving request may have been carried out although we never
# learnt its outcome (503 says the service did not take the request).
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


def outcome_unknown(
    request: Request, label: str, error: PayvenError
) -> PaymentOutcomeUnknown | None:
    """The :class:`PaymentOutcomeUnknown` for a money-moving ``request`` that failed with
    ``error``, or None when ``error`` says that nothing moved.

    An answer that never arrived after the request was sent, a 500/502/504, or a 2xx
    that cannot be read leave the outcome unknown: the same call with the same
    idempotency key resolves it.
    """
    if isinstance(error, DecodeError):
        moved = True  # a 2xx arrived that we cannot read: it may well say the money moved
    elif isinstance(error, TransportError):
        moved = error.request_sent
    else:
        moved = isinstance(error, APIError) and error.status in _AMBIGUOUS_STATUSES
    if not moved:
        return None
    assert request.idempotency_key is not None  # every money-moving row is keyed
    return PaymentOutcomeUnknown(
        f"the {label} request was sent but its outcome is unknown ({error}); "
        f"call {request.call} again with the same idempotency_key, or get the payment",
        idempotency_key=request.idempotency_key,
        external_id=request.external_id,
        transaction_id=request.transaction_id,
    )


def unsuccessful(
    label: str,
    request: Request,
    answer: Answer,
    result: PaymentResult,
    secrets: tuple[str, ...],
) -> PaymentResult | PaymentDeclinedError | PaymentOutcomeUnknown:
    """What a money-moving call's 2xx answer whose ``result.is_success`` is false means:
    the result, or the error to raise (returned, for the caller to raise).

    The schemas require no field, and generation B keeps ``is_success`` only for a
    transition ("rely on the HTTP status: 2xx is success"; ``error_code`` is "filled
    only for failed operations"). So the answer is a decline
    (:class:`PaymentDeclinedError`) when it says so: ``is_success: false`` in the
    answer, else in generation A's envelope, else (neither states it) an
    ``error_code`` or ``provider_error_code``; an ``is_success`` that cannot be read is
    an unknown outcome. An answer that says otherwise, or nothing, is what its 2xx
    status says, a success: the result, with ``is_success`` true. Only answers whose
    ``is_success`` decoded false come here, never the usual one.
    """
    if "is_success" not in result.decode_problems:
        data, envelope = unwrap_envelope(decode_json(answer.body))
        stated = _success_flag(data)
        if stated is None and envelope is not None:
            stated = _success_flag(envelope)
        if stated is None:
            stated = result.error_code is None and result.provider_error_code is None
        if stated:
            return attrs.evolve(result, is_success=True)
    # Returned, not raised: the caller drops the unredacted result before raising it,
    # so that no frame's locals keep what the service echoed.
    return declined(label, result, answer.correlation_id, secrets, request)


def _success_flag(body: Any) -> bool | None:
    """The ``is_success`` that ``body`` states, in any spelling (None: it states none)."""
    if type(body) is dict:
        for key, value in body.items():
            if type(key) is str and normalise_key(key) == "issuccess" and value is not None:
                return value is True or (isinstance(value, str) and value.lower() == "true")
    return None


def declined(
    label: str,
    result: PaymentResult,
    correlation_id: str | None,
    secrets: tuple[str, ...],
    request: Request | None = None,
) -> PaymentDeclinedError | PaymentOutcomeUnknown:
    """The error for a money-moving call whose answer says ``is_success: false``.

    When the answer's ``is_success`` could not be read (a value of another type, kept in
    ``result.decode_problems``), nobody knows whether the money moved: for ``request``
    that is a :class:`PaymentOutcomeUnknown`, which the same idempotency key resolves,
    never a decline that a caller might retry with a new key.
    """
    if request is not None and "is_success" in result.decode_problems:
        assert request.idempotency_key is not None  # every money-moving row is keyed
        return PaymentOutcomeUnknown(
            f"the {label} answer's is_success cannot be read "
            f"({result.decode_problems['is_success']}); call {request.call} again with "
            "the same idempotency_key, or get the payment",
            idempotency_key=request.idempotency_key,
            external_id=request.external_id,
            transaction_id=result.transaction_id,
        )
    result = _redacted_result(result, secrets)
    code = normalise_code(result.error_code)
    detail = result.message or f"the {label} was declined"
    provider = f", bank code {result.provider_error_code}" if result.provider_error_code else ""
    return PaymentDeclinedError(
        f"{label} {code or 'declined'}{provider}: {detail}",
        status=200,
        code=code,
        detail=detail,
        provider_error_code=result.provider_error_code,
        correlation_id=correlation_id,
        result=result,
    )


def _redacted_result(result: PaymentResult, secrets: tuple[str, ...]) -> PaymentResult:
    """``result`` with every text it holds redacted, to keep in an error: a decline may
    echo the card it declined."""
    changes = {
        field.name: redact_data(value, secrets)
        for field in attrs.fields(type(result))
        if isinstance(value := getattr(result, field.name), (str, dict, list))
    }
    return attrs.evolve(result, **changes)
