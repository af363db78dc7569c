"""Checks of the caller's input, run before any network I/O.

Each check collects every problem it finds; the client raises one
:class:`~payven_async.errors.ValidationError` that lists them all. Messages name the
field and never echo a card number or CVV.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import quote

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
    "path_segment",
    "plain_id",
    "raise_if",
]

MAX_ID_LENGTH = 128
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_COMMON_CURRENCIES = frozenset({"TRY", "USD", "EUR", "GBP"})  # valid without the regex
_MONTHS = {f"{month:02d}": month for month in range(1, 13)}  # a card's valid months
_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f]+")
# Ids made of URL-unreserved characters only (UUIDs, order numbers): valid as they are
# and the same once quoted, so the common case skips both the checks and the quoting.
_PLAIN_ID_RE = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_ID_LENGTH}}}")
# Each digit's contribution when doubled (9 subtracted from two-digit results), as text.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def raise_if(problems: list[Problem]) -> None:
    """Raise a :class:`ValidationError` when there is anything to report."""
    if problems:
        raise ValidationError(problems)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of ASCII digits (anything else fails it)."""
    return digits.isascii() and digits.isdigit() and _luhn_holds(digits)


def _luhn_holds(digits: str) -> bool:
    # From the right, every second digit counts doubled: slices pick the two sets and a
    # translation table doubles the second, so the loop runs in C. Each ASCII digit's
    # code is 48 more than its value.
    raw = digits.encode("ascii")
    doubled = raw[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(raw[-1::-2]) + sum(doubled) - 48 * len(raw)) % 10 == 0


def _is_ascii_digits(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_id(field: str, value: Any) -> list[Problem]:
    """An identifier used in a URL path: a non-empty string of printable characters."""
    if type(value) is str and _PLAIN_ID_RE.fullmatch(value) is not None:
        return []
    if not isinstance(value, str):
        return [Problem(field, f"must be a string, got {type(value).__name__}")]
    if not value:
        return [Problem(field, "must not be empty")]
    if len(value) > MAX_ID_LENGTH:
        return [Problem(field, f"must be at most {MAX_ID_LENGTH} characters")]
    if not _ID_RE.fullmatch(value):
        return [Problem(field, "must not contain whitespace or control characters")]
    return []


def path_segment(value: str) -> str:
    """``value`` quoted as one URL path segment (as it is, when nothing needs quoting)."""
    if _PLAIN_ID_RE.fullmatch(value) is not None:
        return value
    return quote(value, safe="")


def plain_id(value: Any) -> TypeGuard[str]:
    """True for the usual identifier: valid (see :func:`check_id`) and made of URL-safe
    characters only, so that it is its own path segment."""
    return type(value) is str and _PLAIN_ID_RE.fullmatch(value) is not None


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
    if not (type(money.currency) is str and money.currency in _COMMON_CURRENCIES):
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
    number = card.number
    if not (
        isinstance(number, str)
        and number.isascii()
        and number.isdigit()
        and 13 <= len(number) <= 19
    ):
        problems.append(Problem("card.number", "must be 13 to 19 digits"))
    elif not _luhn_holds(number):
        problems.append(Problem("card.number", "fails the Luhn check (mistyped?)"))
    month_text, year_text, cvv = card.expire_month, card.expire_year, card.cvv
    month = _MONTHS.get(month_text) if type(month_text) is str else None
    if month is None:
        # Any month but "01" to "12" is wrong; one in 1 to 12 still dates the card.
        month = int(month_text) if _is_ascii_digits(month_text) else 0
        problems.append(Problem("card.expire_month", "must be 01 to 12"))
    if isinstance(year_text, str) and len(year_text) == 4 and _is_ascii_digits(year_text):
        year = int(year_text)
        if 1 <= month <= 12 and (year, month) < (today.year, today.month):
            problems.append(Problem("card.expire_year", "the card has expired"))
    else:
        problems.append(Problem("card.expire_year", "must be four digits, e.g. 2030"))
    if not (isinstance(cvv, str) and cvv.isascii() and cvv.isdigit() and 3 <= len(cvv) <= 4):
        problems.append(Problem("card.cvv", "must be 3 or 4 digits"))
    return problems


# Today's local date, and the span of Unix time it covers: date.today() asks the C
# library for the local time, which costs more than the rest of a card check.
_day: tuple[float, float, date] = (0.0, 0.0, date.min)


def _today() -> date:
    """``date.today()``, worked out once a day."""
    global _day
    now = time.time()
    start, end, today = _day
    if not start <= now < end:
        today = date.today()
        midnight = datetime.combine(today, datetime.min.time())
        start, end = midnight.timestamp(), (midnight + timedelta(days=1)).timestamp()
        _day = (start, end, today)
    return today


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


def check_pay(session_id: Any, request: Any, *, today: date | None = None) -> str:
    """Check a pay call's arguments; raise one error listing every problem.

    Returns ``session_id`` as a URL path segment (see :func:`path_segment`), worked out
    with its check: the usual id needs one regex match for both.
    """
    if plain_id(session_id):
        problems: list[Problem] = []
        segment = session_id
    else:
        problems = check_id("session_id", session_id)
        segment = "" if problems else path_segment(session_id)
    if not isinstance(request, PayRequest):
        problems.append(Problem("request", "must be a PayRequest"))
        raise_if(problems)
    today = today or _today()
    problems += _check_money("amount", request.amount)
    problems += _check_card(request.card, today)
    if not _is_int(request.installment) or request.installment < 1:
        problems.append(Problem("installment", "must be an int >= 1 (1 = single payment)"))
    if not isinstance(request.operation_type, OperationType):
        problems.append(Problem("operation_type", "must be an OperationType"))
    if request.external_id is not None:
        problems += check_id("external_id", request.external_id)
    if request.basket_id is not None:
        problems += check_id("basket_id", request.basket_id)
    if request.buyer is not None:
        if not isinstance(request.buyer, Buyer):
            problems.append(Problem("buyer", "must be a Buyer"))
        else:
            problems += _check_optional_strings(
                "buyer", request.buyer, ("id", "name", "surname", "email", "phone")
            )
    if request.billing_address is not None or request.shipping_address is not None:
        for name in ("billing_address", "shipping_address"):
            address = getattr(request, name)
            if address is not None and not isinstance(address, Address):
                problems.append(Problem(name, "must be an Address"))
    if request.basket_items is not None:
        problems += _check_basket(request.basket_items)
    if (
        request.callback_url is not None
        or request.cancel_url is not None
        or request.return_url is not None
    ):
        for name in ("callback_url", "cancel_url", "return_url"):
            url = getattr(request, name)
            if url is not None and not (
                isinstance(url, str) and url.startswith(("https://", "http://"))
            ):
                problems.append(Problem(name, "must be an http(s) URL"))
    if problems:
        raise ValidationError(problems)
    return segment


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
