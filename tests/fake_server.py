"""A small scriptable Payven stand-in on loopback, for the core's tests.

It answers the identity and vpos routes with the documented shapes and records every
request, so tests can assert exactly what the client sent. Each route's answer can be
replaced by a handler for one test. (The full protocol emulator lives in
``payven_async.testing``; this one stays minimal and transparent on purpose.)
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLIENT_ID = "pvk_test_client"
CLIENT_SECRET = "sk_test_5ecret-value-XYZ"
SLUG = "acme"
TRANSACTION_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port while inside; yields its base URL."""
    # Handlers whose client went away are cancelled, and shutdown does not wait long
    # for a handler a test left held on purpose.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def make_jwt(exp: float, subject: str = "merchant") -> str:
    """An unsigned JWT-shaped token carrying an ``exp`` claim."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp), 'sub': subject})}.sig"


@attrs.define
class Recorded:
    """One request the fake server received."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.define
class FakePayven:
    """Routes, recorded requests and per-route overrides."""

    requests: list[Recorded] = attrs.field(factory=list)
    overrides: dict[str, Handler] = attrs.field(factory=dict)
    token_counter: int = 0
    url: str = ""
    expires_in: int = 300

    def calls(self, route: str) -> list[Recorded]:
        """Requests whose path ends with ``route`` (``/token``, ``/pay``, ``/query``...)."""
        return [r for r in self.requests if r.path.endswith(route)]

    def issue_token(self) -> dict[str, Any]:
        self.token_counter += 1
        return {
            "access_token": f"access-{self.token_counter}",
            "refresh_token": f"refresh-{self.token_counter}",
            "expires_in": self.expires_in,
            "refresh_expires_in": 1800,
            "token_type": "Bearer",
            "scope": "openid",
        }

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/api/v1/auth/{slug}/token", self._route("token", self._token))
        app.router.add_post("/api/v1/auth/{slug}/refresh", self._route("refresh", self._token))
        app.router.add_post("/api/v1/checkout/sessions", self._route("create", self._create))
        app.router.add_get("/api/v1/checkout/sessions/{sid}", self._route("session", self._session))
        app.router.add_post("/api/v1/checkout/sessions/{sid}/pay", self._route("pay", self._pay))
        app.router.add_get("/api/v1/payments/{tid}/query", self._route("query", self._query))
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.raw_path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
        )
        return await handler(request)

    def _route(self, name: str, default: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            override = self.overrides.get(name)
            return await (override or default)(request)

        return handle

    async def _token(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.issue_token())

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(
            {
                "session_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "checkout_url": f"{self.url}/checkout.html?session=a1b2",
                "expires_at": "2026-11-22T10:30:00+00:00",
                "amount_echo": body.get("amount"),
            },
            status=201,
        )

    async def _session(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "session_id": request.match_info["sid"],
                "amount": 15000,
                "currency": "TRY",
                "status": "open",
                "payment_mode": "ThreeDSecure",
                "attempt_count": 0,
                "max_attempts": 3,
                "created_at": "2026-11-22T10:00:00+00:00",
                "expires_at": "2026-11-22T10:30:00+00:00",
            }
        )

    async def _pay(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "message": "İşlem başarılı",
                "isSuccess": True,
                "code": "200",
                "data": {
                    "transactionId": TRANSACTION_ID,
                    "status": "completed",
                    "isSuccess": True,
                    "message": "Approved",
                    "errorCode": None,
                    "providerErrorCode": None,
                    "extraProperties": {"auth_code": "123456"},
                },
            }
        )

    async def _query(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(query_answer(request.match_info["tid"]))


def query_answer(transaction_id: str = TRANSACTION_ID) -> dict[str, Any]:
    """A generation-B query answer with every documented detail field."""
    detail = {
        "status": "completed",
        "operation_type": "sale",
        "amount": 15000,
        "net_amount": 14850,
        "currency": "TRY",
        "installment_count": 1,
        "is3_d_secure": False,
        "provider_transaction_id": "PRV-1",
        "auth_code": "123456",
        "host_reference": "HR-1",
        "masked_card_number": "454671******7894",
        "card_brand": "Bonus",
        "card_holder_name": "Test Kullanici",
        "bank_code": "0046",
        "transaction_status": "completed",
        "charge_type": "Sale",
        "settlement_id": None,
        "captured_amount": 150.1,
        "error_code": None,
        "error_message": None,
        "processed_at": "2023-11-07T05:31:56Z",
        "completed_at": "2023-11-07T05:31:57.1234567+03:00",
        "created_at": "2023-11-07T05:31:55Z",
    }
    return {
        "transaction_id": transaction_id,
        "status": "completed",
        "is_success": True,
        "message": "ok",
        "external_query_available": True,
        "internal": detail,
        "external": dict(detail, status="approved"),
    }


def now() -> float:
    return time.time()
