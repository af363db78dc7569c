"""The emulator's HTTP side: the aiohttp application and the pipeline every request goes through.

Pipeline (one middleware, in this order): correlation id, rate limit, injected
faults (latency, errors, drops before the work), the route, then the faults that
break an answer after the work (drop after charging, malformed, truncated). Every
answer carries ``X-Correlation-Id``; errors (a ledger refusal too) are problem+json.

A request aiohttp's parser refuses before any route runs (a request line or a header
over its 8190-byte limit, a malformed line) is answered by :class:`EmulatorRunner`'s
connections as the API answers: a 400 ``bad_request`` problem, logged in one line (at
INFO, on ``payven.emulator``), instead of aiohttp's text/plain answer and traceback.

The routes are :class:`~payven_async.testing._routes.CoreRoutes` (identity, checkout
sessions, pay, payment lookups) and
:class:`~payven_async.testing._operations.OperationRoutes` (direct and 3-D Secure
payments, refund, void, capture, history); both work through one
:class:`~payven_async.testing._context.RouteContext`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from ._answers import CODE_FOR_STATUS, PROBLEM_JSON, ProblemError, json_answer, problem_body
from ._context import RouteContext
from ._faults import ROUTES, Fault, FaultKind, Faults
from ._ledger import LedgerError
from ._listing_routes import ListingRoutes
from ._operations import OperationRoutes
from ._ratelimit import MinuteLimit, RateLimiter
from ._routes import CoreRoutes
from ._webhooks import Webhooks

__all__ = ["EmulatorApp", "EmulatorRunner", "RecordedRequest"]

logger = logging.getLogger("payven.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


class EmulatorApp:
    """Builds the aiohttp application: the pipeline, and the routes over ``context``."""

    def __init__(
        self,
        context: RouteContext,
        *,
        faults: Faults,
        limiter: RateLimiter,
        token_limit: MinuteLimit | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        #: What the routes work with (ledger, tokens, clock, hooks...).
        self.context = context
        #: The webhook endpoints the subscription routes manage (no routes without).
        self.webhooks = webhooks
        self.faults = faults
        self.limiter = limiter
        #: The token route's own per-minute limit.
        self.token_limit = (
            token_limit if token_limit is not None else MinuteLimit(context.clock, None)
        )
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
        CoreRoutes(self.context).register(app.router)
        OperationRoutes(self.context).register(app.router)
        ListingRoutes(self.context).register(app.router)
        if self.webhooks is not None:
            from ._webhook_routes import WebhookRoutes

            WebhookRoutes(self.context, self.webhooks).register(app.router)
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
        correlation_id = self.context.begin(request)
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
            if route == "token":
                refused = self.token_limit.hit()
                if refused is not None:
                    headers["Retry-After"] = str(refused.retry_after)
                    raise ProblemError(
                        429,
                        "rate_limit_exceeded",
                        f"Dakikada en fazla {refused.limit} token isteği; "
                        f"{refused.retry_after} sn sonra tekrar deneyin.",
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
                if fault is not None and fault.kind is FaultKind.ANSWER:
                    return _scripted_answer(fault, headers, self.context, request)
                if fault is not None and fault.kind is FaultKind.DROP_BEFORE:
                    return _drop(request)
            response = await handler(request)
        except (ProblemError, LedgerError) as error:
            response = self.context.problem(request, error)
        except web.HTTPException as error:
            code = CODE_FOR_STATUS.get(error.status, "bad_request")
            response = self.context.problem(request, ProblemError(error.status, code, error.reason))
        except Exception:  # a bug in the emulator: answer like the real service would
            logger.exception("emulator route %s failed", route)
            response = self.context.problem(request, ProblemError(500, "internal_server_error"))
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


# --- requests no route sees ------------------------------------------------------------


class EmulatorRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer the requests aiohttp's parser refuses
    (see the module's docstring); everything else is aiohttp's own."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            **server._kwargs,
        )


class _Server(web.Server):
    """aiohttp's low-level server, serving each connection with a :class:`_Connection`."""

    def __call__(self) -> web.RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)


class _Connection(web.RequestHandler):
    """aiohttp's handler of one connection, but for a request its parser refused."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):  # a failure while answering: aiohttp's
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, LineTooLong):
            detail = "İstek satırı veya bir başlık çok uzun (en fazla 8190 bayt)."
            what = "a request line or header over the size limit"
        else:
            detail = "HTTP isteği okunamadı."
            what = f"an unreadable request ({type(exc).__name__})"
        # The request's bytes stay out of the log: a URL may carry anything.
        logger.info("emulator refused %s from %s", what, request.remote)
        correlation_id = str(uuid.uuid4())
        error = ProblemError(400, CODE_FOR_STATUS[400], detail)
        response = json_answer(
            problem_body(error, correlation_id=correlation_id),
            status=400,
            content_type=PROBLEM_JSON,
            headers={"X-Correlation-Id": correlation_id},
        )
        response.force_close()  # where the next request would start is unknown
        return response


# --- answers --------------------------------------------------------------------------


def _injected_error(status: int) -> ProblemError:
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return ProblemError(
        status,
        CODE_FOR_STATUS[status],
        "Emülatör tarafından enjekte edilen hata.",
        headers=headers,
    )


def _scripted_answer(
    fault: Fault, headers: dict[str, str], context: RouteContext, request: web.Request
) -> web.Response:
    """The answer ``Faults.answer_next`` scripted: a problem+json, or the caller's body."""
    if fault.body is None:
        assert fault.code is not None
        problem = ProblemError(
            fault.status, fault.code, fault.detail, errors=fault.errors, headers=fault.headers
        )
        response = context.problem(request, problem)
    else:
        if isinstance(fault.body, (bytes, str)):
            raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
            response = web.Response(body=raw, status=fault.status)
            response.headers["Content-Type"] = "application/json"
        else:
            response = json_answer(fault.body, status=fault.status)
        response.headers.update(fault.headers)  # the caller's Content-Type wins
    response.headers.update(headers)
    return response


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
