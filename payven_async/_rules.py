"""The API's field rules, declared once: card, expiry, CVV, amount, currency, ids, URLs.

Each rule takes a value of any type and returns ``None`` when it holds or a stable
*code* (a short string such as ``"card_luhn"``) naming what is wrong. The rules know
no language and no model: the client's validation (:mod:`payven_async._validate`)
phrases the codes in English for a :class:`~payven_async.errors.ValidationError`,
and the emulator (:mod:`payven_async.testing`) phrases them in Turkish, as the real
API answers. A rule never puts the value into its code, so card data cannot leak
through one.

The rules are on every pay call's path, so they are written for the common, valid
case: one type test and one or two C-level string checks, and no allocation.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

__all__ = [
    "CODES",
    "COMMON_CURRENCIES",
    "INT64_MAX",
    "LUHN_DOUBLED",
    "MAX_ID_LENGTH",
    "MONTHS",
    "PLAIN_ID_RE",
    "URL_SCHEMES",
    "amount",
    "card_holder",
    "card_number",
    "currency",
    "cvv",
    "expiry",
    "identifier",
    "installment",
    "is_int",
    "luhn_holds",
    "luhn_valid",
    "non_negative_int",
    "positive_int",
    "required_text",
    "text",
    "url",
]

#: The largest amount the API stores (kuruş, a signed 64-bit integer).
INT64_MAX: Final = 2**63 - 1
#: The longest identifier (session, transaction, order id) the client sends in a path.
MAX_ID_LENGTH: Final = 128

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
#: Currencies valid without the regex (the usual ones).
COMMON_CURRENCIES: Final = frozenset({"TRY", "USD", "EUR", "GBP"})
#: A card's valid expiry months, as written, and their numbers.
MONTHS: Final = {f"{month:02d}": month for month in range(1, 13)}
#: The schemes of a URL the API may send a customer to.
URL_SCHEMES: Final = ("https://", "http://")
_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f]+")
# Ids made of URL-unreserved characters only (UUIDs, order numbers): valid as they are
# and the same once quoted, so the common case skips both the checks and the quoting.
PLAIN_ID_RE: Final = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_ID_LENGTH}}}")
#: Each digit's contribution to the Luhn sum when doubled (9 taken off two-digit
#: results), as a bytes translation table.
LUHN_DOUBLED: Final = bytes.maketrans(b"0123456789", b"0246813579")

#: Every code a rule returns, with what it means (the English the client shows).
CODES: Final[dict[str, str]] = {
    "not_string": "must be a string",
    "empty": "must not be empty",
    "too_long": f"must be at most {MAX_ID_LENGTH} characters",
    "control_characters": "must not contain whitespace or control characters",
    "lone_surrogate": "must be valid Unicode text (it holds a lone UTF-16 surrogate)",
    "not_int": "must be an int",
    "not_positive": "must be positive",
    "negative": "must be >= 0",
    "too_large": f"must be at most {INT64_MAX} (a 64-bit integer)",
    "installment_range": "must be an int >= 1 (1 = single payment)",
    "currency_format": "must be a three-letter upper-case ISO 4217 code, e.g. 'TRY'",
    "card_number_format": "must be 13 to 19 digits",
    "card_luhn": "fails the Luhn check (mistyped?)",
    "expire_month_format": "must be 01 to 12",
    "expire_year_format": "must be four digits, e.g. 2030",
    "card_expired": "the card has expired",
    "cvv_format": "must be 3 or 4 digits",
    "url_format": "must be an http(s) URL",
}


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool`` (``True`` is an ``int`` to Python, not to us)."""
    return isinstance(value, int) and not isinstance(value, bool)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of ASCII digits (anything else fails it)."""
    return digits.isascii() and digits.isdigit() and luhn_holds(digits)


def luhn_holds(digits: str) -> bool:
    """The Luhn check of a string already known to be ASCII digits (see :func:`luhn_valid`)."""
    # From the right, every second digit counts doubled: slices pick the two sets and a
    # translation table doubles the second, so the loop runs in C. Each ASCII digit's
    # code is 48 more than its value.
    raw = digits.encode("ascii")
    doubled = raw[-2::-2].translate(LUHN_DOUBLED)
    return (sum(raw[-1::-2]) + sum(doubled) - 48 * len(raw)) % 10 == 0


def _has_lone_surrogate(value: str) -> bool:
    # Only a lone surrogate cannot be encoded as UTF-8; ASCII text skips the attempt.
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- amounts -------------------------------------------------------------------------------


def amount(value: Any) -> str | None:
    """An amount in minor units: an int, positive, within int64."""
    if type(value) is int and 0 < value <= INT64_MAX:
        return None
    if not is_int(value):
        return "not_int"
    return "not_positive" if value <= 0 else "too_large"


def positive_int(value: Any) -> str | None:
    """An int >= 1 within int64 (a quantity, a page number)."""
    return amount(value)


def non_negative_int(value: Any) -> str | None:
    """An int >= 0 within int64 (a basket item's price in minor units)."""
    if type(value) is int and 0 <= value <= INT64_MAX:
        return None
    if not is_int(value):
        return "not_int"
    return "negative" if value < 0 else "too_large"


def installment(value: Any) -> str | None:
    """The number of instalments: an int >= 1 (1 is a single payment)."""
    if type(value) is int and value >= 1:
        return None
    return "installment_range"


def currency(value: Any) -> str | None:
    """A three-letter upper-case ISO 4217 code."""
    if type(value) is str and (value in COMMON_CURRENCIES or _CURRENCY_RE.fullmatch(value)):
        return None
    return "currency_format"


# --- the card --------------------------------------------------------------------------------


def card_number(value: Any) -> str | None:
    """13 to 19 ASCII digits that pass the Luhn check."""
    if not (type(value) is str and value.isascii() and value.isdigit() and 13 <= len(value) <= 19):
        return "card_number_format"
    return None if luhn_holds(value) else "card_luhn"


def required_text(value: Any) -> str | None:
    """Text that must say something: a non-blank string that can be sent as UTF-8."""
    if type(value) is str and value.strip():
        return "lone_surrogate" if _has_lone_surrogate(value) else None
    return "not_string" if not isinstance(value, str) else "empty"


def card_holder(value: Any) -> str | None:
    """The holder's name: non-blank text."""
    return required_text(value)


def cvv(value: Any) -> str | None:
    """3 or 4 ASCII digits."""
    if type(value) is str and value.isascii() and value.isdigit() and 3 <= len(value) <= 4:
        return None
    return "cvv_format"


def expiry(month: Any, year: Any, today: date) -> tuple[str | None, str | None]:
    """The expiry month ``"01"``-``"12"`` and four-digit year, not before ``today``'s month.

    Returns the month's code and the year's (``"card_expired"`` is the year's): a
    month in 1 to 12 written another way (``"1"``) is wrong but still dates the card.
    """
    number = MONTHS.get(month) if type(month) is str else None
    month_code = None
    if number is None:
        month_code = "expire_month_format"
        number = int(month) if type(month) is str and month.isascii() and month.isdigit() else 0
    if not (type(year) is str and len(year) == 4 and year.isascii() and year.isdigit()):
        return month_code, "expire_year_format"
    full_year = int(year)
    if 1 <= number <= 12 and (
        full_year < today.year or (full_year == today.year and number < today.month)
    ):
        return month_code, "card_expired"
    return month_code, None


# --- ids, text and URLs ----------------------------------------------------------------------


def identifier(value: Any) -> str | None:
    """An identifier: non-empty printable text of at most :data:`MAX_ID_LENGTH` characters."""
    if type(value) is str and PLAIN_ID_RE.fullmatch(value) is not None:
        return None
    if not isinstance(value, str):
        return "not_string"
    if not value:
        return "empty"
    if len(value) > MAX_ID_LENGTH:
        return "too_long"
    if not _ID_RE.fullmatch(value):
        return "control_characters"
    return "lone_surrogate" if _has_lone_surrogate(value) else None


def text(value: Any) -> str | None:
    """Free text: a string that can be sent as UTF-8 (no lone surrogate)."""
    if type(value) is str:
        return "lone_surrogate" if _has_lone_surrogate(value) else None
    return "not_string"


def url(value: Any) -> str | None:
    """An absolute http(s) URL."""
    if type(value) is str and value.startswith(URL_SCHEMES):
        return text(value)
    return "url_format"
