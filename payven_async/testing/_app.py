"""The emulator's HTTP side: the aiohttp application and the pipeline every request goes through.

Pipeline (one middleware, in this order): correlation id, rate limit, injected
faults (latency, errors, drops before the work), the route, then the faults that
break an answer after the work (drop after charging, malformed, truncated). Every
answer carries ``X-Correlation-Id``; errors (a ledger refusal too) are problem+json.

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
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from ._answers import CODE_FOR_STATUS, ProblemError
from ._context import RouteContext
from ._faults import ROUTES, Fault, FaultKind, Faults
from ._ledger import LedgerError
from ._operations import OperationRoutes
from ._ratelimit import RateLimiter
from ._routes import CoreRoutes

__all__ = ["EmulatorApp", "RecordedRequest"]

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

    def __init__(self, context: RouteContext, *, faults: Faults, limiter: RateLimiter) -> None:
        #: What the routes work with (ledger, tokens, clock, hooks...).
        self.context = context
        self.faults = faults
        self.limiter = limiter
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
