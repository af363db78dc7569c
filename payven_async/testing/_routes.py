"""The identity and checkout routes, and the payment lookups (generation A and B).

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

Each route checks its request, calls the ledger, and answers; the ledger's refusals
become problems in :class:`~payven_async.testing._context.RouteContext`.
"""

from __future__ import annotations

import html

from aiohttp import web

from ..models import PayRequest
from ._answers import (
    GEN_A_JSON,
    GEN_B_JSON,
    IDENTITY_JSON,
    ProblemError,
    checkout_session_b,
    envelope,
    json_answer,
    operation_result_a,
    payment_status_b,
    query_result,
)
from ._checks import check_card_request, check_lookup_query, check_session_request, only_keys
from ._clock import iso
from ._context import RouteContext
from ._ledger import Charge
from ._tokens import TokenError

__all__ = ["CoreRoutes"]


class CoreRoutes:
    """The identity, checkout-session, pay and payment-lookup routes, over one context."""

    def __init__(self, context: RouteContext) -> None:
        self.context = context

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes (named as :class:`~payven_async.testing.Faults` knows them)."""
        add = router.add_route
        add("POST", "/api/v1/auth/{slug}/token", self._token, name="token")
        add("POST", "/api/v1/auth/{slug}/refresh", self._refresh, name="refresh")
        add("POST", "/api/v1/checkout/sessions", self._create_session, name="create_session")
        add("GET", "/api/v1/checkout/sessions/{session_id}", self._get_session, name="get_session")
        add("POST", "/api/v1/checkout/sessions/{session_id}/pay", self._pay, name="pay")
        add("GET", "/api/v1/payments/{transaction_id}/query", self._query, name="query")
        add("GET", "/api/v1/payments/{transaction_id}", self._get_payment, name="get_payment")
        add("GET", "/api/v1/health", self._health, name="health")
        add("GET", "/checkout.html", self._checkout_page, name="checkout_page")

    # --- identity ---------------------------------------------------------------------

    def _check_slug(self, request: web.Request) -> None:
        if request.match_info["slug"] != self.context.tokens.slug:
            raise ProblemError(
                404, "realm_not_found", f"'{request.match_info['slug']}' adlı tenant bulunamadı."
            )

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self._check_slug(request)
        _, body = await self.context.json_body(request)
        only_keys(body, ("client_id", "client_secret"))
        tokens = self.context.tokens
        if not tokens.check_credentials(body.get("client_id"), body.get("client_secret")):
            raise ProblemError(401, "invalid_credentials", "client_id veya client_secret hatalı.")
        return json_answer(tokens.issue(), content_type=IDENTITY_JSON)

    async def _refresh(self, request: web.Request) -> web.StreamResponse:
        self._check_slug(request)
        _, body = await self.context.json_body(request)
        only_keys(body, ("refresh_token",))
        try:
            pair = self.context.tokens.refresh(body.get("refresh_token"))
        except TokenError as error:
            raise ProblemError(401, error.code, error.detail) from None
        return json_answer(pair, content_type=IDENTITY_JSON)

    # --- checkout sessions ------------------------------------------------------------

    async def _create_session(self, request: web.Request) -> web.StreamResponse:
        raw, session_request = await self.context.authenticated_body(request, check_session_request)

        async def produce() -> web.Response:
            record = self.context.ledger.open_session(
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
                    "checkout_url": (
                        f"{self.context.base_url}/checkout.html?session={record.session_id}"
                    ),
                    "expires_at": iso(record.expires_at),
                },
                status=201,
            )

        return await self.context.idempotent(request, "create_session", raw, produce)

    async def _get_session(self, request: web.Request) -> web.StreamResponse:
        record = self.context.ledger.session(request.match_info["session_id"])
        return json_answer(
            checkout_session_b(
                record,
                tenant_id=self.context.tenant_id,
                merchant_id=self.context.merchant_id,
                now=self.context.now(),
            )
        )

    # --- pay (generation A) -------------------------------------------------------------

    async def _pay(self, request: web.Request) -> web.StreamResponse:
        session_id = request.match_info["session_id"]
        raw, pay = await self.context.authenticated_body(
            request,
            lambda body: check_card_request(
                body, PayRequest, style="camel", today=self.context.now().date()
            ),
        )

        async def produce() -> web.Response:
            record = self.context.ledger.pay(session_id, Charge.of(pay))
            self.context.payment_recorded(record)
            message = "İşlem başarılı" if record.is_success else "İşlem reddedildi"
            return json_answer(
                envelope(operation_result_a(record), message=message),
                content_type=GEN_A_JSON,
            )

        return await self.context.idempotent(request, "pay", raw, produce)

    # --- payments (generation B) ------------------------------------------------------

    async def _query(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        check_lookup_query(request.query)
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        return json_answer(query_result(record))

    async def _get_payment(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        return json_answer(payment_status_b(record))

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return json_answer({"status": "healthy"}, content_type=GEN_B_JSON)

    async def _checkout_page(self, request: web.Request) -> web.StreamResponse:
        """A stand-in for the hosted checkout page that ``checkout_url`` points at."""
        record = self.context.ledger.session(request.query.get("session", ""))
        status = record.status_at(self.context.now())
        amount = f"{record.amount // 100},{record.amount % 100:02d} {record.currency}"
        page = (
            "<!doctype html><meta charset=utf-8><title>Payven emulator checkout</title>"
            f"<h1>Payven emulator</h1><p>Checkout session <code>{record.session_id}</code>: "
            f"{html.escape(amount)}, {html.escape(status)}.</p>"
            "<p>This emulator has no card form: pay the session with "
            "<code>POST /api/v1/checkout/sessions/{id}/pay</code>.</p>"
        )
        return web.Response(text=page, content_type="text/html")
