"""What every route of the emulator works with: :class:`RouteContext`.

One context serves all routes (:class:`~payven_async.testing._routes.CoreRoutes`,
:class:`~payven_async.testing._operations.OperationRoutes`) and the pipeline of
:class:`~payven_async.testing._app.EmulatorApp`. It offers, as public methods, the
steps routes share: authenticate a request, read its JSON body, run it once per
``Idempotency-Key``, answer a problem; and the emulator's parts a route calls into:
the ledger, the token issuer, the clock, the base URL, and the event hooks that
webhook delivery listens on.
"""

from __future__ import annotations

import collections
import contextvars
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
from aiohttp import web

from .._json import decode_json
from ..errors import DecodeError
from ._answers import PROBLEM_JSON, ProblemError, json_answer, ledger_problem, problem_body
from ._checks import check_texts
from ._clock import Clock
from ._idempotency import IdempotencyConflict, IdempotencyStore, StoredAnswer, fingerprint
from ._ledger import Ledger, LedgerError
from ._records import PaymentRecord
from ._tokens import TokenError, TokenIssuer

__all__ = ["EventHook", "PaymentHook", "RouteContext", "TraceRecord"]

T = TypeVar("T")

#: Told of every charge attempt a pay or payment records (webhooks listen here).
PaymentHook = Callable[[PaymentRecord], object]
#: Told of every refund, void and capture: the event type and its data.
EventHook = Callable[[str, Mapping[str, Any]], object]

#: How many correlation ids the trace route remembers (the oldest are forgotten).
_TRACES_KEPT = 10_000


@attrs.define
class TraceRecord:
    """What one correlation id touched: its requests (time, method, path) and payments."""

    requests: list[tuple[datetime, str, str]] = attrs.Factory(list)
    transaction_ids: list[str] = attrs.Factory(list)


_JSON_MEDIA_RE = re.compile(r"^(application/json|text/json|application/[\w.+-]+\+json)$")
_CORRELATION_RE = re.compile(r"^[\w.:-]{1,128}$")
# Each request is handled in its own task, so a context variable is per request.
_CORRELATION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


def _media_type(request: web.Request) -> str | None:
    raw = request.headers.get("Content-Type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


class RouteContext:
    """The emulator as its routes see it.

    :param base_url: the emulator's URL once it serves (it is bound after the routes).
    :param on_payment: told of every charge attempt recorded (approved or declined).
    :param on_event: told of every refund, void and capture.
    """

    def __init__(
        self,
        *,
        ledger: Ledger,
        tokens: TokenIssuer,
        idempotency: IdempotencyStore,
        clock: Clock,
        base_url: Callable[[], str],
        tenant_id: str,
        merchant_id: str,
        on_payment: PaymentHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.ledger = ledger
        self.tokens = tokens
        self.idempotency = idempotency
        self.clock = clock
        self._base_url = base_url
        self.tenant_id = tenant_id
        self.merchant_id = merchant_id
        self.on_payment = on_payment
        self.on_event = on_event
        #: What each recent correlation id touched, for ``GET /trace/{correlation_id}``.
        self.traces: collections.OrderedDict[str, TraceRecord] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"<RouteContext {self.ledger!r}>"

    @property
    def base_url(self) -> str:
        """The emulator's base URL (``http://127.0.0.1:<port>``)."""
        return self._base_url()

    def now(self) -> datetime:
        """The emulator's current time (its clock, as an aware UTC datetime)."""
        return self.clock.utcnow()

    # --- per request ------------------------------------------------------------------

    def begin(self, request: web.Request) -> str:
        """Start handling ``request``: its correlation id (the caller's, if well-formed)."""
        incoming = request.headers.get("X-Correlation-Id", "")
        correlation_id = incoming if _CORRELATION_RE.match(incoming) else str(uuid.uuid4())
        _CORRELATION_ID.set(correlation_id)
        trace = self.traces.get(correlation_id)
        if trace is None:
            trace = self.traces[correlation_id] = TraceRecord()
            if len(self.traces) > _TRACES_KEPT:
                self.traces.popitem(last=False)
        trace.requests.append((self.now(), request.method, request.path))
        return correlation_id

    def authenticate(self, request: web.Request) -> dict[str, Any]:
        """The claims of the request's Bearer token.

        :raises ProblemError: 401 ``unauthorized``, ``invalid_token``, ``token_expired``...
        """
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

    async def json_body(self, request: web.Request) -> tuple[bytes, dict[str, Any]]:
        """The raw body and its JSON object; no body at all is an empty object.

        The spec requires no operation's body (``requestBody.required`` is never set), so a
        request without one is read as ``{}`` and the route's checks name any field it
        needs. Every text in the body, at any depth and keys too, must be sendable back as
        UTF-8 (:func:`~payven_async.testing._checks.check_texts`): answers echo texts, and
        nothing may be recorded that no answer could carry.

        :raises ProblemError: 415 ``unsupported_media_type``, 400 ``invalid_json``, 400
            ``validation_failed``.
        """
        if not request.can_read_body:
            return b"", {}
        media = _media_type(request)
        if media is not None and not _JSON_MEDIA_RE.match(media):
            raise ProblemError(
                415, "unsupported_media_type", "İstek gövdesi JSON olmalı (application/json)."
            )
        raw = await request.read()
        if not raw:  # a chunked body of no bytes: no body either
            return raw, {}
        try:
            payload = decode_json(raw)
        except DecodeError:
            raise ProblemError(400, "invalid_json", "İstek gövdesi geçerli JSON değil.") from None
        if not isinstance(payload, dict):
            raise ProblemError(400, "invalid_json", "İstek gövdesi bir JSON nesnesi olmalı.")
        check_texts(payload)
        return raw, payload

    async def authenticated_body(
        self, request: web.Request, check: Callable[[dict[str, Any]], T]
    ) -> tuple[bytes, T]:
        """Authenticate ``request``, read its JSON body and ``check`` it: the raw body and
        what ``check`` made of it (see :meth:`authenticate` and :meth:`json_body`)."""
        self.authenticate(request)
        raw, body = await self.json_body(request)
        return raw, check(body)

    async def idempotent(
        self,
        request: web.Request,
        route: str,
        raw_body: bytes,
        produce: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        """Run ``produce`` once per ``Idempotency-Key``; replay its answer afterwards.

        A problem ``produce`` raises (a ledger refusal too) is the answer stored.

        :raises ProblemError: 400 for a malformed key, 409 ``idempotency_key_in_use``.
        """
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
            except (ProblemError, LedgerError) as error:
                response = self.problem(request, error)
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

    def problem(self, request: web.Request, error: ProblemError | LedgerError) -> web.Response:
        """The problem+json answer to ``error`` (a ledger refusal as :func:`ledger_problem`)."""
        if isinstance(error, LedgerError):
            error = ledger_problem(error)
        body = problem_body(error, correlation_id=_CORRELATION_ID.get(), instance=request.path)
        return json_answer(
            body, status=error.status, content_type=PROBLEM_JSON, headers=error.headers
        )

    # --- event hooks ------------------------------------------------------------------

    def _traced(self, record: PaymentRecord) -> None:
        trace = self.traces.get(_CORRELATION_ID.get())
        if trace is not None and record.transaction_id not in trace.transaction_ids:
            trace.transaction_ids.append(record.transaction_id)

    def payment_recorded(self, record: PaymentRecord) -> None:
        """Tell ``on_payment`` of a charge attempt just recorded."""
        self._traced(record)
        if self.on_payment is not None:
            self.on_payment(record)

    def operation_completed(self, event_type: str, record: PaymentRecord) -> None:
        """Tell ``on_event`` of a refund, void or capture (``record``'s last step)."""
        self._traced(record)
        if self.on_event is None:
            return
        self.on_event(
            event_type,
            {
                "transaction_id": record.transaction_id,
                "status": record.status,
                "amount": record.last_step.amount,
                "currency": record.currency,
                "merchant_id": self.merchant_id,
                "provider_transaction_id": record.provider_transaction_id,
                "auth_code": record.auth_code,
                "error_code": None,
                "error_message": None,
                "masked_card_number": record.masked_card_number,
                "card_brand": record.card_brand,
            },
        )
