"""The code under comparison: payven, and what a user would write by hand instead.

Every contender makes the same requests to the same URLs with the same headers, and
each decodes the JSON answer: payven into its attrs models, the hand-written
baselines with ``json.loads`` into dicts. Request bodies are built per call on both
sides (a ``PayRequest`` for payven, a dict for the baselines), as real callers do.

``drive`` runs ``calls`` calls at a given concurrency, identically for every contender,
so that the driver's own cost is the same on both sides of a ratio.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import httpx
from server import CLIENT_ID, CLIENT_SECRET, SLUG, TRANSACTION_ID

from payven_async import Address, BasketItem, Buyer, Card, Money, PayRequest, PayvenClient

__all__ = [
    "CONTENDERS",
    "SESSION_ID",
    "TRANSACTION_ID",
    "HandAiohttp",
    "HandHttpx",
    "Payven",
    "drive",
    "effective_calls",
    "hand_as_completed",
    "hand_gather",
    "hand_pay_body",
    "pay_request",
    "payven_query_many",
    "workload",
    "workload_calls",
]

SESSION_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PAN = "4546711234567894"
CVV = "000"
USER_AGENT = "payven-benchmark/1"


def hand_pay_body() -> dict[str, Any]:
    """Exactly the camelCase body payven sends for the same PayRequest: the whole
    seed-000 shape (buyer, both addresses, two basket items, description, URLs)."""
    return {
        "amount": {"amount": 15000, "currency": "TRY"},
        "card": {
            "holderName": "Test Kullanici",
            "number": PAN,
            "expireMonth": "12",
            "expireYear": "2030",
            "cvv": CVV,
        },
        "installment": 1,
        "externalId": "ORDER-1001",
        "basketId": "BASKET-1001",
        "description": "Order 1001: two items",
        "buyer": {
            "id": "BUYER-42",
            "name": "Test",
            "surname": "Kullanici",
            "email": "test@example.com",
            "phone": "+905350000000",
            "ipAddress": "85.34.78.112",
            "identityNumber": "74300864791",
        },
        "billingAddress": _hand_address(),
        "shippingAddress": _hand_address(),
        "basketItems": [
            {"id": "ITEM-1", "name": "Kitap", "price": 10000, "quantity": 1},
            {"id": "ITEM-2", "name": "Kalem", "price": 2500, "quantity": 2},
        ],
        "callbackUrl": "https://shop.example/payven/callback",
        "cancelUrl": "https://shop.example/payven/cancel",
        "returnUrl": "https://shop.example/payven/return",
        "operationType": "Sale",
    }


def pay_request() -> PayRequest:
    """The ``PayRequest`` for the same payment as :func:`hand_pay_body`, built anew as
    callers build one per payment."""
    return PayRequest(
        amount=Money(15000, "TRY"),
        card=Card("Test Kullanici", PAN, "12", "2030", CVV),
        external_id="ORDER-1001",
        basket_id="BASKET-1001",
        description="Order 1001: two items",
        buyer=Buyer(
            id="BUYER-42",
            name="Test",
            surname="Kullanici",
            email="test@example.com",
            phone="+905350000000",
            ip_address="85.34.78.112",
            identity_number="74300864791",
        ),
        billing_address=_address(),
        shipping_address=_address(),
        basket_items=[
            BasketItem("ITEM-1", "Kitap", 10000, 1),
            BasketItem("ITEM-2", "Kalem", 2500, 2),
        ],
        callback_url="https://shop.example/payven/callback",
        cancel_url="https://shop.example/payven/cancel",
        return_url="https://shop.example/payven/return",
    )


def _hand_address() -> dict[str, Any]:
    # Built twice per body, billing and shipping, as callers build them.
    return {
        "contactName": "Test Kullanici",
        "city": "Istanbul",
        "country": "Turkey",
        "address": "Levent Mah. Buyukdere Cad. No:1",
        "postalCode": "34330",
    }


def _address() -> Address:
    return Address(
        contact_name="Test Kullanici",
        city="Istanbul",
        country="Turkey",
        address="Levent Mah. Buyukdere Cad. No:1",
        postal_code="34330",
    )


class Payven:
    """payven_async.PayvenClient, as documented (default retries, timeouts, pool)."""

    name = "payven"

    def __init__(self, url: str) -> None:
        self.client = PayvenClient(
            CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=url, vpos_url=url, connection_limit=100
        )

    async def start(self) -> None:
        await self.client.query(TRANSACTION_ID)  # fetches the token, opens a connection

    async def query(self, transaction_id: str) -> Any:
        return await self.client.query(transaction_id)

    async def pay(self) -> Any:
        return await self.client.pay(SESSION_ID, pay_request())

    async def aclose(self) -> None:
        await self.client.aclose()


class HandAiohttp:
    """Hand-written aiohttp + json: one ClientSession, token fetched once, dicts out."""

    name = "aiohttp"

    def __init__(self, url: str) -> None:
        self.url = url
        self.session: aiohttp.ClientSession | None = None
        self.auth: dict[str, str] = {}

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        token_url = f"{self.url}/api/v1/auth/{SLUG}/token"
        credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        async with self.session.post(token_url, json=credentials) as response:
            response.raise_for_status()
            token = (await response.json())["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    async def query(self, transaction_id: str) -> Any:
        assert self.session is not None
        url = f"{self.url}/api/v1/payments/{transaction_id}/query"
        async with self.session.get(url, headers=self.auth) as response:
            body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"query answered {response.status}")
        return json.loads(body)

    async def pay(self) -> Any:
        assert self.session is not None
        url = f"{self.url}/api/v1/checkout/sessions/{SESSION_ID}/pay"
        headers = {
            **self.auth,
            "Content-Type": "application/json; ver=1.0",
            "Idempotency-Key": str(uuid.uuid4()),  # a careful hand-written pay sends one too
        }
        body = json.dumps(hand_pay_body(), separators=(",", ":")).encode()
        async with self.session.post(url, data=body, headers=headers) as response:
            answer = await response.read()
        if response.status != 200:
            raise RuntimeError(f"pay answered {response.status}")
        data = json.loads(answer)["data"]
        if not data["isSuccess"]:
            raise RuntimeError("declined")
        return data

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


class HandHttpx:
    """Hand-written httpx.AsyncClient + json, the same requests as :class:`HandAiohttp`."""

    name = "httpx"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self.client = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )
        token_url = f"{self.url}/api/v1/auth/{SLUG}/token"
        credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        response = await self.client.post(token_url, json=credentials)
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    async def query(self, transaction_id: str) -> Any:
        assert self.client is not None
        response = await self.client.get(f"{self.url}/api/v1/payments/{transaction_id}/query")
        if response.status_code != 200:
            raise RuntimeError(f"query answered {response.status_code}")
        return json.loads(response.content)

    async def pay(self) -> Any:
        assert self.client is not None
        url = f"{self.url}/api/v1/checkout/sessions/{SESSION_ID}/pay"
        headers = {
            "Content-Type": "application/json; ver=1.0",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        body = json.dumps(hand_pay_body(), separators=(",", ":")).encode()
        response = await self.client.post(url, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"pay answered {response.status_code}")
        data = json.loads(response.content)["data"]
        if not data["isSuccess"]:
            raise RuntimeError("declined")
        return data

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


CONTENDERS = {cls.name: cls for cls in (Payven, HandAiohttp, HandHttpx)}


def operation(contender: Any, op: str) -> Callable[[], Awaitable[Any]]:
    """The zero-argument call that ``drive`` repeats: one query or one pay."""
    if op == "query":
        return lambda: contender.query(TRANSACTION_ID)
    if op == "pay":
        return contender.pay
    raise ValueError(f"unknown operation {op!r}")


async def workload(contender: Any, op: str, calls: int, concurrency: int) -> None:
    """One measured batch: ``calls`` queries or pays via ``drive``, or (``op="many"``)
    one ``query_many`` over ``calls`` ids, which for the hand-written aiohttp client
    is its semaphore + gather loop."""
    if op != "many":
        await drive(operation(contender, op), calls, concurrency)
    elif isinstance(contender, Payven):
        await payven_query_many(contender.client, transaction_ids(calls), concurrency)
    elif isinstance(contender, HandAiohttp):
        await hand_gather(contender, transaction_ids(calls), concurrency)
    else:
        raise ValueError(f"no query_many for {contender.name}")


def effective_calls(calls: int, concurrency: int) -> int:
    """How many calls ``drive`` makes: ``calls`` rounded up to a multiple of ``concurrency``."""
    return -(-calls // concurrency) * concurrency


def workload_calls(op: str, calls: int, concurrency: int) -> int:
    """How many requests :func:`workload` makes."""
    return calls if op == "many" else effective_calls(calls, concurrency)


async def drive(call: Callable[[], Awaitable[Any]], calls: int, concurrency: int) -> None:
    """Make ``effective_calls(calls, concurrency)`` calls, ``concurrency`` at a time.

    At concurrency > 1 there are ``concurrency`` worker tasks, each awaiting its
    calls one after another: the cheapest fair way to keep that many in flight.
    """
    if concurrency == 1:
        for _ in range(calls):
            await call()
        return
    per_worker = effective_calls(calls, concurrency) // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def transaction_ids(count: int) -> Iterable[str]:
    """Distinct, well-formed transaction ids, generated lazily."""
    return (f"{index:08x}-0d44-4b50-8888-8dd25736052a" for index in range(count))


# --- query_many and the loops users write instead -----------------------------------


async def payven_query_many(client: PayvenClient, ids: Iterable[str], concurrency: int) -> int:
    """Consume ``client.query_many`` and count the outcomes (none may be an error)."""
    count = 0
    outcomes: AsyncIterator[Any] = client.query_many(ids, concurrency=concurrency)
    async for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
        count += 1
    return count


async def hand_gather(hand: HandAiohttp, ids: Iterable[str], concurrency: int) -> int:
    """The usual hand-written fan-out: a semaphore and one ``gather`` over every id."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(transaction_id: str) -> Any:
        async with semaphore:
            return await hand.query(transaction_id)

    results = await asyncio.gather(*(one(tid) for tid in ids), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return len(results)


async def hand_as_completed(hand: HandAiohttp, ids: Iterable[str], concurrency: int) -> int:
    """The streaming variant: a semaphore and ``as_completed``, results as they come."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(transaction_id: str) -> Any:
        async with semaphore:
            return await hand.query(transaction_id)

    count = 0
    for future in asyncio.as_completed([one(tid) for tid in ids]):
        await future
        count += 1
    return count
