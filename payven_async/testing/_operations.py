"""The emulator's payment-operation routes (generation B), with the ledger's rules.

==================================================  ===================  =======================
route                                               name                 answers
==================================================  ===================  =======================
``POST /api/v1/payments``                           ``create_payment``   charged per test card
``POST /api/v1/payments/3d/init``                   ``init_3ds``         waits for the bank page
``POST /api/v1/payments/3d/complete``               ``complete_3ds``     charged per test card
``POST /api/v1/payments/{transaction_id}/refund``   ``refund_payment``   partial or full refund
``POST /api/v1/payments/{transaction_id}/void``     ``void_payment``     ``canceled``
``POST /api/v1/payments/{transaction_id}/capture``  ``capture_payment``  ``completed``
``GET  /api/v1/payments/{transaction_id}/history``  ``payment_history``  the payment's steps
``GET  /emulator/3ds/{transaction_id}``             ``three_ds_page``    a stand-in bank page
==================================================  ===================  =======================

All Bearer-authenticated (except the bank page); the POSTs honour ``Idempotency-Key``
like pay does (the same key and body replay the first answer, never moving money
twice). Bodies are checked strictly (snake_case keys of the spec's schema, JSON
types, no extra keys): anything else is a ``400 validation_failed``.

The ledger's rules (refund, void, capture, 3-D Secure) are
:class:`~payven_async.testing.Ledger`'s; each refusal is a ``422`` problem with the
documented code (``404 payment_not_found`` for an unknown payment). A direct payment
the bank declines is a ``422`` problem with the card's code and
``provider_error_code`` (the payment is still recorded, ``failed``). A 3-D Secure
init never charges: the card's outcome is applied at complete, which answers ``200``
with ``is_success: false`` and ``status: failed`` for a decline, as the spec
describes.

Refunds, voids and captures send ``refund.completed``, ``void.completed`` and
``capture.completed`` webhook events; payments the usual ``payment.*`` ones.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any

from aiohttp import web

from .._converters import strict_converter
from .._validate import luhn_valid
from ..errors import DecodeError
from ..models import CaptureRequest, PaymentRequest, RefundRequest, ThreeDSInitRequest, VoidRequest
from ._answers import ProblemError, history_b, json_answer, operation_result_b
from ._checks import MAX_INSTALLMENT, MIN_AMOUNT, SUPPORTED_CURRENCIES, type_problems
from ._checks import validation_problem as _validation_problem
from ._context import RouteContext
from ._ledger import Charge

__all__ = ["OperationRoutes", "check_card_payment"]

_REFUND_REASONS = (
    "CustomerRequest",
    "OutOfStock",
    "DuplicateCharge",
    "ProductDefect",
    "Fraud",
    "WrongAmount",
    "Other",
)
# The guides send lower snake (customer_request): accept it as the spec's name.
_REASON_BY_SNAKE = {
    "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_"): name
    for name in _REFUND_REASONS
}
MAX_REASON_LENGTH = 500
_PAYABLE = frozenset({"Sale", "PreAuth"})


def _problems(errors: Mapping[str, list[str]]) -> ProblemError:
    return _validation_problem(errors)


def _decode(body: dict[str, Any], cls: type[Any]) -> Any:
    wrong_types = type_problems(body, cls, "snake")
    if wrong_types:
        raise _problems(wrong_types)
    try:
        return strict_converter("snake").structure(body, cls)
    except DecodeError as error:
        raise _problems({"$": [str(error)]}) from None
    except (TypeError, ValueError):
        raise _problems({"$": ["İstek gövdesi beklenen şekilde değil."]}) from None


def _take_transaction_id(body: dict[str, Any], path_id: str | None) -> str | None:
    """Pop ``transaction_id`` from a body; it must be a string (equal to the path's)."""
    value = body.pop("transaction_id", None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _problems({"transaction_id": ["Metin olmalı."]})
    if path_id is not None and value != path_id:
        raise _problems({"transaction_id": ["URL'deki transaction_id ile aynı olmalı."]})
    return value


def _check_money(errors: dict[str, list[str]], field: str, amount: Any) -> None:
    if not isinstance(amount, dict):
        return
    if type(amount.get("amount")) is not int:
        errors.setdefault(f"{field}.amount", []).append("Tutar kuruş cinsinden tam sayı olmalı.")
    elif amount["amount"] < 1:
        errors.setdefault(f"{field}.amount", []).append("Tutar pozitif olmalı.")
    if amount.get("currency") not in SUPPORTED_CURRENCIES:
        errors.setdefault(f"{field}.currency", []).append("Yalnızca TRY desteklenir.")


def _check_extra(errors: dict[str, list[str]], body: Mapping[str, Any]) -> None:
    extra = body.get("extra_properties")
    if extra is not None and not (
        isinstance(extra, dict) and all(isinstance(v, str) for v in extra.values())
    ):
        errors.setdefault("extra_properties", []).append("Metin değerli bir nesne olmalı.")


def check_card_payment(body: dict[str, Any], cls: type[Any], today: date) -> Any:
    """Decode a ``CreatePaymentRequest`` / ``Init3DRequest`` body strictly (snake_case)."""
    missing = [key for key in ("amount", "card", "installment") if body.get(key) is None]
    if missing:
        raise _problems({key: ["Zorunlu alan."] for key in missing})
    payment = _decode(body, cls)
    errors: dict[str, list[str]] = {}

    def problem(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    amount = body["amount"]
    _check_money(errors, "amount", amount)
    if type(amount.get("amount")) is int and amount["amount"] < MIN_AMOUNT:
        problem("amount.amount", f"Tutar en az {MIN_AMOUNT} kuruş olmalı.")
    if not 1 <= payment.installment <= MAX_INSTALLMENT:
        problem("installment", f"Taksit 1 ile {MAX_INSTALLMENT} arasında olmalı.")
    if payment.operation_type.value not in _PAYABLE:
        problem("operation_type", "Ödeme için yalnızca Sale veya PreAuth kullanılabilir.")
    card = body["card"]
    if not str(card.get("holder_name") or "").strip():
        problem("card.holder_name", "Kart sahibi adı zorunlu.")
    number = card.get("number")
    if not (isinstance(number, str) and number.isdigit() and 13 <= len(number) <= 19):
        problem("card.number", "Kart numarası 13-19 rakam olmalı.")
    elif not luhn_valid(number):
        problem("card.number", "Kart numarası geçersiz (Luhn).")
    month, year = card.get("expire_month"), card.get("expire_year")
    month_ok = isinstance(month, str) and len(month) == 2 and month.isdigit()
    month_ok = month_ok and 1 <= int(month) <= 12
    year_ok = isinstance(year, str) and len(year) == 4 and year.isdigit()
    if not month_ok:
        problem("card.expire_month", "Son kullanma ayı 01-12 olmalı.")
    if not year_ok:
        problem("card.expire_year", "Son kullanma yılı 4 rakam olmalı.")
    if month_ok and year_ok and (int(year), int(month)) < (today.year, today.month):
        problem("card.expire_year", "Kartın son kullanma tarihi geçmiş.")
    cvv = card.get("cvv")
    if not (isinstance(cvv, str) and cvv.isdigit() and 3 <= len(cvv) <= 4):
        problem("card.cvv", "CVV 3 veya 4 rakam olmalı.")
    for index, item in enumerate(body.get("basket_items") or []):
        if item.get("quantity") is None or item["quantity"] < 1:
            problem(f"basket_items[{index}].quantity", "Adet 1 veya daha büyük olmalı.")
    for name in ("callback_url", "cancel_url", "return_url"):
        url = body.get(name)
        if url is not None and not url.startswith(("https://", "http://")):
            problem(name, "http(s) URL olmalı.")
    if errors:
        raise _problems(errors)
    return payment


class OperationRoutes:
    """The payment-operation routes, over one
    :class:`~payven_async.testing._context.RouteContext`."""

    def __init__(self, context: RouteContext) -> None:
        self.context = context

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes (named as in the module's table) to ``router``."""
        add = router.add_route
        add("POST", "/api/v1/payments", self._create_payment, name="create_payment")
        add("POST", "/api/v1/payments/3d/init", self._init_3ds, name="init_3ds")
        add("POST", "/api/v1/payments/3d/complete", self._complete_3ds, name="complete_3ds")
        base = "/api/v1/payments/{transaction_id}"
        add("POST", f"{base}/refund", self._refund, name="refund_payment")
        add("POST", f"{base}/void", self._void, name="void_payment")
        add("POST", f"{base}/capture", self._capture, name="capture_payment")
        add("GET", f"{base}/history", self._history, name="payment_history")
        add("GET", "/emulator/3ds/{transaction_id}", self._three_ds_page, name="three_ds_page")

    # --- payments ---------------------------------------------------------------------

    async def _create_payment(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        payment: PaymentRequest = check_card_payment(
            body, PaymentRequest, self.context.now().date()
        )

        async def produce() -> web.Response:
            record = self.context.ledger.charge(Charge.of(payment))
            self.context.payment_recorded(record)
            if not record.is_success:
                # Generation B answers a bank decline as a 422 problem.
                raise ProblemError(
                    422,
                    record.error_code or "bank_declined",
                    record.message,
                    provider_error_code=record.provider_error_code,
                )
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "create_payment", raw, produce)

    async def _init_3ds(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        if body.get("callback_url") is None:
            raise _problems({"callback_url": ["Zorunlu alan."]})
        payment: ThreeDSInitRequest = check_card_payment(
            body, ThreeDSInitRequest, self.context.now().date()
        )

        async def produce() -> web.Response:
            record = self.context.ledger.init_3ds(Charge.of(payment))
            page = f"{self.context.base_url}/emulator/3ds/{record.transaction_id}"
            form = (
                f'<form id="pv3ds" method="GET" action="{html.escape(page)}"></form>'
                "<script>document.getElementById('pv3ds').submit();</script>"
            )
            extra = {"redirect_url": page, "redirect_method": "GET", "html_content": form}
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "init_3ds", raw, produce)

    async def _complete_3ds(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        errors: dict[str, list[str]] = {}
        extra_keys = sorted(set(body) - {"transaction_id", "need_verification"})
        for key in extra_keys:
            errors[key] = ["Bilinmeyen alan."]
        if not isinstance(body.get("transaction_id"), str):
            errors["transaction_id"] = ["Zorunlu, metin olmalı."]
        verify = body.get("need_verification")
        if verify is not None and type(verify) is not bool:
            errors["need_verification"] = ["true veya false olmalı."]
        if errors:
            raise _problems(errors)
        transaction_id: str = body["transaction_id"]

        async def produce() -> web.Response:
            record = self.context.ledger.complete_3ds(transaction_id)
            self.context.payment_recorded(record)
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "complete_3ds", raw, produce)

    # --- after the payment ------------------------------------------------------------

    async def _refund(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request)
        body = dict(body)
        _take_transaction_id(body, transaction_id)
        if body.get("amount") is None:
            raise _problems({"amount": ["Zorunlu alan."]})
        code = body.get("reason_code")
        if isinstance(code, str) and code in _REASON_BY_SNAKE:
            body["reason_code"] = _REASON_BY_SNAKE[code]
        refund: RefundRequest = _decode(body, RefundRequest)
        errors: dict[str, list[str]] = {}
        if refund.amount < 1:
            errors["amount"] = ["Tutar pozitif olmalı."]
        if refund.reason is not None and len(refund.reason) > MAX_REASON_LENGTH:
            errors["reason"] = [f"En fazla {MAX_REASON_LENGTH} karakter olmalı."]
        _check_extra(errors, body)
        if errors:
            raise _problems(errors)

        async def produce() -> web.Response:
            record = self.context.ledger.refund(
                transaction_id, refund.amount, currency=refund.currency, reason=refund.reason
            )
            self.context.operation_completed("refund.completed", record)
            extra = {
                "refund_amount": str(refund.amount),
                "remaining_refundable": str(record.refundable),
            }
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "refund_payment", raw, produce)

    async def _void(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request, optional=True)
        body = dict(body)
        _take_transaction_id(body, transaction_id)
        void: VoidRequest = _decode(body, VoidRequest)

        async def produce() -> web.Response:
            record = self.context.ledger.void(transaction_id, reason=void.reason)
            self.context.operation_completed("void.completed", record)
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "void_payment", raw, produce)

    async def _capture(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request)
        body = dict(body)
        _take_transaction_id(body, transaction_id)
        if body.get("amount") is None:
            raise _problems({"amount": ["Zorunlu alan."]})
        capture: CaptureRequest = _decode(body, CaptureRequest)
        errors: dict[str, list[str]] = {}
        _check_money(errors, "amount", body["amount"])
        _check_extra(errors, body)
        if errors:
            raise _problems(errors)

        async def produce() -> web.Response:
            amount = capture.amount.amount
            record = self.context.ledger.capture(
                transaction_id, amount, capture.amount.currency, reason=capture.reason
            )
            self.context.operation_completed("capture.completed", record)
            extra = {
                "captured_amount": str(amount),
                "released_amount": str(record.amount - amount),
            }
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "capture_payment", raw, produce)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        return json_answer(history_b(record))

    async def _three_ds_page(self, request: web.Request) -> web.StreamResponse:
        """A stand-in for the bank's 3-D Secure page that ``redirect_url`` points at."""
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        page = (
            "<!doctype html><meta charset=utf-8><title>Payven emulator 3-D Secure</title>"
            f"<h1>Emulated bank</h1><p>3-D Secure for <code>{record.transaction_id}</code>: "
            f"{html.escape(record.status)}.</p><p>This page authenticates nothing: complete "
            "the payment with <code>POST /api/v1/payments/3d/complete</code>.</p>"
        )
        return web.Response(text=page, content_type="text/html")
