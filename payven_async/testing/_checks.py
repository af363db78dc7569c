"""Strict checks of what clients send, answered as the API's 400 validation problem.

Every body is first checked as it is read (:func:`check_texts`): each text in it can be
sent back as UTF-8 (no lone surrogate). Then it is checked in three steps, each stopping
at the first that finds a problem:

1. fields the API requires are present (``Zorunlu alan.``);
2. JSON types, field by field (a string where the API wants a string, a JSON integer
   where it wants an integer: .NET would not coerce ``5`` into ``"5"``), then a strict
   decode with the converters of :mod:`payven_async._converters` (exact keys of one
   style, no extra keys);
3. field rules: the API's rules as :mod:`payven_async._rules` declares them once for
   the client and the emulator (Luhn-valid card numbers, two-digit months, four-digit
   years, 3-4 digit CVVs, positive int64 amounts, basket prices (the API's doubles) of
   at least 0 within int64, ...), then the emulator's own API policy (amounts of at
   least :data:`MIN_AMOUNT` kuruş, ``TRY`` only, at most :data:`MAX_INSTALLMENT`
   installments, only ``Sale`` and ``PreAuth`` charge, refund reasons of at most
   :data:`MAX_REASON_LENGTH` characters).

Every problem is a code, phrased in Turkish as the real API does by :data:`MESSAGES`,
under the field's wire name (``card.expireMonth`` in generation A's camelCase,
``card.expire_month`` in generation B's snake_case). Messages never echo card data.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs
from multidict import MultiMapping

from .. import _rules as rules
from .._converters import strict_converter
from .._hooks import wire_key
from ..errors import DecodeError
from ..models import (
    BasketItem,
    CaptureRequest,
    CheckoutSessionRequest,
    RefundReasonCode,
    RefundRequest,
    VoidRequest,
)
from ._answers import ProblemError

__all__ = [
    "MAX_INSTALLMENT",
    "MAX_REASON_LENGTH",
    "MESSAGES",
    "MIN_AMOUNT",
    "SUPPORTED_CURRENCIES",
    "Problems",
    "check_capture",
    "check_card_request",
    "check_complete_3ds",
    "check_lookup_query",
    "check_refund",
    "check_session_request",
    "check_texts",
    "check_void",
    "decode",
    "only_keys",
    "type_problems",
    "validation_problem",
]

M = TypeVar("M")
Style = Literal["camel", "snake"]

# --- the emulator's API policy (not the client's rules) --------------------------------------

MIN_AMOUNT = 100  # kuruş: the docs' minimum transaction
SUPPORTED_CURRENCIES = frozenset({"TRY"})
MAX_INSTALLMENT = 12
MAX_REASON_LENGTH = 500
#: What charges money; the other operation types are separate routes.
PAYABLE_OPERATIONS = frozenset({"Sale", "PreAuth"})
#: Generation A declares OperationType as enum<integer>: the names by index.
_OPERATION_TYPES = ("Sale", "PreAuth", "PostAuth", "Void", "Refund", "Recurring")
#: The guides send lower snake (customer_request): accepted as the spec's name.
_REASON_BY_SNAKE = {code.name.lower(): code.value for code in RefundReasonCode}

#: Every problem code, phrased as the real API phrases it: the codes of
#: :mod:`payven_async._rules`, then the emulator's policy, then the body's shape.
MESSAGES: Mapping[str, str] = {
    # payven_async._rules
    "not_string": "Metin olmalı.",
    "empty": "Boş olamaz.",
    "too_long": f"En fazla {rules.MAX_ID_LENGTH} karakter olmalı.",
    "control_characters": "Boşluk veya kontrol karakteri içeremez.",
    "lone_surrogate": "Geçerli Unicode metin olmalı.",
    "not_int": "Tam sayı olmalı.",
    "not_positive": "Pozitif olmalı.",
    "negative": "Negatif olamaz.",
    "too_large": "64 bit tam sayı sınırını aşıyor.",
    "installment_range": "Taksit 1 veya daha büyük bir tam sayı olmalı (1 = tek çekim).",
    "currency_format": "Üç büyük harfli ISO 4217 para birimi kodu olmalı (ör. TRY).",
    "card_number_format": "Kart numarası 13-19 rakam olmalı.",
    "card_luhn": "Kart numarası geçersiz (Luhn).",
    "expire_month_format": "Son kullanma ayı 01-12 olmalı.",
    "expire_year_format": "Son kullanma yılı 4 rakam olmalı.",
    "card_expired": "Kartın son kullanma tarihi geçmiş.",
    "cvv_format": "CVV 3 veya 4 rakam olmalı.",
    "url_format": "http(s) URL olmalı.",
    # the emulator's policy
    "amount_below_minimum": f"Tutar en az {MIN_AMOUNT} kuruş olmalı.",
    "currency_not_supported": "Yalnızca TRY desteklenir.",
    "installment_above_maximum": f"Taksit 1 ile {MAX_INSTALLMENT} arasında olmalı.",
    "operation_not_payable": "Ödeme için yalnızca Sale veya PreAuth kullanılabilir.",
    "reason_too_long": f"En fazla {MAX_REASON_LENGTH} karakter olmalı.",
    # the body's shape
    "required": "Zorunlu alan.",
    "unknown_field": "Bilinmeyen alan.",
    "not_object": "JSON nesnesi olmalı.",
    "not_bool": "true veya false olmalı.",
    "not_number": "Sayı olmalı.",
    "not_enum": "Enum değeri olmalı.",
    "not_string_map": "Metin değerli bir nesne olmalı.",
    "not_array": "Dizi olmalı.",
    "null_item": "Boş olamaz.",
    "malformed": "İstek gövdesi beklenen şekilde değil.",
    "path_mismatch": "URL'deki transaction_id ile aynı olmalı.",
    "not_uuid": "Geçerli bir UUID olmalı.",
}

#: A uuid as the spec's ``format: uuid`` writes it (8-4-4-4-12 hex digits).
_UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")

#: Fields the model keeps as integers but the API types as JSON doubles.
_DOUBLES = frozenset({(BasketItem, "price")})


def validation_problem(errors: Mapping[str, list[str]]) -> ProblemError:
    """The API's 400 ``validation_failed`` problem, listing ``errors`` by field."""
    return ProblemError(
        400,
        "validation_failed",
        "Bir veya daha fazla doğrulama hatası oluştu.",
        errors=errors,
    )


class Problems:
    """Problems found in one body: Turkish messages by field (wire names)."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, code: str | None) -> None:
        """Add the problem ``code`` names for ``field``; ``None`` (the rule held) adds none."""
        if code is not None:
            self.note(field, MESSAGES[code])

    def note(self, field: str, message: str) -> None:
        """Add a message as it is (a decoder's own words)."""
        self.by_field.setdefault(field, []).append(message)

    def merge(self, other: Problems) -> None:
        """Add every problem of ``other``."""
        for field, messages in other.by_field.items():
            self.by_field.setdefault(field, []).extend(messages)

    def raise_if_any(self) -> None:
        """:raises ProblemError: the 400 validation problem, when anything was found."""
        if self.by_field:
            raise validation_problem(self.by_field)


def _wire_path(path: str, style: Style) -> str:
    return ".".join(wire_key(part, style) for part in path.split("."))


# --- the body's shape -------------------------------------------------------------------------


def check_texts(body: Any) -> None:
    """Every string in ``body`` (values and keys, at any depth) can be sent as UTF-8.

    A lone UTF-16 surrogate (``"\\ud800"``) is valid JSON but no text: an answer that
    echoed it could not be encoded. It is refused (``rules.text``) under the field's
    path as sent (``basketItems[0].name``); a key that holds one is named with the
    surrogate escaped (``\\ud800``), so that the problem itself can be sent.

    :raises ProblemError: the 400 validation problem.
    """
    problems = Problems()
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:  # depth first, in document order, without recursion (any nesting)
        path, value = pending.pop()
        if type(value) is str:
            problems.add(path or "$", rules.text(value))
        elif type(value) is dict:
            children = []
            for key, item in value.items():
                name = key.encode("utf-8", "backslashreplace").decode("utf-8")
                field = f"{path}.{name}" if path else name
                problems.add(field, rules.text(key))
                children.append((field, item))
            pending += reversed(children)
        elif type(value) is list:
            pending += reversed([(f"{path}[{index}]", item) for index, item in enumerate(value)])
    problems.raise_if_any()


def only_keys(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Only ``allowed`` keys, each a string when given.

    :raises ProblemError: the 400 validation problem.
    """
    problems = Problems()
    for key in sorted(key for key in body if key not in allowed):
        problems.add(key, "unknown_field")
    for key in allowed:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            problems.add(key, "not_string")
    problems.raise_if_any()


def _missing(body: Mapping[str, Any], paths: Iterable[str], style: Style) -> Problems:
    """Each dotted field in ``paths`` that is absent or null (where its parent is an object)."""
    problems = Problems()
    for path in paths:
        *parents, leaf = path.split(".")
        node: Any = body
        for parent in parents:
            node = node.get(wire_key(parent, style)) if type(node) is dict else None
        if type(node) is dict and node.get(wire_key(leaf, style)) is None:
            problems.add(_wire_path(path, style), "required")
    return problems


def _decode_required(
    body: dict[str, Any], cls: type[M], style: Style, required: Iterable[str]
) -> tuple[M, Problems]:
    """Decode ``body`` once its ``required`` top-level fields are there.

    Returns the decoded ``cls`` and the problems of the nested required fields
    (``amount.currency``), which are reported with the field rules.

    :raises ProblemError: the 400 validation problem.
    """
    required = tuple(required)
    _missing(body, [path for path in required if "." not in path], style).raise_if_any()
    decoded = decode(body, cls, style)
    return decoded, _missing(body, [path for path in required if "." in path], style)


def type_problems(data: Any, cls: type, style: Style, prefix: str = "") -> Problems:
    """Every field of ``data`` whose JSON type is not the one ``cls`` documents."""
    problems = Problems()
    if type(data) is not dict:
        problems.add(prefix or "$", "not_object")
        return problems
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        key = wire_key(field.name, style)
        if field.name == "unknown_fields" or data.get(key) is None:
            continue
        path = f"{prefix}.{key}" if prefix else key
        double = (cls, field.name) in _DOUBLES
        _check_type(data[key], hints[field.name], path, style, problems, double=double)
    return problems


def _strip_none(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _check_type(
    value: Any, tp: Any, path: str, style: Style, problems: Problems, *, double: bool = False
) -> None:
    tp = _strip_none(tp)
    origin = typing.get_origin(tp)
    code: str | None = None
    if tp is str:
        code = None if isinstance(value, str) else "not_string"
    elif tp is bool:
        code = None if type(value) is bool else "not_bool"
    elif tp is int:
        ok = type(value) is int or (double and isinstance(value, Decimal))
        code = None if ok else ("not_number" if double else "not_int")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        code = None if isinstance(value, str) or type(value) is int else "not_enum"
    elif origin in (Mapping, dict):
        ok = type(value) is dict and all(isinstance(item, str) for item in value.values())
        code = None if ok else "not_string_map"
    elif origin in (Sequence, list):
        if type(value) is not list:
            code = "not_array"
        else:
            (item_type,) = typing.get_args(tp)
            for index, item in enumerate(value):
                if item is None:
                    problems.add(f"{path}[{index}]", "null_item")
                else:
                    _check_type(item, item_type, f"{path}[{index}]", style, problems)
    elif attrs.has(tp):
        problems.merge(type_problems(value, tp, style, path))
    problems.add(path, code)


def decode(body: dict[str, Any], cls: type[M], style: Style) -> M:
    """``body`` as a ``cls``: JSON types checked field by field, then decoded strictly.

    :raises ProblemError: the 400 validation problem.
    """
    type_problems(body, cls, style).raise_if_any()
    try:
        return strict_converter(style).structure(body, cls)
    except DecodeError as error:
        raise validation_problem({"$": [str(error)]}) from None
    except (TypeError, ValueError):
        raise validation_problem({"$": [MESSAGES["malformed"]]}) from None


# --- field rules --------------------------------------------------------------------------------


def _check_amount(problems: Problems, field: str, value: Any, minimum: int) -> None:
    code = rules.amount(value)
    if code is None and value < minimum:
        code = "amount_below_minimum"
    problems.add(field, code)


def _check_currency(problems: Problems, field: str, value: Any) -> None:
    code = rules.currency(value)
    if code is None and value not in SUPPORTED_CURRENCIES:
        code = "currency_not_supported"
    problems.add(field, code)


def _check_installment(problems: Problems, field: str, value: Any) -> None:
    code = rules.installment(value)
    if code is None and value > MAX_INSTALLMENT:
        code = "installment_above_maximum"
    problems.add(field, code)


def _check_money(
    problems: Problems, field: str, money: Mapping[str, Any], minimum: int = 1
) -> None:
    """A money object: its ``amount`` at least ``minimum``, its ``currency`` (when given) TRY."""
    _check_amount(problems, f"{field}.amount", money.get("amount"), minimum)
    if money.get("currency") is not None:
        _check_currency(problems, f"{field}.currency", money["currency"])


def _check_card(problems: Problems, card: Mapping[str, Any], style: Style, today: date) -> None:
    def field(name: str) -> str:
        return f"card.{wire_key(name, style)}"

    def value(name: str) -> Any:
        return card.get(wire_key(name, style))

    problems.add(field("holder_name"), rules.card_holder(value("holder_name")))
    problems.add(field("number"), rules.card_number(value("number")))
    month_code, year_code = rules.expiry(value("expire_month"), value("expire_year"), today)
    problems.add(field("expire_month"), month_code)
    problems.add(field("expire_year"), year_code)
    problems.add(field("cvv"), rules.cvv(value("cvv")))


def _whole_kurus_prices(body: dict[str, Any], items_key: str) -> dict[str, Any]:
    """``body`` with each basket item's ``price`` sent as a double given to the decoder in
    whole kuruş: the API types the price as a double (``75.5`` is valid), the model keeps
    the client's integer, and the emulator keeps nothing of the basket (each price as
    sent is checked by :func:`_price_rule`)."""
    items = body.get(items_key)
    if type(items) is not list or not any(
        type(item) is dict and isinstance(item.get("price"), Decimal) for item in items
    ):
        return body
    whole = [
        {**item, "price": int(item["price"].to_integral_value())}
        if type(item) is dict and isinstance(item.get("price"), Decimal)
        else item
        for item in items
    ]
    return {**body, items_key: whole}


def _price_rule(value: Any) -> str | None:
    """A basket item's price as sent: an int as ``rules.non_negative_int`` says, or a
    double (a ``Decimal``) at least 0 and within int64 too."""
    if isinstance(value, Decimal):
        return "negative" if value < 0 else "too_large" if value > rules.INT64_MAX else None
    return rules.non_negative_int(value)


def check_card_request(
    body: dict[str, Any],
    cls: type[M],
    *,
    style: Style,
    today: date,
    required: Iterable[str] = (),
) -> M:
    """Decode a body that charges a card, strictly, in either generation's style.

    ``style`` is ``"camel"`` for generation A's pay (``PayRequest``; ``operationType``
    may be the enum's integer) and ``"snake"`` for generation B's direct and 3-D Secure
    payments (``PaymentRequest``, ``ThreeDSInitRequest``); ``required`` names the
    dotted fields that schema requires (``"amount.currency"``). ``today`` dates the
    card's expiry.

    :raises ProblemError: the 400 validation problem.
    """
    operation_key = wire_key("operation_type", style)
    operation = body.get(operation_key)
    if style == "camel" and type(operation) is int and 0 <= operation < len(_OPERATION_TYPES):
        body = {**body, operation_key: _OPERATION_TYPES[operation]}
    items_key = wire_key("basket_items", style)
    request: Any
    request, problems = _decode_required(_whole_kurus_prices(body, items_key), cls, style, required)
    _check_money(problems, "amount", body["amount"], MIN_AMOUNT)
    # As sent: generation A may leave it out (1), but not send null.
    _check_installment(problems, "installment", body.get("installment", 1))
    if request.operation_type.value not in PAYABLE_OPERATIONS:
        problems.add(operation_key, "operation_not_payable")
    _check_card(problems, body["card"], style, today)
    for index, item in enumerate(body.get(items_key) or []):
        problems.add(f"{items_key}[{index}].price", _price_rule(item.get("price")))
        problems.add(f"{items_key}[{index}].quantity", rules.positive_int(item.get("quantity")))
    for name in ("callback_url", "cancel_url", "return_url"):
        key = wire_key(name, style)
        if body.get(key) is not None:
            problems.add(key, rules.url(body[key]))
    problems.raise_if_any()
    return typing.cast("M", request)


def check_session_request(body: dict[str, Any]) -> CheckoutSessionRequest:
    """Decode a generation-B create-session body strictly.

    :raises ProblemError: the 400 validation problem.
    """
    required = ("amount", "currency")  # CreateCheckoutSessionRequest's
    request, problems = _decode_required(body, CheckoutSessionRequest, "snake", required)
    _check_amount(problems, "amount", request.amount, MIN_AMOUNT)
    _check_currency(problems, "currency", request.currency)
    for index, count in enumerate(request.allowed_installments or ()):
        _check_installment(problems, f"allowed_installments[{index}]", count)
    problems.raise_if_any()
    return request


# --- the payment operations' bodies -----------------------------------------------------------


def _without_transaction_id(body: dict[str, Any], path_id: str) -> dict[str, Any]:
    """``body`` without its optional ``transaction_id``, which must be the path's.

    :raises ProblemError: the 400 validation problem.
    """
    body = dict(body)
    if "transaction_id" in body:
        # The spec types it as a (uuid) string, not nullable: null is refused too.
        value = body.pop("transaction_id")
        problems = Problems()
        code = rules.identifier(value) if value is not None else "not_string"
        problems.add("transaction_id", code)
        if code is None and value != path_id:
            problems.add("transaction_id", "path_mismatch")
        problems.raise_if_any()
    return body


def check_refund(body: dict[str, Any], transaction_id: str) -> RefundRequest:
    """Decode a refund body (``RefundRequest``) for the payment ``transaction_id``.

    :raises ProblemError: the 400 validation problem.
    """
    body = _without_transaction_id(body, transaction_id)
    code = body.get("reason_code")
    if isinstance(code, str) and code in _REASON_BY_SNAKE:
        body["reason_code"] = _REASON_BY_SNAKE[code]
    refund, problems = _decode_required(body, RefundRequest, "snake", ("amount",))
    problems.add("amount", rules.amount(refund.amount))
    if refund.reason is not None and len(refund.reason) > MAX_REASON_LENGTH:
        problems.add("reason", "reason_too_long")
    problems.raise_if_any()
    return refund


def check_void(body: dict[str, Any], transaction_id: str) -> VoidRequest:
    """Decode a void body (``VoidRequest``, empty when none was sent).

    :raises ProblemError: the 400 validation problem.
    """
    return decode(_without_transaction_id(body, transaction_id), VoidRequest, "snake")


def check_capture(body: dict[str, Any], transaction_id: str) -> CaptureRequest:
    """Decode a capture body (``CaptureRequest``): a positive amount in TRY.

    :raises ProblemError: the 400 validation problem.
    """
    body = _without_transaction_id(body, transaction_id)
    required = ("amount", "amount.currency")
    capture, problems = _decode_required(body, CaptureRequest, "snake", required)
    _check_money(problems, "amount", body["amount"])
    problems.raise_if_any()
    return capture


def check_lookup_query(query: MultiMapping[str]) -> None:
    """The query string of a payment lookup (``/query``, ``/history``): generation B
    documents an optional ``transaction_id`` there, typed ``format: uuid`` (and a free
    ``order_id``); every ``transaction_id`` given must be a uuid.

    :raises ProblemError: the 400 validation problem.
    """
    problems = Problems()
    for value in query.getall("transaction_id", ()):
        if not _UUID_RE.fullmatch(value):
            problems.add("transaction_id", "not_uuid")
    problems.raise_if_any()


def check_complete_3ds(body: dict[str, Any]) -> str:
    """The transaction id of a 3-D Secure complete body (``ManualCompleteRequest``).

    :raises ProblemError: the 400 validation problem.
    """
    problems = Problems()
    for key in sorted(set(body) - {"transaction_id", "need_verification"}):
        problems.add(key, "unknown_field")
    transaction_id = body.get("transaction_id")
    if transaction_id is None:
        problems.add("transaction_id", "required")
    else:
        problems.add("transaction_id", rules.identifier(transaction_id))
    verify = body.get("need_verification")
    if verify is not None and type(verify) is not bool:
        problems.add("need_verification", "not_bool")
    problems.raise_if_any()
    return typing.cast("str", transaction_id)
