"""``reconcile``: one item per transaction, and every seeded mismatch found by name."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import payven_async
from payven_async import (
    ExpectedRecord,
    MismatchKind,
    PayvenClient,
    ReconciliationItem,
    ServerError,
    ValidationError,
)
from payven_async._reconcile import status_class
from payven_async.testing import PayvenEmulator, SyncPayvenEmulator

SEEDED_KINDS = {
    MismatchKind.STATUS: 3,
    MismatchKind.AMOUNT: 2,
    MismatchKind.CAPTURED_AMOUNT: 2,
    MismatchKind.CURRENCY: 1,
    MismatchKind.EXTERNAL_MISSING: 2,
}


def clean(amount: int = 15000) -> ExpectedRecord:
    """The merchant's record of an approved 150,00 TRY payment."""
    return ExpectedRecord(amount=amount, currency="TRY", status="completed")


async def collect(client: PayvenClient, *args: Any, **kwargs: Any) -> list[ReconciliationItem]:
    """Every item of one reconcile run."""
    return [item async for item in client.reconcile(*args, **kwargs)]


async def test_reconcile_finds_every_seeded_mismatch_kind(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Each seeded Payven-vs-bank disagreement is one item with exactly that kind."""
    seeded = payven_emulator.seed_payments(300, declined=[0, 150], mismatches=SEEDED_KINDS)
    items = await collect(payven_client, seeded, concurrency=16)
    assert sorted(item.transaction_id for item in items) == sorted(seeded)
    found = {item.transaction_id: item for item in items if item.mismatches}
    assert {tid: {k.value for k in item.kinds} for tid, item in found.items()} == {
        tid: {kind} for tid, kind in seeded.mismatches.items()
    }
    for item in found.values():
        (mismatch,) = item.mismatches
        assert mismatch.between == ("payven", "bank")
    assert all(item.error is None for item in items)


async def test_reconcile_reports_nothing_on_clean_data(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Clean payments, approved and declined, with matching merchant records: all ok."""
    seeded = payven_emulator.seed_payments(120, declined=range(0, 120, 7))
    expected = {
        tid: ExpectedRecord(15000, "TRY", "failed" if index % 7 == 0 else "approved")
        for index, tid in enumerate(seeded)
    }
    items = await collect(payven_client, seeded, expected=expected)
    assert len(items) == 120
    assert all(item.ok for item in items), [item for item in items if not item.ok][:3]
    assert all(item.expected == expected[item.transaction_id] for item in items)
    assert all(item.internal is not None and item.external is not None for item in items)


async def test_merchant_records_add_the_unknown_kinds_and_their_own_differences(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Expected ids not given are still queried; each side's absence and difference is named."""
    seeded = payven_emulator.seed_payments(6)
    ghost = str(uuid.uuid4())  # the merchant recorded it, Payven never saw it
    expected = {tid: clean() for tid in seeded[1:]}
    expected[seeded[2]] = ExpectedRecord(amount=14000, currency="try", status="COMPLETED")
    expected[seeded[3]] = ExpectedRecord(currency="EUR", status="failed")
    expected[ghost] = clean()
    items = {
        item.transaction_id: item
        for item in await collect(payven_client, seeded[:5], expected=expected)
    }
    assert set(items) == {*seeded, ghost}
    kinds = {tid: {str(m) for m in item.mismatches} for tid, item in items.items()}
    assert kinds[seeded[0]] == {"unknown_to_merchant"}
    assert kinds[seeded[1]] == kinds[seeded[4]] == kinds[seeded[5]] == set()
    assert kinds[seeded[2]] == {"amount differs: merchant 14000, payven 15000"}
    assert kinds[seeded[3]] == {
        "status differs: merchant failed, payven completed",
        "currency differs: merchant EUR, payven TRY",
    }
    assert kinds[ghost] == {"unknown_to_payven"}
    assert items[ghost].expected == clean()
    assert items[ghost].error is None


async def test_every_id_gets_one_item_and_failed_queries_carry_their_error(
    payven_emulator: PayvenEmulator,
) -> None:
    """Failed queries are items with an error and no mismatches, never gaps or repeats."""
    seeded = payven_emulator.seed_payments(200)
    payven_emulator.faults.set_error_rate("query", 0.4, statuses=(500,))
    payven_emulator.faults.seed = 5
    seen: list[str] = []
    async with payven_emulator.client(max_retries=0) as client:
        items = await collect(
            client, iter(seeded), concurrency=8, progress=lambda i: seen.append(i.transaction_id)
        )
    assert sorted(item.transaction_id for item in items) == sorted(seeded) == sorted(seen)
    failed = [item for item in items if item.error is not None]
    assert failed
    assert len(failed) < len(items)
    assert all(isinstance(item.error, ServerError) for item in failed)
    assert all(not item.ok and not item.mismatches and item.internal is None for item in failed)


async def test_async_iterable_ids_are_reconciled(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """An async iterable of ids works as a list does, expected leftovers after it."""
    seeded = payven_emulator.seed_payments(30, mismatches={"currency": 1})

    async def ids() -> AsyncIterator[str]:
        for tid in seeded[:20]:
            yield tid

    expected = {tid: clean() for tid in seeded}
    items = await collect(payven_client, ids(), expected=expected, concurrency=4)
    assert sorted(item.transaction_id for item in items) == sorted(seeded)
    assert sum(1 for item in items if MismatchKind.CURRENCY in item.kinds) == 1


async def test_a_date_window_reconciles_what_list_transactions_lists(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """start_date/end_date reconcile exactly the transactions the window's listing pages."""
    seeded = payven_emulator.seed_payments(40, day=date(2026, 12, 6), mismatches={"amount": 2})
    other_day = payven_emulator.seed_payments(5, day=date(2026, 12, 5))
    items = await collect(
        payven_client, start_date=date(2026, 12, 6), end_date=date(2026, 12, 6), page_size=7
    )
    assert sorted(item.transaction_id for item in items) == sorted(seeded)
    assert not set(other_day) & {item.transaction_id for item in items}
    assert sum(1 for item in items if item.mismatches) == 2
    assert payven_emulator.calls["list_transactions"] == 6  # 40 transactions, 7 a page


async def test_a_bad_date_window_is_refused_before_any_request(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """The listing's own checks (here page_size) run when reconcile is called."""
    with pytest.raises(ValidationError) as caught:
        payven_client.reconcile(start_date=date(2026, 12, 6), page_size=0)
    assert [problem.field for problem in caught.value.problems] == ["page_size"]
    assert payven_emulator.calls["list_transactions"] == 0


async def test_bad_arguments_raise_one_validation_error_before_any_request(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Every problem is listed at call time, and nothing is sent."""
    with pytest.raises(ValidationError) as caught:
        payven_client.reconcile(
            "not-a-list",
            start_date="2026-12-01",  # type: ignore[arg-type]
            expected={"x": (1, "TRY")},  # type: ignore[dict-item]
            concurrency=0,
        )
    fields = [problem.field for problem in caught.value.problems]
    assert fields == [
        "transaction_ids",
        "transaction_ids",
        "start_date",
        "expected['x']",
        "concurrency",
    ]
    with pytest.raises(ValidationError) as caught:
        payven_client.reconcile(
            expected={
                "a": ExpectedRecord(amount=Decimal("150.00")),  # type: ignore[arg-type]
                "b": ExpectedRecord(amount=15000, currency=949),  # type: ignore[arg-type]
                "c": clean(),
            }
        )
    assert [str(problem) for problem in caught.value.problems] == [
        "expected['a']: amount must be whole minor units (an int >= 0), got Decimal('150.00')",
        "expected['b']: currency must be a str, got 949",
    ]
    with pytest.raises(ValidationError, match="must not be before start_date"):
        payven_client.reconcile(start_date=date(2026, 12, 2), end_date=date(2026, 12, 1))
    with pytest.raises(ValidationError, match="give transaction ids, a date window"):
        payven_client.reconcile()
    assert sum(payven_emulator.calls.values()) == 0


def test_the_sync_client_reconciles_too() -> None:
    """payven_sync's reconcile is a plain iterator over the same items."""
    with SyncPayvenEmulator() as emu:
        seeded = emu.seed_payments(20, mismatches={"external_missing": 1})
        with emu.client() as client:
            items = list(client.reconcile(seeded, concurrency=4))
    assert len(items) == 20
    assert [item.kinds for item in items if item.mismatches] == [
        frozenset({MismatchKind.EXTERNAL_MISSING})
    ]


def test_statuses_are_compared_by_what_they_mean() -> None:
    """Payven's, the bank's and a merchant's words for one outcome fall in one class."""
    assert {status_class(s) for s in ("completed", "approved", "APPROVED", "Authorized")} == {
        "approved"
    }
    assert {status_class(s) for s in ("failed", "declined", "Rejected")} == {"declined"}
    assert {status_class(s) for s in ("canceled", "cancelled", "voided")} == {"canceled"}
    assert status_class("three_d_secure_init_processing") == "pending"
    assert status_class("Chargeback-Opened") == "chargeback_opened"


def test_seeding_refuses_unknown_kinds_and_too_many_mismatches() -> None:
    """seed_payments says what it cannot plant, and seeds nothing then."""
    emu = PayvenEmulator()
    with pytest.raises(ValueError, match="cannot seed a 'unknown_to_payven' mismatch"):
        emu.seed_payments(5, mismatches={"unknown_to_payven": 1})
    with pytest.raises(ValueError, match="only 4 approved payments"):
        emu.seed_payments(5, declined=[0], mismatches={MismatchKind.STATUS: 5})
    assert len(emu.ledger) == 0


def test_reconciliation_names_are_exported_by_both_packages() -> None:
    """The reconciliation models load lazily from payven_async and payven_sync alike."""
    import payven_sync

    for name in ("ExpectedRecord", "Mismatch", "MismatchKind", "ReconciliationItem"):
        assert getattr(payven_sync, name) is getattr(payven_async, name)


async def test_detail_records_in_other_spellings_and_types_are_compared_as_decoded() -> None:
    """camelCase keys, amounts as text and doubles compare as the tolerant decoder reads them."""
    from payven_async import Answer, MemoryTransport, Request

    def detail(**fields: Any) -> dict[str, Any]:
        return {"status": "completed", "amount": 15000, "currency": "TRY", **fields}

    answers = {
        "same-a": (detail(captured_amount="15000"), {"Status": "APPROVED", "Amount": "15000"}),
        "same-b": (detail(captured_amount=15000), detail(captured_amount=15000.0)),
        "amount": (detail(), {"amount": "15100", "status": "approved", "currency": "TRY"}),
        "captured": (detail(captured_amount=15000), detail(captured_amount=14999.5)),
    }

    def handler(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        transaction_id = request.url.split("/")[-2]
        internal, external = answers[transaction_id]
        return Answer.from_json(
            {
                "transaction_id": transaction_id,
                "external_query_available": True,
                "internal": internal,
                "external": external,
            }
        )

    async with PayvenClient("id", "secret", "acme", transport=MemoryTransport(handler)) as client:
        items = {item.transaction_id: item async for item in client.reconcile(list(answers))}
    assert {tid: [str(m) for m in item.mismatches] for tid, item in items.items()} == {
        "same-a": [],
        "same-b": [],
        "amount": ["amount differs: payven 15000, bank 15100"],
        "captured": ["captured_amount differs: payven 15000, bank 14999.5"],
    }
    external = items["same-a"].external
    assert external is not None
    assert external.amount == 15000
