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

The ledger's rules, each a ``422`` problem with the documented code:

- refund: only a completed payment (``payment_not_refundable``; once fully refunded,
  ``payment_already_refunded``); partial refunds add up to at most the captured amount
  (``refund_exceeds_original``); the currency is the payment's
  (``refund_currency_mismatch``). The status becomes ``refunded`` when nothing is left.
- void: only a completed payment or an uncaptured pre-auth with nothing refunded
  (``payment_not_voidable``), once (``payment_already_voided``), on the day it was
  made in Turkish time, UTC+3, by the emulator's clock
  (``void_not_allowed_after_settlement``). The status becomes ``canceled``.
- capture: only a pre-auth (``payment_not_pre_auth``), once
  (``payment_already_captured``), while authorised (``capture_not_allowed``), within
  24 hours of it (``pre_auth_expired``), for at most the authorised amount
  (``capture_amount_exceeds_authorization``) in its currency
  (``capture_currency_mismatch``).
- a direct payment the bank declines is a ``422`` problem with the card's code and
  ``provider_error_code`` (the payment is still recorded, ``failed``). A 3-D Secure
  init never charges: the card's outcome is applied at complete, which answers ``200``
  with ``is_success: false`` and ``status: failed`` for a decline, as the spec
  describes. The 3-D Secure-required test card is approved there. A complete more than
  15 minutes after init fails with ``three_ds_timeout``.

Refunds, voids and captures send ``refund.completed``, ``void.completed`` and
``capture.completed`` webhook events; payments the usual ``payment.*`` ones.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from .._converters import strict_converter
from .._validate import luhn_valid
from ..errors import DecodeError
from ..models import CaptureRequest, PaymentRequest, RefundRequest, ThreeDSInitRequest, VoidRequest
from ._answers import ProblemError, json_answer, operation_result_b
from ._cards import APPROVED, CardOutcome, outcome_for
from ._checks import (
    MAX_INSTALLMENT,
    MIN_AMOUNT,
    SUPPORTED_CURRENCIES,
    type_problems,
    validation_problem as _validation_problem,
)
from ._clock import iso
from ._ledger import PaymentRecord

if TYPE_CHECKING:
    from ._app import EmulatorApp

__all__ = [
    "CAPTURE_WINDOW",
    "THREE_DS_WINDOW",
    "OperationRoutes",
    "check_card_payment",
    "history_b",
    "net_amount",
    "settlement_day",
]

#: How long a pre-auth can be captured.
CAPTURE_WINDOW = timedelta(hours=24)
#: How long a 3-D Secure flow may take from init to complete.
THREE_DS_WINDOW = timedelta(minutes=15)
#: Banks close the day in Turkish time (UTC+3 all year round).
_TURKEY = timezone(timedelta(hours=3))
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
_CHARGE_TYPES = {"Sale": "sale", "PreAuth": "pre_auth"}


def settlement_day(moment: datetime) -> date:
    """The bank day ``moment`` belongs to (end of day is midnight in Turkey)."""
    return moment.astimezone(_TURKEY).date()


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
    if payment.operation_type.value not in _CHARGE_TYPES:
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
    """The payment-operation routes of one :class:`~payven_async.testing._app.EmulatorApp`.

    :param on_event: told of every refund, void and capture (``emu.webhooks.emit``).
    """

    def __init__(
        self,
        app: EmulatorApp,
        on_event: Callable[[str, Mapping[str, Any]], object] | None = None,
    ) -> None:
        self.app = app
        self.on_event = on_event

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

    # --- shared steps -----------------------------------------------------------------

    def _now(self) -> datetime:
        return self.app.clock.utcnow()

    async def _body(self, request: web.Request) -> tuple[bytes, dict[str, Any]]:
        # The void body is optional: an empty one is an empty object.
        if not request.can_read_body:
            return b"", {}
        return await self.app._json_body(request)

    def _emit(self, event_type: str, record: PaymentRecord, amount: int) -> None:
        if self.on_event is None:
            return
        self.on_event(
            event_type,
            {
                "transaction_id": record.transaction_id,
                "status": record.status,
                "amount": amount,
                "currency": record.currency,
                "merchant_id": self.app.merchant_id,
                "provider_transaction_id": record.provider_transaction_id,
                "auth_code": record.auth_code,
                "error_code": None,
                "error_message": None,
                "masked_card_number": record.masked_card_number,
                "card_brand": record.card_brand,
            },
        )

    # --- payments ---------------------------------------------------------------------

    async def _create_payment(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        raw, body = await self.app._json_body(request)
        payment: PaymentRequest = check_card_payment(body, PaymentRequest, self._now().date())

        async def produce() -> web.Response:
            outcome = outcome_for(payment.card.number)
            record = self.app.ledger.record_charge(
                number=payment.card.number,
                outcome=outcome,
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                installment=payment.installment,
                operation_type=payment.operation_type.value,
                holder_name=payment.card.holder_name,
                external_id=payment.external_id,
                basket_id=payment.basket_id,
            )
            if self.app.on_payment is not None:
                self.app.on_payment(record)
            if not record.is_success:
                # Generation B answers a bank decline as a 422 problem.
                raise ProblemError(
                    422,
                    record.error_code or "bank_declined",
                    record.message,
                    provider_error_code=record.provider_error_code,
                )
            return json_answer(operation_result_b(record))

        return await self.app._idempotent(request, "create_payment", raw, produce)

    async def _init_3ds(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        raw, body = await self.app._json_body(request)
        if body.get("callback_url") is None:
            raise _problems({"callback_url": ["Zorunlu alan."]})
        payment: ThreeDSInitRequest = check_card_payment(
            body, ThreeDSInitRequest, self._now().date()
        )

        async def produce() -> web.Response:
            outcome = outcome_for(payment.card.number)
            if outcome.error_code == "three_ds_required":
                outcome = APPROVED  # this card only wanted 3-D Secure, which it now gets
            record = self.app.ledger.record_3ds_init(
                number=payment.card.number,
                outcome=outcome,
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                installment=payment.installment,
                operation_type=payment.operation_type.value,
                holder_name=payment.card.holder_name,
                external_id=payment.external_id,
                basket_id=payment.basket_id,
            )
            page = f"{self.app._base_url()}/emulator/3ds/{record.transaction_id}"
            form = (
                f'<form id="pv3ds" method="GET" action="{html.escape(page)}"></form>'
                "<script>document.getElementById('pv3ds').submit();</script>"
            )
            extra = {"redirect_url": page, "redirect_method": "GET", "html_content": form}
            return json_answer(operation_result_b(record, extra))

        return await self.app._idempotent(request, "init_3ds", raw, produce)

    async def _complete_3ds(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        raw, body = await self.app._json_body(request)
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
            record = self.app._payment(transaction_id)
            if record.status != "three_d_secure_init_processing" or record.pending_outcome is None:
                raise ProblemError(
                    422,
                    "three_ds_complete_not_allowed",
                    "Bu işlem 3D Secure tamamlamayı beklemiyor.",
                )
            outcome = record.pending_outcome
            if self._now() - record.created_at > THREE_DS_WINDOW:
                outcome = _timed_out(outcome)
            self.app.ledger.complete_3ds(record, outcome)
            if self.app.on_payment is not None:
                self.app.on_payment(record)
            return json_answer(operation_result_b(record))

        return await self.app._idempotent(request, "complete_3ds", raw, produce)

    # --- after the payment ------------------------------------------------------------

    async def _refund(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.app._json_body(request)
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
            record = self.app._payment(transaction_id)
            if record.status == "refunded":
                raise ProblemError(
                    422, "payment_already_refunded", "Ödemenin tamamı zaten iade edildi."
                )
            if record.status != "completed":
                raise ProblemError(
                    422,
                    "payment_not_refundable",
                    f"'{record.status}' durumundaki bir ödeme iade edilemez.",
                )
            if refund.currency is not None and refund.currency != record.currency:
                raise ProblemError(
                    422, "refund_currency_mismatch", f"Ödemenin para birimi {record.currency}."
                )
            charged = (
                record.captured_amount if record.captured_amount is not None else record.amount
            )
            remaining = charged - record.refunded_amount
            if refund.amount > remaining:
                raise ProblemError(
                    422,
                    "refund_exceeds_original",
                    f"İade edilebilecek tutar {remaining} kuruş.",
                )
            record.refunded_amount += refund.amount
            remaining -= refund.amount
            record.move_to(
                "refunded" if remaining == 0 else "completed",
                self._now(),
                "refund",
                amount=refund.amount,
                message=refund.reason or "İade başarılı",
            )
            self._emit("refund.completed", record, refund.amount)
            extra = {"refund_amount": str(refund.amount), "remaining_refundable": str(remaining)}
            return json_answer(operation_result_b(record, extra))

        return await self.app._idempotent(request, "refund_payment", raw, produce)

    async def _void(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self._body(request)
        body = dict(body)
        _take_transaction_id(body, transaction_id)
        void: VoidRequest = _decode(body, VoidRequest)

        async def produce() -> web.Response:
            record = self.app._payment(transaction_id)
            if record.status == "canceled":
                raise ProblemError(422, "payment_already_voided", "Ödeme zaten iptal edildi.")
            if record.status not in ("completed", "authorized") or record.refunded_amount:
                raise ProblemError(
                    422,
                    "payment_not_voidable",
                    f"'{record.status}' durumundaki bir ödeme iptal edilemez; iade yapın.",
                )
            if settlement_day(record.created_at) != settlement_day(self._now()):
                raise ProblemError(
                    422,
                    "void_not_allowed_after_settlement",
                    "Gün sonu kapandı; iptal yerine iade yapın.",
                )
            amount = record.captured_amount if record.captured_amount is not None else record.amount
            record.move_to(
                "canceled",
                self._now(),
                "void",
                amount=amount,
                message=void.reason or "İptal başarılı",
            )
            self._emit("void.completed", record, amount)
            return json_answer(operation_result_b(record))

        return await self.app._idempotent(request, "void_payment", raw, produce)

    async def _capture(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.app._json_body(request)
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
            record = self.app._payment(transaction_id)
            if record.operation_type != "PreAuth":
                raise ProblemError(422, "payment_not_pre_auth", "Ödeme bir ön provizyon değil.")
            if record.captured_amount is not None:
                raise ProblemError(
                    422, "payment_already_captured", "Bu ön provizyon zaten çekildi."
                )
            if record.status != "authorized":
                raise ProblemError(
                    422,
                    "capture_not_allowed",
                    f"'{record.status}' durumundaki bir ön provizyon çekilemez.",
                )
            if self._now() - record.created_at > CAPTURE_WINDOW:
                raise ProblemError(
                    422, "pre_auth_expired", "Ön provizyon 24 saat içinde çekilmeliydi."
                )
            if capture.amount.currency != record.currency:
                raise ProblemError(
                    422, "capture_currency_mismatch", f"Provizyonun para birimi {record.currency}."
                )
            if capture.amount.amount > record.amount:
                raise ProblemError(
                    422,
                    "capture_amount_exceeds_authorization",
                    f"En fazla {record.amount} kuruş çekilebilir.",
                )
            record.captured_amount = capture.amount.amount
            record.move_to(
                "completed",
                self._now(),
                "post_auth",
                amount=capture.amount.amount,
                message=capture.reason or "Çekim başarılı",
            )
            self._emit("capture.completed", record, capture.amount.amount)
            extra = {
                "captured_amount": str(capture.amount.amount),
                "released_amount": str(record.amount - capture.amount.amount),
            }
            return json_answer(operation_result_b(record, extra))

        return await self.app._idempotent(request, "capture_payment", raw, produce)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        self.app._authenticate(request)
        record = self.app._payment(request.match_info["transaction_id"])
        return json_answer(history_b(record))

    async def _three_ds_page(self, request: web.Request) -> web.StreamResponse:
        """A stand-in for the bank's 3-D Secure page that ``redirect_url`` points at."""
        record = self.app._payment(request.match_info["transaction_id"])
        page = (
            "<!doctype html><meta charset=utf-8><title>Payven emulator 3-D Secure</title>"
            f"<h1>Emulated bank</h1><p>3-D Secure for <code>{record.transaction_id}</code>: "
            f"{html.escape(record.status)}.</p><p>This page authenticates nothing: complete "
            "the payment with <code>POST /api/v1/payments/3d/complete</code>.</p>"
        )
        return web.Response(text=page, content_type="text/html")


def _timed_out(outcome: CardOutcome) -> CardOutcome:
    """The outcome of a 3-D Secure flow completed too late, whatever the card."""
    return attrs.evolve(
        outcome,
        approved=False,
        message="3D Secure süresi doldu",
        error_code="three_ds_timeout",
        provider_error_code=None,
    )


def net_amount(record: PaymentRecord) -> int:
    """What the payment is worth now: charged (or captured) minus refunded."""
    if not record.is_success or record.status in ("canceled", "failed"):
        return 0
    pre_auth = record.operation_type == "PreAuth"
    charged = (record.captured_amount or 0) if pre_auth else record.amount
    return charged - record.refunded_amount


def history_b(record: PaymentRecord) -> dict[str, Any]:
    """``OrderHistoryDto`` in generation B's snake_case: Payven's own steps, oldest first."""
    three_ds = record.is_3d_secure
    return {
        "transaction_id": record.transaction_id,
        "status": record.status,
        "original_amount": record.amount,
        "net_amount": net_amount(record),
        "currency": record.currency,
        "is_success": record.is_success,
        "message": record.message,
        "provider_history_available": False,
        "internal_history": [
            {
                "timestamp": iso(step.timestamp),
                "status": step.status,
                "previous_status": step.previous_status,
                "charge_type": step.charge_type,
                "message": step.message,
                "error_code": step.error_code,
                "error_message": step.error_message,
                "provider_transaction_id": record.provider_transaction_id,
                "auth_code": record.auth_code,
                "host_reference": record.host_reference,
                "order_id": record.external_id,
                "settlement_id": None,
                # A JSON double in the spec; an integral number of kuruş here.
                "amount": step.amount,
                "md_status": "1" if three_ds else None,
                "cavv": None,
                "eci": "05" if three_ds else None,
                "xid": None,
            }
            for step in record.history
        ],
        "external_history": [],
    }
