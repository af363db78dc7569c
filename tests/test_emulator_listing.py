"""The emulator's read side and reconciliation resource, through the client.

- Lists page for real over the ledger, with the date, status and amount filters, and
  every answer (lists, transaction, history, refunds, settlements, chargebacks, trace,
  every reconciliation route, and their problems) validates against generation B's
  published OpenAPI, as the other routes' answers do (``test_emulator_openapi``).
- A reconciliation run finds each kind of discrepancy, and moves through its states.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest

from payven_async import (
    BankTransaction,
    BulkResolveItem,
    DiscrepancyType,
    InvalidRequestError,
    NotFoundError,
    PageFetchError,
    PayvenClient,
    Reconciliation,
    ReconciliationDetailStatus,
    ReconciliationOverallStatus,
    ReconciliationPeriod,
    ReconciliationResolutionAction,
    ReconciliationScope,
    RefundRequest,
    RefundStatus,
    ResolveReconciliationDetailRequest,
    SettlementStatus,
    StartReconciliationRequest,
    Timeout,
    TraceEventSource,
    TransactionStatus,
    ValidationError,
)
from payven_async._http import Answer, Request
from payven_async.testing import PayvenEmulator

from .test_emulator_openapi import Spec

UTC = timezone.utc
DAY = datetime(2026, 5, 4, 21, 0, tzinfo=UTC)  # 5 May 2026, 00:00 in Turkey

#: The spec's path templates of the routes tested here, most specific first.
_TEMPLATES = [
    "/api/v1/transactions/{id}/histories",
    "/api/v1/transactions/{id}",
    "/api/v1/transactions",
    "/api/v1/refunds",
    "/api/v1/settlements",
    "/api/v1/chargebacks",
    "/api/v1/trace/{correlation_id}",
    "/api/v1/reconciliations/start",
    "/api/v1/reconciliations/{id}/details/bulk-resolve",
    "/api/v1/reconciliations/{id}/details/{detail_id}/resolve",
    "/api/v1/reconciliations/{id}/details",
    "/api/v1/reconciliations/{id}/finalize",
    "/api/v1/reconciliations/{id}/cancel",
    "/api/v1/reconciliations/{id}",
    "/api/v1/reconciliations",
]
_PATTERNS = [
    (template, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"))
    for template in _TEMPLATES
]


def _template(path: str) -> str | None:
    return next((template for template, pattern in _PATTERNS if pattern.match(path)), None)


@attrs.define
class Checked:
    """A client whose answers on the routes above are validated against the spec."""

    client: PayvenClient
    emu: PayvenEmulator
    spec: Spec
    seen: dict[str, set[int]] = attrs.Factory(dict)


@pytest.fixture(scope="module")
def spec_b() -> Spec:
    """Generation B's vpos document, normalised."""
    return Spec("vpos-b")


@pytest.fixture
async def checked(spec_b: Spec) -> AsyncIterator[Checked]:
    """An emulator and a client; every answer it gets on these routes is spec-validated."""
    async with PayvenEmulator() as emu, emu.client(max_retries=0) as client:
        state = Checked(client, emu, spec_b)
        transport = client._transport
        original = transport.send

        async def validating(request: Request, timeout: Timeout) -> Answer:
            answer = await original(request, timeout)
            template = _template(urlsplit(request.url).path)
            if template is not None:
                media = answer.headers["Content-Type"]
                body = json.loads(answer.body)
                if answer.status >= 400:
                    assert media == "application/problem+json"
                    name = "HttpValidationProblemDetails" if "errors" in body else "ProblemDetails"
                    spec_b.component(name, body)
                    assert body["status"] == answer.status
                else:
                    spec_b.response(request.method, template, answer.status, media, body)
                state.seen.setdefault(template, set()).add(answer.status)
            return answer

        transport.send = validating  # type: ignore[method-assign]
        yield state


# --- paging over the ledger --------------------------------------------------------------------


@pytest.mark.parametrize(("count", "page_size"), [(10_000, 100), (1_000, 37)])
async def test_ledger_payments_page_once_each_oldest_first(count: int, page_size: int) -> None:
    """10,000 (and 1,000) ledger payments list once each, oldest first, page by page.

    Not through the validating fixture: checking 10,000 items against the schema takes
    long, and the other tests validate every shape.
    """
    async with PayvenEmulator() as emu, emu.client(max_retries=0) as client:
        ids = emu.ledger.add_payments(count, start=DAY, spacing=timedelta(seconds=3))
        found = [t.id async for t in client.list_transactions(page_size=page_size)]
        assert found == ids
        assert emu.calls["list_transactions"] == -(-count // page_size)


async def test_the_date_window_selects_exactly_the_payments_made_in_it(checked: Checked) -> None:
    """start_date/end_date (a Turkish bank day, or aware times) select by creation time."""
    ledger = checked.emu.ledger
    hourly = ledger.add_payments(72, start=DAY - timedelta(days=1), spacing=timedelta(hours=1))
    on_the_day = hourly[24:48]  # 5 May in Turkey: 21:00 UTC on the 4th to 20:59 on the 5th
    client = checked.client
    day = [t.id async for t in client.list_transactions(start_date=date(2026, 5, 5),
                                                        end_date=date(2026, 5, 5))]  # fmt: skip
    assert day == on_the_day
    window = client.list_transactions(
        start_date=DAY + timedelta(hours=2), end_date=DAY + timedelta(hours=4), page_size=1
    )
    assert [t.id async for t in window] == hourly[26:29]


async def test_status_and_amount_filters_select_on_the_ledger(checked: Checked) -> None:
    """A refunded payment is listed under status=refunded; min/max_amount bound amounts."""
    ledger = checked.emu.ledger
    small = ledger.add_payments(3, start=DAY, amount=1000)
    large = ledger.add_payments(2, start=DAY + timedelta(minutes=1), amount=50000)
    client = checked.client
    await client.refund(small[1], RefundRequest(amount=1000))
    refunded = [t async for t in client.list_transactions(status="refunded")]
    assert [t.id for t in refunded] == [small[1]]
    assert refunded[0].status is TransactionStatus.REFUNDED
    big = [t.id async for t in client.list_transactions(min_amount=20000)]
    assert big == large
    completed = client.list_transactions(status=TransactionStatus.COMPLETED, max_amount=1000)
    assert [t.id async for t in completed] == [small[0], small[2]]
    first = refunded[0]
    assert (first.amount, first.currency, first.net_amount) == (1000, "TRY", 0)
    assert first.created == DAY + timedelta(seconds=1)


async def test_transaction_history_and_trace(checked: Checked) -> None:
    """get_transaction, its history, and the trace of the refund's correlation id."""
    client = checked.client
    (transaction_id,) = checked.emu.ledger.add_payments(1, start=DAY)
    await client.refund(transaction_id, RefundRequest(amount=5000))
    correlation_id = checked.emu.requests[-1].correlation_id
    transaction = await client.get_transaction(transaction_id)
    assert (transaction.id, transaction.amount, transaction.net_amount) == (
        transaction_id, 15000, 10000,
    )  # fmt: skip
    history = await client.get_transaction_history(transaction_id)
    assert [entry.new_status for entry in history] == [TransactionStatus.COMPLETED] * 2
    assert [entry.operation_amount for entry in history] == [15000, 5000]
    trace = await client.get_trace(correlation_id)
    assert trace.correlation_id == correlation_id
    assert trace.summary is not None
    assert list(trace.summary.transaction_ids or ()) == [transaction_id]
    sources = {event.source for event in trace.events}
    assert sources == {TraceEventSource.API_REQUEST, TraceEventSource.TRANSACTION_HISTORY}
    with pytest.raises(NotFoundError):
        await client.get_trace("no-such-correlation-id")
    with pytest.raises(NotFoundError):
        await client.get_transaction("3c90c3cc-0d44-4b50-8888-8dd25736052a")


async def test_refunds_settlements_and_chargebacks_list(checked: Checked) -> None:
    """Refunds (full and partial), one settlement a bank day, chargebacks by status."""
    ledger = checked.emu.ledger
    ids = ledger.add_payments(3, start=DAY)
    earlier = ledger.add_payments(2, start=DAY - timedelta(days=2))
    client = checked.client
    await client.refund(ids[0], RefundRequest(amount=15000))
    await client.refund(ids[1], RefundRequest(amount=100))
    refunds = [r async for r in client.list_refunds()]
    assert [(r.transaction_id, r.refund_amount) for r in refunds] == [(ids[0], 15000),
                                                                       (ids[1], 100)]  # fmt: skip
    assert {r.status for r in refunds} == {RefundStatus.COMPLETED}
    partial = [r.transaction_id async for r in client.list_refunds(refund_type="partial")]
    assert partial == [ids[1]]
    settlements = [s async for s in client.list_settlements()]
    assert [(s.period_start, s.transaction_count) for s in settlements] == [
        (date(2026, 5, 3), 2), (date(2026, 5, 5), 3),
    ]  # fmt: skip
    assert settlements[0].gross_amount == 30000
    assert settlements[0].status is SettlementStatus.SETTLED
    only = [s async for s in client.list_settlements(start_date=date(2026, 5, 4))]
    assert [s.period_start for s in only] == [date(2026, 5, 5)]
    chargeback = ledger.open_chargeback(earlier[0])
    found = [c async for c in client.list_chargebacks(status="opened")]
    assert [(c.id, c.transaction_id, c.amount) for c in found] == [
        (chargeback.id, earlier[0], 15000)
    ]
    assert [c async for c in client.list_chargebacks(status="won")] == []


async def test_a_page_the_emulator_fails_names_the_page_to_resume_from(checked: Checked) -> None:
    """An injected 503 on the first page: PageFetchError(page=1); resuming lists everything."""
    ids = checked.emu.ledger.add_payments(30, start=DAY)
    checked.emu.faults.fail_next("list_transactions", status=503)
    with pytest.raises(PageFetchError) as caught:
        await anext(aiter(checked.client.list_transactions(page_size=10)))
    assert caught.value.page == 1
    listing = checked.client.list_transactions(page_size=10, start_page=caught.value.page)
    assert [t.id async for t in listing] == ids


async def test_a_list_query_the_emulator_cannot_read_is_a_validation_problem(
    checked: Checked,
) -> None:
    """A page_size above 100 or an unknown status, sent raw, is a 400 problem."""
    token = (await checked.client.token()).access_token
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for query in ("page_size=500", "status=settled", "page=zero", "colour=red"):
            async with http.get(
                f"{checked.emu.url}/api/v1/transactions?{query}",
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                body = await response.json(content_type=None)
                assert response.status == 400, query
                checked.spec.component("HttpValidationProblemDetails", body)


# --- reconciliation ----------------------------------------------------------------------------


def _statement(ledger: Any, ids: list[str]) -> list[BankTransaction]:
    """The bank's statement of ``ids``: one amount differs, one status, one line is
    missing, and one line the ledger does not know."""
    lines = []
    for index, transaction_id in enumerate(ids):
        record = ledger.payment(transaction_id)
        if index == 2:
            continue  # missing from the bank: OrphanDb
        lines.append(
            BankTransaction(
                amount=record.amount + (1 if index == 0 else 0),  # AmountMismatch
                bank_transaction_id=record.provider_transaction_id,
                status="declined" if index == 1 else "approved",  # StatusMismatch
                transaction_date=record.created_at,
                auth_code=record.auth_code,
            )
        )
    lines.append(BankTransaction(amount=999, bank_transaction_id="BANK-ONLY", status="approved"))
    return lines


async def test_a_reconciliation_finds_each_discrepancy_and_moves_through_its_states(
    checked: Checked,
) -> None:
    """Start, list, resolve, bulk-resolve, refuse to finalize with pending, then finalize."""
    ledger = checked.emu.ledger
    ids = ledger.add_payments(6, start=DAY + timedelta(hours=1))
    ledger.add_payments(2, start=DAY + timedelta(days=2))  # outside the period
    client = checked.client
    run = await client.start_reconciliation(
        StartReconciliationRequest(
            scope=ReconciliationScope.MERCHANT,
            period=ReconciliationPeriod.DAILY,
            period_start=DAY,
            bank_transactions=_statement(ledger, ids),
        )
    )
    assert isinstance(run, Reconciliation)
    assert run.overall_status is ReconciliationOverallStatus.DRAFT
    counts = (run.matched_count, run.amount_mismatch_count, run.status_mismatch_count,
              run.orphan_db_count, run.orphan_bank_count)  # fmt: skip
    assert counts == (3, 1, 1, 1, 1)
    assert run.total_db_transactions == 6
    assert run.details is not None
    by_kind = {detail.discrepancy: detail for detail in run.details}
    assert by_kind[DiscrepancyType.AMOUNT_MISMATCH].transaction_id == ids[0]
    assert by_kind[DiscrepancyType.ORPHAN_BANK].bank_transaction_id == "BANK-ONLY"
    assert [r.id async for r in client.list_reconciliations(period="daily")] == [run.id]
    pending = [d async for d in client.list_reconciliation_details(run.id, only_pending=True,
                                                                   page_size=2)]  # fmt: skip
    assert len(pending) == 4
    assert {d.detail_status for d in pending} == {ReconciliationDetailStatus.PENDING}

    with pytest.raises(InvalidRequestError) as refused:
        await client.finalize_reconciliation(run.id)
    assert refused.value.code == "reconciliation_has_pending_details"

    accept = ResolveReconciliationDetailRequest(action=ReconciliationResolutionAction.ACCEPT_DB)
    resolved = await client.resolve_reconciliation_detail(run.id, pending[0].id, accept)
    assert resolved.detail_status is ReconciliationDetailStatus.RESOLVED
    with pytest.raises(InvalidRequestError) as again:
        await client.resolve_reconciliation_detail(run.id, pending[0].id, accept)
    assert again.value.code == "reconciliation_detail_already_resolved"
    ignore = ResolveReconciliationDetailRequest(action=ReconciliationResolutionAction.IGNORE)
    bulk = await client.bulk_resolve_reconciliation_details(
        run.id,
        [BulkResolveItem(detail_id=d.id, request=ignore) for d in pending[1:]]
        + [BulkResolveItem(detail_id=pending[0].id, request=ignore)],
    )
    assert (bulk.processed, bulk.failed) == (3, 1)
    assert bulk.errors[0].detail_id == pending[0].id
    review = await client.get_reconciliation(run.id)
    assert review.overall_status is ReconciliationOverallStatus.IN_REVIEW
    assert (review.resolved_count, review.ignored_count) == (1, 3)
    done = await client.finalize_reconciliation(run.id, notes="gün sonu")
    assert done.overall_status is ReconciliationOverallStatus.COMPLETED
    with pytest.raises(InvalidRequestError) as closed:
        await client.cancel_reconciliation(run.id)
    assert closed.value.code == "reconciliation_not_editable"
    # Every reconciliation route answered, and was validated against the spec.
    assert {t for t in checked.seen if "/reconciliations" in t} == {
        t for t in _TEMPLATES if "/reconciliations" in t
    }


async def test_a_reconciliation_without_a_statement_matches_and_can_be_cancelled_or_forced(
    checked: Checked,
) -> None:
    """Without bank lines everything matches; cancel; force_partial with pending details."""
    ledger = checked.emu.ledger
    ledger.add_payments(4, start=DAY)
    client = checked.client
    start = StartReconciliationRequest(
        scope=ReconciliationScope.CONNECTOR,
        period=ReconciliationPeriod.CUSTOM,
        period_start=DAY,
        period_end=DAY + timedelta(hours=1),
    )
    clean = await client.start_reconciliation(start)
    assert (clean.matched_count, clean.total_db_transactions) == (4, 4)
    cancelled = await client.cancel_reconciliation(clean.id, reason="yanlış dönem")
    assert cancelled.overall_status is ReconciliationOverallStatus.CANCELLED
    start.bank_transactions = []
    orphans = await client.start_reconciliation(start)
    assert orphans.orphan_db_count == 4
    forced = await client.finalize_reconciliation(orphans.id, force_partial=True)
    assert forced.overall_status is ReconciliationOverallStatus.PARTIALLY_COMPLETED
    statuses = [r.overall_status async for r in client.list_reconciliations()]
    assert statuses == [ReconciliationOverallStatus.CANCELLED,
                        ReconciliationOverallStatus.PARTIALLY_COMPLETED]  # fmt: skip
    with pytest.raises(NotFoundError):
        await client.get_reconciliation("3c90c3cc-0d44-4b50-8888-8dd25736052a")


async def test_reconciliation_requests_are_checked_before_any_io(checked: Checked) -> None:
    """A custom period without its end, naive times and a resolve missing its amount."""
    calls = sum(checked.emu.calls.values())
    with pytest.raises(ValidationError) as caught:
        await checked.client.start_reconciliation(
            StartReconciliationRequest(
                scope=ReconciliationScope.MERCHANT,
                period=ReconciliationPeriod.CUSTOM,
                period_start=datetime(2026, 5, 5),  # naive
                bank_transactions=[BankTransaction(amount=-1)],
            )
        )
    fields = {problem.field for problem in caught.value.problems}
    assert fields == {"period_start", "period_end", "bank_transactions[0].amount"}
    with pytest.raises(ValidationError) as resolve:
        await checked.client.resolve_reconciliation_detail(
            "r", "d",
            ResolveReconciliationDetailRequest(action=ReconciliationResolutionAction.ADJUST_AMOUNT),
        )  # fmt: skip
    assert [p.field for p in resolve.value.problems] == ["adjusted_amount"]
    with pytest.raises(ValidationError):
        await checked.client.bulk_resolve_reconciliation_details("r", [])
    assert sum(checked.emu.calls.values()) == calls


def test_every_route_here_is_a_path_of_the_spec(spec_b: Spec) -> None:
    """The templates the fixture validates by are the spec's own paths (so it checks them)."""
    assert set(_TEMPLATES) <= set(spec_b.raw["paths"])


def test_the_blocking_client_lists_and_reconciles(payven_sync_emulator: Any) -> None:
    """payven_sync: the lists are generators, and a reconciliation runs start to finish."""
    emu = payven_sync_emulator
    ids = emu.ledger.add_payments(250, start=DAY, spacing=timedelta(seconds=10))
    with emu.client(max_retries=0) as client:
        assert [t.id for t in client.list_transactions(page_size=100)] == ids
        history = client.get_transaction_history(ids[0])
        assert [entry.new_status for entry in history] == [TransactionStatus.COMPLETED]
        run = client.start_reconciliation(
            StartReconciliationRequest(
                scope=ReconciliationScope.MERCHANT,
                period=ReconciliationPeriod.DAILY,
                period_start=DAY,
                bank_transactions=[],
            )
        )
        assert run.orphan_db_count == 250
        pending = list(client.list_reconciliation_details(run.id, only_pending=True))
        assert len(pending) == 250
        ignore = ResolveReconciliationDetailRequest(action=ReconciliationResolutionAction.IGNORE)
        result = client.bulk_resolve_reconciliation_details(
            run.id, (BulkResolveItem(detail_id=d.id, request=ignore) for d in pending)
        )
        assert (result.processed, result.failed) == (250, 0)
        done = client.finalize_reconciliation(run.id)
        assert done.overall_status is ReconciliationOverallStatus.COMPLETED
        assert [r.id for r in client.list_reconciliations()] == [run.id]
        assert list(client.list_refunds()) == []
        assert list(client.list_chargebacks()) == []
        assert [s.transaction_count for s in client.list_settlements()] == [250]


# --- .meta of listed items ----------------------------------------------------------------------


async def test_listed_items_carry_the_meta_of_the_page_they_came_in(checked: Checked) -> None:
    """Every listed transaction, refund, settlement and history entry has a .meta: the
    exchange of its page (its correlation id, status 200, the call's name)."""
    emu, client = checked.emu, checked.client
    ids = emu.ledger.add_payments(5, start=DAY)
    listed = [t async for t in client.list_transactions(page_size=2)]
    assert [t.id for t in listed] == ids
    pages = [r.correlation_id for r in emu.requests if r.route == "list_transactions"]
    assert len(pages) == 3
    metas = [t.meta for t in listed]
    assert all(meta is not None and meta.status == 200 for meta in metas)
    assert all(meta is not None and meta.call == "list_transactions" for meta in metas)
    assert [meta.correlation_id for meta in metas if meta is not None] == [
        pages[0], pages[0], pages[1], pages[1], pages[2],
    ]  # fmt: skip
    await client.refund(ids[0], RefundRequest(amount=100))
    (refund,) = [r async for r in client.list_refunds()]
    (settlement, *_) = [s async for s in client.list_settlements()]
    history = await client.get_transaction_history(ids[0])
    for item, route in ((refund, "list_refunds"), (settlement, "list_settlements")):
        assert item.meta is not None
        assert (
            item.meta.correlation_id
            == [r for r in emu.requests if r.route == route][-1].correlation_id
        )
    history_id = [r for r in emu.requests if r.route == "transaction_history"][-1].correlation_id
    assert [entry.meta.correlation_id for entry in history if entry.meta is not None] == [
        history_id
    ] * len(history)
    assert len(history) == 2
