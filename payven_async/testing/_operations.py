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

from aiohttp import web

from ..models import PaymentRequest, ThreeDSInitRequest
from ._answers import ProblemError, history_b, json_answer, operation_result_b
from ._checks import (
    check_capture,
    check_card_request,
    check_complete_3ds,
    check_refund,
    check_void,
)
from ._context import RouteContext
from ._ledger import Charge

__all__ = ["OperationRoutes"]

#: What a direct payment's body must have (``CreatePaymentRequest``).
_PAYMENT_REQUIRED = ("amount", "amount.currency", "card", "installment")


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

    async def _create_payment(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        payment = check_card_request(
            body,
            PaymentRequest,
            style="snake",
            today=self.context.now().date(),
            required=_PAYMENT_REQUIRED,
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
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        payment = check_card_request(
            body,
            ThreeDSInitRequest,
            style="snake",
            today=self.context.now().date(),
            required=(*_PAYMENT_REQUIRED, "callback_url"),
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
        self.context.authenticate(request)
        raw, body = await self.context.json_body(request)
        transaction_id = check_complete_3ds(body)

        async def produce() -> web.Response:
            record = self.context.ledger.complete_3ds(transaction_id)
            self.context.payment_recorded(record)
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "complete_3ds", raw, produce)

    # --- after the payment ------------------------------------------------------------

    async def _refund(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request)
        refund = check_refund(body, transaction_id)

        async def produce() -> web.Response:
            record = self.context.ledger.refund(
                transaction_id, refund.amount, currency=refund.currency, reason=refund.reason
            )
            self.context.operation_completed("refund.completed", record)
            extra = {
                "refund_amount": str(refund.amount),
                "remaining_refundable": str(record.refundable),
            }
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "refund_payment", raw, produce)

    async def _void(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request, optional=True)
        void = check_void(body, transaction_id)

        async def produce() -> web.Response:
            record = self.context.ledger.void(transaction_id, reason=void.reason)
            self.context.operation_completed("void.completed", record)
            return json_answer(operation_result_b(record))

        return await self.context.idempotent(request, "void_payment", raw, produce)

    async def _capture(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        transaction_id = request.match_info["transaction_id"]
        raw, body = await self.context.json_body(request)
        capture = check_capture(body, transaction_id)

        async def produce() -> web.Response:
            amount = capture.amount.amount
            record = self.context.ledger.capture(
                transaction_id, amount, capture.amount.currency, reason=capture.reason
            )
            self.context.operation_completed("capture.completed", record)
            extra = {
                "captured_amount": str(amount),
                "released_amount": str(record.amount - amount),
            }
            return json_answer(operation_result_b(record, extra))

        return await self.context.idempotent(request, "capture_payment", raw, produce)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
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
