"""Checks of the payment operations' input (direct and 3-D Secure payments, refund, void,
capture, history), run before any network I/O.

Built on the helpers of :mod:`payven_async._validate`: each check collects every
problem it finds and raises one :class:`~payven_async.errors.ValidationError` listing
them all. Messages name the field and never echo a card number or CVV.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ._operation_models import (
    CaptureRequest,
    PaymentRequest,
    RefundReasonCode,
    RefundRequest,
    ThreeDSInitRequest,
    VoidRequest,
)
from ._validate import (
    _check_basket,
    _check_card,
    _check_currency,
    _check_money,
    _check_optional_strings,
    _is_int,
    check_id,
    raise_if,
)
from .errors import Problem
from .models import Address, Buyer, OperationType

__all__ = [
    "MAX_REASON_LENGTH",
    "check_capture",
    "check_complete_3ds",
    "check_history",
    "check_payment_request",
    "check_refund",
    "check_three_ds_init_request",
    "check_transaction_id",
    "check_void",
]

#: The refund guide's limit on the free-text ``reason``.
MAX_REASON_LENGTH = 500


def check_transaction_id(transaction_id: Any) -> None:
    """A payment's id for a URL path; raise when it is not one."""
    raise_if(check_id("transaction_id", transaction_id))


def check_history(transaction_id: Any, order_id: Any) -> None:
    """Check a history call's ids; raise one error listing every problem."""
    problems = check_id("transaction_id", transaction_id)
    if order_id is not None:
        problems += check_id("order_id", order_id)
    raise_if(problems)


def _check_extra(value: Any) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        return [Problem("extra_properties", "must map strings to strings")]
    return []


def _check_url(field: str, url: Any, *, required: bool = False) -> list[Problem]:
    if url is None:
        return [Problem(field, "is required")] if required else []
    if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        return [Problem(field, "must be an http(s) URL")]
    return []


def _check_reason(reason: Any, limit: int | None = None) -> list[Problem]:
    if reason is None:
        return []
    if not isinstance(reason, str):
        return [Problem("reason", "must be a string")]
    if limit is not None and len(reason) > limit:
        return [Problem("reason", f"must be at most {limit} characters")]
    return []


def _check_payment_fields(request: Any, today: date) -> list[Problem]:
    """The fields direct and 3-D Secure payments share (those of ``CreatePaymentRequest``).

    ``request`` is typed ``Any``: callers pass anything, and every field is checked.
    """
    problems = _check_money("amount", request.amount)
    problems += _check_card(request.card, today)
    if not _is_int(request.installment) or request.installment < 1:
        problems.append(Problem("installment", "must be an int >= 1 (1 = single payment)"))
    if request.operation_type not in (OperationType.SALE, OperationType.PRE_AUTH):
        problems.append(
            Problem("operation_type", "must be OperationType.SALE or OperationType.PRE_AUTH")
        )
    for name in ("external_id", "basket_id"):
        value = getattr(request, name)
        if value is not None:
            problems += check_id(name, value)
    if request.description is not None and not isinstance(request.description, str):
        problems.append(Problem("description", "must be a string"))
    if request.buyer is not None:
        if not isinstance(request.buyer, Buyer):
            problems.append(Problem("buyer", "must be a Buyer"))
        else:
            problems += _check_optional_strings(
                "buyer", request.buyer, ("id", "name", "surname", "email", "phone")
            )
    for name in ("billing_address", "shipping_address"):
        address = getattr(request, name)
        if address is not None and not isinstance(address, Address):
            problems.append(Problem(name, "must be an Address"))
    if request.basket_items is not None:
        problems += _check_basket(request.basket_items)
    problems += _check_extra(request.extra_properties)
    return problems


def check_payment_request(request: Any, *, today: date | None = None) -> None:
    """Check a direct (Non-3D) payment; raise one error listing every problem."""
    if not isinstance(request, PaymentRequest):
        raise_if([Problem("request", "must be a PaymentRequest")])
    raise_if(_check_payment_fields(request, today or date.today()))


def check_three_ds_init_request(request: Any, *, today: date | None = None) -> None:
    """Check a 3-D Secure init; raise one error listing every problem."""
    if not isinstance(request, ThreeDSInitRequest):
        raise_if([Problem("request", "must be a ThreeDSInitRequest")])
    problems = _check_payment_fields(request, today or date.today())
    problems += _check_url("callback_url", request.callback_url, required=True)
    problems += _check_url("cancel_url", request.cancel_url)
    problems += _check_url("return_url", request.return_url)
    raise_if(problems)


def check_complete_3ds(transaction_id: Any, need_verification: Any) -> None:
    """Check a 3-D Secure complete's arguments; raise one error listing every problem."""
    problems = check_id("transaction_id", transaction_id)
    if not isinstance(need_verification, bool):
        problems.append(Problem("need_verification", "must be True or False"))
    raise_if(problems)


def check_refund(transaction_id: Any, request: Any) -> None:
    """Check a refund's arguments; raise one error listing every problem."""
    problems = check_id("transaction_id", transaction_id)
    if not isinstance(request, RefundRequest):
        raise_if([*problems, Problem("request", "must be a RefundRequest")])
    if not _is_int(request.amount):
        problems.append(Problem("amount", "must be an int in minor units (kuruş), e.g. 5000"))
    elif request.amount <= 0:
        problems.append(Problem("amount", "must be positive"))
    if request.currency is not None:
        problems += _check_currency("currency", request.currency)
    problems += _check_reason(request.reason, MAX_REASON_LENGTH)
    if request.reason_code is not None and not isinstance(request.reason_code, RefundReasonCode):
        problems.append(Problem("reason_code", "must be a RefundReasonCode"))
    problems += _check_extra(request.extra_properties)
    raise_if(problems)


def check_void(transaction_id: Any, request: Any) -> None:
    """Check a void's arguments; raise one error listing every problem."""
    problems = check_id("transaction_id", transaction_id)
    if request is not None:
        if not isinstance(request, VoidRequest):
            raise_if([*problems, Problem("request", "must be a VoidRequest or None")])
        problems += _check_reason(request.reason)
        problems += _check_extra(request.extra_properties)
    raise_if(problems)


def check_capture(transaction_id: Any, request: Any) -> None:
    """Check a capture's arguments; raise one error listing every problem."""
    problems = check_id("transaction_id", transaction_id)
    if not isinstance(request, CaptureRequest):
        raise_if([*problems, Problem("request", "must be a CaptureRequest")])
    problems += _check_money("amount", request.amount)
    problems += _check_reason(request.reason)
    problems += _check_extra(request.extra_properties)
    raise_if(problems)
