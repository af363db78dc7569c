"""The emulator's HTTP side: routes, and the pipeline every request goes through.

Pipeline (one middleware, in this order): correlation id, rate limit, injected
faults (latency, errors, drops before the work), the route, then the faults that
break an answer after the work (drop after charging, malformed, truncated). Every
answer carries ``X-Correlation-Id``; errors are problem+json.

Routes, in the wire style the seeds and the fact sheet fix:

====================================================  ===========  ===========================
route                                                 generation   auth
====================================================  ===========  ===========================
``POST /api/v1/auth/{slug}/token``                    B identity   client credentials in body
``POST /api/v1/auth/{slug}/refresh``                  B identity   refresh token in body
``POST /api/v1/checkout/sessions``                    B            Bearer
``GET  /api/v1/checkout/sessions/{session_id}``       B            anonymous (as in B)
``POST /api/v1/checkout/sessions/{session_id}/pay``   A (seed 000) Bearer (as on the A page)
``GET  /api/v1/payments/{transaction_id}/query``      B (seed 001) Bearer
``GET  /api/v1/payments/{transaction_id}``            B            Bearer
``GET  /api/v1/health``                               --           anonymous, never limited
``GET  /checkout.html?session={session_id}``          --           a stand-in hosted page
====================================================  ===========  ===========================

The payment operations (direct and 3-D Secure payments, refund, void, capture,
history) are in :mod:`payven_async.testing._operations`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import html
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

from .._json import decode_json
from ..errors import DecodeError
from ._answers import (
    CODE_FOR_STATUS,
    GEN_A_JSON,
    GEN_B_JSON,
    IDENTITY_JSON,
    PROBLEM_JSON,
    ProblemError,
    envelope,
    json_answer,
    ledger_problem,
    operation_result_a,
    payment_status_b,
    problem_body,
    query_result,
)
from ._checks import check_pay_request, check_session_request, only_keys
from ._clock import Clock, iso
from ._faults import ROUTES, Fault, FaultKind, Faults
from ._idempotency import IdempotencyConflict, IdempotencyStore, StoredAnswer, fingerprint
from ._ledger import Charge, Ledger, LedgerError
from ._operations import OperationRoutes
from ._ratelimit import RateLimiter
from ._records import CheckoutSessionRecord, PaymentRecord
from ._tokens import TokenError, TokenIssuer

__all__ = ["EmulatorApp", "RecordedRequest"]

logger = logging.getLogger("payven.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_JSON_MEDIA_RE = re.compile(r"^(application/json|text/json|application/[\w.+-]+\+json)$")
_CORRELATION_RE = re.compile(r"^[\w.:-]{1,128}$")
# Each request is handled in its own task, so a context variable is per request.
_CORRELATION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


@attrs.frozen
class RecordedRequest:
    """One request the emulator received. Bodies are not kept (they carry card data)."""

    route: str | None
    method: str
    path: str
    correlation_id: str
    idempotency_key: str | None
    content_type: str | None
    authenticated: bool


def _media_type(request: web.Request) -> str | None:
    raw = request.headers.get("Content-Type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


class EmulatorApp:
    """Builds the aiohttp application over the emulator's parts."""

    def __init__(
        self,
        *,
        tokens: TokenIssuer,
        ledger: Ledger,
        faults: Faults,
        limiter: RateLimiter,
        idempotency: IdempotencyStore,
        clock: Clock,
        base_url: Callable[[], str],
        tenant_id: str,
        merchant_id: str,
        on_payment: Callable[[PaymentRecord], None] | None = None,
        on_event: Callable[[str, Mapping[str, Any]], object] | None = None,
    ) -> None:
        self.tokens = tokens
        self.ledger = ledger
        self.faults = faults
        self.limiter = limiter
        self.idempotency = idempotency
        self.clock = clock
        self._base_url = base_url
        self.tenant_id = tenant_id
        self.merchant_id = merchant_id
        #: Told of every charge attempt a pay records (webhook delivery hooks in here).
        self.on_payment = on_payment
        #: Told of every refund, void and capture (webhook delivery hooks in here).
        self.on_event = on_event
        #: Requests received per route name (``"token"``, ``"pay"``, ...).
        self.calls: collections.Counter[str] = collections.Counter()
        #: The last requests received (bodies are never kept).
        self.requests: collections.deque[RecordedRequest] = collections.deque(maxlen=1000)
        self._closing: asyncio.Event | None = None

    # --- the application ------------------------------------------------------------

    def build(self) -> web.Application:
        """A fresh aiohttp application serving every route."""
        self._closing = asyncio.Event()
        app = web.Application(middlewares=[self._pipeline], client_max_size=1024 * 1024)
        add = app.router.add_route
        add("POST", "/api/v1/auth/{slug}/token", self._token, name="token")
        add("POST", "/api/v1/auth/{slug}/refresh", self._refresh, name="refresh")
        add("POST", "/api/v1/checkout/sessions", self._create_session, name="create_session")
        add("GET", "/api/v1/checkout/sessions/{session_id}", self._get_session, name="get_session")
        add("POST", "/api/v1/checkout/sessions/{session_id}/pay", self._pay, name="pay")
        add("GET", "/api/v1/payments/{transaction_id}/query", self._query, name="query")
        add("GET", "/api/v1/payments/{transaction_id}", self._get_payment, name="get_payment")
        add("GET", "/api/v1/health", self._health, name="health")
        add("GET", "/checkout.html", self._checkout_page, name="checkout_page")
        OperationRoutes(self, self.on_event).register(app.router)
        return app

    def closing(self) -> None:
        """Wake every injected delay: the emulator is shutting down."""
        if self._closing is not None:
            self._closing.set()

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        assert self._closing is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    @web.middleware
    async def _pipeline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Correlation-Id", "")
        correlation_id = incoming if _CORRELATION_RE.match(incoming) else str(uuid.uuid4())
        _CORRELATION_ID.set(correlation_id)
        route = request.match_info.route.name
        self._record(request, route, correlation_id)
        headers = {"X-Correlation-Id": correlation_id}
        fault: Fault | None = None
        try:
            if route != "health":
                decision = self.limiter.hit()
                if decision is not None:
                    headers.update(decision.headers())
                    if not decision.allowed:
                        raise ProblemError(
                            429,
                            "rate_limit_exceeded",
                            f"Saniyede en fazla {decision.limit} istek; "
                            f"{decision.retry_after} sn sonra tekrar deneyin.",
                        )
            if route in ROUTES:
                assert route is not None
                fault = self.faults.take(route)
                delay = self.faults.delay_for(route)
                if fault is not None and fault.kind is FaultKind.DELAY:
                    delay += fault.seconds
                await self._sleep(delay)
                if fault is not None and fault.kind is FaultKind.ERROR:
                    raise _injected_error(fault.status)
                if fault is not None and fault.kind is FaultKind.DROP_BEFORE:
                    return _drop(request)
            response = await handler(request)
        except ProblemError as error:
            response = self._problem(request, error)
        except LedgerError as error:
            response = self._problem(request, ledger_problem(error))
        except web.HTTPException as error:
            code = CODE_FOR_STATUS.get(error.status, "bad_request")
            response = self._problem(request, ProblemError(error.status, code, error.reason))
        except Exception:  # a bug in the emulator: answer like the real service would
            logger.exception("emulator route %s failed", route)
            response = self._problem(request, ProblemError(500, "internal_server_error"))
        response.headers.update(headers)
        if fault is not None and fault.after_work and isinstance(response, web.Response):
            return await _break(request, response, fault)
        return response

    def _record(self, request: web.Request, route: str | None, correlation_id: str) -> None:
        if route is not None:
            self.calls[route] += 1
        self.requests.append(
            RecordedRequest(
                route=route,
                method=request.method,
                path=request.path,
                correlation_id=correlation_id,
                idempotency_key=request.headers.get("Idempotency-Key"),
                content_type=request.headers.get("Content-Type"),
                authenticated="Authorization" in request.headers,
            )
        )

    def _problem(self, request: web.Request, error: ProblemError) -> web.Response:
        body = problem_body(error, correlation_id=_CORRELATION_ID.get(), instance=request.path)
        return json_answer(
            body, status=error.status, content_type=PROBLEM_JSON, headers=error.headers
        )

    # --- shared steps -----------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> dict[str, Any]:
        header = request.headers.get("Authorization")
        if not header:
            raise ProblemError(401, "unauthorized", "Authorization header eksik.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ProblemError(401, "invalid_token", "Authorization: Bearer <token> bekleniyor.")
        try:
            return self.tokens.verify(token.strip())
        except TokenError as error:
            raise ProblemError(
                401,
                error.code,
                error.detail,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None

    async def _json_body(self, request: web.Request) -> tuple[bytes, Any]:
        media = _media_type(request)
        if media is not None and not _JSON_MEDIA_RE.match(media):
            raise ProblemError(
                415, "unsupported_media_type", "İstek gövdesi JSON olmalı (application/json)."
            )
        raw = await request.read()
        try:
            payload = decode_json(raw)
        except DecodeError:
            raise ProblemError(400, "invalid_json", "İstek gövdesi geçerli JSON değil.") from None
        if not isinstance(payload, dict):
            raise ProblemError(400, "invalid_json", "İstek gövdesi bir JSON nesnesi olmalı.")
        return raw, payload

    async def _idempotent(
        self,
        request: web.Request,
        route: str,
        raw_body: bytes,
        produce: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        """Run ``produce`` once per ``Idempotency-Key``; replay its answer afterwards."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return await produce()
        if not key or len(key) > 128:
            raise ProblemError(
                400,
                "validation_failed",
                "Idempotency-Key 1-128 karakter olmalı.",
                errors={"Idempotency-Key": ["1-128 karakter olmalı."]},
            )

        async def stored() -> StoredAnswer:
            try:
                response = await produce()
            except ProblemError as error:
                response = self._problem(request, error)
            except LedgerError as error:
                response = self._problem(request, ledger_problem(error))
            assert isinstance(response.body, bytes)
            return StoredAnswer(
                status=response.status,
                content_type=response.headers["Content-Type"],
                body=response.body,
            )

        try:
            answer, replayed = await self.idempotency.run(
                route, key, fingerprint(request.method, request.path, raw_body), stored
            )
        except IdempotencyConflict:
            raise ProblemError(
                409,
                "idempotency_key_in_use",
                "Bu Idempotency-Key daha önce farklı bir istek gövdesi ile kullanıldı.",
            ) from None
        response = web.Response(body=answer.body, status=answer.status)
        response.headers["Content-Type"] = answer.content_type
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    # --- identity ---------------------------------------------------------------------

    def _check_slug(self, request: web.Request) -> None:
        if request.match_info["slug"] != self.tokens.slug:
            raise ProblemError(
                404, "realm_not_found", f"'{request.match_info['slug']}' adlı tenant bulunamadı."
            )

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self._check_slug(request)
        _, body = await self._json_body(request)
        only_keys(body, ("client_id", "client_secret"))
        if not self.tokens.check_credentials(body.get("client_id"), body.get("client_secret")):
            raise ProblemError(401, "invalid_credentials", "client_id veya client_secret hatalı.")
        return json_answer(self.tokens.issue(), content_type=IDENTITY_JSON)

    async def _refresh(self, request: web.Request) -> web.StreamResponse:
        self._check_slug(request)
        _, body = await self._json_body(request)
        only_keys(body, ("refresh_token",))
        try:
            pair = self.tokens.refresh(body.get("refresh_token"))
        except TokenError as error:
            raise ProblemError(401, error.code, error.detail) from None
        return json_answer(pair, content_type=IDENTITY_JSON)

    # --- checkout sessions ------------------------------------------------------------

    async def _create_session(self, request: web.Request) -> web.StreamResponse:
        self._authenticate(request)
        raw, body = await self._json_body(request)
        session_request = check_session_request(body)

        async def produce() -> web.Response:
            record = self.ledger.open_session(
                session_request.amount,
                session_request.currency,
                payment_mode=(
                    session_request.payment_mode.value
                    if session_request.payment_mode is not None
                    else "Non3D"
                ),
                merchant_name=session_request.merchant_name,
                allowed_installments=(
                    list(session_request.allowed_installments)
                    if session_request.allowed_installments is not None
                    else None
                ),
                description=session_request.description,
                external_id=session_request.external_id,
                basket_id=session_request.basket_id,
                customer_email=session_request.customer_email,
                customer_phone=session_request.customer_phone,
                metadata=(
                    dict(session_request.metadata) if session_request.metadata is not None else None
                ),
                allow_pre_auth=bool(session_request.allow_pre_auth),
                is_test_session=bool(session_request.is_test_session),
                success_url=session_request.success_url,
                cancel_url=session_request.cancel_url,
            )
            return json_answer(
                {
                    "session_id": record.session_id,
                    "checkout_url": f"{self._base_url()}/checkout.html?session={record.session_id}",
                    "expires_at": iso(record.expires_at),
                },
                status=201,
            )

        return await self._idempotent(request, "create_session", raw, produce)

    async def _get_session(self, request: web.Request) -> web.StreamResponse:
        record = self.ledger.session(request.match_info["session_id"])
        return json_answer(self._session_data(record))

    def _session_data(self, record: CheckoutSessionRecord) -> dict[str, Any]:
        return {
            "session_id": record.session_id,
            "tenant_id": self.tenant_id,
            "merchant_id": self.merchant_id,
            "external_merchant_id": "EMULATOR-MERCHANT",
            "merchant_name": record.merchant_name,
            "amount": record.amount,
            "currency": record.currency,
            "allowed_installments": record.allowed_installments,
            "description": record.description,
            "external_id": record.external_id,
            "basket_id": record.basket_id,
            "customer_email": record.customer_email,
            "customer_phone": record.customer_phone,
            "metadata": record.metadata,
            "status": record.status_at(self.clock.utcnow()),
            "transaction_id": record.transaction_id,
            "created_at": iso(record.created_at),
            "expires_at": iso(record.expires_at),
            "payment_mode": record.payment_mode,
            "allow_pre_auth": record.allow_pre_auth,
            "is_test_session": record.is_test_session,
            "attempt_count": record.attempt_count,
            "max_attempts": record.max_attempts,
            "success_url": record.success_url,
            "cancel_url": record.cancel_url,
        }

    # --- pay (generation A) -------------------------------------------------------------

    async def _pay(self, request: web.Request) -> web.StreamResponse:
        self._authenticate(request)
        raw, body = await self._json_body(request)
        pay = check_pay_request(body, self.clock.utcnow().date())
        session_id = request.match_info["session_id"]

        async def produce() -> web.Response:
            record = self.ledger.pay(session_id, Charge.of(pay))
            if self.on_payment is not None:
                self.on_payment(record)
            message = "İşlem başarılı" if record.is_success else "İşlem reddedildi"
            return json_answer(
                envelope(operation_result_a(record), message=message),
                content_type=GEN_A_JSON,
            )

        return await self._idempotent(request, "pay", raw, produce)

    # --- payments (generation B) ------------------------------------------------------

    async def _query(self, request: web.Request) -> web.StreamResponse:
        self._authenticate(request)
        record = self.ledger.payment(request.match_info["transaction_id"])
        return json_answer(query_result(record))

    async def _get_payment(self, request: web.Request) -> web.StreamResponse:
        self._authenticate(request)
        record = self.ledger.payment(request.match_info["transaction_id"])
        return json_answer(payment_status_b(record))

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return json_answer({"status": "healthy"}, content_type=GEN_B_JSON)

    async def _checkout_page(self, request: web.Request) -> web.StreamResponse:
        """A stand-in for the hosted checkout page that ``checkout_url`` points at."""
        record = self.ledger.session(request.query.get("session", ""))
        status = record.status_at(self.clock.utcnow())
        amount = f"{record.amount // 100},{record.amount % 100:02d} {record.currency}"
        page = (
            "<!doctype html><meta charset=utf-8><title>Payven emulator checkout</title>"
            f"<h1>Payven emulator</h1><p>Checkout session <code>{record.session_id}</code>: "
            f"{html.escape(amount)}, {html.escape(status)}.</p>"
            "<p>This emulator has no card form: pay the session with "
            "<code>POST /api/v1/checkout/sessions/{id}/pay</code>.</p>"
        )
        return web.Response(text=page, content_type="text/html")


# --- answers --------------------------------------------------------------------------


def _injected_error(status: int) -> ProblemError:
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return ProblemError(
        status,
        CODE_FOR_STATUS[status],
        "Emülatör tarafından enjekte edilen hata.",
        headers=headers,
    )


def _drop(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)


async def _break(request: web.Request, response: web.Response, fault: Fault) -> web.StreamResponse:
    if fault.kind is FaultKind.DROP_AFTER:
        return _drop(request)
    body = response.body if isinstance(response.body, bytes) else b""
    half = body[: max(1, len(body) // 2)]
    if fault.kind is FaultKind.MALFORMED:
        broken = web.Response(body=half, status=response.status)
        broken.headers.update(response.headers)
        broken.headers.popall("Content-Length", None)
        return broken
    stream = web.StreamResponse(status=response.status)
    stream.headers.update(response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(half)
    transport = request.transport
    if transport is not None:
        transport.abort()
    return stream
