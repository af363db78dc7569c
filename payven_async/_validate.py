"""Checks of the caller's input, run before any network I/O.

Each check collects every problem it finds; the client raises one
:class:`~payven_async.errors.ValidationError` that lists them all. Messages name the
field and never echo a card number or CVV.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from .errors import Problem, ValidationError
from .models import (
    Address,
    BasketItem,
    Buyer,
    Card,
    CheckoutSessionRequest,
    Money,
    OperationType,
    PayRequest,
)

__all__ = [
    "MAX_ID_LENGTH",
    "check_batch",
    "check_checkout_session_request",
    "check_id",
    "check_pay",
    "check_retries",
    "luhn_valid",
    "raise_if",
]

MAX_ID_LENGTH = 128
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f]+")


def raise_if(problems: list[Problem]) -> None:
    """Raise a :class:`ValidationError` when there is anything to report."""
    if problems:
        raise ValidationError(problems)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_id(field: str, value: Any) -> list[Problem]:
    """An identifier used in a URL path: a non-empty string of printable characters."""
    if not isinstance(value, str):
        return [Problem(field, f"must be a string, got {type(value).__name__}")]
    if not value:
        return [Problem(field, "must not be empty")]
    if len(value) > MAX_ID_LENGTH:
        return [Problem(field, f"must be at most {MAX_ID_LENGTH} characters")]
    if not _ID_RE.fullmatch(value):
        return [Problem(field, "must not contain whitespace or control characters")]
    return []


def _check_money(field: str, money: Any) -> list[Problem]:
    if not isinstance(money, Money):
        return [Problem(field, "must be a Money(amount, currency)")]
    problems = []
    if not _is_int(money.amount):
        problems.append(
            Problem(f"{field}.amount", "must be an int in minor units (kuruş), e.g. 15000")
        )
    elif money.amount <= 0:
        problems.append(Problem(f"{field}.amount", "must be positive"))
    problems += _check_currency(f"{field}.currency", money.currency)
    return problems


def _check_currency(field: str, currency: Any) -> list[Problem]:
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        return [Problem(field, "must be a three-letter upper-case ISO 4217 code, e.g. 'TRY'")]
    return []


def _check_card(card: Any, today: date) -> list[Problem]:
    if not isinstance(card, Card):
        return [Problem("card", "must be a Card")]
    problems = []
    if not isinstance(card.holder_name, str) or not card.holder_name.strip():
        problems.append(Problem("card.holder_name", "must not be empty"))
    number = card.number if isinstance(card.number, str) else ""
    if not number.isdigit() or not 13 <= len(number) <= 19:
        problems.append(Problem("card.number", "must be 13 to 19 digits"))
    elif not luhn_valid(number):
        problems.append(Problem("card.number", "fails the Luhn check (mistyped?)"))
    month_ok = card.expire_month.isdigit() and 1 <= int(card.expire_month) <= 12
    if not month_ok or len(card.expire_month) != 2:
        problems.append(Problem("card.expire_month", "must be 01 to 12"))
    year_ok = card.expire_year.isdigit() and len(card.expire_year) == 4
    if not year_ok:
        problems.append(Problem("card.expire_year", "must be four digits, e.g. 2030"))
    expiry = (int(card.expire_year), int(card.expire_month)) if month_ok and year_ok else None
    if expiry is not None and expiry < (today.year, today.month):
        problems.append(Problem("card.expire_year", "the card has expired"))
    cvv = card.cvv if isinstance(card.cvv, str) else ""
    if not (cvv.isdigit() and 3 <= len(cvv) <= 4):
        problems.append(Problem("card.cvv", "must be 3 or 4 digits"))
    return problems


def _check_optional_strings(prefix: str, obj: Any, names: Iterable[str]) -> list[Problem]:
    return [
        Problem(f"{prefix}.{name}", "must be a string")
        for name in names
        if getattr(obj, name) is not None and not isinstance(getattr(obj, name), str)
    ]


def _check_basket(items: Any) -> list[Problem]:
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
        return [Problem("basket_items", "must be a list of BasketItem")]
    problems = []
    for index, item in enumerate(items):
        field = f"basket_items[{index}]"
        if not isinstance(item, BasketItem):
            problems.append(Problem(field, "must be a BasketItem"))
            continue
        if not isinstance(item.id, str) or not item.id:
            problems.append(Problem(f"{field}.id", "must not be empty"))
        if not isinstance(item.name, str) or not item.name:
            problems.append(Problem(f"{field}.name", "must not be empty"))
        if not _is_int(item.price) or item.price < 0:
            problems.append(Problem(f"{field}.price", "must be an int >= 0 in minor units"))
        if not _is_int(item.quantity) or item.quantity < 1:
            problems.append(Problem(f"{field}.quantity", "must be an int >= 1"))
    return problems


def check_retries(max_retries: Any) -> list[Problem]:
    """A per-call retry count: an int >= 0."""
    if not _is_int(max_retries) or max_retries < 0:
        return [Problem("max_retries", f"must be an int >= 0, got {max_retries!r}")]
    return []


def check_batch(concurrency: Any, rate_limit: Any) -> list[Problem]:
    """query_many's knobs: concurrency an int >= 1, rate_limit a positive number or None."""
    problems = []
    if not _is_int(concurrency) or concurrency < 1:
        problems.append(Problem("concurrency", f"must be an int >= 1, got {concurrency!r}"))
    if rate_limit is not None and (
        isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)) or rate_limit <= 0
    ):
        problems.append(
            Problem("rate_limit", f"must be requests per second > 0, got {rate_limit!r}")
        )
    return problems


def check_pay(session_id: Any, request: Any, *, today: date | None = None) -> None:
    """Check a pay call's arguments; raise one error listing every problem."""
    problems = check_id("session_id", session_id)
    if not isinstance(request, PayRequest):
        problems.append(Problem("request", "must be a PayRequest"))
        raise_if(problems)
    today = today or date.today()
    problems += _check_money("amount", request.amount)
    problems += _check_card(request.card, today)
    if not _is_int(request.installment) or request.installment < 1:
        problems.append(Problem("installment", "must be an int >= 1 (1 = single payment)"))
    if not isinstance(request.operation_type, OperationType):
        problems.append(Problem("operation_type", "must be an OperationType"))
    for name in ("external_id", "basket_id"):
        value = getattr(request, name)
        if value is not None:
            problems += check_id(name, value)
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
    for name in ("callback_url", "cancel_url", "return_url"):
        url = getattr(request, name)
        if url is not None and not (
            isinstance(url, str) and url.startswith(("https://", "http://"))
        ):
            problems.append(Problem(name, "must be an http(s) URL"))
    raise_if(problems)


def check_checkout_session_request(request: Any) -> None:
    """Check a create-checkout-session request; raise one error listing every problem."""
    if not isinstance(request, CheckoutSessionRequest):
        raise_if([Problem("request", "must be a CheckoutSessionRequest")])
    problems = []
    if not _is_int(request.amount):
        problems.append(Problem("amount", "must be an int in minor units (kuruş), e.g. 15000"))
    elif request.amount <= 0:
        problems.append(Problem("amount", "must be positive"))
    problems += _check_currency("currency", request.currency)
    if request.allowed_installments is not None:
        bad = [n for n in request.allowed_installments if not _is_int(n) or n < 1]
        if bad:
            problems.append(Problem("allowed_installments", "must all be ints >= 1"))
    for name in ("external_id", "basket_id"):
        value = getattr(request, name)
        if value is not None:
            problems += check_id(name, value)
    raise_if(problems)
