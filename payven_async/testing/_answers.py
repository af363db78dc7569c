"""How the emulator answers, in each wire generation's own style.

- generation A (the pay route, seed 000): the ``{message, isSuccess, code, data}``
  envelope, camelCase, ``Content-Type: application/json; ver=1.0``;
- generation B (token, query, sessions, get payment; seed 001): the resource itself,
  snake_case, ``application/json`` (identity: ``application/json; ver=1.0``);
- errors (both generations): RFC 9457 ``application/problem+json`` with ``type``,
  ``title``, ``status``, ``code``, ``detail``, ``instance``, ``correlation_id``, and
  ``errors`` / ``provider_error_code`` where they apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from .._hooks import camel
from .._json import dumps
from .._redact import redact_text
from ._clock import iso
from ._ledger import LedgerError, RecordNotFound, SessionClosed, SessionExpired
from ._records import CheckoutSessionRecord, PaymentRecord

__all__ = [
    "GEN_A_JSON",
    "GEN_B_JSON",
    "IDENTITY_JSON",
    "PROBLEM_JSON",
    "ProblemError",
    "checkout_session_b",
    "envelope",
    "history_b",
    "json_answer",
    "ledger_problem",
    "operation_result_a",
    "operation_result_b",
    "payment_status_b",
    "problem_body",
    "query_result",
]

GEN_A_JSON = "application/json; ver=1.0"
GEN_B_JSON = "application/json"
IDENTITY_JSON = "application/json; ver=1.0"
PROBLEM_JSON = "application/problem+json"
ERROR_TYPE_BASE = "https://docs.payven.com.tr/errors/"

#: Titles in the docs' language, by code.
TITLES: Mapping[str, str] = {
    "bad_request": "Geçersiz istek",
    "invalid_json": "Geçersiz JSON",
    "validation_failed": "Doğrulama hatası",
    "unsupported_media_type": "Desteklenmeyen içerik türü",
    "unauthorized": "Kimlik doğrulama gerekli",
    "invalid_token": "Geçersiz token",
    "token_expired": "Token süresi dolmuş",
    "invalid_credentials": "Geçersiz kimlik bilgileri",
    "invalid_refresh_token": "Geçersiz refresh token",
    "realm_not_found": "Tenant bulunamadı",
    "resource_not_found": "Kaynak bulunamadı",
    "method_not_allowed": "Yöntem desteklenmiyor",
    "payment_not_found": "Ödeme bulunamadı",
    "session_not_found": "Oturum bulunamadı",
    "session_expired": "Oturumun süresi dolmuş",
    "session_closed": "Oturum kapalı",
    "max_attempts_exceeded": "Deneme hakkı doldu",
    "session_amount_mismatch": "Tutar oturumla uyuşmuyor",
    "session_installment_not_allowed": "Taksit seçeneği izinli değil",
    "pre_auth_not_allowed": "Ön provizyon izinli değil",
    "refund_exceeds_original": "İade tutarı orijinal tutarı aşıyor",
    "payment_not_refundable": "Ödeme iade edilemez",
    "payment_already_refunded": "Ödeme zaten iade edildi",
    "refund_currency_mismatch": "İade para birimi uyuşmuyor",
    "payment_already_voided": "Ödeme zaten iptal edildi",
    "payment_not_voidable": "Ödeme iptal edilemez",
    "void_not_allowed_after_settlement": "Gün sonundan sonra iptal yapılamaz",
    "payment_not_pre_auth": "Ödeme bir ön provizyon değil",
    "payment_already_captured": "Ön provizyon zaten çekildi",
    "pre_auth_expired": "Ön provizyonun süresi dolmuş",
    "capture_amount_exceeds_authorization": "Çekim tutarı provizyonu aşıyor",
    "capture_currency_mismatch": "Çekim para birimi uyuşmuyor",
    "capture_not_allowed": "Çekim yapılamaz",
    "three_ds_complete_not_allowed": "3D Secure tamamlanamaz",
    "bank_declined": "Banka işlemi reddetti",
    "idempotency_key_in_use": "Idempotency-Key çakışması",
    "rate_limit_exceeded": "İstek limiti aşıldı",
    "internal_server_error": "Sunucu hatası",
    "bad_gateway": "Ağ geçidi hatası",
    "service_unavailable": "Servis kullanılamıyor",
    "gateway_timeout": "Ağ geçidi zaman aşımı",
}

#: The code a bare status is answered with (fault injection, unmatched routes).
CODE_FOR_STATUS: Mapping[int, str] = {
    400: "bad_request",
    404: "resource_not_found",
    405: "method_not_allowed",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ProblemError(Exception):
    """Raised by a route to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        provider_error_code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.provider_error_code = provider_error_code
        self.headers = dict(headers or {})


#: The status a ledger refusal is answered with, by kind; anything else is a 422.
_LEDGER_STATUS: tuple[tuple[type[LedgerError], int], ...] = (
    (RecordNotFound, 404),
    (SessionClosed, 409),
    (SessionExpired, 410),
)


def ledger_problem(error: LedgerError) -> ProblemError:
    """The problem a ledger refusal is answered with: its code and detail, and a status
    by kind (404 not found, 409 session closed, 410 session expired, else 422)."""
    status = next((status for kind, status in _LEDGER_STATUS if isinstance(error, kind)), 422)
    return ProblemError(status, error.code, error.detail)


def problem_body(
    error: ProblemError, *, correlation_id: str, instance: str | None = None
) -> dict[str, Any]:
    """The RFC 9457 body for ``error``; texts pass through redaction first."""
    body: dict[str, Any] = {
        "type": ERROR_TYPE_BASE + error.code,
        "title": TITLES.get(error.code, error.code.replace("_", " ").capitalize()),
        "status": error.status,
        "code": error.code,
    }
    if error.detail is not None:
        body["detail"] = redact_text(error.detail)
    if instance is not None:
        body["instance"] = instance
    body["correlation_id"] = correlation_id
    if error.errors is not None:
        body["errors"] = {
            field: [redact_text(message) for message in messages]
            for field, messages in error.errors.items()
        }
    if error.provider_error_code is not None:
        body["provider_error_code"] = error.provider_error_code
    return body


def json_answer(
    payload: Any,
    *,
    status: int = 200,
    content_type: str = GEN_B_JSON,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A JSON answer with an exact ``Content-Type`` (parameters included)."""
    response = web.Response(body=dumps(payload), status=status, headers=headers)
    response.headers["Content-Type"] = content_type
    return response


def envelope(
    data: Any, *, message: str | None, is_success: bool = True, code: str = "200"
) -> dict[str, Any]:
    """Generation A's ``{message, isSuccess, code, data}`` envelope."""
    return {"message": message, "isSuccess": is_success, "code": code, "data": data}


# --- resource shapes ---------------------------------------------------------------


def operation_result_b(
    record: PaymentRecord, extra: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``PaymentOperationResultDto`` in generation B's snake_case; ``extra`` adds properties."""
    return {
        "transaction_id": record.transaction_id,
        "status": record.status,
        "is_success": record.is_success,
        "message": record.message,
        "error_code": record.error_code,
        "provider_error_code": record.provider_error_code,
        "extra_properties": {**record.extra_properties(), **(extra or {})},
    }


def operation_result_a(record: PaymentRecord) -> dict[str, Any]:
    """``PaymentOperationResultDto`` in generation A's camelCase (the same fields)."""
    return {camel(key): value for key, value in operation_result_b(record).items()}


def payment_status_b(record: PaymentRecord) -> dict[str, Any]:
    """``PaymentStatusDto`` in generation B's snake_case: the operation result, and more."""
    return {
        **operation_result_b(record),
        "amount": record.amount,
        "currency": record.currency,
        "is3_d_secure": record.is_3d_secure,
        "created": iso(record.created_at),
        "basket_id": record.basket_id,
    }


def query_detail(record: PaymentRecord, *, bank_side: bool) -> dict[str, Any]:
    """``TransactionQueryDetailDto``: Payven's record, or the bank's view of it."""
    status = record.status
    if bank_side:
        status = "approved" if record.is_success else "declined"
    processed = iso(record.created_at)
    return {
        "status": status,
        "operation_type": record.charge_type,
        "amount": record.amount,
        "net_amount": record.amount,
        "currency": record.currency,
        "installment_count": record.installment,
        "is3_d_secure": record.is_3d_secure,
        "provider_transaction_id": record.provider_transaction_id,
        "auth_code": record.auth_code,
        "host_reference": record.host_reference,
        "masked_card_number": record.masked_card_number,
        "card_brand": record.card_brand,
        "card_holder_name": record.card_holder_name,
        "bank_code": record.bank_code,
        "transaction_status": status,
        "charge_type": record.charge_type,
        "settlement_id": None,
        # A JSON double in the spec; sent as an integral number of kuruş.
        "captured_amount": (
            record.captured_amount
            if record.captured_amount is not None
            else record.amount
            if record.status == "completed"
            else None
        ),
        "error_code": record.provider_error_code if bank_side else record.error_code,
        "error_message": None if record.is_success else record.message,
        "processed_at": processed,
        "completed_at": processed if record.status in ("completed", "failed") else None,
        "created_at": processed,
    }


def query_result(record: PaymentRecord) -> dict[str, Any]:
    """``TransactionQueryDto`` in generation B's snake_case (seed 001)."""
    return {
        "transaction_id": record.transaction_id,
        "status": record.status,
        "is_success": record.is_success,
        "message": record.message,
        "external_query_available": True,
        "internal": query_detail(record, bank_side=False),
        "external": _bank_record(record),
    }


def _bank_record(record: PaymentRecord) -> dict[str, Any] | None:
    """The bank's side of the query, with any disagreement seeded into the record."""
    if record.bank_record_missing:
        return None
    detail = query_detail(record, bank_side=True)
    if record.bank_view:
        detail.update(record.bank_view)
    return detail


def checkout_session_b(
    record: CheckoutSessionRecord, *, tenant_id: str, merchant_id: str, now: datetime
) -> dict[str, Any]:
    """``CheckoutSessionDto`` in generation B's snake_case, its status as of ``now``."""
    return {
        "session_id": record.session_id,
        "tenant_id": tenant_id,
        "merchant_id": merchant_id,
        "external_merchant_id": "EMULATOR-MERCHANT",
        "merchant_name": record.merchant_name,
        "amount": record.amount,
        "currency": record.currency,
        "allowed_installments": record.allowed_installments,
        "description": record.description,
        "external_id": record.external_id,
        "basket_id": record.basket_id,
        "customer_email": record.customer_email,
        "customer_phone": record.customer_phone,
        "metadata": record.metadata,
        "status": record.status_at(now),
        "transaction_id": record.transaction_id,
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "payment_mode": record.payment_mode,
        "allow_pre_auth": record.allow_pre_auth,
        "is_test_session": record.is_test_session,
        "attempt_count": record.attempt_count,
        "max_attempts": record.max_attempts,
        "success_url": record.success_url,
        "cancel_url": record.cancel_url,
    }


def history_b(record: PaymentRecord) -> dict[str, Any]:
    """``OrderHistoryDto`` in generation B's snake_case: Payven's own steps, oldest first."""
    three_ds = record.is_3d_secure
    return {
        "transaction_id": record.transaction_id,
        "status": record.status,
        "original_amount": record.amount,
        "net_amount": record.net_amount,
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
