"""The client's checks of the caller's input, run before any network I/O.

The rules themselves (what makes a card number, an amount or an id valid) are
declared once, in :mod:`._rules`, and shared with the emulator; this module applies
them to the request models and words their codes in English. Each check collects
every problem it finds; the caller raises one
:class:`~payven_async.errors.ValidationError` that lists them all. Messages name the
field and never echo a value, so card data cannot leak through them.

These checks run on every money-moving call, and a full pay request has some forty
fields. A Python call costs about 700 instructions here against about 100 for an
inline test (callgrind), so a charge is first tried against
:func:`_charge_is_plainly_valid`: one function of inline tests that accepts only
values the rules accept too (ASCII-digit card fields, printable ids, in-range ints,
strings for text), but for one thing: whether a text holds a lone UTF-16 surrogate,
which no valid text does and which the JSON encoder finds anyway, for free. The
request is encoded before any I/O, and when the encoder refuses a text,
:func:`unsendable_texts` names the field for the :class:`ValidationError`. The usual
request passes the fast test at a quarter of the cost of applying the rules one by
one; anything it does not accept goes through the rules, which find and word every
problem. ``tests/test_validate.py`` pins, over generated requests, that a call is
refused before any I/O exactly when the rules find a problem.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from . import _rules as rules
from ._rules import luhn_valid
from .errors import ConfigurationError, Problem, ValidationError
from .models import Address, BasketItem, Buyer, Card, Money, OperationType, PayRequest

__all__ = [
    "MAX_REASON_LENGTH",
    "capture_problems",
    "charge_problems",
    "check_batch",
    "check_pay",
    "checkout_session_problems",
    "complete_3ds_problems",
    "id_problems",
    "luhn_valid",
    "page_problems",
    "pay_problems",
    "proxy_url",
    "raise_if",
    "refund_problems",
    "retries_problems",
    "three_ds_init_problems",
    "today",
    "unsendable_texts",
    "void_problems",
    "webhook_subscription_problems",
]

#: The refund guide's limit on the free-text ``reason``.
MAX_REASON_LENGTH = 500

# The operation types a charge (pay, direct or 3-D Secure payment) may carry: the rest
# (void, refund, post-auth) are operations of their own.
_CHARGE_TYPES = (OperationType.SALE, OperationType.PRE_AUTH)

# How a rule's code reads for fields whose context makes a plainer message possible.
_AMOUNT_WORDS = {"not_int": "must be an int in minor units (kuruş), e.g. 15000"}


def _words(code: str, overrides: Mapping[str, str] | None = None) -> str:
    if overrides is not None and code in overrides:
        return overrides[code]
    return rules.CODES[code]


def proxy_url(proxy: str | None) -> str | None:
    """A ``proxy=`` URL, checked: ``http://`` or ``https://`` and a host (or None)."""
    if proxy is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(proxy) if isinstance(proxy, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        # Never echo it: a proxy URL may carry a password.
        raise ConfigurationError("proxy must be an http:// or https:// URL with a host")
    return proxy


def raise_if(problems: list[Problem]) -> None:
    """Raise a :class:`ValidationError` when there is anything to report."""
    if problems:
        raise ValidationError(problems)


# Today's local date, and the span of Unix time it covers: date.today() asks the C
# library for the local time, which costs more than the rest of a card check.
_day: tuple[float, float, date] = (0.0, 0.0, date.min)


def today() -> date:
    """``date.today()``, worked out once a day: cards expire by the caller's calendar."""
    global _day
    now = time.time()
    start, end, day = _day
    if not start <= now < end:
        day = date.today()
        midnight = datetime.combine(day, datetime.min.time())
        start, end = midnight.timestamp(), (midnight + timedelta(days=1)).timestamp()
        _day = (start, end, day)
    return day


# --- ids -------------------------------------------------------------------------------------


def id_problems(field: str, value: Any, problems: list[Problem]) -> None:
    """An identifier sent in a URL path, a query or a header (see ``rules.identifier``)."""
    code = rules.identifier(value)
    if code is not None:
        problems.append(Problem(field, _words(code)))


def retries_problems(max_retries: Any) -> list[Problem]:
    """A per-call retry count: an int >= 0."""
    if not rules.is_int(max_retries) or max_retries < 0:
        return [Problem("max_retries", f"must be an int >= 0, got {max_retries!r}")]
    return []


def check_batch(concurrency: Any, rate_limit: Any) -> list[Problem]:
    """query_many's knobs: concurrency an int >= 1, rate_limit a positive number or None."""
    problems = []
    if not rules.is_int(concurrency) or concurrency < 1:
        problems.append(Problem("concurrency", f"must be an int >= 1, got {concurrency!r}"))
    if rate_limit is not None and (
        isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)) or rate_limit <= 0
    ):
        problems.append(
            Problem("rate_limit", f"must be requests per second > 0, got {rate_limit!r}")
        )
    return problems


# --- the parts of a request ---------------------------------------------------------------------


def _money(field: str, money: Any, problems: list[Problem]) -> None:
    if type(money) is not Money:
        problems.append(Problem(field, "must be a Money(amount, currency)"))
        return
    code = rules.amount(money.amount)
    if code is not None:
        problems.append(Problem(f"{field}.amount", _words(code, _AMOUNT_WORDS)))
    code = rules.currency(money.currency)
    if code is not None:
        problems.append(Problem(f"{field}.currency", _words(code)))


def _card(card: Any, day: date, problems: list[Problem]) -> None:
    if type(card) is not Card:
        problems.append(Problem("card", "must be a Card"))
        return
    for field, code in (
        ("card.holder_name", rules.card_holder(card.holder_name)),
        ("card.number", rules.card_number(card.number)),
        *zip(
            ("card.expire_month", "card.expire_year"),
            rules.expiry(card.expire_month, card.expire_year, day),
            strict=True,
        ),
        ("card.cvv", rules.cvv(card.cvv)),
    ):
        if code is not None:
            problems.append(Problem(field, _words(code)))


def _texts(prefix: str, obj: object, names: Iterable[str], problems: list[Problem]) -> None:
    """Optional free-text fields: None, or a string that can be sent (``rules.text``)."""
    for name in names:
        value = getattr(obj, name)
        if value is None or (type(value) is str and value.isascii()):
            continue  # the usual case, decided without calling the rule
        code = rules.text(value)
        if code is not None:
            problems.append(Problem(f"{prefix}{name}", _words(code)))


def _optional_id(field: str, value: Any, problems: list[Problem]) -> None:
    if value is not None:
        id_problems(field, value, problems)


def _urls(obj: object, names: Iterable[str], problems: list[Problem]) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            code = rules.url(value)
            if code is not None:
                problems.append(Problem(name, _words(code)))


def _extra(value: Any, problems: list[Problem]) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(
        type(key) is str and rules.text(key) is None and rules.text(item) is None
        for key, item in value.items()
    ):
        problems.append(Problem("extra_properties", "must map strings to strings"))


_BUYER_TEXTS = ("id", "name", "surname", "email", "phone", "ip_address", "identity_number")
_ADDRESS_TEXTS = ("contact_name", "city", "country", "address", "postal_code")


def _party(request: Any, problems: list[Problem]) -> None:
    """The buyer and the two addresses."""
    buyer = request.buyer
    if buyer is not None:
        if type(buyer) is Buyer:
            _texts("buyer.", buyer, _BUYER_TEXTS, problems)
        else:
            problems.append(Problem("buyer", "must be a Buyer"))
    for name in ("billing_address", "shipping_address"):
        address = getattr(request, name)
        if address is not None:
            if type(address) is Address:
                _texts(f"{name}.", address, _ADDRESS_TEXTS, problems)
            else:
                problems.append(Problem(name, "must be an Address"))


def _basket(items: Any, problems: list[Problem]) -> None:
    if not isinstance(items, (list, tuple)):
        problems.append(Problem("basket_items", "must be a list of BasketItem"))
        return
    for index, item in enumerate(items):
        if type(item) is not BasketItem:
            problems.append(Problem(f"basket_items[{index}]", "must be a BasketItem"))
            continue
        for field, code in (
            ("id", None if item.id is None else rules.required_text(item.id)),
            ("name", rules.required_text(item.name)),
            ("price", rules.non_negative_int(item.price)),
            ("quantity", rules.positive_int(item.quantity)),
        ):
            if code is not None:
                problems.append(Problem(f"basket_items[{index}].{field}", _words(code)))


# --- whole requests ------------------------------------------------------------------------------


def charge_problems(request: Any, day: date | None = None) -> list[Problem]:
    """The fields every charge shares: ``PayRequest``, ``PaymentRequest``, ``ThreeDSInitRequest``.

    Amount and currency, the card (Luhn, expiry by ``day``, CVV), the installment count,
    a sale or pre-auth, ids, free texts, the buyer and addresses, the basket, and
    ``extra_properties``.
    """
    if _charge_is_plainly_valid(request, day, ()):
        return []
    return _charge_problems(request, day or today())


def _charge_problems(request: Any, day: date) -> list[Problem]:
    problems: list[Problem] = []
    _money("amount", request.amount, problems)
    _card(request.card, day, problems)
    if rules.installment(request.installment) is not None:
        problems.append(Problem("installment", rules.CODES["installment_range"]))
    if request.operation_type not in _CHARGE_TYPES:
        problems.append(
            Problem("operation_type", "must be OperationType.SALE or OperationType.PRE_AUTH")
        )
    _optional_id("external_id", request.external_id, problems)
    _optional_id("basket_id", request.basket_id, problems)
    description = request.description
    if description is not None and not (type(description) is str and description.isascii()):
        code = rules.text(description)
        if code is not None:
            problems.append(Problem("description", _words(code)))
    if (
        request.buyer is not None
        or request.billing_address is not None
        or request.shipping_address is not None
    ):
        _party(request, problems)
    if request.basket_items is not None:
        _basket(request.basket_items, problems)
    _extra(request.extra_properties, problems)
    return problems


_PAGE_URLS = ("callback_url", "cancel_url", "return_url")


def pay_problems(request: Any, day: date | None = None) -> list[Problem]:
    """A checkout-session payment (``PayRequest``): a charge, and where the bank returns."""
    urls = (request.callback_url, request.cancel_url, request.return_url)
    if _charge_is_plainly_valid(request, day, urls):
        return []
    problems = _charge_problems(request, day or today())
    _urls(request, _PAGE_URLS, problems)
    return problems


def three_ds_init_problems(request: Any, day: date | None = None) -> list[Problem]:
    """A 3-D Secure init: a charge, and ``callback_url`` (required) and the other URLs."""
    problems = charge_problems(request, day)  # the URLs are checked below
    if request.callback_url is None:
        problems.append(Problem("callback_url", "is required"))
    _urls(request, _PAGE_URLS, problems)
    return problems


def check_pay(session_id: Any, request: Any, *, today: date | None = None) -> None:
    """Check a pay call's arguments; raise one error listing every problem.

    (The client checks them through the operation table; this is the same check for
    the command line and the tests.)
    """
    problems: list[Problem] = []
    id_problems("session_id", session_id, problems)
    if not isinstance(request, PayRequest):
        problems.append(Problem("request", "must be a PayRequest"))
    else:
        problems += pay_problems(request, today)
    raise_if(problems)


def checkout_session_problems(request: Any) -> list[Problem]:
    """A create-checkout-session request."""
    problems: list[Problem] = []
    code = rules.amount(request.amount)
    if code is not None:
        problems.append(Problem("amount", _words(code, _AMOUNT_WORDS)))
    code = rules.currency(request.currency)
    if code is not None:
        problems.append(Problem("currency", _words(code)))
    if request.allowed_installments is not None and any(
        rules.installment(n) is not None for n in request.allowed_installments
    ):
        problems.append(Problem("allowed_installments", "must all be ints >= 1"))
    _optional_id("external_id", request.external_id, problems)
    _optional_id("basket_id", request.basket_id, problems)
    _texts(
        "",
        request,
        ("merchant_name", "description", "customer_email", "customer_phone"),
        problems,
    )
    _urls(request, ("success_url", "cancel_url"), problems)
    return problems


def _reason(reason: Any, problems: list[Problem], limit: int | None = None) -> None:
    if reason is None:
        return
    code = rules.text(reason)
    if code is not None:
        problems.append(Problem("reason", _words(code)))
    elif limit is not None and len(reason) > limit:
        problems.append(Problem("reason", f"must be at most {limit} characters"))


def refund_problems(request: Any) -> list[Problem]:
    """A refund: a positive amount in minor units, and an optional currency and reason."""
    from ._operation_models import RefundReasonCode

    problems: list[Problem] = []
    code = rules.amount(request.amount)
    if code is not None:
        problems.append(
            Problem("amount", _words(code, {"not_int": "must be an int in minor units (kuruş)"}))
        )
    if request.currency is not None:
        code = rules.currency(request.currency)
        if code is not None:
            problems.append(Problem("currency", _words(code)))
    _reason(request.reason, problems, MAX_REASON_LENGTH)
    if request.reason_code is not None and not isinstance(request.reason_code, RefundReasonCode):
        problems.append(Problem("reason_code", "must be a RefundReasonCode"))
    _extra(request.extra_properties, problems)
    return problems


def void_problems(request: Any) -> list[Problem]:
    """A void's optional body: a reason and connector extras."""
    problems: list[Problem] = []
    _reason(request.reason, problems)
    _extra(request.extra_properties, problems)
    return problems


def capture_problems(request: Any) -> list[Problem]:
    """A capture: the amount (at most the authorised one: the ledger's to say), a reason."""
    problems: list[Problem] = []
    _money("amount", request.amount, problems)
    _reason(request.reason, problems)
    _extra(request.extra_properties, problems)
    return problems


def complete_3ds_problems(request: Any) -> list[Problem]:
    """A 3-D Secure complete: the payment's id and whether to verify first."""
    problems: list[Problem] = []
    id_problems("transaction_id", request.transaction_id, problems)
    if type(request.need_verification) is not bool:
        problems.append(Problem("need_verification", "must be True or False"))
    return problems


# --- the fast test ------------------------------------------------------------------------------
#
# Each test below accepts a subset of what the matching rule accepts (but for lone
# surrogates, see the module's docstring): an ASCII, printable, space-free string of 1
# to 128 characters is an identifier (``rules.identifier``); a str is text
# (``rules.text``); and so on. Where a test says no, the rules decide.


_NO_BUYER = Buyer()
_NO_ADDRESS = Address()
_INT64_MAX = rules.INT64_MAX
_MAX_ID_LENGTH = rules.MAX_ID_LENGTH
_MONTHS = rules.MONTHS
_COMMON_CURRENCIES = rules.COMMON_CURRENCIES
_SALE, _PRE_AUTH = OperationType.SALE, OperationType.PRE_AUTH
_URL_SCHEMES = rules.URL_SCHEMES
_LUHN_DOUBLED = rules.LUHN_DOUBLED


def _charge_is_plainly_valid(request: Any, day: date | None, urls: tuple[Any, ...]) -> bool:
    """True when every field of a charge, and each of ``urls``, plainly satisfies its
    rule (see above). Cards expire by ``day``, today when None."""
    if day is None:  # today(), inline: this runs on every charge
        start, end, day = _day
        if not start <= time.time() < end:
            day = today()
    money = request.amount
    card = request.card
    buyer = request.buyer or _NO_BUYER
    billing = request.billing_address or _NO_ADDRESS
    shipping = request.shipping_address or _NO_ADDRESS
    if (
        type(money) is not Money
        or type(card) is not Card
        or type(buyer) is not Buyer
        or type(billing) is not Address
        or type(shipping) is not Address
    ):
        return False
    amount, currency = money.amount, money.currency
    number, holder, cvv = card.number, card.holder_name, card.cvv
    month, year = card.expire_month, card.expire_year
    installment, operation = request.installment, request.operation_type
    if not (
        type(amount) is int
        and 0 < amount <= _INT64_MAX
        and currency in _COMMON_CURRENCIES
        and type(number) is str
        and 13 <= len(number) <= 19
        and number.isascii()
        and number.isdigit()
        and type(holder) is str
        and holder
        and not holder.isspace()
        and type(cvv) is str
        and 3 <= len(cvv) <= 4
        and cvv.isascii()
        and cvv.isdigit()
        and type(month) is str
        and month in _MONTHS
        and type(year) is str
        and len(year) == 4
        and year.isascii()
        and year.isdigit()
        and type(installment) is int
        and installment >= 1
        and (operation is _SALE or operation is _PRE_AUTH)
        and request.extra_properties is None
    ):
        return False
    full_year = int(year)
    if full_year < day.year or (full_year == day.year and _MONTHS[month] < day.month):
        return False
    texts = (
        request.description,
        buyer.id,
        buyer.name,
        buyer.surname,
        buyer.email,
        buyer.phone,
        buyer.ip_address,
        buyer.identity_number,
        billing.contact_name,
        billing.city,
        billing.country,
        billing.address,
        billing.postal_code,
        shipping.contact_name,
        shipping.city,
        shipping.country,
        shipping.address,
        shipping.postal_code,
    )
    for value in texts:  # None or a str (a lone surrogate is the encoder's to find)
        if value is not None and type(value) is not str:
            return False
    for value in (request.external_id, request.basket_id):
        # None, or an ASCII, printable, space-free string of 1 to 128 characters
        if value is not None and not (
            type(value) is str
            and 0 < len(value) <= _MAX_ID_LENGTH
            and value.isascii()
            and value.isprintable()
            and " " not in value
        ):
            return False
    items = request.basket_items
    if items is not None:
        if type(items) is not list and type(items) is not tuple:
            return False
        for item in items:
            if type(item) is not BasketItem:
                return False
            item_id, name, price, quantity = item.id, item.name, item.price, item.quantity
            if not (
                (item_id is None or (type(item_id) is str and item_id and not item_id.isspace()))
                and type(name) is str
                and name
                and not name.isspace()
                and type(price) is int
                and 0 <= price <= _INT64_MAX
                and type(quantity) is int
                and 1 <= quantity <= _INT64_MAX
            ):
                return False
    for url in urls:  # None, or a str starting with https:// or http://
        if url is not None and not (type(url) is str and url.startswith(_URL_SCHEMES)):
            return False
    # The Luhn check, inline (see rules.luhn_holds): a call costs as much as the check.
    raw = number.encode("ascii")
    return (sum(raw[-1::-2]) + sum(raw[-2::-2].translate(_LUHN_DOUBLED)) - 48 * len(raw)) % 10 == 0


def unsendable_texts(value: Any, field: str = "request") -> list[Problem]:
    """Every string inside ``value`` (a model, and the models, lists and mappings it
    holds) that cannot be sent as UTF-8 because it holds a lone surrogate.

    Only called when the encoder refused a body, to say where: the fast test leaves
    that one property of text to the encoder.
    """
    if type(value) is str:
        code = rules.text(value)
        return [] if code is None else [Problem(field, _words(code))]
    prefix = "" if field == "request" else f"{field}."
    if attrs.has(type(value)):
        problems = []
        for attribute in attrs.fields(type(value)):
            problems += unsendable_texts(getattr(value, attribute.name), prefix + attribute.name)
        return problems
    if isinstance(value, Mapping):
        problems = []
        for key, item in value.items():
            problems += unsendable_texts(key, f"{field} key")
            problems += unsendable_texts(item, f"{field}[{key!r}]")
        return problems
    if isinstance(value, (list, tuple)):
        problems = []
        for index, item in enumerate(value):
            problems += unsendable_texts(item, f"{field}[{index}]")
        return problems
    return []


def webhook_subscription_problems(request: Any) -> list[Problem]:
    """A webhook subscription (create or update): a URL, events, retries 0 to 20."""
    problems: list[Problem] = []
    code = rules.url(request.url)
    if code is not None:
        problems.append(Problem("url", _words(code)))
    events = [part.strip() for part in str(request.events).split(",")]
    if not request.events or not all(events):
        problems.append(Problem("events", "must name at least one event type, none empty"))
    retries = request.max_retry_count
    if retries is not None and not (type(retries) is int and 0 <= retries <= 20):
        problems.append(Problem("max_retry_count", "must be an int from 0 to 20"))
    code = None if request.description is None else rules.text(request.description)
    if code is not None:
        problems.append(Problem("description", _words(code)))
    return problems


def page_problems(page: Any, page_size: Any) -> list[Problem]:
    """A list's ``page`` (from 1) and ``page_size`` (1 to 100), when given."""
    problems: list[Problem] = []
    if page is not None and not (type(page) is int and page >= 1):
        problems.append(Problem("page", "must be an int from 1"))
    if page_size is not None and not (type(page_size) is int and 1 <= page_size <= 100):
        problems.append(Problem("page_size", "must be an int from 1 to 100"))
    return problems
