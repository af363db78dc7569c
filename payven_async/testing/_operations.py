"""The emulator's payment-operation routes (generation B), with the ledger's rules.

==================================================  ===================  =======================
route                                               name                 answers
==================================================  ===================  =======================
``POST /api/v1/payments``                           ``create_payment``   charged per test card
``POST /api/v1/payments/3d/init``                   ``init_3ds``         waits for the bank page
``POST /api/v1/payments/3d/complete``               ``complete_3ds``     charged per test card
``POST /api/v1/payments/{transaction_id}/refund``   ``refund_payment``   partial or full refund
``POST /api/v1/payments/{transaction_id}/void``     ``void_payment``     ``canceled``
``POST /api/v1/payments/{transaction_id}/capture``  ``capture_payment``  ``completed``
``GET  /api/v1/payments/{transaction_id}/history``  ``payment_history``  the payment's steps
``GET  /emulator/3ds/{transaction_id}``             ``three_ds_page``    a stand-in bank page
==================================================  ===================  =======================

All Bearer-authenticated (except the bank page); the POSTs honour ``Idempotency-Key``
like pay does (the same key and body replay the first answer, never moving money
twice). Bodies are checked strictly (snake_case keys of the spec's schema, JSON
types, no extra keys): anything else is a ``400 validation_failed``.

The ledger's rules (refund, void, capture, 3-D Secure) are
:class:`~payven_async.testing.Ledger`'s; each refusal is a ``422`` problem with the
documented code (``404 payment_not_found`` for an unknown payment). A direct payment
the bank declines is a ``422`` problem with the card's code and
``provider_error_code`` (the payment is still recorded, ``failed``). A 3-D Secure
init never charges: the card's outcome is applied at complete, which answers ``200``
with ``is_success: false`` and ``status: failed`` for a decline, as the spec
describes.

Refunds, voids and captures send ``refund.completed``, ``void.completed`` and
``capture.completed`` webhook events; payments the usual ``payment.*`` ones.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from ..models import (
    CaptureRequest,
    PaymentRequest,
    RefundRequest,
    ThreeDSInitRequest,
    VoidRequest,
)
from ._answers import ProblemError, history_b, json_answer, operation_result_b
from ._checks import (
    check_capture,
    check_card_request,
    check_complete_3ds,
    check_lookup_query,
    check_refund,
    check_void,
)
from ._context import RouteContext
from ._ledger import Charge
from ._records import PaymentRecord

__all__ = ["OperationRoutes"]

M = TypeVar("M")

#: What a direct payment's body must have (``CreatePaymentRequest``).
_PAYMENT_REQUIRED = ("amount", "amount.currency", "card", "installment")
#: The webhook event each operation sends.
_EVENTS = {
    "refund_payment": "refund.completed",
    "void_payment": "void.completed",
    "capture_payment": "capture.completed",
}


class OperationRoutes:
    """The payment-operation routes, over one
    :class:`~payven_async.testing._context.RouteContext`."""

    def __init__(self, context: RouteContext) -> None:
        self.context = context

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes (named as in the module's table) to ``router``."""
        add = router.add_route
        add("POST", "/api/v1/payments", self._create_payment, name="create_payment")
        add("POST", "/api/v1/payments/3d/init", self._init_3ds, name="init_3ds")
        add("POST", "/api/v1/payments/3d/complete", self._complete_3ds, name="complete_3ds")
        base = "/api/v1/payments/{transaction_id}"
        add("POST", f"{base}/refund", self._refund, name="refund_payment")
        add("POST", f"{base}/void", self._void, name="void_payment")
        add("POST", f"{base}/capture", self._capture, name="capture_payment")
        add("GET", f"{base}/history", self._history, name="payment_history")
        add("GET", "/emulator/3ds/{transaction_id}", self._three_ds_page, name="three_ds_page")

    # --- payments ---------------------------------------------------------------------

    def _card_request(self, cls: type[M], *required: str) -> Callable[[dict[str, Any]], M]:
        """The check of a body that charges a card: ``cls``, snake_case, dated today."""
        return lambda body: check_card_request(
            body,
            cls,
            style="snake",
            today=self.context.now().date(),
            required=(*_PAYMENT_REQUIRED, *required),
        )

    async def _create_payment(self, request: web.Request) -> web.StreamResponse:
        raw, payment = await self.context.authenticated_body(
            request, self._card_request(PaymentRequest)
        )

        async def produce() -> web.Response:
            record = self.context.ledger.charge(Charge.of(payment))
            self.context.payment_recorded(record)
            if not record.is_success:
                # Generation B answers a bank decline as a 422 problem.
                raise ProblemError(
                    422,
                    record.error_code or "bank_declined",
                    record.message,
                    provider_error_code=record.provider_error_code,
                )
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "create_payment", raw, produce)

    async def _init_3ds(self, request: web.Request) -> web.StreamResponse:
        raw, payment = await self.context.authenticated_body(
            request, self._card_request(ThreeDSInitRequest, "callback_url")
        )

        async def produce() -> web.Response:
            record = self.context.ledger.init_3ds(Charge.of(payment))
            page = f"{self.context.base_url}/emulator/3ds/{record.transaction_id}"
            form = (
                f'<form id="pv3ds" method="GET" action="{html.escape(page)}"></form>'
                "<script>document.getElementById('pv3ds').submit();</script>"
            )
            extra = {"redirect_url": page, "redirect_method": "GET", "html_content": form}
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "init_3ds", raw, produce)

    async def _complete_3ds(self, request: web.Request) -> web.StreamResponse:
        raw, transaction_id = await self.context.authenticated_body(request, check_complete_3ds)

        async def produce() -> web.Response:
            record = self.context.ledger.complete_3ds(transaction_id)
            self.context.payment_recorded(record)
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "complete_3ds", raw, produce)

    # --- after the payment ------------------------------------------------------------

    async def _operate(
        self,
        request: web.Request,
        route: str,
        check: Callable[[dict[str, Any], str], M],
        act: Callable[[str, M], tuple[PaymentRecord, Mapping[str, str] | None]],
    ) -> web.Response:
        """An operation on the payment in the path: check the body, then (once per
        ``Idempotency-Key``) ``act`` on the ledger, send its ``<kind>.completed`` event and
        answer the payment with the properties ``act`` adds."""
        transaction_id = request.match_info["transaction_id"]
        raw, checked = await self.context.authenticated_body(
            request, lambda body: check(body, transaction_id)
        )

        async def produce() -> web.Response:
            record, extra = act(transaction_id, checked)
            self.context.operation_completed(_EVENTS[route], record)
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, route, raw, produce)

    async def _refund(self, request: web.Request) -> web.StreamResponse:
        def refund(
            transaction_id: str, body: RefundRequest
        ) -> tuple[PaymentRecord, dict[str, str]]:
            record = self.context.ledger.refund(
                transaction_id, body.amount, currency=body.currency, reason=body.reason
            )
            left = record.refundable
            return record, {"refund_amount": str(body.amount), "remaining_refundable": str(left)}

        return await self._operate(request, "refund_payment", check_refund, refund)

    async def _void(self, request: web.Request) -> web.StreamResponse:
        def void(transaction_id: str, body: VoidRequest) -> tuple[PaymentRecord, None]:
            return self.context.ledger.void(transaction_id, reason=body.reason), None

        return await self._operate(request, "void_payment", check_void, void)

    async def _capture(self, request: web.Request) -> web.StreamResponse:
        def capture(
            transaction_id: str, body: CaptureRequest
        ) -> tuple[PaymentRecord, dict[str, str]]:
            amount, currency = body.amount.amount, body.amount.currency
            record = self.context.ledger.capture(
                transaction_id, amount, currency, reason=body.reason
            )
            released = record.amount - amount
            return record, {"captured_amount": str(amount), "released_amount": str(released)}

        return await self._operate(request, "capture_payment", check_capture, capture)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        check_lookup_query(request.query)
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        return json_answer(history_b(record))

    async def _three_ds_page(self, request: web.Request) -> web.StreamResponse:
        """A stand-in for the bank's 3-D Secure page that ``redirect_url`` points at."""
        record = self.context.ledger.payment(request.match_info["transaction_id"])
        page = (
            "<!doctype html><meta charset=utf-8><title>Payven emulator 3-D Secure</title>"
            f"<h1>Emulated bank</h1><p>3-D Secure for <code>{record.transaction_id}</code>: "
            f"{html.escape(record.status)}.</p><p>This page authenticates nothing: complete "
            "the payment with <code>POST /api/v1/payments/3d/complete</code>.</p>"
        )
        return web.Response(text=page, content_type="text/html")
