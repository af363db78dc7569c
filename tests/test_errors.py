"""Errors: chosen by status and structured code, from both error formats, redacted."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

import payven_async
from payven_async import errors
from payven_async._http import Answer
from payven_async._responses import decode_answer, error_from_answer
from payven_async.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    DecodeError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PayvenError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from payven_async.models import PaymentResult


def answer(status: int, body: Any, **headers: str) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, CIMultiDictProxy(CIMultiDict(headers)), raw)


def problem(status: int, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"https://docs.payven.com.tr/errors/{code}",
        "title": "Hata",
        "status": status,
        "code": code,
        "detail": f"detail of {code}",
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "validation_failed", InvalidRequestError),
        (401, "invalid_credentials", AuthenticationError),
        (401, "token_expired", AuthenticationError),
        (403, "ip_not_allowed", PermissionDeniedError),
        (404, "payment_not_found", NotFoundError),
        (410, "session_expired", NotFoundError),
        (409, "invalid_state_transition", ConflictError),
        (409, "idempotency_key_in_use", IdempotencyConflictError),
        (422, "bank_declined", PaymentDeclinedError),
        (422, "insufficient_funds", PaymentDeclinedError),
        (422, "refund_exceeds_original", InvalidRequestError),
        (429, "rate_limit_exceeded", RateLimitError),
        (500, "internal_server_error", ServerError),
        (503, "connector_unavailable", ServerError),
        (504, "bank_timeout", ServerError),
        (418, "teapot", APIError),
    ],
)
def test_problem_json_maps_by_status_and_code(
    status: int, code: str, expected: type[APIError]
) -> None:
    """RFC 9457 answers become the error class their status and code call for."""
    error = error_from_answer(answer(status, problem(status, code), **{"X-Correlation-Id": "c-1"}))
    assert type(error) is expected
    assert error.status == status
    assert error.code == code
    assert error.detail == f"detail of {code}"
    assert error.correlation_id == "c-1"
    assert code in str(error)
    assert "c-1" in str(error)


def test_problem_fields_are_all_kept() -> None:
    """type, title, provider_error_code, errors and correlation_id are all decoded."""
    body = problem(
        422,
        "bank_declined",
        provider_error_code="51",
        correlation_id="corr-9",
        errors=[{"field": "card.number", "code": "invalid", "message": "bad"}],
    )
    error = error_from_answer(answer(422, body))
    assert isinstance(error, PaymentDeclinedError)
    assert error.provider_error_code == "51"
    assert error.correlation_id == "corr-9"
    assert error.type == "https://docs.payven.com.tr/errors/bank_declined"
    assert error.title == "Hata"
    assert error.errors == [{"field": "card.number", "code": "invalid", "message": "bad"}]


def test_validation_problem_with_field_map_is_kept() -> None:
    """The spec's HttpValidationProblemDetails map of field -> messages is exposed."""
    body = problem(400, "validation_failed", errors={"Amount": ["must be positive"]})
    error = error_from_answer(answer(400, body))
    assert isinstance(error, InvalidRequestError)
    assert error.errors == {"Amount": ["must be positive"]}


def test_envelope_error_with_upper_snake_code() -> None:
    """Generation A's envelope failure maps its UPPER_SNAKE code."""
    body = {
        "message": "Ödeme bulunamadı",
        "isSuccess": False,
        "code": "PAYMENT_NOT_FOUND",
        "data": None,
    }
    error = error_from_answer(answer(404, body))
    assert isinstance(error, NotFoundError)
    assert error.code == "payment_not_found"
    assert error.detail == "Ödeme bulunamadı"


def test_envelope_failure_inside_a_200_raises() -> None:
    """An HTTP 200 envelope saying isSuccess false is still an error, chosen by its code."""
    body = {
        "message": "Yetkisiz",
        "isSuccess": False,
        "code": "IDEMPOTENCY_PAYLOAD_MISMATCH",
        "data": None,
    }
    with pytest.raises(IdempotencyConflictError):
        decode_answer(answer(200, body), PaymentResult)


def test_rate_limit_carries_retry_after() -> None:
    """A 429's Retry-After header becomes retry_after in seconds."""
    error = error_from_answer(
        answer(429, problem(429, "rate_limit_exceeded"), **{"Retry-After": "7"})
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0


def test_html_error_page_still_maps_by_status() -> None:
    """A proxy's HTML 502 page is a ServerError quoting a short, clean snippet."""
    error = error_from_answer(answer(502, b"<html><body>502 Bad Gateway</body></html>"))
    assert isinstance(error, ServerError)
    assert error.status == 502
    assert "502 Bad Gateway" in str(error)


def test_empty_error_body_maps_by_status() -> None:
    """An error with no body at all still gets its class and status."""
    error = error_from_answer(answer(503, b""))
    assert isinstance(error, ServerError)
    assert error.code is None


def test_server_text_is_redacted() -> None:
    """A card number or bearer token echoed by the server never reaches the message."""
    body = problem(400, "invalid_card", detail="card 4546711234567894 rejected, Bearer abc.def")
    error = error_from_answer(answer(400, body))
    assert "4546711234567894" not in str(error)
    assert "abc.def" not in str(error)
    assert "454671******7894" in str(error)


def test_success_answer_without_data_is_a_decode_error() -> None:
    """An envelope whose data is null on success cannot become a result."""
    with pytest.raises(DecodeError):
        decode_answer(answer(200, {"isSuccess": True, "data": None}), PaymentResult)


def test_every_error_is_a_payven_error_and_drawn_in_the_tree() -> None:
    """All exported errors derive from PayvenError and appear in errors' docstring tree."""
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, PayvenError), name
            assert re.search(rf"\b{name}\b", doc), f"{name} missing from the tree"
            assert getattr(payven_async, name) is obj


def test_api_error_repr_is_short_and_safe() -> None:
    """repr shows class, status, code and correlation id only."""
    error = error_from_answer(answer(404, problem(404, "payment_not_found", correlation_id="c")))
    assert repr(error) == "NotFoundError(status=404, code='payment_not_found', correlation_id='c')"
