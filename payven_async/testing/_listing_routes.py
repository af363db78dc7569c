"""The emulator's read side and reconciliation routes (generation B).

==========================================================  =====================================
route (``/api/v1`` + ...)                                   name
==========================================================  =====================================
``GET  /transactions``                                      ``list_transactions``
``GET  /transactions/{id}``                                 ``get_transaction``
``GET  /transactions/{id}/histories``                       ``transaction_history``
``GET  /refunds``                                           ``list_refunds``
``GET  /settlements``                                       ``list_settlements``
``GET  /chargebacks``                                       ``list_chargebacks``
``GET  /trace/{correlation_id}``                            ``get_trace``
``POST /reconciliations/start``                             ``start_reconciliation``
``GET  /reconciliations``                                   ``list_reconciliations``
``GET  /reconciliations/{id}``                              ``get_reconciliation``
``GET  /reconciliations/{id}/details``                      ``list_reconciliation_details``
``POST /reconciliations/{id}/details/{detail_id}/resolve``  ``resolve_reconciliation_detail``
``POST /reconciliations/{id}/details/bulk-resolve``         ``bulk_resolve_reconciliation_details``
``POST /reconciliations/{id}/finalize``                     ``finalize_reconciliation``
``POST /reconciliations/{id}/cancel``                       ``cancel_reconciliation``
==========================================================  =====================================

All Bearer-authenticated. Lists page for real over the ledger: ``page`` (1-based,
default 1) and ``page_size`` (1 to 100, default 20), oldest first; a page past the
last is empty. Their filters are the spec's, in any enum spelling; a filter that is
not a valid value is a ``400 validation_failed``, like a query name the list does not
know. ``start_date`` is inclusive and ``end_date`` inclusive too (``created <= end``).
The reconciliation POSTs honour ``Idempotency-Key``; their states are
:mod:`._reconciliations`'.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from .. import _listing_models as lm
from .._hooks import lenient_enum_hook, to_datetime
from ..errors import DecodeError
from ..models import OperationType
from ._answers import ProblemError, json_answer
from ._checks import decode, validation_problem
from ._context import RouteContext
from ._ledger import LedgerError
from ._listing_answers import (
    chargeback_b,
    detail_b,
    history_entry_b,
    page_b,
    reconciliation_b,
    refund_b,
    refunds_of,
    settlements_of,
    trace_b,
    transaction_b,
)
from ._reconciliations import BankLine, Reconciliations
from ._records import PaymentRecord

__all__ = ["ListingRoutes"]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_PAGING = ("page", "page_size")


class _Query:
    """A list's query, read and checked: every problem becomes one 400 answer."""

    def __init__(self, query: MultiMapping[str], allowed: Iterable[str]) -> None:
        self.query = query
        self.errors: dict[str, list[str]] = {}
        known = set(allowed) | set(_PAGING)
        for name in query:
            if name not in known:
                self.errors[name] = ["Bilinmeyen sorgu parametresi."]
        self.page = self.integer("page", 1, lowest=1)
        self.page_size = self.integer("page_size", DEFAULT_PAGE_SIZE, lowest=1)
        if self.page_size > MAX_PAGE_SIZE:
            self.errors["page_size"] = [f"En fazla {MAX_PAGE_SIZE} olmalı."]

    def _fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def integer(self, name: str, default: int, *, lowest: int = 0) -> int:
        text = self.query.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            self._fail(name, "Bir tam sayı olmalı.")
            return default
        if value < lowest:
            self._fail(name, f"En az {lowest} olmalı.")
            return default
        return value

    def optional_int(self, name: str) -> int | None:
        return self.integer(name, 0) if name in self.query else None

    def moment(self, name: str) -> datetime | None:
        text = self.query.get(name)
        if text is None:
            return None
        try:
            return to_datetime(text)
        except DecodeError:
            try:  # a bare date: its first instant, UTC (the API's default offset)
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
            except ValueError:
                self._fail(name, "ISO 8601 bir tarih olmalı.")
                return None

    def day(self, name: str) -> date | None:
        text = self.query.get(name)
        if text is None:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            self._fail(name, "ISO 8601 bir tarih (YYYY-MM-DD) olmalı.")
            return None

    def member(self, name: str, enum_type: type[enum.Enum]) -> str | None:
        """The enum's value (``Completed``) named in any spelling; None when absent."""
        text = self.query.get(name)
        if text is None:
            return None
        found = lenient_enum_hook(enum_type)(text)
        if not isinstance(found, enum_type):
            self._fail(name, f"Geçersiz değer: {text}.")
            return None
        return str(found.value)

    def flag(self, name: str) -> bool | None:
        text = self.query.get(name)
        if text is None:
            return None
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        self._fail(name, "true ya da false olmalı.")
        return None

    def text(self, name: str) -> str | None:
        return self.query.get(name)

    def done(self) -> None:
        if self.errors:
            raise validation_problem(self.errors)


def _between(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


class ListingRoutes:
    """The read-side and reconciliation routes, over one
    :class:`~payven_async.testing._context.RouteContext`."""

    def __init__(self, context: RouteContext) -> None:
        self.context = context
        self.reconciliations = Reconciliations(context.ledger)

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes (named as in the module's table) to ``router``."""
        add = router.add_route
        add("GET", "/api/v1/transactions", self._transactions, name="list_transactions")
        add("GET", "/api/v1/transactions/{id}", self._transaction, name="get_transaction")
        add("GET", "/api/v1/transactions/{id}/histories", self._history, name="transaction_history")
        add("GET", "/api/v1/refunds", self._refunds, name="list_refunds")
        add("GET", "/api/v1/settlements", self._settlements, name="list_settlements")
        add("GET", "/api/v1/chargebacks", self._chargebacks, name="list_chargebacks")
        add("GET", "/api/v1/trace/{correlation_id}", self._trace, name="get_trace")
        base = "/api/v1/reconciliations"
        add("POST", f"{base}/start", self._start, name="start_reconciliation")
        add("GET", base, self._reconciliation_list, name="list_reconciliations")
        add("GET", f"{base}/{{id}}", self._reconciliation, name="get_reconciliation")
        add("GET", f"{base}/{{id}}/details", self._details, name="list_reconciliation_details")
        add(
            "POST",
            f"{base}/{{id}}/details/{{detail_id}}/resolve",
            self._resolve,
            name="resolve_reconciliation_detail",
        )
        add(
            "POST",
            f"{base}/{{id}}/details/bulk-resolve",
            self._bulk_resolve,
            name="bulk_resolve_reconciliation_details",
        )
        add("POST", f"{base}/{{id}}/finalize", self._finalize, name="finalize_reconciliation")
        add("POST", f"{base}/{{id}}/cancel", self._cancel, name="cancel_reconciliation")

    @property
    def _merchant(self) -> str:
        return self.context.merchant_id

    def _page(self, query: _Query, items: list[Any]) -> web.Response:
        query.done()
        return json_answer(page_b(items, query.page, query.page_size))

    # --- transactions -----------------------------------------------------------------

    async def _transactions(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        q = _Query(request.query, _TRANSACTION_FILTERS)
        start, end = q.moment("start_date"), q.moment("end_date")
        status = q.member("status", lm.TransactionStatus)
        operation = q.member("operation_type", OperationType)
        payment_type = q.member("payment_type", lm.PaymentType)
        secure = q.member("secure_type", lm.SecureType)
        scheme = q.member("card_schema_type", lm.CardSchemaType)
        card_type = q.member("card_type", lm.CardType)
        installments = q.optional_int("installment_count")
        low, high = q.optional_int("min_amount"), q.optional_int("max_amount")
        texts = {name: q.text(name) for name in _TEXT_FILTERS}
        q.done()
        merchant = self._merchant

        def keep(record: PaymentRecord, answer: Mapping[str, Any]) -> bool:
            if answer:
                checks: list[tuple[Any, Any]] = [
                    (status, answer["status"]),
                    (operation, answer["operation_type"]),
                    (payment_type, answer["payment_type"]),
                    (secure, answer["secure_type"]),
                    (scheme, answer["card_schema_type"]),
                    (card_type, answer["card_type"]),
                    (installments, answer["installment_count"]),
                ]
                for name, value in texts.items():
                    if name != "search_term":
                        checks.append((value, "" if answer[name] is None else str(answer[name])))
                if any(wanted is not None and wanted != value for wanted, value in checks):
                    return False
            if (low is not None and record.amount < low) or (
                high is not None and record.amount > high
            ):
                return False
            term = texts["search_term"]
            if term:
                haystack = " ".join(
                    str(value)
                    for value in (
                        record.transaction_id,
                        record.external_id,
                        record.basket_id,
                        record.card_holder_name,
                        record.masked_card_number,
                    )
                    if value
                ).casefold()
                return term.casefold() in haystack
            return True

        # Only a filter on an answer's field needs the answer built for every payment;
        # a page's answers are built for that page alone (a listing of 10,000 pages fast).
        by_answer = any(
            value is not None
            for value in (status, operation, payment_type, secure, scheme, card_type, installments)
        ) or any(value is not None for name, value in texts.items() if name != "search_term")
        found: list[PaymentRecord] = []
        for record in sorted(self.context.ledger.payments.values(), key=_created):
            if not _between(record.created_at, start, end):
                continue
            if by_answer or low is not None or high is not None or texts["search_term"]:
                answer = transaction_b(record, merchant_id=merchant) if by_answer else {}
                if not keep(record, answer):
                    continue
            found.append(record)
        page = page_b(found, q.page, q.page_size)
        page["items"] = [transaction_b(record, merchant_id=merchant) for record in page["items"]]
        return json_answer(page)

    async def _transaction(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self.context.ledger.payment(request.match_info["id"])
        return json_answer(transaction_b(record, merchant_id=self._merchant, detail=True))

    async def _history(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self.context.ledger.payment(request.match_info["id"])
        return json_answer(
            [history_entry_b(record, index, step) for index, step in enumerate(record.history)]
        )

    # --- refunds, settlements, chargebacks ------------------------------------------------

    async def _refunds(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        q = _Query(request.query, _REFUND_FILTERS)
        start, end = q.moment("start_date"), q.moment("end_date")
        status = q.member("status", lm.RefundStatus)
        q.member("reason_code", _reason_codes())
        refund_type = q.member("refund_type", lm.RefundType)
        low, high = q.optional_int("min_amount"), q.optional_int("max_amount")
        sla_breached = q.flag("sla_breached")
        q.done()
        found = []
        for record, index, step in refunds_of(self.context.ledger):
            answer = refund_b(record, index, step, merchant_id=self._merchant)
            full = answer["refund_amount"] == answer["original_amount"]
            if not _between(step.timestamp, start, end):
                continue
            if status is not None and status != answer["status"]:
                continue
            if refund_type is not None and refund_type != ("Full" if full else "Partial"):
                continue
            if (low is not None and answer["refund_amount"] < low) or (
                high is not None and answer["refund_amount"] > high
            ):
                continue
            if sla_breached:  # the emulator completes every refund at once: never breached
                continue
            found.append(answer)
        return self._page(q, found)

    async def _settlements(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        q = _Query(request.query, _SETTLEMENT_FILTERS)
        start, end = q.day("start_date"), q.day("end_date")
        status = q.member("status", lm.SettlementStatus)
        bank_code = q.text("bank_code")
        q.done()
        today = self.context.now().astimezone(_TURKEY).date()
        found = []
        for answer in settlements_of(self.context.ledger, today=today):
            answer["merchant_id"] = self._merchant
            day = date.fromisoformat(answer["period_start"])
            if (start is not None and day < start) or (end is not None and day > end):
                continue
            if status is not None and status != answer["status"]:
                continue
            if bank_code is not None and bank_code != answer["bank_code"]:
                continue
            found.append(answer)
        return self._page(q, found)

    async def _chargebacks(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        q = _Query(request.query, _CHARGEBACK_FILTERS)
        start, end = q.moment("start_date"), q.moment("end_date")
        status = q.member("status", lm.ChargebackStatus)
        transaction_id = q.text("transaction_id")
        q.done()
        ledger = self.context.ledger
        found = [
            chargeback_b(chargeback, ledger.payment(chargeback.transaction_id))
            for chargeback in ledger.chargebacks
            if _between(chargeback.created, start, end)
            and (status is None or status == chargeback.status)
            and (transaction_id is None or transaction_id == chargeback.transaction_id)
        ]
        return self._page(q, found)

    async def _trace(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        correlation_id = request.match_info["correlation_id"]
        trace = self.context.traces.get(correlation_id)
        if trace is None:
            raise ProblemError(404, "trace_not_found", "Bu correlation id için kayıt yok.")
        return json_answer(trace_b(correlation_id, trace, self.context.ledger))

    # --- reconciliation -------------------------------------------------------------------

    def _answer(self, run: Any, *, details: bool = True) -> web.Response:
        return json_answer(reconciliation_b(run, merchant_id=self._merchant, details=details))

    async def _start(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(
            request, lambda body: decode(body, lm.StartReconciliationRequest, "snake")
        )

        async def produce() -> web.Response:
            lines = (
                None
                if body.bank_transactions is None
                else [
                    BankLine(line.amount, line.bank_transaction_id, line.status, line.auth_code)
                    for line in body.bank_transactions
                ]
            )
            run = self.reconciliations.start(
                scope=body.scope.value,
                period=body.period.value,
                start=body.period_start,
                end=body.period_end,
                now=self.context.now(),
                merchant_id=body.merchant_id,
                connector_config_id=body.connector_config_id,
                bank_lines=lines,
            )
            answer = self._answer(run)
            answer.set_status(201)
            return answer

        return await self.context.idempotent(request, "start_reconciliation", raw, produce)

    async def _reconciliation_list(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        q = _Query(request.query, _RECONCILIATION_FILTERS)
        scope = q.member("scope", lm.ReconciliationScope)
        period = q.member("period", lm.ReconciliationPeriod)
        overall = q.member("overall_status", lm.ReconciliationOverallStatus)
        start, end = q.moment("start_date"), q.moment("end_date")
        texts = {name: q.text(name) for name in ("connector_config_id", "merchant_id")}
        q.done()
        found = []
        for run in self.reconciliations.runs.values():
            answer = reconciliation_b(run, merchant_id=self._merchant, details=False)
            wanted = {"scope": scope, "period": period, "overall_status": overall, **texts}
            if any(value is not None and answer[key] != value for key, value in wanted.items()):
                continue
            if _between(run.period_start, start, end):
                found.append(answer)
        return json_answer(page_b(found, q.page, q.page_size))

    async def _reconciliation(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        return self._answer(self.reconciliations.get(request.match_info["id"]))

    async def _details(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        run = self.reconciliations.get(request.match_info["id"])
        q = _Query(request.query, _DETAIL_FILTERS)
        discrepancy = q.member("discrepancy", lm.DiscrepancyType)
        detail_status = q.member("detail_status", lm.ReconciliationDetailStatus)
        only_pending = q.flag("only_pending")
        q.done()
        found = [
            detail_b(detail)
            for detail in run.details
            if (discrepancy is None or detail.discrepancy == discrepancy)
            and (detail_status is None or detail.detail_status == detail_status)
            and (not only_pending or detail.detail_status == "Pending")
        ]
        return json_answer(page_b(found, q.page, q.page_size))

    def _resolve_one(self, reconciliation_id: str, detail_id: str, body: Any) -> Any:
        return self.reconciliations.resolve(
            reconciliation_id,
            detail_id,
            action=body.action.value,
            now=self.context.now(),
            adjusted_amount=body.adjusted_amount,
            applied_status=None if body.applied_status is None else body.applied_status.value,
            remarks=body.remarks,
        )

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(
            request, lambda body: decode(body, lm.ResolveReconciliationDetailRequest, "snake")
        )
        run_id, detail_id = request.match_info["id"], request.match_info["detail_id"]

        async def produce() -> web.Response:
            return json_answer(detail_b(self._resolve_one(run_id, detail_id, body)))

        return await self.context.idempotent(request, "resolve_detail", raw, produce)

    async def _bulk_resolve(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(
            request, lambda body: decode(body, lm.BulkResolveRequest, "snake")
        )
        run_id = request.match_info["id"]
        self.reconciliations.get(run_id)  # 404 for an unknown run, before anything

        async def produce() -> web.Response:
            details, errors = [], []
            for item in body.items:
                try:
                    resolved = self._resolve_one(run_id, item.detail_id, item.request)
                except LedgerError as error:  # a refusal is reported per item
                    errors.append({"detail_id": item.detail_id, "message": error.detail})
                else:
                    details.append(detail_b(resolved))
            return json_answer(
                {
                    "processed": len(details),
                    "failed": len(errors),
                    "details": details,
                    "errors": errors,
                }
            )

        return await self.context.idempotent(request, "bulk_resolve", raw, produce)

    async def _finalize(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(
            request, lambda body: decode(body, lm.FinalizeReconciliationRequest, "snake")
        )
        run_id = request.match_info["id"]

        async def produce() -> web.Response:
            run = self.reconciliations.finalize(
                run_id, now=self.context.now(), notes=body.notes, force_partial=body.force_partial
            )
            return self._answer(run)

        return await self.context.idempotent(request, "finalize_reconciliation", raw, produce)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(
            request, lambda body: decode(body, lm.CancelReconciliationRequest, "snake")
        )
        run_id = request.match_info["id"]

        async def produce() -> web.Response:
            run = self.reconciliations.cancel(run_id, reason=body.reason)
            return self._answer(run, details=False)

        return await self.context.idempotent(request, "cancel_reconciliation", raw, produce)


def _created(record: PaymentRecord) -> datetime:
    return record.created_at


def _reason_codes() -> type[enum.Enum]:
    from .._operation_models import RefundReasonCode

    return RefundReasonCode


_TURKEY = timezone(timedelta(hours=3))
_TEXT_FILTERS = (
    "bin_number",
    "merchant_id",
    "external_merchant_id",
    "basket_id",
    "connector_code",
    "connector_configuration_id",
    "search_term",
)
_TRANSACTION_FILTERS = (
    "start_date",
    "end_date",
    "status",
    "operation_type",
    "payment_type",
    "secure_type",
    "card_schema_type",
    "card_type",
    "installment_count",
    "min_amount",
    "max_amount",
    *_TEXT_FILTERS,
)
_REFUND_FILTERS = (
    "start_date",
    "end_date",
    "status",
    "reason_code",
    "refund_type",
    "merchant_id",
    "external_merchant_id",
    "min_amount",
    "max_amount",
    "sla_breached",
    "search_term",
)
_SETTLEMENT_FILTERS = ("merchant_id", "bank_code", "status", "start_date", "end_date")
_CHARGEBACK_FILTERS = ("status", "transaction_id", "start_date", "end_date")
_RECONCILIATION_FILTERS = (
    "scope",
    "connector_config_id",
    "merchant_id",
    "bank_code",
    "period",
    "overall_status",
    "start_date",
    "end_date",
)
_DETAIL_FILTERS = ("discrepancy", "detail_status", "only_pending")
