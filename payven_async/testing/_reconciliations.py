"""The emulator's reconciliation runs: Payven's records of a period against the bank's.

A run compares the ledger's payments made in the period (``db``) with the bank's
statement the request sends (``bank_transactions``, matched by
``bank_transaction_id`` = the payment's ``provider_transaction_id``, else by
``auth_code``); without a statement the bank's view is the ledger's own (what the
query's ``external`` record says), so everything matches. Each payment and each
statement line becomes a detail:

==================  =======================================================  ===============
discrepancy         when                                                     detail_status
==================  =======================================================  ===============
``Matched``         same amount, both sides agree it succeeded (or failed)   ``AutoMatched``
``AmountMismatch``  amounts differ                                           ``Pending``
``StatusMismatch``  one side says it succeeded, the other not                ``Pending``
``OrphanDb``        in Payven's records, not in the statement                ``Pending``
``OrphanBank``      in the statement, not in Payven's records                ``Pending``
==================  =======================================================  ===============

States: a run starts ``Draft``; resolving a detail makes it ``InReview``; finalizing
makes it ``Completed`` (``PartiallyCompleted`` with ``force_partial`` while details
are pending; refused otherwise); cancelling makes it ``Cancelled``. A finalized or
cancelled run changes no more (``reconciliation_not_editable``), a resolved detail is
not resolved again (``reconciliation_detail_already_resolved``). Refusals are the
ledger's errors, answered as problems like its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from ._ledger import Ledger, OperationRefused, RecordNotFound, settlement_day
from ._records import PaymentRecord

__all__ = ["BankLine", "DetailRecord", "ReconciliationRecord", "Reconciliations"]

_SUCCEEDED = frozenset({"approved", "completed", "success", "succeeded", "settled", "authorized"})
_EDITABLE = ("Draft", "InReview")


@attrs.frozen
class BankLine:
    """One line of the bank's statement."""

    amount: int
    bank_transaction_id: str | None = None
    status: str | None = None
    auth_code: str | None = None


@attrs.define
class DetailRecord:
    """One transaction's line in a run."""

    id: str
    reconciliation_id: str
    transaction_id: str | None
    bank_transaction_id: str | None
    db_amount: int | None
    bank_amount: int | None
    db_status: str | None
    bank_status: str | None
    discrepancy: str
    detail_status: str
    resolution_action: str | None = None
    adjusted_amount: int | None = None
    applied_status: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    remarks: str | None = None


@attrs.define
class ReconciliationRecord:
    """One run and its details."""

    id: str
    scope: str
    period: str
    period_start: datetime
    period_end: datetime
    created: datetime
    merchant_id: str | None
    connector_config_id: str | None
    bank_line_count: int
    details: list[DetailRecord] = attrs.field(factory=list)
    overall_status: str = "Draft"
    finalized_at: datetime | None = None
    finalized_by: str | None = None
    notes: str | None = None

    def count(self, discrepancy: str) -> int:
        """How many details found ``discrepancy``."""
        return sum(1 for detail in self.details if detail.discrepancy == discrepancy)

    def detail(self, detail_id: str) -> DetailRecord:
        """The detail ``detail_id``.

        :raises RecordNotFound: ``reconciliation_detail_not_found``.
        """
        for detail in self.details:
            if detail.id == detail_id:
                return detail
        raise RecordNotFound("reconciliation_detail_not_found", "Mutabakat kalemi bulunamadı.")


def period_end(period: str, start: datetime, end: datetime | None) -> datetime:
    """Where a period ends: ``end`` for a custom one, else a day, month or year on."""
    if end is not None:
        return end
    if period == "Daily":
        return start + timedelta(days=1)
    if period == "Monthly":
        month = start.month % 12 + 1
        return start.replace(year=start.year + (start.month == 12), month=month)
    if period == "Yearly":
        return start.replace(year=start.year + 1)
    raise OperationRefused("invalid_reconciliation_period", "Özel dönem için period_end gerekli.")


def _succeeded(record: PaymentRecord) -> bool:
    return record.is_success and record.status not in ("failed", "canceled")


class Reconciliations:
    """The runs, by id, over one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.runs: dict[str, ReconciliationRecord] = {}

    def get(self, reconciliation_id: str) -> ReconciliationRecord:
        """The run ``reconciliation_id``.

        :raises RecordNotFound: ``reconciliation_not_found``.
        """
        run = self.runs.get(reconciliation_id)
        if run is None:
            raise RecordNotFound("reconciliation_not_found", "Mutabakat bulunamadı.")
        return run

    def start(
        self,
        *,
        scope: str,
        period: str,
        start: datetime,
        end: datetime | None,
        now: datetime,
        merchant_id: str | None = None,
        connector_config_id: str | None = None,
        bank_lines: Sequence[BankLine] | None = None,
    ) -> ReconciliationRecord:
        """Compare the period's payments with the statement (see the module's table).

        :raises OperationRefused: ``invalid_reconciliation_period`` (a custom period
            without its end, or an end before the start).
        """
        finish = period_end(period, start, end)
        if finish <= start:
            raise OperationRefused(
                "invalid_reconciliation_period", "period_end, period_start'tan sonra olmalı."
            )
        run = ReconciliationRecord(
            id=str(uuid.uuid4()),
            scope=scope,
            period=period,
            period_start=start,
            period_end=finish,
            created=now,
            merchant_id=merchant_id,
            connector_config_id=connector_config_id,
            bank_line_count=0,
        )
        payments = [p for p in self.ledger.payments.values() if start <= p.created_at < finish]
        run.details = list(self._compare(run.id, payments, bank_lines))
        run.bank_line_count = len(bank_lines) if bank_lines is not None else len(payments)
        self.runs[run.id] = run
        return run

    def _compare(
        self,
        run_id: str,
        payments: Sequence[PaymentRecord],
        bank_lines: Sequence[BankLine] | None,
    ) -> Iterable[DetailRecord]:
        by_reference: dict[str, BankLine] = {}
        unmatched: list[BankLine] = []
        for given in bank_lines or ():
            key = given.bank_transaction_id or given.auth_code
            if key and key not in by_reference:
                by_reference[key] = given
            else:
                unmatched.append(given)
        for payment in payments:
            db_status = payment.status
            line: BankLine | None
            if bank_lines is None:
                line = BankLine(
                    payment.amount,
                    payment.provider_transaction_id,
                    "approved" if payment.is_success else "declined",
                )
            else:
                line = by_reference.pop(payment.provider_transaction_id or "", None)
                if line is None and payment.auth_code:
                    line = by_reference.pop(payment.auth_code, None)
            if line is None:
                discrepancy = "OrphanDb"
            elif line.amount != payment.amount:
                discrepancy = "AmountMismatch"
            elif ((line.status or "").lower() in _SUCCEEDED) != _succeeded(payment):
                discrepancy = "StatusMismatch"
            else:
                discrepancy = "Matched"
            yield DetailRecord(
                id=str(uuid.uuid4()),
                reconciliation_id=run_id,
                transaction_id=payment.transaction_id,
                bank_transaction_id=None if line is None else line.bank_transaction_id,
                db_amount=payment.amount,
                bank_amount=None if line is None else line.amount,
                db_status=db_status,
                bank_status=None if line is None else line.status,
                discrepancy=discrepancy,
                detail_status="AutoMatched" if discrepancy == "Matched" else "Pending",
            )
        for orphan in [*by_reference.values(), *unmatched]:
            yield DetailRecord(
                id=str(uuid.uuid4()),
                reconciliation_id=run_id,
                transaction_id=None,
                bank_transaction_id=orphan.bank_transaction_id,
                db_amount=None,
                bank_amount=orphan.amount,
                db_status=None,
                bank_status=orphan.status,
                discrepancy="OrphanBank",
                detail_status="Pending",
            )

    @staticmethod
    def _editable(run: ReconciliationRecord) -> None:
        if run.overall_status not in _EDITABLE:
            raise OperationRefused(
                "reconciliation_not_editable",
                f"'{run.overall_status}' durumundaki bir mutabakat değiştirilemez.",
            )

    def resolve(
        self,
        reconciliation_id: str,
        detail_id: str,
        *,
        action: str,
        now: datetime,
        adjusted_amount: int | None = None,
        applied_status: str | None = None,
        remarks: str | None = None,
        by: str = "emulator",
    ) -> DetailRecord:
        """Resolve a pending detail (``Ignore`` makes it ``Ignored``); the run is ``InReview``.

        :raises RecordNotFound: ``reconciliation_not_found``, ``reconciliation_detail_not_found``.
        :raises OperationRefused: ``reconciliation_not_editable``,
            ``reconciliation_detail_already_resolved``.
        """
        run = self.get(reconciliation_id)
        self._editable(run)
        detail = run.detail(detail_id)
        if detail.detail_status != "Pending":
            raise OperationRefused(
                "reconciliation_detail_already_resolved", "Bu mutabakat kalemi zaten kapatıldı."
            )
        detail.detail_status = "Ignored" if action == "Ignore" else "Resolved"
        detail.resolution_action = action
        detail.adjusted_amount = adjusted_amount
        detail.applied_status = applied_status
        detail.remarks = remarks
        detail.resolved_at = now
        detail.resolved_by = by
        run.overall_status = "InReview"
        return detail

    def finalize(
        self, reconciliation_id: str, *, now: datetime, notes: str | None, force_partial: bool
    ) -> ReconciliationRecord:
        """Close the run: ``Completed``, or ``PartiallyCompleted`` when forced with details pending.

        :raises OperationRefused: ``reconciliation_not_editable``,
            ``reconciliation_has_pending_details``.
        """
        run = self.get(reconciliation_id)
        self._editable(run)
        pending = sum(1 for detail in run.details if detail.detail_status == "Pending")
        if pending and not force_partial:
            raise OperationRefused(
                "reconciliation_has_pending_details",
                f"{pending} mutabakat kalemi bekliyor; force_partial ile kapatın.",
            )
        run.overall_status = "PartiallyCompleted" if pending else "Completed"
        run.finalized_at = now
        run.finalized_by = "emulator"
        run.notes = notes
        return run

    def cancel(self, reconciliation_id: str, *, reason: str | None) -> ReconciliationRecord:
        """Cancel a run that is not finalized.

        :raises OperationRefused: ``reconciliation_not_editable``.
        """
        run = self.get(reconciliation_id)
        self._editable(run)
        run.overall_status = "Cancelled"
        run.notes = reason
        return run

    def day_of(self, run: ReconciliationRecord) -> str:
        """The bank day the run's period starts on (``reconciliation_date``)."""
        return settlement_day(run.period_start).isoformat()
