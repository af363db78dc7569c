"""Strict checks of what clients send, answered as the API's 400 validation problem.

Bodies are first checked for JSON types field by field (a string where the API wants
a string, a JSON integer where it wants an integer: .NET would not coerce ``5`` into
``"5"``), then decoded with the strict converters of :mod:`payven_async._wire` (exact
keys of one style, no extra keys), then checked against the API's field rules
(integer kuruş amounts of at least 100, ``TRY`` only, Luhn-valid card numbers,
two-digit months, four-digit years, 3-4 digit CVVs, installments 1-12). Messages name
fields and never echo card data.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import attrs

from .._converters import strict_converter
from .._validate import luhn_valid
from ..errors import DecodeError
from ..models import BasketItem, CheckoutSessionRequest, PayRequest
from ._answers import ProblemError

__all__ = [
    "MAX_INSTALLMENT",
    "MIN_AMOUNT",
    "check_pay_request",
    "check_session_request",
    "only_keys",
    "validation_problem",
]

MIN_AMOUNT = 100  # kuruş: the docs' minimum transaction
SUPPORTED_CURRENCIES = frozenset({"TRY"})
MAX_INSTALLMENT = 12
_OPERATION_TYPES = ("Sale", "PreAuth", "PostAuth", "Void", "Refund", "Recurring")
_PAYABLE_OPERATIONS = frozenset({"Sale", "PreAuth"})


def only_keys(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(key for key in body if key not in allowed)
    problems = {key: ["Bilinmeyen alan."] for key in extra}
    for key in allowed:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            problems[key] = ["Metin olmalı."]
    if problems:
        raise validation_problem(problems)


def validation_problem(errors: Mapping[str, list[str]]) -> ProblemError:
    return ProblemError(
        400,
        "validation_failed",
        "Bir veya daha fazla doğrulama hatası oluştu.",
        errors=errors,
    )


def _is_json_int(value: Any) -> bool:
    return type(value) is int


# --- JSON types, field by field ------------------------------------------------------------

Style = Literal["camel", "snake"]
Problems = dict[str, list[str]]
#: Fields the model keeps as integers but the API types as JSON doubles.
_DOUBLES = frozenset({(BasketItem, "price")})


def _wire_key(name: str, style: Style) -> str:
    if style == "snake":
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def type_problems(data: Any, cls: type, style: Style, prefix: str = "") -> Problems:
    """Every field of ``data`` whose JSON type is not the one ``cls`` documents."""
    problems: Problems = {}
    if type(data) is not dict:
        problems[prefix or "$"] = ["JSON nesnesi olmalı."]
        return problems
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        key = _wire_key(field.name, style)
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
    message: str | None = None
    if tp is str:
        message = None if isinstance(value, str) else "Metin olmalı."
    elif tp is bool:
        message = None if type(value) is bool else "true veya false olmalı."
    elif tp is int:
        ok = type(value) is int or (double and isinstance(value, Decimal))
        message = None if ok else ("Sayı olmalı." if double else "Tam sayı olmalı.")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        message = None if isinstance(value, str) or type(value) is int else "Enum değeri olmalı."
    elif origin in (Mapping, dict):
        ok = type(value) is dict and all(isinstance(item, str) for item in value.values())
        message = None if ok else "Metin değerli bir nesne olmalı."
    elif origin in (Sequence, list):
        if type(value) is not list:
            message = "Dizi olmalı."
        else:
            (item_type,) = typing.get_args(tp)
            for index, item in enumerate(value):
                if item is None:
                    problems.setdefault(f"{path}[{index}]", []).append("Boş olamaz.")
                else:
                    _check_type(item, item_type, f"{path}[{index}]", style, problems)
    elif attrs.has(tp):
        for key, messages in type_problems(value, tp, style, path).items():
            problems.setdefault(key, []).extend(messages)
    if message is not None:
        problems.setdefault(path, []).append(message)


def check_pay_request(body: dict[str, Any], today: date) -> PayRequest:
    """Decode a generation-A pay body strictly; any problem is the API's 400 validation problem."""
    operation = body.get("operationType")
    if type(operation) is int and 0 <= operation < len(_OPERATION_TYPES):
        # Generation A declares OperationType as enum<integer>: accept the index too.
        body = {**body, "operationType": _OPERATION_TYPES[operation]}
    wrong_types = type_problems(body, PayRequest, "camel")
    if wrong_types:
        raise validation_problem(wrong_types)
    try:
        pay = strict_converter("camel").structure(body, PayRequest)
    except DecodeError as error:
        raise validation_problem({"$": [str(error)]}) from None
    except (TypeError, ValueError):
        raise validation_problem({"$": ["İstek gövdesi beklenen şekilde değil."]}) from None
    errors: dict[str, list[str]] = {}

    def problem(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    amount = body.get("amount") or {}
    if not _is_json_int(amount.get("amount")):
        problem("amount.amount", "Tutar kuruş cinsinden tam sayı olmalı (15000 = 150,00 TRY).")
    elif pay.amount.amount < MIN_AMOUNT:
        problem("amount.amount", f"Tutar en az {MIN_AMOUNT} kuruş olmalı.")
    if pay.amount.currency not in SUPPORTED_CURRENCIES:
        problem("amount.currency", "Yalnızca TRY desteklenir.")
    if not _is_json_int(body.get("installment", 1)):
        problem("installment", "Taksit tam sayı olmalı.")
    elif not 1 <= pay.installment <= MAX_INSTALLMENT:
        problem("installment", f"Taksit 1 ile {MAX_INSTALLMENT} arasında olmalı.")
    if pay.operation_type.value not in _PAYABLE_OPERATIONS:
        problem("operationType", "Ödeme için yalnızca Sale veya PreAuth kullanılabilir.")
    card = body.get("card") or {}
    if not str(card.get("holderName") or "").strip():
        problem("card.holderName", "Kart sahibi adı zorunlu.")
    number = card.get("number")
    if not (isinstance(number, str) and number.isdigit() and 13 <= len(number) <= 19):
        problem("card.number", "Kart numarası 13-19 rakam olmalı.")
    elif not luhn_valid(number):
        problem("card.number", "Kart numarası geçersiz (Luhn).")
    month = card.get("expireMonth")
    year = card.get("expireYear")
    month = month if isinstance(month, str) and len(month) == 2 and month.isdigit() else ""
    year = year if isinstance(year, str) and len(year) == 4 and year.isdigit() else ""
    month_ok = bool(month) and 1 <= int(month) <= 12
    year_ok = bool(year)
    if not month_ok:
        problem("card.expireMonth", "Son kullanma ayı 01-12 olmalı.")
    if not year_ok:
        problem("card.expireYear", "Son kullanma yılı 4 rakam olmalı.")
    if month_ok and year_ok and (int(year), int(month)) < (today.year, today.month):
        problem("card.expireYear", "Kartın son kullanma tarihi geçmiş.")
    cvv = card.get("cvv")
    if not (isinstance(cvv, str) and cvv.isdigit() and 3 <= len(cvv) <= 4):
        problem("card.cvv", "CVV 3 veya 4 rakam olmalı.")
    for index, item in enumerate(body.get("basketItems") or []):
        if not _is_json_number(item.get("price")):
            problem(f"basketItems[{index}].price", "Fiyat sayı olmalı.")
        if not _is_json_int(item.get("quantity")) or item["quantity"] < 1:
            problem(f"basketItems[{index}].quantity", "Adet 1 veya daha büyük tam sayı olmalı.")
    if errors:
        raise validation_problem(errors)
    return pay


def _is_json_number(value: Any) -> bool:
    # decode_json turns JSON doubles into Decimal; booleans are not numbers.
    return type(value) is int or isinstance(value, Decimal)


def check_session_request(body: dict[str, Any]) -> CheckoutSessionRequest:
    """Decode a generation-B create-session body strictly."""
    wrong_types = type_problems(body, CheckoutSessionRequest, "snake")
    if wrong_types:
        raise validation_problem(wrong_types)
    try:
        request = strict_converter("snake").structure(body, CheckoutSessionRequest)
    except DecodeError as error:
        raise validation_problem({"$": [str(error)]}) from None
    except (TypeError, ValueError):
        raise validation_problem({"$": ["İstek gövdesi beklenen şekilde değil."]}) from None
    errors: dict[str, list[str]] = {}
    if not _is_json_int(body.get("amount")):
        errors["amount"] = ["Tutar kuruş cinsinden tam sayı olmalı (15000 = 150,00 TRY)."]
    elif request.amount < MIN_AMOUNT:
        errors["amount"] = [f"Tutar en az {MIN_AMOUNT} kuruş olmalı."]
    if "currency" not in body or request.currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = ["Yalnızca TRY desteklenir."]
    installments = body.get("allowed_installments")
    if installments is not None and not all(
        _is_json_int(n) and 1 <= n <= MAX_INSTALLMENT for n in installments
    ):
        errors["allowed_installments"] = [f"Taksitler 1 ile {MAX_INSTALLMENT} arasında olmalı."]
    if errors:
        raise validation_problem(errors)
    return request
