"""The client's read side and Payven's reconciliation resource: the ``list_*``, ``get_*``
and ``*_reconciliation*`` methods of :class:`~payven_async.PayvenClient`.

They live in this mixin so that ``_client.py`` keeps the payment calls; each method is
still one row of the operation table (:mod:`._operations`) prepared and run by the
client's pipeline. The ``list_*`` methods check every argument when called (before
any I/O) and return an async iterator that pages by itself (:mod:`._listing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import _operations as ops, _validate as validate
from ._config import Timeout
from ._listing import Kind, page_query, paginate
from .errors import Problem

if TYPE_CHECKING:
    from ._listing_models import (
        BulkResolveItem,
        BulkResolveResult,
        CardSchemaType,
        CardType,
        Chargeback,
        ChargebackStatus,
        DiscrepancyType,
        PaymentType,
        Reconciliation,
        ReconciliationDetail,
        ReconciliationDetailStatus,
        ReconciliationOverallStatus,
        ReconciliationPeriod,
        ReconciliationScope,
        Refund,
        RefundStatus,
        RefundType,
        ResolveReconciliationDetailRequest,
        SecureType,
        Settlement,
        SettlementStatus,
        StartReconciliationRequest,
        Trace,
        Transaction,
        TransactionHistoryEntry,
        TransactionStatus,
    )
    from ._operation_models import RefundReasonCode
    from .models import OperationType

__all__ = ["DEFAULT_PAGE_SIZE", "ListingMethods"]

T = TypeVar("T")

#: Items per page unless the caller says otherwise: the most the API allows, so that a
#: long listing takes as few requests as it can.
DEFAULT_PAGE_SIZE = 100

#: Each list's filters and how they are checked (see ``_listing.Kind``), in the order
#: of ``_operations``' ``*_FILTERS`` (the spec's).
_TRANSACTION_KINDS: Mapping[str, Kind] = {
    "start_date": "start",
    "end_date": "end",
    "status": "TransactionStatus",
    "operation_type": "OperationType",
    "payment_type": "PaymentType",
    "secure_type": "SecureType",
    "card_schema_type": "CardSchemaType",
    "card_type": "CardType",
    "installment_count": "count",
    "bin_number": "text",
    "min_amount": "amount",
    "max_amount": "amount",
    "merchant_id": "text",
    "external_merchant_id": "text",
    "basket_id": "text",
    "connector_code": "text",
    "connector_configuration_id": "text",
    "search_term": "words",
}
_REFUND_KINDS: Mapping[str, Kind] = {
    "start_date": "start",
    "end_date": "end",
    "status": "RefundStatus",
    "reason_code": "RefundReasonCode",
    "refund_type": "RefundType",
    "merchant_id": "text",
    "external_merchant_id": "text",
    "min_amount": "amount",
    "max_amount": "amount",
    "sla_breached": "flag",
    "search_term": "words",
}
_SETTLEMENT_KINDS: Mapping[str, Kind] = {
    "merchant_id": "text",
    "bank_code": "text",
    "status": "SettlementStatus",
    "start_date": "day",
    "end_date": "day",
}
_CHARGEBACK_KINDS: Mapping[str, Kind] = {
    "status": "ChargebackStatus",
    "transaction_id": "text",
    "start_date": "start",
    "end_date": "end",
}
_RECONCILIATION_KINDS: Mapping[str, Kind] = {
    "scope": "ReconciliationScope",
    "connector_config_id": "text",
    "merchant_id": "text",
    "bank_code": "text",
    "period": "ReconciliationPeriod",
    "overall_status": "ReconciliationOverallStatus",
    "start_date": "start",
    "end_date": "end",
}
_DETAIL_KINDS: Mapping[str, Kind] = {
    "discrepancy": "DiscrepancyType",
    "detail_status": "ReconciliationDetailStatus",
    "only_pending": "flag",
}


class ListingMethods:
    """The read-side and reconciliation methods (a mixin of ``PayvenClient``)."""

    if TYPE_CHECKING:

        def _call(
            self,
            operation: ops.Operation[T],
            *ids: Any,
            body: Any = None,
            query: dict[str, Any] | None = None,
            idempotency_key: str | None = None,
            timeout: float | Timeout | None,
            max_retries: int | None,
            extra_headers: Mapping[str, str] | None = None,
        ) -> Awaitable[T]: ...

    def _list(
        self,
        operation: ops.Operation[Any],
        *ids: str,
        filters: Mapping[str, Any],
        kinds: Mapping[str, Kind],
        page_size: int,
        start_page: int,
        timeout: float | Timeout | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Any]:
        """Check a list call now, and return the iterator over its pages."""
        problems: list[Problem] = []
        for name, value in zip(operation.id_names, ids, strict=True):
            validate.id_problems(name, value, problems)
        if max_retries is not None:
            problems += validate.retries_problems(max_retries)
        if extra_headers is not None:
            ops.extra_headers_problems(extra_headers, problems)
        texts = page_query(
            filters, kinds, page_size=page_size, start_page=start_page, extra_problems=problems
        )
        size = str(page_size)

        def fetch(number: int) -> Awaitable[Any]:
            query = {"page": str(number), "page_size": size, **texts}
            return self._call(
                operation,
                *ids,
                query=query,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )

        return paginate(fetch, call=operation.name, start_page=start_page, page_size=page_size)

    # --- transactions -------------------------------------------------------------------

    def list_transactions(
        self,
        *,
        start_date: date | datetime | None = None,
        end_date: date | datetime | None = None,
        status: TransactionStatus | str | None = None,
        operation_type: OperationType | str | None = None,
        payment_type: PaymentType | str | None = None,
        secure_type: SecureType | str | None = None,
        card_schema_type: CardSchemaType | str | None = None,
        card_type: CardType | str | None = None,
        installment_count: int | None = None,
        bin_number: str | None = None,
        min_amount: int | None = None,
        max_amount: int | None = None,
        merchant_id: str | None = None,
        external_merchant_id: str | None = None,
        basket_id: str | None = None,
        connector_code: str | None = None,
        connector_configuration_id: str | None = None,
        search_term: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Transaction]:
        """Every transaction matching the filters (``GET /transactions``), page by page.

        Returns an async iterator of :class:`Transaction`; it asks for the next page
        while you consume the current one, holds at most two pages, and stops after the
        last. Every argument is checked now, before any request; the filters are sent
        under the spec's names. ``start_date`` and ``end_date`` take an aware
        ``datetime``, or a ``date`` for the whole Turkish bank day (UTC+3; ``end_date``
        included). Enums take a member or any spelling of one (``"completed"``).
        Amounts are minor units. ``page_size`` is 1 to 100.

        A page that fails after its retries raises :class:`PageFetchError`; every
        transaction before it was yielded: resume with ``start_page=error.page``.
        """
        return self._list(
            ops.LIST_TRANSACTIONS,
            filters={
                "start_date": start_date,
                "end_date": end_date,
                "status": status,
                "operation_type": operation_type,
                "payment_type": payment_type,
                "secure_type": secure_type,
                "card_schema_type": card_schema_type,
                "card_type": card_type,
                "installment_count": installment_count,
                "bin_number": bin_number,
                "min_amount": min_amount,
                "max_amount": max_amount,
                "merchant_id": merchant_id,
                "external_merchant_id": external_merchant_id,
                "basket_id": basket_id,
                "connector_code": connector_code,
                "connector_configuration_id": connector_configuration_id,
                "search_term": search_term,
            },
            kinds=_TRANSACTION_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_transaction(
        self,
        transaction_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Transaction:
        """One transaction, with its 3-D Secure and connector details (``GET /transactions/{id}``).

        Raises :class:`NotFoundError` for an unknown id.
        """
        return await self._call(
            ops.GET_TRANSACTION,
            transaction_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_transaction_history(
        self,
        transaction_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[TransactionHistoryEntry]:
        """A transaction's status changes, oldest first (``GET /transactions/{id}/histories``)."""
        entries: list[TransactionHistoryEntry] = await self._call(
            ops.GET_TRANSACTION_HISTORY,
            transaction_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return entries

    async def get_trace(
        self,
        correlation_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Trace:
        """Everything recorded under one correlation id (``GET /trace/{correlation_id}``):
        the API requests, payment requests, status changes and webhooks, oldest first.

        The correlation id is the ``X-Correlation-Id`` of an answer, or the
        ``correlation_id`` of an :class:`APIError`.
        """
        return await self._call(
            ops.GET_TRACE,
            correlation_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    # --- refunds, settlements, chargebacks -------------------------------------------------

    def list_refunds(
        self,
        *,
        start_date: date | datetime | None = None,
        end_date: date | datetime | None = None,
        status: RefundStatus | str | None = None,
        reason_code: RefundReasonCode | str | None = None,
        refund_type: RefundType | str | None = None,
        merchant_id: str | None = None,
        external_merchant_id: str | None = None,
        min_amount: int | None = None,
        max_amount: int | None = None,
        sla_breached: bool | None = None,
        search_term: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Refund]:
        """Every refund matching the filters (``GET /refunds``), page by page.

        Pages, checks and resumes as :meth:`list_transactions` does.
        """
        return self._list(
            ops.LIST_REFUNDS,
            filters={
                "start_date": start_date,
                "end_date": end_date,
                "status": status,
                "reason_code": reason_code,
                "refund_type": refund_type,
                "merchant_id": merchant_id,
                "external_merchant_id": external_merchant_id,
                "min_amount": min_amount,
                "max_amount": max_amount,
                "sla_breached": sla_breached,
                "search_term": search_term,
            },
            kinds=_REFUND_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def list_settlements(
        self,
        *,
        start_date: date | None = None,
        end_date: date | None = None,
        status: SettlementStatus | str | None = None,
        merchant_id: str | None = None,
        bank_code: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Settlement]:
        """Every settlement matching the filters (``GET /settlements``), page by page.

        ``start_date`` and ``end_date`` are calendar days (``date``, as the spec types
        them). Pages, checks and resumes as :meth:`list_transactions` does.
        """
        return self._list(
            ops.LIST_SETTLEMENTS,
            filters={
                "merchant_id": merchant_id,
                "bank_code": bank_code,
                "status": status,
                "start_date": start_date,
                "end_date": end_date,
            },
            kinds=_SETTLEMENT_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def list_chargebacks(
        self,
        *,
        start_date: date | datetime | None = None,
        end_date: date | datetime | None = None,
        status: ChargebackStatus | str | None = None,
        transaction_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Chargeback]:
        """Every chargeback matching the filters (``GET /chargebacks``), page by page.

        Pages, checks and resumes as :meth:`list_transactions` does.
        """
        return self._list(
            ops.LIST_CHARGEBACKS,
            filters={
                "status": status,
                "transaction_id": transaction_id,
                "start_date": start_date,
                "end_date": end_date,
            },
            kinds=_CHARGEBACK_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    # --- reconciliation -----------------------------------------------------------------

    async def start_reconciliation(
        self,
        request: StartReconciliationRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Reconciliation:
        """Start a server-side reconciliation of a period (``POST /reconciliations/start``).

        Payven compares its records of the period with the bank's (``bank_transactions``
        of the request, or the bank's own answers) and returns the run with its
        ``details``: one per transaction, with its :class:`DiscrepancyType`. Every
        attempt carries the same ``Idempotency-Key``. The API allows about 5 starts a
        minute per organisation.
        """
        return await self._call(
            ops.START_RECONCILIATION,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def list_reconciliations(
        self,
        *,
        start_date: date | datetime | None = None,
        end_date: date | datetime | None = None,
        scope: ReconciliationScope | str | None = None,
        period: ReconciliationPeriod | str | None = None,
        overall_status: ReconciliationOverallStatus | str | None = None,
        connector_config_id: str | None = None,
        merchant_id: str | None = None,
        bank_code: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Reconciliation]:
        """Every reconciliation run matching the filters (``GET /reconciliations``).

        Pages, checks and resumes as :meth:`list_transactions` does.
        """
        return self._list(
            ops.LIST_RECONCILIATIONS,
            filters={
                "scope": scope,
                "connector_config_id": connector_config_id,
                "merchant_id": merchant_id,
                "bank_code": bank_code,
                "period": period,
                "overall_status": overall_status,
                "start_date": start_date,
                "end_date": end_date,
            },
            kinds=_RECONCILIATION_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_reconciliation(
        self,
        reconciliation_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Reconciliation:
        """One reconciliation run and its details (``GET /reconciliations/{id}``)."""
        return await self._call(
            ops.GET_RECONCILIATION,
            reconciliation_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def list_reconciliation_details(
        self,
        reconciliation_id: str,
        *,
        discrepancy: DiscrepancyType | str | None = None,
        detail_status: ReconciliationDetailStatus | str | None = None,
        only_pending: bool | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ReconciliationDetail]:
        """A reconciliation's details, page by page (``GET /reconciliations/{id}/details``).

        Pages, checks and resumes as :meth:`list_transactions` does.
        """
        return self._list(
            ops.LIST_RECONCILIATION_DETAILS,
            reconciliation_id,
            filters={
                "discrepancy": discrepancy,
                "detail_status": detail_status,
                "only_pending": only_pending,
            },
            kinds=_DETAIL_KINDS,
            page_size=page_size,
            start_page=start_page,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def resolve_reconciliation_detail(
        self,
        reconciliation_id: str,
        detail_id: str,
        request: ResolveReconciliationDetailRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ReconciliationDetail:
        """Resolve one detail of a reconciliation
        (``POST /reconciliations/{id}/details/{detail_id}/resolve``).

        Raises :class:`ConflictError` or :class:`InvalidRequestError` when the detail or
        the run can no longer change (resolved already, finalized, cancelled).
        """
        return await self._call(
            ops.RESOLVE_RECONCILIATION_DETAIL,
            reconciliation_id,
            detail_id,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def bulk_resolve_reconciliation_details(
        self,
        reconciliation_id: str,
        items: Iterable[BulkResolveItem],
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> BulkResolveResult:
        """Resolve many details at once (``POST /reconciliations/{id}/details/bulk-resolve``).

        The answer counts what was ``processed`` and what ``failed``, with an error per
        failed detail.
        """
        from ._listing_models import BulkResolveRequest

        return await self._call(
            ops.BULK_RESOLVE_RECONCILIATION_DETAILS,
            reconciliation_id,
            body=BulkResolveRequest(items=list(items)),
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def finalize_reconciliation(
        self,
        reconciliation_id: str,
        *,
        notes: str | None = None,
        force_partial: bool = False,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Reconciliation:
        """Close a reconciliation (``POST /reconciliations/{id}/finalize``): ``Completed``.

        Details still pending refuse it, unless ``force_partial`` (then
        ``PartiallyCompleted``).
        """
        from ._listing_models import FinalizeReconciliationRequest

        return await self._call(
            ops.FINALIZE_RECONCILIATION,
            reconciliation_id,
            body=FinalizeReconciliationRequest(notes=notes, force_partial=force_partial),
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def cancel_reconciliation(
        self,
        reconciliation_id: str,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Reconciliation:
        """Cancel a reconciliation that is not finalized (``POST /reconciliations/{id}/cancel``)."""
        from ._listing_models import CancelReconciliationRequest

        return await self._call(
            ops.CANCEL_RECONCILIATION,
            reconciliation_id,
            body=CancelReconciliationRequest(reason=reason),
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
