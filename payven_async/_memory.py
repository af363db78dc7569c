"""An in-memory transport: the client's whole logic, with no socket.

>>> def handler(request: Request) -> Answer:
...     if request.call == "token":
...         return Answer.from_json({"access_token": "t", "expires_in": 300})
...     return Answer.from_json({"transaction_id": "t-1", "status": "completed"})
>>> client = PayvenClient("id", "secret", "acme", transport=MemoryTransport(handler))

Tokens, retries, the 401 replay, idempotency keys, deadlines and outcome
classification all run as they do over HTTP; only the exchange itself is a function
call. The handler may be a plain or an async function; it may raise a
:class:`~payven_async.errors.TransportError` to stand for a network fault, and it may
take longer than the attempt's timeout, which then ends in
:class:`~payven_async.errors.PayvenTimeoutError` as over HTTP.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._config import Timeout
from ._http import Answer, Request
from .errors import ClientClosedError, PayvenTimeoutError

__all__ = ["Handler", "MemoryTransport"]

#: Answers one request: a function or a coroutine function.
Handler = Callable[[Request], "Answer | Awaitable[Answer]"]


class MemoryTransport:
    """A transport that hands every request to ``handler`` and returns its answer.

    ``requests`` lists every request sent, in order, as sent (``Authorization``
    included); it holds request bodies, so keep it out of logs.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._closed = False
        #: Every request sent, in order.
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"<MemoryTransport {len(self.requests)} requests>"

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has run."""
        return self._closed

    async def send(self, request: Request, timeout: Timeout) -> Answer:
        """Record ``request`` and return the handler's answer, within ``timeout.total``."""
        if self._closed:
            raise ClientClosedError("this transport is closed")
        self.requests.append(request)
        answer: Any = self._handler(request)
        if inspect.isawaitable(answer):
            try:
                answer = await asyncio.wait_for(answer, timeout.total)
            except asyncio.TimeoutError as exc:
                raise PayvenTimeoutError(
                    f"no complete answer within {timeout.total:.3g} s (in memory)"
                ) from exc
        if not isinstance(answer, Answer):
            raise TypeError(f"the handler returned {type(answer).__name__}, not an Answer")
        return answer

    def reserve(self, concurrency: int) -> None:
        """Nothing to reserve: memory has no connection pool."""

    async def aclose(self) -> None:
        """Refuse later requests. Idempotent."""
        self._closed = True
