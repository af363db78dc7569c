"""Listing with automatic paging: every item once, two pages at most, filters as the spec
names them, a failed page that says where to resume, and the blocking twins.

The pages come from an in-memory service (:class:`Pages`), so that 10,000 transactions
page quickly and every request is seen; the emulator's own paging over its ledger is
tested in ``test_emulator_listing``.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

import payven_sync
from payven_async import (
    Answer,
    CardType,
    DecodeError,
    OperationType,
    PageFetchError,
    PayvenClient,
    Problem,
    Request,
    ServerError,
    Transaction,
    TransactionPage,
    TransactionStatus,
    ValidationError,
)
from payven_async._converters import _DECODERS, _decoder
from payven_async._json import dumps
from payven_async._memory import MemoryTransport
from payven_async._retry import RetryPolicy

SPEC = Path(__file__).parent / "data" / "openapi" / "sanal-pos-51d6999.json"
TURKEY = timezone(timedelta(hours=3))
Live = weakref.WeakValueDictionary[int, Any]


def _id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


class Pages:
    """``GET /transactions`` over ``count`` transactions, in memory, recording each page asked.

    ``generation="a"`` answers in generation A's envelope and camelCase (``pageNumber``);
    ``fail`` maps a page number to how many times it fails (500) before it answers.
    """

    def __init__(self, count: int, *, generation: str = "b", fail: dict[int, int] | None = None):
        self.count = count
        self.generation = generation
        self.fail = dict(fail or {})
        self.requested: list[int] = []
        self.urls: list[str] = []

    def __call__(self, request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        self.urls.append(request.url)
        query = dict(parse_qsl(urlsplit(request.url).query))
        number, size = int(query["page"]), int(query["page_size"])
        self.requested.append(number)
        if self.fail.get(number, 0) > 0:
            self.fail[number] -= 1
            return Answer.of(
                500, b'{"status": 500, "code": "internal_server_error"}',
                {"Content-Type": "application/problem+json"},
            )  # fmt: skip
        start = (number - 1) * size
        items = [
            {"id": _id(index), "amount": 15000 + index, "currency": "TRY", "status": "Completed",
             "created": "2026-05-05T10:00:00+03:00"}
            for index in range(start, min(start + size, self.count))
        ]  # fmt: skip
        pages = -(-self.count // size)
        if self.generation == "a":
            items = [{"Id": item["id"], "Amount": item["amount"]} for item in items]
            data = {"items": items, "pageNumber": number, "totalPages": pages,
                    "totalCount": self.count, "hasPreviousPage": number > 1,
                    "hasNextPage": number < pages}  # fmt: skip
            body: Any = {"message": None, "isSuccess": True, "code": "200", "data": data}
        else:
            body = {"items": items, "page": number, "total_pages": pages,
                    "total_count": self.count, "has_previous_page": number > 1,
                    "has_next_page": number < pages}  # fmt: skip
        return Answer.of(200, dumps(body), {"Content-Type": "application/json"})


def _client(service: Callable[[Request], Answer], *, max_retries: int = 0) -> PayvenClient:
    client = PayvenClient(
        "id", "secret", "acme", max_retries=max_retries, transport=MemoryTransport(service)
    )
    client._pipeline.policy = RetryPolicy(max_retries=max_retries, random=lambda: 0.0)
    return client


@pytest.fixture
def live() -> Iterator[tuple[Live, Live]]:
    """The pages and the transactions decoded so far that are still alive (weakly held).

    Keyed by ``id()``: models hash by value, and their ``unknown_fields`` dict is unhashable.
    """
    pages: Live = weakref.WeakValueDictionary()
    items: Live = weakref.WeakValueDictionary()
    decode = _decoder(TransactionPage)

    def counting(data: Any, cls: Any = None) -> Any:
        page = decode(data, cls)
        pages[id(page)] = page
        for item in page.items:
            items[id(item)] = item
        return page

    _DECODERS[TransactionPage] = counting
    yield pages, items
    del _DECODERS[TransactionPage]


# --- paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [7, 64, 100])
async def test_ten_thousand_transactions_page_once_each_with_two_pages_at_most(
    live: tuple[Live, Live], page_size: int
) -> None:
    """10,000 transactions: each yielded once, in order; never more than two pages alive."""
    pages, items = live
    service = Pages(10_000)
    seen: list[str] = []
    most_pages = most_items = 0
    async with _client(service) as client:
        async for transaction in client.list_transactions(page_size=page_size):
            assert isinstance(transaction, Transaction)
            seen.append(transaction.id)
            await asyncio.sleep(0)  # the caller's own work: the next page arrives meanwhile
            most_pages = max(most_pages, len(pages))
            most_items = max(most_items, len(items))
            # Never asked for more than one page ahead of the one being consumed.
            assert max(service.requested) <= len(seen) // page_size + 2
    assert seen == [_id(index) for index in range(10_000)]
    assert most_pages == 2  # the next page is held while this one is consumed; never three
    assert most_items <= 2 * page_size
    assert service.requested == list(range(1, -(-10_000 // page_size) + 1))


async def test_the_next_page_is_fetched_while_the_current_one_is_consumed() -> None:
    """While the caller holds page n's first item, page n + 1 is asked for, not n + 2."""
    service = Pages(50)
    async with _client(service) as client:
        position = 0
        async for _ in client.list_transactions(page_size=10):
            position += 1
            if position % 10 == 1 and position < 41:
                page = position // 10 + 1
                for _ in range(100):  # let the prefetch task run (no timing involved)
                    if page + 1 in service.requested:
                        break
                    await asyncio.sleep(0)
                assert service.requested[-1] == page + 1
    assert service.requested == [1, 2, 3, 4, 5]


async def test_generation_a_pages_decode_and_page_too() -> None:
    """A's envelope, pageNumber and hasNextPage page as B's answers do."""
    service = Pages(25, generation="a")
    async with _client(service) as client:
        found = [t async for t in client.list_transactions(page_size=10)]
    assert [t.id for t in found] == [_id(index) for index in range(25)]
    assert found[3].amount == 15003
    assert service.requested == [1, 2, 3]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ({"items": [{"id": "a"}], "total_pages": 2}, ["a", "a"]),  # no has_next_page
        ({"items": [{"id": "a"}, {"id": "b"}]}, None),  # nothing but full pages
        ({"items": [], "has_next_page": True}, []),  # an empty page ends it
    ],
)
async def test_the_last_page_is_known_without_has_next_page(
    page: dict[str, Any], expected: list[str] | None
) -> None:
    """total_pages, else a short page, else an empty one, ends the listing."""
    asked: list[int] = []

    def service(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        asked.append(int(dict(parse_qsl(urlsplit(request.url).query))["page"]))
        if expected is None and asked[-1] == 3:
            return Answer.from_json({"items": [{"id": "c"}]})  # short: the last
        return Answer.from_json(page)

    async with _client(service) as client:
        found = [t.id async for t in client.list_transactions(page_size=2)]
    if expected is None:
        assert found == ["a", "b", "a", "b", "c"]
    else:
        assert found == expected


async def test_a_failed_page_says_which_and_resuming_there_completes_the_listing() -> None:
    """Page 3 failing after its retries raises PageFetchError(page=3); start_page=3 resumes."""
    service = Pages(95, fail={3: 3})
    seen: list[str] = []
    async with _client(service, max_retries=2) as client:

        async def consume() -> None:
            async for transaction in client.list_transactions(page_size=20):
                seen.append(transaction.id)

        with pytest.raises(PageFetchError) as caught:
            await consume()
        error = caught.value
        assert (error.page, error.call) == (3, "list_transactions")
        assert isinstance(error.error, ServerError)
        assert isinstance(error.__cause__, ServerError)
        assert "start_page=3" in str(error)
        assert seen == [_id(index) for index in range(40)]  # pages 1 and 2, whole
        assert service.requested.count(3) == 3  # the first try and two retries
        async for transaction in client.list_transactions(page_size=20, start_page=error.page):
            seen.append(transaction.id)
    assert seen == [_id(index) for index in range(95)]


async def test_an_answer_for_another_page_stops_the_listing() -> None:
    """A service that ignores ``page`` (page 1 again) raises instead of repeating items."""

    def service(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        return Answer.from_json({"items": [{"id": "a"}], "page": 1, "has_next_page": True})

    async with _client(service) as client:
        listing = client.list_transactions(page_size=1)
        assert (await anext(listing)).id == "a"
        with pytest.raises(PageFetchError) as caught:
            await anext(listing)
    assert caught.value.page == 2
    assert isinstance(caught.value.error, DecodeError)


async def test_a_listed_item_of_an_unexpected_shape_does_not_stop_the_listing() -> None:
    """A transaction whose amount is an object is listed with the others, keeping the
    value and naming the field (it used to fail its whole page, PageFetchError)."""
    pages = [
        {"items": [{"id": "a", "amount": 100}, {"id": "b", "amount": {"value": 1}}],
         "page": 1, "has_next_page": True},
        {"items": [{"id": "c", "amount": 300}], "page": 2, "has_next_page": False},
    ]  # fmt: skip

    def service(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        number = int(dict(parse_qsl(urlsplit(request.url).query))["page"])
        return Answer.from_json(pages[number - 1])

    async with _client(service) as client:
        found = [t async for t in client.list_transactions(page_size=2)]
    assert [(t.id, t.amount) for t in found] == [("a", 100), ("b", None), ("c", 300)]
    assert found[1].unknown_fields == {"amount": {"value": 1}}
    assert set(found[1].decode_problems) == {"amount"}


@pytest.mark.parametrize(
    "page",
    [
        {"items": [{"id": "a"}, {"amount": 1}], "page": 2, "has_next_page": True},
        {"items": {"id": "a"}, "page": 2, "has_next_page": True},
        {"items": [{"id": "a"}], "page": "second", "has_next_page": True},
        {"items": [{"id": "a"}], "page": 2, "has_next_page": "perhaps"},
        {"items": [{"id": "a"}], "page": 2, "total_pages": [3]},
        {"items": [{"id": "a"}], "pageNumber": {"n": 2}, "hasNextPage": True},
    ],
    ids=["item-without-id", "items-not-a-list", "page", "has-next", "total-pages", "page-a"],
)
async def test_a_page_whose_items_or_place_cannot_be_read_stops_the_listing(
    page: dict[str, Any],
) -> None:
    """A page whose items, number or next-page facts cannot be read is a PageFetchError
    naming it (a DecodeError), after every item before it: never items silently lost,
    repeated or skipped."""
    first = {"items": [{"id": "first"}], "page": 1, "has_next_page": True}

    def service(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        number = int(dict(parse_qsl(urlsplit(request.url).query))["page"])
        if number > 2:  # an empty last page: a walk past page 2 ends instead of looping
            return Answer.from_json({"items": [], "page": number, "has_next_page": False})
        return Answer.from_json(first if number == 1 else page)

    seen: list[str] = []
    async with _client(service) as client:

        async def consume() -> None:
            async for transaction in client.list_transactions(page_size=1):
                seen.append(transaction.id)

        with pytest.raises(PageFetchError) as caught:
            await consume()
    assert seen == ["first"]
    assert caught.value.page == 2
    assert isinstance(caught.value.error, DecodeError)


async def test_a_page_that_fails_once_is_retried_by_the_pipeline() -> None:
    """A page failing once, within max_retries, costs a retry and nothing else."""
    service = Pages(30, fail={2: 1})
    async with _client(service, max_retries=1) as client:
        found = [t.id async for t in client.list_transactions(page_size=10)]
    assert found == [_id(index) for index in range(30)]
    assert service.requested == [1, 2, 2, 3]


async def test_stopping_early_cancels_the_page_in_flight() -> None:
    """Closing the iterator after one item leaves no task behind and asks no more pages."""
    release = asyncio.Event()
    asked: list[int] = []

    async def service(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        number = int(dict(parse_qsl(urlsplit(request.url).query))["page"])
        asked.append(number)
        if number > 1:
            await release.wait()  # the prefetch never completes on its own
        return Answer.from_json({"items": [{"id": "x"}], "has_next_page": True})

    async with _client(service) as client:
        listing = client.list_transactions(page_size=1)
        assert (await listing.__anext__()).id == "x"
        for _ in range(100):
            if 2 in asked:
                break
            await asyncio.sleep(0)
        await listing.aclose()  # type: ignore[attr-defined]
    assert asked == [1, 2]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


# --- filters ---------------------------------------------------------------------------------


def _spec_names(path: str) -> list[str]:
    operation = json.loads(SPEC.read_text("utf-8"))["paths"][path]["get"]
    return [
        parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"
    ]


def _sent(service: Pages) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(service.urls[0]).query)


async def test_transaction_filters_are_sent_as_the_spec_names_them() -> None:
    """Every filter of GET /transactions goes out under its spec name, in wire spelling."""
    service = Pages(0)
    async with _client(service) as client:
        listing = client.list_transactions(
            start_date=date(2026, 5, 1),
            end_date=datetime(2026, 5, 2, 12, 30, tzinfo=timezone.utc),
            status="completed",
            operation_type=OperationType.PRE_AUTH,
            payment_type="card",
            secure_type="THREE_DS_V2",
            card_schema_type="MasterCard",
            card_type=CardType.DEBIT,
            installment_count=3,
            bin_number="454671",
            min_amount=0,
            max_amount=15000,
            merchant_id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
            external_merchant_id="M-1",
            basket_id="B-1",
            connector_code="akbank",
            connector_configuration_id="5d8e1e44-3b5d-4f55-9b64-fb1d1a9a5c11",
            search_term="Ahmet Yılmaz",
            page_size=50,
        )
        assert [t async for t in listing] == []
    sent = _sent(service)
    assert [name for name, _ in sent] == _spec_names("/api/v1/transactions")
    assert dict(sent) == {
        "page": "1",
        "page_size": "50",
        "start_date": "2026-05-01T00:00:00+03:00",
        "end_date": "2026-05-02T12:30:00+00:00",
        "status": "Completed",
        "operation_type": "PreAuth",
        "payment_type": "Card",
        "secure_type": "ThreeDSv2",
        "card_schema_type": "MasterCard",
        "card_type": "Debit",
        "installment_count": "3",
        "bin_number": "454671",
        "min_amount": "0",
        "max_amount": "15000",
        "merchant_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "external_merchant_id": "M-1",
        "basket_id": "B-1",
        "connector_code": "akbank",
        "connector_configuration_id": "5d8e1e44-3b5d-4f55-9b64-fb1d1a9a5c11",
        "search_term": "Ahmet Yılmaz",
    }
    # Offsets are percent-encoded: a raw "+" would arrive as a space.
    assert "start_date=2026-05-01T00%3A00%3A00%2B03%3A00" in service.urls[0]


async def test_a_date_end_is_the_last_instant_of_that_turkish_bank_day() -> None:
    """end_date=date(...) covers the whole day in UTC+3; filters left None are not sent."""
    service = Pages(0)
    async with _client(service) as client:
        assert [t async for t in client.list_transactions(end_date=date(2026, 5, 1))] == []
    assert dict(_sent(service)) == {
        "page": "1",
        "page_size": "100",
        "end_date": "2026-05-01T23:59:59.999999+03:00",
    }


@pytest.mark.parametrize(
    ("method", "path", "arguments"),
    [
        ("list_refunds", "/api/v1/refunds", {
            "start_date": date(2026, 5, 1), "end_date": date(2026, 5, 2), "status": "pending",
            "reason_code": "duplicate_charge", "refund_type": "Partial",
            "merchant_id": "m", "external_merchant_id": "e", "min_amount": 1,
            "max_amount": 2, "sla_breached": False, "search_term": "s"}),
        ("list_settlements", "/api/v1/settlements", {
            "merchant_id": "m", "bank_code": "0046", "status": "settled",
            "start_date": date(2026, 5, 1), "end_date": date(2026, 5, 31)}),
        ("list_chargebacks", "/api/v1/chargebacks", {
            "status": "Opened", "transaction_id": "t",
            "start_date": date(2026, 5, 1), "end_date": date(2026, 5, 2)}),
        ("list_reconciliations", "/api/v1/reconciliations", {
            "scope": "merchant", "connector_config_id": "c", "merchant_id": "m",
            "bank_code": "0046", "period": "daily", "overall_status": "in_review",
            "start_date": date(2026, 5, 1), "end_date": date(2026, 5, 2)}),
    ],
)  # fmt: skip
async def test_every_lists_filters_are_sent_as_the_spec_names_them(
    method: str, path: str, arguments: dict[str, Any]
) -> None:
    """Refunds, settlements, chargebacks and reconciliations: the spec's names, in order."""
    service = Pages(0)
    async with _client(service) as client:
        assert [item async for item in getattr(client, method)(**arguments)] == []
    sent = _sent(service)
    assert [name for name, _ in sent] == _spec_names(path)
    assert all(value for _, value in sent)


async def test_reconciliation_details_filters_and_path() -> None:
    """list_reconciliation_details puts the run in the path and its filters in the query."""
    service = Pages(0)
    async with _client(service) as client:
        listing = client.list_reconciliation_details(
            "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            discrepancy="amount_mismatch",
            detail_status="Pending",
            only_pending=True,
        )
        assert [item async for item in listing] == []
    url = urlsplit(service.urls[0])
    assert url.path == "/api/v1/reconciliations/3c90c3cc-0d44-4b50-8888-8dd25736052a/details"
    sent = parse_qsl(url.query)
    assert [name for name, _ in sent] == _spec_names("/api/v1/reconciliations/{id}/details")
    assert dict(sent)["discrepancy"] == "AmountMismatch"
    assert dict(sent)["only_pending"] == "true"


async def test_bad_arguments_are_all_reported_before_any_request() -> None:
    """Naive times, reversed periods, unknown enums and bad page sizes: one error, no I/O."""
    service = Pages(10)
    async with _client(service) as client:
        with pytest.raises(ValidationError) as caught:
            client.list_transactions(
                start_date=datetime(2026, 5, 2),  # naive
                status="nope",
                card_type=3,
                installment_count=0,
                min_amount=-1,
                page_size=101,
                start_page=0,
            )
        fields = {problem.field for problem in caught.value.problems}
        assert fields == {
            "start_date", "status", "card_type", "installment_count", "min_amount",
            "page_size", "start_page",
        }  # fmt: skip
        with pytest.raises(ValidationError) as reversed_:
            client.list_transactions(
                start_date=date(2026, 5, 2), end_date=date(2026, 5, 1), min_amount=5, max_amount=4
            )
        assert {p.field for p in reversed_.value.problems} == {"end_date", "max_amount"}
        with pytest.raises(ValidationError) as settlements:
            client.list_settlements(start_date=datetime(2026, 5, 1, tzinfo=timezone.utc))
        assert list(settlements.value.problems) == [
            Problem("start_date", "must be a date (a calendar day, without a time)")
        ]
        with pytest.raises(ValidationError):
            client.list_reconciliation_details("a/b\n")
        with pytest.raises(ValidationError):
            client.list_refunds(sla_breached="yes")  # type: ignore[arg-type]
    assert service.urls == []


def test_status_values_name_the_enum_members() -> None:
    """An unknown status names every TransactionStatus member in its message."""
    with pytest.raises(ValidationError) as caught:
        PayvenClient("id", "secret", "acme").list_transactions(status="settled")
    assert "TransactionStatus.COMPLETED" in str(caught.value)
    assert TransactionStatus("Completed") is TransactionStatus.COMPLETED


# --- the blocking twins ------------------------------------------------------------------------


def test_the_blocking_listing_is_a_plain_generator_over_every_page() -> None:
    """payven_sync's list_transactions yields every transaction once; errors name the page."""
    service = Pages(250)
    with payven_sync.PayvenClient(
        "id", "secret", "acme", max_retries=0, transport=MemoryTransport(service)
    ) as client:
        listing = client.list_transactions(page_size=100, status=TransactionStatus.COMPLETED)
        assert isinstance(listing, Iterator)
        assert [t.id for t in listing] == [_id(index) for index in range(250)]
        service.fail = {2: 1}
        with pytest.raises(PageFetchError) as caught:
            list(client.list_transactions(page_size=100))
        assert caught.value.page == 2
        rest = [t.id for t in client.list_transactions(page_size=100, start_page=2)]
        assert rest == [_id(index) for index in range(100, 250)]
        with pytest.raises(ValidationError):
            client.list_transactions(page_size=0)
