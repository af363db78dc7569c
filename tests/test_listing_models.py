"""The read side's and reconciliation's models against every answer shape the specs document.

Generated from both published generations' schemas (B raw snake_case, A's camelCase
envelope with ``pageNumber``), every property filled and again every nullable one
null, each answer decodes with nothing left in ``unknown_fields``; the request bodies
the client sends validate against B's request schemas.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from payven_async import (
    BankTransaction,
    BulkResolveError,
    BulkResolveItem,
    BulkResolveResult,
    Chargeback,
    ChargebackPage,
    DiscrepancyType,
    Reconciliation,
    ReconciliationDetail,
    ReconciliationDetailPage,
    ReconciliationPage,
    ReconciliationPeriod,
    ReconciliationResolutionAction,
    ReconciliationScope,
    Refund,
    RefundPage,
    RefundSibling,
    ResolveReconciliationDetailRequest,
    Settlement,
    SettlementPage,
    StartReconciliationRequest,
    Trace,
    TraceEvent,
    TraceSummary,
    Transaction,
    TransactionHistoryEntry,
    TransactionPage,
    TransactionStatus,
)
from payven_async._converters import encode
from payven_async._hooks import is_mapping, strip_optional
from payven_async._listing_models import (
    TRANSACTION_HISTORY,
    BulkResolveRequest,
    CancelReconciliationRequest,
    FinalizeReconciliationRequest,
)

from .test_emulator_openapi import Spec, _resolve
from .test_operations_openapi import UUID, _answer_schema, _decode, _no_leftovers, _ref, instance

A, B = "vpos-a", "vpos-b"

#: (B method, B path, A method, A path, the model)
_ANSWERS = [
    ("GET", "/api/v1/transactions", "GET", "/api/v1/transactions", TransactionPage),
    ("GET", "/api/v1/transactions/{id}", "GET", "/api/v1/transactions/{id}", Transaction),
    ("GET", "/api/v1/transactions/{id}/histories",
     "GET", "/api/v1/transactions/{id}/histories", TRANSACTION_HISTORY),
    ("GET", "/api/v1/refunds", "GET", "/api/v1/refunds", RefundPage),
    ("GET", "/api/v1/settlements", "GET", "/api/v1/settlements", SettlementPage),
    ("GET", "/api/v1/chargebacks", "GET", "/api/v1/chargebacks", ChargebackPage),
    ("GET", "/api/v1/trace/{correlation_id}", "GET", "/api/v1/Trace/{correlationId}", Trace),
    ("POST", "/api/v1/reconciliations/start",
     "POST", "/api/v1/reconciliations/start", Reconciliation),
    ("GET", "/api/v1/reconciliations", "GET", "/api/v1/reconciliations", ReconciliationPage),
    ("GET", "/api/v1/reconciliations/{id}", "GET", "/api/v1/reconciliations/{id}", Reconciliation),
    ("GET", "/api/v1/reconciliations/{id}/details",
     "GET", "/api/v1/reconciliations/{id}/details", ReconciliationDetailPage),
    ("POST", "/api/v1/reconciliations/{id}/details/{detail_id}/resolve",
     "POST", "/api/v1/reconciliations/{id}/details/{detailId}/resolve", ReconciliationDetail),
    ("POST", "/api/v1/reconciliations/{id}/details/bulk-resolve",
     "POST", "/api/v1/reconciliations/{id}/details/bulk-resolve", BulkResolveResult),
    ("POST", "/api/v1/reconciliations/{id}/finalize",
     "POST", "/api/v1/reconciliations/{id}/finalize", Reconciliation),
    ("POST", "/api/v1/reconciliations/{id}/cancel",
     "POST", "/api/v1/reconciliations/{id}/cancel", Reconciliation),
]  # fmt: skip


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    """The two published vpos documents, normalised."""
    return {name: Spec(name) for name in (A, B)}


def _status_schema(spec: Spec, method: str, path: str) -> Any:
    responses = spec.operation(method, path)["responses"]
    status = next(code for code in ("200", "201") if code in responses)
    content = responses[status]["content"]
    return next(iter(content.values()))["schema"]


@pytest.mark.parametrize(("generation", "nulls", "branch"), [
    (B, False, 0), (B, False, 1), (B, True, 1), (A, False, 0), (A, False, 1), (A, True, 0),
])  # fmt: skip
@pytest.mark.parametrize(("b_method", "b_path", "a_method", "a_path", "cls"), _ANSWERS)
def test_every_documented_answer_shape_decodes(
    specs: dict[str, Spec],
    generation: str,
    nulls: bool,
    branch: int,
    b_method: str,
    b_path: str,
    a_method: str,
    a_path: str,
    cls: Any,
) -> None:
    """Every B and A answer of these routes, full or with nulls, decodes with no leftovers."""
    spec = specs[generation]
    method, path = (a_method, a_path) if generation == A else (b_method, b_path)
    schema = _status_schema(spec, method, path)
    payload = instance(spec, schema, nulls=nulls, branch=branch)
    spec.validate(_ref(spec, schema), payload)
    if generation == A and payload["data"] is None:
        # The envelope's nullable data came out null: fill it, its own nullables null.
        data_schema = _resolve(spec.doc, _resolve(spec.doc, schema))["properties"]["data"]
        options = [
            option
            for option in data_schema.get("anyOf", [data_schema])
            if _resolve(spec.doc, option).get("type") != "null"
        ]
        option = _resolve(spec.doc, options[0])
        payload["data"] = (
            [instance(spec, option["items"], nulls=True, branch=branch)]
            if "array" in option.get("type", ())
            else instance(spec, option, nulls=True, branch=branch)
        )
        spec.validate(_ref(spec, schema), payload)
    decoded = _decode(payload, cls)
    for model in decoded if isinstance(decoded, list) else [decoded]:
        _no_leftovers(model)
    if isinstance(decoded, TransactionPage) and not nulls:
        assert decoded.number == 15000
        (item,) = decoded.items
        assert (item.id, item.amount, item.status) == (UUID, 15000, TransactionStatus.CREATED)
        assert item.created is not None
        assert item.created.utcoffset() is not None
    if isinstance(decoded, list) and decoded:
        assert isinstance(decoded[0], TransactionHistoryEntry)


def test_the_answer_schemas_used_here_are_the_documented_ones(specs: dict[str, Spec]) -> None:
    """The history's 200 is a JSON array of TransactionHistoryDto in B."""
    schema = _answer_schema(specs[B], "GET", "/api/v1/transactions/{id}/histories")
    assert schema["type"] == "array"


def test_request_bodies_validate_against_the_spec(specs: dict[str, Spec]) -> None:
    """start, resolve, bulk-resolve, finalize and cancel bodies are B's request schemas."""
    when = datetime(2026, 5, 5, tzinfo=timezone(timedelta(hours=3)))
    start = StartReconciliationRequest(
        scope=ReconciliationScope.CONNECTOR,
        period=ReconciliationPeriod.CUSTOM,
        period_start=when,
        period_end=when + timedelta(days=1),
        connector_config_id=UUID,
        merchant_id=UUID,
        bank_transactions=[
            BankTransaction(amount=15000, bank_transaction_id="B-1", status="approved",
                            transaction_date=when, merchant_external_id="M", auth_code="123456")
        ],
    )  # fmt: skip
    resolve = ResolveReconciliationDetailRequest(
        action=ReconciliationResolutionAction.FORCE_STATUS,
        adjusted_amount=100,
        applied_status=TransactionStatus.COMPLETED,
        remarks="ok",
    )
    bodies = [
        ("/api/v1/reconciliations/start", start),
        ("/api/v1/reconciliations/{id}/details/{detail_id}/resolve", resolve),
        ("/api/v1/reconciliations/{id}/details/bulk-resolve",
         BulkResolveRequest(items=[BulkResolveItem(detail_id=UUID, request=resolve)])),
        ("/api/v1/reconciliations/{id}/finalize",
         FinalizeReconciliationRequest(notes="n", force_partial=True)),
        ("/api/v1/reconciliations/{id}/cancel", CancelReconciliationRequest(reason="r")),
    ]  # fmt: skip
    for path, body in bodies:
        data = encode(body, "snake")
        specs[B].request("POST", path, "application/json", data)
    assert encode(start, "snake")["period_start"] == "2026-05-05T00:00:00+03:00"


def test_tolerant_decoding_of_a_transaction() -> None:
    """Any key spelling, any enum spelling, unknown values kept as text, doubles as Decimal."""
    item = _decode(
        {"Id": "t-1", "Amount": 15000.0, "Status": "refund_processing", "IS3DSecure": True,
         "secureType": "three_d_pay", "cardType": "virtual", "novel": 1,
         "extra_properties_dict": {"a": "b"}},
        Transaction,
    )  # fmt: skip
    assert (item.id, item.amount, item.is_3d_secure) == ("t-1", 15000, True)
    assert item.status is TransactionStatus.REFUND_PROCESSING
    assert item.card_type == "virtual"  # not in the spec: kept as it came
    assert item.unknown_fields == {"novel": 1}
    detail = _decode({"id": "d", "discrepancy": "orphan_bank", "db_amount": "15000"},
                     ReconciliationDetail)  # fmt: skip
    assert (detail.discrepancy, detail.db_amount) == (DiscrepancyType.ORPHAN_BANK, 15000)
    trace = _decode({"events": [{"details": {"x": "1"}, "timestamp": "2026-05-05T10:00:00Z"}]},
                    Trace)  # fmt: skip
    assert trace.events[0].details == {"x": "1"}


# --- values of an unexpected type ------------------------------------------------------------

#: Every answer model of the read side and of reconciliation, pages included.
_ANSWER_MODELS = [
    TransactionPage, Transaction, TransactionHistoryEntry, RefundPage, Refund, RefundSibling,
    SettlementPage, Settlement, ChargebackPage, Chargeback, Trace, TraceSummary, TraceEvent,
    ReconciliationPage, Reconciliation, ReconciliationDetailPage, ReconciliationDetail,
    BulkResolveResult, BulkResolveError,
]  # fmt: skip


def _misfit(field: attrs.Attribute[Any]) -> Any:
    """A JSON value that ``field`` cannot take: an array where an object (a mapping or a
    record) belongs, an object anywhere else."""
    tp = strip_optional(field.type)
    return ["odd"] if is_mapping(tp) or attrs.has(tp) else {"odd": 1}


@pytest.mark.parametrize("cls", _ANSWER_MODELS, ids=lambda cls: cls.__name__)
def test_values_of_an_unexpected_type_are_kept_and_reported(cls: Any) -> None:
    """An answer whose every optional field has a value of a type it cannot take decodes:
    each value kept in unknown_fields under its key, its field named in decode_problems
    and left at its default, as the payment answers do; a required id still decodes."""
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name not in ("unknown_fields", "decode_problems")]
    required = {f.name: "x-1" for f in fields if f.default is attrs.NOTHING}
    odd = {f.name: _misfit(f) for f in fields if f.name not in required}
    model = _decode({**required, **odd}, cls)
    assert set(model.decode_problems) == set(odd)
    assert model.unknown_fields == odd
    defaults = cls(**required)
    for name in odd:
        assert getattr(model, name) == getattr(defaults, name), name
    for name, value in required.items():
        assert getattr(model, name) == value


def test_a_listed_item_of_an_unexpected_shape_leaves_the_page_and_the_others_whole() -> None:
    """One listed transaction with an object for its amount and a number for its date:
    that item keeps and reports them, its other values and the page's other items are
    decoded as usual (the page used to be a DecodeError as a whole)."""
    page = _decode(
        {"items": [{"id": "t-1", "amount": 15000, "status": "Completed"},
                   {"id": "t-2", "amount": {"value": 150.5}, "created": 20260505,
                    "status": "Completed", "currency": "TRY"}],
         "page": 1, "total_pages": 1, "has_next_page": False},
        TransactionPage,
    )  # fmt: skip
    plain, odd = page.items
    assert (plain.id, plain.amount, plain.decode_problems) == ("t-1", 15000, {})
    assert (odd.id, odd.amount, odd.created) == ("t-2", None, None)
    assert (odd.status, odd.currency) == (TransactionStatus.COMPLETED, "TRY")
    assert odd.unknown_fields == {"amount": {"value": Decimal("150.5")}, "created": 20260505}
    assert odd.decode_problems == {
        "amount": "expected an integer, got dict",
        "created": "expected an ISO 8601 timestamp, got int",
    }
    assert page.decode_problems == {}
    assert "150.5" not in repr(odd)  # problems and kept values stay out of the repr


def test_a_history_entry_of_an_unexpected_shape_leaves_the_others_whole() -> None:
    """get_transaction_history's bare array: one entry's odd value is kept and reported,
    the other entries decode as usual."""
    entries = _decode(
        [{"id": "h-1", "operation_amount": 15000},
         {"id": "h-2", "operation_amount": "lots", "new_status": "Completed"}],
        TRANSACTION_HISTORY,
    )  # fmt: skip
    assert [entry.operation_amount for entry in entries] == [15000, None]
    assert entries[1].new_status is TransactionStatus.COMPLETED
    assert entries[1].unknown_fields == {"operation_amount": "lots"}
    assert set(entries[1].decode_problems) == {"operation_amount"}
