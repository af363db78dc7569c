"""The read side's answer shapes (generation B, snake_case): transactions, their
histories, refunds, settlements, chargebacks, traces, reconciliations, and the page
every list comes in (``{items, page, total_pages, total_count, has_previous_page,
has_next_page}``).

Enum fields carry the spec's names (``Completed``, ``PreAuth``), which the ledger
writes in lower snake (``completed``, ``pre_auth``); ids the spec types as UUIDs that
the ledger has no record for (a refund, a history step) are derived from the
payment's id, so that they are the same on every answer.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .._hooks import lenient_enum_hook
from .._listing_models import TransactionStatus
from ._clock import iso
from ._context import TraceRecord
from ._ledger import Ledger, settlement_day
from ._reconciliations import DetailRecord, ReconciliationRecord
from ._records import ChargebackRecord, HistoryStep, PaymentRecord

__all__ = [
    "chargeback_b",
    "detail_b",
    "history_entry_b",
    "page_b",
    "reconciliation_b",
    "refund_b",
    "refunds_of",
    "settlements_of",
    "trace_b",
    "transaction_b",
]

_NAMESPACE = uuid.UUID("6f1d2c3e-9a4b-4c5d-8e7f-0a1b2c3d4e5f")
_status = lenient_enum_hook(TransactionStatus)


def derived_id(*parts: object) -> str:
    """A UUID that is always the same for ``parts`` (a refund, a history step...)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))))


def status_name(status: str | None) -> str | None:
    """A ledger status (``three_d_secure_init_processing``) as the spec's enum name."""
    if status is None:
        return None
    member = _status(status)
    return member.value if isinstance(member, enum.Enum) else None


def page_b(items: Sequence[Any], page: int, page_size: int) -> dict[str, Any]:
    """Page ``page`` (1-based) of ``items``, ``page_size`` to a page, as the spec's page."""
    total = len(items)
    pages = -(-total // page_size)
    start = (page - 1) * page_size
    return {
        "items": list(items[start : start + page_size]),
        "page": page,
        "total_pages": pages,
        "total_count": total,
        "has_previous_page": page > 1,
        "has_next_page": page < pages,
    }


def _bin(record: PaymentRecord) -> int | None:
    digits = record.masked_card_number[:6]
    return int(digits) if digits.isdigit() else None


def transaction_b(
    record: PaymentRecord, *, merchant_id: str, detail: bool = False
) -> dict[str, Any]:
    """``TransactionDto`` (``TransactionDetailDto`` with ``detail``) of a payment."""
    net = record.net_amount
    finished = record.status in ("completed", "failed", "refunded", "canceled")
    three_ds = record.is_3d_secure
    answer: dict[str, Any] = {
        "extra_properties_dict": record.extra_properties(),
        "id": record.transaction_id,
        "merchant_id": merchant_id,
        "external_merchant_id": "EMULATOR-MERCHANT",
        "merchant_name": "Payven Emulator",
        "basket_id": record.basket_id,
        "external_id": record.external_id,
        "amount": record.amount,
        "net_amount": net,
        "currency": record.currency,
        "status": status_name(record.status),
        "operation_type": record.operation_type,
        "payment_type": "Card",
        "bin_number": _bin(record),
        "last4": record.masked_card_number[-4:],
        "card_holder_name": record.card_holder_name,
        "masked_card_number": record.masked_card_number,
        "card_schema_type": record.card_brand,
        "card_brand": None,
        "card_type": "Credit",
        "issuer_bank_code": record.bank_code,
        "issuer_bank_name": "Emulator Bank",
        "issuer_bank_logo_url": None,
        "is3_d_secure": three_ds,
        "secure_type": "ThreeDSv2" if three_ds else "Non3D",
        "installment_count": record.installment,
        "created": iso(record.created_at),
        "completed_at": iso(record.last_step.timestamp) if finished else None,
        "error_message": None if record.is_success else record.message,
        "connector_configuration_id": None,
        "connector_configuration_name": None,
        "connector_code": "emulator",
        "installment_amount": record.amount // max(record.installment, 1),
        "bank_commission_amount": 0,
        "merchant_commission_amount": 0,
        "net_merchant_amount": net,
        "settlement_date": None,
        "bank_response_code": "00" if record.is_success else record.provider_error_code,
        "md_status": "FullyAuthenticated" if three_ds else None,
        "provider_transaction_id": record.provider_transaction_id,
        "auth_code": record.auth_code,
        "host_reference": record.host_reference,
        "rrn": record.host_reference,
    }
    if detail:
        answer.update(
            ip_address=None,
            cavv=None,
            eci="05" if three_ds else None,
            xid=None,
            md=None,
            three_ds_server_trans_id=None,
            provider_raw_request=None,
            provider_raw_response=None,
        )
    return answer


def history_entry_b(record: PaymentRecord, index: int, step: HistoryStep) -> dict[str, Any]:
    """``TransactionHistoryDto``: one step of a payment."""
    return {
        "id": derived_id(record.transaction_id, "history", index),
        "transaction_id": record.transaction_id,
        "connector_configuration_id": None,
        "connector_configuration_name": None,
        "previous_status": status_name(step.previous_status),
        "new_status": status_name(step.status),
        "message": step.message,
        "error_code": step.error_code,
        "error_message": step.error_message,
        "provider_transaction_id": record.provider_transaction_id,
        "auth_code": record.auth_code,
        "host_reference": record.host_reference,
        "md_status": "1" if record.is_3d_secure else None,
        "cavv": None,
        "eci": "05" if record.is_3d_secure else None,
        "xid": None,
        "md": None,
        "three_ds_server_trans_id": None,
        "provider_raw_response": None,
        "operation_amount": step.amount if step.amount is not None else record.amount,
        "created": iso(step.timestamp),
    }


def refunds_of(ledger: Ledger) -> list[tuple[PaymentRecord, int, HistoryStep]]:
    """Every refund in the ledger (a payment's ``refund`` steps), oldest first."""
    found = [
        (record, index, step)
        for record in ledger.payments.values()
        for index, step in enumerate(record.history)
        if step.charge_type == "refund"
    ]
    found.sort(key=lambda item: item[2].timestamp)
    return found


def refund_b(
    record: PaymentRecord, index: int, step: HistoryStep, *, merchant_id: str
) -> dict[str, Any]:
    """``RefundListItemDto`` of one refund step."""
    when = iso(step.timestamp)
    return {
        "id": derived_id(record.transaction_id, "refund", index),
        "transaction_id": record.transaction_id,
        "merchant_id": merchant_id,
        "merchant_external_id": "EMULATOR-MERCHANT",
        "merchant_name": "Payven Emulator",
        "refund_amount": step.amount or 0,
        "original_amount": record.charged_amount,
        "currency": record.currency,
        "status": "Completed",
        "reason_code": None,
        "reason": step.message,
        "created_by": "api",
        "created": when,
        "completed_at": when,
        "error_message": None,
    }


def settlements_of(ledger: Ledger, *, today: date) -> list[dict[str, Any]]:
    """One settlement per bank day and currency of the approved payments, oldest first.

    A past day is ``Settled`` (paid out the next morning); today's is ``Pending``.
    """
    days: dict[tuple[date, str], list[PaymentRecord]] = {}
    for record in ledger.payments.values():
        if record.is_success:
            days.setdefault((settlement_day(record.created_at), record.currency), []).append(record)
    answers = []
    for (day, currency), records in sorted(days.items()):
        refunds = [step for r in records for step in r.history if step.charge_type == "refund"]
        gross = sum(r.charged_amount for r in records if r.status != "canceled")
        refunded = sum(step.amount or 0 for step in refunds)
        settled = day < today
        answers.append(
            {
                "id": derived_id("settlement", day, currency),
                "merchant_id": "",  # filled by the route
                "merchant_name": "Payven Emulator",
                "period_start": day.isoformat(),
                "period_end": day.isoformat(),
                "bank_code": "0046",
                "currency": currency,
                "gross_amount": gross,
                "refund_amount": refunded,
                "bank_commission": 0,
                "platform_commission": 0,
                "net_amount": gross - refunded,
                "transaction_count": len(records),
                "refund_count": len(refunds),
                "status": "Settled" if settled else "Pending",
                "settled_at": (
                    f"{(day + timedelta(days=1)).isoformat()}T06:00:00.000+03:00"
                    if settled
                    else None
                ),
                "bank_reference": f"STL-{day:%Y%m%d}-{currency}" if settled else None,
                "notes": None,
                "created": f"{day.isoformat()}T23:59:59.000+03:00",
            }
        )
    return answers


def chargeback_b(chargeback: ChargebackRecord, record: PaymentRecord) -> dict[str, Any]:
    """``ChargebackDto``."""
    return {
        "id": chargeback.id,
        "transaction_id": chargeback.transaction_id,
        "amount": chargeback.amount,
        "currency": chargeback.currency,
        "reason": chargeback.reason,
        "reason_code": chargeback.reason_code,
        "bank_reference_no": chargeback.bank_reference_no,
        "status": chargeback.status,
        "response_deadline": iso(chargeback.response_deadline),
        "resolved_at": None,
        "merchant_response": None,
        "notes": None,
        "created": iso(chargeback.created),
        "merchant_name": "Payven Emulator",
        "masked_card_number": record.masked_card_number,
        "transaction_amount": record.amount,
    }


def trace_b(correlation_id: str, trace: TraceRecord, ledger: Ledger) -> dict[str, Any]:
    """``TraceTimelineDto``: the id's API requests and its payments' steps, oldest first."""
    events: list[dict[str, Any]] = []
    for index, (when, method, path) in enumerate(trace.requests):
        events.append(
            {
                "source": "ApiRequest",
                "timestamp": iso(when),
                "record_id": derived_id(correlation_id, "request", index),
                "transaction_id": None,
                "title": f"{method} {path}",
                "subtitle": None,
                "is_success": True,
                "error_message": None,
                "details": {"method": method, "path": path},
                "request_body": None,
                "response_body": None,
            }
        )
    history = 0
    for transaction_id in trace.transaction_ids:
        record = ledger.payments.get(transaction_id)
        if record is None:
            continue
        for index, step in enumerate(record.history):
            history += 1
            events.append(
                {
                    "source": "TransactionHistory",
                    "timestamp": iso(step.timestamp),
                    "record_id": derived_id(transaction_id, "history", index),
                    "transaction_id": transaction_id,
                    "title": status_name(step.status) or step.status,
                    "subtitle": step.charge_type,
                    "is_success": step.error_code is None,
                    "error_message": step.error_message,
                    "details": {"amount": None if step.amount is None else str(step.amount)},
                    "request_body": None,
                    "response_body": None,
                }
            )
    events.sort(key=lambda event: event["timestamp"])
    return {
        "correlation_id": correlation_id,
        "summary": {
            "transaction_ids": list(trace.transaction_ids),
            "first_event_at": events[0]["timestamp"] if events else None,
            "last_event_at": events[-1]["timestamp"] if events else None,
            "payment_request_count": len(trace.transaction_ids),
            "api_request_count": len(trace.requests),
            "webhook_count": 0,
            "transaction_history_count": history,
            "has_errors": any(event["is_success"] is False for event in events),
        },
        "events": events,
    }


def detail_b(detail: DetailRecord) -> dict[str, Any]:
    """``ReconciliationDetailDto``."""
    return {
        "id": detail.id,
        "reconciliation_id": detail.reconciliation_id,
        "transaction_id": detail.transaction_id,
        "bank_transaction_id": detail.bank_transaction_id,
        "db_amount": detail.db_amount,
        "bank_amount": detail.bank_amount,
        "db_status": detail.db_status,
        "bank_status": detail.bank_status,
        "discrepancy": detail.discrepancy,
        "detail_status": detail.detail_status,
        "resolution_action": detail.resolution_action,
        "adjusted_amount": detail.adjusted_amount,
        "applied_status": detail.applied_status,
        "resolved_at": None if detail.resolved_at is None else iso(detail.resolved_at),
        "resolved_by": detail.resolved_by,
        "remarks": detail.remarks,
    }


def reconciliation_b(
    run: ReconciliationRecord, *, merchant_id: str, details: bool = True
) -> dict[str, Any]:
    """``ReconciliationWithDetailsDto`` (``ReconciliationDto`` without ``details``)."""

    def _time(moment: datetime | None) -> str | None:
        return None if moment is None else iso(moment)

    answer: dict[str, Any] = {
        "id": run.id,
        "scope": run.scope,
        "connector_config_id": run.connector_config_id,
        "connector_config_name": None,
        "merchant_id": run.merchant_id or merchant_id,
        "merchant_name": "Payven Emulator",
        "bank_code": "0046",
        "period": run.period,
        "period_start": iso(run.period_start),
        "period_end": iso(run.period_end),
        "reconciliation_date": settlement_day(run.period_start).isoformat(),
        "total_db_transactions": sum(1 for d in run.details if d.transaction_id is not None),
        "total_bank_transactions": run.bank_line_count,
        "matched_count": run.count("Matched"),
        "amount_mismatch_count": run.count("AmountMismatch"),
        "status_mismatch_count": run.count("StatusMismatch"),
        "orphan_db_count": run.count("OrphanDb"),
        "orphan_bank_count": run.count("OrphanBank"),
        "resolved_count": sum(1 for d in run.details if d.detail_status == "Resolved"),
        "ignored_count": sum(1 for d in run.details if d.detail_status == "Ignored"),
        "total_db_amount": sum(d.db_amount or 0 for d in run.details),
        "total_bank_amount": sum(d.bank_amount or 0 for d in run.details),
        "overall_status": run.overall_status,
        "finalized_at": _time(run.finalized_at),
        "finalized_by": run.finalized_by,
        "notes": run.notes,
        "created": iso(run.created),
    }
    if details:
        answer["details"] = [detail_b(detail) for detail in run.details]
    return answer
